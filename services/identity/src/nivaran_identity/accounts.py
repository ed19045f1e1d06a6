"""Taking a login away, and changing one's password: both end every session already open, at once.

Each use case owns its transaction; the revocation records (nivaran_common.revocation) are written after the commit
and before the answer, so that the next call with an older token is refused by every door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.auth import Principal
from nivaran_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import as_utc
from nivaran_identity.audit import audit_login
from nivaran_identity.authority import acting_admin, is_state_admin, require_authority
from nivaran_identity.domain import (
    Account,
    AccountKind,
    Actor,
    Check,
    IssuedTokens,
    LoginMethod,
    bilingual,
    client_ip_problem,
    password_problem,
)
from nivaran_identity.passwords import Passwords
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import AccountRow
from nivaran_identity.tokens import Revoker, TokenIssuer, account_view

log = get_logger(__name__)

REASON_MAX_LENGTH = 200


@dataclass(frozen=True)
class PasswordPolicy:
    """The lockout that failed password checks count towards (shared with password login)."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


class AccountAdministration:
    """DisableAccount (an authority takes a login away) and ChangePassword (the caller's own)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        passwords: Passwords,
        tokens: TokenIssuer,
        revoker: Revoker,
        policy: PasswordPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._passwords = passwords
        self._tokens = tokens
        self._revoker = revoker
        self._policy = policy
        self._clock = clock

    async def _authorise_disable(self, store: IdentityStore, target: AccountRow, actor: Actor) -> None:
        """A STATE_ADMIN may disable any login; the regulator of every post an officer holds (the DM of its
        district, the admin of its department above districts) an officer's; the regulator of an operator's
        district or department an operator's. Nobody acts here under a delegation."""
        admin = await acting_admin(store, actor)
        if is_state_admin(admin):
            return
        if target.kind == AccountKind.OFFICER.value:
            units = [(p.district_code, p.department_code) for p in await store.open_postings(target.id)]
        elif target.kind == AccountKind.OPERATOR.value and (target.district_code or target.department_code):
            units = [(target.district_code, target.department_code)]
        else:
            units = []
        if not units:
            raise PermissionDenied(
                bilingual("only a state admin may disable this login", "केवल राज्य प्रशासक यह लॉगिन निष्क्रिय कर सकते हैं")
            )
        for district_code, department_code in dict.fromkeys(units):
            await require_authority(store, actor, district_code, department_code)

    async def disable_account(self, account_id: str, reason: str, actor: Actor) -> Account:
        """Take a login away: the account is disabled with the reason, its refresh tokens and the delegations it
        gave are revoked, and every access token of it (and of its delegates) dies at once."""
        check = Check()
        account_id = account_id.strip()
        check.required("account_id", account_id)
        reason = reason.strip()
        if check.required("reason", reason) and len(reason) > REASON_MAX_LENGTH:
            check.add("reason", f"must be at most {REASON_MAX_LENGTH} characters / अधिकतम {REASON_MAX_LENGTH} अक्षर")
        if not actor.account_id.strip():
            check.add("actor.account_id", "is required / आवश्यक है")
        elif actor.account_id.strip() == account_id:
            check.add("account_id", "cannot be your own account / अपना खाता नहीं हो सकता")
        if check.violations:
            raise InvalidArgument.of(check.violations)
        async with self._sessions() as session:
            store = IdentityStore(session)
            target = await store.account(account_id, for_update=True)
            if target is None:
                raise NotFound(bilingual("no such account", "ऐसा कोई खाता नहीं"))
            await self._authorise_disable(store, target, actor)
            now = self._clock()
            target.active = False
            target.disabled_reason = reason[:REASON_MAX_LENGTH]
            target.disabled_by_account_id = actor.account_id.strip()
            target.updated_at = now
            await store.revoke_refresh_tokens_of(target.id, now)
            delegates = [d.delegate_account_id for d in await store.active_delegations_by(target.id)]
            await store.revoke_delegations_by(target.id, now, actor.account_id.strip())
            postings = await store.open_postings(target.id) if target.kind == AccountKind.OFFICER.value else []
            view = account_view(target, postings)
            await session.commit()
        log.info("account disabled", account_id=account_id, by=actor.account_id.strip())
        for revoked in (account_id, *delegates):
            await self._revoker.account(revoked, "the account disabled")
        return view

    async def _refuse_if_locked(self, store: IdentityStore, username: str) -> None:
        now = self._clock()
        since = now - self._policy.lockout
        last_success = await store.last_login_success(LoginMethod.PASSWORD, username)
        if last_success is not None and as_utc(last_success) > since:
            since = as_utc(last_success)
        if await store.count_login_failures(LoginMethod.PASSWORD, username, since) >= self._policy.max_failures:
            minutes = int(self._policy.lockout.total_seconds() // 60)
            raise ResourceExhausted(
                bilingual(
                    f"password_lockout: too many failed password checks; try again in up to {minutes} min",
                    f"बहुत बार गलत पासवर्ड; अधिकतम {minutes} मिनट बाद प्रयास करें",
                )
            )

    async def change_password(
        self, caller: Principal | None, current_password: str, new_password: str, client_ip: str
    ) -> IssuedTokens:
        """The verified caller's own password (`caller`, from the forwarded access token). The current one is
        checked (failures count towards the login lockout) and the new one meets the registration rules; every
        earlier session ends, and a new token pair is issued after that cut-off."""
        if caller is None or not caller.account_id:
            raise Unauthenticated(bilingual("sign in to change your password", "पासवर्ड बदलने के लिए लॉगिन करें"))
        if caller.kind not in (AccountKind.OFFICER.value, AccountKind.OPERATOR.value):
            raise PermissionDenied(
                bilingual(
                    "only officer and operator logins have a password", "केवल अधिकारी व ऑपरेटर लॉगिन का पासवर्ड होता है"
                )
            )
        client_ip = client_ip.strip()
        check = Check()
        if not current_password:
            check.add("current_password", "is required / आवश्यक है")
        if problem := client_ip_problem(client_ip):
            check.add("client_ip", problem)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        async with self._sessions() as session:
            store = IdentityStore(session)
            account = await store.account(caller.account_id, for_update=True)
            if account is None or account.password_hash is None or not account.username:
                raise FailedPrecondition(bilingual("this login has no password", "इस लॉगिन का कोई पासवर्ड नहीं"))
            if not account.active:
                raise PermissionDenied(bilingual("this login is disabled", "यह लॉगिन निष्क्रिय है"))
            username = account.username
            await self._refuse_if_locked(store, username)
            if not await self._passwords.matches(account.password_hash, current_password):
                # Audited as a failed password login, so a stolen session cannot guess the password past the lockout.
                audit_login(
                    store,
                    self._clock(),
                    LoginMethod.PASSWORD,
                    username,
                    client_ip,
                    success=False,
                    reason="change_bad_password",
                    account_id=account.id,
                )
                await session.commit()
                # A field error, not UNAUTHENTICATED: the session itself is valid, and a client must not take this
                # for one that has ended.
                raise InvalidArgument.field("current_password", "is wrong / गलत है")
            rules = Check()
            if problem := password_problem(new_password, username):
                rules.add("new_password", problem)
            elif new_password == current_password:
                rules.add("new_password", "must differ from the current password / वर्तमान पासवर्ड से भिन्न हो")
            if rules.violations:
                raise InvalidArgument.of(rules.violations)
            now = self._clock()
            account.password_hash = await self._passwords.hash(new_password)
            account.updated_at = now
            await store.revoke_refresh_tokens_of(account.id, now)
            audit_login(
                store, now, LoginMethod.PASSWORD_CHANGE, username, client_ip, success=True, account_id=account.id
            )
            await session.commit()
        log.info("password changed", account_id=caller.account_id)
        cut_off = await self._revoker.account(caller.account_id, "the password change")
        return await self._fresh_tokens(caller.account_id, cut_off)

    async def _fresh_tokens(self, account_id: str, cut_off_ms: int) -> IssuedTokens:
        async with self._sessions() as session:
            store = IdentityStore(session)
            account = await store.account(account_id)
            if account is None or not account.active:
                raise PermissionDenied(bilingual("this login is disabled", "यह लॉगिन निष्क्रिय है"))
            tokens = await self._tokens.issue(store, account, not_before_ms=cut_off_ms + 1)
            await session.commit()
        return tokens
