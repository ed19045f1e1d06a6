"""The acts on a case (officer's and citizen's Updates with a proven caller) against the rules, through the real
lifecycle workflow on the time-skipping Temporal server, with the shipped policy files.

Every act here carries a `Caller`, as sla's ActOnCase hands it in: the validators check the case's state (a refusal
names it) and the caller's posts (`permission_denied`), before anything is written. The services behind the
activities are the in-process recorders of fakes.py; the workflow, the policies and the deadline arithmetic are the
real ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from nivaran_common.casework import PERMISSION_DENIED, Caller
from nivaran_sla.domain import (
    UPDATE_CITIZEN_RESPONDED,
    UPDATE_DISPOSE,
    UPDATE_INTERIM_ORDER,
    UPDATE_RECORD_RECOMMENDATION,
    UPDATE_REJECT,
    UPDATE_REPLY_SHOW_CAUSE,
    UPDATE_REQUEST_INFO,
    UPDATE_REVIEW_REPORT,
    UPDATE_SCHEME_ORDER,
    UPDATE_SUBMIT_REPORT,
    CaseStatus,
    CitizenResponseInput,
    ClockView,
    DisposeInput,
    InfoRequestInput,
    InterimOrderInput,
    LifecycleState,
    NoticeInput,
    RecipientKind,
    RecommendationInput,
    RejectInput,
    ReplyShowCauseInput,
    ReportInput,
    ReviewInput,
    SchemeOrderInput,
    ShowCauseNotice,
    TransitionInput,
)

from .fakes import FakeServices, assigned_by_the_cell
from .test_rules import DAY, MINUTE, REPLY, Case, case_input, case_runner, time_skipping_server

HOUR = timedelta(hours=1)

DSO = Caller(account_id="acct-dso", kind="officer", position_ids=("pos-dso-pat",), district_code="PAT")
DM = Caller(account_id="acct-dm", kind="officer", position_ids=("pos-dm-pat",), district_code="PAT")
SECRETARY = Caller(account_id="acct-sec-food", kind="officer", position_ids=("pos-sec-food",))
OSD = Caller(account_id="acct-osd", kind="officer", position_ids=("pos-osd-cs",))
COMMISSIONER = Caller(account_id="acct-comm", kind="officer", position_ids=("pos-comm-patna",))
SITA = Caller(account_id="acct-sita", kind="citizen")  # the complainant of case_input()
RAM = Caller(account_id="acct-ram", kind="citizen")
# S17: the Sahyog-cell nodal officer acting on the DSO's delegation, with the DSO's post in the token.
DELEGATE = Caller(
    account_id="acct-nodal", kind="officer", position_ids=("pos-dso-pat",), acting_for_account_id="acct-dso"
)


@pytest_asyncio.fixture(scope="module")
async def acts_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(acts_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(acts_env) as go:
        yield go


# --- helpers -------------------------------------------------------------------------------------------------------


async def act(case: Case, update: str, arg: Any) -> LifecycleState:
    state: LifecycleState = await case.handle.execute_update(update, arg, result_type=LifecycleState)
    await case.settle()
    return state


async def notice_act(case: Case, update: str, arg: Any) -> ShowCauseNotice:
    notice: ShowCauseNotice = await case.handle.execute_update(update, arg, result_type=ShowCauseNotice)
    await case.settle()
    return notice


async def refused_in_flight(case: Case, gate: asyncio.Event, update: str, arg: Any) -> ApplicationError:
    """The act is refused while another act's record waits on `gate`; the gate opens afterwards either way."""
    try:
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await case.handle.execute_update(update, arg)
    finally:
        gate.set()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def refused(case: Case, update: str, arg: Any) -> ApplicationError:
    """The act is refused; returns the refusal (a validator's ValueError arrives as an ApplicationError)."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await case.handle.execute_update(update, arg)
    await case.settle()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def denied(case: Case, update: str, arg: Any) -> ApplicationError:
    """The act is refused because the caller does not hold the post it belongs to."""
    refusal = await refused(case, update, arg)
    assert refusal.type == PERMISSION_DENIED, (refusal.type, refusal.message)
    return refusal


async def now(case: Case) -> datetime:
    return await case.env.get_current_time()


def one(case: Case, event_type: str) -> TransitionInput:
    [transition] = case.fake.transitions(event_type)
    return transition


def officer_notices(case: Case, kind: str, position_id: str) -> list[NoticeInput]:
    return [n for n in case.notices(kind) if n.recipient.position_id == position_id]


def citizen_notices(case: Case, kind: str) -> list[NoticeInput]:
    return [n for n in case.notices(kind) if n.recipient.kind is RecipientKind.CITIZEN]


def report(kind: str, caller: Caller = DSO, **fields: Any) -> ReportInput:
    text = fields.pop("text", "Enquiry ordered; the dealer's stock register has been seized.")
    return ReportInput(kind=kind, text=text, by_account_id=caller.account_id, caller=caller, **fields)


def c4_report(kind: str, caller: Caller = DSO, **fields: Any) -> ReportInput:
    """A C4 §5.2 report of an office the grievance concerns."""
    answers: dict[str, Any] = {
        "concerns_office": True,
        "aware_before": False,
        "action_taken": "Enquiry ordered; the dealer's stock register has been seized.",
        "resolvable_within_72h": False,
        "reasons_not_resolvable": "The card has to be printed at the state press.",
    }
    return report(kind, caller, **{**answers, **fields})


def review(caller: Caller, decision: str, note: str = "Seen; action taken is adequate.") -> ReviewInput:
    return ReviewInput(
        accept=decision == "close", note=note, by_account_id=caller.account_id, decision=decision, caller=caller
    )


def dispose_by(caller: Caller) -> DisposeInput:
    return DisposeInput(
        disposed_by=caller.account_id, outcome="राशन कार्ड जारी किया गया / ration card issued", caller=caller
    )


def nearest(views: list[ClockView]) -> tuple[datetime, str]:
    """The case's nearest deadline and its clock, as the workflow orders them (ties by clock id)."""
    return min((v.deadline, v.clock_id) for v in views if v.running and v.deadline is not None)


