"""The worker process's pieces: connecting while Temporal starts, and stopping gracefully on request."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from nivaran.sla.v1 import sla_pb2
from nivaran_common.telemetry import configure_tracing
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, lifecycle_workflow_id, pydantic_data_converter
from nivaran_common.testing import eventually, free_port
from nivaran_sla.activities import RECORD_TRANSITION, SEND_NOTICE
from nivaran_sla.domain import DisposeInput, NoticeInput, NoticeResult, TransitionInput, TransitionResult
from nivaran_sla.worker import build_worker, connect_with_retry, run_until_stopped
from nivaran_sla.workflows import GrievanceLifecycle

from .fakes import FakeServices, policies_without_recourse


async def test_connect_retries_until_temporal_answers(time_skipping_env: WorkflowEnvironment) -> None:
    attempts: list[str] = []

    async def flaky_connect(address: str, namespace: str) -> Client:
        attempts.append(address)
        if len(attempts) < 3:
            raise RuntimeError("Failed client connect: connection refused")
        return time_skipping_env.client

    client = await connect_with_retry("temporal:7233", "default", 5.0, flaky_connect, initial_delay_seconds=0.01)

    assert client is time_skipping_env.client
    assert attempts == ["temporal:7233"] * 3


async def test_connect_gives_up_after_the_timeout() -> None:
    with pytest.raises(RuntimeError, match="Failed client connect"):
        await connect_with_retry(f"127.0.0.1:{free_port()}", "default", 0.2, initial_delay_seconds=0.05)


async def test_connect_reaches_a_real_server(time_skipping_env: WorkflowEnvironment) -> None:
    address = time_skipping_env.client.service_client.config.target_host

    client = await connect_with_retry(address, "default", 10.0)

    assert await client.service_client.check_health()


async def test_worker_stops_gracefully_when_asked(time_skipping_env: WorkflowEnvironment) -> None:
    @activity.defn(name=RECORD_TRANSITION)
    async def record_transition(transition: TransitionInput) -> TransitionResult:
        return TransitionResult(event_id="e", duplicate=False)

    @activity.defn(name=SEND_NOTICE)
    async def send_notice(notice: NoticeInput) -> NoticeResult:
        return NoticeResult(notice_id="n", channels=notice.channels, duplicate=False)

    worker = build_worker(time_skipping_env.client, f"sla-test-{uuid.uuid4()}", [record_transition, send_notice], 1.0)
    stop = asyncio.Event()
    running = asyncio.create_task(run_until_stopped(worker, stop))

    async def started() -> bool:
        return worker.is_running

    await eventually(started)
    stop.set()
    await asyncio.wait_for(running, timeout=15)

    assert worker.is_shutdown


async def test_trace_flows_from_the_workflow_start_into_the_activities(time_skipping_env: WorkflowEnvironment) -> None:
    exporter = InMemorySpanExporter()
    configure_tracing("sla-test", SimpleSpanProcessor(exporter))
    # The interceptors connect_temporal installs, on the test server's connection.
    client = Client(
        time_skipping_env.client.service_client,
        namespace=time_skipping_env.client.namespace,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()],
    )
    # A plain client does not skip time: the case's lifecycle must end with the case (no recourse window).
    fake = FakeServices(policies=policies_without_recourse())
    task_queue = f"sla-test-{uuid.uuid4()}"
    grievance_id = str(uuid.uuid4())
    async with build_worker(client, task_queue, fake.activities()):
        handle = await client.start_workflow(
            LIFECYCLE_WORKFLOW,
            sla_pb2.LifecycleInput(grievance_id=grievance_id, position_id="pos-bdo-phw", track="sahyog"),
            id=lifecycle_workflow_id(grievance_id),
            task_queue=task_queue,
        )

        async def acknowledged() -> bool:
            return "acknowledgement_sent" in fake.events()

        await eventually(acknowledged)
        await handle.execute_update(GrievanceLifecycle.dispose, DisposeInput(disposed_by="acct-1", outcome="Done"))
        await handle.result()

    spans = exporter.get_finished_spans()
    [started] = [s for s in spans if s.name == f"StartWorkflow:{LIFECYCLE_WORKFLOW}"]
    trace_id = started.context.trace_id
    in_trace = {s.name for s in spans if s.context.trace_id == trace_id}
    assert f"RunWorkflow:{LIFECYCLE_WORKFLOW}" in in_trace
    assert f"RunActivity:{RECORD_TRANSITION}" in in_trace
    assert f"RunActivity:{SEND_NOTICE}" in in_trace
