"""The sla worker's metrics (nivaran_sla.metrics): recorded by the activities, from what the workflow hands them.

The workflow marks the events a clock's firing records with the deadline it fired at (it counts nothing itself:
workflow code replays); record_transition observes the deadline lag from it, issue_show_cause and record_breach count.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest_asyncio
from prometheus_client import CollectorRegistry
from temporalio.testing import ActivityEnvironment

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_common.migrations import upgrade_async
from nivaran_sla import SERVICE_ROOT
from nivaran_sla.activities import LifecycleActivities
from nivaran_sla.domain import BreachRecord, ClockView, ShowCauseIssue
from nivaran_sla.metrics import SlaMetrics
from nivaran_sla.records import SlaRecords

from .test_activities import FakeIntake, assigned_transition
from .test_rules import DAY, MINUTE, case_input, case_runner, time_skipping_server


class RepeatAwareIntake(FakeIntake):
    """Answers a repeated idempotency key as intake does: a duplicate, recorded once."""

    async def RecordTransition(  # noqa: N802
        self, request: intake_pb2.RecordTransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.RecordTransitionResponse:
        seen = any(r.idempotency_key == request.idempotency_key for r in self.requests)
        self.requests.append(request)
        return intake_pb2.RecordTransitionResponse(
            event=intake_pb2.TimelineEvent(id=f"event-{len(self.requests)}", grievance_id=request.grievance_id),
            duplicate=seen,
        )


@pytest_asyncio.fixture
async def measured(database_url: str) -> AsyncIterator[tuple[LifecycleActivities, CollectorRegistry]]:
    """The real activities against an in-process intake and the real records, counting into a registry of their own."""
    await upgrade_async(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    intake = RepeatAwareIntake()
    binding = ServiceBinding(
        intake_pb2_grpc.add_IntakeServiceServicer_to_server,
        intake,
        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,
    )
    server, port, _ = await build_server([binding], "127.0.0.1", 0)
    channel = open_channel(f"127.0.0.1:{port}", None)
    registry = CollectorRegistry()
    try:
        yield (
            LifecycleActivities(
                intake_pb2_grpc.IntakeServiceStub(channel),
                notify_pb2_grpc.NotifyServiceStub(channel),
                5.0,
                records=SlaRecords(session_factory(engine)),
                metrics=SlaMetrics(registry),
            ),
            registry,
        )
    finally:
        await channel.close()
        await server.stop(None)
        await engine.dispose()


async def test_S8_S9_the_events_a_firing_records_carry_the_deadline_the_clock_fired_at() -> None:
    async with time_skipping_server() as env, case_runner(env) as run_case:
        case = await run_case(case_input())
        deadlines = {view.deadline for view in await case.handle.query("clocks", result_type=list[ClockView])}
        await case.advance(3 * DAY + MINUTE)  # S8: the L1 neither acted nor forwarded: a breach is recorded

    [breach] = case.fake.transitions("breach_recorded")
    assert breach.fired_deadline is not None
    assert breach.fired_deadline in deadlines
    assert timedelta(0) <= breach.occurred_at - breach.fired_deadline < timedelta(minutes=1)
    # Events no deadline caused carry none, so the lag is observed for firings only.
    assert [t.fired_deadline for t in case.fake.transitions("acknowledgement_sent")] == [None]


async def test_S8_deadline_lag_is_observed_once_for_each_new_event_a_firing_records(
    measured: tuple[LifecycleActivities, CollectorRegistry],
) -> None:
    activities, registry = measured
    fired = replace(
        assigned_transition(),
        idempotency_key=f"grievance-g-1:{uuid.uuid4()}:breach_recorded",
        event_type="breach_recorded",
        fired_deadline=datetime.now(UTC) - timedelta(seconds=90),
    )

    await ActivityEnvironment().run(activities.record_transition, fired)
    await ActivityEnvironment().run(activities.record_transition, fired)  # a re-run: intake answers duplicate
    await ActivityEnvironment().run(activities.record_transition, assigned_transition())  # no deadline caused it

    assert registry.get_sample_value("nivaran_sla_deadline_lag_seconds_count") == 1
    lag = registry.get_sample_value("nivaran_sla_deadline_lag_seconds_sum") or 0.0
    assert 90 <= lag < 150
    assert registry.get_sample_value("nivaran_sla_deadline_lag_seconds_bucket", {"le": "60.0"}) == 0
    assert registry.get_sample_value("nivaran_sla_deadline_lag_seconds_bucket", {"le": "300.0"}) == 1


async def test_S9_S8_show_causes_and_breaches_are_counted_by_number_and_rule(
    measured: tuple[LifecycleActivities, CollectorRegistry],
) -> None:
    activities, registry = measured
    now = datetime.now(UTC)
    grievance = str(uuid.uuid4())
    await ActivityEnvironment().run(
        activities.issue_show_cause,
        ShowCauseIssue(f"{grievance}:sc1", grievance, "BR-PAT-2026-000123", "pos-bdo-phw", None, 1, now, now + DAY),
    )
    await ActivityEnvironment().run(
        activities.record_breach,
        BreachRecord(f"{grievance}:s8", grievance, "BR-PAT-2026-000123", "pos-bdo-phw", "PAT", "S8", now),
    )

    assert registry.get_sample_value("nivaran_sla_show_cause_notices_total", {"number": "1"}) == 1
    assert registry.get_sample_value("nivaran_sla_breaches_total", {"rule": "S8"}) == 1
    assert registry.get_sample_value("nivaran_sla_breaches_total", {"rule": "S13"}) is None