async def clocks(case: Case) -> list[ClockView]:
    views: list[ClockView] = await case.handle.query("clocks", result_type=list[ClockView])
    return views


async def run_until_show_cause(run_case: Any) -> tuple[Case, ShowCauseNotice]:
    case: Case = await run_case(case_input())
    await case.advance(10 * DAY + MINUTE)
    [notice] = case.fake.show_causes.values()
    assert notice.position_id == "pos-dso-pat"
    return case, notice


def reply_by(caller: Caller, notice_id: str) -> ReplyShowCauseInput:
    return ReplyShowCauseInput(notice_id=notice_id, reply=REPLY, replied_by=caller.account_id, caller=caller)


# --- C4: the 24 h / 72 h reports, with the §5.2 content -----------------------------------------------------------


async def test_C4_structured_preliminary_report_a_moment_before_24h_stops_the_clock_with_its_answers_on_record(
    run_case: Any,
) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.advance(24 * HOUR - MINUTE)
    # The case's holder reports; the DM above it may not report in the holder's place.
    await denied(case, UPDATE_SUBMIT_REPORT, c4_report("preliminary", DM))
    assert case.count("preliminary_report") == 0
    expected = await now(case) + 2 * DAY
    state = await act(
        case,
        UPDATE_SUBMIT_REPORT,
        c4_report(
            "preliminary", resolvable_within_72h=True, reasons_not_resolvable="", expected_resolution_by=expected
        ),
    )
    assert state.status is CaseStatus.IN_PROGRESS
    preliminary = await case.clock("preliminary_report")
    assert not preliminary.running
    assert preliminary.deadline is None
    assert (await case.clock("final_report")).running  # the 72 h clock still runs
    await case.advance(2 * MINUTE)
    assert case.count("escalated") == 0
    recorded = one(case, "preliminary_report")
    assert recorded.actor.account_id == "acct-dso"
    assert recorded.payload["concerns_office"] is True
    assert recorded.payload["aware_before"] is False
    assert recorded.payload["resolvable_within_72h"] is True
    assert recorded.payload["action_taken"] == "Enquiry ordered; the dealer's stock register has been seized."
    assert recorded.payload["expected_resolution_by"] == expected.isoformat()
    assert "transfer_id" not in recorded.payload
    assert case.fake.transfer_proposals() == []


