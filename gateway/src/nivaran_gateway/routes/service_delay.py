"""Service-delay complaints (S4, H1, H2): the designated officer's interim reply, an act on the case like every other
(routes/acts.py: sla's ActOnCase, the caller from the token, the case in the caller's scope, an Idempotency-Key).
A service-delay complaint itself is filed with `POST /v1/grievances` and its `service_application` (S4)."""

from __future__ import annotations

from fastapi import APIRouter

from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.routes.acts import ACT_RESPONSES, IdempotencyKey, Officer, act_on_case, set_act
from nivaran_gateway.routes.grievances import RegistrationNumber
from nivaran_gateway.schemas.acts import ActOut
from nivaran_gateway.schemas.service_delay import InterimReplyIn

router = APIRouter(prefix="/v1", tags=["service delay"], route_class=JsonBodyRoute)


@router.post(
    "/grievances/{registration_number}/interim-reply",
    response_model=ActOut,
    summary="The designated officer's interim reply on a service-delay complaint (H2)",
    description="On a case of the auto-appeal track (a service-delay complaint, S4), by the officer holding its post "
    "(after the nodal officer forwarded it, H1): the officer called the citizen on `called_on`, helped them apply "
    "through the proper channel (`application`: number, date, status), and replies. The 30-day clock stops; the "
    "complainant is told. Another track, or a second reply: 409.",
    responses=ACT_RESPONSES,
)
async def interim_reply(
    registration_number: RegistrationNumber,
    body: InterimReplyIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """H2."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("interim_reply", body.to_proto())
    )
