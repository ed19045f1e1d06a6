"""REST acts after a case ends (issue 10): the complainant reopens it; the complainant or the call centre gives
feedback on the claimed resolution (H3); the officer keeps it under watch until the outstanding work is reported
(M4); and the officer closes a case as a duplicate of another, as the filing may have suggested. Each runs as
sla's ActOnCase like every act on a case (routes/acts.py): the caller from the verified token, the case found within
the caller's scope (404 outside it), an Idempotency-Key required, and the case's lifecycle judging the state, the
window and the caller.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from nivaran_common.auth import CITIZEN, Principal
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.routes.acts import ACT_RESPONSES, Complainant, IdempotencyKey, Officer, act_on_case, set_act
from nivaran_gateway.routes.grievances import RegistrationNumber
from nivaran_gateway.schemas.acts import ActOut
from nivaran_gateway.schemas.recourse import AtrAcceptanceIn, DuplicateIn, FeedbackIn, ReopenIn, WatchIn, WatchReportIn

router = APIRouter(prefix="/v1", tags=["recourse"], route_class=JsonBodyRoute)

FeedbackGiver = Annotated[Principal, Depends(requires(CITIZEN, CALL_CENTRE_ROLE))]


@router.post(
    "/grievances/{registration_number}/reopen",
    response_model=ActOut,
    summary="Reopen an ended case (the complainant)",
    description="Within the recourse window of the case's policy (v2 policies: 30 days after it was disposed or "
    "closed), at most `max_returns` times: the case returns to its officer on the same registration number with "
    "every assignment clock started afresh (show-cause included); the officer is told. A rejected case is "
    "appealed, not reopened. 409 outside the window or for a case still open.",
    responses=ACT_RESPONSES,
)
async def reopen_case(
    registration_number: RegistrationNumber,
    body: ReopenIn,
    key: IdempotencyKey,
    principal: Complainant,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """The complainant's reopening."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("reopen", body.to_proto())
    )


@router.post(
    "/grievances/{registration_number}/feedback",
    response_model=ActOut,
    summary="Feedback on the claimed resolution (H3): the complainant's rating, or the call centre's call",
    description="The complainant gives `rating` (1–5) and `resolved`, once per disposal; a call-centre operator of "
    "the case's district gives `call_outcome` and, for a call that took place, `recording_ref`. Feedback that says "
    "the grievance was not fixed marks the case unresolved and returns it to its officer with fresh clocks. Every "
    "feedback is on the case's timeline, where the senior officer (told of the claimed resolution at once) sees it.",
    responses=ACT_RESPONSES,
)
async def give_feedback(
    registration_number: RegistrationNumber,
    body: FeedbackIn,
    key: IdempotencyKey,
    principal: FeedbackGiver,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """H3 feedback."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("feedback", body.to_proto())
    )


@router.post(
    "/grievances/{registration_number}/atr-acceptance",
    response_model=ActOut,
    summary="Accept the action-taken report (H3, the senior officer)",
    description="The senior officer told of the claimed resolution (the DM above the case), with the complainant's "
    "rating and the call centre's call on the timeline, accepts the report: the disposed case is `closed` (the "
    "complainant may still give feedback or reopen it within the window). Once per disposal; on a case that is not "
    "disposed (unresolved, reopened, already closed): 409.",
    responses=ACT_RESPONSES,
)
async def accept_atr(
    registration_number: RegistrationNumber,
    body: AtrAcceptanceIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """H3 acceptance."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("accept_atr", body.to_proto())
    )


@router.post(
    "/grievances/{registration_number}/watch",
    response_model=ActOut,
    summary="Keep a disposed case under watch (M4)",
    description="The officer holding the case's post, within the recourse window after the disposal: `item` names "
    "what remains (an encroachment case registered, its removal pending). The officer is reminded at the policy's "
    "interval (v2: every 7 days) until the report; the DM lists open items with "
    "`GET /v1/grievances?watch_open_only=true`. A second watch while one is open: 409.",
    responses=ACT_RESPONSES,
)
async def open_watch(
    registration_number: RegistrationNumber,
    body: WatchIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """M4: open the watch."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("open_watch", body.to_proto())
    )


@router.post(
    "/grievances/{registration_number}/watch/report",
    response_model=ActOut,
    summary="Report the watched work done, ending the watch (M4)",
    description="The officer holding the case's post: the `report` (the removal report) and its `attachment_ids`. "
    "No watch open: 409.",
    responses=ACT_RESPONSES,
)
async def report_watch(
    registration_number: RegistrationNumber,
    body: WatchReportIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """M4: close the watch with the report."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("watch_report", body.to_proto())
    )


@router.post(
    "/grievances/{registration_number}/duplicate-of",
    response_model=ActOut,
    summary="Close a case as a duplicate of another",
    description="The officer holding the case's post names the original (`original_registration_number`, any case "
    "intake has but this one; 422 naming the field otherwise) and a `note`. The case is closed, and the complainant "
    "is told the original's number. Filings carry `possible_duplicates` (the same complainant, place and a similar "
    "text within 30 days) as a suggestion. A case already ended: 409. The complainant may reopen a case closed so "
    "within the recourse window.",
    responses=ACT_RESPONSES,
)
async def mark_duplicate(
    registration_number: RegistrationNumber,
    body: DuplicateIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """Close as a duplicate."""

    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, set_act("mark_duplicate", body.to_proto())
    )
