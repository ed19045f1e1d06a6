"""Composition root: settings -> logging/tracing -> migrations -> engine, routing, Temporal -> service -> server."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio.converter import PayloadCodec

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.routing.v1 import routing_pb2_grpc
from nivaran_common.blobstore import BlobStore, configured_store
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServiceBinding, serve_until_signalled
from nivaran_common.jurisdiction import PositionDirectory
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.metrics import process_registry
from nivaran_common.migrations import upgrade_async
from nivaran_common.payload_codec import codec_for_process
from nivaran_common.redis import create_redis
from nivaran_common.security import service_security
from nivaran_common.telemetry import configure_tracing
from nivaran_common.temporal import connect_temporal
from nivaran_intake import SERVICE_ROOT
from nivaran_intake.access import RULES
from nivaran_intake.attachments import AttachmentLimits, AttachmentService
from nivaran_intake.clients import GrpcMasterData, GrpcRouter, TemporalLifecycleStarter
from nivaran_intake.conversation import ConversationStore
from nivaran_intake.duplicates import DuplicatePolicy
from nivaran_intake.handlers import IntakeServicer
from nivaran_intake.metrics import OpenCases
from nivaran_intake.service import IntakeService
from nivaran_intake.settings import IntakeSettings
from nivaran_intake.whatsapp_chat import WhatsAppChat

log = get_logger(__name__)


def binding(
    service: IntakeService,
    attachments: AttachmentService,
    directory: PositionDirectory | None = None,
    whatsapp: WhatsAppChat | None = None,
) -> ServiceBinding:
    """The intake servicer, mounted."""
    return ServiceBinding(
        intake_pb2_grpc.add_IntakeServiceServicer_to_server,
        IntakeServicer(service, attachments, directory, whatsapp),
        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,
    )


def blob_store(settings: IntakeSettings) -> BlobStore:
    """An S3-compatible bucket when one is configured, the local folder otherwise."""
    return configured_store(
        settings.attachments_dir,
        bucket=settings.attachments_s3_bucket,
        endpoint_url=settings.attachments_s3_endpoint_url,
        region=settings.attachments_s3_region,
        access_key_id=settings.attachments_s3_access_key_id,
        secret_access_key=settings.attachments_s3_secret_access_key.get_secret_value(),
        prefix=settings.attachments_s3_prefix,
    )


async def retry_pending_starts(service: IntakeService, every_seconds: float) -> None:
    """Keep starting lifecycles that did not start at filing time (Temporal down, a crash in between)."""
    while True:
        try:
            started = await service.start_pending()
            if started:
                log.info("started pending lifecycles", count=started)
        except Exception:
            log.exception("pending-start sweep failed")
        await asyncio.sleep(every_seconds)


async def connect_temporal_with_retry(
    address: str, namespace: str, attempts: int = 60, *, payload_codec: PayloadCodec
) -> object:
    for attempt in range(1, attempts + 1):
        try:
            return await connect_temporal(address, namespace, payload_codec=payload_codec)
        except Exception:
            log.warning("temporal not reachable yet", address=address, attempt=attempt)
            await asyncio.sleep(1.0)
    raise RuntimeError(f"Temporal at {address} is not reachable")


async def run(settings: IntakeSettings) -> None:
    """Run the intake service until SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    # Complainants' details travel in the lifecycle's input: without the keys that seal them, do not start at all.
    payload_codec = codec_for_process(settings.service_name)
    await upgrade_async(SERVICE_ROOT, settings.database_url)
    engine = create_engine(settings.database_url)
    tls = settings.tls_material()
    routing_channel = open_channel(settings.routing_target, tls)
    temporal = await connect_temporal_with_retry(
        settings.temporal_address, settings.temporal_namespace, payload_codec=payload_codec
    )
    attachments = AttachmentService(
        session_factory(engine),
        blob_store(settings),
        AttachmentLimits(settings.attachments_max_bytes, settings.attachments_allowed_types),
    )
    service = IntakeService(
        session_factory(engine),
        GrpcRouter(routing_pb2_grpc.RoutingServiceStub(routing_channel)),
        TemporalLifecycleStarter(temporal, settings.sla_task_queue),  # type: ignore[arg-type]
        state_code=settings.state_code,
        aadhaar_key=settings.aadhaar_hash_key.get_secret_value().encode(),
        attachments=attachments,
        sla_task_queue=settings.sla_task_queue,
        duplicates=DuplicatePolicy(settings.duplicate_window_days, settings.duplicate_min_similarity),
    )
    # An officer's jurisdiction, from routing's reporting chains (cached briefly, as at the gateway).
    directory = PositionDirectory(
        routing_pb2_grpc.RoutingServiceStub(routing_channel),  # type: ignore[arg-type]
        ttl_seconds=settings.jurisdiction_cache_seconds,
        timeout_seconds=10.0,
    )
    # C1 / B3: WhatsApp's guided conversations, kept in Redis; routing's categories and districts are its choices.
    redis = create_redis(settings.redis_url)
    whatsapp = WhatsAppChat(
        service,
        ConversationStore(redis, settings.redis_key_prefix, ttl_seconds=settings.conversation_ttl_seconds),
        GrpcMasterData(
            routing_pb2_grpc.RoutingServiceStub(routing_channel), ttl_seconds=settings.master_data_cache_seconds
        ),
    )
    sweeper = asyncio.create_task(retry_pending_starts(service, settings.start_retry_seconds))
    background = [sweeper]
    if settings.metrics_port:
        open_cases = OpenCases(session_factory(engine), process_registry())
        background.append(asyncio.create_task(open_cases.keep_fresh(settings.open_cases_metric_seconds)))
    try:
        async with service_security(settings, RULES, tls=tls) as security:
            await serve_until_signalled(
                [binding(service, attachments, directory, whatsapp)],
                settings.grpc_host,
                settings.grpc_port,
                settings.graceful_shutdown_seconds,
                security=security,
                health_port=settings.health_port,
                metrics_port=settings.metrics_port,
            )
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await routing_channel.close()
        await redis.aclose()
        await engine.dispose()
