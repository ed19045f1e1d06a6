"""REST /v1/service-clients: department clients, the credentials of a department's own system.

An admin makes a client (a STATE_ADMIN for any department, a DEPT_ADMIN for their own; identity checks which) and
gets its secret in that one answer. The department's system then calls the gRPC services itself, over mutual TLS
with a `dept-*` certificate, after exchanging the id and secret for a client token (IdentityService/IssueClientToken);
see "How a department system gets credentials" in gateway/README.md. Disabling a client revokes its tokens at once.

No Idempotency-Key here: the gateway would have to keep the answer to replay it, and that answer holds a secret
that must be stored nowhere. A create retried after a lost answer makes a second client; the admin sees both in the
list and disables the one whose secret nobody holds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import Principal
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.schemas.service_clients import (
    CreatedServiceClientView,
    ServiceClientIn,
    ServiceClientList,
    ServiceClientView,
)

router = APIRouter(prefix="/v1/service-clients", tags=["service clients"], route_class=JsonBodyRoute)

ADMIN_ROLES = ("STATE_ADMIN", "DEPT_ADMIN")
ClientAdmin = Annotated[Principal, Depends(requires(*ADMIN_ROLES))]
ClientId = Annotated[str, Path(min_length=1, max_length=64)]
# A secret must not be kept by browsers or proxies (as tokens, RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _admin_actor(principal: Principal) -> common_pb2.Actor:
    """The caller as actor, in the admin role they hold (STATE_ADMIN first)."""
    return principal.actor(role=next(role for role in ADMIN_ROLES if role in principal.roles))


@router.post(
    "",
    status_code=201,
    response_model=CreatedServiceClientView,
    summary="Make a department client; its secret is shown once",
    responses=problem_responses(400, 401, 403, 415, 422, 429, 500, 502, 503),
)
async def create_service_client(
    body: ServiceClientIn, principal: ClientAdmin, clients: Clients, settings: Settings
) -> JSONResponse:
    """The answer holds the client's secret, this once: identity keeps only its hash."""
    request = body.to_proto()
    request.actor.CopyFrom(_admin_actor(principal))
    created = await clients.identity.CreateServiceClient(request, timeout=settings.grpc_timeout_seconds)
    view = CreatedServiceClientView.from_proto(created)
    return JSONResponse(view.model_dump(mode="json"), status_code=201, headers=NO_STORE)


@router.get(
    "",
    response_model=ServiceClientList,
    summary="Department clients",
    description="A STATE_ADMIN sees every department's clients (or one department's, with `department_code`); a "
    "DEPT_ADMIN their own department's.",
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def list_service_clients(
    principal: ClientAdmin,
    clients: Clients,
    settings: Settings,
    department_code: Annotated[str, Query(max_length=32)] = "",
) -> ServiceClientList:
    """Never a secret: only the hash of each is kept."""
    answer = await clients.identity.ListServiceClients(
        identity_pb2.ListServiceClientsRequest(department_code=department_code, actor=_admin_actor(principal)),
        timeout=settings.grpc_timeout_seconds,
    )
    return ServiceClientList(clients=[ServiceClientView.from_proto(client) for client in answer.clients])


@router.post(
    "/{client_id}/disable",
    response_model=ServiceClientView,
    summary="Disable a department client, revoking its tokens at once",
    responses=problem_responses(401, 403, 404, 415, 422, 429, 500, 502, 503),
)
async def disable_service_client(
    client_id: ClientId, principal: ClientAdmin, clients: Clients, settings: Settings
) -> ServiceClientView:
    """The client gets no new token, and the ones it holds are refused by every service from the next call on."""
    disabled = await clients.identity.DisableServiceClient(
        identity_pb2.DisableServiceClientRequest(client_id=client_id, actor=_admin_actor(principal)),
        timeout=settings.grpc_timeout_seconds,
    )
    return ServiceClientView.from_proto(disabled)
