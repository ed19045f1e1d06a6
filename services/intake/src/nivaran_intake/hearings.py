"""Hearings (B7, M3, M2): the lifecycle fixes a hearing (`hearing_scheduled`) and records how it went
(`hearing_held`); intake projects both into its `hearings` table, in the transaction that records the timeline event
(IntakeService.record_transition), and serves two reads from it:

- B7 (rule 8, Form-4): an office's public notice board, the hearings fixed before it from a day on. A public board:
  it shows the registration number, never the complainant's name, phone or the grievance's text.
- M3 / M2: whether the public authority attended each hearing held, counted per public authority post over a
  period for the DM's weekly report.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, false, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied
from nivaran_intake.tables import GrievanceRow, HearingRow

HEARING_SCHEDULED = "hearing_scheduled"
HEARING_HELD = "hearing_held"
STAGES = ("complaint", "first", "second", "revision")
SCHEDULED, HEARD, ADJOURNED = "scheduled", "heard", "adjourned"
OUTCOMES = (HEARD, ADJOURNED)
# M2: the DM's report covers a week unless a period is given.
REPORT_DAYS = 7
BOARD_LIMIT = 500
_AT = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
# What a hearing_scheduled changes when the same hearing is fixed again (a retry under another key, or a move):
# the schedule and who sits, never what was recorded at the hearing.
_SCHEDULE_COLUMNS = (
    "stage", "held_on", "at", "venue_en", "venue_hi", "office_id", "office_name_en", "office_name_hi",
    "hearing_officer_position_id", "hearing_officer_title_en", "hearing_officer_title_hi",
    "public_authority_position_id", "public_authority_title_en", "public_authority_title_hi", "recorded_at",
)  # fmt: skip


@dataclass(frozen=True)
class ScheduledHearing:
    """The payload of `hearing_scheduled`."""

    hearing_id: str
    stage: str
    held_on: date
    at: str
    venue_en: str
    venue_hi: str
    office_id: str
    office_name_en: str
    office_name_hi: str
    hearing_officer_position_id: str
    hearing_officer_title_en: str
    hearing_officer_title_hi: str
    public_authority_position_id: str
    public_authority_title_en: str
    public_authority_title_hi: str


@dataclass(frozen=True)
class HeldHearing:
    """The payload of `hearing_held` (its `proceedings` stay on the timeline only)."""

    hearing_id: str
    outcome: str
    complainant_present: bool
    public_authority_present: bool
    represented_by: str


@dataclass(frozen=True)
class Attendance:
    """M2: one public authority post's hearings held in the period, and how many of them it missed."""

    position_id: str
    title_en: str
    title_hi: str
    hearings: int
    absences: int


@dataclass(frozen=True)
class AbsenceReport:
    """M2: the DM's report of public authorities' attendance, most absences first."""

    district_code: str
    from_date: date
    to_date: date
    rows: Sequence[Attendance] = ()

    @property
    def total_hearings(self) -> int:
        return sum(r.hearings for r in self.rows)

    @property
    def total_absences(self) -> int:
        return sum(r.absences for r in self.rows)


@dataclass
class _Payload:
    """Reads a transition's payload (a JSON object), collecting a violation per bad key as `payload.<key>`."""

    values: Mapping[str, Any]
    violations: list[FieldViolation] = field(default_factory=list)

    def text(self, key: str, max_len: int, *, required: bool = False) -> str:
        raw = self.values.get(key)
        if raw is not None and not isinstance(raw, str):
            self.violations.append(FieldViolation(f"payload.{key}", "must be a string"))
            return ""
        value = (raw or "").strip()
        if required and not value:
            self.violations.append(FieldViolation(f"payload.{key}", "is required"))
        elif len(value) > max_len:
            self.violations.append(FieldViolation(f"payload.{key}", f"must be at most {max_len} characters"))
        return value

    def one_of(self, key: str, allowed: Sequence[str]) -> str:
        value = self.text(key, 64, required=True)
        if value and value not in allowed:
            self.violations.append(FieldViolation(f"payload.{key}", f"must be one of {', '.join(allowed)}"))
        return value

    def flag(self, key: str) -> bool:
        value = self.values.get(key)
        if not isinstance(value, bool):
            self.violations.append(FieldViolation(f"payload.{key}", "must be true or false"))
            return False
        return value

    def check(self) -> None:
        if self.violations:
            raise InvalidArgument.of(self.violations)


