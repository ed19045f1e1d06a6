"""Who regulates a post (S6), and who administers an account or a department's clients."""

from __future__ import annotations

from nivaran_common.errors import PermissionDenied
from nivaran_identity.domain import DEPT_ADMIN, STATE_ADMIN, AccountKind, Actor, bilingual
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import AccountRow, DelegationRow


def _inactive() -> PermissionDenied:
    return PermissionDenied(bilingual("the acting account is not active", "कार्यकारी खाता सक्रिय नहीं है"))


async def require_authority(
    store: IdentityStore, actor: Actor, district_code: str, department_code: str, power: str = ""
) -> tuple[AccountRow, DelegationRow | None]:
    """The regulator of a post (S6): the DM of its district; for a post above districts, the department's admin
    (DEPT_ADMIN); for one with neither, a STATE_ADMIN. Under a delegation (S17) the delegate acts with the
    delegator's authority, only for `power` and only while the delegation stands. Returns the account whose
    authority was used and the delegation it was used under."""
    delegation: DelegationRow | None = None
    if actor.on_behalf_of_account_id:
        delegation = await store.active_delegation_to(actor.account_id.strip())
        if (
            not power
            or delegation is None
            or delegation.delegator_account_id != actor.on_behalf_of_account_id
            or power not in (delegation.powers or [])
        ):
            raise PermissionDenied(
                bilingual(
                    "this act is not among the powers delegated to you (S17)",
                    "यह कार्य आपको सौंपे गए अधिकारों में नहीं है",
                )
            )
        delegate = await store.account(actor.account_id.strip())
        if delegate is None or not delegate.active:
            raise _inactive()
        actor = Actor(account_id=delegation.delegator_account_id)
    account = await store.account(actor.account_id.strip())
    if account is None or not account.active:
        raise _inactive()
    if district_code:
        postings = await store.open_postings(account.id) if account.kind == AccountKind.OFFICER.value else []
        if any(p.position_role == "DM" and p.district_code == district_code for p in postings):
            return account, delegation
        raise PermissionDenied(
            bilingual(
                f"only the DM of district {district_code} may decide this (S6)",
                f"केवल जिला {district_code} के जिलाधिकारी यह निर्णय ले सकते हैं",
            )
        )
    roles = list(account.extra_roles or [])
    if department_code:
        if DEPT_ADMIN in roles and account.department_code == department_code:
            return account, delegation
        raise PermissionDenied(
            bilingual(
                f"only the admin of department {department_code} may decide this",
                f"केवल विभाग {department_code} के प्रशासक यह निर्णय ले सकते हैं",
            )
        )
    if STATE_ADMIN in roles:
        return account, delegation
    raise PermissionDenied(bilingual("only a state admin may decide this", "केवल राज्य प्रशासक यह निर्णय ले सकते हैं"))


async def acting_admin(store: IdentityStore, actor: Actor) -> AccountRow:
    """The account of an admin acting in person (never under a delegation: administering is not delegable)."""
    if actor.on_behalf_of_account_id:
        raise PermissionDenied(
            bilingual("this act cannot be done under a delegation (S17)", "यह कार्य प्रत्यायोजन के अधीन नहीं हो सकता")
        )
    account = await store.account(actor.account_id.strip())
    if account is None or not account.active:
        raise _inactive()
    return account


def is_state_admin(account: AccountRow) -> bool:
    """The account holds the STATE_ADMIN role (an operator's account role)."""
    return STATE_ADMIN in (account.extra_roles or [])


def administers_department(account: AccountRow, department_code: str) -> bool:
    """A STATE_ADMIN administers every department; a DEPT_ADMIN only their own."""
    if is_state_admin(account):
        return True
    return (
        bool(department_code)
        and DEPT_ADMIN in (account.extra_roles or [])
        and (account.department_code == department_code)
    )
