"""Composition root of the gRPC server: settings -> logging/tracing -> policies -> migrations -> engine, Temporal
client, intake channel -> service -> servicer -> server.

The Temporal worker is a separate process (`python -m nivaran_sla.worker`), so each scales on its own.
"""

from __future__ import annotations

from temporalio.client import Client

from nivaran.intake.v1 import intake_pb2_grpc
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServiceBinding, serve_until_signalled
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.migrations import upgrade_async
from nivaran_common.payload_codec import codec_for_process
from nivaran_common.security import service_security
from nivaran_common.telemetry import configure_tracing
from nivaran_sla import SERVICE_ROOT
from nivaran_sla.access import RULES
from nivaran_sla.acts import CaseActs
from nivaran_sla.clients import IntakeCases, TemporalWorkflows
from nivaran_sla.handlers import SlaServicer
from nivaran_sla.policy import PolicyError, PolicyRegistry
from nivaran_sla.records import SlaRecords
from nivaran_sla.service import SlaService
from nivaran_sla.settings import SlaSettings
from nivaran_sla.worker import connect_with_retry

log = get_logger(__name__)


def load_policies(settings: SlaSettings) -> PolicyRegistry:
    """Every track's policy; a broken file stops the service with a message naming the file and the field."""
    try:
        return PolicyRegistry.from_folder(settings.policy_folder)
    except PolicyError as exc:
        log.error("policy folder unusable", folder=str(settings.policy_folder), error=str(exc))
        raise SystemExit(f"sla: cannot start: {exc}") from exc


def bindings(servicer: SlaServicer) -> list[ServiceBinding]:
    """The servicers this process mounts."""
    return [
        ServiceBinding(
            sla_pb2_grpc.add_SlaServiceServicer_to_server,
            servicer,
            sla_pb2.DESCRIPTOR.services_by_name["SlaService"].full_name,
        )
    ]


def build_service(
    settings: SlaSettings,
    records: SlaRecords,
    policies: PolicyRegistry,
    temporal: Client,
    intake: intake_pb2_grpc.IntakeServiceStub,
) -> SlaService:
    """Wire the use cases from settings and the clients built at startup."""
    return SlaService(
        records,
        policies,
        settings.holidays_folder,
        TemporalWorkflows(temporal),
        IntakeCases(intake, settings.rpc_timeout_seconds),
    )


async def run(settings: SlaSettings) -> None:
    """Run the sla service until SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    # Before anything else: a bad policy file must stop the service at once, not after Temporal answers.
    policies = load_policies(settings)
    payload_codec = codec_for_process(settings.service_name)
    tls = settings.tls_material()
    await upgrade_async(SERVICE_ROOT, settings.database_url)
    temporal = await connect_with_retry(
        settings.temporal_address,
        settings.temporal_namespace,
        settings.temporal_connect_timeout_seconds,
        payload_codec=payload_codec,
    )
    engine = create_engine(settings.database_url)
    try:
        async with (
            open_channel(settings.intake_target, tls) as intake,
            service_security(settings, RULES, tls=tls) as security,
        ):
            records = SlaRecords(session_factory(engine))
            intake_stub = intake_pb2_grpc.IntakeServiceStub(intake)
            service = build_service(settings, records, policies, temporal, intake_stub)
            cases = IntakeCases(intake_stub, settings.rpc_timeout_seconds)
            servicer = SlaServicer(service, CaseActs(TemporalWorkflows(temporal), records, cases))
            await serve_until_signalled(
                bindings(servicer),
                settings.grpc_host,
                settings.grpc_port,
                settings.graceful_shutdown_seconds,
                security=security,
                health_port=settings.health_port,
                metrics_port=settings.metrics_port,
            )
    finally:
        await engine.dispose()
