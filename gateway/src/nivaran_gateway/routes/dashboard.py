"""The review figures of a district or a department (intake's GetDashboard): total, pending, disposed, overdue, and
"closed — not fixed" (cases that came back after they ended: reopened, or unresolved on feedback, H3), which is
kept out of the resolution figure. The full dashboards and reports are issue 12's; this is their first figure set.

A DM reads their own district; a department's secretary their department; the OSD to the Chief Secretary and the
Chief Secretary any district or department, or the state.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.review_scope import Reviewer, review_remit

router = APIRouter(prefix="/v1", tags=["dashboard"])


class DashboardView(BaseModel):
    """Counts for a review meeting."""

    district_code: str
    department_code: str
    track: str = ""
    total: int
    pending: int
    disposed: int
    closed_not_fixed: int
    overdue: int


@router.get(
    "/dashboard",
    response_model=DashboardView,
    summary="The review figures of a district or department",
    description="`disposed` counts the cases that ended and stayed ended; `closed_not_fixed` those that came back "
    "after they ended (reopened by the complainant, or unresolved on feedback, H3), wherever they stand now if "
    "they have ended again. `pending` includes reopened and unresolved cases.",
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def dashboard(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    track: Annotated[str | None, Query(max_length=32, description="S3: one track's figures (sahyog_camp)")] = None,
) -> DashboardView:
    """The figures within the caller's remit."""
    district, department = await review_remit(principal, district_code, department_code, directory)
    board = await clients.intake.GetDashboard(
        intake_pb2.GetDashboardRequest(district_code=district, department_code=department, track=track or ""),
        timeout=settings.grpc_timeout_seconds,
    )
    return DashboardView(
        district_code=district,
        department_code=department,
        track=track or "",
        total=board.total,
        pending=board.pending,
        disposed=board.disposed,
        closed_not_fixed=board.closed_not_fixed,
        overdue=board.overdue,
    )
