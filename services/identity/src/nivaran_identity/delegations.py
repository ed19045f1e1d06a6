"""Delegation (S17): a DM or a department secretary gives named powers to the Sahyog-cell nodal officer, lists what
they gave, and revokes it; the nodal officer lists what they hold. Each use case owns its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.logging import get_logger
from nivaran_common.paging import page_of, time_key, time_token
from nivaran_common.timeutil import as_utc
from nivaran_identity.domain import (
    DELEGATE_ROLE,
    DELEGATOR_ROLES,
    AccountKind,
    Actor,
    Check,
    Delegation,
    bilingual,
    normalise_powers,
)
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import DelegationRow
from nivaran_identity.tokens import Revoker

log = get_logger(__name__)

# The delegations' pages (nivaran_common.paging): newest grant first.
DELEGATIONS_LISTING = "delegations"


@dataclass(frozen=True)
class DelegationPage:
    """One page of delegations, newest grant first, and the token of the next page ("" on the last)."""

    delegations: list[Delegation]
    next_page_token: str


def delegation_view(row: DelegationRow) -> Delegation:
    """Domain form of a delegation row."""
    return Delegation(
        id=row.id,
        delegator_account_id=row.delegator_account_id,
        delegate_account_id=row.delegate_account_id,
        powers=list(row.powers),
        granted_at=as_utc(row.granted_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )


def _acting_account(check: Check, actor: Actor) -> str:
    account_id = actor.account_id.strip()
    if not account_id:
        check.add("actor.account_id", "is required / आवश्यक है")
    return account_id


class Delegations:
    """CreateDelegation, ListDelegations and RevokeDelegation."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime], revoker: Revoker
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        # Writes the revocation record of the delegate's tokens after a revocation commits.
        self._revoker = revoker

    async def create(self, delegate_account_id: str, powers: Sequence[str], actor: Actor) -> Delegation:
        """A DM or secretary gives named powers to the Sahyog-cell nodal officer (S17); nobody else gives or gets."""
        check = Check()
        delegate_account_id = (delegate_account_id or "").strip()
        check.required("delegate_account_id", delegate_account_id)
        cleaned = normalise_powers(powers, check)
        _acting_account(check, actor)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        async with self._sessions() as session:
            store = IdentityStore(session)
            if actor.on_behalf_of_account_id:
                raise PermissionDenied(
                    bilingual("a delegate cannot delegate further (S17)", "प्रत्यायोजित अधिकार आगे नहीं सौंपे जा सकते")
                )
            delegator = await store.account(actor.account_id.strip())
            held = (
                {p.position_role for p in await store.open_postings(delegator.id)}
                if delegator is not None and delegator.active and delegator.kind == AccountKind.OFFICER.value
                else set()
            )
            if delegator is None or not held & DELEGATOR_ROLES:
                raise PermissionDenied(
                    bilingual(
                        "only a DM or a department secretary may delegate (S17)",
                        "केवल जिलाधिकारी या विभागीय सचिव अधिकार सौंप सकते हैं",
                    )
                )
            delegate = await store.account(delegate_account_id)
            if delegate is None:
                raise NotFound(bilingual("no such delegate account", "ऐसा कोई खाता नहीं"))
            if delegate.id == delegator.id:
                raise InvalidArgument.field("delegate_account_id", "cannot be yourself / स्वयं को नहीं")
            if DELEGATE_ROLE not in (delegate.extra_roles or []):
                raise PermissionDenied(
                    bilingual(
                        "powers may be delegated only to the Sahyog-cell nodal officer (S17); officers may not hand "
                        "their login to anyone",
                        "अधिकार केवल सहयोग प्रकोष्ठ के नोडल पदाधिकारी को सौंपे जा सकते हैं",
                    )
                )
            if not delegate.active:
                raise FailedPrecondition(bilingual("the delegate's account is disabled", "नोडल खाता निष्क्रिय है"))
            current = await store.active_delegation_to(delegate.id)
            if current is not None:
                # A token carries one acting_for, so a delegate acts for one officer at a time.
                raise FailedPrecondition(
                    bilingual(
                        f"the delegate already acts for account {current.delegator_account_id}; revoke that first",
                        "यह नोडल पदाधिकारी पहले से किसी अन्य के लिए कार्यरत है; पहले उसे निरस्त करें",
                    )
                )
            row = DelegationRow(
                id=str(uuid.uuid4()),
                delegator_account_id=delegator.id,
                delegate_account_id=delegate.id,
                powers=cleaned,
                granted_at=self._clock(),
                revoked_at=None,
                revoked_by_account_id="",
            )
            store.add(row)
            await session.commit()
        log.info("delegation granted", delegation_id=row.id, by=row.delegator_account_id, to=row.delegate_account_id)
        return delegation_view(row)

    async def list(
        self,
        actor: Actor,
        *,
        received: bool = False,
        include_revoked: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> DelegationPage:
        """One page of the delegations the caller gave (or, with `received`, was given), newest grant first; only
        those in force unless `include_revoked`. A delegate acting for someone lists their own, never the
        delegator's: what the delegator gave is theirs to see."""
        check = Check()
        account_id = _acting_account(check, actor)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        page = page_of(DELEGATIONS_LISTING, page_size, page_token)
        async with self._sessions() as session:
            rows = await IdentityStore(session).delegations(
                delegate_account_id=account_id if received else "",
                delegator_account_id="" if received else account_id,
                include_revoked=include_revoked,
                after=time_key(DELEGATIONS_LISTING, page),
                limit=page.size + 1,
            )
        shown, token = page.cut(
            [delegation_view(r) for r in rows], lambda d: time_token(DELEGATIONS_LISTING, d.granted_at, d.id)
        )
        return DelegationPage(shown, token)

    async def revoke(self, delegation_id: str, actor: Actor) -> Delegation:
        """The delegator (or a state admin) ends a delegation; the delegate's next token no longer carries it."""
        check = Check()
        delegation_id = (delegation_id or "").strip()
        check.required("delegation_id", delegation_id)
        actor_id = _acting_account(check, actor)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        async with self._sessions() as session:
            store = IdentityStore(session)
            row = await store.delegation(delegation_id, for_update=True)
            if row is None:
                raise NotFound(bilingual("no such delegation", "ऐसा कोई प्रत्यायोजन नहीं"))
            allowed = actor_id == row.delegator_account_id and not actor.on_behalf_of_account_id
            if not allowed:
                account = await store.account(actor_id)
                allowed = account is not None and account.active and "STATE_ADMIN" in (account.extra_roles or [])
            if not allowed:
                raise PermissionDenied(
                    bilingual("only the delegating officer may revoke this", "केवल सौंपने वाले अधिकारी निरस्त कर सकते हैं")
                )
            if row.revoked_at is None:
                row.revoked_at = self._clock()
                row.revoked_by_account_id = actor_id
                await session.commit()
                log.info("delegation revoked", delegation_id=row.id, by=actor_id)
        # The delegate's tokens name the delegator (acting_for) and the powers: they end now (S17). Asking again
        # writes the record again while such a token may live, which makes good a write that failed the first time.
        if self._revoker.may_still_live(as_utc(row.revoked_at), self._clock()):
            await self._revoker.account(row.delegate_account_id, "the delegation revoked")
        return delegation_view(row)
