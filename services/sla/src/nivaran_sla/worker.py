"""The Temporal worker of the lifecycle: `python -m nivaran_sla.worker`.

Composition root of the worker process: settings -> logging/tracing -> Temporal client (retried while the server
starts) -> gRPC channels to intake and notify -> activities -> worker, until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from nivaran.intake.v1 import intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2_grpc
from nivaran.routing.v1 import routing_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.gc_pauses import GcFreezer, watch_gc_pauses
from nivaran_common.grpc_client import open_channel
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.metrics import MetricsServer, process_registry, serve_metrics
from nivaran_common.payload_codec import codec_for_process, load_codec
from nivaran_common.settings import load_settings
from nivaran_common.telemetry import configure_tracing
from nivaran_common.temporal import SEARCH_ATTRIBUTES, connect_temporal
from nivaran_common.tls import TlsMaterial
from nivaran_sla.activities import LifecycleActivities
from nivaran_sla.metrics import SlaMetrics, TemporalCoreMetrics, free_loopback_port, temporal_runtime
from nivaran_sla.policy import PolicyRegistry
from nivaran_sla.records import SlaRecords
from nivaran_sla.settings import SlaSettings, WorkflowSandbox
from nivaran_sla.workflows import GrievanceLifecycle

log = get_logger(__name__)

MAX_CONNECT_BACKOFF_SECONDS = 10.0


async def connect_with_retry(
    address: str,
    namespace: str,
    timeout_seconds: float,
    connect: Callable[[str, str], Awaitable[Client]] | None = None,
    *,
    payload_codec: PayloadCodec | None = None,
    initial_delay_seconds: float = 0.5,
) -> Client:
    """Connect to Temporal, retrying with backoff for up to `timeout_seconds` while the server comes up.

    `connect` defaults to connect_temporal with `payload_codec`, or without one with the codec of
    NIVARAN_TEMPORAL_CODEC_KEYS."""
    if connect is None:
        connect = functools.partial(connect_temporal, payload_codec=payload_codec or load_codec())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    delay = initial_delay_seconds
    attempt = 0
    log.info("connecting to temporal", address=address, namespace=namespace, timeout_seconds=timeout_seconds)
    while True:
        attempt += 1
        try:
            client = await connect(address, namespace)
        except RuntimeError as exc:
            # The SDK reports every connection failure (refused, DNS, TLS) as a RuntimeError.
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.error("temporal unreachable, giving up", address=address, attempts=attempt, error=str(exc))
                raise
            wait = min(delay, remaining)
            log.warning(
                "temporal not reachable yet, retrying",
                address=address,
                namespace=namespace,
                attempt=attempt,
                retry_in_seconds=round(wait, 2),
                error=str(exc),
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, MAX_CONNECT_BACKOFF_SECONDS)
        else:
            log.info("connected to temporal", address=address, namespace=namespace, attempts=attempt)
            return client


async def missing_search_attributes(client: Client) -> list[str]:
    """The lifecycle's search attributes that the client's namespace has not registered (names, sorted).

    A server that does not answer the operator call (some hosted offerings refuse it) is taken at its word: the
    list is empty and a warning is logged, since the worker cannot tell."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as exc:
        log.warning("cannot list search attributes; assuming they are registered", error=str(exc))
        return []
    registered = {**response.system_attributes, **response.custom_attributes}
    return sorted(key.name for key in SEARCH_ATTRIBUTES if registered.get(key.name) != int(key.indexed_value_type))


# The modules every case shares when the sandbox passes the project through: the lifecycle's own code, the shared
# library, the generated protobuf modules, and the libraries they decide with. None keeps state between cases.
SHARED_MODULES = ("nivaran_sla", "nivaran_common", "nivaran", "pydantic", "pydantic_core", "yaml", "google.protobuf")


def workflow_runner(sandbox: WorkflowSandbox) -> WorkflowRunner:
    """How the worker runs each case's workflow code (see WorkflowSandbox)."""
    if sandbox is WorkflowSandbox.OFF:
        return UnsandboxedWorkflowRunner()
    if sandbox is WorkflowSandbox.STRICT:
        return SandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*SHARED_MODULES))


def build_worker(
    client: Client,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    graceful_shutdown_seconds: float = 20.0,
    max_cached_workflows: int = 1000,
    sandbox: WorkflowSandbox = WorkflowSandbox.SHARED,
) -> Worker:
    """The worker that runs GrievanceLifecycle and the given activities on `task_queue`, keeping up to
    `max_cached_workflows` cases in memory between their tasks."""
    # The client's TracingInterceptor is also a worker interceptor, so the worker picks it up from the client.
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[GrievanceLifecycle],
        activities=list(activities),
        graceful_shutdown_timeout=timedelta(seconds=graceful_shutdown_seconds),
        max_cached_workflows=max_cached_workflows,
        workflow_runner=workflow_runner(sandbox),
    )


