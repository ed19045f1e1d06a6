"""REST actions on a case: the L1 forwards it within the department (S8); anyone who may read a case sees its clocks.

Every action reaches the case's lifecycle workflow through sla (the single writer of a case's transitions), which
records it in intake's timeline before it answers; the answer is then read back from intake.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from nivaran.sla.v1 import sla_pb2
from nivaran_common.auth import CITIZEN, OFFICER, POWER_READ_DISTRICT, Principal
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_common.logging import get_logger
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.jurisdiction import find_case, grievance_scope
from nivaran_gateway.problems import BAD_REQUEST, FORBIDDEN, ProblemError, problem_responses
from nivaran_gateway.routes.grievances import RegistrationNumber, check_registration_number
from nivaran_gateway.schemas.casework import CaseClocks, ClockView, ForwardIn
from nivaran_gateway.schemas.grievances import GrievanceSummary

log = get_logger(__name__)

router = APIRouter(prefix="/v1/grievances", tags=["casework"], route_class=JsonBodyRoute)

Officer = Annotated[Principal, Depends(requires(OFFICER))]
Reader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, CALL_CENTRE_ROLE, powers=(POWER_READ_DISTRICT,)))]


@router.post(
    "/{registration_number}/forward",
    response_model=GrievanceSummary,
    summary="Forward a case to a post below, within the department (S8)",
    description="Only the officer holding the post the case sits at forwards it, and only to a post below that post; "
    "another department goes through the DM's moderator queue (`/transfer-requests`, S5).",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def forward_case(
    registration_number: RegistrationNumber,
    body: ForwardIn,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> GrievanceSummary:
    """S8: the case moves to the subordinate post; its disposing officer's clocks start from now."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    scope = await grievance_scope(principal, directory)
    case = await find_case(clients.intake, scope, registration_number, timeout)
    here = case.assignment.position_id
    if here not in principal.positions:
        raise ProblemError(FORBIDDEN, "only the officer holding the post the case is at may forward it (S8)")
    if body.to_position_id not in await directory.subordinates(here):
        raise ProblemError.field(
            BAD_REQUEST, "to_position_id", f"is not a post below {here}; forward only down your reporting chain"
        )
    await clients.sla.ForwardCase(
        sla_pb2.ForwardCaseRequest(
            grievance_id=case.id,
            to_position_id=body.to_position_id,
            note=body.note,
            actor=principal.actor(position_id=here),
        ),
        timeout=timeout,
    )
    log.info("case forwarded", grievance_id=case.id, to_position_id=body.to_position_id)
    moved = await find_case(clients.intake, scope, registration_number, timeout)
    return GrievanceSummary.from_proto(moved)


@router.get(
    "/{registration_number}/clocks",
    response_model=CaseClocks,
    summary="The statutory clocks of a case",
    description="Each deadline of the case's track policy, as its lifecycle runs it: when it (re)started, when it "
    "runs out, whether it is paused or has fired; and the post reviewing the final report now (C5; empty when none). "
    "Only a case in the caller's scope; any other answers 404.",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429, 500, 502, 503),
)
async def case_clocks(
    registration_number: RegistrationNumber,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> CaseClocks:
    """The clocks and the C5 reviewer sla's lifecycle reports for the case."""
    check_registration_number(registration_number)
    timeout = settings.grpc_timeout_seconds
    case = await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    answer = await clients.sla.GetCaseClocks(sla_pb2.GetCaseClocksRequest(grievance_id=case.id), timeout=timeout)
    return CaseClocks(
        registration_number=case.registration_number,
        clocks=[ClockView.from_proto(c) for c in answer.clocks],
        reviewer_position_id=answer.reviewer_position_id,
    )
