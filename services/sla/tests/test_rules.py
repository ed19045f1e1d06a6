"""Every deadline rule of the source orders, on the time-skipping Temporal server, with the shipped policy files.

Each test moves Temporal's clock with `env.sleep` and checks the boundary both ways: a moment before a deadline
nothing has happened; a moment after it, exactly one effect has. The services behind the activities are the
in-process recorders of fakes.py; the workflow, the policies and the deadline arithmetic are the real ones.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from nivaran.common.v1 import common_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.testing import eventually
from nivaran_sla.activities import ISSUE_SHOW_CAUSE, SEND_NOTICE
from nivaran_sla.domain import (
    ChargeTakenInput,
    CitizenResponseInput,
    ClockView,
    DisposeInput,
    ForwardInput,
    InfoRequestInput,
    MigratePolicyInput,
    NoticeInput,
    RecommendationInput,
    ReplyShowCauseInput,
    ReportInput,
    ReviewInput,
    TransferInput,
)
from nivaran_sla.policy import PolicyRegistry
from nivaran_sla.settings import WorkflowSandbox
from nivaran_sla.worker import build_worker
from nivaran_sla.workflows import GrievanceLifecycle

from .fakes import POLICIES, FakeServices, assigned_by_the_cell
from .test_workflows import start

MINUTE = timedelta(minutes=1)
REPLY = "Verification pending with the dealer; card in print."
DAY = timedelta(days=1)
_WORKFLOW_TASK_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}
_ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
}


def _activity_scheduled_id(event: HistoryEvent) -> int:
    """The id of the ActivityTaskScheduled event that a closing activity event refers to."""
    attributes = event.WhichOneof("attributes")
    return int(getattr(getattr(event, attributes), "scheduled_event_id", 0)) if attributes else 0


def case_input(
    track: str = "sahyog", position_id: str = "pos-dso-pat", service_days: int = 0
) -> sla_pb2.LifecycleInput:
    lifecycle = sla_pb2.LifecycleInput(
        grievance_id=str(uuid.uuid4()),
        registration_number="BR-PAT-2026-0000042-5",
        track=track,
        language="hi",
        location=common_pb2.Location(state_code="BR", district_code="PAT"),
        category_code="FOOD-RATION-CARD",
        department_code="FOOD",
        office_id="office-dso",
        position_id=position_id,
        complainant_name="सीता देवी",
        complainant_email="sita@example.in",
        complainant_account_id="acct-sita",
        category_name=common_pb2.LocalizedText(en="Ration card", hi="राशन कार्ड"),
        office_name=common_pb2.LocalizedText(en="District Supply Office", hi="जिला आपूर्ति कार्यालय"),
        position_title=common_pb2.LocalizedText(en="District Supply Officer", hi="जिला आपूर्ति पदाधिकारी"),
        service_time_limit_days=service_days,
    )
    lifecycle.filed_at.FromDatetime(datetime.now(UTC))
    return lifecycle


@dataclass
class Case:
    env: WorkflowEnvironment
    fake: FakeServices
    handle: WorkflowHandle[Any, Any]

    async def settle(self) -> None:
        """Wait until the workflow has nothing left to do at the current time (its activities are done)."""

        async def idle() -> bool:
            before = len(self.fake.calls)
            await self.handle.query(GrievanceLifecycle.state)
            return len(self.fake.calls) == before and await self._no_pending()

        await eventually(idle)

    async def _no_pending(self) -> bool:
        """No activity and no workflow task is outstanding. The history is read rather than `describe`, because
        between an activity's completion and the workflow task that acts on it neither is listed as pending."""
        open_tasks: set[int] = set()
        workflow_task_open = False
        async for event in self.handle.fetch_history_events():
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                workflow_task_open = True
            elif kind in _WORKFLOW_TASK_CLOSED:
                workflow_task_open = False
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                open_tasks.add(event.event_id)
            elif kind in _ACTIVITY_CLOSED:
                open_tasks.discard(_activity_scheduled_id(event))
        return not workflow_task_open and not open_tasks

    async def advance(self, by: timedelta) -> None:
        await self.env.sleep(by)
        await self.settle()

    def count(self, event_type: str) -> int:
        return len(self.fake.transitions(event_type))

    def notices(self, kind: str = "") -> list[NoticeInput]:
        return [c for c in self.fake.calls if isinstance(c, NoticeInput) and (not kind or c.params.get("kind") == kind)]

    async def clock(self, clock_id: str) -> ClockView:
        views: list[ClockView] = await self.handle.query("clocks", result_type=list[ClockView])
        return next(v for v in views if v.clock_id == clock_id)


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of a module's own: cases other modules leave running cannot stall its clock."""
    from nivaran_common.temporal import pydantic_data_converter
    from nivaran_common.testing import venv_binary

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def case_runner(env: WorkflowEnvironment) -> AsyncIterator[Any]:
    """`go(lifecycle, fake=None)` starts a case on `env` with a worker of its own and waits for its acknowledgement;
    every case is terminated and every worker stopped on exit."""
    workers = []
    handles: list[WorkflowHandle[Any, Any]] = []

    async def go(
        lifecycle: sla_pb2.LifecycleInput, fake: FakeServices | None = None, task_timeout: timedelta | None = None
    ) -> Case:
        fake = fake or FakeServices()
        queue = f"rules-{uuid.uuid4()}"
        # Temporal's strict sandbox: a non-deterministic call anywhere in the lifecycle's code fails these tests.
        worker = build_worker(env.client, queue, fake.activities(), sandbox=WorkflowSandbox.STRICT)
        await worker.__aenter__()
        workers.append(worker)
        # The test server's clock runs ahead of the wall clock; file the case "now" on that clock.
        lifecycle.filed_at.FromDatetime(await env.get_current_time())
        handle = await start(env.client, lifecycle, queue, task_timeout)
        handles.append(handle)
        case = Case(env, fake, handle)

        async def acknowledged() -> bool:
            return "acknowledgement_sent" in fake.events()

        await eventually(acknowledged)
        await case.settle()
        return case

    try:
        yield go
    finally:
        # A case left running would keep timers on the time-skipping server and stall the next test's sleeps.
        for handle in handles:
            with contextlib.suppress(Exception):
                await handle.terminate("test finished")
        for worker in workers:
            await worker.__aexit__(None, None, None)