async def test_C4_S5_not_this_offices_grievance_proposes_a_transfer_and_an_unknown_department_refuses_the_report(
    run_case: Any,
) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    not_ours = {
        "concerns_office": False,
        "text": "Land records are kept by the circle office, not the supply office.",
    }
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await case.handle.execute_update(
            UPDATE_SUBMIT_REPORT, report("preliminary", right_department_code="XYZ", **not_ours)
        )
    await case.settle()
    # Routing refused the department: the whole act is refused, and nothing of the report is on record.
    # (The lifecycle's side effects are local activities: routing's refusal is the update's cause as it was raised.)
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "grpc.INVALID_ARGUMENT"
    assert case.count("preliminary_report") == 0
    assert case.fake.transfer_proposals() == []
    assert (await case.clock("preliminary_report")).running

    await act(case, UPDATE_SUBMIT_REPORT, report("preliminary", right_department_code="REV", **not_ours))
    [proposal] = case.fake.transfer_proposals()
    assert proposal.to_department_code == "REV"
    assert proposal.from_position_id == "pos-dso-pat"
    assert proposal.by_account_id == "acct-dso"
    assert (proposal.state_code, proposal.district_code) == ("BR", "PAT")
    recorded = one(case, "preliminary_report")
    assert recorded.payload["transfer_id"] == "transfer-1"
    assert recorded.payload["concerns_office"] is False
    assert recorded.payload["right_department_code"] == "REV"
    # The proposal went to routing before the report was recorded.
    steps = case.fake.steps()
    assert steps.index("transfer:REV") < steps.index("preliminary_report")


# --- C5 / C7: the review chain DM -> department secretary -> CS cell -----------------------------------------------


async def test_C5_final_report_goes_up_the_review_chain_and_only_the_last_hop_closes_and_tells_the_citizen(
    run_case: Any,
) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await act(case, UPDATE_SUBMIT_REPORT, c4_report("preliminary"))
    # Before a final report there is nothing to review.
    assert (
        "no final report is under review" in (await refused(case, UPDATE_REVIEW_REPORT, review(DM, "forward"))).message
    )
    state = await act(case, UPDATE_SUBMIT_REPORT, c4_report("final"))
    assert state.reviewer_position_id == "pos-dm-pat"
    assert len(officer_notices(case, "review_request", "pos-dm-pat")) == 1
    assert "under review" in (await refused(case, UPDATE_SUBMIT_REPORT, c4_report("final"))).message

    # Hop 1, the DM: others may not review in the DM's place, and the DM may not close the case.
    await denied(case, UPDATE_REVIEW_REPORT, review(SECRETARY, "forward"))
    await denied(case, UPDATE_REVIEW_REPORT, review(DSO, "forward"))
    assert "only the last hop" in (await refused(case, UPDATE_REVIEW_REPORT, review(DM, "close"))).message
    state = await act(case, UPDATE_REVIEW_REPORT, review(DM, "forward"))
    assert state.reviewer_position_id == "pos-sec-food"
    forwarded = one(case, "final_report_forwarded")
    assert (forwarded.payload["from_position_id"], forwarded.payload["to_position_id"]) == (
        "pos-dm-pat",
        "pos-sec-food",
    )
    assert len(officer_notices(case, "review_request", "pos-sec-food")) == 1

    # Hop 2, the department (its secretary, found by the department: the chain has none).
    await denied(case, UPDATE_REVIEW_REPORT, review(DM, "forward"))
    assert "only the last hop" in (await refused(case, UPDATE_REVIEW_REPORT, review(SECRETARY, "close"))).message
    state = await act(case, UPDATE_REVIEW_REPORT, review(SECRETARY, "forward"))
    assert state.reviewer_position_id == "pos-osd-cs"

    # Hop 3, the CS cell: it returns or closes, it cannot forward further.
    assert "last hop" in (await refused(case, UPDATE_REVIEW_REPORT, review(OSD, "forward"))).message
    assert case.count("final_report_reviewed") == 0
    assert citizen_notices(case, "closure") == []
    state = await act(case, UPDATE_REVIEW_REPORT, review(OSD, "close", note=""))
    assert state.status is CaseStatus.CLOSED
    assert state.reviewer_position_id == ""
    closed = one(case, "final_report_reviewed")
    assert closed.new_status is CaseStatus.CLOSED
    assert closed.actor.account_id == "acct-osd"
    assert closed.clear_deadline
    assert len(citizen_notices(case, "closure")) == 1
    assert one(case, "citizen_informed").payload["kind"] == "closure"
    assert (await case.handle.result()).status is CaseStatus.CLOSED


