"""Wiring of a service's door from its settings: TLS material, identity's key set, the revocation records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.door import Door, Rule
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServerSecurity
from nivaran_common.redis import create_redis
from nivaran_common.revocation import Revocations
from nivaran_common.settings import ServiceSettings
from nivaran_common.tls import TlsMaterial


def token_verifier(
    settings: ServiceSettings, fetch_jwks: Callable[[], Awaitable[str]], revocations: Revocations
) -> TokenVerifier:
    """The verifier every door (and the gateway) uses, configured from the shared settings."""
    keys = KeySetCache(
        fetch_jwks,
        max_age_seconds=settings.jwks_max_age_seconds,
        min_refresh_seconds=settings.jwks_min_refresh_seconds,
    )
    return TokenVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithms=settings.jwt_algorithms,
        leeway_seconds=settings.jwt_leeway_seconds,
        revocations=revocations,
    )


@asynccontextmanager
async def service_security(
    settings: ServiceSettings,
    rules: Mapping[str, Rule],
    *,
    fetch_jwks: Callable[[], Awaitable[str]] | None = None,
    tls: TlsMaterial | None = None,
) -> AsyncIterator[ServerSecurity]:
    """The door of one service: its own key set source (`fetch_jwks`, identity only), or identity over mTLS at
    `settings.identity_target`."""
    material = tls or settings.tls_material()
    redis = create_redis(settings.revocation_redis_url)
    channel = None
    try:
        if fetch_jwks is None:
            channel = open_channel(settings.identity_target, material)
            stub = identity_pb2_grpc.IdentityServiceStub(channel)

            async def from_identity() -> str:
                answer = await stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=5)
                document: str = answer.json
                return document

            fetch_jwks = from_identity
        verifier = token_verifier(settings, fetch_jwks, Revocations(redis, settings.revocation_key_prefix))
        yield ServerSecurity(material, Door(rules, verifier))
    finally:
        if channel is not None:
            await channel.close()
        await redis.aclose()
