"""The sla service's own records: show-cause notices (S9, S11) with their replies and recommendations (S18), and
breaches (S13 and friends).

Every method owns its transaction. The lifecycle workflow writes through these in activities, which Temporal may
retry, so every write is idempotent: issuing and breach recording on the workflow's key, replies and
recommendations on their text.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_common.paging import after_time_key
from nivaran_common.timeutil import as_utc
from nivaran_sla.domain import Breach, ShowCauseNotice
from nivaran_sla.tables import BreachRow, ShowCauseNoticeRow

log = get_logger(__name__)

SHOW_CAUSE_NUMBERS = (1, 2)


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def notice_from_row(row: ShowCauseNoticeRow) -> ShowCauseNotice:
    """The domain notice of a row; SQLite hands back naive datetimes, which are UTC."""
    return ShowCauseNotice(
        id=row.id,
        grievance_id=row.grievance_id,
        registration_number=row.registration_number,
        officer_account_id=row.officer_account_id or "",
        position_id=row.position_id,
        number=row.number,
        issued_at=as_utc(row.issued_at),
        due_by=as_utc(row.due_by),
        reply=row.reply,
        replied_at=_optional_utc(row.replied_at),
        recommendation=row.recommendation,
        recommended_at=_optional_utc(row.recommended_at),
    )


def breach_from_row(row: BreachRow) -> Breach:
    """The domain breach of a row."""
    return Breach(
        id=row.id,
        grievance_id=row.grievance_id,
        registration_number=row.registration_number,
        position_id=row.position_id,
        district_code=row.district_code,
        rule=row.rule,
        recorded_at=as_utc(row.recorded_at),
        details=dict(row.details or {}),
    )


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    # Details come from workflow code and may hold datetimes; the JSON column needs plain values.
    safe: dict[str, Any] = json.loads(json.dumps(details, default=str))
    return safe


def _not_found(notice_id: str) -> NotFound:
    return NotFound(f"no show-cause notice {notice_id!r} / कारण पृच्छा {notice_id!r} नहीं मिली")


class SlaRecords:
    """Show-cause notices and breaches; each method is one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def issue_show_cause(
        self,
        *,
        idempotency_key: str,
        grievance_id: str,
        registration_number: str,
        position_id: str,
        officer_account_id: str | None,
        number: int,
        issued_at: datetime,
        due_by: datetime,
    ) -> ShowCauseNotice:
        """Record a show-cause notice once per key; a repeat (also a concurrent one) returns the first notice."""
        if number not in SHOW_CAUSE_NUMBERS:
            raise InvalidArgument.field("number", "a case gets show-cause notice 1 (day 10) or 2 (day 21)")
        if not idempotency_key:
            raise InvalidArgument.field("idempotency_key", "is required")
        row = ShowCauseNoticeRow(
            id=str(uuid.uuid4()),
            idempotency_key=idempotency_key,
            grievance_id=grievance_id,
            registration_number=registration_number,
            officer_account_id=officer_account_id or None,
            position_id=position_id,
            number=number,
            issued_at=as_utc(issued_at),
            due_by=as_utc(due_by),
        )
        try:
            async with self._sessions() as session, session.begin():
                existing = await session.scalar(_notice_by_key(idempotency_key))
                if existing is not None:
                    return notice_from_row(existing)
                session.add(row)
        except IntegrityError:
            # A concurrent call with the same key won the unique constraint; answer with its notice.
            async with self._sessions() as session:
                existing = await session.scalar(_notice_by_key(idempotency_key))
            if existing is None:
                raise
            return notice_from_row(existing)
        log.info("show-cause notice issued", notice_id=row.id, grievance_id=grievance_id, number=number)
        return notice_from_row(row)

    async def get_show_cause(self, notice_id: str) -> ShowCauseNotice:
        """One notice, or NotFound."""
        async with self._sessions() as session:
            row = await session.get(ShowCauseNoticeRow, notice_id)
        if row is None:
            raise _not_found(notice_id)
        return notice_from_row(row)

    async def record_reply(self, notice_id: str, reply: str, replied_at: datetime) -> ShowCauseNotice:
        """Record the officer's reply; the same reply again is a no-op, a different one is refused."""
        async with self._sessions() as session, session.begin():
            # Conditional on "no reply yet", so two racing replies cannot both win on either database.
            result = await session.execute(
                update(ShowCauseNoticeRow)
                .where(ShowCauseNoticeRow.id == notice_id, ShowCauseNoticeRow.reply.is_(None))
                .values(reply=reply, replied_at=as_utc(replied_at))
            )
            written = _rowcount(result) == 1
            row = await session.get(ShowCauseNoticeRow, notice_id, populate_existing=True)
            if row is None:
                raise _not_found(notice_id)
            if not written and row.reply != reply:
                raise FailedPrecondition(
                    "the show-cause notice is already answered / कारण पृच्छा का उत्तर पहले ही दिया जा चुका है"
                )
            return notice_from_row(row)

    async def record_recommendation(
        self, notice_id: str, recommendation: str, recommended_at: datetime
    ) -> ShowCauseNotice:
        """Record the DM's recommendation on a reply (S18); the same again is a no-op, a different one is refused."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(ShowCauseNoticeRow)
                .where(
                    ShowCauseNoticeRow.id == notice_id,
                    ShowCauseNoticeRow.reply.is_not(None),
                    ShowCauseNoticeRow.recommendation.is_(None),
                )
                .values(recommendation=recommendation, recommended_at=as_utc(recommended_at))
            )
            written = _rowcount(result) == 1
            row = await session.get(ShowCauseNoticeRow, notice_id, populate_existing=True)
            if row is None:
                raise _not_found(notice_id)
            if written or row.recommendation == recommendation:
                return notice_from_row(row)
            if row.reply is None:
                raise FailedPrecondition(
                    "the officer has not replied to the notice yet / पदाधिकारी ने कारण पृच्छा का उत्तर अभी नहीं दिया है"
                )
            raise FailedPrecondition("the reply already has a recommendation / उत्तर पर अनुशंसा पहले ही की जा चुकी है")

    async def record_breach(
        self,
        *,
        idempotency_key: str,
        grievance_id: str,
        registration_number: str,
        position_id: str,
        district_code: str,
        rule: str,
        recorded_at: datetime,
        details: dict[str, Any],
    ) -> Breach:
        """Record a breach once per key; a repeat (also a concurrent one) returns the first record."""
        if not idempotency_key:
            raise InvalidArgument.field("idempotency_key", "is required")
        row = BreachRow(
            id=str(uuid.uuid4()),
            idempotency_key=idempotency_key,
            grievance_id=grievance_id,
            registration_number=registration_number,
            position_id=position_id,
            district_code=district_code,
            rule=rule,
            recorded_at=as_utc(recorded_at),
            details=_json_safe(details),
        )
        try:
            async with self._sessions() as session, session.begin():
                existing = await session.scalar(_breach_by_key(idempotency_key))
                if existing is not None:
                    return breach_from_row(existing)
                session.add(row)
        except IntegrityError:
            async with self._sessions() as session:
                existing = await session.scalar(_breach_by_key(idempotency_key))
            if existing is None:
                raise
            return breach_from_row(existing)
        log.info("breach recorded", breach_id=row.id, grievance_id=grievance_id, rule=rule)
        return breach_from_row(row)

    async def list_show_causes(
        self, *, grievance_id: str = "", position_id: str = "", unanswered_only: bool = False
    ) -> list[ShowCauseNotice]:
        """Notices matching every filter given, oldest first."""
        query = select(ShowCauseNoticeRow)
        if grievance_id:
            query = query.where(ShowCauseNoticeRow.grievance_id == grievance_id)
        if position_id:
            query = query.where(ShowCauseNoticeRow.position_id == position_id)
        if unanswered_only:
            query = query.where(ShowCauseNoticeRow.reply.is_(None))
        query = query.order_by(ShowCauseNoticeRow.issued_at, ShowCauseNoticeRow.number, ShowCauseNoticeRow.id)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [notice_from_row(r) for r in rows]

    async def list_breaches(
        self,
        *,
        grievance_id: str = "",
        district_code: str = "",
        rule: str = "",
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Breach]:
        """Breaches matching every filter given, newest first (then by id), those after the breach whose
        (recorded_at, id) is `after` in that order, at most `limit` of them: the district's register read a page at a
        time from ix_breaches_district_code_rule_recorded_at."""
        query = select(BreachRow)
        if grievance_id:
            query = query.where(BreachRow.grievance_id == grievance_id)
        if district_code:
            query = query.where(BreachRow.district_code == district_code)
        if rule:
            query = query.where(BreachRow.rule == rule)
        if after is not None:
            query = query.where(after_time_key(BreachRow.recorded_at, BreachRow.id, after, newest_first=True))
        query = query.order_by(BreachRow.recorded_at.desc(), BreachRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [breach_from_row(r) for r in rows]


def _notice_by_key(idempotency_key: str) -> Select[ShowCauseNoticeRow]:
    return select(ShowCauseNoticeRow).where(ShowCauseNoticeRow.idempotency_key == idempotency_key)


def _breach_by_key(idempotency_key: str) -> Select[BreachRow]:
    return select(BreachRow).where(BreachRow.idempotency_key == idempotency_key)


def _rowcount(result: Any) -> int:
    # An UPDATE answers with a CursorResult; the session's signature only promises a Result.
    assert isinstance(result, CursorResult)
    count: int = result.rowcount
    return count