async def test_C7_C5_each_review_hop_has_its_own_working_day_and_a_return_stops_the_review(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await act(case, UPDATE_SUBMIT_REPORT, c4_report("preliminary"))
    await act(case, UPDATE_SUBMIT_REPORT, c4_report("final"))
    first = await case.clock("final_review")
    assert first.deadline is not None
    assert first.started_at is not None
    assert first.deadline - first.started_at >= DAY  # one working day: a Sunday or a holiday makes it longer

    # The DM forwards a minute before its working day ends: the secretary gets a working day of its own.
    await case.advance(first.deadline - await now(case) - MINUTE)
    await act(case, UPDATE_REVIEW_REPORT, review(DM, "forward"))
    second = await case.clock("final_review")
    assert second.started_at is not None
    assert second.deadline is not None
    assert second.started_at > first.started_at
    assert second.deadline - second.started_at >= DAY
    await case.advance(2 * MINUTE)  # past the DM's deadline
    assert case.count("escalated") == 0

    # The secretary returns it for more information: the review ends, the officer is told.
    state = await act(case, UPDATE_REVIEW_REPORT, review(SECRETARY, "return", "Attach the dealer's statement."))
    assert state.reviewer_position_id == ""
    assert state.status is not CaseStatus.CLOSED
    returned = one(case, "final_report_returned")
    assert returned.payload["decision"] == "return"
    assert not (await case.clock("final_review")).running
    assert len(officer_notices(case, "review_returned", "pos-dso-pat")) == 1
    await case.advance(second.deadline - await now(case) + MINUTE)
    assert case.count("escalated") == 0

    # The officer's next final report starts the chain again at the DM, with a fresh working day ...
    state = await act(case, UPDATE_SUBMIT_REPORT, c4_report("final"))
    assert state.reviewer_position_id == "pos-dm-pat"
    third = await case.clock("final_review")
    assert third.deadline is not None
    await case.advance(third.deadline - await now(case) - MINUTE)
    assert case.count("escalated") == 0
    # ... and a hop that lets its day pass sends the case to the OSD (C7/C8).
    await case.advance(2 * MINUTE)
    [escalated] = case.fake.transitions("escalated")
    assert escalated.new_assignment is not None
    assert escalated.new_assignment.position_id == "pos-osd-cs"


# --- C6 / B2: information from the citizen ----------------------------------------------------------------------


async def test_B2_C6_request_info_pauses_the_decision_clock_and_only_the_complainants_answer_resumes_it(
    run_case: Any,
) -> None:
    case = await run_case(case_input(track="bpgra"))
    before = await case.clock("decision")
    assert before.deadline is not None
    await case.advance(5 * DAY)
    question = InfoRequestInput(question="Please give your ration card application number.", by_account_id="acct-dso")
    await denied(case, UPDATE_REQUEST_INFO, InfoRequestInput(question=question.question, by_account_id="x", caller=RAM))
    nearest_before = nearest(await clocks(case))
    state = await act(case, UPDATE_REQUEST_INFO, InfoRequestInput(question.question, "acct-dso", caller=DSO))
    assert state.status is CaseStatus.AWAITING_CITIZEN
    assert len(citizen_notices(case, "information_request")) == 1
    message = (await refused(case, UPDATE_REQUEST_INFO, InfoRequestInput(question.question, "acct-dso", DSO))).message
    assert "awaiting_citizen" in message
    paused = await case.clock("decision")
    assert paused.paused
    assert paused.deadline is None
    # The request's record carries the deadline as it stood; then the timeline follows the pause: no deadline runs
    # while the case waits for the citizen.
    asked = one(case, "info_requested")
    assert (asked.current_deadline, asked.deadline_clock) == nearest_before
    assert case.fake.transitions("deadline_set")[-1].clear_deadline

    await case.advance(20 * DAY)
    answer = "Application no. 1234/2026"
    await denied(case, UPDATE_CITIZEN_RESPONDED, CitizenResponseInput(answer, "acct-ram", caller=RAM))
    await denied(case, UPDATE_CITIZEN_RESPONDED, CitizenResponseInput(answer, "acct-dso", caller=DSO))
    assert case.count("citizen_responded") == 0
    state = await act(case, UPDATE_CITIZEN_RESPONDED, CitizenResponseInput(answer, "acct-sita", caller=SITA))
    assert state.status is CaseStatus.IN_PROGRESS
    resumed = await case.clock("decision")
    assert resumed.deadline is not None
    assert not resumed.paused
    assert 20 * DAY - MINUTE <= resumed.deadline - before.deadline <= 20 * DAY + MINUTE
    responded = one(case, "citizen_responded")
    assert responded.actor.account_id == "acct-sita"
    assert responded.payload["response"] == answer
    assert len(officer_notices(case, "citizen_response", "pos-dso-pat")) == 1
    synced = case.fake.transitions("deadline_set")[-1]
    assert (synced.current_deadline, synced.deadline_clock) == (resumed.deadline, "decision")
    again = await refused(case, UPDATE_CITIZEN_RESPONDED, CitizenResponseInput(answer, "acct-sita", caller=SITA))
    assert "no information was requested" in again.message
    assert "in_progress" in again.message


# --- Sahyog: show-cause replies, status updates, interim and scheme orders, rejection, disposal ----------------------


async def test_S9_show_cause_reply_only_by_the_holder_of_the_post_the_notice_names(run_case: Any) -> None:
    case, notice = await run_until_show_cause(run_case)
    await denied(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DM, notice.id))
    await denied(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DELEGATE, notice.id))
    never_issued = await refused(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DSO, "notice-never-issued"))
    assert "no such show-cause notice" in never_issued.message
    assert case.count("show_cause_replied") == 0

    answered = await notice_act(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DSO, notice.id))
    assert answered.reply == REPLY
    assert answered.replied_at is not None
    assert one(case, "show_cause_replied").payload["notice_id"] == notice.id
    # The DM above the case reviews the reply (S18) and is told of it.
    assert len(officer_notices(case, "show_cause_reply", "pos-dm-pat")) == 1
    assert "already answered" in (await refused(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DSO, notice.id))).message


