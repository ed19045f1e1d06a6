"""Composition root: settings -> logging/tracing -> migrations -> engine, Redis, peers -> service -> server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import grpc
import httpx
from argon2 import PasswordHasher
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran.routing.v1 import routing_pb2_grpc
from nivaran.sla.v1 import sla_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServiceBinding, serve_until_signalled
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.migrations import upgrade_async
from nivaran_common.redis import create_redis
from nivaran_common.revocation import Revocations
from nivaran_common.security import service_security
from nivaran_common.settings import Profile
from nivaran_common.telemetry import configure_tracing
from nivaran_common.timeutil import utcnow
from nivaran_common.tls import TlsMaterial
from nivaran_identity import SERVICE_ROOT
from nivaran_identity.access import RULES
from nivaran_identity.accounts import AccountAdministration, PasswordPolicy
from nivaran_identity.clients import ChargeHandovers, GrpcChargeHandovers, GrpcPositionDirectory, PositionDirectory
from nivaran_identity.clients_registry import ServiceClientRegistry
from nivaran_identity.delegations import Delegations
from nivaran_identity.handlers import IdentityServicer
from nivaran_identity.keys import KeyRing, SecretBox
from nivaran_identity.open311_keys import Open311Keys
from nivaran_identity.otp import OtpPolicy, OtpVault
from nivaran_identity.post_contacts import PostContacts
from nivaran_identity.seed import seed_accounts
from nivaran_identity.senders import DevLogOtpSender, OtpSender, SmsOtpSender, UnconfiguredOtpSender
from nivaran_identity.service import IdentityPolicy, IdentityService
from nivaran_identity.settings import IdentitySettings
from nivaran_identity.tokens import Revoker, TokenIssuer

log = get_logger(__name__)


def binding(wiring: Wiring) -> ServiceBinding:
    """The identity servicer, mounted."""
    return ServiceBinding(
        identity_pb2_grpc.add_IdentityServiceServicer_to_server,
        IdentityServicer(
            wiring.service,
            wiring.accounts,
            wiring.service_clients,
            wiring.post_contacts,
            wiring.open311_keys,
            wiring.delegations,
        ),
        identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
    )


def otp_sender(settings: IdentitySettings, http: httpx.AsyncClient) -> OtpSender:
    """Dev logs; elsewhere SMS through the configured provider, or a refusal when none is configured."""
    if settings.profile is Profile.DEV and not settings.sms_provider_url:
        return DevLogOtpSender()
    if not settings.sms_provider_url:
        log.warning("no SMS provider configured: citizens cannot get OTPs, approved officers no TOTP link")
        return UnconfiguredOtpSender()
    return SmsOtpSender(
        http,
        settings.sms_provider_url,
        sender_id=settings.sms_sender_id,
        entity_id=settings.sms_dlt_entity_id,
        otp_template_id=settings.sms_otp_dlt_template_id,
        totp_template_id=settings.sms_totp_dlt_template_id,
        api_key=settings.sms_api_key.get_secret_value(),
    )


@dataclass
class Wiring:
    """What build_service made, so the caller can close it."""

    service: IdentityService
    accounts: AccountAdministration
    service_clients: ServiceClientRegistry
    post_contacts: PostContacts
    open311_keys: Open311Keys
    delegations: Delegations
    keys: KeyRing
    redis: Redis
    http: httpx.AsyncClient
    revocations: Revocations
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    # The Redis client of the revocation records, when build_service made it (not when a test injected them).
    revocation_redis: Redis | None = None

    async def close(self) -> None:
        """Close the clients (not the engine, which the caller owns)."""
        for channel in self.channels:
            await channel.close()
        await self.http.aclose()
        await self.redis.aclose()
        if self.revocation_redis is not None:
            await self.revocation_redis.aclose()


def build_service(
    settings: IdentitySettings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    positions: PositionDirectory | None = None,
    handovers: ChargeHandovers | None = None,
    sender: OtpSender | None = None,
    clock: Callable[[], datetime] = utcnow,
    hasher: PasswordHasher | None = None,
    revocations: Revocations | None = None,
    tls: TlsMaterial | None = None,
) -> Wiring:
    """Wire the service from settings; tests pass in-process collaborators in place of the real peers. The
    channels to routing and sla present `tls` (read from the settings when not given)."""
    box = SecretBox(settings.key_encryption_secret.get_secret_value())
    access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    keys = KeyRing(sessions, box, access_ttl, clock)
    redis = create_redis(settings.redis_url)
    revocation_redis: Redis | None = None
    if revocations is None:
        # Its own client: the records live where every door reads them, which need not be identity's OTP Redis.
        revocation_redis = create_redis(settings.revocation_redis_url)
        # The cut-offs must come from the clock that stamps the tokens' issued_ms (tokens.TokenIssuer).
        revocations = Revocations(revocation_redis, settings.revocation_key_prefix, clock=lambda: clock().timestamp())
    revoker = Revoker(revocations, access_ttl, settings.jwt_leeway_seconds)
    http = httpx.AsyncClient(timeout=settings.sms_timeout_seconds)
    channels: list[grpc.aio.Channel] = []
    if tls is None and (positions is None or handovers is None):
        tls = settings.tls_material()
    if positions is None:
        routing_channel = open_channel(settings.routing_target, tls)
        channels.append(routing_channel)
        positions = GrpcPositionDirectory(
            routing_pb2_grpc.RoutingServiceStub(routing_channel), settings.rpc_timeout_seconds
        )
    if handovers is None:
        sla_channel = open_channel(settings.sla_target, tls)
        channels.append(sla_channel)
        handovers = GrpcChargeHandovers(sla_pb2_grpc.SlaServiceStub(sla_channel), settings.rpc_timeout_seconds)
    otp = OtpVault(
        redis,
        settings.key_prefix,
        box,
        OtpPolicy(
            ttl_seconds=settings.otp_ttl_seconds,
            resend_cooldown_seconds=settings.otp_resend_cooldown_seconds,
            max_per_phone_per_hour=settings.otp_max_per_phone_per_hour,
            max_per_ip_per_hour=settings.otp_max_per_ip_per_hour,
            max_failures=settings.otp_max_failures,
            # IdentitySettings has already refused this outside the dev profile.
            fixed_code=settings.dev_fixed_otp if settings.dev_fixed_otp_enabled else None,
        ),
        clock,
    )
    policy = IdentityPolicy(
        access_token_ttl=access_ttl,
        refresh_token_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        password_max_failures=settings.password_max_failures,
        password_lockout=timedelta(seconds=settings.password_lockout_seconds),
        require_officer_totp=settings.officer_totp_required,
        totp_issuer=settings.totp_issuer,
        handover_retry=timedelta(seconds=settings.handover_retry_seconds),
    )
    tokens = TokenIssuer(keys, policy.access_token_ttl, policy.refresh_token_ttl, clock)
    service = IdentityService(
        sessions,
        keys,
        box,
        otp,
        sender if sender is not None else otp_sender(settings, http),
        positions,
        handovers,
        policy,
        clock,
        hasher,
        revoker=revoker,
        tokens=tokens,
    )
    accounts = AccountAdministration(
        sessions,
        service.passwords,
        tokens,
        revoker,
        PasswordPolicy(max_failures=policy.password_max_failures, lockout=policy.password_lockout),
        clock,
    )
    service_clients = ServiceClientRegistry(sessions, tokens, revoker, clock)
    return Wiring(
        service=service,
        accounts=accounts,
        service_clients=service_clients,
        post_contacts=PostContacts(sessions),
        open311_keys=Open311Keys(sessions, clock),
        delegations=Delegations(sessions, clock, revoker),
        keys=keys,
        redis=redis,
        http=http,
        revocations=revocations,
        channels=channels,
        revocation_redis=revocation_redis,
    )


async def retry_pending_handovers(service: IdentityService, every_seconds: float) -> None:
    """Keep offering sla the charge handovers it has not taken (sla down, a crash in between): none is lost."""
    while True:
        try:
            applied = await service.retry_pending_handovers()
            if applied:
                log.info("pending charge handovers applied", count=applied)
        except Exception:
            log.exception("charge-handover sweep failed")
        await asyncio.sleep(every_seconds)


async def rotate_signing_keys(keys: KeyRing, max_age: timedelta, every_seconds: float = 3600.0) -> None:
    """Rotate the signing key once it is older than `max_age`."""
    while True:
        try:
            await keys.rotate_if_older_than(max_age)
        except Exception:
            log.exception("signing-key rotation check failed")
        await asyncio.sleep(every_seconds)


async def run(settings: IdentitySettings) -> None:
    """Run the identity service until SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    tls = settings.tls_material()
    await upgrade_async(SERVICE_ROOT, settings.database_url)
    engine = create_engine(settings.database_url)
    wiring = build_service(settings, session_factory(engine), tls=tls)
    await wiring.keys.ensure_active_key()
    if settings.seed_file is not None:
        await seed_accounts(wiring.service, settings.seed_file, settings.profile)
    tasks = [asyncio.create_task(retry_pending_handovers(wiring.service, settings.handover_retry_seconds))]
    if settings.signing_key_max_age_days > 0:
        max_age = timedelta(days=settings.signing_key_max_age_days)
        tasks.append(asyncio.create_task(rotate_signing_keys(wiring.keys, max_age)))
    try:
        # Identity reads its own key ring: its door never waits on itself.
        async with service_security(settings, RULES, fetch_jwks=wiring.service.jwks_json, tls=tls) as security:
            await serve_until_signalled(
                [binding(wiring)],
                settings.grpc_host,
                settings.grpc_port,
                settings.graceful_shutdown_seconds,
                security=security,
                health_port=settings.health_port,
                metrics_port=settings.metrics_port,
            )
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await wiring.close()
        await engine.dispose()