def scheduled_from(payload: Mapping[str, Any]) -> ScheduledHearing:
    """The hearing `hearing_scheduled` fixes; INVALID_ARGUMENT naming `payload.<key>` for a bad key."""
    p = _Payload(payload)
    hearing_id = p.text("hearing_id", 64, required=True)
    stage = p.one_of("stage", STAGES)
    held_on, day = date.min, p.text("held_on", 10, required=True)
    try:
        held_on = date.fromisoformat(day) if day else held_on
    except ValueError:
        p.violations.append(FieldViolation("payload.held_on", "a date, YYYY-MM-DD"))
    at = p.text("at", 5, required=True)
    if at and not _AT.fullmatch(at):
        p.violations.append(FieldViolation("payload.at", "a time of day, HH:MM"))
    hearing = ScheduledHearing(
        hearing_id=hearing_id,
        stage=stage,
        held_on=held_on,
        at=at,
        venue_en=p.text("venue_en", 300),
        venue_hi=p.text("venue_hi", 300),
        office_id=p.text("office_id", 64, required=True),
        office_name_en=p.text("office_name_en", 300),
        office_name_hi=p.text("office_name_hi", 300),
        hearing_officer_position_id=p.text("hearing_officer_position_id", 64, required=True),
        hearing_officer_title_en=p.text("hearing_officer_title_en", 300),
        hearing_officer_title_hi=p.text("hearing_officer_title_hi", 300),
        public_authority_position_id=p.text("public_authority_position_id", 64, required=True),
        public_authority_title_en=p.text("public_authority_title_en", 300),
        public_authority_title_hi=p.text("public_authority_title_hi", 300),
    )
    p.check()
    return hearing


def held_from(payload: Mapping[str, Any]) -> HeldHearing:
    """How the hearing went, from `hearing_held`; INVALID_ARGUMENT naming `payload.<key>` for a bad key."""
    p = _Payload(payload)
    held = HeldHearing(
        hearing_id=p.text("hearing_id", 64, required=True),
        outcome=p.one_of("outcome", OUTCOMES),
        complainant_present=p.flag("complainant_present"),
        public_authority_present=p.flag("public_authority_present"),
        represented_by=p.text("represented_by", 200),
    )
    p.check()
    return held