async def test_S11_status_update_report_after_day_20_counts_as_an_action_report(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(20 * DAY + MINUTE)
    assert len(case.notices("status_update_due")) == 1
    assert case.count("show_cause_issued") == 1
    update = report("status_update", action_taken="Card printed; dispatch to the block office on Monday.")
    await act(case, UPDATE_SUBMIT_REPORT, update)
    assert one(case, "status_update_report").payload["kind"] == "status_update"
    await case.advance(DAY)  # past day 21
    assert case.count("show_cause_issued") == 1


async def test_S18_dm_recommends_on_the_reply_then_the_commissioner_acts_each_only_from_their_post(
    run_case: Any,
) -> None:
    case, notice = await run_until_show_cause(run_case)
    await notice_act(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DSO, notice.id))

    def recommend(caller: Caller, by_role: str = "DM", decision: str = "") -> RecommendationInput:
        text = "Censure entry recommended." if by_role == "DM" else "Censure entry approved; order issued."
        return RecommendationInput(notice.id, text, caller.account_id, by_role, decision, caller)

    early = await refused(case, UPDATE_RECORD_RECOMMENDATION, recommend(COMMISSIONER, "COMMISSIONER", "act"))
    assert "DM has not recommended" in early.message
    await denied(case, UPDATE_RECORD_RECOMMENDATION, recommend(DSO))
    await denied(case, UPDATE_RECORD_RECOMMENDATION, recommend(COMMISSIONER))
    await denied(case, UPDATE_RECORD_RECOMMENDATION, recommend(SITA))
    assert case.count("recommended") == 0

    recommended = await notice_act(case, UPDATE_RECORD_RECOMMENDATION, recommend(DM))
    assert recommended.recommendation == "Censure entry recommended."
    assert one(case, "recommended").actor.account_id == "acct-dm"
    assert len(officer_notices(case, "recommendation", "pos-comm-patna")) == 1
    assert "already recommended" in (await refused(case, UPDATE_RECORD_RECOMMENDATION, recommend(DM))).message

    await denied(case, UPDATE_RECORD_RECOMMENDATION, recommend(DM, "COMMISSIONER", "act"))
    assert (
        "decision"
        in (await refused(case, UPDATE_RECORD_RECOMMENDATION, recommend(COMMISSIONER, "COMMISSIONER"))).message
    )
    await notice_act(case, UPDATE_RECORD_RECOMMENDATION, recommend(COMMISSIONER, "COMMISSIONER", "act"))
    acted = one(case, "commissioner_acted")
    assert acted.payload["decision"] == "act"
    assert acted.actor.account_id == "acct-comm"
    again = await refused(case, UPDATE_RECORD_RECOMMENDATION, recommend(COMMISSIONER, "COMMISSIONER", "forward"))
    assert "already acted" in again.message
    await case.advance(DAY + MINUTE)
    assert "S18" not in [b.rule for b in case.fake.breaches.values()]  # both acted within their day


