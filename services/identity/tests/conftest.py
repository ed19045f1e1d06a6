"""Identity test fixtures: the service on a real database and Redis, served over an in-process gRPC server, with
in-process fake routing and sla gRPC servicers as its peers, a settable clock and a recording OTP sender. Its
revocation records go to the test Redis under the test's own key prefix; `Harness.behind_door` serves it once more
behind its real door (mutual TLS, verified tokens), as it runs in the suite."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pyotp
import pytest_asyncio
from argon2 import PasswordHasher
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncEngine

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.db import create_engine, session_factory
from nivaran_common.door import Door
from nivaran_common.errors import Unavailable
from nivaran_common.grpc_server import ServerSecurity, ServiceBinding, build_server
from nivaran_common.redis import create_redis
from nivaran_common.settings import Profile
from nivaran_common.testing import MigratedTemplates, workload_tls
from nivaran_identity import SERVICE_ROOT
from nivaran_identity.access import RULES
from nivaran_identity.clients import GrpcChargeHandovers, GrpcPositionDirectory
from nivaran_identity.domain import PositionInfo
from nivaran_identity.main import Wiring, binding, build_service
from nivaran_identity.settings import IdentitySettings
from nivaran_identity.store import IdentityStore

START = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
PASSWORD = "correct-horse-battery"

# id: (role, department, area, level, reports_to)
POSITIONS: dict[str, tuple[str, str, str, int, str]] = {
    "POS-BR-CS": ("CHIEF_SECRETARY", "", "BR", routing_pb2.AREA_LEVEL_STATE, ""),
    "POS-PATNA-DIV-COMMISSIONER": ("COMMISSIONER", "", "BR-PATNA-DIV", routing_pb2.AREA_LEVEL_DIVISION, "POS-BR-CS"),
    "POS-MAGADH-DIV-COMMISSIONER": ("COMMISSIONER", "", "BR-MAGADH-DIV", routing_pb2.AREA_LEVEL_DIVISION, "POS-BR-CS"),
    "POS-PAT-DM": ("DM", "", "PAT", routing_pb2.AREA_LEVEL_DISTRICT, "POS-PATNA-DIV-COMMISSIONER"),
    "POS-GAY-DM": ("DM", "", "GAY", routing_pb2.AREA_LEVEL_DISTRICT, "POS-MAGADH-DIV-COMMISSIONER"),
    "POS-FOOD-PAT-DSO": ("L1", "FOOD", "PAT", routing_pb2.AREA_LEVEL_DISTRICT, "POS-PAT-DM"),
    "POS-RDD-PAT-DDC": ("L1", "RDD", "PAT", routing_pb2.AREA_LEVEL_DISTRICT, "POS-PAT-DM"),
    "POS-FOOD-PAT-SADAR-PHULWARI-BSO": (
        "DISPOSING",
        "FOOD",
        "PAT-SADAR-PHULWARI",
        routing_pb2.AREA_LEVEL_BLOCK,
        "POS-FOOD-PAT-DSO",
    ),
    "POS-HOME-PAT-SSP": ("L1", "HOME", "PAT-POLICE", routing_pb2.AREA_LEVEL_POLICE_DISTRICT, "POS-PAT-DM"),
    "POS-FOOD-GAY-DSO": ("L1", "FOOD", "GAY", routing_pb2.AREA_LEVEL_DISTRICT, "POS-GAY-DM"),
    "POS-FOOD-BR-SECRETARY": ("SECRETARY", "FOOD", "BR", routing_pb2.AREA_LEVEL_STATE, "POS-BR-CS"),
    "POS-IT-BR-SECRETARY": ("SECRETARY", "IT", "BR", routing_pb2.AREA_LEVEL_STATE, "POS-BR-CS"),
    "POS-IT-BR-NODAL": ("L1", "IT", "BR", routing_pb2.AREA_LEVEL_STATE, "POS-IT-BR-SECRETARY"),
}


def position_proto(position_id: str) -> routing_pb2.Position:
    role, department, area, level, reports_to = POSITIONS[position_id]
    return routing_pb2.Position(
        id=position_id,
        office_id=f"OFF-{position_id}",
        department_code=department,
        role=role,
        reports_to_position_id=reports_to,
        area_code=area,
        level=level,  # type: ignore[arg-type]
    )


class FakeRouting(routing_pb2_grpc.RoutingServiceServicer):
    """Routing's GetPosition and GetReportingChain over a few posts of Patna, Gaya and the secretariat."""

    async def GetPosition(self, request: routing_pb2.GetPositionRequest, context: Any) -> routing_pb2.Position:
        if request.position_id not in POSITIONS:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such position")
        return position_proto(request.position_id)

    async def GetReportingChain(
        self, request: routing_pb2.GetReportingChainRequest, context: Any
    ) -> routing_pb2.GetReportingChainResponse:
        if request.position_id not in POSITIONS:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such position")
        chain = []
        current = request.position_id
        while current:
            chain.append(position_proto(current))
            current = POSITIONS[current][4]
        return routing_pb2.GetReportingChainResponse(chain=chain)


