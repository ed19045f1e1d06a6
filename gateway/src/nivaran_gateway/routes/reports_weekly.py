"""REST /v1/reports, the weekly ones (issue 12), each as JSON or as an Excel or CSV download (`format`), read by the
reviewers of the dashboard within the same remit (review_scope.py):

- `GET /v1/reports/weekly?week=YYYY-Www` (or `from_date` and `to_date`): M1, the DM's weekly report: per office,
  the cases received and ended in the week, the show-cause notices issued and answered and the deadlines missed in
  it, and the cases open (and overdue) now.
- `GET /v1/reports/long-pending`: M2, the open cases pending over 60 working days (the state's holiday calendar, sla
  working_days.py), per office, and the oldest of them. M2's other half, the public authorities absent from
  hearings, is `GET /v1/reports/hearing-absences` (routes/hearings.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
from nivaran_gateway.schemas.hearings import AbsencesView
from nivaran_gateway.working_days import filed_before_cutoff

router = APIRouter(prefix="/v1", tags=["reports"])

IsoWeek = Annotated[
    str | None, Query(max_length=8, description="an ISO week, YYYY-Www (e.g. 2026-W48), Monday to Sunday in India")
]
IsoDay = Annotated[date | None, Query(description="YYYY-MM-DD, India's day")]


class WeeklyRowView(BaseModel):
    office_id: str
    office_name: LocalizedText
    received: int
    disposed: int
    pending: int = Field(description="open now")
    overdue: int = Field(description="open now and past their deadline")
    show_causes_issued: int
    show_causes_answered: int
    breaches: int = Field(description="deadlines missed in the period (S13)")


class WeeklyView(BaseModel):
    """M1: the DM's weekly report, per office; the most open cases first, and the totals."""

    district_code: str
    department_code: str
    track: str
    week: str = Field(description="YYYY-Www when asked by week, else empty")
    from_date: date
    to_date: date
    as_of: str
    rows: list[WeeklyRowView]
    totals: WeeklyRowView


WEEKLY_FIGURES = (
    "received",
    "disposed",
    "pending",
    "overdue",
    "show_causes_issued",
    "show_causes_answered",
    "breaches",
)


def last_week(today: date) -> str:
    """The ISO week before the one `today` falls in: the last whole week."""
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def week_days(week: str | None, from_date: date | None, to_date: date | None, today: date) -> tuple[str, date, date]:
    """The period asked for: an ISO week (default the last whole one), or from_date to to_date inclusive."""
    if from_date is not None or to_date is not None:
        if week:
            raise ProblemError.field(VALIDATION, "week", "give week, or from_date and to_date, not both")
        if from_date is None or to_date is None:
            missing = "from_date" if from_date is None else "to_date"
            raise ProblemError.field(VALIDATION, missing, "from_date and to_date go together")
        if to_date < from_date:
            raise ProblemError.field(VALIDATION, "to_date", "must not be before from_date")
        if (to_date - from_date).days > 30:
            raise ProblemError.field(VALIDATION, "to_date", "at most 31 days from from_date")
        return "", from_date, to_date
    week = week or last_week(today)
    try:
        year, number = week.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError as exc:
        raise ProblemError.field(VALIDATION, "week", "must be YYYY-Www, e.g. 2026-W48") from exc
    return week, monday, monday + timedelta(days=6)


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=IST)


def weekly_table(view: WeeklyView) -> Table:
    scope = view.district_code or view.department_code or "state"
    period = view.week or f"{view.from_date.isoformat()} - {view.to_date.isoformat()}"
    rows: list[list[Cell]] = [
        [bilingual(r.office_name), *(getattr(r, name) for name in WEEKLY_FIGURES)] for r in [*view.rows, view.totals]
    ]
    return Table(
        name=f"weekly-{scope}-{view.week or view.from_date.isoformat()}".lower(),
        title_en=f"Weekly report, {period} ({scope}, M1)",
        title_hi=f"साप्ताहिक प्रतिवेदन, {period} ({scope}, M1)",
        columns=[
            Column("Office", "कार्यालय", 36),
            Column("Received", "प्राप्त", 10),
            Column("Disposed", "निष्पादित", 10),
            Column("Pending now", "अभी लंबित", 10),
            Column("Past deadline now", "अभी समय-सीमा पार", 12),
            Column("Show-causes issued", "कारण पृच्छा जारी", 12),
            Column("Show-causes answered", "कारण पृच्छा के उत्तर", 12),
            Column("Deadlines missed", "समय-सीमा उल्लंघन", 12),
        ],
        rows=rows,
        as_of=datetime.fromisoformat(view.as_of),
    )


