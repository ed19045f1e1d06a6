"""GET /open311/v2/servicerequestupdates: the servicerequestupdates extension (FixMyStreet's GET Service Request
Updates), each case's timeline as updates in public words (schemas/open311_updates.py).

The timeline is read from intake as GET /v1/grievances/{number} reads it, so with a Nivaran access token and within
its /v1 scope: intake offers no public read of cases. With `service_request_id`, the updates of that case (404 when it
is outside the scope); without, those of one page of the caller's cases (newest filed first; the
`X-Next-Page-Token` header offers the next page). `start_date` / `end_date` keep the updates within that time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran_gateway import open311
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import BAD_REQUEST, ProblemError
from nivaran_gateway.routes.grievances import REGISTRATION_NUMBER
from nivaran_gateway.routes.open311 import Fmt, JurisdictionId, Reader, aware, in_range
from nivaran_gateway.schemas.open311 import documents
from nivaran_gateway.schemas.open311_updates import updates_of

router = APIRouter(prefix="/open311/v2", tags=["open311"])


@router.get(
    "/servicerequestupdates.{fmt}",
    summary="Open311 service request updates (the servicerequestupdates extension)",
    description="The public updates of the caller's cases (their /v1 scope), from each case's timeline: what "
    "happened in English and Hindi, and whether the request is OPEN or CLOSED after it. No personal data.",
    responses={
        **open311.success_response(
            {"type": "array", "items": {"$ref": "#/components/schemas/Open311Update"}}, "The updates, oldest first"
        ),
        **open311.error_responses(400, 401, 403, 404, 422, 429, 500, 502, 503),
    },
)
async def service_request_updates(
    fmt: Fmt,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    service_request_id: Annotated[str | None, Query(max_length=32, description="one case's updates only")] = None,
    start_date: Annotated[datetime | None, Query(description="earliest updated_datetime (W3C)")] = None,
    end_date: Annotated[datetime | None, Query(description="latest updated_datetime (W3C)")] = None,
    page_size: Annotated[int, Query(ge=1, le=50, description="cases per page, without service_request_id")] = 20,
    page_token: Annotated[str | None, Query(max_length=512, description="from X-Next-Page-Token")] = None,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """The updates of one case, or of one page of the caller's cases."""
    start, end = aware("start_date", start_date), aware("end_date", end_date)
    if start is not None and end is not None and start > end:
        raise ProblemError.field(BAD_REQUEST, "end_date", "must not be before start_date")
    if service_request_id is not None and not REGISTRATION_NUMBER.fullmatch(service_request_id):
        raise ProblemError.field(BAD_REQUEST, "service_request_id", "must look like BR-PAT-2026-0000001-7")
    timeout = settings.grpc_timeout_seconds
    scope = await grievance_scope(principal, directory)
    headers: dict[str, str] | None = None
    if service_request_id is not None:
        cases = [await find_case(clients.intake, scope, service_request_id, timeout)]
    elif scope.is_empty:
        cases = []
    else:
        request = intake_pb2.ListGrievancesRequest(
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or "")
        )
        answer = await clients.intake.ListGrievances(scope.restrict(request), timeout=timeout)
        cases = list(answer.grievances)
        headers = {"X-Next-Page-Token": answer.next_page_token} if answer.next_page_token else None
    timelines = await asyncio.gather(
        *(clients.intake.GetTimeline(intake_pb2.GetTimelineRequest(grievance_id=c.id), timeout=timeout) for c in cases)
    )
    updates = [
        update
        for case, timeline in zip(cases, timelines, strict=True)
        for update in updates_of(case.registration_number, list(timeline.events))
        if (start is None and end is None) or in_range(update.updated_datetime, start, end)
    ]
    updates.sort(key=lambda u: (u.updated_datetime or "", u.update_id))
    return open311.render(fmt, "service_request_updates", "request_update", documents(list(updates)), headers=headers)
