"""H4: a department's filings per category and month, and how many went to its "Other" category (which should tend
to zero): where a policy causes complaints, and which categories the department should add.

The department is the one routing sent the case to at filing (`routed_department_code`, whose taxonomy the
category belongs to), as the dashboard's "Other" share counts it. Months are India's. One grouped query with a sum
per month reads `ix_grievances_category_trends` (migration 0018) alone; the names come from one case per category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nivaran_common.errors import InvalidArgument
from nivaran_common.timeutil import IST, as_utc
from nivaran_intake.tables import GrievanceRow

MAX_MONTHS = 24


@dataclass(frozen=True)
class CategoryTrend:
    category_code: str
    category_name_en: str
    category_name_hi: str
    is_other: bool
    monthly: list[int]

    @property
    def total(self) -> int:
        return sum(self.monthly)


@dataclass(frozen=True)
class CategoryTrends:
    months: list[str]
    categories: list[CategoryTrend]

    def monthly_total(self, *, other_only: bool = False) -> list[int]:
        rows = [c.monthly for c in self.categories if c.is_other or not other_only]
        return [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * len(self.months)


def month_starts(since: datetime, until: datetime) -> list[datetime]:
    """The starts of the months from `since`'s to the one before `until`'s, in India's time, and `until`'s month's."""
    first, end = since.astimezone(IST), until.astimezone(IST)
    if (first.day, first.hour, first.minute, first.second, first.microsecond) != (1, 0, 0, 0, 0):
        raise InvalidArgument.field("since", "must be the start of a month in India's time")
    if (end.day, end.hour, end.minute, end.second, end.microsecond) != (1, 0, 0, 0, 0):
        raise InvalidArgument.field("until", "must be the start of a month in India's time")
    starts = [first]
    while starts[-1] < end:
        current = starts[-1]
        following = (
            current.replace(year=current.year + 1, month=1)
            if current.month == 12
            else current.replace(month=current.month + 1)
        )
        starts.append(following)
        if len(starts) > MAX_MONTHS + 1:
            raise InvalidArgument.field("until", f"at most {MAX_MONTHS} months after since")
    if len(starts) < 2:
        raise InvalidArgument.field("until", "must be after since")
    return starts


async def category_trends(
    session: AsyncSession, *, department_code: str, district_code: str, since: datetime, until: datetime
) -> CategoryTrends:
    if not department_code:
        raise InvalidArgument.field("department_code", "is required")
    months = month_starts(since, until)
    starts = [as_utc(m) for m in months]  # compared in UTC, as the cases' instants are stored (SQLite compares text)
    filed = GrievanceRow.filed_at
    sums = [
        func.sum(case(((filed >= start) & (filed < end), 1), else_=0))
        for start, end in zip(starts, starts[1:], strict=False)
    ]
    keys = [GrievanceRow.category_code, GrievanceRow.category_is_other]
    where = [
        GrievanceRow.routed_department_code == department_code,
        filed >= starts[0],
        filed < starts[-1],
        *([GrievanceRow.district_code == district_code] if district_code else []),
    ]
    stmt = select(*keys, func.min(GrievanceRow.id), *sums).where(*where).group_by(*keys)
    grouped = (await session.execute(stmt)).all()
    names_stmt = select(GrievanceRow.id, GrievanceRow.category_name_en, GrievanceRow.category_name_hi).where(
        GrievanceRow.id.in_([r[2] for r in grouped])
    )
    found = (await session.execute(names_stmt)).all() if grouped else []
    names: dict[str, tuple[str, str]] = {str(r[0]): (r[1] or "", r[2] or "") for r in found}
    categories = [
        CategoryTrend(
            category_code=str(r[0]),
            category_name_en=names.get(str(r[2]), ("", ""))[0],
            category_name_hi=names.get(str(r[2]), ("", ""))[1],
            is_other=bool(r[1]),
            monthly=[int(v or 0) for v in tuple(r)[3:]],
        )
        for r in grouped
    ]
    categories.sort(key=lambda c: (-c.total, c.category_code))
    return CategoryTrends(months=[m.strftime("%Y-%m") for m in months[:-1]], categories=categories)
