"""Composition root: settings -> logging/tracing -> migrations -> engine -> service (+ seed data) -> server."""

from __future__ import annotations

from pathlib import Path

from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.errors import FailedPrecondition
from nivaran_common.grpc_server import ServiceBinding, serve_until_signalled
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.migrations import upgrade_async
from nivaran_common.security import service_security
from nivaran_common.telemetry import configure_tracing
from nivaran_routing import SERVICE_ROOT
from nivaran_routing.access import RULES
from nivaran_routing.domain import ImportReport
from nivaran_routing.handlers import RoutingServicer
from nivaran_routing.offices import OfficeService
from nivaran_routing.service import RoutingService
from nivaran_routing.settings import RoutingSettings

log = get_logger(__name__)


def binding(service: RoutingService, offices: OfficeService) -> ServiceBinding:
    """The routing servicer, mounted."""
    return ServiceBinding(
        routing_pb2_grpc.add_RoutingServiceServicer_to_server,
        RoutingServicer(service, offices),
        routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name,
    )


async def load_seed(service: RoutingService, folder: Path) -> ImportReport:
    """Load the seed folder; refuse to start when any row is wrong (nothing is written then)."""
    try:
        report = await service.loader.load_folder(folder)
    except FailedPrecondition:
        # Another replica loaded the same folder at the same moment; a second pass sees its rows as unchanged.
        report = await service.loader.load_folder(folder)
    for error in report.errors:
        log.error("seed row rejected", source=error.source, row=error.row, field=error.field, message=error.message)
    if report.errors:
        # Serving with half-known master data would route cases wrongly; better not to start at all.
        raise SystemExit(f"seed folder {folder} has {len(report.errors)} errors; nothing was loaded")
    log.info("seed data loaded", folder=str(folder), **{t: vars(c) for t, c in report.counts.items()})
    return report


async def run(settings: RoutingSettings) -> None:
    """Run the routing service until SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    tls = settings.tls_material()
    await upgrade_async(SERVICE_ROOT, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        service = RoutingService(sessions)
        offices = OfficeService(sessions)
        if settings.seed_folder is not None:
            await load_seed(service, settings.seed_folder)
        async with service_security(settings, RULES, tls=tls) as security:
            await serve_until_signalled(
                [binding(service, offices)],
                settings.grpc_host,
                settings.grpc_port,
                settings.graceful_shutdown_seconds,
                security=security,
                health_port=settings.health_port,
                metrics_port=settings.metrics_port,
            )
    finally:
        await engine.dispose()