async def freeze_periodically(freezer: GcFreezer, every_seconds: float) -> None:
    """Freeze the living objects every `every_seconds` (see nivaran_common.gc_pauses), until cancelled."""
    while True:
        await asyncio.sleep(every_seconds)
        frozen = freezer.freeze()
        log.debug("objects frozen", frozen_objects=frozen)


async def run_until_stopped(worker: Worker, stop: asyncio.Event) -> None:
    """Run `worker` until `stop` is set, then shut it down gracefully; a worker that dies raises."""
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if running in done:
        stopping.cancel()
        running.result()
        return
    log.info("stopping temporal worker")
    await worker.shutdown()
    await running


def start_worker_metrics(settings: SlaSettings) -> tuple[SlaMetrics, MetricsServer | None]:
    """The SLA's counters, and with NIVARAN_SLA_WORKER_METRICS_PORT the worker's GET /metrics: those counters and
    the Temporal SDK's metrics (nivaran_sla.metrics). Before the worker connects: the SDK's runtime is the default
    one every client made afterwards uses."""
    registry = process_registry()
    metrics = SlaMetrics(registry)
    watch_gc_pauses(registry)
    if not settings.worker_metrics_port:
        return metrics, None
    core_port = free_loopback_port()
    Runtime.set_default(temporal_runtime(core_port), error_if_already_set=False)
    registry.register(TemporalCoreMetrics(f"http://127.0.0.1:{core_port}/metrics"))
    return metrics, serve_metrics(registry, settings.worker_metrics_host, settings.worker_metrics_port)


async def run_worker(settings: SlaSettings) -> None:
    """Run the lifecycle worker until SIGTERM or SIGINT."""
    service = f"{settings.service_name}-worker"
    configure_logging(service, settings.log_level)
    configure_tracing(service)
    # The worker's own certificate (workload sla-worker): NIVARAN_SLA_TLS_CERT_FILE / _KEY_FILE of its process.
    tls = settings.tls_material()
    payload_codec = codec_for_process(service)
    metrics, exposition = start_worker_metrics(settings)
    try:
        await _run_worker(settings, tls, payload_codec, metrics)
    finally:
        if exposition is not None:
            exposition.stop()


async def _run_worker(
    settings: SlaSettings, tls: TlsMaterial, payload_codec: PayloadCodec, metrics: SlaMetrics
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connecting = asyncio.create_task(
        connect_with_retry(
            settings.temporal_address,
            settings.temporal_namespace,
            settings.temporal_connect_timeout_seconds,
            payload_codec=payload_codec,
        )
    )
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        # Stopped while still waiting for Temporal: nothing is running yet, so there is nothing to drain.
        connecting.cancel()
        log.info("temporal worker stopped before it connected")
        return
    stopping.cancel()
    client = connecting.result()
    if settings.upsert_search_attributes:
        missing = await missing_search_attributes(client)
        if missing:
            # Every upsert of an unknown attribute fails the workflow task, so each case would stall: stop here.
            log.error("search attributes not registered", missing=missing, namespace=settings.temporal_namespace)
            raise SystemExit(
                f"sla worker: namespace {settings.temporal_namespace!r} lacks the search attributes {missing}; "
                "register them (temporal operator search-attribute create --name NAME --type Keyword|Datetime) "
                "or set NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES=false"
            )
    engine = create_engine(settings.database_url)
    policies = PolicyRegistry.from_folder(settings.policy_folder)
    async with (
        open_channel(settings.intake_target, tls) as intake,
        open_channel(settings.notify_target, tls) as notify,
        open_channel(settings.routing_target, tls) as routing,
    ):
        activities = LifecycleActivities(
            intake_pb2_grpc.IntakeServiceStub(intake),
            notify_pb2_grpc.NotifyServiceStub(notify),
            settings.rpc_timeout_seconds,
            routing=routing_pb2_grpc.RoutingServiceStub(routing),
            records=SlaRecords(session_factory(engine)),
            policies=policies,
            holidays_folder=settings.holidays_folder,
            upsert_search_attributes=settings.upsert_search_attributes,
            metrics=metrics,
        )
        worker = build_worker(
            client,
            settings.task_queue,
            activities.all(),
            settings.worker_graceful_shutdown_seconds,
            settings.worker_max_cached_workflows,
            settings.workflow_sandbox,
        )
        log.info(
            "temporal worker started",
            task_queue=settings.task_queue,
            intake=settings.intake_target,
            notify=settings.notify_target,
            upsert_search_attributes=settings.upsert_search_attributes,
            max_cached_workflows=settings.worker_max_cached_workflows,
            workflow_sandbox=settings.workflow_sandbox.value,
        )
        freezing = (
            asyncio.create_task(freeze_periodically(GcFreezer(), settings.worker_gc_freeze_seconds))
            if settings.worker_gc_freeze_seconds
            else None
        )
        try:
            await run_until_stopped(worker, stop)
        finally:
            if freezing is not None:
                freezing.cancel()
    await engine.dispose()
    log.info("temporal worker stopped")


if __name__ == "__main__":
    asyncio.run(run_worker(load_settings(SlaSettings)))
