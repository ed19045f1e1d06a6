"""Hearings under the Act (B7, M3, M2).

- The officer who hears the case now fixes a hearing and records it: acts on the case like every other
  (routes/acts.py: sla's ActOnCase, the caller from the token, the case in the caller's scope, an Idempotency-Key).
- An office's officers (or the DM of its district) fix its weekly hearing day (routing's SetHearingDay, which checks
  the posts); anyone reads an office's notice board (Form-4): its hearing day and hearings, with no personal data.
- The DM reads the public authorities' absences from hearings for the weekly report (M2; intake checks the
  district against the token's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import DM, OFFICER, Principal
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.exports import FILE_RESPONSES, ExportFormat, file_response
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.routes.acts import ACT_RESPONSES, IdempotencyKey, Officer, act_on_case, set_act
from nivaran_gateway.routes.grievances import RegistrationNumber
from nivaran_gateway.routes.reports_weekly import absences_table
from nivaran_gateway.schemas.acts import ActOut
from nivaran_gateway.schemas.hearings import (
    AbsencesView,
    AttendanceIn,
    HearingDayIn,
    HearingIn,
    HearingNoticeView,
    NoticeBoardView,
    OfficeView,
)

router = APIRouter(prefix="/v1", tags=["hearings"], route_class=JsonBodyRoute)

Anyone = Annotated[Principal | None, Depends(public("public_read"))]
AnyOfficer = Annotated[Principal, Depends(requires(OFFICER))]
DistrictMagistrate = Annotated[Principal, Depends(requires(DM))]
OfficeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
HearingId = Annotated[str, Path(min_length=2, max_length=16, pattern=r"^H[0-9]+$")]
IsoDate = Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]


@router.post(
    "/grievances/{registration_number}/hearings",
    response_model=ActOut,
    summary="Fix a hearing (B7, the officer who hears the case now)",
    description="The holder of the post the case is at while the complaint is pending, or of the appellate "
    "authority's while an appeal is: `held_on` (today or later, on the office's weekly hearing day), `at`, an "
    "optional `venue`, and at the complaint's own hearing the public authority's post. It goes on the office's "
    "notice board (Form-4); the complainant and the public authority are told. Another day, or a hearing still to "
    "be recorded: 409.",
    responses=ACT_RESPONSES,
)
async def schedule_hearing(
    registration_number: RegistrationNumber,
    body: HearingIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """B7."""
    fill = set_act("schedule_hearing", body.to_proto())
    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.post(
    "/grievances/{registration_number}/hearings/{hearing_id}/attendance",
    response_model=ActOut,
    summary="Record a hearing: attendance and proceedings (B7, M3)",
    description="On or after the hearing's day, by the officer who fixed it: `heard` or `adjourned`, whether the "
    "complainant and the public authority attended (an absence counts in the M2 weekly report), who represented "
    "the authority, and the proceedings. An appeal is decided only after a hearing of it is recorded `heard`.",
    responses=ACT_RESPONSES,
)
async def record_hearing(
    registration_number: RegistrationNumber,
    hearing_id: HearingId,
    body: AttendanceIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """B7 / M3."""
    fill = set_act("record_hearing", body.to_proto(hearing_id))
    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.put(
    "/offices/{office_id}/hearing-day",
    response_model=OfficeView,
    summary="Fix the office's weekly hearing day (B7, its officers or the DM)",
    description="Rule 6: each PGRO fixes at least one day a week for hearings and shows it on the notice board. An "
    "officer holding a post in the office, or the DM of its district, sets it; hearings fixed from now on fall on "
    "it (those already fixed keep their day).",
    responses=problem_responses(400, 401, 403, 404, 415, 422, 429, 500, 502, 503),
)
async def set_hearing_day(
    office_id: OfficeId, body: HearingDayIn, _principal: AnyOfficer, clients: Clients, settings: Settings
) -> OfficeView:
    """B7."""
    office = await clients.routing.SetHearingDay(body.to_proto(office_id), timeout=settings.grpc_timeout_seconds)
    return OfficeView.from_proto(office)


@router.get(
    "/offices/{office_id}/notice-board",
    response_model=NoticeBoardView,
    summary="An office's notice board: its hearing day and hearings (B7, Form-4), public",
    description="Rule 8: the hearings from `from_date` (default today) on, soonest first, with their stage, time, "
    "venue, hearing officer and public authority, and whether each was heard or adjourned. No complainant's name "
    "or grievance text; the registration number tells each complainant their entry.",
    responses=problem_responses(404, 422, 429, 500, 502, 503),
)
async def notice_board(
    office_id: OfficeId, _caller: Anyone, clients: Clients, settings: Settings, from_date: IsoDate = None
) -> NoticeBoardView:
    """Form-4."""
    office = await clients.routing.GetOffice(
        routing_pb2.GetOfficeRequest(office_id=office_id), timeout=settings.grpc_timeout_seconds
    )
    board = await clients.intake.ListNoticeBoard(
        intake_pb2.ListNoticeBoardRequest(office_id=office.id, from_date=from_date or ""),
        timeout=settings.grpc_timeout_seconds,
    )
    return NoticeBoardView(
        office=OfficeView.from_proto(office), hearings=[HearingNoticeView.from_proto(h) for h in board.hearings]
    )


@router.get(
    "/reports/hearing-absences",
    response_model=AbsencesView,
    summary="Public authorities absent from hearings, for the weekly report (M2, M3; the DM)",
    description="Of the DM's district, for the hearings held from `from_date` to `to_date` (inclusive; default the "
    "7 days ending today): per public authority, the hearings held and those it missed. `format=xlsx` or "
    "`format=csv` answers the same figures as a download (M2's weekly report).",
    responses={**problem_responses(401, 403, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def hearing_absences(
    principal: DistrictMagistrate,
    clients: Clients,
    settings: Settings,
    from_date: IsoDate = None,
    to_date: IsoDate = None,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> AbsencesView | Response:
    """M2 / M3."""
    answer = await clients.intake.ListHearingAbsences(
        intake_pb2.ListHearingAbsencesRequest(
            district_code=principal.district, from_date=from_date or "", to_date=to_date or ""
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    view = AbsencesView.from_proto(answer)
    return view if format is ExportFormat.JSON else file_response(absences_table(view), format)
