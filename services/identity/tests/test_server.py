"""The identity server starts with health and reflection and answers GetJwks; its schema matches its models."""

from __future__ import annotations

import json
import secrets

import grpc
import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine as create_sync_engine

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran_common.db import sync_url
from nivaran_common.grpc_server import build_server
from nivaran_common.migrations import upgrade_async
from nivaran_common.settings import Profile
from nivaran_identity import SERVICE_ROOT, tables
from nivaran_identity.main import binding, otp_sender
from nivaran_identity.senders import DevLogOtpSender, SmsOtpSender, UnconfiguredOtpSender
from nivaran_identity.settings import IdentitySettings
from nivaran_identity.tables import IdentityBase

from .conftest import HarnessFactory


async def test_identity_serves_health_and_jwks(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    server, port, _ = await build_server([binding(h.wiring)], "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="nivaran.identity.v1.IdentityService")
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            jwks = await identity_pb2_grpc.IdentityServiceStub(channel).GetJwks(identity_pb2.GetJwksRequest())
            assert [key["alg"] for key in json.loads(jwks.json)["keys"]] == ["ES256"]
    finally:
        await server.stop(None)


async def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    await upgrade_async(SERVICE_ROOT, database_url)
    # Every service's models share nivaran_common's Base metadata: compare identity's tables only.
    own = {m.local_table.name for m in IdentityBase.registry.mappers if m.class_.__module__ == tables.__name__}

    def identity_only(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return type_ != "table" or name in own

    engine = create_sync_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": "identity_alembic_version", "include_object": identity_only}
            )
            diff = compare_metadata(context, IdentityBase.metadata)
    finally:
        engine.dispose()
    assert "accounts" in own
    assert diff == []


async def test_otp_delivery_is_a_log_in_dev_and_sms_or_a_refusal_elsewhere() -> None:
    secret = secrets.token_urlsafe(32)
    async with httpx.AsyncClient() as http:
        assert isinstance(otp_sender(IdentitySettings(profile=Profile.DEV), http), DevLogOtpSender)
        elsewhere = IdentitySettings(profile=Profile.TEST, key_encryption_secret=secret)
        assert isinstance(otp_sender(elsewhere, http), UnconfiguredOtpSender)
        configured = IdentitySettings(
            profile=Profile.TEST, key_encryption_secret=secret, sms_provider_url="http://127.0.0.1:9/sms"
        )
        assert isinstance(otp_sender(configured, http), SmsOtpSender)
