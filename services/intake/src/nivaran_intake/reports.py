"""Review reports read from the case projection (issue 12): the open cases of a district or department by age since
filing, per office or per officer's post, with how many are past their deadline.

Ages are calendar days since filing, in four buckets (0-10, 10-20, 20-30, over 30 days; a bucket holds its lower
bound). The counts come from a partial index of the open cases alone (`ix_grievances_open_by_age`, migration 0015);
bench/dashboard.py measures them at 1,000,000 cases stored."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import InvalidArgument
from nivaran_intake.projection import ENDED
from nivaran_intake.tables import OPEN_CASE, GrievanceRow

# The lower bound of each bucket after the first, in days since filing.
BUCKET_BOUNDS = (10, 20, 30)


# The office, post and department holding a case now: the assignment once made, else where routing sent it.
HOLDING_OFFICE = func.coalesce(GrievanceRow.office_id, GrievanceRow.routed_office_id)
HOLDING_POST = func.coalesce(GrievanceRow.position_id, GrievanceRow.routed_position_id)
HOLDING_DEPARTMENT = func.coalesce(GrievanceRow.department_code, GrievanceRow.routed_department_code)


class Holder(TypedDict):
    """Who holds a group of cases: an office, and a post in it when grouped by post (else empty)."""

    office_id: str
    office_name_en: str
    office_name_hi: str
    position_id: str
    position_title_en: str
    position_title_hi: str


def _scope(district_code: str, department_code: str) -> list[Any]:
    """The cases of a district and of a department (the one holding them now), each when named."""
    scope: list[Any] = []
    if district_code:
        scope.append(GrievanceRow.district_code == district_code)
    if department_code:
        scope.append(department_code == HOLDING_DEPARTMENT)
    return scope


class PendingGroup(StrEnum):
    OFFICE = "office"
    POSITION = "position"


@dataclass(frozen=True)
class PendingAgeRow:
    office_id: str
    office_name_en: str
    office_name_hi: str
    position_id: str
    position_title_en: str
    position_title_hi: str
    # Open cases per bucket: 0-10, 10-20, 20-30, over 30 days.
    buckets: tuple[int, int, int, int]
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.buckets)


@dataclass(frozen=True)
class PendingByAge:
    rows: list[PendingAgeRow]
    as_of: datetime


class ReportStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def pending_by_age(
        self, *, district_code: str, department_code: str, track: str, group: PendingGroup, now: datetime
    ) -> list[PendingAgeRow]:
        """One row per office (or post) holding open cases, most open cases first.

        Two queries: the counts, grouped by ids, read from `ix_grievances_open_by_age` alone (every column they touch
        is in that partial index of the open cases); then the names of the few offices and posts, from one case of
        each group by its primary key."""
        limits = [now - timedelta(days=days) for days in BUCKET_BOUNDS]
        filed = GrievanceRow.filed_at
        counts = [
            func.sum(case((filed > limits[0], 1), else_=0)),
            func.sum(case(((filed <= limits[0]) & (filed > limits[1]), 1), else_=0)),
            func.sum(case(((filed <= limits[1]) & (filed > limits[2]), 1), else_=0)),
            func.sum(case((filed <= limits[2], 1), else_=0)),
            func.sum(case((GrievanceRow.current_deadline < now, 1), else_=0)),
        ]
        # The partial index's own predicate, as literal SQL, so that the planner can use it in every plan.
        where = [OPEN_CASE, *_scope(district_code, department_code), *([GrievanceRow.track == track] if track else [])]
        rows = [
            PendingAgeRow(**holder, buckets=(n[0], n[1], n[2], n[3]), overdue=n[4])
            for holder, n in await self._by_holder(group, counts, where)
        ]
        return sorted(rows, key=lambda r: (-r.total, r.office_id, r.position_id))

    async def _by_holder(
        self, group: PendingGroup, counts: list[Any], where: list[Any], source: Any = None
    ) -> list[tuple[Holder, list[int]]]:
        """`counts` per office (or post) holding the cases `where` selects: each group's office and post, with their
        names read from one case of the group by its primary key (the counts' query needs no column outside the
        indexes it reads). `source`: a join of the cases with another table (their timeline events), when given."""
        keys = [HOLDING_OFFICE, HOLDING_POST] if group is PendingGroup.POSITION else [HOLDING_OFFICE]
        stmt = select(*keys, func.min(GrievanceRow.id), *counts)
        if source is not None:
            stmt = stmt.select_from(source)
        stmt = stmt.where(*where).group_by(*keys)
        grouped = (await self.session.execute(stmt)).all()
        names = await self._names([str(r[len(keys)]) for r in grouped])
        by_post = group is PendingGroup.POSITION
        result = []
        for r in grouped:
            office_en, office_hi, title_en, title_hi = names.get(str(r[len(keys)]), ("", "", "", ""))
            holder: Holder = {
                "office_id": str(r[0] or ""),
                "office_name_en": office_en,
                "office_name_hi": office_hi,
                "position_id": str(r[1] or "") if by_post else "",
                "position_title_en": title_en if by_post else "",
                "position_title_hi": title_hi if by_post else "",
            }
            result.append((holder, [int(v or 0) for v in r[len(keys) + 1 :]]))
        return result

    async def _names(self, ids: list[str]) -> dict[str, tuple[str, ...]]:
        """Office name and post title (en, hi) as the given cases hold them."""
        if not ids:
            return {}
        stmt = select(
            GrievanceRow.id,
            func.coalesce(GrievanceRow.office_name_en, GrievanceRow.routed_office_name_en),
            func.coalesce(GrievanceRow.office_name_hi, GrievanceRow.routed_office_name_hi),
            func.coalesce(GrievanceRow.position_title_en, GrievanceRow.routed_position_title_en),
            func.coalesce(GrievanceRow.position_title_hi, GrievanceRow.routed_position_title_hi),
        ).where(GrievanceRow.id.in_(ids))
        return {row[0]: tuple(str(v or "") for v in row[1:]) for row in (await self.session.execute(stmt)).all()}


class ReportService:
    """The review reports' use cases; each opens its own read transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def pending_by_age(
        self, *, district_code: str, department_code: str, track: str, group: str, now: datetime
    ) -> PendingByAge:
        grouping = _grouping(group)
        async with self.sessions() as session:
            rows = await ReportStore(session).pending_by_age(
                district_code=district_code, department_code=department_code, track=track, group=grouping, now=now
            )
        return PendingByAge(rows=rows, as_of=now)

    async def ranking(
        self, *, district_code: str, department_code: str, group: str, since: datetime, until: datetime
    ) -> list[RankingRow]:
        """M5: offices (or posts) ranked by how they ended cases in [since, until)."""
        if until <= since:
            raise InvalidArgument.field("until", "must be after since")
        async with self.sessions() as session:
            return await ReviewStore(session).ranking(
                district_code=district_code,
                department_code=department_code,
                group=_grouping(group),
                since=since,
                until=until,
            )

    async def daily(
        self, *, district_code: str, track: str, since: datetime, until: datetime, now: datetime
    ) -> list[DailyRow]:
        """S18: per department, the cases filed and ended in [since, until), and those open (and overdue) now."""
        if until <= since:
            raise InvalidArgument.field("until", "must be after since")
        async with self.sessions() as session:
            return await ReviewStore(session).daily(
                district_code=district_code, track=track, since=since, until=until, now=now
            )