def interim(caller: Caller = DSO, target_date: datetime | None = None) -> InterimOrderInput:
    return InterimOrderInput(
        order="Service to be delivered by the target date.",
        by_account_id=caller.account_id,
        target_date=target_date,
        responsible_account_id=caller.account_id,
        caller=caller,
    )


@pytest.mark.parametrize("limit", [15, 30])
async def test_S12_a_service_limited_to_30_days_or_less_gets_no_interim_order(run_case: Any, limit: int) -> None:
    case = await run_case(case_input(service_days=limit))
    await case.advance(30 * DAY + MINUTE)
    assert case.count("interim_order_due") == 1
    refusal = await refused(case, UPDATE_INTERIM_ORDER, interim(target_date=await now(case) + 5 * DAY))
    assert f"limit is {limit} days" in refusal.message
    assert case.count("interim_order_issued") == 0
    assert (await case.handle.query("state", result_type=LifecycleState)).status is not CaseStatus.DISPOSED


async def test_S12_a_service_over_30_days_needs_a_future_target_date_and_the_order_disposes(run_case: Any) -> None:
    case = await run_case(case_input(service_days=45))
    await case.advance(30 * DAY + MINUTE)
    target = await now(case) + 15 * DAY
    await denied(case, UPDATE_INTERIM_ORDER, interim(DM, target))
    assert "target_date" in (await refused(case, UPDATE_INTERIM_ORDER, interim())).message
    past = await refused(case, UPDATE_INTERIM_ORDER, interim(target_date=await now(case) - DAY))
    assert "future" in past.message
    assert case.count("interim_order_issued") == 0

    state = await act(case, UPDATE_INTERIM_ORDER, interim(target_date=target))
    assert state.status is CaseStatus.DISPOSED
    issued = one(case, "interim_order_issued")
    assert issued.payload["target_date"] == target.isoformat()
    assert issued.payload["responsible_account_id"] == "acct-dso"
    assert issued.new_status is CaseStatus.DISPOSED
    assert issued.clear_deadline
    assert len(citizen_notices(case, "interim_order")) == 1
    await case.advance(DAY)
    assert "S13" not in [b.rule for b in case.fake.breaches.values()]
    assert (await case.handle.result()).status is CaseStatus.DISPOSED


async def test_S12_a_service_without_a_statutory_limit_may_take_an_interim_order(run_case: Any) -> None:
    case = await run_case(case_input(service_days=0))
    state = await act(case, UPDATE_INTERIM_ORDER, interim())
    assert state.status is CaseStatus.DISPOSED
    assert "target_date" not in one(case, "interim_order_issued").payload


