"""Review reports read from the case projection (issue 12): the open cases of a district or department by age since
filing, per office or per officer's post, with how many are past their deadline.

Ages are calendar days since filing, in four buckets (0-10, 10-20, 20-30, over 30 days; a bucket holds its lower
bound). One grouped query: on PostgreSQL it reads the open cases of the district through
`ix_grievances_district_status` (bench/dashboard.py measures it at 1,000,000 cases)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import InvalidArgument
from nivaran_intake.domain import CLOSED_STATUSES
from nivaran_intake.tables import GrievanceRow

# The lower bound of each bucket after the first, in days since filing.
BUCKET_BOUNDS = (10, 20, 30)


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
        """One row per office (or post) holding open cases, most open cases first."""
        # The office and post holding the case now: the assignment once made, else where routing sent it.
        office_id = func.coalesce(GrievanceRow.office_id, GrievanceRow.routed_office_id)
        office_en = func.coalesce(GrievanceRow.office_name_en, GrievanceRow.routed_office_name_en)
        office_hi = func.coalesce(GrievanceRow.office_name_hi, GrievanceRow.routed_office_name_hi)
        keys = [office_id, func.max(office_en), func.max(office_hi)]
        group_by = [office_id]
        if group is PendingGroup.POSITION:
            position_id = func.coalesce(GrievanceRow.position_id, GrievanceRow.routed_position_id)
            keys += [
                position_id,
                func.max(func.coalesce(GrievanceRow.position_title_en, GrievanceRow.routed_position_title_en)),
                func.max(func.coalesce(GrievanceRow.position_title_hi, GrievanceRow.routed_position_title_hi)),
            ]
            group_by.append(position_id)
        limits = [now - timedelta(days=days) for days in BUCKET_BOUNDS]
        buckets = [
            func.sum(case((GrievanceRow.filed_at > limits[0], 1), else_=0)),
            func.sum(case(((GrievanceRow.filed_at <= limits[0]) & (GrievanceRow.filed_at > limits[1]), 1), else_=0)),
            func.sum(case(((GrievanceRow.filed_at <= limits[1]) & (GrievanceRow.filed_at > limits[2]), 1), else_=0)),
            func.sum(case((GrievanceRow.filed_at <= limits[2], 1), else_=0)),
        ]
        overdue = func.sum(case((GrievanceRow.current_deadline < now, 1), else_=0))
        stmt = (
            select(*keys, *buckets, overdue)
            .where(GrievanceRow.status.not_in([s.value for s in CLOSED_STATUSES]))
            .group_by(*group_by)
            .order_by(func.count().desc(), office_id)
        )
        if district_code:
            stmt = stmt.where(GrievanceRow.district_code == district_code)
        if department_code:
            stmt = stmt.where(
                func.coalesce(GrievanceRow.department_code, GrievanceRow.routed_department_code) == department_code
            )
        if track:
            stmt = stmt.where(GrievanceRow.track == track)
        rows = (await self.session.execute(stmt)).all()
        return [_row(r, group) for r in rows]


def _row(values: Sequence[object], group: PendingGroup) -> PendingAgeRow:
    office = [str(v or "") for v in values[:3]]
    position = [str(v or "") for v in values[3:6]] if group is PendingGroup.POSITION else ["", "", ""]
    counts = [int(v or 0) for v in values[-5:]]  # type: ignore[call-overload]
    return PendingAgeRow(
        office_id=office[0],
        office_name_en=office[1],
        office_name_hi=office[2],
        position_id=position[0],
        position_title_en=position[1],
        position_title_hi=position[2],
        buckets=(counts[0], counts[1], counts[2], counts[3]),
        overdue=counts[4],
    )


class ReportService:
    """The review reports' use cases; each opens its own read transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def pending_by_age(
        self, *, district_code: str, department_code: str, track: str, group: str, now: datetime
    ) -> PendingByAge:
        try:
            grouping = PendingGroup(group)
        except ValueError as exc:
            raise InvalidArgument.field("group_by", "must be office or position") from exc
        async with self.sessions() as session:
            rows = await ReportStore(session).pending_by_age(
                district_code=district_code, department_code=department_code, track=track, group=grouping, now=now
            )
        return PendingByAge(rows=rows, as_of=now)