# M5: an office (or post) with fewer cases ended in the period than this is listed but not ranked.
MIN_RANKED = 5


@dataclass(frozen=True)
class RankingRow:
    """M5: the cases an office (or post) ended in a period, and how well.

    `score` = (ended within time - ended but not fixed) / ended: a case ended with no missed deadline (no S13
    breach) counts for the office, a case that came back after it ended (reopened, or unresolved on the
    complainant's feedback, H3) counts against it, whatever the raw number of cases. From -1 to 1."""

    office_id: str
    office_name_en: str
    office_name_hi: str
    position_id: str
    position_title_en: str
    position_title_hi: str
    ended: int
    within_time: int
    not_fixed: int
    rank: int | None = None

    @property
    def score(self) -> float | None:
        return (self.within_time - self.not_fixed) / self.ended if self.ended else None


@dataclass(frozen=True)
class DailyRow:
    """S18: one department's day: cases filed and ended that day, and open (and overdue) now."""

    department_code: str
    filed: int
    ended: int
    pending: int
    overdue: int


class ReviewStore(ReportStore):
    """The M5 ranking and the S18 daily report."""

    async def ranking(
        self, *, district_code: str, department_code: str, group: PendingGroup, since: datetime, until: datetime
    ) -> list[RankingRow]:
        counts = [
            func.count(),
            func.sum(case((GrievanceRow.breaches == 0, 1), else_=0)),
            func.sum(case((GrievanceRow.returns > 0, 1), else_=0)),
        ]
        where = [
            GrievanceRow.disposed_at >= since,
            GrievanceRow.disposed_at < until,
            GrievanceRow.status.in_(ENDED),
            *_scope(district_code, department_code),
        ]
        rows = [
            RankingRow(**holder, ended=n[0], within_time=n[1], not_fixed=n[2])
            for holder, n in await self._by_holder(group, counts, where)
        ]
        return ranked(rows)

    async def daily(
        self, *, district_code: str, track: str, since: datetime, until: datetime, now: datetime
    ) -> list[DailyRow]:
        department = HOLDING_DEPARTMENT
        scoped = [*_scope(district_code, ""), *([GrievanceRow.track == track] if track else [])]
        filed = select(department, func.count()).where(
            GrievanceRow.filed_at >= since, GrievanceRow.filed_at < until, *scoped
        )
        ended = select(department, func.count()).where(
            GrievanceRow.disposed_at >= since, GrievanceRow.disposed_at < until, *scoped
        )
        pending = select(
            department, func.count(), func.sum(case((GrievanceRow.current_deadline < now, 1), else_=0))
        ).where(OPEN_CASE, *scoped)
        figures: dict[str, list[int]] = {}
        for index, stmt in enumerate((filed, ended)):
            for code, count in (await self.session.execute(stmt.group_by(department))).all():
                figures.setdefault(str(code), [0, 0, 0, 0])[index] = int(count)
        for code, count, overdue in (await self.session.execute(pending.group_by(department))).all():
            figures.setdefault(str(code), [0, 0, 0, 0])[2:] = [int(count), int(overdue or 0)]
        return [DailyRow(code, *values) for code, values in sorted(figures.items())]


def ranked(rows: list[RankingRow]) -> list[RankingRow]:
    """Best score first (ties: more cases ended first); those with fewer than MIN_RANKED ended come last, unranked."""
    eligible = sorted(
        (r for r in rows if r.ended >= MIN_RANKED), key=lambda r: (-(r.score or 0), -r.ended, r.office_id)
    )
    others = sorted((r for r in rows if r.ended < MIN_RANKED), key=lambda r: (-r.ended, r.office_id, r.position_id))
    return [replace(r, rank=i) for i, r in enumerate(eligible, start=1)] + others


def _grouping(group: str) -> PendingGroup:
    try:
        return PendingGroup(group)
    except ValueError as exc:
        raise InvalidArgument.field("group_by", "must be office or position") from exc
