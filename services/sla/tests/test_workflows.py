"""GrievanceLifecycle on the time-skipping server, with its two activities replaced by in-process recorders.

The recorders are registered under the real activity names, so the workflow code under test is exactly what the
worker runs; only the gRPC calls behind the activities are left out (test_activities.py covers those).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from nivaran.common.v1 import common_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.payload_codec import decode_history
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, lifecycle_workflow_id
from nivaran_common.testing import eventually, session_data_converter
from nivaran_sla.domain import (
    Actor,
    CaseStatus,
    DisposeInput,
    LifecycleResult,
    Localized,
    NoticeChannel,
    NoticeInput,
    Recipient,
    RecipientKind,
    TransitionInput,
)
from nivaran_sla.worker import build_worker
from nivaran_sla.workflows import GrievanceLifecycle

from .fakes import FakeServices

HISTORIES = Path(__file__).parent / "histories"
FILED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def lifecycle_input(grievance_id: str | None = None, email: str = "asha@example.org") -> sla_pb2.LifecycleInput:
    """What intake passes when it starts a case routed to the Phulwari BDO."""
    lifecycle = sla_pb2.LifecycleInput(
        grievance_id=grievance_id or str(uuid.uuid4()),
        registration_number="BR-PAT-2026-000123",
        track="sahyog",
        language="hi",
        location=common_pb2.Location(state_code="BR", district_code="PAT", block_code="PHW"),
        category_code="ration",
        department_code="FOOD",
        office_id="office-phw",
        position_id="pos-bdo-phw",
        complainant_name="Asha Devi",
        complainant_email=email,
        complainant_phone="+919876543210",
        complainant_account_id="acct-citizen-1",
        category_name=common_pb2.LocalizedText(en="Ration card", hi="राशन कार्ड"),
        office_name=common_pb2.LocalizedText(en="Block Office Phulwari", hi="प्रखंड कार्यालय फुलवारी"),
        position_title=common_pb2.LocalizedText(en="Block Development Officer", hi="प्रखंड विकास पदाधिकारी"),
    )
    lifecycle.filed_at.FromDatetime(FILED_AT)
    return lifecycle


# Issue 9 (one start write): the notices first, then the assignment and the acknowledgement in one intake call.
START_STEPS = ["notice:acknowledgement", "notice:case_assigned", "assigned", "acknowledgement_sent"]


async def start(
    client: Client, lifecycle: sla_pb2.LifecycleInput, task_queue: str, task_timeout: timedelta | None = None
) -> WorkflowHandle[Any, Any]:
    """Start the lifecycle the way intake does: by name, with the grievance's workflow id. A test that holds a local
    activity open passes a short `task_timeout`: acts meanwhile wait for the workflow task's heartbeat."""
    return await client.start_workflow(
        LIFECYCLE_WORKFLOW,
        lifecycle,
        id=lifecycle_workflow_id(lifecycle.grievance_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=LifecycleResult,
        task_timeout=task_timeout,
    )


async def wait_for_steps(fake: FakeServices, count: int) -> None:
    async def done() -> bool:
        return len(fake.calls) >= count

    await eventually(done)


def dispose_input(outcome: str = "Ration card issued on 22-11-2026") -> DisposeInput:
    return DisposeInput(disposed_by="acct-bdo-1", outcome=outcome, disposed_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


@pytest.fixture
def task_queue() -> str:
    return f"sla-test-{uuid.uuid4()}"


async def test_S8_B5_acknowledged_then_assignment_and_acknowledgement_recorded_in_one_write(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fake = FakeServices()
    lifecycle = lifecycle_input()
    gid = lifecycle.grievance_id
    workflow_id = f"grievance-{gid}"
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle, task_queue)
        await wait_for_steps(fake, 4)
        state = await handle.query(GrievanceLifecycle.state)
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await handle.result()

    assert fake.steps()[:4] == START_STEPS
    acknowledgement, case_assigned, assigned, acknowledged = fake.calls[:4]
    assert isinstance(assigned, TransitionInput)
    assert isinstance(acknowledged, TransitionInput)
    # One write: both records went in one record_transitions call, and both carry the first deadline (S8's 3 days),
    # so no separate deadline_set record follows.
    assert fake.batches == [["assigned", "acknowledgement_sent"]]
    assert assigned.deadline_clock == acknowledged.deadline_clock == "l1_forward"
    assert assigned.current_deadline is not None
    assert assigned.current_deadline == acknowledged.current_deadline
    assert fake.transitions("deadline_set") == []
    assert assigned.idempotency_key == f"{workflow_id}:assigned"
    assert assigned.grievance_id == gid
    assert assigned.new_status is CaseStatus.ASSIGNED
    assert assigned.actor == Actor(role="system")
    assert assigned.new_assignment is not None
    assert assigned.new_assignment.department_code == "FOOD"
    assert assigned.new_assignment.office_id == "office-phw"
    assert assigned.new_assignment.position_id == "pos-bdo-phw"
    assert assigned.new_assignment.office_name == Localized(en="Block Office Phulwari", hi="प्रखंड कार्यालय फुलवारी")
    assert assigned.new_assignment.position_title == Localized(
        en="Block Development Officer", hi="प्रखंड विकास पदाधिकारी"
    )
    assert assigned.new_assignment.assigned_at.tzinfo is not None
    assert assigned.summary == Localized(
        en="Assigned to Block Development Officer, Block Office Phulwari",
        hi="प्रखंड विकास पदाधिकारी, प्रखंड कार्यालय फुलवारी को सौंपा गया",
    )

    names = {
        "category_name_en": "Ration card",
        "category_name_hi": "राशन कार्ड",
        "office_name_en": "Block Office Phulwari",
        "office_name_hi": "प्रखंड कार्यालय फुलवारी",
        "position_title_en": "Block Development Officer",
        "position_title_hi": "प्रखंड विकास पदाधिकारी",
    }
    assert isinstance(acknowledgement, NoticeInput)
    assert acknowledgement.dedupe_key == f"{gid}:acknowledgement"
    assert acknowledgement.template == "acknowledgement"
    assert acknowledgement.grievance_id == gid
    assert acknowledgement.registration_number == "BR-PAT-2026-000123"
    assert acknowledgement.recipient == Recipient(
        kind=RecipientKind.CITIZEN,
        name="Asha Devi",
        email="asha@example.org",
        phone="+919876543210",
        account_id="acct-citizen-1",
        preferred_language="hi",
    )
    # B5 / C2: in the app, by email and by SMS (an email and a phone were given; filed on the web).
    assert acknowledgement.channels == [NoticeChannel.IN_APP, NoticeChannel.EMAIL, NoticeChannel.SMS]
    assert acknowledgement.params == {
        "registration_number": "BR-PAT-2026-000123",
        "complainant_name": "Asha Devi",
        "filed_at": "2026-11-20T10:30:00+00:00",
        **names,
    }

    assert isinstance(case_assigned, NoticeInput)
    assert case_assigned.dedupe_key == f"{gid}:case_assigned"
    assert case_assigned.template == "case_assigned"
    assert case_assigned.recipient == Recipient(kind=RecipientKind.OFFICER, position_id="pos-bdo-phw")
    assert case_assigned.channels == [NoticeChannel.IN_APP]
    assert case_assigned.params == {
        "registration_number": "BR-PAT-2026-000123",
        "filed_at": "2026-11-20T10:30:00+00:00",
        **names,
    }

    assert isinstance(acknowledged, TransitionInput)
    assert acknowledged.idempotency_key == f"{workflow_id}:acknowledgement_sent"
    assert acknowledged.new_status is None
    assert acknowledged.new_assignment is None
    assert acknowledged.payload == {"notice_id": "notice-acknowledgement", "channels": ["in_app", "email", "sms"]}

    assert state.status is CaseStatus.ASSIGNED
    assert state.position_id == "pos-bdo-phw"
    assert state.disposed is False
    assert state.acknowledgement_notice_id == "notice-acknowledgement"


async def test_B5_acknowledgement_in_app_and_by_sms_when_no_email_was_given(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fake = FakeServices()
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle_input(email=""), task_queue)
        await wait_for_steps(fake, 4)
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await handle.result()

    acknowledgement = fake.calls[0]
    assert isinstance(acknowledgement, NoticeInput)
    assert acknowledgement.channels == [NoticeChannel.IN_APP, NoticeChannel.SMS]  # the phone given (C2)
    assert fake.transitions("acknowledgement_sent")[0].payload["channels"] == ["in_app", "sms"]


async def test_refused_acknowledgement_does_not_stop_the_case(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fake = FakeServices(refused_templates={"acknowledgement"})
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle_input(), task_queue)
        await wait_for_steps(fake, 3)
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        result = await handle.result()

    # "deadline_set" (the clocks' first deadline handed to intake) may come before or after the disposal.
    steps = [step for step in fake.steps() if step != "deadline_set"]
    # After the disposal, the senior officer is told of the claimed resolution (H3).
    assert steps == ["notice:acknowledgement", "notice:case_assigned", "assigned", "disposed", "notice:sla_notice"]
    assert result.status is CaseStatus.DISPOSED


async def test_starting_the_same_grievance_twice_gives_one_run(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fake = FakeServices()
    lifecycle = lifecycle_input()
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        first = await start(time_skipping_env.client, lifecycle, task_queue)
        second = await start(time_skipping_env.client, lifecycle, task_queue)
        await wait_for_steps(fake, 4)
        await second.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await first.result()

    assert first.id == second.id == f"grievance-{lifecycle.grievance_id}"
    assert first.result_run_id is not None
    assert first.result_run_id == second.result_run_id
    assert len(fake.transitions("assigned")) == 1
    assert len(fake.transitions("disposed")) == 1


async def test_dispose_with_empty_outcome_is_rejected_at_once_and_changes_nothing(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fake = FakeServices()
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle_input(), task_queue)
        await wait_for_steps(fake, 4)
        before = await handle.query(GrievanceLifecycle.state)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(GrievanceLifecycle.dispose, dispose_input(outcome="   "))
        after = await handle.query(GrievanceLifecycle.state)
        # The case stays open for a proper disposal.
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await handle.result()

    assert isinstance(rejected.value.cause, ApplicationError)
    assert rejected.value.cause.type == "ValueError"
    assert rejected.value.cause.message.startswith("outcome:")
    assert after == before
    assert after.status is CaseStatus.ASSIGNED
    assert after.disposed is False
    # The rejected attempt wrote nothing: the one disposal recorded is the valid one.
    assert [t.payload["outcome"] for t in fake.transitions("disposed")] == ["Ration card issued on 22-11-2026"]


async def test_dispose_without_the_officer_is_rejected(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    fake = FakeServices()
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle_input(), task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(GrievanceLifecycle.dispose, DisposeInput(disposed_by="", outcome="Done"))
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await handle.result()

    assert isinstance(rejected.value.cause, ApplicationError)
    assert rejected.value.cause.message.startswith("disposed_by:")


async def test_dispose_records_the_disposal_and_completes_the_workflow(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fake = FakeServices()
    lifecycle = lifecycle_input()
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle, task_queue)
        await wait_for_steps(fake, 4)
        state = await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        result = await handle.result()
        final = await handle.query(GrievanceLifecycle.state)

    [disposed] = fake.transitions("disposed")
    assert disposed.idempotency_key == f"grievance-{lifecycle.grievance_id}:disposed"
    assert disposed.new_status is CaseStatus.DISPOSED
    assert disposed.occurred_at == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert disposed.actor == Actor(account_id="acct-bdo-1", role="officer", position_id="pos-bdo-phw")
    assert disposed.payload == {"outcome": "Ration card issued on 22-11-2026", "disposed_by": "acct-bdo-1"}
    assert disposed.summary.en.startswith("Disposed: ")
    assert disposed.summary.hi.startswith("निष्पादित: ")
    assert state.status is CaseStatus.DISPOSED
    assert state.disposed is True
    assert result.status is CaseStatus.DISPOSED
    assert result.grievance_id == lifecycle.grievance_id
    assert result.disposed_at == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert final.disposed is True


async def test_second_dispose_is_rejected_while_the_first_is_being_recorded(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    gate = asyncio.Event()
    fake = FakeServices(disposal_gate=gate)
    async with build_worker(time_skipping_env.client, task_queue, fake.activities()):
        handle = await start(time_skipping_env.client, lifecycle_input(), task_queue, timedelta(seconds=2))
        await wait_for_steps(fake, 4)
        first = await handle.start_update(
            GrievanceLifecycle.dispose, dispose_input(), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(GrievanceLifecycle.dispose, dispose_input(outcome="Disposed again"))
        gate.set()
        state = await first.result()
        await handle.result()

    assert isinstance(rejected.value.cause, ApplicationError)
    assert "already disposed" in rejected.value.cause.message
    assert state.disposed is True
    assert [t.payload["outcome"] for t in fake.transitions("disposed")] == ["Ration card issued on 22-11-2026"]


async def _completed_history(env: WorkflowEnvironment, task_queue: str) -> WorkflowHistory:
    fake = FakeServices()
    lifecycle = lifecycle_input(grievance_id="00000000-0000-4000-8000-000000000001")
    async with build_worker(env.client, task_queue, fake.activities()):
        handle = await env.client.start_workflow(
            LIFECYCLE_WORKFLOW,
            lifecycle,
            # A fresh id per run: the recorded id is fixed, and the test server keeps completed runs.
            id=f"{lifecycle_workflow_id(lifecycle.grievance_id)}-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        await wait_for_steps(fake, 4)
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await handle.result()
    return await handle.fetch_history()


async def test_replay_of_a_completed_lifecycle_is_deterministic(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    history = await _completed_history(time_skipping_env, task_queue)
    if os.environ.get("NIVARAN_RECORD_HISTORIES") == "1":
        # Re-record with `NIVARAN_RECORD_HISTORIES=1 pytest services/sla/tests/test_workflows.py -k deterministic`.
        # Written opened: the session's codec key is random and gone after the run (the data is fictitious).
        HISTORIES.mkdir(exist_ok=True)
        codec = time_skipping_env.client.data_converter.payload_codec
        assert codec is not None
        opened = await decode_history(history, codec)
        (HISTORIES / "lifecycle_assigned_acknowledged_disposed.json").write_text(opened.to_json())

    result = await Replayer(
        workflows=[GrievanceLifecycle], data_converter=time_skipping_env.client.data_converter
    ).replay_workflow(history)

    assert result.replay_failure is None
    assert len(history.events) > 10


@pytest.mark.parametrize("recorded", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_replay_of_recorded_histories_still_succeeds(recorded: Path) -> None:
    """Histories recorded from earlier code must replay on today's code; a change breaking one needs patched()."""
    history = WorkflowHistory.from_json(recorded.stem, recorded.read_text())

    # The services' sealed converter: payloads recorded in clear (before the codec) pass through it unchanged.
    result = await Replayer(workflows=[GrievanceLifecycle], data_converter=session_data_converter()).replay_workflow(
        history
    )

    assert result.replay_failure is None


async def test_S8_a_worker_that_caches_no_case_replays_each_wake_and_does_each_step_once(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """NIVARAN_SLA_WORKER_MAX_CACHED_WORKFLOWS=0: every workflow task is a cache miss, so the case is rebuilt from
    its history each time it wakes (the path a worker holding more cases than its cache takes). The steps still
    happen once each, in order, and an Update still reaches the rebuilt case."""
    fake = FakeServices()
    lifecycle = lifecycle_input()
    async with build_worker(time_skipping_env.client, task_queue, fake.activities(), max_cached_workflows=0):
        handle = await start(time_skipping_env.client, lifecycle, task_queue)
        await wait_for_steps(fake, 4)
        await handle.execute_update(GrievanceLifecycle.dispose, dispose_input())
        await handle.result()
    assert fake.steps()[:4] == START_STEPS
    keys = [call.idempotency_key for call in fake.calls if isinstance(call, TransitionInput)]
    assert len(keys) == len(set(keys)), "no transition was recorded twice across the replays"
