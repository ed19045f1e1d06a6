"""REST /v1/reports: the review reports (issue 12), each as JSON or as an Excel or CSV download (`format`).

Read by the same reviewers as the dashboard, within the same remit (review_scope.py): a DM their district, a
department's secretary their department, the OSD to the Chief Secretary and the Chief Secretary the state.

- `GET /v1/reports/pending-by-age`: open cases by age since filing (0-10, 10-20, 20-30, over 30 days), per office
  (`by=office`) or per officer's post (`by=officer`), with how many are past their deadline; `track=sahyog_camp`
  keeps camp cases apart (S3).
- `GET /v1/reports/ranking?month=YYYY-MM`: M5, offices (or officers) ranked by a fair measure: cases ended within
  time less cases ended but not fixed, over cases ended (intake's GetRanking documents it).
- `GET /v1/reports/daily?date=YYYY-MM-DD`: S18, per department, a day's filings and endings and what is open now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran_common.timeutil import IST, to_timestamp
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.exports import FILE_RESPONSES, Cell, Column, ExportFormat, Table, bilingual, file_response
from nivaran_gateway.problems import VALIDATION, ProblemError, problem_responses
from nivaran_gateway.review_scope import Reviewer, review_remit
from nivaran_gateway.schemas.common import LocalizedText

router = APIRouter(prefix="/v1", tags=["reports"])


class PendingGrouping(StrEnum):
    OFFICE = "office"
    OFFICER = "officer"


GROUP_TO_PROTO = {
    PendingGrouping.OFFICE: intake_pb2.PENDING_GROUP_OFFICE,
    PendingGrouping.OFFICER: intake_pb2.PENDING_GROUP_POSITION,
}


class PendingAgeRowView(BaseModel):
    office_id: str
    office_name: LocalizedText
    position_id: str = ""
    position_title: LocalizedText | None = None
    days_0_10: int
    days_10_20: int
    days_20_30: int
    days_over_30: int
    total: int
    overdue: int


class PendingByAgeView(BaseModel):
    """Open cases by age since filing; rows with the most open cases first."""

    district_code: str
    department_code: str
    track: str
    by: PendingGrouping
    as_of: str
    rows: list[PendingAgeRowView]
    totals: PendingAgeRowView


def _row(r: intake_pb2.PendingAgeRow, by: PendingGrouping) -> PendingAgeRowView:
    return PendingAgeRowView(
        office_id=r.office_id,
        office_name=LocalizedText.from_proto(r.office_name),
        position_id=r.position_id,
        position_title=LocalizedText.from_proto(r.position_title) if by is PendingGrouping.OFFICER else None,
        days_0_10=r.days_0_10,
        days_10_20=r.days_10_20,
        days_20_30=r.days_20_30,
        days_over_30=r.days_over_30,
        total=r.total,
        overdue=r.overdue,
    )


def _totals(rows: list[PendingAgeRowView]) -> PendingAgeRowView:
    def total(name: str) -> int:
        return sum(getattr(r, name) for r in rows)

    return PendingAgeRowView(
        office_id="",
        office_name=LocalizedText(en="All", hi="कुल"),
        days_0_10=total("days_0_10"),
        days_10_20=total("days_10_20"),
        days_20_30=total("days_20_30"),
        days_over_30=total("days_over_30"),
        total=total("total"),
        overdue=total("overdue"),
    )


AGE_COLUMNS = [
    Column("0-10 days", "0-10 दिन", 10),
    Column("10-20 days", "10-20 दिन", 10),
    Column("20-30 days", "20-30 दिन", 10),
    Column("Over 30 days", "30 दिन से अधिक", 12),
    Column("Total pending", "कुल लंबित", 10),
    Column("Past deadline", "समय-सीमा पार", 10),
]


def holder_columns(by: PendingGrouping) -> list[Column]:
    """The office column, and the officer's when the report is per officer."""
    office = Column("Office", "कार्यालय", 36)
    return [office, Column("Officer (post)", "पदाधिकारी (पद)", 30)] if by is PendingGrouping.OFFICER else [office]


def holder_cells(by: PendingGrouping, office: LocalizedText, post: LocalizedText | None) -> list[Cell]:
    return [bilingual(office), bilingual(post)] if by is PendingGrouping.OFFICER else [bilingual(office)]


