"""Open311 GeoReport v2 at /open311/v2: discovery, services and service requests, in JSON and XML.

The same services answer as for /v1: routing's categories are the services, intake's cases the service requests.
Intake has no public read of cases, so service requests are read with a Nivaran access token and show the cases that
token may see in /v1 (jurisdiction.py); what each shows is only what the public may see (schemas/open311.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.responses import Response

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import CITIZEN, OFFICER, POWER_READ_DISTRICT, Principal
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_gateway import open311
from nivaran_gateway.access import public, requires
from nivaran_gateway.clients import ServiceClients
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.etags import NOT_MODIFIED, conditional
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import BAD_REQUEST, NOT_FOUND, ProblemError
from nivaran_gateway.routes.grievances import REGISTRATION_NUMBER, check_registration_number
from nivaran_gateway.schemas.open311 import (
    Format,
    Open311Attribute,
    Open311Discovery,
    Open311Endpoint,
    Open311Request,
    Open311Service,
    Open311ServiceDefinition,
    RequestStatus,
    documents,
)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

Anyone = Annotated[Principal | None, Depends(public("public_read"))]
# As GET /v1/grievances: the token's scope, nothing wider (intake offers no public read of cases).
Reader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, CALL_CENTRE_ROLE, powers=(POWER_READ_DISTRICT,)))]
Fmt = Annotated[Format, Path(description="`json` or `xml`")]
JurisdictionId = Annotated[
    str | None,
    Query(
        max_length=16,
        description="Accepted as the spec asks; one deployment serves one state and its categories are state-wide, "
        "so it narrows nothing",
    ),
]
ServiceRequestId = Annotated[
    str,
    Path(
        description="The registration number, e.g. BR-PAT-2026-0000001-7",
        json_schema_extra={"pattern": f"^{REGISTRATION_NUMBER.pattern}$"},
    ),
]

CONTACT = "Nivaran (निवारण), the state's public-grievance cell; file and track at /v1 or in the Nivaran app"
KEY_SERVICE = (
    "Filing (POST requests) needs an api_key, issued to an integrator by the state admin (POST /v1/open311-keys); "
    "reading service requests and their updates needs a Nivaran access token (Authorization: Bearer, from "
    "/v1/auth/*). / अनुरोध दर्ज करने के लिए राज्य प्रशासक द्वारा जारी api_key, और पढ़ने के लिए निवारण एक्सेस टोकन चाहिए।"
)
_REQUEST_LIST = {"type": "array", "items": {"$ref": "#/components/schemas/Open311Request"}}


def _base_url(request: Request, public_base_url: str) -> str:
    base = public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/open311/v2"


@router.get(
    "/discovery.{fmt}",
    summary="Open311 endpoint discovery",
    responses={
        **open311.success_response({"$ref": "#/components/schemas/Open311Discovery"}, "The endpoint description"),
        **open311.error_responses(401, 422, 429),
    },
)
async def discovery(fmt: Fmt, request: Request, _caller: Anyone, settings: Settings) -> Response:
    """The endpoint description: where it is, which specification and formats, and how keys are had."""
    document = Open311Discovery(
        contact=CONTACT,
        key_service=KEY_SERVICE,
        endpoints=[Open311Endpoint(url=_base_url(request, settings.public_base_url))],
    )
    return open311.render(fmt, "discovery", None, document.model_dump(mode="json"))


@router.get(
    "/services.{fmt}",
    summary="Open311 services: the categories a grievance may be filed under",
    responses={
        **open311.success_response(
            {"type": "array", "items": {"$ref": "#/components/schemas/Open311Service"}}, "The services"
        ),
        **open311.error_responses(401, 422, 429, 500, 502, 503),
    },
)
async def services(
    fmt: Fmt, _caller: Anyone, clients: Clients, settings: Settings, jurisdiction_id: JurisdictionId = None
) -> Response:
    """routing's categories that are not retired, as services."""
    answer = await clients.routing.ListCategories(
        routing_pb2.ListCategoriesRequest(include_retired=False), timeout=settings.grpc_timeout_seconds
    )
    listed = [Open311Service.from_proto(c) for c in answer.categories if not c.retired]
    return open311.render(fmt, "services", "service", documents(list(listed)))


ServiceCode = Annotated[str, Path(min_length=1, max_length=64, description="A category code")]


