"""The citizen's recourse after a case ends (issue 10): reopening within the policy's window, the H3 feedback loop
and the M4 post-closure watch, through the real lifecycle workflow on the time-skipping Temporal server with the
shipped policy files (v2 has `recourse`: 30 days, 2 returns, watch reminders every 7 days). The services behind
the activities are the recorders of fakes.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from nivaran_common.casework import PERMISSION_DENIED, Caller
from nivaran_sla.case_inputs import (
    AtrAcceptanceInput,
    CallOutcome,
    DuplicateInput,
    FeedbackInput,
    FeedbackSource,
    ReopenInput,
    WatchInput,
    WatchReportInput,
)
from nivaran_sla.domain import (
    UPDATE_ACCEPT_ATR,
    UPDATE_CLOSE_WATCH,
    UPDATE_DISPOSE,
    UPDATE_FEEDBACK,
    UPDATE_MARK_DUPLICATE,
    UPDATE_OPEN_WATCH,
    UPDATE_REJECT,
    UPDATE_REOPEN,
    CaseStatus,
    DisposeInput,
    RejectInput,
)

from .fakes import FakeServices, policies_without_recourse
from .test_acts_rules import DM, DSO, RAM, SITA, act, refused
from .test_rules import DAY, MINUTE, Case, case_input, case_runner, time_skipping_server

CALL_CENTRE = Caller(account_id="acct-cc", kind="operator", district_code="PAT", roles=("CALL_CENTRE",))
CALL_CENTRE_NALANDA = Caller(account_id="acct-cc-nal", kind="operator", district_code="NAL", roles=("CALL_CENTRE",))
REASON = "The ration card was promised but never reached me / राशन कार्ड अब तक नहीं मिला"


@pytest_asyncio.fixture(scope="module")
async def recourse_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(recourse_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(recourse_env) as go:
        yield go


def disposal() -> DisposeInput:
    return DisposeInput(disposed_by="acct-dso", outcome="राशन कार्ड जारी किया गया / card issued", caller=DSO)


def rating(stars: int, resolved: bool | None, by: Caller = SITA) -> FeedbackInput:
    return FeedbackInput(
        source=FeedbackSource.CITIZEN, resolved=resolved, rating=stars, by_account_id=by.account_id, caller=by
    )


def call(outcome: CallOutcome, recording: str = "rec-2026-0042", by: Caller = CALL_CENTRE) -> FeedbackInput:
    resolved = {CallOutcome.SATISFIED: True, CallOutcome.NOT_SATISFIED: False}.get(outcome)
    return FeedbackInput(
        source=FeedbackSource.CALL_CENTRE,
        resolved=resolved,
        call_outcome=outcome,
        recording_ref=recording,
        comment="Called at 11:05",
        by_account_id=by.account_id,
        caller=by,
    )


async def disposed_case(run_case: Any, fake: FakeServices | None = None) -> Case:
    case: Case = await run_case(case_input(), fake)
    await case.advance(2 * DAY)
    state = await act(case, UPDATE_DISPOSE, disposal())
    assert state.status is CaseStatus.DISPOSED
    return case


async def test_H3_the_claimed_resolution_goes_at_once_to_the_senior_officer(run_case: Any) -> None:
    case = await disposed_case(run_case)
    [told] = case.notices("resolution_claimed")
    assert told.recipient.position_id == "pos-dm-pat"
    assert told.params["rule"] == "H3"
    assert "H3" in told.params["headline_en"]
    assert told.params["headline_hi"]


async def test_H3_feedback_that_contradicts_the_resolution_makes_the_case_unresolved_with_fresh_clocks(
    run_case: Any,
) -> None:
    case = await disposed_case(run_case)
    back_at = await case.env.get_current_time()
    state = await act(case, UPDATE_FEEDBACK, rating(1, resolved=False))
    assert state.status is CaseStatus.UNRESOLVED
    assert state.position_id == "pos-dso-pat"
    [recorded] = case.fake.transitions("feedback_recorded")
    assert recorded.payload == {"source": "citizen", "resolved": False, "rating": 1, "returns_the_case": True}
    assert recorded.actor.role == "citizen"
    [unresolved] = case.fake.transitions("unresolved")
    assert unresolved.new_status is CaseStatus.UNRESOLVED
    # The record carries the new nearest deadline: the L1's 3 days, from now.
    assert unresolved.current_deadline is not None
    assert abs(unresolved.current_deadline - (back_at + 3 * DAY)) < timedelta(minutes=5)
    officer = [n for n in case.notices("unresolved") if n.recipient.position_id == "pos-dso-pat"]
    assert len(officer) == 1
    assert officer[0].params["rule"] == "H3"
    # The S9 clock runs afresh: a show-cause 10 days after the return, though the first run had none.
    clock = await case.clock("first_show_cause")
    assert clock.running
    await case.advance(10 * DAY - MINUTE)
    assert case.count("show_cause_issued") == 0
    await case.advance(2 * MINUTE)
    assert case.count("show_cause_issued") == 1
    # It can be disposed again, and rated again.
    again = await act(case, UPDATE_DISPOSE, disposal())
    assert again.status is CaseStatus.DISPOSED
    # The second disposal is a record of its own on the timeline, not taken for a retry of the first.
    assert [t.new_status for t in case.fake.transitions("disposed")] == [CaseStatus.DISPOSED, CaseStatus.DISPOSED]
    kept = await act(case, UPDATE_FEEDBACK, rating(5, resolved=True))
    assert kept.status is CaseStatus.DISPOSED


async def test_H3_the_call_centre_records_its_calls_and_not_satisfied_returns_the_case(run_case: Any) -> None:
    case = await disposed_case(run_case)
    missing = await refused(case, UPDATE_FEEDBACK, call(CallOutcome.SATISFIED, recording=""))
    assert "recording_ref" in str(missing)
    elsewhere = await refused(case, UPDATE_FEEDBACK, call(CallOutcome.NOT_SATISFIED, by=CALL_CENTRE_NALANDA))
    assert elsewhere.type == PERMISSION_DENIED
    officer = Caller(account_id="acct-dso", kind="officer", position_ids=("pos-dso-pat",), district_code="PAT")
    not_staff = await refused(case, UPDATE_FEEDBACK, call(CallOutcome.SATISFIED, by=officer))
    assert not_staff.type == PERMISSION_DENIED
    state = await act(case, UPDATE_FEEDBACK, call(CallOutcome.NOT_REACHABLE, recording=""))
    assert state.status is CaseStatus.DISPOSED
    state = await act(case, UPDATE_FEEDBACK, call(CallOutcome.NOT_SATISFIED))
    assert state.status is CaseStatus.UNRESOLVED
    calls = case.fake.transitions("feedback_recorded")
    assert [c.payload["call_outcome"] for c in calls] == ["not_reachable", "not_satisfied"]
    assert calls[1].payload["recording_ref"] == "rec-2026-0042"
    assert calls[1].actor.role == "operator"
    assert case.count("unresolved") == 1


def acceptance(by: Caller = DM) -> AtrAcceptanceInput:
    note = "Call record and rating seen / कॉल और रेटिंग देखी"
    return AtrAcceptanceInput(note=note, by_account_id=by.account_id, caller=by)


async def test_H3_the_senior_officer_accepts_the_report_after_the_feedback_and_the_case_is_closed(
    run_case: Any,
) -> None:
    case = await disposed_case(run_case)
    not_senior = await refused(case, UPDATE_ACCEPT_ATR, acceptance(DSO))
    assert not_senior.type == PERMISSION_DENIED  # the officer does not accept their own report
    await act(case, UPDATE_FEEDBACK, call(CallOutcome.SATISFIED))
    await act(case, UPDATE_FEEDBACK, rating(4, resolved=True))
    closed = await act(case, UPDATE_ACCEPT_ATR, acceptance())
    assert closed.status is CaseStatus.CLOSED
    [accepted] = case.fake.transitions("atr_accepted")
    assert accepted.new_status is CaseStatus.CLOSED
    # What the senior officer had before them: both feedbacks (their details are on the timeline before it).
    assert accepted.payload["feedback_seen"] == ["call_centre", "citizen"]
    assert accepted.payload["by_position_id"] == "pos-dm-pat"
    events = case.fake.events()
    assert events.index("feedback_recorded") < events.index("atr_accepted")
    [told] = case.notices("atr_accepted")
    assert "reopen" in told.params["detail_en"]
    twice = await refused(case, UPDATE_ACCEPT_ATR, acceptance())
    assert "once" in str(twice)
    # Closed is not the end of the complainant's recourse within the window.
    reopened = await act(case, UPDATE_REOPEN, ReopenInput(reason=REASON, by_account_id=SITA.account_id, caller=SITA))
    assert reopened.status is CaseStatus.REOPENED


async def test_H3_an_unresolved_case_has_no_report_to_accept(run_case: Any) -> None:
    case = await disposed_case(run_case)
    await act(case, UPDATE_FEEDBACK, rating(1, resolved=False))
    refusal = await refused(case, UPDATE_ACCEPT_ATR, acceptance())
    assert "disposed" in str(refusal)
    assert case.count("atr_accepted") == 0


async def test_H3_the_complainant_rates_a_disposal_once_and_only_the_complainant(run_case: Any) -> None:
    case = await disposed_case(run_case)
    stranger = await refused(case, UPDATE_FEEDBACK, rating(4, resolved=True, by=RAM))
    assert stranger.type == PERMISSION_DENIED
    no_verdict = await refused(case, UPDATE_FEEDBACK, rating(4, resolved=None))
    assert "resolved" in str(no_verdict)
    state = await act(case, UPDATE_FEEDBACK, rating(4, resolved=True))
    assert state.status is CaseStatus.DISPOSED
    twice = await refused(case, UPDATE_FEEDBACK, rating(1, resolved=False))
    assert "already rated" in str(twice)
    assert case.count("unresolved") == 0


async def test_H3_feedback_on_a_case_still_open_is_refused(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    early = await refused(case, UPDATE_FEEDBACK, rating(2, resolved=False))
    assert "disposed or closed" in str(early)
    assert case.count("feedback_recorded") == 0


async def test_reopen_within_the_window_returns_the_case_with_every_clock_afresh(run_case: Any) -> None:
    case = await disposed_case(run_case)
    await case.advance(30 * DAY - MINUTE)  # the window's last minute
    state = await act(case, UPDATE_REOPEN, ReopenInput(reason=REASON, by_account_id="acct-sita", caller=SITA))
    assert state.status is CaseStatus.REOPENED
    [reopened] = case.fake.transitions("reopened")
    assert reopened.new_status is CaseStatus.REOPENED
    assert reopened.payload["reason"] == REASON
    assert reopened.payload["return"] == 1
    told = [n for n in case.notices() if n.dedupe_key.endswith(("reopened_officer:1:pos-dso-pat:sla_notice",))]
    assert len(told) == 1
    citizen = [n for n in case.notices() if "citizen_reopened" in n.dedupe_key]
    assert [n.recipient.kind.value for n in citizen] == ["citizen"]
    await case.advance(10 * DAY + MINUTE)
    assert case.count("show_cause_issued") == 1
    await case.advance(11 * DAY)
    assert case.count("show_cause_issued") == 2  # S11: day 21 of the new run


async def test_reopen_after_the_window_is_refused_and_the_lifecycle_ends(run_case: Any) -> None:
    case = await disposed_case(run_case)
    await case.advance(30 * DAY + MINUTE)
    result = await case.handle.result()
    assert result.status.value == "disposed"
    # The lifecycle has ended: no Update reaches it (sla's ActOnCase answers FAILED_PRECONDITION, the case named).
    with pytest.raises((RPCError, WorkflowUpdateFailedError)):
        await case.handle.execute_update(UPDATE_REOPEN, ReopenInput(reason=REASON, caller=SITA))
    assert case.count("reopened") == 0


async def test_reopen_is_refused_with_its_reason_and_nothing_applied(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    still_open = await refused(case, UPDATE_REOPEN, ReopenInput(reason=REASON, caller=SITA))
    assert "disposed or closed" in str(still_open)
    await act(case, UPDATE_DISPOSE, disposal())
    short = await refused(case, UPDATE_REOPEN, ReopenInput(reason="no", caller=SITA))
    assert "reason" in str(short)
    stranger = await refused(case, UPDATE_REOPEN, ReopenInput(reason=REASON, caller=RAM))
    assert stranger.type == PERMISSION_DENIED
    officer = await refused(case, UPDATE_REOPEN, ReopenInput(reason=REASON, caller=DSO))
    assert officer.type == PERMISSION_DENIED
    assert case.count("reopened") == 0
    # Twice back (policy max_returns 2), then no more: the complainant appeals instead.
    for _ in range(2):
        await act(case, UPDATE_REOPEN, ReopenInput(reason=REASON, caller=SITA))
        await act(case, UPDATE_DISPOSE, disposal())
    third = await refused(case, UPDATE_REOPEN, ReopenInput(reason=REASON, caller=SITA))
    assert "appeal" in str(third)
    assert case.count("reopened") == 2
    # Feedback is still recorded, but "not fixed" no longer returns the case.
    state = await act(case, UPDATE_FEEDBACK, rating(1, resolved=False))
    assert state.status is CaseStatus.DISPOSED
    assert case.fake.transitions("feedback_recorded")[-1].payload["returns_the_case"] is False


async def test_reopen_a_rejected_case_is_refused(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    await act(
        case,
        UPDATE_REJECT,
        RejectInput(ground="competence", reason="Not within this office's competence", by_account_id="a", caller=DSO),
    )
    # A rejection is answered by appeal: the lifecycle ends with it, and no act reaches it any more.
    result = await case.handle.result()
    assert result.status.value == "rejected"
    with pytest.raises((RPCError, WorkflowUpdateFailedError)):
        await case.handle.execute_update(UPDATE_REOPEN, ReopenInput(reason=REASON, caller=SITA))
    assert case.count("reopened") == 0


async def test_reopen_a_case_under_a_policy_without_recourse_ends_with_the_case(run_case: Any) -> None:
    fake = FakeServices(policies=policies_without_recourse())
    case = await disposed_case(run_case, fake)
    result = await case.handle.result()
    assert result.status.value == "disposed"
    assert case.notices("resolution_claimed") == []


# --- M4: the post-closure watch ---------------------------------------------------------------------------------

ITEM = "Encroachment case 14/2026 registered; removal pending / अतिक्रमण वाद दर्ज, हटाना शेष"
REMOVED = "Encroachment removed on site, report of the circle officer attached / अतिक्रमण हटाया गया"


async def test_M4_a_case_under_watch_reminds_its_officer_weekly_until_the_report_and_outlives_the_window(
    run_case: Any,
) -> None:
    case = await disposed_case(run_case)
    state = await act(case, UPDATE_OPEN_WATCH, WatchInput(item=ITEM, by_account_id="acct-dso", caller=DSO))
    assert state.status is CaseStatus.DISPOSED
    [opened] = case.fake.transitions("watch_opened")
    assert opened.payload == {"item": ITEM, "remind_every": "P7D"}
    await case.advance(7 * DAY - MINUTE)
    assert case.notices("watch_reminder") == []
    await case.advance(2 * MINUTE)
    [first] = case.notices("watch_reminder")
    assert (first.recipient.position_id, first.params["rule"]) == ("pos-dso-pat", "M4")
    assert ITEM in first.params["detail_en"]
    # Past the 30-day recourse window the case stays open while the watch does: reminders on days 7, 14, 21, 28, 35.
    await case.advance(28 * DAY)
    assert len(case.notices("watch_reminder")) == 5
    description = await case.handle.describe()
    assert description.status is not None
    assert description.status.name == "RUNNING"
    state = await act(case, UPDATE_CLOSE_WATCH, WatchReportInput(report=REMOVED, by_account_id="acct-dso", caller=DSO))
    [closed] = case.fake.transitions("watch_closed")
    assert (closed.payload["item"], closed.payload["report"]) == (ITEM, REMOVED)
    # The window is over and no watch is open: the lifecycle ends, and reminds no more.
    result = await case.handle.result()
    assert result.status.value == "disposed"
    assert len(case.notices("watch_reminder")) == 5


async def test_M4_a_watch_is_the_officers_on_an_ended_case_one_at_a_time(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    early = await refused(case, UPDATE_OPEN_WATCH, WatchInput(item=ITEM, caller=DSO))
    assert "disposed or closed" in str(early)
    await act(case, UPDATE_DISPOSE, disposal())
    nothing = await refused(case, UPDATE_CLOSE_WATCH, WatchReportInput(report=REMOVED, caller=DSO))
    assert "no watch" in str(nothing)
    short = await refused(case, UPDATE_OPEN_WATCH, WatchInput(item="later", caller=DSO))
    assert "item" in str(short)
    for stranger in (SITA, CALL_CENTRE):
        denied = await refused(case, UPDATE_OPEN_WATCH, WatchInput(item=ITEM, caller=stranger))
        assert denied.type == PERMISSION_DENIED
    await act(case, UPDATE_OPEN_WATCH, WatchInput(item=ITEM, caller=DSO))
    twice = await refused(case, UPDATE_OPEN_WATCH, WatchInput(item=ITEM, caller=DSO))
    assert "already under watch" in str(twice)
    report_by_citizen = await refused(case, UPDATE_CLOSE_WATCH, WatchReportInput(report=REMOVED, caller=SITA))
    assert report_by_citizen.type == PERMISSION_DENIED
    assert case.count("watch_opened") == 1
    assert case.count("watch_closed") == 0


# --- duplicates ---------------------------------------------------------------------------------------------------

ORIGINAL = "BR-PAT-2026-0000007-3"


async def test_a_duplicate_is_closed_naming_the_original_and_may_still_be_reopened(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    itself = await refused(
        case, UPDATE_MARK_DUPLICATE, DuplicateInput(original_registration_number="BR-PAT-2026-0000042-5", caller=DSO)
    )
    assert "itself" in str(itself)
    stranger = await refused(
        case, UPDATE_MARK_DUPLICATE, DuplicateInput(original_registration_number=ORIGINAL, caller=SITA)
    )
    assert stranger.type == PERMISSION_DENIED
    state = await act(
        case,
        UPDATE_MARK_DUPLICATE,
        DuplicateInput(
            original_registration_number=ORIGINAL, note="same ration card", by_account_id="acct-dso", caller=DSO
        ),
    )
    assert state.status is CaseStatus.CLOSED
    [closed] = case.fake.transitions("marked_duplicate")
    assert closed.payload == {"duplicate_of": ORIGINAL, "note": "same ration card"}
    assert closed.new_status is CaseStatus.CLOSED
    told = [
        n for n in case.notices() if n.recipient.kind.value == "citizen" and ORIGINAL in n.params.get("headline_en", "")
    ]
    assert len(told) == 1
    assert ORIGINAL in told[0].params["headline_hi"]
    again = await refused(
        case, UPDATE_MARK_DUPLICATE, DuplicateInput(original_registration_number=ORIGINAL, caller=DSO)
    )
    assert "disposed" in str(again)
    # Wrongly marked? The complainant reopens it within the window, like any closed case.
    reopened = await act(case, UPDATE_REOPEN, ReopenInput(reason="It is not the same grievance at all", caller=SITA))
    assert reopened.status is CaseStatus.REOPENED