def pending_table(view: PendingByAgeView) -> Table:
    columns = [*holder_columns(view.by), *AGE_COLUMNS]
    rows: list[list[Cell]] = []
    for r in [*view.rows, view.totals]:
        names = holder_cells(view.by, r.office_name, r.position_title)
        rows.append([*names, r.days_0_10, r.days_10_20, r.days_20_30, r.days_over_30, r.total, r.overdue])
    scope = view.district_code or view.department_code or "state"
    return Table(
        name=f"pending-by-age-{scope}".lower(),
        title_en=f"Pending cases by age ({scope}{', ' + view.track if view.track else ''})",
        title_hi=f"आयु के अनुसार लंबित मामले ({scope}{', ' + view.track if view.track else ''})",
        columns=columns,
        rows=rows,
        as_of=datetime.fromisoformat(view.as_of),
    )


@router.get(
    "/reports/pending-by-age",
    response_model=PendingByAgeView,
    summary="Open cases by age since filing, per office or per officer",
    description="Buckets of 0-10, 10-20, 20-30 and over 30 days since filing (a bucket holds its lower bound), with "
    "how many are past their deadline; `track=sahyog_camp` counts camp cases apart (S3). `format=xlsx` or "
    "`format=csv` answers the same figures as a download.",
    responses={**problem_responses(401, 403, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def pending_by_age(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    track: Annotated[str | None, Query(max_length=32, description="S3: one track's cases (sahyog_camp)")] = None,
    by: PendingGrouping = PendingGrouping.OFFICE,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> PendingByAgeView | Response:
    """The report within the caller's remit."""
    district, department = await review_remit(principal, district_code, department_code, directory)
    answer = await clients.intake.GetPendingByAge(
        intake_pb2.GetPendingByAgeRequest(
            district_code=district, department_code=department, track=track or "", group_by=GROUP_TO_PROTO[by]
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    rows = [_row(r, by) for r in answer.rows]
    view = PendingByAgeView(
        district_code=district,
        department_code=department,
        track=track or "",
        by=by,
        as_of=answer.as_of.ToDatetime(tzinfo=UTC).isoformat(),
        rows=rows,
        totals=_totals(rows),
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(pending_table(view), format)


class RankingRowView(BaseModel):
    rank: int | None = Field(description="1 for the best; null when too few cases ended to rank fairly")
    office_id: str
    office_name: LocalizedText
    position_id: str = ""
    position_title: LocalizedText | None = None
    ended: int
    within_time: int
    not_fixed: int
    score: float | None = Field(description="(within_time - not_fixed) / ended, from -1 to 1")


class RankingView(BaseModel):
    """M5: offices or officers ranked by how they ended cases in a month."""

    district_code: str
    department_code: str
    month: str
    by: PendingGrouping
    min_ranked: int
    rows: list[RankingRowView]


class DailyRowView(BaseModel):
    department_code: str
    filed: int
    ended: int
    pending: int
    overdue: int


class DailyView(BaseModel):
    """S18: a day's filings and endings per department, and the cases open (and overdue) now."""

    district_code: str
    track: str
    date: str
    as_of: str
    rows: list[DailyRowView]


def month_interval(value: str) -> tuple[datetime, datetime]:
    """The month `YYYY-MM` as an interval of instants, in India's time."""
    try:
        start = datetime.strptime(value, "%Y-%m").replace(tzinfo=IST)
    except ValueError as exc:
        raise ProblemError.field(VALIDATION, "month", "must be YYYY-MM, e.g. 2026-11") from exc
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _day(value: date) -> tuple[datetime, datetime]:
    start = datetime(value.year, value.month, value.day, tzinfo=IST)
    return start, start + timedelta(days=1)


def ranking_table(view: RankingView) -> Table:
    columns = [Column("Rank", "क्रम", 6), *holder_columns(view.by)]
    columns += [
        Column("Ended", "निष्पादित", 10),
        Column("Within time", "समय-सीमा में", 10),
        Column("Closed - not fixed", "बंद - समाधान नहीं", 12),
        Column("Score", "अंक", 8),
    ]
    rows: list[list[Cell]] = []
    for r in view.rows:
        cells = [r.rank, *holder_cells(view.by, r.office_name, r.position_title)]
        rows.append([*cells, r.ended, r.within_time, r.not_fixed, None if r.score is None else round(r.score, 3)])
    scope = view.district_code or view.department_code or "state"
    return Table(
        name=f"ranking-{scope}-{view.month}".lower(),
        title_en=f"Ranking of {'officers' if view.by is PendingGrouping.OFFICER else 'offices'}, {view.month} (M5)",
        title_hi=f"{'पदाधिकारियों' if view.by is PendingGrouping.OFFICER else 'कार्यालयों'} की रैंकिंग, {view.month} (M5)",
        columns=columns,
        rows=rows,
        as_of=datetime.now(UTC),
    )


def daily_table(view: DailyView) -> Table:
    return Table(
        name=f"daily-{view.district_code or 'state'}-{view.date}".lower(),
        title_en=f"Daily report of {view.date} (S18)",
        title_hi=f"{view.date} का दैनिक प्रतिवेदन (S18)",
        columns=[
            Column("Department", "विभाग", 16),
            Column("Filed that day", "उस दिन दर्ज", 12),
            Column("Ended that day", "उस दिन निष्पादित", 12),
            Column("Pending now", "अभी लंबित", 12),
            Column("Past deadline now", "अभी समय-सीमा पार", 12),
        ],
        rows=[[r.department_code, r.filed, r.ended, r.pending, r.overdue] for r in view.rows],
        as_of=datetime.fromisoformat(view.as_of),
    )


@router.get(
    "/reports/ranking",
    response_model=RankingView,
    summary="M5: offices or officers ranked by how they ended cases in a month",
    description="score = (cases ended within time - cases ended but not fixed) / cases ended. Within time: no "
    "deadline of the case was missed (no S13 breach); not fixed: the case came back after it ended (reopened, or "
    "unresolved on the complainant's feedback, H3). Raw numbers do not rank: an office with fewer than "
    "`min_ranked` cases ended is listed after the ranked ones, unranked. `format=xlsx` or `format=csv` for a file.",
    responses={**problem_responses(401, 403, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def ranking(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, in India's time")],
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    by: PendingGrouping = PendingGrouping.OFFICE,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> RankingView | Response:
    """The ranking within the caller's remit."""
    district, department = await review_remit(principal, district_code, department_code, directory)
    since, until = month_interval(month)
    answer = await clients.intake.GetRanking(
        intake_pb2.GetRankingRequest(
            district_code=district,
            department_code=department,
            group_by=GROUP_TO_PROTO[by],
            since=to_timestamp(since),
            until=to_timestamp(until),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    view = RankingView(
        district_code=district,
        department_code=department,
        month=month,
        by=by,
        min_ranked=answer.min_ranked,
        rows=[
            RankingRowView(
                rank=r.rank or None,
                office_id=r.office_id,
                office_name=LocalizedText.from_proto(r.office_name),
                position_id=r.position_id,
                position_title=LocalizedText.from_proto(r.position_title) if by is PendingGrouping.OFFICER else None,
                ended=r.ended,
                within_time=r.within_time,
                not_fixed=r.not_fixed,
                score=r.score if r.ended else None,
            )
            for r in answer.rows
        ],
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(ranking_table(view), format)


@router.get(
    "/reports/daily",
    response_model=DailyView,
    summary="S18: the daily report of cases filed, ended, pending and overdue, per department",
    description="The cases filed and ended on `date` (India's day; default today), and those open and past their "
    "deadline now; `track=sahyog` for the Sahyog cell's cases. `format=xlsx` or `format=csv` for a file.",
    responses={**problem_responses(401, 403, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def daily(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    on: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD; default today in India")] = None,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    department_code: Annotated[str | None, Query(max_length=64, description="only this department's row")] = None,
    track: Annotated[str | None, Query(max_length=32)] = None,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> DailyView | Response:
    """The day's report within the caller's remit (a secretary names their department and gets its row)."""
    district, department = await review_remit(principal, district_code, department_code, directory)
    day = on or datetime.now(IST).date()
    since, until = _day(day)
    answer = await clients.intake.GetDailyReport(
        intake_pb2.GetDailyReportRequest(
            district_code=district, track=track or "", since=to_timestamp(since), until=to_timestamp(until)
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    rows = [
        DailyRowView(
            department_code=r.department_code, filed=r.filed, ended=r.ended, pending=r.pending, overdue=r.overdue
        )
        for r in answer.rows
        if not department or r.department_code == department
    ]
    view = DailyView(
        district_code=district,
        track=track or "",
        date=day.isoformat(),
        as_of=answer.as_of.ToDatetime(tzinfo=UTC).isoformat(),
        rows=rows,
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(daily_table(view), format)
