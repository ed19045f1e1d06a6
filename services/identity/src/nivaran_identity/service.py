"""Identity use cases. Each owns its transaction; queries live in the store."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.contact import normalise_email, normalise_phone
from nivaran_common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from nivaran_common.logging import get_logger
from nivaran_common.paging import page_of, time_key, time_token
from nivaran_common.pii import mask_phone
from nivaran_common.timeutil import as_utc, utcnow
from nivaran_identity.audit import audit_login
from nivaran_identity.authority import require_authority
from nivaran_identity.clients import ChargeHandovers, PositionDirectory, PositionNotFound
from nivaran_identity.domain import (
    ACCOUNT_ROLES,
    POWER_DECIDE_REGISTRATIONS,
    Account,
    AccountKind,
    Actor,
    Check,
    HandoverState,
    IssuedTokens,
    LoginMethod,
    NewRegistration,
    OtpIssued,
    PositionInfo,
    Posting,
    Registration,
    RegistrationPage,
    RegistrationState,
    bilingual,
    client_ip_problem,
    is_otp_shape,
    is_totp_shape,
    password_problem,
    username_problem,
)
from nivaran_identity.keys import KeyRing, SecretBox, random_secret_hash
from nivaran_identity.otp import OtpVault
from nivaran_identity.passwords import Passwords
from nivaran_identity.senders import OtpSender
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import (
    AccountRow,
    ChargeHandoverRow,
    DelegationRow,
    PostingRow,
    RegistrationRow,
)
from nivaran_identity.tokens import Revoker, TokenIssuer, account_view

__all__ = ["IdentityPolicy", "IdentityService", "account_view"]

log = get_logger(__name__)

HANDOVER_BACKOFF_CAP = timedelta(minutes=10)
# The registration requests' pages (nivaran_common.paging): oldest first.
REGISTRATIONS_LISTING = "registrations"


@dataclass(frozen=True)
class IdentityPolicy:
    """The knobs of the use cases (from IdentitySettings)."""

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=7)
    password_max_failures: int = 5
    password_lockout: timedelta = timedelta(minutes=15)
    require_officer_totp: bool = True
    totp_issuer: str = "Nivaran"
    handover_retry: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    method: str
    subject: str
    account_id: str
    client_ip: str
    success: bool
    reason: str


class _Refused(Exception):
    """A login refused after its audit row was written: carries the error to raise once committed."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def _reason(error: DomainError) -> str:
    # OTP errors start with their reason code ("otp_wrong: ..."); keep it for the audit row.
    head = error.message.split(":", 1)[0]
    return head if head.replace("_", "").isalnum() and " " not in head else type(error).__name__


def _otp_store_down() -> Unavailable:
    return Unavailable(
        bilingual("OTP login is unavailable; try again shortly", "OTP लॉगिन अभी उपलब्ध नहीं; थोड़ी देर में प्रयास करें")
    )


def _required(check: Check, name: str, value: str | None) -> str:
    value = (value or "").strip()
    check.required(name, value)
    return value


def _actor_required(check: Check, actor: Actor) -> None:
    if not actor.account_id.strip():
        check.add("actor.account_id", "is required / आवश्यक है")


def registration_view(row: RegistrationRow) -> Registration:
    """Domain form of a registration row."""
    return Registration(
        id=row.id,
        name=row.name,
        username=row.username,
        phone=mask_phone(row.phone),
        email=row.email,
        position_id=row.position_id,
        district_code=row.district_code,
        state=RegistrationState(row.state),
        decided_by_account_id=row.decided_by_account_id,
        decision_note=row.decision_note,
        requested_at=as_utc(row.requested_at),
        decided_at=as_utc(row.decided_at) if row.decided_at else None,
    )


def posting_view(row: PostingRow) -> Posting:
    """Domain form of a posting row."""
    return Posting(
        id=row.id,
        account_id=row.account_id,
        position_id=row.position_id,
        charge_from=as_utc(row.charge_from),
        relinquished_at=as_utc(row.relinquished_at) if row.relinquished_at else None,
        transfer_order_number=row.transfer_order_number,
        transfer_order_date=as_utc(row.transfer_order_date) if row.transfer_order_date else None,
    )


