"""REST /v1/grievances: file a grievance (B1, B4, B5) and track it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

import grpc
from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import CITIZEN, OFFICER, POWER_READ_DISTRICT, Principal
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_common.logging import get_logger
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.clients import ServiceClients
from nivaran_gateway.deps import Clients, Directory, Idempotency, IdempotencyKey, Settings
from nivaran_gateway.etags import NOT_MODIFIED, conditional
from nivaran_gateway.idempotency import REPLAYED_HEADER, Claim, StoredResponse, fingerprint
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import BAD_REQUEST, ProblemError, problem_responses
from nivaran_gateway.redaction import citizen_notices, redact_actor
from nivaran_gateway.schemas.grievances import (
    FiledGrievance,
    GrievanceFiling,
    GrievanceList,
    GrievanceOrder,
    GrievanceSummary,
    GrievanceView,
    ReadWarning,
    Status,
)

log = get_logger(__name__)

router = APIRouter(prefix="/v1/grievances", tags=["grievances"], route_class=JsonBodyRoute)

# [0-9] rather than \d: Python's \d also matches Devanagari and other non-ASCII digits.
REGISTRATION_NUMBER = re.compile(r"[A-Z]{2}-[A-Z0-9]{2,6}-[0-9]{4}-[0-9]{7}-[0-9]")


# B1: anyone may file, with or without an account; a token, when sent, names the citizen or the filing officer.
Filer = Annotated[Principal | None, Depends(public("filing"))]
# Reads are scoped by the token (jurisdiction.py); other callers get 403.
Reader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, CALL_CENTRE_ROLE, powers=(POWER_READ_DISTRICT,)))]

RegistrationNumber = Annotated[
    str,
    Path(
        description="The registration number (B4), e.g. BR-PAT-2026-0000001-7",
        examples=["BR-PAT-2026-0000001-7"],
        json_schema_extra={"pattern": f"^{REGISTRATION_NUMBER.pattern}$"},
    ),
]


def _location(settings_base_url: str, registration_number: str) -> str:
    # Percent-encoded: a header carries only Latin-1, whatever a number a backend answers with holds.
    return f"{settings_base_url.rstrip('/')}/v1/grievances/{quote(registration_number, safe='')}"


def check_registration_number(registration_number: str) -> None:
    """400 naming `registration_number` unless it looks like BR-PAT-2026-0000001-7."""
    if not REGISTRATION_NUMBER.fullmatch(registration_number):
        raise ProblemError.field(BAD_REQUEST, "registration_number", "must look like BR-PAT-2026-0000001-7")


def _account_key(principal: Principal | None, key: str) -> str:
    # Keys are per account: two accounts that happen to send the same key must not see each other's filing.
    if principal is None:
        return key
    digest = hashlib.sha256(f"{principal.account_id}\n{key}".encode()).hexdigest()[:48]
    return f"acct-{digest}"


def _filing_request(filing: GrievanceFiling, key: str, principal: Principal | None) -> intake_pb2.FileGrievanceRequest:
    request = filing.to_proto(key)
    if principal is None:
        return request
    if principal.is_citizen:
        # The body cannot name an account (its schema has no such member); only the token can.
        request.complainant.account_id = principal.account_id
    else:
        # S2: an officer (or the grievance cell) files on the citizen's behalf.
        request.filed_by.CopyFrom(principal.actor())
    return request


@router.post(
    "",
    status_code=201,
    response_model=FiledGrievance,
    summary="File a grievance",
    responses={
        200: {"model": FiledGrievance, "description": "A retry of an earlier filing: the first case, unchanged"},
        **problem_responses(400, 401, 409, 413, 415, 422, 429, 500, 502, 503),
    },
)
async def file_grievance(
    filing: GrievanceFiling,
    principal: Filer,
    clients: Clients,
    settings: Settings,
    store: Idempotency,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Register a grievance; 201 with its registration number, or 200 when intake recognises a retry."""
    claim: Claim | None = None
    if idempotency_key is not None:
        idempotency_key = _account_key(principal, idempotency_key)
        claim = await store.begin(idempotency_key, fingerprint(filing.model_dump(mode="json")))
        if claim.replay is not None:
            stored = claim.replay
            return JSONResponse(
                stored.body, status_code=stored.status_code, headers={**stored.headers, REPLAYED_HEADER: "true"}
            )
    # Without a client key the gateway still sends one of its own, so a retried RPC cannot file twice.
    key = idempotency_key or f"gw-{uuid.uuid4().hex}"
    try:
        answer = await clients.intake.FileGrievance(
            _filing_request(filing, key, principal), timeout=settings.grpc_timeout_seconds
        )
    except BaseException:
        if claim is not None:
            await store.abandon(claim)
        raise
    view = FiledGrievance.from_proto(answer.grievance)
    body = view.model_dump(mode="json")
    status_code = 201 if answer.created else 200
    headers = {"Location": _location(settings.public_base_url, view.registration_number)}
    if claim is not None:
        await store.complete(claim, StoredResponse(status_code, body, headers))
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _notices(
    clients: ServiceClients, grievance_id: str, timeout: float
) -> tuple[list[notify_pb2.Notice] | None, list[ReadWarning]]:
    try:
        answer = await clients.notify.ListNotices(
            notify_pb2.ListNoticesRequest(grievance_id=grievance_id), timeout=timeout
        )
    except grpc.RpcError as exc:
        code = exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else "UNKNOWN"
        log.warning("notices unavailable for a read", grievance_id=grievance_id, grpc_code=code)
        return None, [
            ReadWarning(
                field="notices",
                detail="notices could not be loaded right now; the rest of the case is current",
                detail_hi="सूचनाएँ अभी लोड नहीं हो सकीं; मामले की शेष जानकारी अद्यतन है",
            )
        ]
    return list(answer.notices), []


