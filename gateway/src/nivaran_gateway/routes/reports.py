"""REST /v1/reports: the review reports (issue 12), each as JSON or as an Excel or CSV download (`format`).

Read by the same reviewers as the dashboard, within the same remit (review_scope.py): a DM their district, a
department's secretary their department, the OSD to the Chief Secretary and the Chief Secretary the state.

- `GET /v1/reports/pending-by-age`: open cases by age since filing (0-10, 10-20, 20-30, over 30 days), per office
  (`by=office`) or per officer's post (`by=officer`), with how many are past their deadline; `track=sahyog_camp`
  keeps camp cases apart (S3).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.exports import FILE_RESPONSES, Column, ExportFormat, Table, file_response
from nivaran_gateway.problems import problem_responses
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


def pending_table(view: PendingByAgeView) -> Table:
    columns = [Column("Office", "कार्यालय", 36)]
    if view.by is PendingGrouping.OFFICER:
        columns.append(Column("Officer (post)", "पदाधिकारी (पद)", 30))
    columns += AGE_COLUMNS
    rows: list[list[str | int | float | None]] = []
    for r in [*view.rows, view.totals]:
        names: list[str | int | float | None] = [f"{r.office_name.hi} / {r.office_name.en}"]
        if view.by is PendingGrouping.OFFICER:
            title = r.position_title
            names.append(f"{title.hi} / {title.en}" if title is not None else "")
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
