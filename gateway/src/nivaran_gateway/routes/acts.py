"""REST acts on a case (docs/architecture.md, "Acts on a case"): reports, disposal, reviews, information requests and
answers, show-cause replies, recommendations and the Commissioner's action; the case's show-cause notices; the
breach records.

Every act goes to sla's ActOnCase with the caller taken from the verified token, never from the body; the case's
lifecycle checks the act against the case's state and the posts the caller holds. The gateway first finds the
case within the caller's read scope (404 outside it, as for reads). Every act needs an Idempotency-Key: it becomes
the lifecycle's Update id, so a retried act answers as the first did and never acts twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Path, Query
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from nivaran.common.v1 import common_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.auth import (
    CHIEF_SECRETARY,
    CITIZEN,
    DM,
    OFFICER,
    OSD_CS,
    POWER_READ_DISTRICT,
    SECRETARY,
    Principal,
)
from nivaran_common.casework import CALL_CENTRE_ROLE
from nivaran_common.errors import field_violations
from nivaran_common.logging import get_logger
from nivaran_gateway import idempotency
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings, get_idempotency_key
from nivaran_gateway.jurisdiction import STATE_WIDE_ROLES, find_case, grievance_scope
from nivaran_gateway.problems import (
    BAD_REQUEST,
    CONFLICT,
    FORBIDDEN,
    VALIDATION,
    FieldError,
    ProblemError,
    problem_responses,
)
from nivaran_gateway.routes.grievances import RegistrationNumber, check_registration_number
from nivaran_gateway.schemas.acts import (
    REVIEW_DECISIONS,
    ActOut,
    AssignmentIn,
    BreachList,
    BreachView,
    CommissionerActionIn,
    DisposalIn,
    InfoRequestIn,
    InfoResponseIn,
    RecommendationIn,
    ReportIn,
    ReviewIn,
    ShowCauseNoticeList,
    ShowCauseNoticeView,
    ShowCauseReplyIn,
)
from nivaran_gateway.schemas.common import timestamp

log = get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["acts"], route_class=JsonBodyRoute)

Officer = Annotated[Principal, Depends(requires(OFFICER))]
Complainant = Annotated[Principal, Depends(requires(CITIZEN))]
Reader = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, CALL_CENTRE_ROLE, powers=(POWER_READ_DISTRICT,)))]
Monitor = Annotated[Principal, Depends(requires(DM, SECRETARY, OSD_CS, CHIEF_SECRETARY))]
IdempotencyKey = Annotated[str | None, Depends(get_idempotency_key)]
NoticeId = Annotated[str, Path(min_length=1, max_length=64, description="the show-cause notice's id")]
# An act runs the lifecycle's activities (timeline, notices) before it answers.
ACT_TIMEOUT_SECONDS = 30.0
ACT_RESPONSES = problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503)

Fill = Callable[[sla_pb2.ActOnCaseRequest], None]


def set_act(name: str, act: Message) -> Fill:
    """The Fill that puts `act` in the request's `act` oneof member `name`."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        getattr(request, name).CopyFrom(act)

    return fill


def caller_of(principal: Principal) -> sla_pb2.Caller:
    """The caller as the token proves them."""
    return sla_pb2.Caller(
        account_id=principal.account_id,
        kind=principal.kind,
        position_ids=list(principal.positions),
        district_code=principal.district,
        phone=principal.phone,
        acting_for_account_id=principal.acting_for,
        roles=list(principal.roles),
    )


def _renamed(exc: grpc.aio.AioRpcError) -> ProblemError | None:
    """sla names a bad field by its path in ActOnCaseRequest (`report.concerns_office`); the client sent it as a
    member of this route's body (`concerns_office`). An act the case's state does not allow is a conflict with
    that state (409, the state named in the detail)."""
    if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
        return ProblemError(CONFLICT, exc.details() or CONFLICT.title)
    if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return None
    errors = [
        FieldError(field=v.field.partition(".")[2] or v.field, detail=v.description) for v in field_violations(exc)
    ]
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return ProblemError(VALIDATION, f"invalid fields: {names}", errors=errors)


async def act_on_case(
    registration_number: str,
    key: str | None,
    principal: Principal,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    fill: Fill,
) -> ActOut:
    """Find the case in the caller's scope and run the act through sla."""
    check_registration_number(registration_number)
    if key is None:
        raise ProblemError.field(BAD_REQUEST, idempotency.HEADER, "is required for an act on a case")
    case = await find_case(
        clients.intake,
        await grievance_scope(principal, directory),
        registration_number,
        settings.grpc_timeout_seconds,
    )
    request = sla_pb2.ActOnCaseRequest(grievance_id=case.id, idempotency_key=key, caller=caller_of(principal))
    fill(request)
    try:
        answer = await clients.sla.ActOnCase(request, timeout=max(settings.grpc_timeout_seconds, ACT_TIMEOUT_SECONDS))
    except grpc.aio.AioRpcError as exc:
        renamed = _renamed(exc)
        if renamed is None:
            raise
        raise renamed from None
    log.info("act on case", act=answer.act, grievance_id=case.id, by=principal.account_id)
    return ActOut(
        act=answer.act,
        registration_number=case.registration_number,
        status=answer.state.status,
        position_id=answer.state.position_id,
        reviewer_position_id=answer.state.reviewer_position_id,
        notice=ShowCauseNoticeView.from_proto(answer.notice) if answer.HasField("notice") else None,
    )


