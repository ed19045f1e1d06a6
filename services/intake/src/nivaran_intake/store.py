"""Every query of the intake service. The caller owns the transaction; nothing here commits."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from nivaran_common.jurisdiction import GrievanceScope
from nivaran_common.timeutil import as_utc
from nivaran_intake.domain import GrievanceOrder
from nivaran_intake.tables import (
    OPEN_CASE,
    AttachmentRow,
    CaseCountRow,
    GrievanceRow,
    RegistrationCounterRow,
    TimelineEventRow,
)


def scope_condition(scope: GrievanceScope) -> Any:
    """The SQL form of GrievanceScope.covers: the cases a verified caller may read (false when none)."""
    if scope.state_wide:
        return true()
    if scope.complainant_account_id or scope.complainant_phone:
        owners = []
        if scope.complainant_account_id:
            owners.append(GrievanceRow.complainant_account_id == scope.complainant_account_id)
        if scope.complainant_phone:
            owners.append(GrievanceRow.complainant_phone == scope.complainant_phone)
        return or_(*owners)
    if scope.district_codes:
        return GrievanceRow.district_code.in_(scope.district_codes)
    if scope.position_ids:
        return GrievanceRow.position_id.in_(scope.position_ids)
    if scope.department_code:
        return GrievanceRow.department_code == scope.department_code
    return false()


class IntakeStore:
    """Queries over grievances, their timeline and the registration counters."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_registration_sequence(self, scope: str) -> int:
        """Take the next number of a counter. The row lock (PostgreSQL) or the write lock (SQLite) serialises it."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self.session.execute(
            insert(RegistrationCounterRow).values(scope=scope, last_value=0).on_conflict_do_nothing()
        )
        result = await self.session.execute(
            update(RegistrationCounterRow)
            .where(RegistrationCounterRow.scope == scope)
            .values(last_value=RegistrationCounterRow.last_value + 1)
            .returning(RegistrationCounterRow.last_value)
        )
        return int(result.scalar_one())

    def add(self, row: GrievanceRow | TimelineEventRow | AttachmentRow) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    async def by_id(self, grievance_id: str, *, for_update: bool = False) -> GrievanceRow | None:
        stmt = select(GrievanceRow).where(GrievanceRow.id == grievance_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_registration_number(self, registration_number: str) -> GrievanceRow | None:
        stmt = select(GrievanceRow).where(GrievanceRow.registration_number == registration_number)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_idempotency_key(self, key: str) -> GrievanceRow | None:
        stmt = select(GrievanceRow).where(GrievanceRow.idempotency_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def events_by_idempotency_keys(self, keys: Sequence[str]) -> dict[str, TimelineEventRow]:
        stmt = select(TimelineEventRow).where(TimelineEventRow.idempotency_key.in_(keys))
        return {row.idempotency_key: row for row in (await self.session.execute(stmt)).scalars()}

    async def last_sequence(self, grievance_id: str) -> int:
        stmt = select(func.max(TimelineEventRow.sequence)).where(TimelineEventRow.grievance_id == grievance_id)
        return int((await self.session.execute(stmt)).scalar_one() or 0)

    async def timeline(self, grievance_id: str) -> Sequence[TimelineEventRow]:
        stmt = (
            select(TimelineEventRow)
            .where(TimelineEventRow.grievance_id == grievance_id)
            .order_by(TimelineEventRow.sequence)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def counts(self, *, district_code: str, department_code: str, track: str = "") -> list[StatusCount]:
        """Cases by department (as routed), status, "Other" category and "came back", from the kept counts
        (case_counts.py): a few rows whatever the number of cases."""
        stmt = select(
            CaseCountRow.routed_department_code,
            CaseCountRow.status,
            CaseCountRow.category_is_other,
            CaseCountRow.returned,
            func.sum(CaseCountRow.cases),
        ).group_by(
            CaseCountRow.routed_department_code,
            CaseCountRow.status,
            CaseCountRow.category_is_other,
            CaseCountRow.returned,
        )
        if district_code:
            stmt = stmt.where(CaseCountRow.district_code == district_code)
        if department_code:
            stmt = stmt.where(CaseCountRow.routed_department_code == department_code)
        if track:
            stmt = stmt.where(CaseCountRow.track == track)
        rows = (await self.session.execute(stmt)).all()
        return [StatusCount(d, s, bool(o), int(c or 0), bool(r)) for d, s, o, r, c in rows if c]

    async def overdue(self, *, district_code: str, department_code: str, now: datetime, track: str = "") -> int:
        """Open cases past their deadline, read from the partial index of the open cases."""
        # `now` from the caller rather than the database's clock: on SQLite CURRENT_TIMESTAMP is a string of another
        # shape than the stored instants, and a given instant makes the count testable.
        stmt = select(func.count()).where(OPEN_CASE, GrievanceRow.current_deadline < now)
        if district_code:
            stmt = stmt.where(GrievanceRow.district_code == district_code)
        if department_code:
            stmt = stmt.where(GrievanceRow.routed_department_code == department_code)
        if track:
            stmt = stmt.where(GrievanceRow.track == track)
        return int((await self.session.execute(stmt)).scalar_one())

    async def recent_by_complainant(
        self, *, account_id: str, phone: str, district_code: str, since: datetime, limit: int = 50
    ) -> Sequence[GrievanceRow]:
        """The complainant's (by account or phone) cases of a district filed since `since`, newest first."""
        owners = []
        if account_id:
            owners.append(GrievanceRow.complainant_account_id == account_id)
        if phone:
            owners.append(GrievanceRow.complainant_phone == phone)
        if not owners:
            return []
        stmt = (
            select(GrievanceRow)
            .where(or_(*owners), GrievanceRow.district_code == district_code, GrievanceRow.filed_at >= since)
            .order_by(GrievanceRow.filed_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def workflow_not_started(self, filed_before: datetime, limit: int) -> Sequence[GrievanceRow]:
        stmt = (
            select(GrievanceRow)
            .where(GrievanceRow.workflow_started_at.is_(None), GrievanceRow.filed_at < filed_before)
            .order_by(GrievanceRow.filed_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_workflow_started(self, grievance_id: str, at: datetime) -> None:
        await self.session.execute(
            update(GrievanceRow)
            .where(GrievanceRow.id == grievance_id, GrievanceRow.workflow_started_at.is_(None))
            .values(workflow_started_at=at)
        )

    async def search(
        self,
        *,
        district_code: str,
        position_ids: Sequence[str],
        statuses: Sequence[str],
        complainant_account_id: str,
        category_code: str,
        department_code: str,
        query: str,
        page_size: int,
        page_token: str,
        complainant_phone: str = "",
        registration_number: str = "",
        dm_visible_only: bool = False,
        watch_open_only: bool = False,
        tracks: Sequence[str] = (),
        district_codes: Sequence[str] = (),
        order: GrievanceOrder = GrievanceOrder.NEWEST,
        within: GrievanceScope | None = None,
    ) -> tuple[Sequence[GrievanceRow], str]:
        """One keyset-paginated page, so deep pages stay cheap.

        NEWEST: filed_at, id descending. DEADLINE: current_deadline ascending with the deadline-less last, then
        filed_at, id descending. A token is only valid for the order that issued it (ValueError otherwise).
        """
        conditions: list[Any] = [] if within is None else [scope_condition(within)]
        owners = []
        if complainant_account_id:
            owners.append(GrievanceRow.complainant_account_id == complainant_account_id)
        if complainant_phone:
            owners.append(GrievanceRow.complainant_phone == complainant_phone)
        if owners:
            conditions.append(or_(*owners))
        if registration_number:
            conditions.append(GrievanceRow.registration_number == registration_number)
        if dm_visible_only:
            conditions.append(GrievanceRow.dm_visible.is_(True))
        if watch_open_only:
            conditions.append(GrievanceRow.watch_item != "")
        if tracks:
            conditions.append(GrievanceRow.track.in_(tracks))
        if district_codes:
            conditions.append(GrievanceRow.district_code.in_(district_codes))
        if district_code:
            conditions.append(GrievanceRow.district_code == district_code)
        if position_ids:
            conditions.append(GrievanceRow.position_id.in_(position_ids))
        if statuses:
            conditions.append(GrievanceRow.status.in_(statuses))
        if category_code:
            conditions.append(GrievanceRow.category_code == category_code)
        if department_code:
            conditions.append(GrievanceRow.department_code == department_code)
        if query:
            pattern = f"%{query}%"
            conditions.append(or_(GrievanceRow.subject.ilike(pattern), GrievanceRow.description.ilike(pattern)))
        newest: tuple[Any, ...] = (GrievanceRow.filed_at.desc(), GrievanceRow.id.desc())
        ordering: tuple[Any, ...]
        if order is GrievanceOrder.DEADLINE:
            if page_token:
                conditions.append(_after_deadline_key(*decode_deadline_page_token(page_token)))
            # (deadline IS NULL) sorts false before true on both databases: the deadline-less come last.
            ordering = (GrievanceRow.current_deadline.is_(None), GrievanceRow.current_deadline.asc(), *newest)
        else:
            if page_token:
                conditions.append(_after_newest_key(*decode_page_token(page_token)))
            ordering = newest
        stmt = select(GrievanceRow).where(*conditions).order_by(*ordering).limit(page_size + 1)
        rows = (await self.session.execute(stmt)).scalars().all()
        if len(rows) <= page_size:
            return rows, ""
        page = rows[:page_size]
        last = page[-1]
        if order is GrievanceOrder.DEADLINE:
            return page, encode_deadline_page_token(last.current_deadline, last.filed_at, last.id)
        return page, encode_page_token(last.filed_at, last.id)


def _after_newest_key(filed_at: datetime, last_id: str) -> Any:
    return or_(
        GrievanceRow.filed_at < filed_at,
        and_(GrievanceRow.filed_at == filed_at, GrievanceRow.id < last_id),
    )


def _after_deadline_key(deadline: datetime | None, filed_at: datetime, last_id: str) -> Any:
    if deadline is None:
        # Past the last case with a deadline: only the deadline-less remain, newest first.
        return and_(GrievanceRow.current_deadline.is_(None), _after_newest_key(filed_at, last_id))
    return or_(
        GrievanceRow.current_deadline.is_(None),
        GrievanceRow.current_deadline > deadline,
        and_(GrievanceRow.current_deadline == deadline, _after_newest_key(filed_at, last_id)),
    )


@dataclass(frozen=True)
class StatusCount:
    department_code: str
    status: str
    is_other: bool
    count: int
    # The group's cases came back after ending at least once (reopened, or unresolved on feedback).
    returned: bool = False


def encode_page_token(filed_at: datetime, last_id: str) -> str:
    return base64.urlsafe_b64encode(f"{filed_at.isoformat()}|{last_id}".encode()).decode()


def decode_page_token(token: str) -> tuple[datetime, str]:
    """Raises ValueError on a token this service did not issue."""
    raw = base64.urlsafe_b64decode(token.encode()).decode()
    stamp, last_id = raw.split("|", 1)
    return datetime.fromisoformat(stamp), last_id


_DEADLINE_TOKEN = "deadline"


def encode_deadline_page_token(deadline: datetime | None, filed_at: datetime, last_id: str) -> str:
    """The key of the last case of a DEADLINE-ordered page; an empty deadline means the deadline-less part."""
    due = as_utc(deadline).isoformat() if deadline is not None else ""
    raw = f"{_DEADLINE_TOKEN}|{due}|{as_utc(filed_at).isoformat()}|{last_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_deadline_page_token(token: str) -> tuple[datetime | None, datetime, str]:
    """Raises ValueError on a token this service did not issue for the DEADLINE order."""
    raw = base64.urlsafe_b64decode(token.encode()).decode()
    kind, due, filed_at, last_id = raw.split("|", 3)
    if kind != _DEADLINE_TOKEN or not last_id:
        raise ValueError("not a deadline-order page token")
    return (datetime.fromisoformat(due) if due else None), datetime.fromisoformat(filed_at), last_id


class AttachmentStore:
    """Queries over the attachments of cases (metadata only; the bytes are in the blob store)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: AttachmentRow) -> None:
        self.session.add(row)

    async def grievance_exists(self, grievance_id: str) -> bool:
        stmt = select(GrievanceRow.id).where(GrievanceRow.id == grievance_id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def by_idempotency_key(self, key: str) -> AttachmentRow | None:
        stmt = select(AttachmentRow).where(AttachmentRow.idempotency_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_id(self, grievance_id: str, attachment_id: str) -> AttachmentRow | None:
        """The attachment, only when it belongs to this case."""
        stmt = select(AttachmentRow).where(
            AttachmentRow.id == attachment_id, AttachmentRow.grievance_id == grievance_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_grievance(self, grievance_id: str) -> Sequence[AttachmentRow]:
        stmt = (
            select(AttachmentRow)
            .where(AttachmentRow.grievance_id == grievance_id)
            .order_by(AttachmentRow.created_at, AttachmentRow.id)
        )
        return (await self.session.execute(stmt)).scalars().all()
