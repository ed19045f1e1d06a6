"""The weekly review reports (issue 12) read from the case projection and its timeline.

- M1, the DM's weekly report: per office holding cases, those received and ended in a period, the show-cause
  notices issued and answered and the deadlines missed in it (the lifecycle's `show_cause_issued`,
  `show_cause_replied` and `breach_recorded` events), and the cases open (and overdue) now.
- M2, the cases pending over 60 working days: the open cases filed before an instant the caller works out from the
  holiday calendar (sla's ComputeDeadline; the gateway's working_days.py), per office, and the oldest of them.

Each figure reads an index: the filings by `ix_grievances_filed_at`, the endings by `ix_grievances_disposed_at`, the
open cases by `ix_grievances_open_by_age`, and the events by the partial index `ix_timeline_review_events`
(migration 0018) of those three event types alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from nivaran_common.errors import InvalidArgument
from nivaran_common.timeutil import as_utc
from nivaran_intake.category_trends import CategoryTrends, category_trends
from nivaran_intake.projection import BREACH_RECORDED, ENDED
from nivaran_intake.reports import Holder, PendingGroup, ReportService, ReportStore, _scope
from nivaran_intake.tables import OPEN_CASE, GrievanceRow, TimelineEventRow

SHOW_CAUSE_ISSUED = "show_cause_issued"
SHOW_CAUSE_REPLIED = "show_cause_replied"
REVIEW_EVENTS = (SHOW_CAUSE_ISSUED, SHOW_CAUSE_REPLIED, BREACH_RECORDED)
# M1: a weekly report, or a fortnight's, or a month's; not a year's in one call.
MAX_PERIOD = timedelta(days=31)
# M2: the oldest cases listed by default, and at most.
DEFAULT_CASES = 200
MAX_CASES = 1000

# The weekly figures, in WeeklyRow's order after the office.
FIGURES = ("received", "disposed", "pending", "overdue", "show_causes_issued", "show_causes_answered", "breaches")


@dataclass(frozen=True)
class WeeklyRow:
    """M1: one office's week."""

    office_id: str
    office_name_en: str
    office_name_hi: str
    received: int = 0
    disposed: int = 0
    pending: int = 0
    overdue: int = 0
    show_causes_issued: int = 0
    show_causes_answered: int = 0
    breaches: int = 0


@dataclass(frozen=True)
class LongPendingOffice:
    office_id: str
    office_name_en: str
    office_name_hi: str
    cases: int


@dataclass(frozen=True)
class LongPendingReport:
    """M2: the open cases filed before `filed_before`, per office, and the oldest of them."""

    offices: list[LongPendingOffice]
    cases: list[GrievanceRow]
    total: int


def check_period(since: datetime, until: datetime) -> None:
    if until <= since:
        raise InvalidArgument.field("until", "must be after since")
    if until - since > MAX_PERIOD:
        raise InvalidArgument.field("until", "at most 31 days after since")


def case_limit(value: int) -> int:
    if value < 0 or value > MAX_CASES:
        raise InvalidArgument.field("case_limit", f"from 0 to {MAX_CASES} (0: {DEFAULT_CASES})")
    return value or DEFAULT_CASES


class WeeklyStore(ReportStore):
    async def weekly(
        self, *, district_code: str, department_code: str, track: str, since: datetime, until: datetime, now: datetime
    ) -> list[WeeklyRow]:
        scoped = [*_scope(district_code, department_code), *([GrievanceRow.track == track] if track else [])]
        one = func.count()
        queries: list[tuple[list[Any], list[Any], Any]] = [
            ([one], [GrievanceRow.filed_at >= since, GrievanceRow.filed_at < until], None),
            (
                [one],
                [GrievanceRow.disposed_at >= since, GrievanceRow.disposed_at < until, GrievanceRow.status.in_(ENDED)],
                None,
            ),
            ([one, func.sum(case((GrievanceRow.current_deadline < now, 1), else_=0))], [OPEN_CASE], None),
            (
                [func.sum(case((TimelineEventRow.event_type == kind, 1), else_=0)) for kind in REVIEW_EVENTS],
                [
                    TimelineEventRow.event_type.in_(REVIEW_EVENTS),
                    TimelineEventRow.occurred_at >= since,
                    TimelineEventRow.occurred_at < until,
                ],
                TimelineEventRow.__table__.join(GrievanceRow, GrievanceRow.id == TimelineEventRow.grievance_id),
            ),
        ]
        holders: dict[str, Holder] = {}
        figures: dict[str, list[int]] = {}
        offset = 0
        for counts, where, source in queries:
            for holder, values in await self._by_holder(PendingGroup.OFFICE, counts, [*where, *scoped], source):
                office = holder["office_id"]
                if office not in holders or not holders[office]["office_name_en"]:
                    holders[office] = holder
                figures.setdefault(office, [0] * len(FIGURES))[offset : offset + len(values)] = values
            offset += len(counts)
        rows = [
            WeeklyRow(
                office_id=office,
                office_name_en=holders[office]["office_name_en"],
                office_name_hi=holders[office]["office_name_hi"],
                **dict(zip(FIGURES, values, strict=True)),
            )
            for office, values in figures.items()
        ]
        return sorted(rows, key=lambda r: (-r.pending, -r.received, r.office_id))

    async def long_pending(
        self, *, district_code: str, department_code: str, track: str, filed_before: datetime, limit: int
    ) -> LongPendingReport:
        where = [
            OPEN_CASE,
            GrievanceRow.filed_at < filed_before,
            *_scope(district_code, department_code),
            *([GrievanceRow.track == track] if track else []),
        ]
        offices = [
            LongPendingOffice(holder["office_id"], holder["office_name_en"], holder["office_name_hi"], n[0])
            for holder, n in await self._by_holder(PendingGroup.OFFICE, [func.count()], where)
        ]
        offices.sort(key=lambda o: (-o.cases, o.office_id))
        oldest = select(GrievanceRow).where(*where).order_by(GrievanceRow.filed_at, GrievanceRow.id).limit(limit)
        cases = list((await self.session.execute(oldest)).scalars().all())
        return LongPendingReport(offices=offices, cases=cases, total=sum(o.cases for o in offices))


class ReviewReports(ReportService):
    """ReportService with the weekly reports (M1, M2) and H4's category trends; each opens its own read
    transaction."""

    async def weekly(
        self, *, district_code: str, department_code: str, track: str, since: datetime, until: datetime, now: datetime
    ) -> list[WeeklyRow]:
        check_period(since, until)
        since, until = as_utc(since), as_utc(until)  # compared as stored (SQLite compares text)
        async with self.sessions() as session:
            return await WeeklyStore(session).weekly(
                district_code=district_code,
                department_code=department_code,
                track=track,
                since=since,
                until=until,
                now=now,
            )

    async def long_pending(
        self, *, district_code: str, department_code: str, track: str, filed_before: datetime | None, limit: int
    ) -> LongPendingReport:
        if filed_before is None:
            raise InvalidArgument.field("filed_before", "is required")
        cases = case_limit(limit)
        async with self.sessions() as session:
            return await WeeklyStore(session).long_pending(
                district_code=district_code,
                department_code=department_code,
                track=track,
                filed_before=as_utc(filed_before),
                limit=cases,
            )

    async def category_trends(
        self, *, department_code: str, district_code: str, since: datetime, until: datetime
    ) -> CategoryTrends:
        async with self.sessions() as session:
            return await category_trends(
                session, department_code=department_code, district_code=district_code, since=since, until=until
            )