@dataclass
class FakeSla(sla_pb2_grpc.SlaServiceServicer):
    """sla's ApplyChargeHandover: records each call; answers UNAVAILABLE while `down`."""

    calls: list[sla_pb2.ApplyChargeHandoverRequest] = field(default_factory=list)
    down: bool = False

    async def ApplyChargeHandover(
        self, request: sla_pb2.ApplyChargeHandoverRequest, context: Any
    ) -> sla_pb2.ApplyChargeHandoverResponse:
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "sla is down")
        self.calls.append(request)
        return sla_pb2.ApplyChargeHandoverResponse(cases_rebased=3)


@dataclass
class RecordingSender:
    """The OTP sender, in process: keeps what it would have sent."""

    otps: list[tuple[str, str]] = field(default_factory=list)
    enrolments: dict[str, str] = field(default_factory=dict)
    failing: bool = False

    async def send_otp(self, phone: str, otp: str, expires_at: datetime) -> None:
        if self.failing:
            raise Unavailable("sms down")
        self.otps.append((phone, otp))

    async def send_totp_enrolment(self, phone: str, username: str, provisioning_uri: str) -> None:
        if self.failing:
            raise Unavailable("sms down")
        self.enrolments[username] = provisioning_uri

    def last_otp(self, phone: str) -> str:
        return next(code for to, code in reversed(self.otps) if to == phone)

    def totp(self, username: str) -> pyotp.TOTP:
        parsed = pyotp.parse_uri(self.enrolments[username])
        assert isinstance(parsed, pyotp.TOTP)
        return parsed


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    stub: identity_pb2_grpc.IdentityServiceStub
    wiring: Wiring
    engine: AsyncEngine
    settings: IdentitySettings
    clock: Clock
    sender: RecordingSender
    sla: FakeSla
    accounts: dict[str, str] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _door_port: int = 0

    @property
    def service(self) -> Any:
        return self.wiring.service

    @property
    def revocations(self) -> Any:
        """The revocation records this identity writes (nivaran_common.revocation.Revocations)."""
        return self.wiring.revocations

    async def revoked(self, access_token: str) -> bool:
        """Whether the records identity wrote kill this access token, as every door would check it."""
        claims = await self.claims(access_token)
        return bool(await self.revocations.is_revoked(claims["sub"], claims.get("jti", ""), claims["issued_ms"]))

    async def behind_door(self, pki: Path, workload: str = "gateway") -> identity_pb2_grpc.IdentityServiceStub:
        """A stub that calls this identity through its real door (mutual TLS as `workload`, tokens verified against
        its own key set and the revocation records). The door checks expiry by the wall clock, so the harness
        clock is set to now first."""
        if not self._door_port:
            self.clock.now = datetime.now(UTC)
            keys = KeySetCache(self.service.jwks_json, max_age_seconds=300, min_refresh_seconds=0)
            verifier = TokenVerifier(
                keys,
                issuer="nivaran-identity",
                audience="nivaran",
                algorithms=("ES256",),
                leeway_seconds=self.settings.jwt_leeway_seconds,
                revocations=self.revocations,
            )
            security = ServerSecurity(workload_tls(pki, "identity"), Door(RULES, verifier))
            server, self._door_port, _ = await build_server([binding(self.wiring)], "127.0.0.1", 0, security)
            self.closers.append(lambda: server.stop(None))
        channel = grpc.aio.secure_channel(
            f"localhost:{self._door_port}", workload_tls(pki, workload).channel_credentials()
        )
        self.closers.append(channel.close)
        return identity_pb2_grpc.IdentityServiceStub(channel)

    async def jwks(self) -> KeySet:
        document = await self.stub.GetJwks(identity_pb2.GetJwksRequest())
        return KeySet.import_key_set(json.loads(document.json))

    async def claims(self, access_token: str) -> dict[str, Any]:
        """Verify a token as the gateway would (signature against GetJwks, iss, aud, exp) and return its claims."""
        token = jwt.decode(access_token, await self.jwks(), algorithms=["ES256"])
        registry = jwt.JWTClaimsRegistry(
            now=int(self.clock().timestamp()),
            iss={"essential": True, "value": "nivaran-identity"},
            aud={"essential": True, "value": "nivaran"},
            exp={"essential": True},
        )
        registry.validate(token.claims)
        return dict(token.claims)

    async def seed_officer(self, username: str, position_id: str, **extra: Any) -> str:
        role, department, _, _, _ = POSITIONS[position_id]
        district = {"POS-GAY-DM": "GAY", "POS-FOOD-GAY-DSO": "GAY"}.get(
            position_id, "" if position_id.startswith(("POS-IT-BR", "POS-FOOD-BR", "POS-BR")) else "PAT"
        )
        await self.service.seed_officer(
            username=username,
            name=username,
            password=PASSWORD,
            phone=extra.pop("phone", ""),
            email=extra.pop("email", ""),
            position=PositionInfo(position_id, role, department, district),
            charge_from=START - timedelta(days=300),
            **extra,
        )
        return await self.account_id(username)

    async def seed_operator(self, username: str, roles: list[str], **extra: Any) -> str:
        await self.service.seed_operator(
            username=username, name=username, password=PASSWORD, phone="", email="", roles=roles, **extra
        )
        return await self.account_id(username)

    async def account_id(self, username: str) -> str:
        async with session_factory(self.engine)() as session:
            row = await IdentityStore(session).account_by_username(username)
        assert row is not None
        self.accounts[username] = row.id
        return row.id

    def actor(self, username: str, **extra: str) -> common_pb2.Actor:
        return common_pb2.Actor(account_id=self.accounts[username], **extra)


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def make_identity(
    database_url: str, redis_url: str, key_prefix: str, migrated_templates: MigratedTemplates
) -> AsyncIterator[HarnessFactory]:
    """Build a running identity service (settings overridable); everything stops when the test ends."""
    await migrated_templates.fill(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    sla = FakeSla()
    peers, peers_port, _ = await build_server(
        [
            ServiceBinding(routing_pb2_grpc.add_RoutingServiceServicer_to_server, FakeRouting(), "routing"),
            ServiceBinding(sla_pb2_grpc.add_SlaServiceServicer_to_server, sla, "sla"),
        ],
        "127.0.0.1",
        0,
    )
    stops: list[Callable[[], Awaitable[None]]] = []

    async def make(**overrides: Any) -> Harness:
        settings = IdentitySettings(
            profile=overrides.pop("profile", Profile.TEST),
            database_url=database_url,
            redis_url=overrides.pop("redis_url", redis_url),
            key_prefix=key_prefix,
            # The test profile holds secrets to prod's rules, so each harness generates its own.
            key_encryption_secret=secrets.token_urlsafe(32),
            revocation_redis_url=overrides.pop("revocation_redis_url", redis_url),
            revocation_key_prefix=f"{key_prefix}revoked:",
            **overrides,
        )
        clock = Clock()
        sender = RecordingSender()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{peers_port}")
        wiring = build_service(
            settings,
            session_factory(engine),
            positions=GrpcPositionDirectory(routing_pb2_grpc.RoutingServiceStub(channel)),
            handovers=GrpcChargeHandovers(sla_pb2_grpc.SlaServiceStub(channel)),
            sender=sender,
            clock=clock,
            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        )
        await wiring.keys.ensure_active_key()
        server, port, _ = await build_server([binding(wiring)], "127.0.0.1", 0)
        client = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        harness = Harness(identity_pb2_grpc.IdentityServiceStub(client), wiring, engine, settings, clock, sender, sla)

        async def stop() -> None:
            for close in reversed(harness.closers):
                await close()
            await client.close()
            await server.stop(None)
            await channel.close()
            await wiring.close()

        stops.append(stop)
        return harness

    try:
        yield make
    finally:
        for stop in stops:
            await stop()
        await peers.stop(None)
        cleanup = create_redis(redis_url)
        async for key in cleanup.scan_iter(match=f"{key_prefix}*"):
            await cleanup.delete(key)
        await cleanup.aclose()
        await engine.dispose()