@router.post(
    "/grievances/{registration_number}/assignment",
    response_model=ActOut,
    summary="Assign a case registered with the CS cell (C3)",
    description="A CSPGRS case is registered with the cell (the OSD to the Chief Secretary), which assigns it to a "
    "department's or district's office within one hour (C7): by default the office routing proposed. The office's "
    "report clocks start then (C4).",
    responses=ACT_RESPONSES,
)
async def assign_case(
    registration_number: RegistrationNumber,
    body: AssignmentIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """C3: the cell's assignment."""
    return await act_on_case(
        registration_number, key, principal, clients, settings, directory, lambda r: r.assign.CopyFrom(body.to_proto())
    )


@router.post(
    "/grievances/{registration_number}/reports",
    response_model=ActOut,
    summary="Submit a report on a case (C4, S9, S11)",
    description="Preliminary (24 h) or final (72 h) report with the C4 §5.2 answers, the S9 action-taken report or "
    "the S11 status update, by the officer holding the post the case is at. A report saying the case is not this "
    "office's names the right department, and a transfer proposal goes to the DM's queue (S5). On a CSPGRS case a "
    "final report starts the C5 review chain.",
    responses=ACT_RESPONSES,
)
async def submit_report(
    registration_number: RegistrationNumber,
    body: ReportIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """C4 / S9 / S11: a report."""
    return await act_on_case(
        registration_number,
        key,
        principal,
        clients,
        settings,
        directory,
        lambda r: r.report.CopyFrom(body.to_proto()),
    )


@router.post(
    "/grievances/{registration_number}/disposal",
    response_model=ActOut,
    summary="Dispose of a case: resolved, rejected (S15), interim order (S12) or scheme order (S14)",
    description="Ends the case; its clocks stop and the complainant is told. Only the officer holding the post the "
    "case is at; a second disposal is 409.",
    responses=ACT_RESPONSES,
)
async def dispose_case(
    registration_number: RegistrationNumber,
    body: DisposalIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """The disposal of the case, of the kind the body names."""
    return await act_on_case(registration_number, key, principal, clients, settings, directory, body.to_request)


@router.post(
    "/grievances/{registration_number}/reviews",
    response_model=ActOut,
    summary="Review a final report (C5)",
    description="By the officer holding the post of the review hop the report is at: the DM/SP office forwards it to "
    "the department or returns it; the department forwards it to the CS cell; the CS cell closes the case (the "
    "citizen is told) or returns it. Each hop has one working day (C7).",
    responses=ACT_RESPONSES,
)
async def review_report(
    registration_number: RegistrationNumber,
    body: ReviewIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """C5: forward, return or close."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.review.CopyFrom(sla_pb2.ReviewReport(decision=REVIEW_DECISIONS[body.decision], note=body.note))

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.post(
    "/grievances/{registration_number}/info-requests",
    response_model=ActOut,
    summary="Ask the complainant for information (C6, B2)",
    description="The clocks that wait on the citizen pause until the complainant answers; the complainant is told.",
    responses=ACT_RESPONSES,
)
async def request_information(
    registration_number: RegistrationNumber,
    body: InfoRequestIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """C6 / B2: the question."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.request_information.CopyFrom(sla_pb2.RequestInformation(question=body.question))

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.post(
    "/grievances/{registration_number}/info-responses",
    response_model=ActOut,
    summary="Answer an information request (the complainant)",
    description="The paused clocks resume with the time they had left; the officer is told.",
    responses=ACT_RESPONSES,
)
async def respond_with_information(
    registration_number: RegistrationNumber,
    body: InfoResponseIn,
    key: IdempotencyKey,
    principal: Complainant,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """The complainant's answer."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.citizen_response.CopyFrom(
            sla_pb2.CitizenResponse(response=body.response, attachment_ids=body.attachment_ids)
        )

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.get(
    "/grievances/{registration_number}/show-cause-notices",
    response_model=ShowCauseNoticeList,
    summary="The show-cause notices of a case (S9, S11)",
    description="Officers whose jurisdiction the case is in; the complainant does not see them.",
    responses=problem_responses(400, 401, 403, 404, 422, 429, 500, 502, 503),
)
async def list_show_cause_notices(
    registration_number: RegistrationNumber,
    principal: Reader,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ShowCauseNoticeList:
    """The notices, oldest first."""
    check_registration_number(registration_number)
    if principal.is_citizen:
        # Notices to an officer are the officer's; the complainant sees the case's timeline instead.
        raise ProblemError(FORBIDDEN, "show-cause notices are for the officers of the case")
    timeout = settings.grpc_timeout_seconds
    case = await find_case(clients.intake, await grievance_scope(principal, directory), registration_number, timeout)
    answer = await clients.sla.ListShowCauseNotices(
        sla_pb2.ListShowCauseNoticesRequest(grievance_id=case.id), timeout=timeout
    )
    notices = sorted(answer.notices, key=lambda n: (n.number, n.issued_at.ToDatetime()))
    return ShowCauseNoticeList(
        registration_number=case.registration_number, notices=[ShowCauseNoticeView.from_proto(n) for n in notices]
    )


@router.post(
    "/grievances/{registration_number}/show-cause-notices/{notice_id}/reply",
    response_model=ActOut,
    summary="Reply to a show-cause notice (S9, S11)",
    description="By the officer holding the post the notice names (after a charge handover, the new holder). The "
    "DM then has one day to review it (S18).",
    responses=ACT_RESPONSES,
)
async def reply_to_show_cause(
    registration_number: RegistrationNumber,
    notice_id: NoticeId,
    body: ShowCauseReplyIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """S9 / S11: the reply."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.show_cause_reply.CopyFrom(
            sla_pb2.ShowCauseReply(notice_id=notice_id, reply=body.reply, attachment_ids=body.attachment_ids)
        )

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.post(
    "/grievances/{registration_number}/show-cause-notices/{notice_id}/recommendation",
    response_model=ActOut,
    summary="The DM's recommendation on a show-cause reply (S18)",
    description="By the DM of the case's district, within one day of the reply; late ones are recorded as breaches.",
    responses=ACT_RESPONSES,
)
async def recommend_on_reply(
    registration_number: RegistrationNumber,
    notice_id: NoticeId,
    body: RecommendationIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """S18: the DM's recommendation."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.recommendation.CopyFrom(sla_pb2.Recommendation(notice_id=notice_id, recommendation=body.recommendation))

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.post(
    "/grievances/{registration_number}/show-cause-notices/{notice_id}/commissioner-action",
    response_model=ActOut,
    summary="The Commissioner's action on the DM's recommendation (S18)",
    description="By the Divisional Commissioner above the DM: act on it, or forward it to the competent authority, "
    "within one day.",
    responses=ACT_RESPONSES,
)
async def commissioner_action(
    registration_number: RegistrationNumber,
    notice_id: NoticeId,
    body: CommissionerActionIn,
    key: IdempotencyKey,
    principal: Officer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> ActOut:
    """S18: the Commissioner's act or forward."""

    def fill(request: sla_pb2.ActOnCaseRequest) -> None:
        request.commissioner_action.CopyFrom(
            sla_pb2.CommissionerAction(notice_id=notice_id, decision=body.decision, note=body.note)
        )

    return await act_on_case(registration_number, key, principal, clients, settings, directory, fill)


@router.get(
    "/breaches",
    response_model=BreachList,
    summary="Breach records (S8, S13, S18 …)",
    description="The DM sees their district's; the OSD to the Chief Secretary and the Chief Secretary see the "
    "state's, optionally for one district; a department's secretary sees the breaches at its posts. Newest first, a "
    "page at a time: pass `next_page_token` back as `page_token` for the next page. A secretary's page holds the "
    "breaches at the department's posts among one page of the register, so it may hold fewer than `page_size` "
    "(even none) while `next_page_token` says more pages follow.",
    responses=problem_responses(400, 401, 403, 422, 429, 500, 502, 503),
)
async def list_breaches(
    principal: Monitor,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    district_code: Annotated[str, Query(max_length=8, pattern=r"^[A-Z]*$")] = "",
    rule: Annotated[str, Query(max_length=8, pattern=r"^([A-Z][0-9]+)?$")] = "",
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
) -> BreachList:
    """Breaches in the caller's reach."""
    timeout = settings.grpc_timeout_seconds
    department = ""
    if principal.has_any(STATE_WIDE_ROLES):
        district = district_code
    elif principal.has_any((DM,)) and principal.district:
        if district_code and district_code != principal.district:
            raise ProblemError.field(FORBIDDEN, "district_code", "a DM sees the breaches of their own district")
        district = principal.district
    else:
        held = await directory.held_post(principal, SECRETARY)
        post = await directory.position(held) if held else None
        if post is None or not post.department_code:
            raise ProblemError(FORBIDDEN, "only a DM, a department's secretary or the CS cell sees breach records")
        district, department = district_code, post.department_code
    answer = await clients.sla.ListBreaches(
        sla_pb2.ListBreachesRequest(
            district_code=district,
            rule=rule,
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        ),
        timeout=timeout,
    )
    breaches = list(answer.breaches)
    if department:
        posts = {b.position_id for b in breaches}
        of_department = {p for p in posts if (pos := await directory.position(p)) and pos.department_code == department}
        breaches = [b for b in breaches if b.position_id in of_department]
    return BreachList(
        next_page_token=answer.next_page_token or None,
        breaches=[
            BreachView(
                id=b.id,
                grievance_id=b.grievance_id,
                position_id=b.position_id,
                rule=b.rule,
                recorded_at=timestamp(b, "recorded_at"),
                details=MessageToDict(b.details),
            )
            for b in breaches
        ],
    )
