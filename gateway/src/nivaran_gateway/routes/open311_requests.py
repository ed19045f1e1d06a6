"""Open311 POST Service Request, with an integrator's api_key, and the token flow.

A request filed here is an ordinary case: it goes through POST /v1/grievances' own code (routes/grievances.py,
`file_grievance`: intake's FileGrievance, the Idempotency-Key handling), so it gets the same registration number,
clocks and notices. The api_key is checked with identity on every filing (a revoked key is refused from the next
request on) and counted against the key's own rate limit.

Nivaran files synchronously, so the answer carries the `service_request_id` at once. It also carries a `token`, as
clients written for servers that answer later may look for one: GET tokens/{token} resolves it to the number for as
long as an idempotency record lives (24 hours by default).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.responses import Response

from nivaran.identity.v1 import identity_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import Principal
from nivaran_common.breaker import retry_after_header
from nivaran_common.door import forward_token
from nivaran_common.errors import field_violations
from nivaran_common.logging import get_logger
from nivaran_gateway import open311
from nivaran_gateway.access import public
from nivaran_gateway.deps import IdempotencyKey, State
from nivaran_gateway.error_handlers import RETRY_AFTER_SECONDS
from nivaran_gateway.idempotency import REPLAYED_HEADER
from nivaran_gateway.problems import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    SERVICE_UNAVAILABLE,
    FieldError,
    ProblemError,
)
from nivaran_gateway.ratelimit import RateLimiter
from nivaran_gateway.routes.grievances import file_grievance
from nivaran_gateway.routes.open311 import Fmt, open311_districts
from nivaran_gateway.schemas.open311 import DISTRICT_ATTRIBUTE, MODELS
from nivaran_gateway.schemas.open311_filing import (
    FIELDS,
    Open311Filed,
    Open311FilingIn,
    Open311Token,
    flatten,
    validation_fields,
)
from nivaran_gateway.settings import RateRule

log = get_logger(__name__)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

# Anyone may call; the api_key in the body is the credential (checked with identity), and a per-IP guard applies
# before it. A bearer token, when sent, is verified but not used: the filing is the integrator's.
Integrator = Annotated[Principal | None, Depends(public("public_read"))]
TokenId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="A token from a filing's answer")]

KEY_BUCKET = "open311_key"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_FILED_LIST = {"type": "array", "items": {"$ref": "#/components/schemas/Open311Filed"}}
_FILING_BODY = {
    "required": True,
    "description": "The spec's arguments, form-encoded (or as JSON). The district is sent as "
    f'`attribute[{DISTRICT_ATTRIBUTE}]=PAT` (JSON: also `"attributes": {{"{DISTRICT_ATTRIBUTE}": "PAT"}}`).',
    "content": {
        media: {"schema": {"$ref": "#/components/schemas/Open311FilingIn"}}
        for media in ("application/x-www-form-urlencoded", "application/json")
    },
}


def _bad(problems: Sequence[tuple[str, str]]) -> ProblemError:
    errors = [FieldError(field=name, detail=detail) for name, detail in problems]
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return ProblemError(BAD_REQUEST, f"invalid fields: {names}", errors=errors)


async def _arguments(request: Request) -> dict[str, Any]:
    """The query string's and the body's arguments (the body wins), as one flat mapping. The api_key only in the
    body: a URL is written to access logs and proxies' histories."""
    if "api_key" in request.query_params:
        raise ProblemError.field(
            BAD_REQUEST, "api_key", "send it in the body, not in the URL (URLs are logged) / URL में नहीं, बॉडी में भेजें"
        )
    items: list[tuple[str, Any]] = list(request.query_params.multi_items())
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in _FORM_TYPES:
        form = await request.form()
        items += [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    elif media == "application/json" or (not media and await request.body()):
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProblemError.field(BAD_REQUEST, "body", "is not valid JSON") from exc
        if not isinstance(body, dict):
            raise ProblemError.field(BAD_REQUEST, "body", "must be an object of the spec's arguments")
        items += list(body.items())
    elif await request.body():
        raise ProblemError.field(BAD_REQUEST, "body", "send the arguments form-encoded or as JSON")
    return flatten(items)


async def _verified_key(state: Any, api_key: str) -> identity_pb2.Open311Key:
    if not api_key:
        raise ProblemError.field(BAD_REQUEST, "api_key", "is required / api_key आवश्यक है")
    try:
        key: identity_pb2.Open311Key = await state.clients.identity.VerifyOpen311Key(
            identity_pb2.VerifyOpen311KeyRequest(api_key=api_key), timeout=state.settings.grpc_timeout_seconds
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.UNAUTHENTICATED:
            raise ProblemError.field(
                FORBIDDEN, "api_key", "is not a valid key, or was revoked / अमान्य या रद्द api_key"
            ) from exc
        raise
    return key


async def _count_against_key(state: Any, key: identity_pb2.Open311Key) -> None:
    """The key's own limit: `requests_per_minute` filings per minute (429 beyond it)."""
    settings = state.settings
    limiter = RateLimiter(
        state.redis,
        settings.redis_key_prefix,
        {KEY_BUCKET: RateRule(limit=max(1, key.requests_per_minute), window_seconds=60)},
        enabled=settings.rate_limits_enabled,
    )
    await limiter.hit(KEY_BUCKET, f"open311-key:{key.id}")


async def _master_data_problems(state: Any, filing: Open311FilingIn) -> list[tuple[str, str]]:
    """The service must be one of routing's categories in use, the district one of its districts."""
    timeout = state.settings.grpc_timeout_seconds
    categories = await state.clients.routing.ListCategories(
        routing_pb2.ListCategoriesRequest(include_retired=False), timeout=timeout
    )
    problems: list[tuple[str, str]] = []
    if not any(c.code == filing.service_code and not c.retired for c in categories.categories):
        problems.append(("service_code", f"no service {filing.service_code} / यह सेवा उपलब्ध नहीं"))
    district = filing.attributes.get(DISTRICT_ATTRIBUTE, "")
    name = f"attribute[{DISTRICT_ATTRIBUTE}]"
    if not district:
        problems.append((name, "is required: the district, from the service definition / ज़िला आवश्यक है"))
    elif district not in {area.code for area in await open311_districts(state.clients, timeout)}:
        problems.append((name, f"no district {district} / यह ज़िला सूची में नहीं"))
    unknown = sorted(set(filing.attributes) - {DISTRICT_ATTRIBUTE})
    problems += [
        (f"attribute[{code}]", "is not an attribute of this service / इस सेवा की विशेषता नहीं") for code in unknown
    ]
    return problems


def _key_scoped(key_id: str, idempotency_key: str | None) -> str | None:
    # Two integrators that send the same Idempotency-Key must not see each other's filing.
    if idempotency_key is None:
        return None
    return "o311-" + hashlib.sha256(f"{key_id}\n{idempotency_key}".encode()).hexdigest()[:48]


def _token_key(state: Any, token: str) -> str:
    return f"{state.settings.redis_key_prefix}open311-token:{token}"


async def _token_for(state: Any, number: str) -> str | None:
    """A new token that resolves to `number`; None (and a warning) when Redis cannot keep it."""
    token = secrets.token_hex(16)
    try:
        await state.redis.set(_token_key(state, token), number, ex=state.settings.idempotency_ttl_seconds)
    except Exception as exc:  # Redis down, or its circuit open: the case is filed, and the token is optional
        log.warning("open311 token not kept", error=type(exc).__name__)
        return None
    return token


@router.post(
    "/requests.{fmt}",
    status_code=201,
    summary="File an Open311 service request (a grievance) with an integrator's api_key",
    description="The same filing as POST /v1/grievances: 201 with the registration number. The same "
    "`Idempotency-Key` and arguments again replay the first answer (`Idempotent-Replayed: true`); 200 when intake "
    "itself recognises a retry. 400 names the field; 403 for an unknown or revoked api_key; 429 beyond the key's own "
    "rate limit.",
    openapi_extra={"requestBody": _FILING_BODY},
    responses={
        **open311.success_response(_FILED_LIST, "The case's number, and a token resolving to it"),
        **open311.error_responses(400, 403, 409, 413, 422, 429, 500, 502, 503),
    },
)
async def file_request(
    fmt: Fmt, request: Request, _caller: Integrator, state: State, idempotency_key: IdempotencyKey
) -> Response:
    """Check the key, map the spec's arguments onto a Form-1 filing, and file it as /v1 does."""
    arguments = await _arguments(request)
    key = await _verified_key(state, str(arguments.get("api_key") or "").strip())
    await _count_against_key(state, key)
    try:
        filing_in = Open311FilingIn.model_validate(arguments)
    except ValidationError as exc:
        raise _bad(validation_fields(exc)) from exc
    problems = filing_in.problems() + await _master_data_problems(state, filing_in)
    if problems:
        raise _bad(problems)
    try:
        filing = filing_in.to_filing()
    except ValidationError as exc:
        raise _bad(validation_fields(exc, FIELDS)) from exc
    forward_token("")  # the filing is the integrator's, whatever token came along
    try:
        answer = await file_grievance(
            filing, None, state.clients, state.settings, state.idempotency, _key_scoped(key.id, idempotency_key)
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() is not grpc.StatusCode.INVALID_ARGUMENT:
            raise
        violations = [(v.field, v.description) for v in field_violations(exc)]
        mapped = [(next((o for k, o in FIELDS.items() if f == k), f), d) for f, d in violations]
        raise _bad(mapped or [("body", exc.details() or "is invalid")]) from exc
    body = json.loads(bytes(answer.body))
    number = str(body["registration_number"])
    log.info("open311 request filed", key_id=key.id, registration_number=number)
    filed = Open311Filed(
        service_request_id=number,
        token=await _token_for(state, number),
        service_notice=f"Registered as {number}; track it with this number. / शिकायत {number} के रूप में पंजीकृत; "
        "इस संख्या से स्थिति देखें।",
    )
    headers = {name: answer.headers[name] for name in ("location", REPLAYED_HEADER.lower()) if name in answer.headers}
    document = [filed.model_dump(mode="json", exclude_none=True)]
    return open311.render(fmt, "service_requests", "request", document, status_code=answer.status_code, headers=headers)


@router.get(
    "/tokens/{token}.{fmt}",
    summary="Resolve an Open311 token to its service request",
    description="A filing's token, resolved to the registration number for as long as it is kept (24 hours).",
    responses={
        **open311.success_response(
            {"type": "array", "items": {"$ref": "#/components/schemas/Open311Token"}}, "The token and its number"
        ),
        **open311.error_responses(404, 422, 429, 503),
    },
)
async def resolve_token(token: TokenId, fmt: Fmt, _caller: Integrator, state: State) -> Response:
    """The number a token stands for; 404 once it has expired, like a token never given."""
    try:
        number = await state.redis.get(_token_key(state, token))
    except (RedisError, OSError) as exc:
        raise ProblemError(
            SERVICE_UNAVAILABLE,
            "tokens cannot be read right now; retry shortly",
            headers={"Retry-After": retry_after_header(exc, RETRY_AFTER_SECONDS)},
        ) from exc
    if number is None:
        raise ProblemError(NOT_FOUND, f"no token {token} (tokens are kept for 24 hours)")
    resolved = Open311Token(token=token, service_request_id=number.decode() if isinstance(number, bytes) else number)
    return open311.render(fmt, "service_requests", "request", [resolved.model_dump(mode="json")])


MODELS.append(Open311FilingIn)
