"""Appeals under the Act (B4): the complainant appeals the decided case on its registration number, and the appellate
authority decides; both acts on the case like every other (routes/acts.py: sla's ActOnCase, the caller from the
token, the case in the caller's scope, an Idempotency-Key). Hearings (B7, M3) come later."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from nivaran.sla.v1 import sla_pb2
from nivaran_common.auth import CITIZEN, OFFICER, Principal
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings, get_idempotency_key
from nivaran_gateway.routes.acts import ACT_RESPONSES, act_on_case
from nivaran_gateway.routes.grievances import RegistrationNumber
from nivaran_gateway.schemas.acts import ActOut
from nivaran_gateway.schemas.appeals import AppealDecisionIn, AppealIn

router = APIRouter(prefix="/v1", tags=["appeals"], route_class=JsonBodyRoute)

Complainant = Annotated[Principal, Depends(requires(CITIZEN))]
Officer = Annotated[Principal, Depends(requires(OFFICER))]
IdempotencyKey = Annotated[str | None, Depends(get_idempotency_key)]


@router.post(
    "/grievances/{registration_number}/appeals",
    response_model=ActOut,
    summary="Appeal a decided case (B4, the complainant)",
    description="On a track with appeals (bpgra v2): `kind` first, then second, then revision, each after the one "
    "before is decided and within 30 days of the last decision, with `grounds`. The case goes `under_appeal` to the "
    "stage's authority (the DM, the Divisional Commissioner, the CS cell), whose 30 days start. Out of order, out "
    "of time, or with an appeal pending: 409.",
    responses=ACT_RESPONSES,
)
async def file_appeal(
    registration_number: RegistrationNumber,
    body: AppealIn,
    key: IdempotencyKey,
    principal: Complainant,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """B4."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.appeal.CopyFrom(body.to_proto())

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.post(
    "/grievances/{registration_number}/appeals/decision",
    response_model=ActOut,
    summary="Decide the pending appeal (B4, the appellate authority)",
    description="The holder of the post the pending appeal went to: `decision` allowed or dismissed, `findings` and "
    "`directions` (Form-3's fields). The case is decided again, and the next stage's 30 days run from now.",
    responses=ACT_RESPONSES,
)
async def decide_appeal(
    registration_number: RegistrationNumber,
    body: AppealDecisionIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """B4 / B7."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.decide_appeal.CopyFrom(body.to_proto())

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)
