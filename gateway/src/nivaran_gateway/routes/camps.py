"""Sahyog camps (S1, S3): the DM sets a camp for a panchayat of the district (intake's CreateCamp, which checks the
district against the token's); anyone lists the coming camps. A filing names its camp with `camp_id` on
`POST /v1/grievances`: the camp, never the citizen, chooses the sahyog_camp track (S3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran_common.auth import DM, Principal
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import FORBIDDEN, ProblemError, problem_responses
from nivaran_gateway.schemas.camps import CampIn, CampList, CampView

router = APIRouter(prefix="/v1", tags=["camps"], route_class=JsonBodyRoute)

DistrictMagistrate = Annotated[Principal, Depends(requires(DM))]
Anyone = Annotated[Principal | None, Depends(public("public_read"))]


@router.post(
    "/camps",
    response_model=CampView,
    status_code=201,
    summary="Set a Sahyog camp for a panchayat (S1, the DM)",
    description="For a panchayat of the DM's own district, on a day not in the past, at a venue (Hindi and "
    "English). One camp per panchayat and day (409 for a second). Applications are accepted from 30 days before it "
    "to the day after it.",
    responses=problem_responses(400, 401, 403, 409, 415, 422, 429, 500, 502, 503),
)
async def create_camp(body: CampIn, principal: DistrictMagistrate, clients: Clients, settings: Settings) -> CampView:
    """The DM's camp."""
    if not principal.district:
        raise ProblemError(FORBIDDEN, "a DM sets camps for their own district")
    camp = await clients.intake.CreateCamp(body.to_proto(principal.district), timeout=settings.grpc_timeout_seconds)
    return CampView.from_proto(camp)


@router.get(
    "/camps",
    response_model=CampList,
    summary="Coming Sahyog camps (S1), public",
    description="From `from_date` (default today) on, soonest first (by day, then panchayat); `district_code` and "
    "`panchayat_code` narrow. A page at a time: pass `next_page_token` back as `page_token` for the next page.",
    responses=problem_responses(400, 422, 429, 500, 502, 503),
)
async def list_camps(
    _caller: Anyone,
    clients: Clients,
    settings: Settings,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    panchayat_code: Annotated[str | None, Query(max_length=64)] = None,
    from_date: Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
) -> CampList:
    """The coming camps."""
    answer = await clients.intake.ListCamps(
        intake_pb2.ListCampsRequest(
            district_code=district_code or "",
            panchayat_code=panchayat_code or "",
            from_date=from_date or "",
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return CampList(
        camps=[CampView.from_proto(c) for c in answer.camps], next_page_token=answer.next_page_token or None
    )
