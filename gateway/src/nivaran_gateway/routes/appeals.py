"""Appeals under the Act (B4): the complainant appeals the decided case on its registration number, and the appellate
authority decides; both acts on the case like every other (routes/acts.py: sla's ActOnCase, the caller from the
token, the case in the caller's scope, an Idempotency-Key). Hearings (B7, M3) come later."""

from __future__ import annotations

from fastapi import APIRouter

from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.routes.acts import ACT_RESPONSES, Complainant, IdempotencyKey, Officer, act_on_case, set_act
from nivaran_gateway.routes.grievances import RegistrationNumber
from nivaran_gateway.schemas.acts import ActOut
from nivaran_gateway.schemas.appeals import AppealDecisionIn, AppealIn

router = APIRouter(prefix="/v1", tags=["appeals"], route_class=JsonBodyRoute)


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

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("appeal", body.to_proto())
    )


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

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("decide_appeal", body.to_proto())
    )
