"""REST /v1/open311-keys: the api_keys of Open311 integrators (a city app, FixMyStreet, a civic-tech tool).

A STATE_ADMIN issues a key to an integrator and gets it in that one answer (identity keeps its SHA-256); the
integrator sends it as `api_key` with POST /open311/v2/requests. Revoking a key refuses it from the next request on:
the gateway checks the key with identity on every filing. Each key has its own rate limit. Why a key is not a
department client: see "Open311 GeoReport v2" in README.md.

No Idempotency-Key on the issue, for the reason routes/service_clients.py gives: its answer holds a secret that must
be stored nowhere. A retried issue makes a second key; the admin revokes the one nobody holds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import Principal
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.schemas.open311_keys import IssuedOpen311KeyView, Open311KeyIn, Open311KeyList, Open311KeyView

router = APIRouter(prefix="/v1/open311-keys", tags=["open311 keys"], route_class=JsonBodyRoute)

STATE_ADMIN = "STATE_ADMIN"
KeyAdmin = Annotated[Principal, Depends(requires(STATE_ADMIN))]
KeyId = Annotated[str, Path(min_length=1, max_length=64)]
# A secret must not be kept by browsers or proxies (as tokens, RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "",
    status_code=201,
    response_model=IssuedOpen311KeyView,
    summary="Issue an Open311 api_key to an integrator; the key is shown once",
    responses=problem_responses(400, 401, 403, 415, 422, 429, 500, 502, 503),
)
async def issue_open311_key(
    body: Open311KeyIn, principal: KeyAdmin, clients: Clients, settings: Settings
) -> JSONResponse:
    """The answer holds the api_key, this once."""
    request = body.to_proto()
    request.actor.CopyFrom(principal.actor(role=STATE_ADMIN))
    issued = await clients.identity.IssueOpen311Key(request, timeout=settings.grpc_timeout_seconds)
    view = IssuedOpen311KeyView.from_proto(issued)
    return JSONResponse(view.model_dump(mode="json"), status_code=201, headers=NO_STORE)


@router.get(
    "",
    response_model=Open311KeyList,
    summary="Open311 api_keys, revoked ones included",
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def list_open311_keys(principal: KeyAdmin, clients: Clients, settings: Settings) -> Open311KeyList:
    """Never a key: only the hash of each is kept."""
    answer = await clients.identity.ListOpen311Keys(
        identity_pb2.ListOpen311KeysRequest(actor=principal.actor(role=STATE_ADMIN)),
        timeout=settings.grpc_timeout_seconds,
    )
    return Open311KeyList(keys=[Open311KeyView.from_proto(key) for key in answer.keys])


@router.post(
    "/{key_id}/revoke",
    response_model=Open311KeyView,
    summary="Revoke an Open311 api_key: refused from the next request on",
    responses=problem_responses(401, 403, 404, 415, 422, 429, 500, 502, 503),
)
async def revoke_open311_key(
    key_id: KeyId, principal: KeyAdmin, clients: Clients, settings: Settings
) -> Open311KeyView:
    """Revoking again changes nothing."""
    revoked = await clients.identity.RevokeOpen311Key(
        identity_pb2.RevokeOpen311KeyRequest(key_id=key_id, actor=principal.actor(role=STATE_ADMIN)),
        timeout=settings.grpc_timeout_seconds,
    )
    return Open311KeyView.from_proto(revoked)