@router.get(
    "/reports/weekly",
    response_model=WeeklyView,
    summary="M1: the DM's weekly report, per office",
    description="Per office holding cases of the district (or department): the cases received and ended (disposed, "
    "rejected or closed) in the week, the show-cause notices issued and answered in it (S9, S11), the deadlines "
    "missed in it (S13), and the cases open and past their deadline now. `week` is an ISO week (default the last "
    "whole week), or `from_date` and `to_date` (at most 31 days). `format=xlsx` or `format=csv` for a file.",
    responses={**problem_responses(401, 403, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def weekly(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    week: IsoWeek = None,
    from_date: IsoDay = None,
    to_date: IsoDay = None,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    track: Annotated[str | None, Query(max_length=32, description="S3: one track's cases (sahyog_camp)")] = None,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> WeeklyView | Response:
    """The week's report within the caller's remit."""
    week_name, first, last = week_days(week, from_date, to_date, datetime.now(IST).date())
    district, department = await review_remit(principal, district_code, department_code, directory)
    answer = await clients.intake.GetWeeklyReport(
        intake_pb2.GetWeeklyReportRequest(
            district_code=district,
            department_code=department,
            track=track or "",
            since=to_timestamp(_instant(first)),
            until=to_timestamp(_instant(last + timedelta(days=1))),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    rows = [
        WeeklyRowView(
            office_id=r.office_id,
            office_name=LocalizedText.from_proto(r.office_name),
            **{figure: getattr(r, figure) for figure in WEEKLY_FIGURES},
        )
        for r in answer.rows
    ]
    totals = WeeklyRowView(
        office_id="",
        office_name=LocalizedText(en="All", hi="कुल"),
        **{figure: sum(getattr(r, figure) for r in rows) for figure in WEEKLY_FIGURES},
    )
    view = WeeklyView(
        district_code=district,
        department_code=department,
        track=track or "",
        week=week_name,
        from_date=first,
        to_date=last,
        as_of=answer.as_of.ToDatetime(tzinfo=UTC).isoformat(),
        rows=rows,
        totals=totals,
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(weekly_table(view), format)


class LongPendingOfficeView(BaseModel):
    office_id: str
    office_name: LocalizedText
    cases: int


class LongPendingCaseView(BaseModel):
    """A case in the list: its number, where it is and since when; no complainant's name, phone or address."""

    registration_number: str
    office_id: str
    office_name: LocalizedText
    position_title: LocalizedText
    department_code: str
    category_name: LocalizedText
    status: str
    track: str
    filed_at: str


class LongPendingView(BaseModel):
    """M2: the open cases pending over `working_days` working days, per office (most first), and the oldest."""

    district_code: str
    department_code: str
    track: str
    working_days: int
    filed_before: date = Field(description="cases filed before this day (India's) are pending over working_days")
    as_of: str
    total: int
    offices: list[LongPendingOfficeView]
    cases: list[LongPendingCaseView] = Field(description="the oldest first, at most `limit`")


def _status(value: intake_pb2.Status.ValueType) -> str:
    return intake_pb2.Status.Name(value).removeprefix("STATUS_").lower()


def long_pending_table(view: LongPendingView) -> Table:
    scope = view.district_code or view.department_code or "state"
    rows: list[list[Cell]] = [
        [
            c.registration_number,
            bilingual(c.office_name),
            bilingual(c.position_title),
            c.department_code,
            bilingual(c.category_name),
            c.status,
            datetime.fromisoformat(c.filed_at).astimezone(IST).date().isoformat(),
        ]
        for c in view.cases
    ]
    return Table(
        name=f"long-pending-{scope}".lower(),
        title_en=f"Cases pending over {view.working_days} working days ({scope}; {view.total} in all, M2)",
        title_hi=f"{view.working_days} कार्य दिवस से अधिक लंबित परिवाद ({scope}; कुल {view.total}, M2)",
        columns=[
            Column("Registration number", "निबंधन संख्या", 24),
            Column("Office", "कार्यालय", 36),
            Column("Officer (post)", "पदाधिकारी (पद)", 30),
            Column("Department", "विभाग", 12),
            Column("Category", "श्रेणी", 24),
            Column("Status", "स्थिति", 12),
            Column("Filed on", "दर्ज होने की तिथि", 12),
        ],
        rows=rows,
        as_of=datetime.fromisoformat(view.as_of),
    )


@router.get(
    "/reports/long-pending",
    response_model=LongPendingView,
    summary="M2: cases pending over 60 working days, per office, and the oldest of them",
    description="Working days are counted on the state's holiday calendar (sla's, the one the clocks use): a case "
    "counts once the `working_days`-th working day after its filing day has ended. Per office holding the cases, "
    "and the oldest `limit` cases. `format=xlsx` or `format=csv` writes the list of cases.",
    responses={**problem_responses(401, 403, 409, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def long_pending(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    working_days: Annotated[int, Query(ge=1, le=120, description="M2: 60")] = 60,
    limit: Annotated[int, Query(ge=1, le=1000, description="how many of the oldest cases to list")] = 200,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    track: Annotated[str | None, Query(max_length=32)] = None,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> LongPendingView | Response:
    """The long-pending cases within the caller's remit."""
    district, department = await review_remit(principal, district_code, department_code, directory)
    timeout = settings.grpc_timeout_seconds
    cutoff = await filed_before_cutoff(clients.sla, datetime.now(IST).date(), working_days, timeout)
    answer = await clients.intake.GetLongPending(
        intake_pb2.GetLongPendingRequest(
            district_code=district,
            department_code=department,
            track=track or "",
            filed_before=to_timestamp(_instant(cutoff)),
            case_limit=limit,
        ),
        timeout=timeout,
    )
    view = LongPendingView(
        district_code=district,
        department_code=department,
        track=track or "",
        working_days=working_days,
        filed_before=cutoff,
        as_of=answer.as_of.ToDatetime(tzinfo=UTC).isoformat(),
        total=answer.total,
        offices=[
            LongPendingOfficeView(
                office_id=o.office_id, office_name=LocalizedText.from_proto(o.office_name), cases=o.cases
            )
            for o in answer.offices
        ],
        cases=[
            LongPendingCaseView(
                registration_number=c.registration_number,
                office_id=c.office_id,
                office_name=LocalizedText.from_proto(c.office_name),
                position_title=LocalizedText.from_proto(c.position_title),
                department_code=c.department_code,
                category_name=LocalizedText.from_proto(c.category_name),
                status=_status(c.status),
                track=c.track,
                filed_at=c.filed_at.ToDatetime(tzinfo=UTC).isoformat(),
            )
            for c in answer.cases
        ],
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(long_pending_table(view), format)


def absences_table(view: AbsencesView) -> Table:
    """M2's other half: the public authorities absent from hearings (GET /v1/reports/hearing-absences)."""
    period = f"{view.from_date.isoformat()} - {view.to_date.isoformat()}"
    rows: list[list[Cell]] = [[bilingual(a.title), a.hearings, a.absences] for a in view.authorities]
    rows.append(["कुल / All", view.total_hearings, view.total_absences])
    return Table(
        name=f"hearing-absences-{view.district_code}-{view.from_date.isoformat()}".lower(),
        title_en=f"Public authorities absent from hearings, {period} ({view.district_code}, M2)",
        title_hi=f"सुनवाई में अनुपस्थित लोक प्राधिकार, {period} ({view.district_code}, M2)",
        columns=[
            Column("Public authority (post)", "लोक प्राधिकार (पद)", 36),
            Column("Hearings", "सुनवाइयाँ", 10),
            Column("Absences", "अनुपस्थिति", 10),
        ],
        rows=rows,
        as_of=datetime.now(UTC),
    )
