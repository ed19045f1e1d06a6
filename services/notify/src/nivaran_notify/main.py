"""Composition root: settings -> logging/tracing -> migrations -> engine, channels -> service -> server + retry loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nivaran.identity.v1.identity_pb2_grpc import IdentityServiceStub
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.blobstore import configured_store
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServiceBinding, serve_until_signalled
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.migrations import upgrade_async
from nivaran_common.security import service_security
from nivaran_common.telemetry import configure_tracing
from nivaran_common.timeutil import utcnow
from nivaran_notify import SERVICE_ROOT
from nivaran_notify.access import RULES
from nivaran_notify.documents.render import PdfRenderer
from nivaran_notify.documents.service import DocumentService
from nivaran_notify.domain import QuietHours, RetryPolicy
from nivaran_notify.handlers import NotifyServicer
from nivaran_notify.officer_contacts import IdentityOfficerContacts, OfficerChannels, OfficerContacts
from nivaran_notify.providers import HttpSmsGateway, HttpWhatsAppGateway, KannelSmsGateway, SmtpTransport
from nivaran_notify.retry import RetryLoop
from nivaran_notify.service import NotifyService
from nivaran_notify.settings import NotifySettings
from nivaran_notify.templates import TemplateRegistry

log = get_logger(__name__)


def build_service(
    settings: NotifySettings,
    engine: AsyncEngine,
    http: httpx.AsyncClient,
    clock: Callable[[], datetime] = utcnow,
    officer_contacts: OfficerContacts | None = None,
) -> NotifyService:
    """Wire the service from settings; tests use this too, so they run the production wiring. `officer_contacts`
    (identity's, or a test's) is needed when settings.officer_channels turn officers' SMS / email on."""
    sms: HttpSmsGateway | KannelSmsGateway | None = None
    if settings.sms_provider_url and settings.sms_provider_kind == "kannel":
        sms = KannelSmsGateway(
            http,
            str(settings.sms_provider_url),
            sender_id=settings.sms_sender_id,
            username=settings.kannel_username,
            password=settings.kannel_password.get_secret_value(),
            entity_id=settings.dlt_entity_id,
            dlr_url=settings.kannel_dlr_url.get_secret_value(),
        )
    elif settings.sms_provider_url:
        sms = HttpSmsGateway(
            http,
            str(settings.sms_provider_url),
            sender_id=settings.sms_sender_id,
            entity_id=settings.dlt_entity_id,
            api_key=settings.sms_api_key.get_secret_value(),
        )
    whatsapp = (
        HttpWhatsAppGateway(
            http, str(settings.whatsapp_provider_url), api_key=settings.whatsapp_api_key.get_secret_value()
        )
        if settings.whatsapp_provider_url
        else None
    )
    sessions = session_factory(engine)
    return NotifyService(
        sessions,
        TemplateRegistry(settings.dlt_template_ids),
        email=SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout=settings.smtp_timeout_seconds,
        ),
        sms=sms,
        whatsapp=whatsapp,
        sender=settings.smtp_from,
        policy=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
            lease_seconds=settings.delivery_lease_seconds,
        ),
        batch_size=settings.retry_batch_size,
        clock=clock,
        sms_quiet_hours=QuietHours.parse(settings.sms_quiet_hours),
        address_retention=timedelta(days=settings.address_retention_days),
        documents=documents(settings, sessions) if settings.documents_enabled else None,
        officer_channels=OfficerChannels.configured(
            settings.officer_channels, settings.officer_channels_by_template, officer_contacts
        ),
    )


def documents(settings: NotifySettings, sessions: async_sessionmaker[AsyncSession]) -> DocumentService:
    """The documents' renderer (fails at start when the fonts are missing) and their store."""
    blobs = configured_store(
        settings.documents_dir,
        bucket=settings.documents_s3_bucket,
        endpoint_url=settings.documents_s3_endpoint_url,
        region=settings.documents_s3_region,
        access_key_id=settings.documents_s3_access_key_id,
        secret_access_key=settings.documents_s3_secret_access_key.get_secret_value(),
        prefix=settings.documents_s3_prefix,
    )
    return DocumentService(sessions, blobs, PdfRenderer(settings.fonts_dir), str(settings.public_base_url))


def bindings(service: NotifyService) -> list[ServiceBinding]:
    """The servicers this process mounts."""
    return [
        ServiceBinding(
            notify_pb2_grpc.add_NotifyServiceServicer_to_server,
            NotifyServicer(service),
            notify_pb2.DESCRIPTOR.services_by_name["NotifyService"].full_name,
        )
    ]


async def run(settings: NotifySettings) -> None:
    """Run the notify service and its retry loop until SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    tls = settings.tls_material()
    await upgrade_async(SERVICE_ROOT, settings.database_url)
    engine = create_engine(settings.database_url)
    http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds)
    # S16 / C2: whoever holds a post now, for officers' notices by SMS / email (used only when configured).
    identity = open_channel(settings.identity_target, tls)
    contacts = IdentityOfficerContacts(IdentityServiceStub(identity), settings.identity_timeout_seconds)
    service = build_service(settings, engine, http, officer_contacts=contacts)
    retry_loop = RetryLoop(service, settings.retry_poll_seconds)
    retry_loop.start()
    log.info(
        "notify channels",
        smtp=f"{settings.smtp_host}:{settings.smtp_port}",
        sms_configured=settings.sms_provider_url is not None,
        whatsapp_configured=settings.whatsapp_provider_url is not None,
        sms_quiet_hours=settings.sms_quiet_hours or None,
        officer_channels=list(settings.officer_channels),
        officer_channels_by_template=settings.officer_channels_by_template or None,
    )
    try:
        async with service_security(settings, RULES, tls=tls) as security:
            await serve_until_signalled(
                bindings(service),
                settings.grpc_host,
                settings.grpc_port,
                settings.graceful_shutdown_seconds,
                security=security,
                health_port=settings.health_port,
                metrics_port=settings.metrics_port,
            )
    finally:
        await retry_loop.stop(settings.graceful_shutdown_seconds)
        await http.aclose()
        await identity.close()
        await engine.dispose()