class HearingStore:
    """Queries over the hearings table. The caller owns the transaction; nothing here commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fix(self, case_row: GrievanceRow, hearing: ScheduledHearing, now: datetime) -> None:
        """Insert the hearing, or update its schedule when the case already has one of that id."""
        values = {
            "grievance_id": case_row.id,
            "registration_number": case_row.registration_number,
            "district_code": case_row.district_code,
            "hearing_id": hearing.hearing_id,
            "stage": hearing.stage,
            "held_on": hearing.held_on,
            "at": hearing.at,
            "venue_en": hearing.venue_en,
            "venue_hi": hearing.venue_hi,
            "office_id": hearing.office_id,
            "office_name_en": hearing.office_name_en,
            "office_name_hi": hearing.office_name_hi,
            "hearing_officer_position_id": hearing.hearing_officer_position_id,
            "hearing_officer_title_en": hearing.hearing_officer_title_en,
            "hearing_officer_title_hi": hearing.hearing_officer_title_hi,
            "public_authority_position_id": hearing.public_authority_position_id,
            "public_authority_title_en": hearing.public_authority_title_en,
            "public_authority_title_hi": hearing.public_authority_title_hi,
            "recorded_at": now,
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # One statement against the unique (grievance_id, hearing_id): a second delivery of the same hearing can
        # neither add a row nor fail the transition's transaction.
        stmt = insert(HearingRow).values(id=str(uuid.uuid4()), status=SCHEDULED, represented_by="", **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[HearingRow.grievance_id, HearingRow.hearing_id],
            set_={name: stmt.excluded[name] for name in _SCHEDULE_COLUMNS},
        )
        await self.session.execute(stmt)

    async def record_held(self, grievance_id: str, held: HeldHearing, now: datetime) -> bool:
        """Record the outcome and attendance; False when the case has no such hearing."""
        result = await self.session.execute(
            update(HearingRow)
            .where(HearingRow.grievance_id == grievance_id, HearingRow.hearing_id == held.hearing_id)
            .values(
                status=held.outcome,
                complainant_present=held.complainant_present,
                public_authority_present=held.public_authority_present,
                represented_by=held.represented_by,
                recorded_at=now,
            )
            .returning(HearingRow.id)
        )
        return result.first() is not None

    async def board(self, office_id: str, from_date: date) -> Sequence[HearingRow]:
        """B7: the office's hearings from `from_date` on, by day and time."""
        stmt = (
            select(HearingRow)
            .where(HearingRow.office_id == office_id, HearingRow.held_on >= from_date)
            .order_by(HearingRow.held_on, HearingRow.at, HearingRow.registration_number, HearingRow.hearing_id)
            .limit(BOARD_LIMIT)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def attendance(self, district_code: str, first: date, last: date) -> list[Attendance]:
        """M2: per public authority post, the hearings held in the district from `first` to `last` (inclusive)
        and those it missed."""
        absent = func.sum(case((HearingRow.public_authority_present == false(), 1), else_=0))
        stmt = (
            select(
                HearingRow.public_authority_position_id,
                func.max(HearingRow.public_authority_title_en),
                func.max(HearingRow.public_authority_title_hi),
                func.count(),
                absent,
            )
            .where(
                HearingRow.district_code == district_code,
                HearingRow.held_on >= first,
                HearingRow.held_on <= last,
                HearingRow.status.in_(OUTCOMES),
            )
            .group_by(HearingRow.public_authority_position_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [Attendance(p, en or "", hi or "", int(n), int(a or 0)) for p, en, hi, n, a in rows]


async def project(
    session: AsyncSession, case_row: GrievanceRow, event_type: str, payload: Mapping[str, Any], now: datetime
) -> None:
    """The hearings part of the case projection, in the caller's transaction (nothing for other events)."""
    if event_type == HEARING_SCHEDULED:
        await HearingStore(session).fix(case_row, scheduled_from(payload), now)
    elif event_type == HEARING_HELD:
        held = held_from(payload)
        if not await HearingStore(session).record_held(case_row.id, held, now):
            raise FailedPrecondition(
                f"case {case_row.registration_number} has no hearing {held.hearing_id}",
                [FieldViolation("payload.hearing_id", "no hearing of that id was scheduled on this case")],
            )


def _day(name: str, value: str, default: date, violations: list[FieldViolation]) -> date:
    if not value.strip():
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        violations.append(FieldViolation(name, "a date, YYYY-MM-DD / तिथि"))
        return default


class HearingService:
    """The reads of the hearings: an office's notice board (B7) and the DM's attendance report (M3, M2)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def notice_board(self, office_id: str, from_date: str, today: date) -> Sequence[HearingRow]:
        """B7: the hearings fixed before the office from `from_date` (default `today`) on."""
        violations: list[FieldViolation] = []
        office = office_id.strip()
        if not office:
            violations.append(FieldViolation("office_id", "is required / आवश्यक"))
        start = _day("from_date", from_date, today, violations)
        if violations:
            raise InvalidArgument.of(violations)
        async with self.sessions() as session:
            return await HearingStore(session).board(office, start)

    async def absences(
        self, district_code: str, from_date: str, to_date: str, *, dm_district: str, today: date
    ) -> AbsenceReport:
        """M2: attendance per public authority post over a period (default the REPORT_DAYS ending `today`), for
        the DM of the district only (`district_code` empty: the DM's own)."""
        district = district_code.strip().upper() or dm_district.upper()
        if not dm_district or district != dm_district.upper():
            raise PermissionDenied(f"only the DM of {district} sees its report / केवल उस जिले के जिलाधिकारी")
        violations: list[FieldViolation] = []
        last = _day("to_date", to_date, today, violations)
        first = _day("from_date", from_date, last - timedelta(days=REPORT_DAYS - 1), violations)
        if not violations and first > last:
            violations.append(FieldViolation("from_date", "is after to_date / आरंभ तिथि अंतिम तिथि के बाद है"))
        if violations:
            raise InvalidArgument.of(violations)
        async with self.sessions() as session:
            rows = await HearingStore(session).attendance(district, first, last)
        rows.sort(key=lambda r: (-r.absences, -r.hearings, r.position_id))
        return AbsenceReport(district, first, last, rows)
