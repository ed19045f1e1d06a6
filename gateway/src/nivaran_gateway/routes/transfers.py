"""REST transfers (S5): an officer asks to forward a case to another department; the district's DM decides.

An approval is two steps: routing records the decision and names the receiving post (the other department's L1 for
the district, or the department itself when it has no district office), then sla runs the case lifecycle's
`transfer` Update, which moves the case in intake's record and timeline, re-bases its clocks and tells the
complainant. sla runs that Update once per transfer id, so approving again (a retry after a timeout, a second click)
finishes a move that did not happen and never moves the case twice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.auth import DM, OFFICER, POWER_MODERATE_TRANSFERS, Principal
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.jurisdiction import PositionDirectory, find_case, grievance_scope
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
    description="The transfer requests of the DM's district, oldest first, a page at a time: pass "
    "`next_page_token` back as `page_token` for the next page.",
    responses=problem_responses(400, 401, 403, 422, 429, 500, 502, 503),
)
async def transfer_queue(
    principal: Moderator,
    clients: Clients,
    settings: Settings,
    state: Annotated[TransferState | None, Query()] = TransferState.PENDING,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
) -> TransferQueue:
    """Transfers of the district named in the token."""
    answer = await clients.routing.ListTransferQueue(
        routing_pb2.ListTransferQueueRequest(
            district_code=district_of(principal),
            state=state.to_proto() if state else routing_pb2.TRANSFER_STATE_UNSPECIFIED,
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return TransferQueue(
        transfers=[TransferView.from_proto(t) for t in answer.transfers],
        next_page_token=answer.next_page_token or None,
    )


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
    found = next((t for t in queue.transfers if t.id == transfer_id), None)
    if found is None:
        raise ProblemError(NOT_FOUND, f"no transfer request {transfer_id}")
    actor = await _moderator_actor(principal, found, directory)
    decided = await clients.routing.DecideTransfer(
        routing_pb2.DecideTransferRequest(
            transfer_id=transfer_id,
            approve=body.approve,
            to_position_id=body.to_position_id or "",
            note=body.note,
            actor=actor,
        ),
        timeout=timeout,
    )
    if decided.state == routing_pb2.TRANSFER_STATE_APPROVED:
        # S5: the approved transfer moves the case (once per transfer id, however often this is called).
        await clients.sla.TransferCase(
            sla_pb2.TransferCaseRequest(
                grievance_id=decided.grievance_id,
                transfer_id=decided.id,
                to_position_id=decided.to_position_id,
                reason=decided.reason,
                kind="department",
                actor=actor,
            ),
            timeout=timeout,
        )
    return TransferView.from_proto(decided)


async def _moderator_actor(
    principal: Principal, transfer: routing_pb2.TransferRequest, directory: PositionDirectory
) -> common_pb2.Actor:
    """The DM in their DM post; or the nodal officer acting for the DM (S17), in the moderating DM post.

    The delegate holds no post of their own. Their token (signed by identity) carries the DM's delegated power and
    district, and the transfer was found in that district's queue, so they act in the moderating post, audited
    "by delegate for DM" through `on_behalf_of_account_id`.
    """
    if not principal.has_any((DM,)) and principal.may(POWER_MODERATE_TRANSFERS):
        return principal.actor(role=DM, position_id=transfer.moderator_position_id)
    return await actor_as(principal, DM, directory)