@pytest_asyncio.fixture(scope="module")
async def rules_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(rules_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(rules_env) as go:
        yield go


def dispose() -> DisposeInput:
    return DisposeInput(disposed_by="acct-officer", outcome="राशन कार्ड जारी किया गया / ration card issued")


# --- Sahyog ------------------------------------------------------------------------------------------------------


async def test_S8_l1_that_neither_acts_nor_forwards_in_3_days_is_held_accountable(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(3 * DAY - MINUTE)
    assert case.fake.breaches == {}
    await case.advance(2 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()] == ["S8"]
    assert case.count("breach_recorded") == 1


async def test_S8_forward_within_3_days_stops_the_l1_clock_and_starts_the_officers_10_days(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(2 * DAY)
    await case.handle.execute_update(
        GrievanceLifecycle.forward, ForwardInput(to_position_id="pos-mo-phw", by_account_id="acct-dso")
    )
    await case.settle()
    [forwarded] = case.fake.transitions("forwarded")
    assert forwarded.new_assignment is not None
    assert forwarded.new_assignment.position_id == "pos-mo-phw"
    await case.advance(2 * DAY)
    assert case.fake.breaches == {}
    clock = await case.clock("first_show_cause")
    assert clock.deadline is not None
    assert clock.started_at is not None
    assert clock.deadline - clock.started_at == 10 * DAY


async def test_S8_S5_forwarding_to_another_department_is_refused(run_case: Any) -> None:
    case = await run_case(case_input())
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.forward, ForwardInput(to_position_id="pos-rev-co", by_account_id="acct-dso")
        )
    assert case.count("forwarded") == 0


async def test_S9_show_cause_issued_after_10_days_not_before(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(10 * DAY - MINUTE)
    assert case.count("show_cause_issued") == 0
    await case.advance(2 * MINUTE)
    [issued] = case.fake.transitions("show_cause_issued")
    assert issued.payload["number"] == 1
    [notice] = case.fake.show_causes.values()
    assert notice.position_id == "pos-dso-pat"
    assert notice.due_by - notice.issued_at == 3 * DAY
    officer_notices = [n for n in case.notices("show_cause") if n.recipient.position_id == "pos-dso-pat"]
    assert len(officer_notices) == 1
    assert officer_notices[0].params["headline_hi"].startswith("कारण पृच्छा")
    # The notice is a document (its kind "show_cause" makes notify render the show-cause notice's PDF), under S9.
    assert officer_notices[0].params["rule"] == "S9"


async def test_S9_disposal_a_moment_before_the_deadline_means_no_show_cause(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(10 * DAY - MINUTE)
    await case.handle.execute_update(GrievanceLifecycle.dispose, dispose())
    await case.advance(30 * DAY)
    assert case.count("show_cause_issued") == 0
    # The L1 sat on it for 3 days (S8), but nothing after the disposal: no S13.
    assert [b.rule for b in case.fake.breaches.values()] == ["S8"]
    result = await case.handle.result()
    assert result.status.value == "disposed"


async def test_S9_an_action_report_within_10_days_means_no_show_cause(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(4 * DAY)
    await case.handle.execute_update(
        GrievanceLifecycle.submit_report,
        ReportInput(kind="action", text="Field verification ordered; notice issued to the dealer.", by_account_id="a"),
    )
    await case.advance(7 * DAY)
    assert case.count("show_cause_issued") == 0


async def test_S9_a_retried_activity_issues_no_duplicate_notice(run_case: Any) -> None:
    fake = FakeServices(fail_first_attempt={ISSUE_SHOW_CAUSE, SEND_NOTICE})
    case = await run_case(case_input(), fake)
    await case.advance(10 * DAY + MINUTE)
    await eventually(lambda: _true(case.count("show_cause_issued") == 1))
    await case.settle()
    assert len(fake.show_causes) == 1
    assert fake.activity_attempts[ISSUE_SHOW_CAUSE] >= 2
    assert case.count("show_cause_issued") == 1
    dedupes = [n.dedupe_key for n in case.notices("show_cause")]
    assert len(dedupes) == len(set(dedupes)) == 1


async def _true(value: bool) -> bool:
    return value


async def test_S10_case_pending_over_10_days_becomes_visible_to_the_dm_until_disposed(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(10 * DAY - MINUTE)
    assert case.count("made_visible") == 0
    await case.advance(2 * MINUTE)
    [visible] = case.fake.transitions("made_visible")
    assert visible.grant_visibility_to_roles == ["DM"]
    assert [n.recipient.position_id for n in case.notices("S10")] == ["pos-dm-pat"]
    await case.handle.execute_update(GrievanceLifecycle.dispose, dispose())
    await case.settle()
    [disposed] = case.fake.transitions("disposed")
    assert disposed.clear_visibility


async def test_S11_second_show_cause_on_day_21_and_status_reminder_on_day_20(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(20 * DAY - MINUTE)
    assert case.count("show_cause_issued") == 1
    assert case.notices("status_update_due") == []
    await case.advance(2 * MINUTE)
    assert len(case.notices("status_update_due")) == 1
    await case.advance(DAY - 2 * MINUTE)
    assert case.count("show_cause_issued") == 1
    await case.advance(2 * MINUTE)
    issued = case.fake.transitions("show_cause_issued")
    assert [t.payload["number"] for t in issued] == [1, 2]


async def test_S11_an_action_report_after_day_10_prevents_the_second_show_cause(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(12 * DAY)
    assert case.count("show_cause_issued") == 1
    await case.handle.execute_update(
        GrievanceLifecycle.submit_report,
        ReportInput(kind="action", text="Ration card printed; dispatch to the block pending.", by_account_id="a"),
    )
    await case.advance(10 * DAY)
    assert case.count("show_cause_issued") == 1


async def test_S12_interim_order_due_on_day_30_with_a_target_date_for_long_services(run_case: Any) -> None:
    case = await run_case(case_input(service_days=45))
    await case.advance(30 * DAY - MINUTE)
    assert case.count("interim_order_due") == 0
    await case.advance(2 * MINUTE)
    [due] = case.fake.transitions("interim_order_due")
    assert due.payload["service_time_limit_days"] == 45
    assert "target_date" in due.payload
    assert "लक्षित तिथि" in due.summary.hi


async def test_S12_short_services_get_no_target_date(run_case: Any) -> None:
    case = await run_case(case_input(service_days=21))
    await case.advance(30 * DAY + MINUTE)
    [due] = case.fake.transitions("interim_order_due")
    assert "target_date" not in due.payload


async def test_S12_a_long_service_interim_order_needs_a_target_date(run_case: Any) -> None:
    from nivaran_sla.domain import InterimOrderInput

    case = await run_case(case_input(service_days=45))
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.issue_interim_order,
            InterimOrderInput(order="Service to be delivered by the target date.", by_account_id="a"),
        )
    await case.handle.execute_update(
        GrievanceLifecycle.issue_interim_order,
        InterimOrderInput(
            order="Service to be delivered by the target date.",
            by_account_id="a",
            target_date=datetime(2027, 1, 15, tzinfo=UTC),
        ),
    )
    await case.advance(40 * DAY)
    assert case.count("interim_order_issued") == 1
    assert case.fake.breaches == {}


async def test_S13_not_finally_disposed_in_30_days_records_a_breach_for_humans(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(31 * DAY - MINUTE)
    assert "S13" not in [b.rule for b in case.fake.breaches.values()]
    await case.advance(2 * MINUTE)
    s13 = [b for b in case.fake.breaches.values() if b.rule == "S13"]
    assert len(s13) == 1
    assert "निलंबन" in s13[0].details["recommendation"]["hi"]
    assert len([n for n in case.notices("breach_recorded") if n.recipient.position_id == "pos-dm-pat"]) == 1


async def test_S7_new_charge_rebases_the_officers_clock_to_the_charge_date(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(6 * DAY)
    charge = datetime.now(UTC) + 6 * DAY  # the time-skipping clock is ahead of the wall clock; use workflow time
    state = await case.clock("first_show_cause")
    assert state.started_at is not None
    charge = state.started_at + 6 * DAY
    await case.handle.execute_update(
        "charge_taken", ChargeTakenInput(position_id="pos-dso-pat", account_id="acct-new-dso", charge_from=charge)
    )
    await case.settle()
    await case.advance(5 * DAY)  # day 11 from receipt: the old officer's deadline has passed
    assert case.count("show_cause_issued") == 0
    await case.advance(5 * DAY)  # day 16 = charge + 10 days
    assert case.count("show_cause_issued") == 1
    [notice] = case.fake.show_causes.values()
    assert notice.officer_account_id == "acct-new-dso"


async def test_S18_dm_must_recommend_within_a_day_of_the_reply_or_it_is_flagged(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(10 * DAY + MINUTE)
    [notice] = case.fake.show_causes.values()
    await case.handle.execute_update(
        "reply_show_cause",
        ReplyShowCauseInput(
            notice_id=notice.id, reply="Verification pending with the dealer; card in print.", replied_by="a"
        ),
    )
    await case.advance(DAY - 2 * MINUTE)
    assert "S18" not in [b.rule for b in case.fake.breaches.values()]
    await case.advance(3 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()].count("S18") == 1


async def test_S18_recommendation_in_time_then_the_commissioner_has_a_day(run_case: Any) -> None:
    case = await run_case(case_input())
    await case.advance(10 * DAY + MINUTE)
    [notice] = case.fake.show_causes.values()
    await case.handle.execute_update(
        "reply_show_cause",
        ReplyShowCauseInput(
            notice_id=notice.id, reply="Verification pending with the dealer; card in print.", replied_by="a"
        ),
    )
    await case.advance(12 * 60 * MINUTE)
    await case.handle.execute_update(
        "record_recommendation",
        RecommendationInput(notice_id=notice.id, recommendation="Censure entry recommended.", by_account_id="dm"),
    )
    await case.settle()
    assert case.count("recommended") == 1
    await case.advance(DAY + MINUTE)
    rules = [b.rule for b in case.fake.breaches.values()]
    assert rules.count("S18") == 1  # the Commissioner's day passed; the DM's did not
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            "reply_show_cause",
            ReplyShowCauseInput(notice_id=notice.id, reply="A second reply to the same notice.", replied_by="a"),
        )


async def test_S1_camp_application_disposed_within_30_days_of_receipt(run_case: Any) -> None:
    case = await run_case(case_input(track="sahyog_camp"))
    await case.advance(30 * DAY - MINUTE)
    assert case.count("interim_order_due") == 0
    await case.advance(2 * MINUTE)
    assert case.count("interim_order_due") == 1
    assert [n.recipient.position_id for n in case.notices("camp_disposal_overdue")] == ["pos-dm-pat"]


# --- CSPGRS ------------------------------------------------------------------------------------------------------


async def test_C3_C7_the_cell_has_one_hour_to_assign_a_registered_case(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    [registered] = case.fake.transitions("registered_at_cell")
    assert registered.new_assignment is not None
    assert registered.new_assignment.position_id == "pos-osd-cs"
    assert registered.payload["proposed_position_id"] == "pos-dso-pat"
    # The office's report clocks wait for the assignment; the cell's hour runs.
    assert not (await case.clock("preliminary_report")).running
    assert (await case.clock("register_and_assign")).running

    await case.advance(60 * MINUTE - MINUTE)
    assert [b.rule for b in case.fake.breaches.values()] == []
    await case.advance(2 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()] == ["C7"]
    [overdue] = case.notices("assignment_overdue")
    assert overdue.recipient.position_id == "pos-osd-cs"


async def test_C3_the_cell_assigns_to_the_office_it_chooses_and_the_report_clocks_start(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await case.advance(30 * MINUTE)
    await assigned_by_the_cell(case, to_position_id="pos-bdo-phw")

    [assigned] = [t for t in case.fake.transitions("assigned") if t.new_assignment is not None][-1:]
    assert assigned.new_assignment is not None
    assert assigned.new_assignment.position_id == "pos-bdo-phw"
    preliminary = await case.clock("preliminary_report")
    assert preliminary.running
    assert preliminary.started_at is not None
    assert preliminary.deadline == preliminary.started_at + 24 * 60 * MINUTE
    assert not (await case.clock("register_and_assign")).running
    await case.advance(2 * 60 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()] == []
    with pytest.raises(WorkflowUpdateFailedError):
        await assigned_by_the_cell(case)


async def test_C6_the_officer_is_reminded_of_the_final_report_at_24_and_48_hours_and_no_more(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.advance(24 * 60 * MINUTE - MINUTE)
    assert case.notices("final_report_reminder") == []
    await case.advance(2 * MINUTE)
    assert len(case.notices("final_report_reminder")) == 1
    await case.advance(24 * 60 * MINUTE - 2 * MINUTE)
    assert len(case.notices("final_report_reminder")) == 1
    await case.advance(2 * MINUTE)
    assert len(case.notices("final_report_reminder")) == 2
    # repeat: 1 — two reminders in all, whatever happens next.
    await case.advance(4 * DAY)
    assert len(case.notices("final_report_reminder")) == 2


async def test_C6_the_citizen_is_reminded_every_3_days_until_the_information_comes(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.handle.execute_update(
        GrievanceLifecycle.request_info,
        InfoRequestInput(
            question="Please send a copy of the complaint given at the police station.", by_account_id="a"
        ),
    )
    await case.settle()
    await case.advance(3 * DAY + MINUTE)
    [first] = case.notices("information_reminder")
    assert first.recipient.kind.value == "citizen"
    await case.advance(3 * DAY)
    assert len(case.notices("information_reminder")) == 2
    await case.handle.execute_update(
        GrievanceLifecycle.citizen_responded, CitizenResponseInput(response="Copy of the complaint attached.")
    )
    await case.settle()
    await case.advance(4 * DAY)
    # The answer stopped the third reminder.
    assert len(case.notices("information_reminder")) == 2


async def test_C4_C8_missing_preliminary_report_goes_to_the_osd_in_24_hours_then_the_cs_in_72(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.advance(24 * 60 * MINUTE - MINUTE)
    assert case.count("escalated") == 0
    await case.advance(2 * MINUTE)
    [to_osd] = case.fake.transitions("escalated")
    assert to_osd.new_assignment is not None
    assert to_osd.new_assignment.position_id == "pos-osd-cs"
    assert to_osd.grant_visibility_to_roles == ["OSD_CS"]
    await case.advance(72 * 60 * MINUTE - 2 * MINUTE)
    assert [t.new_assignment.position_id for t in case.fake.transitions("escalated") if t.new_assignment] == [
        "pos-osd-cs"
    ]
    await case.advance(3 * MINUTE)
    targets = [t.new_assignment.position_id for t in case.fake.transitions("escalated") if t.new_assignment]
    assert targets == ["pos-osd-cs", "pos-cs"]


async def test_C4_reports_in_time_mean_no_escalation(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.advance(20 * 60 * MINUTE)
    await case.handle.execute_update(
        GrievanceLifecycle.submit_report,
        ReportInput(kind="preliminary", text="The matter concerns this office; enquiry started.", by_account_id="a"),
    )
    await case.advance(48 * 60 * MINUTE)
    await case.handle.execute_update(
        GrievanceLifecycle.submit_report,
        ReportInput(kind="final", text="Ration card issued; complainant informed by phone.", by_account_id="a"),
    )
    await case.handle.execute_update(
        GrievanceLifecycle.review_final_report, ReviewInput(accept=True, note="", by_account_id="cs-cell")
    )
    await case.advance(10 * DAY)
    assert case.count("escalated") == 0
    assert case.count("final_report_reviewed") == 1


async def test_C7_reminder_for_the_preliminary_report_after_12_hours(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.advance(12 * 60 * MINUTE - MINUTE)
    assert case.notices("preliminary_report_reminder") == []
    await case.advance(2 * MINUTE)
    assert len(case.notices("preliminary_report_reminder")) == 1


async def test_C7_final_report_reviewed_within_one_working_day(run_case: Any) -> None:
    case = await run_case(case_input(track="cspgrs"))
    await assigned_by_the_cell(case)
    await case.handle.execute_update(
        GrievanceLifecycle.submit_report,
        ReportInput(kind="preliminary", text="The matter concerns this office; enquiry started.", by_account_id="a"),
    )
    await case.handle.execute_update(
        GrievanceLifecycle.submit_report,
        ReportInput(kind="final", text="Ration card issued; complainant informed by phone.", by_account_id="a"),
    )
    await case.settle()
    review = await case.clock("final_review")
    assert review.deadline is not None
    assert review.started_at is not None
    assert review.deadline - review.started_at >= DAY  # one working day: a weekend or holiday makes it longer
    await case.advance(review.deadline - review.started_at + MINUTE)
    assert case.count("escalated") == 1


# --- BPGRA, RTS, monitoring -------------------------------------------------------------------------------------


async def test_B2_waiting_for_the_citizen_pauses_the_60_working_day_clock(run_case: Any) -> None:
    case = await run_case(case_input(track="bpgra"))
    before = await case.clock("decision")
    assert before.deadline is not None
    await case.advance(5 * DAY)
    await case.handle.execute_update(
        GrievanceLifecycle.request_info,
        InfoRequestInput(question="Please give your ration card application number.", by_account_id="pgro"),
    )
    await case.settle()
    paused = await case.clock("decision")
    assert paused.paused
    assert paused.deadline is None
    await case.advance(20 * DAY)
    await case.handle.execute_update(
        GrievanceLifecycle.citizen_responded, CitizenResponseInput(response="Application no. 1234/2026")
    )
    await case.settle()
    resumed = await case.clock("decision")
    assert resumed.deadline is not None
    shift = resumed.deadline - before.deadline
    assert 20 * DAY - MINUTE <= shift <= 20 * DAY + MINUTE


async def test_B2_the_notice_for_missing_information_is_due_7_days_after_the_pgro_receives_the_complaint(
    run_case: Any,
) -> None:
    case = await run_case(case_input(track="bpgra"))
    clock = await case.clock("incomplete_information_notice")
    # The clock runs from the PGRO's receipt (it never ran when it started on registration and stopped on assignment).
    assert clock.running
    assert clock.started_at is not None
    assert clock.deadline is not None
    assert clock.deadline - clock.started_at == 7 * DAY

    await case.advance(7 * DAY - MINUTE)
    assert case.notices("information_notice_due") == []
    await case.advance(2 * MINUTE)
    [due] = case.notices("information_notice_due")
    assert due.recipient.position_id == "pos-dso-pat"
    assert (await case.clock("incomplete_information_notice")).fired


async def test_B2_serving_the_notice_within_7_days_stops_the_clock(run_case: Any) -> None:
    case = await run_case(case_input(track="bpgra"))
    await case.advance(6 * DAY)
    await case.handle.execute_update(
        GrievanceLifecycle.request_info,
        InfoRequestInput(question="Please give the address of the shop named in the complaint.", by_account_id="pgro"),
    )
    await case.settle()
    await case.advance(2 * DAY)

    assert case.notices("information_notice_due") == []
    stopped = await case.clock("incomplete_information_notice")
    assert (stopped.running, stopped.fired) == (False, False)


async def test_B6_transfer_to_another_pgro_tells_the_complainant(run_case: Any) -> None:
    case = await run_case(case_input(track="bpgra"))
    await case.handle.execute_update(
        GrievanceLifecycle.transfer,
        TransferInput(to_position_id="pos-mo-phw", by_account_id="pgro", reason="Falls in the Phulwari PGRO's area.",
                      kind="jurisdiction"),
    )  # fmt: skip
    await case.settle()
    told = case.notices("transfer_intimation")
    assert len(told) == 1
    assert told[0].recipient.kind.value == "citizen"
    await case.advance(8 * DAY)
    assert "B6" not in [b.rule for b in case.fake.breaches.values()]


async def test_B6_complainant_not_told_within_7_days_is_a_breach(run_case: Any) -> None:
    fake = FakeServices(refused_templates={"sla_notice"})
    case = await run_case(case_input(track="bpgra"), fake)
    await case.handle.execute_update(
        GrievanceLifecycle.transfer,
        TransferInput(to_position_id="pos-mo-phw", by_account_id="pgro", reason="Falls in the Phulwari PGRO's area.",
                      kind="jurisdiction"),
    )  # fmt: skip
    await case.advance(7 * DAY - MINUTE)
    assert "B6" not in [b.rule for b in fake.breaches.values()]
    await case.advance(2 * MINUTE)
    assert [b.rule for b in fake.breaches.values()].count("B6") == 1


async def test_M2_pending_over_60_working_days_is_recorded_and_reported(run_case: Any) -> None:
    case = await run_case(case_input(track="bpgra"))
    decision = await case.clock("decision")
    assert decision.deadline is not None
    assert decision.started_at is not None
    span = decision.deadline - decision.started_at
    assert span > 60 * DAY  # working days skip Sundays, second Saturdays and holidays
    await case.advance(span - MINUTE)
    assert "M2" not in [b.rule for b in case.fake.breaches.values()]
    await case.advance(2 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()].count("M2") == 1


async def test_H2_no_interim_reply_in_30_days_escalates_to_the_secretary(run_case: Any) -> None:
    case = await run_case(case_input(track="rts_auto_appeal", position_id="pos-dso-pat"))
    await case.advance(30 * DAY - MINUTE)
    assert "H2" not in [b.rule for b in case.fake.breaches.values()]
    await case.advance(2 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()] == ["H2"]


async def test_S15_rejection_needs_a_ground_and_a_stated_reason_and_stops_the_clocks(run_case: Any) -> None:
    from nivaran_sla.domain import RejectInput

    case = await run_case(case_input())
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.reject, RejectInput(ground="competence", reason="no", by_account_id="dso")
        )
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.reject,
            RejectInput(ground="mood", reason="Not within this department's competence.", by_account_id="dso"),
        )
    assert case.count("rejected") == 0
    await case.handle.execute_update(
        GrievanceLifecycle.reject,
        RejectInput(ground="competence", reason="Land dispute pending before the civil court.", by_account_id="dso"),
    )
    await case.advance(40 * DAY)
    [rejected] = case.fake.transitions("rejected")
    assert rejected.payload["reason"] == "Land dispute pending before the civil court."
    assert rejected.clear_visibility
    assert case.count("show_cause_issued") == 0
    assert (await case.handle.result()).status.value == "rejected"


def _sahyog_with_show_cause_after(days: int) -> PolicyRegistry:
    """The shipped policies plus a next sahyog version whose S9 show-cause falls due after `days` days."""
    shipped = PolicyRegistry.from_folder(POLICIES)
    current = shipped.latest("sahyog")
    clocks = [
        c.model_copy(update={"duration": f"P{days}D"}) if c.id == "first_show_cause" else c for c in current.clocks
    ]
    return PolicyRegistry(
        [*shipped.all(), current.model_copy(update={"version": current.version + 1, "clocks": clocks})]
    )


async def test_S9_a_new_policy_version_leaves_running_cases_until_an_explicit_migration(run_case: Any) -> None:
    fake = FakeServices()
    case = await run_case(case_input(), fake)
    started = await case.clock("first_show_cause")
    assert started.deadline is not None
    assert started.started_at is not None
    # A state shortens S9 to 6 days: the new file is loaded, the running case is not touched.
    running = fake.policies.latest("sahyog").key
    fake.policies = _sahyog_with_show_cause_after(6)
    next_version = fake.policies.latest("sahyog").version
    await case.advance(6 * DAY + MINUTE)
    assert case.count("show_cause_issued") == 0
    assert (await case.clock("first_show_cause")).deadline == started.deadline
    # An operator migrates it, with a reason: the clock keeps its start and takes the new duration, already past.
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.migrate_policy,
            MigratePolicyInput(version=next_version, by_account_id="it.admin", reason="short"),
        )
    views = await case.handle.execute_update(
        GrievanceLifecycle.migrate_policy,
        MigratePolicyInput(
            version=next_version, by_account_id="it.admin", reason="Government order 12/2026 shortens S9 to 6 days"
        ),
        result_type=list[ClockView],
    )
    migrated = next(v for v in views if v.clock_id == "first_show_cause")
    assert migrated.started_at == started.started_at
    assert migrated.deadline == started.started_at + 6 * DAY
    await case.settle()
    [moved] = case.fake.transitions("policy_migrated")
    assert moved.payload["from"] == running
    assert moved.payload["to"] == f"sahyog@v{next_version}"
    assert f"sahyog@v{next_version}" in moved.summary.en
    assert "नीति" in moved.summary.hi
    [issued] = case.fake.transitions("show_cause_issued")
    assert issued.payload["number"] == 1
    # The other clocks kept their v1 deadlines: S10 still falls on day 10, not before.
    assert case.count("made_visible") == 0
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.migrate_policy,
            MigratePolicyInput(version=next_version, by_account_id="it.admin", reason="Government order 12/2026 again"),
        )
    with pytest.raises(WorkflowUpdateFailedError):
        await case.handle.execute_update(
            GrievanceLifecycle.migrate_policy,
            MigratePolicyInput(version=9, by_account_id="it.admin", reason="A version nobody has shipped"),
        )
    assert len(case.fake.transitions("show_cause_issued")) == 1
