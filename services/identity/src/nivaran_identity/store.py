"""Every query of the identity service. The caller owns the transaction; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nivaran_common.paging import after_time_key
from nivaran_identity.domain import AccountKind, HandoverState, LoginMethod, RegistrationState
from nivaran_identity.tables import (
    AccountRow,
    ChargeHandoverRow,
    DelegationRow,
    LoginAuditRow,
    PostingRow,
    RefreshTokenRow,
    RegistrationRow,
    ServiceClientRow,
    SigningKeyRow,
)

Row = (
    AccountRow
    | RegistrationRow
    | PostingRow
    | ChargeHandoverRow
    | DelegationRow
    | SigningKeyRow
    | RefreshTokenRow
    | LoginAuditRow
    | ServiceClientRow
)


class IdentityStore:
    """Queries over accounts, registrations, postings, delegations, keys, refresh tokens and the login audit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Row) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # Accounts
    async def account(self, account_id: str, *, for_update: bool = False) -> AccountRow | None:
        stmt = select(AccountRow).where(AccountRow.id == account_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def account_by_username(self, username: str) -> AccountRow | None:
        stmt = select(AccountRow).where(AccountRow.username == username)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def account_by_phone(self, kind: AccountKind, phone: str) -> AccountRow | None:
        stmt = select(AccountRow).where(AccountRow.kind == kind.value, AccountRow.phone == phone)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # Registrations
    async def registration(self, registration_id: str, *, for_update: bool = False) -> RegistrationRow | None:
        stmt = select(RegistrationRow).where(RegistrationRow.id == registration_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pending_registration_by_username(self, username: str) -> RegistrationRow | None:
        stmt = (
            select(RegistrationRow)
            .where(RegistrationRow.username == username, RegistrationRow.state == RegistrationState.PENDING.value)
            .order_by(RegistrationRow.requested_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pending_registration_by_phone(self, phone: str) -> RegistrationRow | None:
        stmt = (
            select(RegistrationRow)
            .where(RegistrationRow.phone == phone, RegistrationRow.state == RegistrationState.PENDING.value)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def registrations(
        self,
        district_code: str,
        state: RegistrationState | None,
        *,
        registration_id: str = "",
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> Sequence[RegistrationRow]:
        """Registration requests, oldest first (then by id), those after the one whose (requested_at, id) is
        `after` in that order, at most `limit`."""
        stmt = select(RegistrationRow).order_by(RegistrationRow.requested_at, RegistrationRow.id)
        if district_code:
            stmt = stmt.where(RegistrationRow.district_code == district_code)
        if state is not None:
            stmt = stmt.where(RegistrationRow.state == state.value)
        if registration_id:
            stmt = stmt.where(RegistrationRow.id == registration_id)
        if after is not None:
            stmt = stmt.where(
                after_time_key(RegistrationRow.requested_at, RegistrationRow.id, after, newest_first=False)
            )
        if limit is not None:
            stmt = stmt.limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    # Postings
    async def posting(self, posting_id: str) -> PostingRow | None:
        return await self.session.get(PostingRow, posting_id)

    async def open_postings(self, account_id: str) -> Sequence[PostingRow]:
        stmt = (
            select(PostingRow)
            .where(PostingRow.account_id == account_id, PostingRow.relinquished_at.is_(None))
            .order_by(PostingRow.charge_from, PostingRow.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open_posting_of_position(self, position_id: str, *, for_update: bool = False) -> PostingRow | None:
        stmt = select(PostingRow).where(PostingRow.position_id == position_id, PostingRow.relinquished_at.is_(None))
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def postings(self, account_id: str, position_id: str) -> Sequence[PostingRow]:
        stmt = select(PostingRow).order_by(PostingRow.charge_from, PostingRow.created_at, PostingRow.id)
        if account_id:
            stmt = stmt.where(PostingRow.account_id == account_id)
        if position_id:
            stmt = stmt.where(PostingRow.position_id == position_id)
        return (await self.session.execute(stmt)).scalars().all()

    # Charge handovers
    async def handover(self, handover_id: str, *, for_update: bool = False) -> ChargeHandoverRow | None:
        stmt = select(ChargeHandoverRow).where(ChargeHandoverRow.id == handover_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def handover_of_posting(self, posting_id: str) -> ChargeHandoverRow | None:
        stmt = select(ChargeHandoverRow).where(ChargeHandoverRow.posting_id == posting_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def due_handovers(self, now: datetime, limit: int = 50) -> Sequence[ChargeHandoverRow]:
        stmt = (
            select(ChargeHandoverRow)
            .where(ChargeHandoverRow.state == HandoverState.PENDING.value, ChargeHandoverRow.next_attempt_at <= now)
            .order_by(ChargeHandoverRow.next_attempt_at, ChargeHandoverRow.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def handovers_of_position(self, position_id: str) -> Sequence[ChargeHandoverRow]:
        stmt = (
            select(ChargeHandoverRow)
            .where(ChargeHandoverRow.position_id == position_id)
            .order_by(ChargeHandoverRow.created_at, ChargeHandoverRow.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # Delegations
    async def delegation(self, delegation_id: str, *, for_update: bool = False) -> DelegationRow | None:
        stmt = select(DelegationRow).where(DelegationRow.id == delegation_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active_delegation_to(self, delegate_account_id: str) -> DelegationRow | None:
        stmt = (
            select(DelegationRow)
            .where(DelegationRow.delegate_account_id == delegate_account_id, DelegationRow.revoked_at.is_(None))
            .order_by(DelegationRow.granted_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active_delegations_by(self, delegator_account_id: str) -> Sequence[DelegationRow]:
        stmt = (
            select(DelegationRow)
            .where(DelegationRow.delegator_account_id == delegator_account_id, DelegationRow.revoked_at.is_(None))
            .order_by(DelegationRow.granted_at, DelegationRow.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def delegations(
        self,
        *,
        delegator_account_id: str = "",
        delegate_account_id: str = "",
        include_revoked: bool = False,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> Sequence[DelegationRow]:
        """Delegations given by `delegator_account_id` and/or to `delegate_account_id`, newest grant first (then by
        id), those after the one whose (granted_at, id) is `after` in that order; only those in force unless
        `include_revoked`; at most `limit`."""
        stmt = select(DelegationRow).order_by(DelegationRow.granted_at.desc(), DelegationRow.id.desc())
        if delegator_account_id:
            stmt = stmt.where(DelegationRow.delegator_account_id == delegator_account_id)
        if delegate_account_id:
            stmt = stmt.where(DelegationRow.delegate_account_id == delegate_account_id)
        if not include_revoked:
            stmt = stmt.where(DelegationRow.revoked_at.is_(None))
        if after is not None:
            stmt = stmt.where(after_time_key(DelegationRow.granted_at, DelegationRow.id, after, newest_first=True))
        if limit is not None:
            stmt = stmt.limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def revoke_delegations_by(self, delegator_account_id: str, now: datetime, by_account_id: str) -> int:
        result = await self.session.execute(
            update(DelegationRow)
            .where(DelegationRow.delegator_account_id == delegator_account_id, DelegationRow.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_account_id=by_account_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # Signing keys
    async def signing_keys(self) -> Sequence[SigningKeyRow]:
        stmt = select(SigningKeyRow).order_by(SigningKeyRow.created_at.desc(), SigningKeyRow.kid)
        return (await self.session.execute(stmt)).scalars().all()

    async def active_signing_key(self) -> SigningKeyRow | None:
        stmt = (
            select(SigningKeyRow)
            .where(SigningKeyRow.retired_at.is_(None))
            .order_by(SigningKeyRow.created_at.desc(), SigningKeyRow.kid)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def retire_signing_keys(self, except_kid: str, now: datetime) -> None:
        await self.session.execute(
            update(SigningKeyRow)
            .where(SigningKeyRow.kid != except_kid, SigningKeyRow.retired_at.is_(None))
            .values(retired_at=now)
        )

    # Refresh tokens
    async def refresh_token_by_hash(self, token_hash: str) -> RefreshTokenRow | None:
        stmt = select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        """Take a refresh token for one rotation; False when another use got there first."""
        result = await self.session.execute(
            update(RefreshTokenRow)
            .where(
                RefreshTokenRow.id == token_id,
                RefreshTokenRow.used_at.is_(None),
                RefreshTokenRow.revoked_at.is_(None),
            )
            .values(used_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        await self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_refresh_tokens_of(self, account_id: str, now: datetime) -> None:
        await self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.account_id == account_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # Login audit
    async def last_login_success(self, method: LoginMethod, subject: str) -> datetime | None:
        stmt = select(func.max(LoginAuditRow.occurred_at)).where(
            LoginAuditRow.method == method.value, LoginAuditRow.subject == subject, LoginAuditRow.success.is_(True)
        )
        value: datetime | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return value

    async def count_login_failures(self, method: LoginMethod, subject: str, since: datetime) -> int:
        stmt = select(func.count(LoginAuditRow.id)).where(
            LoginAuditRow.method == method.value,
            LoginAuditRow.subject == subject,
            LoginAuditRow.success.is_(False),
            LoginAuditRow.occurred_at > since,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def login_audit(self, *, subject: str = "", account_id: str = "") -> Sequence[LoginAuditRow]:
        stmt = select(LoginAuditRow).order_by(LoginAuditRow.id)
        conditions = []
        if subject:
            conditions.append(LoginAuditRow.subject == subject)
        if account_id:
            conditions.append(LoginAuditRow.account_id == account_id)
        if conditions:
            stmt = stmt.where(or_(*conditions))
        return (await self.session.execute(stmt)).scalars().all()


class ServiceClientStore:
    """Queries over department clients (service_clients). The caller owns the transaction; nothing here commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: ServiceClientRow) -> None:
        self.session.add(row)

    async def client(self, client_id: str, *, for_update: bool = False) -> ServiceClientRow | None:
        stmt = select(ServiceClientRow).where(ServiceClientRow.id == client_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def clients(self, department_code: str) -> Sequence[ServiceClientRow]:
        """Every client of a department (of all departments when empty), oldest first."""
        stmt = select(ServiceClientRow).order_by(ServiceClientRow.created_at, ServiceClientRow.id)
        if department_code:
            stmt = stmt.where(ServiceClientRow.department_code == department_code)
        return (await self.session.execute(stmt)).scalars().all()