@router.get(
    "",
    response_model=GrievanceList,
    summary="List the cases the caller may see",
    description="A citizen sees their own cases (by account, or by the phone verified at sign-in); an officer the "
    "cases of their posts and the posts below them; a DM their district. Filters only narrow that scope.",
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def list_grievances(
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    status: Annotated[list[Status] | None, Query(description="any of these statuses")] = None,
    category_code: Annotated[str | None, Query(max_length=64)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=200, description="words in the subject or description")] = None,
    dm_visible_only: Annotated[bool, Query(description="S10: only cases shown to the DM")] = False,
    watch_open_only: Annotated[bool, Query(description="M4: only disposed cases with an open watch item")] = False,
    track: Annotated[
        list[str] | None, Query(max_length=5, description="S3: only these tracks (sahyog_camp: the camp cases)")
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
    order: Annotated[
        GrievanceOrder | None,
        Query(
            description="`deadline`: nearest current deadline first, cases without one last (an officer's default); "
            "`newest`: filed most recently first (a citizen's default). A page_token belongs to its order."
        ),
    ] = None,
) -> GrievanceList:
    """One page of the caller's cases: an officer's work list nearest deadline first, a citizen's newest first."""
    scope = await grievance_scope(principal, directory)
    if scope.is_empty:
        return GrievanceList(grievances=[])
    request = intake_pb2.ListGrievancesRequest(
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        statuses=[s.to_proto() for s in status or []],
        category_code=category_code or "",
        department_code=department_code or "",
        district_code=district_code or "",
        query=q or "",
        dm_visible_only=dm_visible_only,
        watch_open_only=watch_open_only,
        tracks=track or [],
        order=(order or (GrievanceOrder.NEWEST if principal.is_citizen else GrievanceOrder.DEADLINE)).to_proto(),
    )
    answer = await clients.intake.ListGrievances(scope.restrict(request), timeout=settings.grpc_timeout_seconds)
    return GrievanceList(
        grievances=[GrievanceSummary.from_proto(g) for g in answer.grievances],
        next_page_token=answer.next_page_token or None,
    )


@router.get(
    "/{registration_number}",
    response_model=GrievanceView,
    summary="Track a grievance",
    description="Only a case in the caller's scope (see the list); any other answers 404, like an unknown one. "
    "The answer carries an `ETag`; sent back in `If-None-Match`, an unchanged case answers 304 without a body.",
    responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404, 422, 429, 500, 502, 503)},
)
async def get_grievance(
    registration_number: RegistrationNumber,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    if_none_match: Annotated[str | None, Header(max_length=1024, description="an ETag of an earlier read")] = None,
) -> Any:
    """A case with its timeline and notices; notices are null (with a warning) when notify cannot be reached."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    scope = await grievance_scope(principal, directory)
    grievance = await find_case(clients.intake, scope, registration_number, timeout)
    notices_task = asyncio.create_task(_notices(clients, grievance.id, settings.notices_timeout_seconds))
    try:
        timeline = await clients.intake.GetTimeline(
            intake_pb2.GetTimelineRequest(grievance_id=grievance.id), timeout=timeout
        )
    except BaseException:
        notices_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await notices_task
        raise
    notices, warnings = await notices_task
    events = list(timeline.events)
    for event in events:
        redact_actor(principal, event.actor)
    visible = None if notices is None else citizen_notices(principal, notices)
    view = GrievanceView.from_proto(grievance, events, visible, warnings)
    return conditional(view.model_dump(mode="json"), if_none_match)