async def test_S14_scheme_order_disposes_and_a_copy_goes_to_the_departments_secretary(run_case: Any) -> None:
    case = await run_case(case_input())
    order = "Pension sanctioned under the state scheme from April."
    recommendation = "Recommend including the complainant in the next disbursement."

    def scheme(caller: Caller, rec: str = recommendation) -> SchemeOrderInput:
        return SchemeOrderInput(order, rec, caller.account_id, caller)

    await denied(case, UPDATE_SCHEME_ORDER, scheme(SITA))
    await denied(case, UPDATE_SCHEME_ORDER, scheme(DM))
    assert "recommendation" in (await refused(case, UPDATE_SCHEME_ORDER, scheme(DSO, "ok"))).message
    state = await act(case, UPDATE_SCHEME_ORDER, scheme(DSO))
    assert state.status is CaseStatus.DISPOSED
    issued = one(case, "scheme_order_issued")
    assert issued.payload["copied_to_position_id"] == "pos-sec-food"
    assert issued.payload["recommendation"] == recommendation
    assert issued.clear_deadline
    [copy] = officer_notices(case, "scheme_order_copy", "pos-sec-food")
    assert recommendation in copy.params["detail_en"]
    assert len(citizen_notices(case, "scheme_order")) == 1
    assert (await case.handle.result()).status is CaseStatus.DISPOSED


async def test_S15_rejection_by_the_holder_with_ground_and_reason_tells_the_citizen(run_case: Any) -> None:
    case = await run_case(case_input())
    reason = "Land dispute pending before the civil court."
    assert "ground" in (await refused(case, UPDATE_REJECT, RejectInput("mood", reason, "acct-dso", DSO))).message
    assert "reason" in (await refused(case, UPDATE_REJECT, RejectInput("competence", "no", "acct-dso", DSO))).message
    await denied(case, UPDATE_REJECT, RejectInput("competence", reason, "acct-dm", DM))
    await denied(case, UPDATE_REJECT, RejectInput("competence", reason, "acct-nodal", DELEGATE))
    assert case.count("rejected") == 0

    state = await act(case, UPDATE_REJECT, RejectInput("competence", reason, "acct-dso", DSO))
    assert state.status is CaseStatus.REJECTED
    rejected = one(case, "rejected")
    assert rejected.payload == {"ground": "competence", "reason": reason}
    assert rejected.clear_deadline
    [told] = citizen_notices(case, "rejection")
    assert told.params["detail_en"] == reason
    assert one(case, "citizen_informed").payload["kind"] == "rejection"
    assert (await case.handle.result()).status is CaseStatus.REJECTED


async def test_S9_S17_dispose_once_by_the_holder_never_a_delegate_and_the_timeline_carries_the_nearest_deadline(
    run_case: Any,
) -> None:
    case = await run_case(case_input())
    # Every record once the clocks run carries the case's nearest deadline: at first the L1's 3 days (S8). The
    # start is one write (the assignment and the acknowledgement), so no deadline_set record is needed for it.
    assert case.fake.transitions("deadline_set") == []
    for started in (one(case, "assigned"), one(case, "acknowledgement_sent")):
        assert (started.current_deadline, started.deadline_clock) == nearest(await clocks(case))
        assert started.deadline_clock == "l1_forward"

    await case.advance(10 * DAY + MINUTE)
    [notice] = case.fake.show_causes.values()
    await notice_act(case, UPDATE_REPLY_SHOW_CAUSE, reply_by(DSO, notice.id))
    replied = one(case, "show_cause_replied")
    assert replied.current_deadline is not None
    assert replied.deadline_clock == "status_update"  # day 20, as the clocks stood when the reply came in
    # The reply started the DM's 1-day review (S18), now the nearest: a deadline_set record moved intake to it.
    moved = case.fake.transitions("deadline_set")[-1]
    assert (moved.current_deadline, moved.deadline_clock) == nearest(await clocks(case))
    assert moved.deadline_clock == "dm_review_of_reply"
    assert all(
        t.current_deadline is not None or t.clear_deadline
        for t in case.fake.calls[4:]
        if isinstance(t, TransitionInput)
    )

    assert "delegate" in (await denied(case, UPDATE_DISPOSE, dispose_by(DELEGATE))).message
    await denied(case, UPDATE_DISPOSE, dispose_by(SITA))
    await denied(case, UPDATE_DISPOSE, dispose_by(DM))
    assert case.count("disposed") == 0

    state = await act(case, UPDATE_DISPOSE, dispose_by(DSO))
    assert state.status is CaseStatus.DISPOSED
    disposed = one(case, "disposed")
    assert disposed.clear_deadline
    assert disposed.current_deadline is None
    assert disposed.deadline_clock == ""
    assert len(citizen_notices(case, "disposal")) == 1
    assert case.fake.transitions("deadline_set")[-1] is moved  # the disposal record itself cleared the deadline
    # The DM's review of the reply still runs (S18), so the case is open to acts: a second disposal is refused.
    second = await refused(case, UPDATE_DISPOSE, dispose_by(DSO))
    assert "already disposed" in second.message
    assert "(the case is disposed" in second.message
    assert case.count("disposed") == 1


