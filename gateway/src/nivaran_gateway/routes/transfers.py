"""REST transfers (S5): an officer asks to forward a case to another department; the district's DM decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from nivaran.routing.v1 import routing_pb2
from nivaran_gateway.access import requires
from nivaran_gateway.auth import DM, OFFICER, POWER_MODERATE_TRANSFERS, Principal
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import NOT_FOUND, ProblemError, problem_responses
from nivaran_gateway.routes.grievances import RegistrationNumber, check_registration_number
from nivaran_gateway.routes.officers import actor_as, district_of
from nivaran_gateway.schemas.transfers import (
    TransferDecisionIn,
    TransferQueue,
    TransferRequestIn,
    TransferState,
    TransferView,
)

router = APIRouter(prefix="/v1", tags=["transfers"], route_class=JsonBodyRoute)

Officer = Annotated[Principal, Depends(requires(OFFICER))]
# The moderating DM, or the nodal officer the DM delegated moderation to (S17).
Moderator = Annotated[Principal, Depends(requires(DM, powers=(POWER_MODERATE_TRANSFERS,)))]


@router.post(
    "/grievances/{registration_number}/transfer-requests",
    status_code=201,
    response_model=TransferView,
    summary="Ask the DM to transfer a case to another department (S5)",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def request_transfer(
    registration_number: RegistrationNumber,
    body: TransferRequestIn,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> TransferView:
    """Only for a case in the officer's jurisdiction (404 otherwise); it goes to the moderator queue."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    case = await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    from_position = case.assignment.position_id
    held = from_position if from_position in principal.positions else ""
    transfer = await clients.routing.RequestTransfer(
        routing_pb2.RequestTransferRequest(
            grievance_id=case.id,
            from_position_id=from_position,
            to_department_code=body.to_department_code,
            reason=body.reason,
            actor=principal.actor(position_id=held),
            location=case.location,
        ),
        timeout=timeout,
    )
    return TransferView.from_proto(transfer)


@router.get(
    "/transfer-queue",
    response_model=TransferQueue,
    summary="The DM's moderator queue (S5)",
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def transfer_queue(
    principal: Moderator,
    clients: Clients,
    settings: Settings,
    state: Annotated[TransferState | None, Query()] = TransferState.PENDING,
) -> TransferQueue:
    """Transfers of the district named in the token."""
    answer = await clients.routing.ListTransferQueue(
        routing_pb2.ListTransferQueueRequest(
            district_code=district_of(principal),
            state=state.to_proto() if state else routing_pb2.TRANSFER_STATE_UNSPECIFIED,
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return TransferQueue(transfers=[TransferView.from_proto(t) for t in answer.transfers])


@router.post(
    "/transfer-queue/{transfer_id}/decision",
    response_model=TransferView,
    summary="Approve or return a transfer (DM)",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def decide_transfer(
    transfer_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: TransferDecisionIn,
    principal: Moderator,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> TransferView:
    """A transfer of another district answers 404, like an unknown one."""
    timeout = settings.grpc_timeout_seconds
    queue = await clients.routing.ListTransferQueue(
        routing_pb2.ListTransferQueueRequest(district_code=district_of(principal)), timeout=timeout
    )
    if not any(t.id == transfer_id for t in queue.transfers):
        raise ProblemError(NOT_FOUND, f"no transfer request {transfer_id}")
    decided = await clients.routing.DecideTransfer(
        routing_pb2.DecideTransferRequest(
            transfer_id=transfer_id,
            approve=body.approve,
            to_position_id=body.to_position_id or "",
            note=body.note,
            actor=await actor_as(principal, DM, directory),
        ),
        timeout=timeout,
    )
    return TransferView.from_proto(decided)