class IdentityService:
    """Citizens' OTP login, officers' registration and approval (S6), postings and charge (S7), delegation (S17),
    tokens and the login audit."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: KeyRing,
        box: SecretBox,
        otp: OtpVault,
        sender: OtpSender,
        positions: PositionDirectory,
        handovers: ChargeHandovers,
        policy: IdentityPolicy,
        clock: Callable[[], datetime] = utcnow,
        hasher: PasswordHasher | None = None,
        *,
        revoker: Revoker,
        tokens: TokenIssuer | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._box = box
        self._otp = otp
        self._sender = sender
        self._positions = positions
        self._handovers = handovers
        self._policy = policy
        self._clock = clock
        self.passwords = Passwords(hasher)
        self.tokens = tokens or TokenIssuer(keys, policy.access_token_ttl, policy.refresh_token_ttl, clock)
        # Writes the revocation records of logout, relinquished charge and revoked delegation after each commit.
        self._revoker = revoker

    # Passwords (argon2 is slow on purpose, so it runs off the event loop)
    async def _hash_password(self, password: str) -> str:
        return await self.passwords.hash(password)

    async def _password_matches(self, password_hash: str | None, password: str) -> bool:
        return await self.passwords.matches(password_hash, password)

    # Audit
    def _audit(
        self,
        store: IdentityStore,
        method: LoginMethod,
        subject: str,
        client_ip: str,
        *,
        success: bool,
        reason: str = "",
        account_id: str = "",
    ) -> None:
        audit_login(
            store,
            self._clock(),
            method,
            subject,
            client_ip,
            success=success,
            reason=reason,
            account_id=account_id,
        )

    async def _audit_alone(
        self, method: LoginMethod, subject: str, client_ip: str, *, reason: str, account_id: str = ""
    ) -> None:
        async with self._sessions() as session:
            self._audit(
                IdentityStore(session), method, subject, client_ip, success=False, reason=reason, account_id=account_id
            )
            await session.commit()

    async def audit_entries(self, *, subject: str = "", account_id: str = "") -> list[AuditEntry]:
        """Login audit rows for a (masked) subject or an account, oldest first."""
        async with self._sessions() as session:
            rows = await IdentityStore(session).login_audit(subject=subject, account_id=account_id)
        return [
            AuditEntry(as_utc(r.occurred_at), r.method, r.subject, r.account_id, r.client_ip, r.success, r.reason)
            for r in rows
        ]

    # Tokens
    async def _issue(self, store: IdentityStore, account: AccountRow, family_id: str | None = None) -> IssuedTokens:
        return await self.tokens.issue(store, account, family_id)

    async def jwks_json(self) -> str:
        """The public JWK Set the gateway verifies access tokens with."""
        return await self._keys.jwks_json()

    # Citizens: OTP
    def _phone(self, check: Check, raw: str, name: str = "phone") -> str:
        if not raw.strip():
            check.add(name, "is required / आवश्यक है")
            return ""
        phone = normalise_phone(raw)
        if phone is None:
            check.add(name, "must be a valid Indian phone number / मान्य भारतीय फ़ोन नंबर होना चाहिए")
            return ""
        return phone

    async def request_otp(self, phone_raw: str, client_ip: str) -> OtpIssued:
        """Issue a login OTP to a citizen's phone, within the cooldown and rate limits."""
        check = Check()
        phone = self._phone(check, phone_raw)
        client_ip = client_ip.strip()
        if problem := client_ip_problem(client_ip):
            check.add("client_ip", problem)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        code = self._otp.new_code()
        try:
            issued = await self._otp.issue(phone, client_ip, code)
        except RedisError as exc:
            raise _otp_store_down() from exc
        try:
            await self._sender.send_otp(phone, code, issued.expires_at)
        except BaseException:
            await self._otp.withdraw(phone)
            raise
        return issued

    async def verify_otp(self, phone_raw: str, otp: str, client_ip: str) -> IssuedTokens:
        """Check a citizen's OTP; on success, the citizen account of that phone (made on first login) and tokens."""
        check = Check()
        phone = self._phone(check, phone_raw)
        otp = otp.strip()
        if not is_otp_shape(otp):
            check.add("otp", "must be 6 digits / 6 अंकों का होना चाहिए")
        client_ip = client_ip.strip()
        if problem := client_ip_problem(client_ip):
            check.add("client_ip", problem)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        subject = mask_phone(phone)
        try:
            await self._otp.verify(phone, otp)
        except (Unauthenticated, ResourceExhausted) as exc:
            await self._audit_alone(LoginMethod.OTP, subject, client_ip, reason=_reason(exc))
            raise
        except RedisError as exc:
            raise _otp_store_down() from exc
        for attempt in range(2):
            async with self._sessions() as session:
                store = IdentityStore(session)
                account = await store.account_by_phone(AccountKind.CITIZEN, phone)
                if account is None:
                    account = AccountRow(
                        id=str(uuid.uuid4()),
                        kind=AccountKind.CITIZEN.value,
                        display_name="",
                        created_at=self._clock(),
                        phone=phone,
                        email="",
                        extra_roles=[],
                        active=True,
                    )
                    store.add(account)
                if not account.active:
                    self._audit(
                        store,
                        LoginMethod.OTP,
                        subject,
                        client_ip,
                        success=False,
                        reason="account_disabled",
                        account_id=account.id,
                    )
                    await session.commit()
                    raise PermissionDenied(bilingual("this account is disabled", "यह खाता निष्क्रिय है"))
                try:
                    await store.flush()
                except IntegrityError:
                    # Two first logins of the same phone at once: the other made the account; read it.
                    await session.rollback()
                    if attempt == 0:
                        continue
                    raise
                tokens = await self._issue(store, account)
                self._audit(store, LoginMethod.OTP, subject, client_ip, success=True, account_id=account.id)
                await session.commit()
                return tokens
        raise AssertionError("unreachable")

    # Officers and operators: password (+ TOTP)
    def _totp_step(self, secret: str, code: str) -> int | None:
        totp = pyotp.TOTP(secret)
        now = self._clock()
        current = totp.timecode(now)
        # One step either side absorbs clock drift between the phone and the server.
        for step in (current, current - 1, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    async def password_login(self, username: str, password: str, totp: str, client_ip: str) -> IssuedTokens:
        """Log an officer or operator in with username, password and (when enrolled) a TOTP code."""
        check = Check()
        username = _required(check, "username", username).lower()
        if not password:
            check.add("password", "is required / आवश्यक है")
        totp = totp.strip()
        if totp and not is_totp_shape(totp):
            check.add("totp", "must be 6 digits / 6 अंकों का होना चाहिए")
        client_ip = client_ip.strip()
        if problem := client_ip_problem(client_ip):
            check.add("client_ip", problem)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        async with self._sessions() as session:
            store = IdentityStore(session)
            try:
                tokens = await self._password_login(store, username, password, totp, client_ip)
            except _Refused as refused:
                await session.commit()
                raise refused.error from None
            await session.commit()
            return tokens

    async def _password_login(
        self, store: IdentityStore, username: str, password: str, totp: str, client_ip: str
    ) -> IssuedTokens:
        def refuse(reason: str, error: DomainError, account_id: str = "") -> _Refused:
            self._audit(
                store, LoginMethod.PASSWORD, username, client_ip, success=False, reason=reason, account_id=account_id
            )
            return _Refused(error)

        wrong = Unauthenticated(bilingual("wrong username or password", "गलत उपयोगकर्ता नाम या पासवर्ड"))
        now = self._clock()
        last_success = await store.last_login_success(LoginMethod.PASSWORD, username)
        since = now - self._policy.password_lockout
        if last_success is not None and as_utc(last_success) > since:
            since = as_utc(last_success)
        if (
            await store.count_login_failures(LoginMethod.PASSWORD, username, since)
            >= self._policy.password_max_failures
        ):
            minutes = int(self._policy.password_lockout.total_seconds() // 60)
            raise refuse(
                "locked",
                ResourceExhausted(
                    bilingual(
                        f"password_lockout: too many failed logins; try again in up to {minutes} min",
                        f"बहुत बार असफल लॉगिन; अधिकतम {minutes} मिनट बाद प्रयास करें",
                    )
                ),
            )
        account = await store.account_by_username(username)
        if account is None or account.password_hash is None:
            pending = await store.pending_registration_by_username(username)
            if pending is not None and await self._password_matches(pending.password_hash, password):
                raise refuse(
                    "registration_pending",
                    FailedPrecondition(
                        bilingual(
                            "your registration awaits approval by the DM (S6)",
                            "आपका पंजीकरण जिलाधिकारी की स्वीकृति की प्रतीक्षा में है",
                        )
                    ),
                )
            if pending is None:
                await self._password_matches(None, password)
            raise refuse("bad_credentials", wrong)
        if not await self._password_matches(account.password_hash, password):
            raise refuse("bad_credentials", wrong, account.id)
        if not account.active and account.disabled_by_account_id:
            raise refuse(
                "account_disabled",
                PermissionDenied(bilingual("this login has been disabled", "यह लॉगिन निष्क्रिय कर दिया गया है")),
                account.id,
            )
        if not account.active:
            raise refuse(
                "account_disabled",
                PermissionDenied(
                    bilingual(
                        "this login is disabled (charge relinquished); it is enabled again when you take charge",
                        "यह लॉगिन निष्क्रिय है (प्रभार त्यागा गया); नया प्रभार लेने पर पुनः सक्रिय होगा",
                    )
                ),
                account.id,
            )
        if account.totp_secret_encrypted:
            if not totp:
                raise refuse(
                    "totp_required",
                    Unauthenticated(
                        bilingual("totp_required: give the code from your authenticator app", "ऑथेंटिकेटर ऐप का कोड दें")
                    ),
                    account.id,
                )
            step = self._totp_step(self._box.decrypt(account.totp_secret_encrypted), totp)
            if step is None or step <= account.totp_last_step:
                raise refuse(
                    "totp_invalid",
                    Unauthenticated(bilingual("totp_invalid: wrong or reused code", "गलत या पहले प्रयुक्त कोड")),
                    account.id,
                )
            account.totp_last_step = step
        elif self._policy.require_officer_totp and account.kind == AccountKind.OFFICER.value:
            raise refuse(
                "totp_not_enrolled",
                FailedPrecondition(
                    bilingual(
                        "this officer login has no authenticator enrolled; ask the approving authority",
                        "इस लॉगिन का ऑथेंटिकेटर नामांकित नहीं है; स्वीकृतकर्ता से संपर्क करें",
                    )
                ),
                account.id,
            )
        if self.passwords.needs_rehash(account.password_hash):
            account.password_hash = await self._hash_password(password)
        tokens = await self._issue(store, account)
        self._audit(store, LoginMethod.PASSWORD, username, client_ip, success=True, account_id=account.id)
        return tokens

    # Refresh tokens
    async def refresh(self, refresh_token: str) -> IssuedTokens:
        """Rotate a refresh token. A token used twice revokes its whole family (it was stolen, or leaked)."""
        if not refresh_token.strip():
            raise InvalidArgument.field("refresh_token", "is required / आवश्यक है")
        expired = Unauthenticated(bilingual("the session has ended; log in again", "सत्र समाप्त; पुनः लॉगिन करें"))
        async with self._sessions() as session:
            store = IdentityStore(session)
            now = self._clock()
            row = await store.refresh_token_by_hash(random_secret_hash(refresh_token.strip()))
            if row is None:
                raise expired
            already_revoked = row.revoked_at is not None
            reused = row.used_at is not None or already_revoked
            if not reused and as_utc(row.expires_at) <= now:
                raise expired
            if reused or not await store.mark_refresh_token_used(row.id, now):
                await store.revoke_refresh_family(row.family_id, now)
                # A logged-out token presented again is no theft; a used one presented again is.
                if not already_revoked:
                    self._audit(
                        store,
                        LoginMethod.REFRESH,
                        row.account_id,
                        "",
                        success=False,
                        reason="refresh_reuse",
                        account_id=row.account_id,
                    )
                    log.warning("refresh token reused; family revoked", account_id=row.account_id)
                await session.commit()
                raise expired
            account = await store.account(row.account_id)
            if account is None or not account.active:
                await store.revoke_refresh_family(row.family_id, now)
                await session.commit()
                raise expired
            tokens = await self._issue(store, account, family_id=row.family_id)
            await session.commit()
            return tokens

    async def revoke(self, refresh_token: str, access_token_id: str = "", access_expires_at: int = 0) -> None:
        """Log out: revoke the refresh token's family and, when the caller sent it, the access token (by its jti)
        at once. An unknown refresh token is not an error (nothing to revoke)."""
        if not refresh_token.strip():
            raise InvalidArgument.field("refresh_token", "is required / आवश्यक है")
        async with self._sessions() as session:
            store = IdentityStore(session)
            row = await store.refresh_token_by_hash(random_secret_hash(refresh_token.strip()))
            if row is not None:
                await store.revoke_refresh_family(row.family_id, self._clock())
                await session.commit()
        await self._revoker.token(access_token_id, access_expires_at, "logout")

    # Accounts
    async def get_account(self, account_id: str) -> Account:
        """One account, phone masked."""
        if not account_id.strip():
            raise InvalidArgument.field("account_id", "is required / आवश्यक है")
        async with self._sessions() as session:
            store = IdentityStore(session)
            row = await store.account(account_id.strip())
            if row is None:
                raise NotFound(bilingual("no such account", "ऐसा कोई खाता नहीं"))
            postings = await store.open_postings(row.id) if row.kind == AccountKind.OFFICER.value else []
            return account_view(row, postings)

    # Officers: registration and approval (S6)
    async def _describe(self, position_id: str) -> PositionInfo:
        try:
            return await self._positions.describe(position_id)
        except PositionNotFound:
            raise InvalidArgument.field("position_id", "no such position / ऐसा कोई पद नहीं") from None

    async def register_officer(self, new: NewRegistration) -> Registration:
        """Record an officer's login request for a post; it waits for the regulator's approval (S6)."""
        check = Check()
        name = _required(check, "name", new.name)
        if len(name) > 200:
            check.add("name", "must be at most 200 characters / अधिकतम 200 अक्षर")
        username = _required(check, "username", new.username).lower()
        if username and (problem := username_problem(username)):
            check.add("username", problem)
        if problem := password_problem(new.password, username):
            check.add("password", problem)
        phone = self._phone(check, new.phone)
        email = ""
        if new.email.strip():
            email = normalise_email(new.email) or ""
            if not email:
                check.add("email", "is not a valid email address / मान्य ईमेल पता नहीं")
        position_id = new.position_id.strip()
        check.code("position_id", position_id)
        if new.charge_from is None:
            check.add("charge_from", "is required: the date you take charge (S7) / प्रभार ग्रहण की तिथि आवश्यक है")
        if check.violations:
            raise InvalidArgument.of(check.violations)
        assert new.charge_from is not None
        position = await self._describe(position_id)
        password_hash = await self._hash_password(new.password)
        async with self._sessions() as session:
            store = IdentityStore(session)
            taken: list[FieldViolation] = []
            if await store.account_by_username(username) or await store.pending_registration_by_username(username):
                taken.append(FieldViolation("username", "is taken / पहले से लिया जा चुका है"))
            if await store.account_by_phone(AccountKind.OFFICER, phone):
                # One account per person: a transferred officer takes charge of the new post with the same login.
                taken.append(
                    FieldViolation(
                        "phone",
                        "already has an officer login; take charge of the new post with it / इस नंबर का अधिकारी "
                        "लॉगिन पहले से है; उसी से नया प्रभार लें",
                    )
                )
            elif await store.pending_registration_by_phone(phone):
                taken.append(FieldViolation("phone", "has a registration awaiting approval / पंजीकरण लंबित है"))
            if taken:
                raise AlreadyExists(bilingual("already registered", "पहले से पंजीकृत"), taken)
            row = RegistrationRow(
                id=str(uuid.uuid4()),
                name=name,
                username=username,
                phone=phone,
                email=email,
                password_hash=password_hash,
                position_id=position.id,
                position_role=position.role,
                department_code=position.department_code,
                district_code=position.district_code,
                charge_from=as_utc(new.charge_from),
                state=RegistrationState.PENDING.value,
                requested_at=self._clock(),
                decided_by_account_id="",
                decision_note="",
                decided_at=None,
                account_id="",
            )
            store.add(row)
            await session.commit()
        log.info("officer registration requested", registration_id=row.id, position_id=row.position_id)
        return registration_view(row)

    async def _require_authority(
        self, store: IdentityStore, actor: Actor, district_code: str, department_code: str, power: str = ""
    ) -> tuple[AccountRow, DelegationRow | None]:
        """The regulator of a post (S6); see authority.require_authority."""
        return await require_authority(store, actor, district_code, department_code, power)

    async def decide_registration(self, registration_id: str, approve: bool, note: str, actor: Actor) -> Registration:
        """Approve or reject an officer's registration. Approval makes the login and the posting from the charge
        date (S6, S7); a rejection needs a reason."""
        check = Check()
        registration_id = _required(check, "registration_id", registration_id)
        _actor_required(check, actor)
        note = note.strip()
        if not approve and not note:
            check.add("note", "a rejection must state its reason / अस्वीकृति का कारण आवश्यक है")
        if check.violations:
            raise InvalidArgument.of(check.violations)
        handover_id = ""
        async with self._sessions() as session:
            store = IdentityStore(session)
            row = await store.registration(registration_id, for_update=True)
            if row is None:
                raise NotFound(bilingual("no such registration", "ऐसा कोई पंजीकरण नहीं"))
            if row.state != RegistrationState.PENDING.value:
                raise FailedPrecondition(
                    bilingual(f"the registration is already {row.state}", "इस पंजीकरण पर निर्णय हो चुका है")
                )
            approver, delegation = await self._require_authority(
                store, actor, row.district_code, row.department_code, POWER_DECIDE_REGISTRATIONS
            )
            now = self._clock()
            if delegation is not None:
                # Audited "by X for Y" (S17): the delegate decided, with the delegator's authority.
                row.decided_by_account_id = actor.account_id.strip()
                note = " ".join(
                    part
                    for part in (
                        note,
                        f"[by {actor.account_id.strip()} for {approver.id} under delegation {delegation.id} / "
                        "प्रत्यायोजन के अधीन]",
                    )
                    if part
                )
            else:
                row.decided_by_account_id = approver.id
            row.decided_at = now
            row.decision_note = note
            if not approve:
                row.state = RegistrationState.REJECTED.value
                await session.commit()
                log.info("officer registration rejected", registration_id=row.id, by=approver.id)
                return registration_view(row)
            if await store.account_by_username(row.username):
                raise FailedPrecondition(bilingual("the username is taken", "उपयोगकर्ता नाम पहले से लिया गया है"))
            if await store.account_by_phone(AccountKind.OFFICER, row.phone):
                raise FailedPrecondition(
                    bilingual("this phone already has an officer login", "इस नंबर का अधिकारी लॉगिन पहले से है")
                )
            account = AccountRow(
                id=str(uuid.uuid4()),
                kind=AccountKind.OFFICER.value,
                display_name=row.name,
                created_at=now,
                username=row.username,
                phone=row.phone,
                email=row.email,
                password_hash=row.password_hash,
                totp_last_step=0,
                extra_roles=[],
                active=True,
            )
            provisioning_uri = ""
            if self._policy.require_officer_totp:
                secret = pyotp.random_base32()
                account.totp_secret_encrypted = self._box.encrypt(secret)
                provisioning_uri = pyotp.TOTP(secret).provisioning_uri(
                    name=row.username, issuer_name=self._policy.totp_issuer
                )
                row.decision_note = " ".join(
                    part
                    for part in (
                        note,
                        "[TOTP enrolment sent to the officer's registered phone / "
                        "TOTP नामांकन अधिकारी के पंजीकृत फ़ोन पर भेजा गया]",
                    )
                    if part
                )
            store.add(account)
            await store.flush()
            position = PositionInfo(row.position_id, row.position_role, row.department_code, row.district_code)
            handover_id = await self._open_posting(store, account.id, position, as_utc(row.charge_from))
            row.state = RegistrationState.APPROVED.value
            row.account_id = account.id
            if provisioning_uri:
                # Before the commit: if the link cannot reach the officer, nothing is approved and the DM tries again.
                await self._sender.send_totp_enrolment(row.phone, row.username, provisioning_uri)
            try:
                await session.commit()
            except IntegrityError:
                raise FailedPrecondition(
                    bilingual("the post or login was taken meanwhile; try again", "पद या लॉगिन इसी बीच लिया गया")
                ) from None
        log.info("officer registration approved", registration_id=row.id, account_id=account.id, by=approver.id)
        await self._offer_handover(handover_id)
        return registration_view(row)

    async def list_registrations(
        self,
        district_code: str,
        state: RegistrationState | None,
        *,
        registration_id: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> RegistrationPage:
        """One page of the registrations of a district (all when empty), in one state (all when None), oldest
        first; `registration_id` narrows it to that one request."""
        page = page_of(REGISTRATIONS_LISTING, page_size, page_token)
        async with self._sessions() as session:
            rows = await IdentityStore(session).registrations(
                district_code.strip(),
                state,
                registration_id=registration_id.strip(),
                after=time_key(REGISTRATIONS_LISTING, page),
                limit=page.size + 1,
            )
        shown, token = page.cut(
            [registration_view(r) for r in rows], lambda r: time_token(REGISTRATIONS_LISTING, r.requested_at, r.id)
        )
        return RegistrationPage(shown, token)

    # Postings and charge (S7)
    async def _open_posting(
        self, store: IdentityStore, account_id: str, position: PositionInfo, charge_from: datetime
    ) -> str:
        holder = await store.open_posting_of_position(position.id, for_update=True)
        if holder is not None:
            raise FailedPrecondition(
                bilingual(
                    f"{position.id} is still held by account {holder.account_id}; its holder must relinquish charge "
                    "first (S7)",
                    f"{position.id} का प्रभार अभी अन्य खाते के पास है; पहले वे प्रभार त्यागें",
                ),
                [FieldViolation("position_id", "is held by another account / अन्य खाते के पास है")],
            )
        now = self._clock()
        posting = PostingRow(
            id=str(uuid.uuid4()),
            account_id=account_id,
            position_id=position.id,
            position_role=position.role,
            department_code=position.department_code,
            district_code=position.district_code,
            charge_from=charge_from,
            relinquished_at=None,
            transfer_order_number="",
            transfer_order_date=None,
            created_at=now,
        )
        store.add(posting)
        await store.flush()
        handover = ChargeHandoverRow(
            id=str(uuid.uuid4()),
            posting_id=posting.id,
            position_id=position.id,
            account_id=account_id,
            charge_from=charge_from,
            state=HandoverState.PENDING.value,
            attempts=0,
            last_error="",
            next_attempt_at=now,
            created_at=now,
            applied_at=None,
            cases_rebased=0,
        )
        store.add(handover)
        return handover.id

    async def _offer_handover(self, handover_id: str) -> bool:
        """Tell sla of a charge taken (S7). On failure the handover stays pending and the sweep offers it again."""
        async with self._sessions() as session:
            row = await IdentityStore(session).handover(handover_id)
        if row is None or row.state == HandoverState.APPLIED.value:
            return True
        try:
            rebased = await self._handovers.apply(row.position_id, row.account_id, as_utc(row.charge_from))
        except Exception as exc:
            async with self._sessions() as session:
                pending = await IdentityStore(session).handover(handover_id, for_update=True)
                if pending is not None and pending.state == HandoverState.PENDING.value:
                    pending.attempts += 1
                    pending.last_error = str(exc)[:500]
                    backoff = min(
                        self._policy.handover_retry * (2 ** min(pending.attempts - 1, 10)), HANDOVER_BACKOFF_CAP
                    )
                    pending.next_attempt_at = self._clock() + backoff
                    await session.commit()
            log.warning("charge handover not taken by sla yet; kept for retry", handover_id=handover_id, error=str(exc))
            return False
        async with self._sessions() as session:
            applied = await IdentityStore(session).handover(handover_id, for_update=True)
            if applied is not None:
                applied.state = HandoverState.APPLIED.value
                applied.applied_at = self._clock()
                applied.cases_rebased = rebased
                applied.attempts += 1
                applied.last_error = ""
                await session.commit()
        log.info("charge handover applied", handover_id=handover_id, position_id=row.position_id, cases_rebased=rebased)
        return True

    async def retry_pending_handovers(self) -> int:
        """Offer every due pending handover to sla again; the number applied now."""
        async with self._sessions() as session:
            due = [row.id for row in await IdentityStore(session).due_handovers(self._clock())]
        applied = 0
        for handover_id in due:
            if await self._offer_handover(handover_id):
                applied += 1
        return applied

    async def handovers_of(self, position_id: str) -> list[ChargeHandoverRow]:
        """The handovers recorded for a post (for operators and tests)."""
        async with self._sessions() as session:
            return list(await IdentityStore(session).handovers_of_position(position_id))

    async def take_charge(
        self, account_id: str, position_id: str, charge_from: datetime | None, actor: Actor
    ) -> Posting:
        """An approved officer takes charge of a post from a date (S7), with the regulator's say; sla then re-bases
        the post's pending cases to that date."""
        check = Check()
        account_id = _required(check, "account_id", account_id)
        position_id = position_id.strip()
        check.code("position_id", position_id)
        if charge_from is None:
            check.add("charge_from", "is required / आवश्यक है")
        _actor_required(check, actor)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        assert charge_from is not None
        position = await self._describe(position_id)
        async with self._sessions() as session:
            store = IdentityStore(session)
            account = await store.account(account_id, for_update=True)
            if account is None:
                raise NotFound(bilingual("no such account", "ऐसा कोई खाता नहीं"))
            if account.kind != AccountKind.OFFICER.value:
                raise FailedPrecondition(
                    bilingual(
                        "only an approved officer's account takes charge; operator accounts never hold officer roles",
                        "केवल स्वीकृत अधिकारी खाता प्रभार ले सकता है; ऑपरेटर खाते को अधिकारी भूमिका नहीं मिलती",
                    ),
                    [FieldViolation("account_id", "is not an officer account / अधिकारी खाता नहीं")],
                )
            held = await store.open_posting_of_position(position.id)
            if held is not None and held.account_id == account.id:
                # Approval already put the officer in charge from the registered date: confirming it is a no-op
                # (it offers sla a handover still pending), and the date is not movable, since a later date would
                # re-base every pending case's clocks in the officer's favour.
                if as_utc(held.charge_from) != as_utc(charge_from):
                    raise FailedPrecondition(
                        bilingual(
                            f"you hold this post from {as_utc(held.charge_from).isoformat()}; that date is fixed",
                            "आप इस पद का प्रभार पहले से धारण करते हैं; प्रभार तिथि बदली नहीं जा सकती",
                        ),
                        [FieldViolation("charge_from", "differs from the recorded charge date / दर्ज तिथि से भिन्न")],
                    )
                existing = await store.handover_of_posting(held.id)
                confirmed = posting_view(held)
            else:
                existing = None
                confirmed = None
        if confirmed is not None:
            if existing is not None:
                await self._offer_handover(existing.id)
            return confirmed
        async with self._sessions() as session:
            store = IdentityStore(session)
            account = await store.account(account_id, for_update=True)
            assert account is not None
            # A new post needs its regulator (S6): an officer cannot take charge of a post on their own say.
            await self._require_authority(store, actor, position.district_code, position.department_code)
            if account.disabled_by_account_id:
                # Taking charge gives back a login that only a relinquished charge took away, never one an
                # authority disabled (DisableAccount).
                raise FailedPrecondition(
                    bilingual(
                        "this login was disabled by an authority; a new charge does not enable it",
                        "यह लॉगिन किसी प्राधिकारी ने निष्क्रिय किया है; नया प्रभार इसे सक्रिय नहीं करता",
                    ),
                    [FieldViolation("account_id", "is disabled / निष्क्रिय है")],
                )
            handover_id = await self._open_posting(store, account.id, position, as_utc(charge_from))
            account.active = True
            account.disabled_reason = ""
            account.updated_at = self._clock()
            posting = await store.open_posting_of_position(position.id)
            try:
                await session.commit()
            except IntegrityError:
                raise FailedPrecondition(
                    bilingual("the post was taken meanwhile", "पद इसी बीच किसी अन्य ने ले लिया")
                ) from None
        assert posting is not None
        log.info(
            "charge taken", account_id=account.id, position_id=position.id, charge_from=as_utc(charge_from).isoformat()
        )
        await self._offer_handover(handover_id)
        return posting_view(posting)

    async def relinquish_charge(
        self,
        account_id: str,
        position_id: str,
        relinquish_at: datetime | None,
        transfer_order_number: str,
        transfer_order_date: datetime | None,
        actor: Actor,
    ) -> Posting:
        """The leaving officer (or their regulator) closes a posting with the relinquish date and transfer order (S7).
        With no post left, the login is disabled, its refresh tokens and its delegations revoked."""
        check = Check()
        account_id = _required(check, "account_id", account_id)
        position_id = _required(check, "position_id", position_id)
        if relinquish_at is None:
            check.add("relinquish_at", "is required / आवश्यक है")
        transfer_order_number = _required(check, "transfer_order_number", transfer_order_number)
        if len(transfer_order_number) > 100:
            check.add("transfer_order_number", "must be at most 100 characters / अधिकतम 100 अक्षर")
        if transfer_order_date is None:
            check.add("transfer_order_date", "is required / आवश्यक है")
        _actor_required(check, actor)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        assert relinquish_at is not None
        async with self._sessions() as session:
            store = IdentityStore(session)
            posting = await store.open_posting_of_position(position_id, for_update=True)
            if posting is None or posting.account_id != account_id:
                raise FailedPrecondition(
                    bilingual("this account does not hold this post", "यह खाता इस पद का प्रभार नहीं रखता"),
                    [FieldViolation("position_id", "is not held by account_id / इस खाते के पास नहीं")],
                )
            is_self = actor.account_id.strip() == account_id and not actor.on_behalf_of_account_id
            if not is_self:
                await self._require_authority(store, actor, posting.district_code, posting.department_code)
            if as_utc(relinquish_at) < as_utc(posting.charge_from):
                raise InvalidArgument.field(
                    "relinquish_at", "is before the charge was taken / प्रभार ग्रहण से पहले की तिथि है"
                )
            now = self._clock()
            posting.relinquished_at = as_utc(relinquish_at)
            posting.transfer_order_number = transfer_order_number
            posting.transfer_order_date = as_utc(transfer_order_date) if transfer_order_date else None
            await store.flush()
            account = await store.account(account_id, for_update=True)
            assert account is not None
            # Tokens carry the posts held: the old ones must not outlive the charge.
            await store.revoke_refresh_tokens_of(account_id, now)
            delegates: list[str] = []
            if not await store.open_postings(account_id):
                account.active = False
                account.disabled_reason = f"charge relinquished: {transfer_order_number}"[:200]
                account.updated_at = now
                # The delegates' tokens carry powers the relinquished post gave: they end with it (S17).
                delegates = [d.delegate_account_id for d in await store.active_delegations_by(account_id)]
                await store.revoke_delegations_by(account_id, now, actor.account_id.strip())
            await session.commit()
        log.info("charge relinquished", account_id=account_id, position_id=position_id)
        # Committed first: a token issued after the cut-off carries the posts still held, so it is accepted.
        for revoked in (account_id, *delegates):
            await self._revoker.account(revoked, "the charge relinquished")
        return posting_view(posting)

    async def current_holder(self, position_id: str) -> Posting:
        """The open posting of a post."""
        if not position_id.strip():
            raise InvalidArgument.field("position_id", "is required / आवश्यक है")
        async with self._sessions() as session:
            row = await IdentityStore(session).open_posting_of_position(position_id.strip())
        if row is None:
            raise NotFound(bilingual("nobody holds this post now", "इस पद का प्रभार अभी किसी के पास नहीं"))
        return posting_view(row)

    async def list_postings(self, account_id: str, position_id: str) -> list[Posting]:
        """Postings of an account and/or of a post, oldest charge first."""
        account_id, position_id = account_id.strip(), position_id.strip()
        if not account_id and not position_id:
            raise InvalidArgument.of(
                [
                    FieldViolation("account_id", "give account_id or position_id / कोई एक दें"),
                    FieldViolation("position_id", "give account_id or position_id / कोई एक दें"),
                ]
            )
        async with self._sessions() as session:
            rows = await IdentityStore(session).postings(account_id, position_id)
        return [posting_view(r) for r in rows]

    async def seed_officer(
        self,
        *,
        username: str,
        name: str,
        password: str,
        phone: str,
        email: str,
        position: PositionInfo,
        charge_from: datetime,
        extra_roles: Sequence[str] = (),
    ) -> bool:
        """Make an approved officer holding a post (no registration, no handover); False when it already exists."""
        return await self._seed(
            AccountKind.OFFICER, username, name, password, phone, email, extra_roles, "", "", position, charge_from
        )

    async def seed_operator(
        self,
        *,
        username: str,
        name: str,
        password: str,
        phone: str,
        email: str,
        roles: Sequence[str],
        department_code: str = "",
        district_code: str = "",
    ) -> bool:
        """Make an operator account with account roles (never officer roles); False when it already exists."""
        return await self._seed(
            AccountKind.OPERATOR,
            username,
            name,
            password,
            phone,
            email,
            roles,
            department_code,
            district_code,
            None,
            None,
        )

    async def _seed(
        self,
        kind: AccountKind,
        username: str,
        name: str,
        password: str,
        phone_raw: str,
        email: str,
        roles: Sequence[str],
        department_code: str,
        district_code: str,
        position: PositionInfo | None,
        charge_from: datetime | None,
    ) -> bool:
        check = Check()
        if problem := username_problem(username):
            check.add("username", problem)
        if problem := password_problem(password, username):
            check.add("password", problem)
        phone = self._phone(check, phone_raw) if phone_raw else None
        unknown = [r for r in roles if r not in ACCOUNT_ROLES]
        if unknown:
            check.add("roles", f"not account roles: {', '.join(unknown)}")
        if check.violations:
            raise InvalidArgument.of(check.violations)
        password_hash = await self._hash_password(password)
        async with self._sessions() as session:
            store = IdentityStore(session)
            if await store.account_by_username(username):
                return False
            account = AccountRow(
                id=str(uuid.uuid4()),
                kind=kind.value,
                display_name=name,
                created_at=self._clock(),
                username=username,
                phone=phone or None,
                email=email,
                password_hash=password_hash,
                totp_last_step=0,
                extra_roles=list(roles),
                department_code=department_code,
                district_code=district_code,
                active=True,
            )
            store.add(account)
            await store.flush()
            if position is not None and charge_from is not None:
                holder = await store.open_posting_of_position(position.id)
                if holder is not None:
                    raise FailedPrecondition(f"{position.id} is already held")
                store.add(
                    PostingRow(
                        id=str(uuid.uuid4()),
                        account_id=account.id,
                        position_id=position.id,
                        position_role=position.role,
                        department_code=position.department_code,
                        district_code=position.district_code,
                        charge_from=as_utc(charge_from),
                        relinquished_at=None,
                        transfer_order_number="",
                        transfer_order_date=None,
                        created_at=self._clock(),
                    )
                )
            await session.commit()
        return True