async def test_S12_a_disposal_while_the_interim_order_is_being_recorded_is_refused(run_case: Any) -> None:
    gate = asyncio.Event()
    # A short workflow task timeout: the held record is a local activity, and the act waits for the task's beat.
    case = await run_case(
        case_input(service_days=0),
        FakeServices(disposal_gate=gate, gated_event="interim_order_issued"),
        task_timeout=timedelta(seconds=2),
    )
    order = await case.handle.start_update(
        UPDATE_INTERIM_ORDER, interim(), wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=LifecycleState
    )
    refusal = await refused_in_flight(case, gate, UPDATE_DISPOSE, dispose_by(DSO))
    assert (await order.result()).status is CaseStatus.DISPOSED
    assert "already disposed" in refusal.message
    assert case.count("disposed") == 0
    assert case.count("interim_order_issued") == 1


async def test_C5_a_disposal_while_the_closure_is_being_recorded_is_refused(run_case: Any) -> None:
    gate = asyncio.Event()
    case = await run_case(
        case_input(track="cspgrs"),
        FakeServices(disposal_gate=gate, gated_event="final_report_reviewed"),
        task_timeout=timedelta(seconds=2),
    )
    await assigned_by_the_cell(case)
    await act(case, UPDATE_SUBMIT_REPORT, c4_report("final"))
    await act(case, UPDATE_REVIEW_REPORT, review(DM, "forward"))
    await act(case, UPDATE_REVIEW_REPORT, review(SECRETARY, "forward"))
    closing = await case.handle.start_update(
        UPDATE_REVIEW_REPORT,
        review(OSD, "close", note=""),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        result_type=LifecycleState,
    )
    refusal = await refused_in_flight(case, gate, UPDATE_DISPOSE, dispose_by(DSO))
    assert (await closing.result()).status is CaseStatus.CLOSED
    assert "already disposed" in refusal.message
    assert case.count("disposed") == 0


async def test_C5_C7_no_disposal_by_the_officer_while_the_final_report_is_under_review(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await act(case, UPDATE_SUBMIT_REPORT, c4_report("final"))

    refusal = await refused(case, UPDATE_DISPOSE, dispose_by(DSO))

    assert "under review" in str(refusal.message)
    assert case.count("disposed") == 0


async def test_C7_a_case_the_lifecycle_disposes_while_its_report_is_under_review_is_not_escalated(
    run_case: Any,
) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await act(case, UPDATE_SUBMIT_REPORT, c4_report("final"))
    review_clock = await case.clock("final_review")
    assert review_clock.deadline is not None
    # Without a caller: the lifecycle's own (in-process) path, which the C5 refusal above does not apply to.
    await act(case, UPDATE_DISPOSE, dataclasses.replace(dispose_by(DSO), caller=None))
    await case.advance(review_clock.deadline - await now(case) + MINUTE)
    assert case.count("escalated") == 0
    state = await case.handle.query("state", result_type=LifecycleState)
    assert (state.status, state.position_id) == (CaseStatus.DISPOSED, "pos-dso-pat")
    assert (await case.handle.result()).status is CaseStatus.DISPOSED