@router.get(
    "/services/{service_code}.{fmt}",
    summary="Open311 service definition: a category asks for the district",
    responses={
        **open311.success_response({"$ref": "#/components/schemas/Open311ServiceDefinition"}, "The definition"),
        **open311.error_responses(401, 404, 422, 429, 500, 502, 503),
    },
)
async def service_definition(
    service_code: ServiceCode,
    fmt: Fmt,
    _caller: Anyone,
    clients: Clients,
    settings: Settings,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """The definition of a service that is not retired: one attribute, the district (a list from routing)."""
    answer = await clients.routing.ListCategories(
        routing_pb2.ListCategoriesRequest(include_retired=False), timeout=settings.grpc_timeout_seconds
    )
    if not any(c.code == service_code and not c.retired for c in answer.categories):
        raise ProblemError(NOT_FOUND, f"no service {service_code}")
    districts = await open311_districts(clients, settings.grpc_timeout_seconds)
    definition = Open311ServiceDefinition(service_code=service_code, attributes=[Open311Attribute.district(districts)])
    return open311.render(fmt, "service_definition", None, definition.model_dump(mode="json"))


async def open311_districts(clients: ServiceClients, timeout: float) -> list[routing_pb2.Area]:
    """routing's districts, the values of the district attribute."""
    answer = await clients.routing.ListAreas(
        routing_pb2.ListAreasRequest(level=routing_pb2.AREA_LEVEL_DISTRICT), timeout=timeout
    )
    return sorted(answer.areas, key=lambda area: area.code)


def in_range(requested: str | None, start: datetime | None, end: datetime | None) -> bool:
    if requested is None:
        return start is None and end is None
    moment = datetime.fromisoformat(requested)
    return (start is None or moment >= start) and (end is None or moment <= end)


def aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ProblemError.field(BAD_REQUEST, name, "needs a time zone, e.g. 2026-01-01T00:00:00+05:30")
    return value


@router.get(
    "/requests.{fmt}",
    summary="Open311 service requests the caller may see (newest first)",
    description="The cases the token may see in GET /v1/grievances, as service requests without personal data. "
    "`start_date` / `end_date` are applied to each page as intake returns it, newest first: a page may hold fewer "
    "than `page_size` requests while the `X-Next-Page-Token` header still offers the next one.",
    responses={
        **open311.success_response(_REQUEST_LIST, "The service requests"),
        **open311.error_responses(400, 401, 403, 422, 429, 500, 502, 503),
    },
)
async def list_requests(
    fmt: Fmt,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    service_code: Annotated[str | None, Query(max_length=64, description="a category code")] = None,
    status: Annotated[RequestStatus | None, Query(description="open or closed")] = None,
    start_date: Annotated[datetime | None, Query(description="earliest requested_datetime (W3C)")] = None,
    end_date: Annotated[datetime | None, Query(description="latest requested_datetime (W3C)")] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="from X-Next-Page-Token")] = None,
    jurisdiction_id: JurisdictionId = None,
) -> Response:
    """One page of the caller's cases as service requests."""
    start, end = aware("start_date", start_date), aware("end_date", end_date)
    if start is not None and end is not None and start > end:
        raise ProblemError.field(BAD_REQUEST, "end_date", "must not be before start_date")
    scope = await grievance_scope(principal, directory)
    if scope.is_empty:
        return open311.render(fmt, "service_requests", "request", [])
    request = intake_pb2.ListGrievancesRequest(
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        statuses=status.statuses() if status is not None else [],
        category_code=service_code or "",
    )
    answer = await clients.intake.ListGrievances(scope.restrict(request), timeout=settings.grpc_timeout_seconds)
    shown = [Open311Request.from_proto(g) for g in answer.grievances]
    kept = [r for r in shown if in_range(r.requested_datetime, start, end)]
    # Newest first: once a page reaches before start_date, no later page can hold a match.
    exhausted = start is not None and any(
        r.requested_datetime is not None and datetime.fromisoformat(r.requested_datetime) < start for r in shown
    )
    headers = {"X-Next-Page-Token": answer.next_page_token} if answer.next_page_token and not exhausted else None
    return open311.render(fmt, "service_requests", "request", documents(list(kept)), headers=headers)


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="One Open311 service request the caller may see",
    description="A case in the caller's /v1 scope (404 otherwise, like an unknown number), without personal data. "
    "With an `ETag`: sent back in `If-None-Match`, an unchanged request answers 304.",
    responses={
        **NOT_MODIFIED,
        **open311.success_response(_REQUEST_LIST, "The service request, as a list of one"),
        **open311.error_responses(400, 401, 403, 404, 422, 429, 500, 502, 503),
    },
)
async def get_request(
    service_request_id: ServiceRequestId,
    fmt: Fmt,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    jurisdiction_id: JurisdictionId = None,
    if_none_match: Annotated[str | None, Header(max_length=1024, description="an ETag of an earlier read")] = None,
) -> Response:
    """The case with this registration number, as the spec's list of one."""
    try:
        check_registration_number(service_request_id)
    except ProblemError as exc:
        raise ProblemError.field(BAD_REQUEST, "service_request_id", "must look like BR-PAT-2026-0000001-7") from exc
    scope = await grievance_scope(principal, directory)
    grievance = await find_case(clients.intake, scope, service_request_id, settings.grpc_timeout_seconds)
    document = documents([Open311Request.from_proto(grievance)])
    rendered = open311.render(fmt, "service_requests", "request", document)
    # The tag names the format too: the JSON and the XML of one request are two representations.
    return conditional({fmt: document}, if_none_match, content=bytes(rendered.body), media_type=rendered.media_type)
