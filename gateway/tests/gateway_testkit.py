"""In-process fakes of the services the gateway calls, a test signing key, and the people of the tests.

The fakes stand in for other processes only in the gateway's own unit tests; the end-to-end suite runs the real
services. They keep the contracts' semantics where the gateway relies on them (intake's list filters, routing's
reporting chains and secretary checks, identity's JWKS), and record what they were asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from redis.asyncio import Redis

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.casework import Act, Caller, CaseParties, NotPermitted, check_act
from nivaran_common.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_common.paging import Page, encode_token, page_of, time_key, time_token
from nivaran_common.redis import create_redis
from nivaran_common.settings import Profile
from nivaran_common.timeutil import IST, to_timestamp
from nivaran_gateway.clients import (
    IDENTITY_SERVICE,
    INTAKE_SERVICE,
    NOTIFY_SERVICE,
    ROUTING_SERVICE,
    SLA_SERVICE,
    ServiceClients,
)
from nivaran_gateway.main import bind_state, create_app
from nivaran_gateway.settings import GatewaySettings, ServiceTargets
from nivaran_sla.act_inputs import act_from_proto
from nivaran_sla.deadlines import CalendarKind, compute_deadline, load_calendar

RAW_PHONE = "+919876543210"
RAW_AADHAAR = "234567890124"
RAW_EMAIL = "ram.kumar@example.in"
PHONE_B = "+919812345678"
FIXED_OTP = "123456"
# The fake identity's one Open311 key, issued to an integrator (POST /open311/v2/requests).
OPEN311_API_KEY = "nvok_test-integrator-key-0000000000000000000000"

ISSUER = "nivaran-identity"
AUDIENCE = "nivaran"


def text(en: str, hi: str) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(en=en, hi=hi)


def signing_key(kid: str) -> ECKey:
    """A fresh ES256 key with this kid."""
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"}, private=True)


SIGNING_KEY = signing_key("test-key-1")
# C2: the secret the fake providers sign their delivery receipts with (strong, as the test profile requires).
PROVIDER_SECRET = "tk9-Receipts-" + "Zq4xW2rT8yU1iO5pA7sD3fG6hJ0kL"
# B5: the WhatsApp Cloud API's app secret and verify token, as Meta would hold them.
WHATSAPP_SECRET = "tk9-WaApp-" + "Mn3bV7cX1zL5kJ9hG2fD6sA0pO4iU"
WHATSAPP_VERIFY_TOKEN = "tk9-WaVerify-" + "Qw8eR2tY6uI0oP4aS1dF5gH9jK3lZ"


@dataclass(frozen=True)
class Persona:
    """Someone the tests act as: the claims of their access token."""

    name: str
    claims: dict[str, Any]

    @property
    def account_id(self) -> str:
        return str(self.claims["sub"])


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona("citizen_a", {"sub": "acct-citizen-a", "kind": "citizen", "roles": ["citizen"], "phone": RAW_PHONE}),
        Persona("citizen_b", {"sub": "acct-citizen-b", "kind": "citizen", "roles": ["citizen"], "phone": PHONE_B}),
        Persona(
            "officer_a",
            {"sub": "acct-officer-a", "kind": "officer", "roles": ["officer", "L1"], "positions": ["pos-pat-l1"],
             "district": "PAT"},
        ),
        Persona(
            "officer_b",
            {"sub": "acct-officer-b", "kind": "officer", "roles": ["officer", "L1"], "positions": ["pos-gay-l1"],
             "district": "GAY"},
        ),
        Persona(
            "dm_a",
            {"sub": "acct-dm-a", "kind": "officer", "roles": ["officer", "DM"], "positions": ["pos-pat-dm"],
             "district": "PAT"},
        ),
        Persona(
            "dm_b",
            {"sub": "acct-dm-b", "kind": "officer", "roles": ["officer", "DM"], "positions": ["pos-gay-dm"],
             "district": "GAY"},
        ),
        Persona(
            "secretary",
            {"sub": "acct-secretary-revenue", "kind": "officer", "roles": ["officer", "SECRETARY"],
             "positions": ["pos-sec-revenue"], "district": ""},
        ),
        Persona(
            "osd_cs",
            {"sub": "acct-osd-cs", "kind": "officer", "roles": ["officer", "OSD_CS"], "positions": ["pos-osd-cs"],
             "district": ""},
        ),
    )
}  # fmt: skip


def mint(
    claims: dict[str, Any],
    *,
    key: ECKey = SIGNING_KEY,
    ttl: int = 900,
    header: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    """A signed access token as identity mints it (iss, aud, iat, exp added), with overrides applied last."""
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl, **claims, **overrides}
    payload = {k: v for k, v in payload.items() if v is not None}
    fields = {k: v for k, v in {"alg": "ES256", "kid": key.kid, **(header or {})}.items() if v is not None}
    return jwt.encode(fields, payload, key)


def provider_signature(body: bytes, secret: str = PROVIDER_SECRET) -> dict[str, str]:
    """The headers of a provider's call signed as the gateway's webhooks require (C2)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Nivaran-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(name: str, **overrides: Any) -> str:
    return mint(PERSONAS[name].claims, **overrides)


def auth(name: str, **overrides: Any) -> dict[str, str]:
    """The Authorization header of a persona."""
    return bearer(token_for(name, **overrides))


def keyset_page(
    rows: Iterable[Any], listing: str, page: Page, stamp: Callable[[Any], Any], *, newest_first: bool
) -> tuple[list[Any], str]:
    """A fake's page as the services make it (nivaran_common.paging): the rows ordered by (time, id), those after
    the token's key, and the next page's token."""

    def key(row: Any) -> tuple[datetime, str]:
        return stamp(row).ToDatetime(tzinfo=UTC), row.id

    ordered = sorted(rows, key=key, reverse=newest_first)
    if (after := time_key(listing, page)) is not None:
        ordered = [r for r in ordered if (key(r) < after if newest_first else key(r) > after)]
    return page.cut(ordered, lambda r: time_token(listing, *key(r)))


@dataclass
class Backends:
    """The fake services behind one test's gateway, all on one in-process gRPC server."""

    intake: FakeIntake
    notify: FakeNotify
    identity: FakeIdentity
    routing: FakeRouting
    sla: FakeSla
    port: int


@dataclass
class Rig:
    """One test's gateway: the app, a client to it, the fakes behind it and the settings it runs with."""

    app: FastAPI
    client: httpx.AsyncClient
    backends: Backends
    settings: GatewaySettings
    redis: Redis
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    @property
    def intake(self) -> FakeIntake:
        return self.backends.intake

    @property
    def notify(self) -> FakeNotify:
        return self.backends.notify

    @property
    def identity(self) -> FakeIdentity:
        return self.backends.identity

    @property
    def routing(self) -> FakeRouting:
        return self.backends.routing

    @property
    def sla(self) -> FakeSla:
        return self.backends.sla

    @property
    def state(self) -> Any:
        return self.app.state.gateway

    @staticmethod
    def auth(persona: str, **overrides: Any) -> dict[str, str]:
        """The Authorization header of a persona of gateway_testkit.PERSONAS."""
        return auth(persona, **overrides)


async def start_backends() -> tuple[Backends, Callable[[], Awaitable[Any]]]:
    """Serve fresh fakes on a free port."""
    intake, notify, identity, routing = FakeIntake(), FakeNotify(), FakeIdentity(), FakeRouting()
    sla = FakeSla(intake)
    bindings = [
        ServiceBinding(intake_pb2_grpc.add_IntakeServiceServicer_to_server, intake, INTAKE_SERVICE),
        ServiceBinding(notify_pb2_grpc.add_NotifyServiceServicer_to_server, notify, NOTIFY_SERVICE),
        ServiceBinding(routing_pb2_grpc.add_RoutingServiceServicer_to_server, routing, ROUTING_SERVICE),
        ServiceBinding(identity_pb2_grpc.add_IdentityServiceServicer_to_server, identity, IDENTITY_SERVICE),
        ServiceBinding(sla_pb2_grpc.add_SlaServiceServicer_to_server, sla, SLA_SERVICE),
    ]
    server, port, _ = await build_server(bindings, "127.0.0.1", 0)

    async def stop() -> None:
        await server.stop(None)

    return Backends(intake, notify, identity, routing, sla, port), stop


# Settings that differ from test to test without changing what an app is made of: an app built with the rest
# equal is bound to a new test's (main.bind_state).
PER_TEST_SETTINGS = frozenset(
    {"intake_target", "routing_target", "identity_target", "notify_target", "sla_target", "redis_url",
     "redis_key_prefix", "revocation_key_prefix"}
)  # fmt: skip
# Apps not in use by a live rig, by the rest of their settings. Building the gateway's app costs a third of a second
# (FastAPI builds every route's dependencies for each app), which the gateway's thousand-odd tests would pay each.
_FREE_APPS: dict[str, list[FastAPI]] = {}


def _app_for(settings: GatewaySettings, clients: ServiceClients, redis: Redis, *, fresh: bool) -> tuple[FastAPI, str]:
    """An app for one rig: a free one built with the same settings, bound to this rig's collaborators, or a new
    one. A `fresh` app (a test that adds routes to it) is never shared."""
    key = "" if fresh else settings.model_dump_json(exclude=set(PER_TEST_SETTINGS))
    free = _FREE_APPS.get(key) if key else None
    if free:
        app = free.pop()
        bind_state(app, settings, clients, redis)
        return app, key
    return create_app(settings, clients=clients, redis=redis), key


def _release(app: FastAPI, key: str) -> Callable[[], Awaitable[None]]:
    async def release() -> None:
        if key:
            _FREE_APPS.setdefault(key, []).append(app)

    return release


async def build_rig(backends: Backends, redis_url: str, key_prefix: str, **overrides: Any) -> Rig:
    """A gateway app against the fakes; settings `overrides` may point notify or Redis at a closed port;
    `fresh_app=True` for an app of the test's own (one it adds routes to)."""
    here = f"127.0.0.1:{backends.port}"
    values: dict[str, Any] = {
        "profile": Profile.TEST,
        "intake_target": here,
        "routing_target": here,
        "identity_target": here,
        "notify_target": here,
        "sla_target": here,
        "redis_url": redis_url,
        "redis_key_prefix": key_prefix,
        "revocation_key_prefix": f"{key_prefix}revoked:",
        "max_body_bytes": 4096,
        "max_upload_bytes": 6144,
        "grpc_timeout_seconds": 5.0,
        "notices_timeout_seconds": 2.0,
        "readiness_timeout_seconds": 2.0,
        "provider_webhook_secret": PROVIDER_SECRET,
        "whatsapp_app_secret": WHATSAPP_SECRET,
        "whatsapp_verify_token": WHATSAPP_VERIFY_TOKEN,
    }
    raise_app_exceptions = overrides.pop("raise_app_exceptions", True)
    fresh = overrides.pop("fresh_app", False)
    values.update(overrides)
    settings = GatewaySettings(**values)
    clients = ServiceClients.open(
        ServiceTargets(
            intake=settings.intake_target,
            routing=settings.routing_target,
            identity=settings.identity_target,
            notify=settings.notify_target,
            sla=settings.sla_target,
        ),
        # The fakes are in-process servers without a door; the real suite's mTLS is tested in tests/.
        None,
    )
    redis_client = create_redis(settings.redis_url)
    app, key = _app_for(settings, clients, redis_client, fresh=fresh)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions),
        base_url="http://gateway.test",
    )
    closers = [client.aclose, clients.close, redis_client.aclose, _release(app, key)]
    return Rig(app, client, backends, settings, redis_client, closers)


async def drop_keys(redis_url: str, key_prefix: str) -> None:
    """Remove every Redis key a test wrote under its prefix."""
    cleaner = create_redis(redis_url)
    try:
        keys = [key async for key in cleaner.scan_iter(match=f"{key_prefix}*")]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()


def filing(**overrides: Any) -> dict[str, Any]:
    """A valid Hindi filing; keyword overrides replace top-level members."""
    body: dict[str, Any] = {
        "complainant": {
            "name": "राम कुमार",
            "address": "ग्राम बिहटा, प्रखंड बिहटा, पटना",
            "phone": RAW_PHONE,
            "email": RAW_EMAIL,
            "aadhaar": RAW_AADHAAR,
            "preferred_language": "hi",
        },
        "subject": "दाखिल-खारिज लंबित",
        "description": "मेरा दाखिल-खारिज का आवेदन तीन महीने से अंचल कार्यालय में लंबित है, कृपया कार्रवाई करें।",
        "expected_resolution": "दाखिल-खारिज शीघ्र किया जाए",
        "category_code": "REVENUE_MUTATION",
        "location": {"district_code": "PAT", "subdivision_code": "DANAPUR", "block_code": "BIHTA"},
        "language": "hi",
    }
    body.update(overrides)
    return body


# --- routing ------------------------------------------------------------------------------------------------------


def _position(pid: str, role: str, department: str, area: str, reports_to: str = "") -> routing_pb2.Position:
    return routing_pb2.Position(
        id=pid,
        role=role,
        department_code=department,
        area_code=area,
        reports_to_position_id=reports_to,
        title=text(f"{role} {department} {area}", f"{role} {department} {area}"),
    )


POSITIONS = {
    p.id: p
    for p in (
        _position("pos-patna-commissioner", "COMMISSIONER", "GAD", "PATNA-DIV"),
        _position("pos-pat-dm", "DM", "GAD", "PAT", "pos-patna-commissioner"),
        _position("pos-gay-dm", "DM", "GAD", "GAY"),
        _position("pos-sec-revenue", "SECRETARY", "REVENUE", "BR"),
        _position("pos-sec-health", "SECRETARY", "HEALTH", "BR"),
        _position("pos-osd-cs", "OSD_CS", "GAD", "BR"),
        _position("pos-pat-l1", "L1", "REVENUE", "PAT", "pos-sec-revenue"),
        _position("pos-co-bihta", "DISPOSING", "REVENUE", "PAT-BIHTA", "pos-pat-l1"),
        _position("pos-pat-health", "L1", "HEALTH", "PAT", "pos-sec-health"),
        _position("pos-gay-l1", "L1", "REVENUE", "GAY", "pos-sec-revenue"),
        _position("pos-gay-co", "DISPOSING", "REVENUE", "GAY-BODH", "pos-gay-l1"),
    )
}
DM_OF = {"PAT": "pos-pat-dm", "GAY": "pos-gay-dm"}
# B7: offices with their district and the posts in them; the collectorate of Patna hears cases on Wednesdays.
OFFICES = {
    "OFF-PAT-COLLECTORATE": ("PAT", {"pos-pat-dm"}, 3),
    "OFF-REV-PAT": ("PAT", {"pos-pat-l1"}, 0),
    "OFF-REV-GAY": ("GAY", {"pos-gay-l1"}, 0),
}


def token_claims(context: Any) -> dict[str, Any]:
    """The claims of the bearer token the gateway forwarded (the fakes have no door; the token is the testkit's)."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and str(value).startswith("Bearer "):
            return dict(jwt.decode(str(value).removeprefix("Bearer "), SIGNING_KEY).claims)
    return {}


def _category(code: str, department: str, en: str, hi: str, *, is_other: bool = False) -> routing_pb2.Category:
    return routing_pb2.Category(
        code=code, department_code=department, name=text(en, hi), default_track="sahyog", is_other=is_other
    )


AREAS = (
    routing_pb2.Area(code="PAT", level=routing_pb2.AREA_LEVEL_DISTRICT, name=text("Patna", "पटना"), parent_code="BR"),
    routing_pb2.Area(code="GAY", level=routing_pb2.AREA_LEVEL_DISTRICT, name=text("Gaya", "गया"), parent_code="BR"),
    routing_pb2.Area(
        code="DANAPUR", level=routing_pb2.AREA_LEVEL_SUBDIVISION, name=text("Danapur", "दानापुर"), parent_code="PAT"
    ),
    routing_pb2.Area(
        code="BIHTA", level=routing_pb2.AREA_LEVEL_BLOCK, name=text("Bihta", "बिहटा"), parent_code="DANAPUR"
    ),
)


class FakeRouting(routing_pb2_grpc.RoutingServiceServicer):
    """Positions with reporting chains, categories with secretary checks, and a moderator queue."""

    def __init__(self) -> None:
        self.positions = dict(POSITIONS)
        self.subordinate_calls: list[str] = []
        self.categories = {
            c.code: c
            for c in (
                _category("REVENUE_MUTATION", "REVENUE", "Mutation", "दाखिल-खारिज"),
                _category("REVENUE_OTHER", "REVENUE", "Other", "अन्य", is_other=True),
                _category("REVENUE_OLD", "REVENUE", "Old land survey", "पुराना भूमि सर्वेक्षण"),
                _category("HEALTH_PHC", "HEALTH", "Primary health centre", "प्राथमिक स्वास्थ्य केंद्र"),
            )
        }
        self.category_actors: list[common_pb2.Actor] = []
        self.hearing_days: dict[str, tuple[str, set[str], int]] = {}
        now = to_timestamp(datetime(2026, 3, 3, 5, 0, tzinfo=UTC))
        self.transfers: dict[str, tuple[str, routing_pb2.TransferRequest]] = {
            "tr-pat-1": (
                "PAT",
                routing_pb2.TransferRequest(
                    id="tr-pat-1", grievance_id="g-a", from_position_id="pos-pat-l1", to_department_code="HEALTH",
                    reason="स्वास्थ्य विभाग का विषय / a health matter", state=routing_pb2.TRANSFER_STATE_PENDING,
                    moderator_position_id="pos-pat-dm", requested_at=now,
                ),
            ),
            "tr-gay-1": (
                "GAY",
                routing_pb2.TransferRequest(
                    id="tr-gay-1", grievance_id="g-b", from_position_id="pos-gay-l1", to_department_code="HEALTH",
                    reason="स्वास्थ्य विभाग का विषय / a health matter", state=routing_pb2.TRANSFER_STATE_PENDING,
                    moderator_position_id="pos-gay-dm", requested_at=now,
                ),
            ),
        }  # fmt: skip
        self.transfer_requests: list[routing_pb2.RequestTransferRequest] = []
        self.transfer_decisions: list[routing_pb2.DecideTransferRequest] = []
        self.queue_requests: list[routing_pb2.ListTransferQueueRequest] = []

    async def GetPosition(self, request: Any, context: Any) -> routing_pb2.Position:  # noqa: N802
        found = self.positions.get(request.position_id)
        if found is None:
            raise NotFound(f"no position {request.position_id}")
        return found

    async def ListSubordinatePositions(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.subordinate_calls.append(request.position_id)
        if request.position_id not in self.positions:
            raise NotFound(f"no position {request.position_id}")
        found: list[routing_pb2.Position] = []
        frontier = {request.position_id}
        while frontier:
            below = [p for p in self.positions.values() if p.reports_to_position_id in frontier]
            found += below
            frontier = {p.id for p in below}
        return routing_pb2.ListSubordinatePositionsResponse(positions=found)

    async def ListCategories(self, request: Any, context: Any) -> Any:  # noqa: N802
        return routing_pb2.ListCategoriesResponse(
            categories=[
                c
                for c in self.categories.values()
                if (not request.department_code or c.department_code == request.department_code)
                and (request.include_retired or not c.retired)
            ]
        )

    async def ListAreas(self, request: Any, context: Any) -> Any:  # noqa: N802
        return routing_pb2.ListAreasResponse(
            areas=[
                a
                for a in AREAS
                if (not request.parent_code or a.parent_code == request.parent_code)
                and (not request.level or a.level == request.level)
            ]
        )

    async def GetCategory(self, request: Any, context: Any) -> routing_pb2.Category:  # noqa: N802
        found = self.categories.get(request.code)
        if found is None:
            raise NotFound(f"no category {request.code}")
        return found

    def _require_secretary(self, actor: common_pb2.Actor, department: str) -> None:
        self.category_actors.append(actor)
        position = self.positions.get(actor.position_id)
        if actor.role != "SECRETARY" or position is None or position.department_code != department:
            raise PermissionDenied(f"only the secretary of {department} may change its categories")

    def _office(self, office_id: str) -> routing_pb2.Office:
        if office_id not in OFFICES:
            raise NotFound(f"no office {office_id}")
        district, _, weekday = self.hearing_days.get(office_id, OFFICES[office_id])
        return routing_pb2.Office(
            id=office_id, area_code=district, name=text(office_id, office_id), hearing_weekday=weekday
        )

    async def GetOffice(self, request: Any, context: Any) -> routing_pb2.Office:  # noqa: N802
        return self._office(request.office_id)

    async def SetHearingDay(self, request: Any, context: Any) -> routing_pb2.Office:  # noqa: N802
        """As routing's: an officer holding a post in the office, or the DM of its district."""
        office = self._office(request.office_id)
        district, posts, _ = OFFICES[request.office_id]
        claims = token_claims(context)
        in_office = bool(posts & set(claims.get("positions", [])))
        its_dm = "DM" in claims.get("roles", []) and claims.get("district") == district
        if not (in_office or its_dm):
            raise PermissionDenied("only the office's officers or its district's DM")
        self.hearing_days[office.id] = (district, posts, request.weekday)
        return self._office(office.id)

    async def CreateCategory(self, request: Any, context: Any) -> routing_pb2.Category:  # noqa: N802
        self._require_secretary(request.actor, request.category.department_code)
        if not request.category.default_track:
            # As routing refuses it (service._category_violations).
            raise InvalidArgument.field("category.default_track", "required / आवश्यक है")
        created = routing_pb2.Category()
        created.CopyFrom(request.category)
        self.categories[created.code] = created
        return created

    async def RenameCategory(self, request: Any, context: Any) -> routing_pb2.Category:  # noqa: N802
        category = await self.GetCategory(routing_pb2.GetCategoryRequest(code=request.code), context)
        self._require_secretary(request.actor, category.department_code)
        category.name.CopyFrom(request.name)
        return category

    async def RetireCategory(self, request: Any, context: Any) -> routing_pb2.Category:  # noqa: N802
        category = await self.GetCategory(routing_pb2.GetCategoryRequest(code=request.code), context)
        self._require_secretary(request.actor, category.department_code)
        category.retired = True
        return category

    async def MergeCategories(self, request: Any, context: Any) -> routing_pb2.Category:  # noqa: N802
        target = await self.GetCategory(routing_pb2.GetCategoryRequest(code=request.target_code), context)
        self._require_secretary(request.actor, target.department_code)
        for code in request.source_codes:
            source = self.categories.get(code)
            if source is not None:
                source.retired = True
                source.merged_into_code = target.code
        return target

    async def RequestTransfer(self, request: Any, context: Any) -> routing_pb2.TransferRequest:  # noqa: N802
        self.transfer_requests.append(request)
        district = request.location.district_code
        transfer = routing_pb2.TransferRequest(
            id=f"tr-{uuid.uuid4().hex[:8]}",
            grievance_id=request.grievance_id,
            from_position_id=request.from_position_id,
            to_department_code=request.to_department_code,
            reason=request.reason,
            state=routing_pb2.TRANSFER_STATE_PENDING,
            moderator_position_id=DM_OF.get(district, ""),
        )
        self.transfers[transfer.id] = (district, transfer)
        return transfer

    async def ListTransferQueue(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.queue_requests.append(request)
        # As routing pages its queue: oldest first, keyed on (requested_at, id), with its token.
        shown, token = keyset_page(
            (
                t
                for district, t in self.transfers.values()
                if (not request.district_code or district == request.district_code)
                and (not request.state or t.state == request.state)
            ),
            "transfers",
            page_of("transfers", request.page.page_size, request.page.page_token),
            lambda t: t.requested_at,
            newest_first=False,
        )
        return routing_pb2.ListTransferQueueResponse(transfers=shown, next_page_token=token)

    async def DecideTransfer(self, request: Any, context: Any) -> routing_pb2.TransferRequest:  # noqa: N802
        self.transfer_decisions.append(request)
        if request.transfer_id not in self.transfers:
            raise NotFound(f"no transfer {request.transfer_id}")
        _, transfer = self.transfers[request.transfer_id]
        if request.actor.position_id != transfer.moderator_position_id:
            raise PermissionDenied("only the moderating DM may decide this transfer")
        decided = routing_pb2.TransferRequest()
        decided.CopyFrom(transfer)
        decided.state = routing_pb2.TRANSFER_STATE_APPROVED if request.approve else routing_pb2.TRANSFER_STATE_RETURNED
        if request.approve:
            decided.to_position_id = request.to_position_id or "pos-pat-health"
        decided.decision_note = request.note
        return decided


# --- identity -----------------------------------------------------------------------------------------------------


class FakeIdentity(identity_pb2_grpc.IdentityServiceServicer):
    """Publishes the test keys as JWKS and answers sign-in, registration, posting and delegation calls."""

    def __init__(self) -> None:
        self.keys: list[ECKey] = [SIGNING_KEY]
        self.jwks_calls = 0
        self.jwks_fail = False
        self.requests: list[Any] = []
        self.forwarded: list[str] = []
        now = to_timestamp(datetime(2026, 3, 1, 5, 0, tzinfo=UTC))
        self.registrations = {
            "reg-pat-1": identity_pb2.OfficerRegistration(
                id="reg-pat-1", name="सुनील कुमार", username="co.bihta.new", phone=RAW_PHONE, email=RAW_EMAIL,
                position_id="pos-co-bihta", district_code="PAT", state=identity_pb2.REGISTRATION_STATE_PENDING,
                requested_at=now,
            ),
            "reg-gay-1": identity_pb2.OfficerRegistration(
                id="reg-gay-1", name="अनीता देवी", username="co.bodhgaya", phone=PHONE_B,
                position_id="pos-gay-co", district_code="GAY", state=identity_pb2.REGISTRATION_STATE_PENDING,
                requested_at=now,
            ),
        }  # fmt: skip
        self.delegations = {
            "del-dm-a": identity_pb2.Delegation(
                id="del-dm-a", delegator_account_id="acct-dm-a", delegate_account_id="acct-nodal-pat",
                powers=["registrations.decide"], granted_at=now,
            )
        }  # fmt: skip
        self.service_clients = {
            "client-food-1": identity_pb2.ServiceClient(
                id="client-food-1", name="PDS ration-card system", department_code="FOOD",
                scopes=["grievances.file", "grievances.read"], active=True, created_by_account_id="acct-state-admin",
                created_at=now,
            )
        }  # fmt: skip
        # Open311 keys by their api_key, as identity keeps them by hash (VerifyOpen311Key refuses a revoked one).
        self.open311_keys: dict[str, identity_pb2.Open311Key] = {
            OPEN311_API_KEY: identity_pb2.Open311Key(
                id="o311-key-1", integrator="FixMyStreet Patna", key_prefix=OPEN311_API_KEY[:9],
                requests_per_minute=60, active=True, created_by_account_id="acct-state-admin", created_at=now,
            )
        }  # fmt: skip

    def jwks_json(self) -> str:
        return json.dumps(KeySet(list(self.keys)).as_dict(private=False))

    async def GetJwks(self, request: Any, context: Any) -> identity_pb2.Jwks:  # noqa: N802
        self.jwks_calls += 1
        if self.jwks_fail:
            # Not UNAVAILABLE: the channel would retry that with backoff, and the test would wait for nothing.
            raise DomainError("identity's key store failed", code=grpc.StatusCode.INTERNAL)
        return identity_pb2.Jwks(json=self.jwks_json())

    def _pair(self, persona: Persona, **overrides: Any) -> identity_pb2.TokenPair:
        kind = (
            identity_pb2.ACCOUNT_KIND_CITIZEN
            if persona.claims["kind"] == "citizen"
            else identity_pb2.ACCOUNT_KIND_OFFICER
        )
        return identity_pb2.TokenPair(
            access_token=mint(persona.claims, **overrides),
            refresh_token=f"refresh-{uuid.uuid4().hex}",
            access_expires_at=to_timestamp(datetime.now(UTC) + timedelta(minutes=15)),
            account=identity_pb2.Account(
                id=persona.account_id, kind=kind, display_name="राम कुमार", phone=overrides.get("phone", RAW_PHONE),
                email=RAW_EMAIL, roles=persona.claims["roles"], active=True,
            ),
        )  # fmt: skip

    async def RequestOtp(self, request: Any, context: Any) -> identity_pb2.RequestOtpResponse:  # noqa: N802
        self.requests.append(request)
        return identity_pb2.RequestOtpResponse(
            expires_at=to_timestamp(datetime.now(UTC) + timedelta(minutes=5)), resend_after_seconds=30
        )

    async def VerifyOtp(self, request: Any, context: Any) -> identity_pb2.TokenPair:  # noqa: N802
        self.requests.append(request)
        if request.otp != FIXED_OTP:
            raise Unauthenticated("the OTP is wrong or has expired")
        persona = PERSONAS["citizen_b"] if request.phone == PHONE_B else PERSONAS["citizen_a"]
        return self._pair(persona, phone=request.phone)

    async def PasswordLogin(self, request: Any, context: Any) -> identity_pb2.TokenPair:  # noqa: N802
        self.requests.append(request)
        if (request.username, request.password, request.totp) != ("officer.a", "correct horse", "123456"):
            raise Unauthenticated("wrong username, password or code")
        return self._pair(PERSONAS["officer_a"])

    async def RefreshToken(self, request: Any, context: Any) -> identity_pb2.TokenPair:  # noqa: N802
        self.requests.append(request)
        if not request.refresh_token.startswith("refresh-"):
            raise Unauthenticated("the refresh token is not valid")
        return self._pair(PERSONAS["citizen_a"])

    async def RevokeToken(self, request: Any, context: Any) -> identity_pb2.RevokeTokenResponse:  # noqa: N802
        self.requests.append(request)
        # Identity revokes the access token the gateway forwards with a logout: record what arrived.
        self.forwarded.append(dict(context.invocation_metadata()).get("authorization", ""))
        return identity_pb2.RevokeTokenResponse()

    async def RegisterOfficer(self, request: Any, context: Any) -> identity_pb2.OfficerRegistration:  # noqa: N802
        self.requests.append(request)
        position = POSITIONS.get(request.position_id)
        if position is None:
            raise InvalidArgument.field("position_id", "is not a known post")
        registration = identity_pb2.OfficerRegistration(
            id=f"reg-{uuid.uuid4().hex[:8]}", name=request.name, username=request.username, phone=request.phone,
            email=request.email, position_id=request.position_id, district_code=position.area_code.split("-")[0],
            state=identity_pb2.REGISTRATION_STATE_PENDING, requested_at=to_timestamp(datetime.now(UTC)),
        )  # fmt: skip
        return registration

    async def ListRegistrations(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.requests.append(request)
        # As identity pages them: oldest first, keyed on (requested_at, id), with its token.
        shown, token = keyset_page(
            (
                r
                for r in self.registrations.values()
                if (not request.district_code or r.district_code == request.district_code)
                and (not request.state or r.state == request.state)
                and (not request.registration_id or r.id == request.registration_id)
            ),
            "registrations",
            page_of("registrations", request.page.page_size, request.page.page_token),
            lambda r: r.requested_at,
            newest_first=False,
        )
        return identity_pb2.ListRegistrationsResponse(registrations=shown, next_page_token=token)

    async def DecideRegistration(self, request: Any, context: Any) -> identity_pb2.OfficerRegistration:  # noqa: N802
        self.requests.append(request)
        found = self.registrations.get(request.registration_id)
        if found is None:
            raise NotFound(f"no registration {request.registration_id}")
        decided = identity_pb2.OfficerRegistration()
        decided.CopyFrom(found)
        decided.state = (
            identity_pb2.REGISTRATION_STATE_APPROVED if request.approve else identity_pb2.REGISTRATION_STATE_REJECTED
        )
        decided.decided_by_account_id = request.actor.account_id
        decided.decision_note = request.note
        return decided

    async def RelinquishCharge(self, request: Any, context: Any) -> identity_pb2.Posting:  # noqa: N802
        self.requests.append(request)
        return identity_pb2.Posting(
            id="posting-1", account_id=request.account_id, position_id=request.position_id,
            relinquished_at=request.relinquish_at, transfer_order_number=request.transfer_order_number,
            transfer_order_date=request.transfer_order_date,
        )  # fmt: skip

    async def TakeCharge(self, request: Any, context: Any) -> identity_pb2.Posting:  # noqa: N802
        self.requests.append(request)
        post = POSITIONS.get(request.position_id)
        district = post.area_code.split("-", 1)[0] if post is not None else ""
        if request.actor.account_id != request.account_id and request.actor.position_id != DM_OF.get(district):
            raise PermissionDenied(f"only the DM of district {district} may put an officer in charge of this post")
        return identity_pb2.Posting(
            id="posting-2", account_id=request.account_id, position_id=request.position_id,
            charge_from=request.charge_from,
        )  # fmt: skip

    async def CreateDelegation(self, request: Any, context: Any) -> identity_pb2.Delegation:  # noqa: N802
        self.requests.append(request)
        delegation = identity_pb2.Delegation(
            id=f"del-{uuid.uuid4().hex[:8]}", delegator_account_id=request.actor.account_id,
            delegate_account_id=request.delegate_account_id, powers=request.powers,
            granted_at=to_timestamp(datetime.now(UTC)),
        )  # fmt: skip
        self.delegations[delegation.id] = delegation
        return delegation

    async def RevokeDelegation(self, request: Any, context: Any) -> identity_pb2.Delegation:  # noqa: N802
        self.requests.append(request)
        found = self.delegations.get(request.delegation_id)
        if found is None:
            raise NotFound(f"no delegation {request.delegation_id}")
        if found.delegator_account_id != request.actor.account_id:
            raise PermissionDenied("only the delegator may revoke a delegation")
        if not found.HasField("revoked_at"):
            found.revoked_at.CopyFrom(to_timestamp(datetime.now(UTC)))
        return found

    async def ListDelegations(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.requests.append(request)
        # As identity pages them: the caller's own (given, or with `received` held), newest grant first.
        mine = (
            d
            for d in self.delegations.values()
            if (d.delegate_account_id if request.received else d.delegator_account_id) == request.actor.account_id
            and (request.include_revoked or not d.HasField("revoked_at"))
        )
        shown, token = keyset_page(
            mine,
            "delegations",
            page_of("delegations", request.page.page_size, request.page.page_token),
            lambda d: d.granted_at,
            newest_first=True,
        )
        return identity_pb2.ListDelegationsResponse(delegations=shown, next_page_token=token)

    async def DisableAccount(self, request: Any, context: Any) -> identity_pb2.Account:  # noqa: N802
        self.requests.append(request)
        if request.account_id == request.actor.account_id:
            raise InvalidArgument.field("account_id", "cannot be your own account")
        target = next((p for p in PERSONAS.values() if p.account_id == request.account_id), None)
        if target is None:
            raise NotFound("no such account")
        if request.actor.role == "DM":
            # Like identity: a DM regulates the posts of their own district only.
            dm = next(p for p in PERSONAS.values() if p.account_id == request.actor.account_id)
            if dm.claims.get("district") != target.claims.get("district"):
                raise PermissionDenied("only the DM of the post's district may disable this login")
        return identity_pb2.Account(
            id=request.account_id, kind=identity_pb2.ACCOUNT_KIND_OFFICER, phone=RAW_PHONE, email=RAW_EMAIL,
            roles=["officer"], active=False,
        )  # fmt: skip

    async def ChangePassword(self, request: Any, context: Any) -> identity_pb2.TokenPair:  # noqa: N802
        """Like identity: whose password it is comes from the forwarded token (the metadata), never the body."""
        self.requests.append(request)
        if request.current_password != "correct horse":
            raise InvalidArgument.field("current_password", "is wrong")
        if len(request.new_password) < 10:
            raise InvalidArgument.field("new_password", "must be at least 10 characters")
        forwarded = dict(context.invocation_metadata()).get("authorization", "")
        if not forwarded.startswith("Bearer "):
            raise Unauthenticated("no access token was forwarded with the call")
        sub = jwt.decode(forwarded.removeprefix("Bearer "), SIGNING_KEY).claims["sub"]
        return self._pair(next(p for p in PERSONAS.values() if p.account_id == sub))

    def _client(self, client_id: str) -> identity_pb2.ServiceClient:
        found = self.service_clients.get(client_id)
        if found is None:
            raise NotFound(f"no client {client_id}")
        return found

    async def CreateServiceClient(self, request: Any, context: Any) -> identity_pb2.CreatedServiceClient:  # noqa: N802
        self.requests.append(request)
        client = identity_pb2.ServiceClient(
            id=f"client-{uuid.uuid4().hex[:8]}", name=request.name, department_code=request.department_code,
            scopes=request.scopes, active=True, created_by_account_id=request.actor.account_id,
            created_at=to_timestamp(datetime.now(UTC)),
        )  # fmt: skip
        self.service_clients[client.id] = client
        return identity_pb2.CreatedServiceClient(client=client, client_secret=f"nvcs_{uuid.uuid4().hex}")

    async def ListServiceClients(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.requests.append(request)
        return identity_pb2.ListServiceClientsResponse(
            clients=[
                c
                for c in self.service_clients.values()
                if not request.department_code or c.department_code == request.department_code
            ]
        )

    async def DisableServiceClient(self, request: Any, context: Any) -> identity_pb2.ServiceClient:  # noqa: N802
        self.requests.append(request)
        client = self._client(request.client_id)
        client.active = False
        client.disabled_at.CopyFrom(to_timestamp(datetime.now(UTC)))
        client.disabled_by_account_id = request.actor.account_id
        return client

    async def IssueOpen311Key(self, request: Any, context: Any) -> identity_pb2.IssuedOpen311Key:  # noqa: N802
        self.requests.append(request)
        api_key = f"nvok_{uuid.uuid4().hex}"
        key = identity_pb2.Open311Key(
            id=f"o311-{uuid.uuid4().hex[:8]}", integrator=request.integrator, key_prefix=api_key[:9],
            requests_per_minute=request.requests_per_minute or 60, active=True,
            created_by_account_id=request.actor.account_id, created_at=to_timestamp(datetime.now(UTC)),
        )  # fmt: skip
        self.open311_keys[api_key] = key
        return identity_pb2.IssuedOpen311Key(key=key, api_key=api_key)

    async def ListOpen311Keys(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.requests.append(request)
        return identity_pb2.ListOpen311KeysResponse(keys=list(self.open311_keys.values()))

    async def RevokeOpen311Key(self, request: Any, context: Any) -> identity_pb2.Open311Key:  # noqa: N802
        self.requests.append(request)
        key = next((k for k in self.open311_keys.values() if k.id == request.key_id), None)
        if key is None:
            raise NotFound(f"no Open311 key {request.key_id}")
        if key.active:
            key.active = False
            key.revoked_at.CopyFrom(to_timestamp(datetime.now(UTC)))
            key.revoked_by_account_id = request.actor.account_id
        return key

    async def VerifyOpen311Key(self, request: Any, context: Any) -> identity_pb2.Open311Key:  # noqa: N802
        key = self.open311_keys.get(request.api_key)
        if key is None or not key.active:
            raise Unauthenticated("unknown or revoked api_key")
        return key


# --- intake -------------------------------------------------------------------------------------------------------

FILED_AT = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
# The fake's file limit, below the rig's body cap, so a test can exceed it without the gateway refusing first.
FAKE_ATTACHMENT_LIMIT = 1024
ATTACHMENT_PURPOSES = ("filing", "report", "disposal", "show_cause_reply", "citizen_response", "other")
ATTACHMENT_MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Files cases in memory, one per idempotency key, and lists them with intake's filter, order and page semantics.

    Like the real intake, a case has no current_deadline until the lifecycle records one (RecordTransition); only
    `seed(..., deadline=...)` stands for that. Each case is filed a minute after the one before, so "newest first"
    has one answer. It deliberately echoes the complainant's raw phone and Aadhaar on reads, so the tests prove the
    gateway masks them whatever a service sends.
    """

    def __init__(self) -> None:
        self.requests: list[intake_pb2.FileGrievanceRequest] = []
        self.list_requests: list[intake_pb2.ListGrievancesRequest] = []
        self.by_key: dict[str, intake_pb2.Grievance] = {}
        self.by_number: dict[str, intake_pb2.Grievance] = {}
        self.timelines: dict[str, list[intake_pb2.TimelineEvent]] = {}
        self.fail_with: DomainError | Exception | None = None
        self.hold: asyncio.Event | None = None
        self.attachments: dict[str, list[tuple[intake_pb2.Attachment, bytes]]] = {}
        self.camps: list[intake_pb2.Camp] = []
        self.absence_requests: list[intake_pb2.ListHearingAbsencesRequest] = []
        self.weekly_requests: list[intake_pb2.GetWeeklyReportRequest] = []
        self.long_pending_requests: list[intake_pb2.GetLongPendingRequest] = []
        self.inbound: list[intake_pb2.ReceiveMessageRequest] = []
        self.attachment_requests: list[intake_pb2.AddAttachmentRequest] = []
        self.attachment_keys: dict[str, intake_pb2.Attachment] = {}
        # (RPC, the forwarded token's subject or "" on the gateway's own account) of every report read.
        self.report_calls: list[tuple[str, str]] = []
        self.ranking_requests: list[intake_pb2.GetRankingRequest] = []

    def seed(
        self,
        number: str,
        *,
        district: str,
        position_id: str,
        department: str,
        account_id: str = "",
        phone: str = "",
        dm_visible: bool = False,
        deadline: datetime | None = None,
        deadline_clock: str = "",
    ) -> intake_pb2.Grievance:
        """Store a case directly (no filing); a deadline stands for one the lifecycle recorded."""
        grievance = self._grievance(
            number,
            complainant=intake_pb2.Complainant(name="राम कुमार", address="पटना", phone=phone, account_id=account_id),
            location=common_pb2.Location(state_code="BR", district_code=district),
            category_code=f"{department}_X",
            position_id=position_id,
            department=department,
        )
        grievance.dm_visible = dm_visible
        if deadline is not None:
            grievance.current_deadline.CopyFrom(to_timestamp(deadline))
            grievance.deadline_clock = deadline_clock
        self.by_number[number] = grievance
        self.timelines[grievance.id] = []
        return grievance

    def _grievance(
        self,
        number: str,
        *,
        complainant: intake_pb2.Complainant,
        location: common_pb2.Location,
        category_code: str,
        position_id: str = "pos-co-bihta",
        department: str = "REVENUE",
        request: intake_pb2.FileGrievanceRequest | None = None,
    ) -> intake_pb2.Grievance:
        filed_at = FILED_AT + timedelta(minutes=len(self.by_number))
        return intake_pb2.Grievance(
            id=str(uuid.uuid4()),
            registration_number=number,
            status=intake_pb2.STATUS_ASSIGNED,
            track="sahyog",
            channel=request.channel if request else intake_pb2.CHANNEL_WEB,
            category_code=category_code,
            category_name=text("Land records", "भूमि अभिलेख"),
            subject=request.subject if request else "दाखिल-खारिज लंबित",
            description=request.description if request else "मेरा आवेदन लंबित है।",
            expected_resolution=request.expected_resolution if request else "",
            language=(request.language or "hi") if request else "hi",
            location=location,
            complainant=complainant,
            assignment=intake_pb2.Assignment(
                department_code=department,
                department_name=text("Revenue and Land Reforms", "राजस्व एवं भूमि सुधार"),
                office_id="office-pat-co",
                office_name=text("Circle Office, Bihta", "अंचल कार्यालय, बिहटा"),
                position_id=position_id,
                position_title=text("Circle Officer", "अंचल अधिकारी"),
                assigned_at=to_timestamp(filed_at),
            ),
            filed_at=to_timestamp(filed_at),
            updated_at=to_timestamp(filed_at),
            workflow_id="grievance-x",
            version=2,
        )

    async def FileGrievance(  # noqa: N802
        self, request: intake_pb2.FileGrievanceRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.FileGrievanceResponse:
        self.requests.append(request)
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_with is not None:
            raise self.fail_with
        aadhaar = request.complainant.aadhaar
        if aadhaar and not (aadhaar.isdigit() and len(aadhaar) == 12):
            raise InvalidArgument.field("complainant.aadhaar", "is not a valid Aadhaar number (12 digits, checksum)")
        if request.idempotency_key in self.by_key:
            return intake_pb2.FileGrievanceResponse(grievance=self.by_key[request.idempotency_key], created=False)
        number = f"BR-{request.location.district_code}-2026-{len(self.by_key) + 1:07d}-7"
        grievance = self._grievance(
            number,
            complainant=request.complainant,
            location=request.location,
            category_code=request.category_code,
            request=request,
        )
        self.by_key[request.idempotency_key] = grievance
        self.by_number[number] = grievance
        self.timelines[grievance.id] = [
            intake_pb2.TimelineEvent(
                id="ev-2",
                grievance_id=grievance.id,
                sequence=2,
                event_type="assigned",
                summary=text("Assigned to the Circle Officer, Bihta", "अंचल अधिकारी, बिहटा को सौंपा गया"),
                occurred_at=to_timestamp(FILED_AT),
            ),
            intake_pb2.TimelineEvent(
                id="ev-1",
                grievance_id=grievance.id,
                sequence=1,
                event_type="registered",
                summary=text("Grievance registered", "शिकायत दर्ज हुई"),
                actor=common_pb2.Actor(account_id="citizen-1", role="citizen", display_name="राम कुमार"),
                occurred_at=to_timestamp(FILED_AT),
            ),
        ]
        return intake_pb2.FileGrievanceResponse(grievance=grievance, created=True)

    async def GetGrievance(  # noqa: N802
        self, request: intake_pb2.GetGrievanceRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Grievance:
        found = self.by_number.get(request.registration_number)
        if found is None:
            raise NotFound(f"no grievance {request.registration_number}")
        return found

    async def ListGrievances(  # noqa: N802
        self, request: intake_pb2.ListGrievancesRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListGrievancesResponse:
        """The same filters, combined the same way, as intake's store (owners OR-ed, everything else AND-ed)."""
        self.list_requests.append(request)

        def matches(g: intake_pb2.Grievance) -> bool:
            owners = []
            if request.complainant_account_id:
                owners.append(g.complainant.account_id == request.complainant_account_id)
            if request.complainant_phone:
                owners.append(g.complainant.phone == request.complainant_phone)
            checks = [any(owners)] if owners else []
            if request.registration_number:
                checks.append(g.registration_number == request.registration_number)
            if request.dm_visible_only:
                checks.append(g.dm_visible)
            if request.district_codes:
                checks.append(g.location.district_code in request.district_codes)
            if request.district_code:
                checks.append(g.location.district_code == request.district_code)
            if request.position_ids:
                checks.append(g.assignment.position_id in request.position_ids)
            if request.statuses:
                checks.append(g.status in request.statuses)
            if request.category_code:
                checks.append(g.category_code == request.category_code)
            if request.department_code:
                checks.append(g.assignment.department_code == request.department_code)
            if request.query:
                checks.append(request.query in g.subject or request.query in g.description)
            return all(checks)

        def newest(g: intake_pb2.Grievance) -> tuple[datetime, str]:
            return g.filed_at.ToDatetime(tzinfo=UTC), g.id

        found = sorted((g for g in self.by_number.values() if matches(g)), key=newest, reverse=True)
        if request.order == intake_pb2.GRIEVANCE_ORDER_DEADLINE:
            # Stable: ties and the deadline-less keep newest first.
            found.sort(
                key=lambda g: (
                    not g.HasField("current_deadline"),
                    g.current_deadline.ToDatetime(tzinfo=UTC) if g.HasField("current_deadline") else FILED_AT,
                )
            )
        size = request.page.page_size or 50
        token = request.page.page_token or "0"
        if not token.isdigit():
            raise InvalidArgument.field("page.page_token", "is not a token this service issued")
        start = int(token)
        rest = found[start + size :]
        return intake_pb2.ListGrievancesResponse(
            grievances=found[start : start + size], next_page_token=str(start + size) if rest else ""
        )

    async def GetTimeline(  # noqa: N802
        self, request: intake_pb2.GetTimelineRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.GetTimelineResponse:
        return intake_pb2.GetTimelineResponse(events=self.timelines.get(request.grievance_id, []))

    def seed_attachment(
        self, number: str, content: bytes, *, file_name: str, content_type: str, purpose: str = "report"
    ) -> intake_pb2.Attachment:
        """Store an attachment of a seeded case directly (no upload)."""
        grievance = self.by_number[number]
        attachment = intake_pb2.Attachment(
            id=str(uuid.uuid4()), grievance_id=grievance.id, file_name=file_name, content_type=content_type,
            size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest(), purpose=purpose,
            uploaded_by=common_pb2.Actor(account_id="acct-officer-a", role="L1", position_id="pos-pat-l1"),
            created_at=to_timestamp(FILED_AT),
        )  # fmt: skip
        self.attachments.setdefault(grievance.id, []).append((attachment, content))
        return attachment

    def _known_case(self, grievance_id: str) -> None:
        if not any(g.id == grievance_id for g in self.by_number.values()):
            raise NotFound(f"no grievance {grievance_id}")

    async def AddAttachment(  # noqa: N802
        self, request: intake_pb2.AddAttachmentRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Attachment:
        """Intake's checks, with the same field violations, and a limit of FAKE_ATTACHMENT_LIMIT bytes."""
        self.attachment_requests.append(request)
        self._known_case(request.grievance_id)
        if request.idempotency_key in self.attachment_keys:
            return self.attachment_keys[request.idempotency_key]
        violations: list[FieldViolation] = []
        if request.purpose not in ATTACHMENT_PURPOSES:
            violations.append(FieldViolation("purpose", f"must be one of {', '.join(ATTACHMENT_PURPOSES)}"))
        sniffed = next((t for magic, t in ATTACHMENT_MAGIC.items() if request.content.startswith(magic)), None)
        declared = request.content_type.split(";")[0].strip().lower()
        if not request.content:
            violations.append(FieldViolation("content", "is required"))
        elif len(request.content) > FAKE_ATTACHMENT_LIMIT:
            violations.append(FieldViolation("content", f"must be at most {FAKE_ATTACHMENT_LIMIT} bytes"))
        elif sniffed is None:
            violations.append(
                FieldViolation("content_type", "the file is not one of application/pdf, image/jpeg, image/png")
            )
        elif declared and declared not in {sniffed, "application/octet-stream"}:
            violations.append(FieldViolation("content_type", f"is {declared}, but the file's content is {sniffed}"))
        if violations or sniffed is None:
            raise InvalidArgument.of(violations)
        attachment = intake_pb2.Attachment(
            id=str(uuid.uuid4()), grievance_id=request.grievance_id,
            file_name=request.file_name.replace("\\", "/").rsplit("/", 1)[-1] or "attachment",
            content_type=sniffed, size_bytes=len(request.content),
            sha256=hashlib.sha256(request.content).hexdigest(), purpose=request.purpose, uploaded_by=request.actor,
            created_at=to_timestamp(datetime.now(UTC)),
        )  # fmt: skip
        self.attachments.setdefault(request.grievance_id, []).append((attachment, request.content))
        self.attachment_keys[request.idempotency_key] = attachment
        return attachment

    async def ListAttachments(  # noqa: N802
        self, request: intake_pb2.ListAttachmentsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListAttachmentsResponse:
        self._known_case(request.grievance_id)
        return intake_pb2.ListAttachmentsResponse(
            attachments=[a for a, _ in self.attachments.get(request.grievance_id, [])]
        )

    async def GetAttachmentContent(  # noqa: N802
        self, request: intake_pb2.GetAttachmentContentRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.AttachmentContent:
        for attachment, content in self.attachments.get(request.grievance_id, []):
            if attachment.id == request.attachment_id:
                return intake_pb2.AttachmentContent(attachment=attachment, content=content)
        raise NotFound(f"no attachment {request.attachment_id} on grievance {request.grievance_id}")

    async def GetDashboard(  # noqa: N802
        self, request: intake_pb2.GetDashboardRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Dashboard:
        shares = [
            intake_pb2.OtherShare(department_code="REVENUE", total=40, other=6, share=0.15),
            intake_pb2.OtherShare(department_code="HEALTH", total=10, other=5, share=0.5),
        ]
        chosen = [s for s in shares if not request.department_code or s.department_code == request.department_code]
        return intake_pb2.Dashboard(total=50, pending=20, disposed=30, other_share=chosen)

    async def GetPendingByAge(  # noqa: N802
        self, request: intake_pb2.GetPendingByAgeRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.PendingByAge:
        """As intake's: one row per office (or post) of the district asked for; INVALID_ARGUMENT for a bad group."""
        self.report_calls.append(("GetPendingByAge", str(token_claims(context).get("sub", ""))))
        if request.group_by not in (intake_pb2.PENDING_GROUP_OFFICE, intake_pb2.PENDING_GROUP_POSITION):
            raise InvalidArgument.field("group_by", "must be office or position")
        by_post = request.group_by == intake_pb2.PENDING_GROUP_POSITION
        rows = [
            intake_pb2.PendingAgeRow(
                office_id=f"OFF-{district}-COLLECTORATE",
                office_name=common_pb2.LocalizedText(en=f"Collectorate, {district}", hi=f"समाहरणालय, {district}"),
                position_id=f"POS-{district}-ADM" if by_post else "",
                position_title=common_pb2.LocalizedText(en="ADM", hi="अपर समाहर्ता") if by_post else None,
                days_0_10=4,
                days_10_20=3,
                days_20_30=2,
                days_over_30=1,
                total=10,
                overdue=3,
            )
            for district in ("PAT", "GAY")
            if request.district_code in ("", district)
        ]
        return intake_pb2.PendingByAge(rows=rows, as_of=to_timestamp(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)))

    async def GetRanking(  # noqa: N802
        self, request: intake_pb2.GetRankingRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Ranking:
        """As intake's: one ranked and one unranked office per district asked for."""
        self.report_calls.append(("GetRanking", str(token_claims(context).get("sub", ""))))
        self.ranking_requests.append(request)
        if not request.HasField("until"):
            raise InvalidArgument.field("until", "is required")
        rows = []
        for district in ("PAT", "GAY"):
            if request.district_code not in ("", district):
                continue
            office = common_pb2.LocalizedText(en=f"Collectorate, {district}", hi=f"समाहरणालय, {district}")
            rows.append(
                intake_pb2.RankingRow(
                    office_id=f"OFF-{district}-COLLECTORATE",
                    office_name=office,
                    ended=10,
                    within_time=8,
                    not_fixed=1,
                    score=0.7,
                    rank=1,
                )
            )
            rows.append(
                intake_pb2.RankingRow(
                    office_id=f"OFF-{district}-BLOCK", office_name=office, ended=2, within_time=2, score=1.0
                )
            )
        return intake_pb2.Ranking(rows=rows, min_ranked=5)

    async def GetDailyReport(  # noqa: N802
        self, request: intake_pb2.GetDailyReportRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.DailyReport:
        rows = [
            intake_pb2.DailyRow(department_code="FOOD", filed=7, ended=5, pending=40, overdue=6),
            intake_pb2.DailyRow(department_code="REVENUE", filed=3, ended=1, pending=12, overdue=0),
        ]
        return intake_pb2.DailyReport(rows=rows, as_of=to_timestamp(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)))

    async def GetWeeklyReport(  # noqa: N802
        self, request: intake_pb2.GetWeeklyReportRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.WeeklyReport:
        """As intake's (M1): one office per district asked for; INVALID_ARGUMENT for a bad period."""
        self.report_calls.append(("GetWeeklyReport", str(token_claims(context).get("sub", ""))))
        self.weekly_requests.append(request)
        if not request.HasField("until") or request.until.ToDatetime() <= request.since.ToDatetime():
            raise InvalidArgument.field("until", "must be after since")
        rows = [
            intake_pb2.WeeklyRow(
                office_id=f"OFF-{district}-COLLECTORATE",
                office_name=common_pb2.LocalizedText(en=f"Collectorate, {district}", hi=f"समाहरणालय, {district}"),
                received=6, disposed=4, pending=9, overdue=2, show_causes_issued=3, show_causes_answered=1, breaches=1,
            )
            for district in ("PAT", "GAY")
            if request.district_code in ("", district)
        ]  # fmt: skip
        return intake_pb2.WeeklyReport(rows=rows, as_of=to_timestamp(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)))

    async def GetLongPending(  # noqa: N802
        self, request: intake_pb2.GetLongPendingRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.LongPending:
        """As intake's (M2): case A's office when it was filed before the cutoff; no complainant's details."""
        self.report_calls.append(("GetLongPending", str(token_claims(context).get("sub", ""))))
        self.long_pending_requests.append(request)
        if not request.HasField("filed_before"):
            raise InvalidArgument.field("filed_before", "is required")
        office = common_pb2.LocalizedText(en="Collectorate, PAT", hi="समाहरणालय, PAT")
        cases = [
            intake_pb2.LongPendingCase(
                grievance_id="g-old", registration_number="BR-PAT-2026-0000042-1", office_id="OFF-PAT-COLLECTORATE",
                office_name=office, position_title=text("Circle Officer", "अंचल अधिकारी"), department_code="REVENUE",
                category_name=text("Land records", "भूमि अभिलेख"), status=intake_pb2.STATUS_ASSIGNED,
                filed_at=to_timestamp(datetime(2026, 5, 4, 6, 0, tzinfo=UTC)), track="bpgra",
            )
        ][: request.case_limit or 200] if request.district_code in ("", "PAT") else []  # fmt: skip
        offices = [intake_pb2.LongPendingOffice(office_id=c.office_id, office_name=office, cases=1) for c in cases]
        return intake_pb2.LongPending(
            offices=offices, cases=cases, total=len(cases), as_of=to_timestamp(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
        )

    async def GetCategoryTrends(  # noqa: N802
        self, request: intake_pb2.GetCategoryTrendsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.CategoryTrends:
        """As intake's (H4): two categories of the department over the months asked for, one its "Other"."""
        self.report_calls.append(("GetCategoryTrends", str(token_claims(context).get("sub", ""))))
        if not request.department_code:
            raise InvalidArgument.field("department_code", "is required")
        start = request.since.ToDatetime(tzinfo=UTC).astimezone(IST)
        end = request.until.ToDatetime(tzinfo=UTC).astimezone(IST)
        count = (end.year - start.year) * 12 + end.month - start.month
        first = start.year * 12 + start.month - 1
        months = [f"{(first + i) // 12}-{(first + i) % 12 + 1:02d}" for i in range(count)]
        code = request.department_code
        mutation = [4] * count
        other = [max(0, 3 - i) for i in range(count)]
        return intake_pb2.CategoryTrends(
            months=months,
            categories=[
                intake_pb2.CategoryTrend(
                    category_code=f"{code}_MUTATION", category_name=text("Mutation", "दाखिल-खारिज"), monthly=mutation,
                    total=sum(mutation),
                ),
                intake_pb2.CategoryTrend(
                    category_code=f"{code}_OTHER", category_name=text("Other", "अन्य"), is_other=True, monthly=other,
                    total=sum(other),
                ),
            ],
            monthly_total=[a + b for a, b in zip(mutation, other, strict=True)],
            monthly_other=other,
        )  # fmt: skip

    async def CreateCamp(  # noqa: N802
        self, request: intake_pb2.CreateCampRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Camp:
        """As intake's: a panchayat of the request's district (the DM's, which the gateway takes from the token)."""
        if not request.panchayat_code.startswith(f"{request.district_code}-"):
            raise InvalidArgument.field("panchayat_code", f"a panchayat of district {request.district_code}")
        camp = intake_pb2.Camp(
            id=f"camp-{len(self.camps) + 1}",
            district_code=request.district_code,
            block_code=request.block_code,
            panchayat_code=request.panchayat_code,
            held_on=request.held_on,
            venue=request.venue,
            accepts_from=request.held_on,
            accepts_until=request.held_on,
        )
        self.camps.append(camp)
        return camp

    async def ListCamps(  # noqa: N802
        self, request: intake_pb2.ListCampsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListCampsResponse:
        # As intake pages them: soonest first by (day, panchayat), with its token.
        page = page_of("camps", request.page.page_size, request.page.page_token)
        coming = sorted(
            (c for c in self.camps if not request.district_code or c.district_code == request.district_code),
            key=lambda c: (c.held_on, c.panchayat_code),
        )
        if page.after is not None:
            coming = [c for c in coming if (c.held_on, c.panchayat_code) > page.after]
        shown, token = page.cut(coming, lambda c: encode_token("camps", c.held_on, c.panchayat_code))
        return intake_pb2.ListCampsResponse(camps=shown, next_page_token=token)

    async def ReceiveMessage(  # noqa: N802
        self, request: intake_pb2.ReceiveMessageRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ReceiveMessageResponse:
        """As intake's for a status query of case A from its complainant's phone; anything else is the help."""
        self.inbound.append(request)
        if request.text.upper().startswith("STATUS") and request.sender.endswith("3210"):
            return intake_pb2.ReceiveMessageResponse(
                message_id=f"in-{len(self.inbound)}", outcome="status", registration_number="BR-PAT-2026-0100001-7",
                reply=text("BR-PAT-2026-0100001-7: with the L1", "BR-PAT-2026-0100001-7: L1 के पास"),
            )  # fmt: skip
        if request.channel == "email" and request.subject.startswith("Re: BR-PAT-2026-0100001-7"):
            # As intake's for the complainant's reply to case A: on its timeline, its post named (S16).
            return intake_pb2.ReceiveMessageResponse(
                message_id=f"in-{len(self.inbound)}", outcome="appended", registration_number="BR-PAT-2026-0100001-7",
                position_id="pos-co-bihta", reply=text("Added to your grievance", "आपकी शिकायत में जोड़ा गया"),
            )  # fmt: skip
        if request.channel == "whatsapp" and request.text == "1":
            # As intake's WhatsApp conversation once Hindi is chosen: the answer is in Hindi alone.
            return intake_pb2.ReceiveMessageResponse(
                message_id=f"in-{len(self.inbound)}", outcome="conversation", language="hi",
                reply=text("What is your grievance about?", "आपकी शिकायत किस विषय पर है?"),
            )  # fmt: skip
        return intake_pb2.ReceiveMessageResponse(
            message_id=f"in-{len(self.inbound)}", outcome="help", reply=text("Send STATUS <number>", "STATUS <संख्या> भेजें")
        )

    async def ListNoticeBoard(  # noqa: N802
        self, request: intake_pb2.ListNoticeBoardRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.NoticeBoard:
        """One hearing of case A on the collectorate's board."""
        if request.office_id != "OFF-PAT-COLLECTORATE":
            return intake_pb2.NoticeBoard()
        notice = intake_pb2.HearingNotice(
            hearing_id="H1", registration_number="BR-PAT-2026-0100001-7", stage="first", held_on="2026-12-09",
            at="11:00", venue=text("Collectorate, Patna", "समाहरणालय, पटना"), office_id=request.office_id,
            office_name=text("Collectorate, Patna", "समाहरणालय, पटना"),
            hearing_officer_title=text("District Magistrate, Patna", "जिलाधिकारी, पटना"),
            public_authority_title=text("Additional Collector, Patna", "अपर समाहर्ता, पटना"), status="scheduled",
        )  # fmt: skip
        return intake_pb2.NoticeBoard(hearings=[notice])

    async def ListHearingAbsences(  # noqa: N802
        self, request: intake_pb2.ListHearingAbsencesRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.HearingAbsences:
        """As intake's: of the district asked for (the DM's own, which the gateway takes from the token)."""
        self.absence_requests.append(request)
        return intake_pb2.HearingAbsences(
            district_code=request.district_code, from_date="2026-11-27", to_date="2026-12-03", total_hearings=2,
            total_absences=1, public_authorities=[intake_pb2.PublicAuthorityAttendance(
                position_id=f"pos-{request.district_code.lower()}-l1", title=text("L1", "L1"), hearings=2, absences=1
            )],
        )  # fmt: skip


# --- notify -------------------------------------------------------------------------------------------------------


class FakeNotify(notify_pb2_grpc.NotifyServiceServicer):
    """A grievance's notices: an acknowledgement sent by SMS and email (raw addresses, to prove masking).

    Notices added with `deliver` are kept and answered with notify's semantics: ListNotices matches the grievance
    AND (the account OR the post), newest first, at most 200; MarkNoticeRead sets the in-app read_at once and refuses a
    reader who is neither the account nor the post (and, like notify, lets anyone read a notice addressed to nobody).
    """

    LIMIT = 200

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.list_requests: list[notify_pb2.ListNoticesRequest] = []
        self.read_requests: list[notify_pb2.MarkNoticeReadRequest] = []
        self.notices: dict[str, notify_pb2.Notice] = {}
        self.receipts: list[notify_pb2.RecordDeliveryReceiptRequest] = []
        self.sent: list[notify_pb2.SendRequest] = []
        self.retried: list[str] = []

    # One Form-2 of any case asked about (notify's own tests prove who sees which document).
    DOCUMENT_ID = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

    def _document(self, registration_number: str) -> notify_pb2.Document:
        return notify_pb2.Document(
            id=self.DOCUMENT_ID, kind="form2", version="v1", registration_number=registration_number,
            title=text("Acknowledgement (Form-2)", "पावती (प्रपत्र-2)"), content_sha256="ab" * 32,
            verification_url=f"http://gateway.test/v1/documents/{self.DOCUMENT_ID}/verification",
            recipient_kind="citizen", rules="B5",
        )  # fmt: skip

    async def ListDocuments(self, request: Any, context: Any) -> notify_pb2.ListDocumentsResponse:  # noqa: N802
        return notify_pb2.ListDocumentsResponse(documents=[self._document(request.registration_number)])

    async def GetDocumentContent(self, request: Any, context: Any) -> notify_pb2.DocumentContent:  # noqa: N802
        if request.document_id != self.DOCUMENT_ID:
            raise NotFound("no such document of this case")
        return notify_pb2.DocumentContent(
            document=self._document(request.registration_number), content=b"%PDF-1.7 form2", filename="form2.pdf"
        )

    async def VerifyDocument(self, request: Any, context: Any) -> notify_pb2.DocumentVerification:  # noqa: N802
        if request.document_id != self.DOCUMENT_ID:
            raise NotFound("no such document")
        answer = notify_pb2.DocumentVerification(
            genuine=True,
            document=self._document("BR-PAT-2026-0100001-7"),
            concerns=text("Circle Officer", "अंचल अधिकारी"),
        )
        if request.content:
            answer.file_matches = request.content == b"%PDF-1.7 form2"
        return answer

    async def RenderPdf(self, request: Any, context: Any) -> notify_pb2.DocumentContent:  # noqa: N802
        return notify_pb2.DocumentContent(content=b"%PDF-1.7 preview", filename=f"preview-{request.kind}.pdf")

    async def Send(self, request: Any, context: Any) -> notify_pb2.SendResponse:  # noqa: N802
        """Records what the gateway sends (the answer to an inbound SMS)."""
        self.sent.append(request)
        return notify_pb2.SendResponse()

    async def ListFailedDeliveries(self, request: Any, context: Any) -> notify_pb2.ListFailedDeliveriesResponse:  # noqa: N802
        """One dead SMS, masked as notify masks it; the page asked for is checked as notify checks it."""
        page_of("failed-deliveries", request.page.page_size or min(request.limit or 50, 200), request.page.page_token)
        failed = notify_pb2.FailedDelivery(
            delivery_id="d-failed-1", notice_id="n-ack-1", registration_number="BR-PAT-2026-0000001-7",
            channel="sms", recipient="+91XXXXXX3210", template="acknowledgement", attempts=6,
            last_error="provider answered HTTP 503",
        )  # fmt: skip
        return notify_pb2.ListFailedDeliveriesResponse(deliveries=[failed] if request.channel in ("", "sms") else [])

    async def RetryDelivery(self, request: Any, context: Any) -> notify_pb2.DeliveryView:  # noqa: N802
        """As notify's: only the failed one is retried, once."""
        if request.delivery_id != "d-failed-1":
            raise NotFound(f"no delivery {request.delivery_id}")
        self.retried.append(request.delivery_id)
        return notify_pb2.DeliveryView(
            delivery_id="d-failed-1", notice_id="n-ack-1", channel=notify_pb2.DELIVERY_CHANNEL_SMS,
            state=notify_pb2.DELIVERY_STATE_SENT, attempts=7, provider_message_id="prov-7",
        )  # fmt: skip

    async def RecordDeliveryReceipt(self, request: Any, context: Any) -> notify_pb2.DeliveryView:  # noqa: N802
        """A receipt for prov-7 (the retried SMS) is recorded; any other message id is unknown."""
        if request.provider_message_id != "prov-7":
            raise NotFound(f"no delivery with provider message id {request.provider_message_id}")
        self.receipts.append(request)
        state = (
            notify_pb2.DELIVERY_STATE_DELIVERED if request.status == "delivered" else notify_pb2.DELIVERY_STATE_FAILED
        )
        return notify_pb2.DeliveryView(
            delivery_id="d-failed-1", notice_id="n-ack-1", channel=notify_pb2.DELIVERY_CHANNEL_SMS, state=state,
            attempts=7, provider_message_id="prov-7",
        )  # fmt: skip

    def deliver(
        self,
        notice_id: str,
        *,
        account_id: str = "",
        position_id: str = "",
        template: str = "sla_notice",
        registration_number: str = "BR-PAT-2026-0000001-7",
        channels: tuple[notify_pb2.DeliveryChannel.ValueType, ...] = (notify_pb2.DELIVERY_CHANNEL_IN_APP,),
        created_at: datetime = FILED_AT,
    ) -> notify_pb2.Notice:
        """Store a notice as Send would have (in-app is delivered at once)."""
        stamp = to_timestamp(created_at)
        notice = notify_pb2.Notice(
            id=notice_id,
            dedupe_key=f"dedupe-{notice_id}",
            template=template,
            grievance_id=f"g-{registration_number}",
            registration_number=registration_number,
            recipient_account_id=account_id,
            recipient_position_id=position_id,
            subject=text(f"Notice {notice_id}", f"सूचना {notice_id}"),
            body=text(f"Body of {notice_id}", f"{notice_id} का विवरण"),
            created_at=stamp,
            deliveries=[
                notify_pb2.Delivery(
                    id=f"{notice_id}-{channel}",
                    notice_id=notice_id,
                    channel=channel,
                    state=notify_pb2.DELIVERY_STATE_DELIVERED,
                    attempts=1,
                    sent_at=stamp,
                    delivered_at=stamp,
                )
                for channel in channels
            ],
        )
        self.notices[notice_id] = notice
        return notice

    @staticmethod
    def _in_app(notice: notify_pb2.Notice) -> notify_pb2.Delivery | None:
        return next((d for d in notice.deliveries if d.channel == notify_pb2.DELIVERY_CHANNEL_IN_APP), None)

    def _acknowledgement(self, grievance_id: str) -> notify_pb2.Notice:
        sent = to_timestamp(datetime(2026, 3, 2, 4, 31, tzinfo=UTC))
        delivered = to_timestamp(datetime(2026, 3, 2, 4, 32, tzinfo=UTC))
        return notify_pb2.Notice(
            id="notice-1",
            template="acknowledgement",
            grievance_id=grievance_id,
            subject=text("Grievance registered", "शिकायत दर्ज"),
            created_at=sent,
            deliveries=[
                notify_pb2.Delivery(
                    id="d-1",
                    channel=notify_pb2.DELIVERY_CHANNEL_SMS,
                    state=notify_pb2.DELIVERY_STATE_DELIVERED,
                    address=RAW_PHONE,
                    sent_at=sent,
                    delivered_at=delivered,
                ),
                notify_pb2.Delivery(
                    id="d-2",
                    channel=notify_pb2.DELIVERY_CHANNEL_EMAIL,
                    state=notify_pb2.DELIVERY_STATE_SENT,
                    address=RAW_EMAIL,
                    sent_at=sent,
                ),
            ],
        )

    async def ListNotices(  # noqa: N802
        self, request: notify_pb2.ListNoticesRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.ListNoticesResponse:
        self.list_requests.append(request)
        posts = {p for p in (request.recipient_position_id, *request.recipient_position_ids) if p}
        if not (request.grievance_id or request.recipient_account_id or posts):
            raise InvalidArgument.field(
                "grievance_id", "give grievance_id, recipient_account_id or recipient_position_id(s)"
            )
        if request.grievance_id and not (request.recipient_account_id or posts):
            self.asked.append(request.grievance_id)
            if not any(n.grievance_id == request.grievance_id for n in self.notices.values()):
                return notify_pb2.ListNoticesResponse(notices=[self._acknowledgement(request.grievance_id)])
        # As notify pages them: newest first, keyed on (created_at, id), with its token (page_size 0: LIMIT).
        page = page_of("notices", request.page.page_size or self.LIMIT, request.page.page_token)

        def matches(n: notify_pb2.Notice) -> bool:
            if request.grievance_id and n.grievance_id != request.grievance_id:
                return False
            if request.notice_id and n.id != request.notice_id:
                return False
            addressed = [
                *([n.recipient_account_id == request.recipient_account_id] if request.recipient_account_id else []),
                *([n.recipient_position_id in posts] if posts else []),
            ]
            if addressed and not any(addressed):
                return False
            in_app = self._in_app(n)
            if request.in_app_only and in_app is None:
                return False
            return not request.unread_only or (in_app is not None and not in_app.HasField("read_at"))

        shown, token = keyset_page(
            (n for n in self.notices.values() if matches(n)), "notices", page, lambda n: n.created_at, newest_first=True
        )
        return notify_pb2.ListNoticesResponse(notices=shown, next_page_token=token)

    async def MarkNoticeRead(  # noqa: N802
        self, request: notify_pb2.MarkNoticeReadRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.Notice:
        self.read_requests.append(request)
        notice = self.notices.get(request.notice_id)
        if notice is None:
            raise NotFound(f"no notice {request.notice_id}")
        in_app = self._in_app(notice)
        if in_app is None:
            raise FailedPrecondition("this notice was not sent in-app, so it has no read receipt")
        actor = request.actor
        if (actor.account_id or actor.position_id) and (notice.recipient_account_id or notice.recipient_position_id):
            as_account = {actor.account_id, actor.on_behalf_of_account_id}
            if not (
                (notice.recipient_account_id and notice.recipient_account_id in as_account)
                or (notice.recipient_position_id and notice.recipient_position_id == actor.position_id)
            ):
                raise PermissionDenied("this notice is not addressed to you")
        if not in_app.HasField("read_at"):
            in_app.read_at.CopyFrom(to_timestamp(datetime.now(UTC)))
            in_app.state = notify_pb2.DELIVERY_STATE_READ
        return notice


# --- sla ----------------------------------------------------------------------------------------------------------


class FakeSla(sla_pb2_grpc.SlaServiceServicer):
    """Runs a case's forward and transfer as the lifecycle would (moving it in the fake intake), reports clocks."""

    def __init__(self, intake: FakeIntake) -> None:
        self.intake = intake
        self.forwards: list[sla_pb2.ForwardCaseRequest] = []
        self.transfers: list[sla_pb2.TransferCaseRequest] = []
        self.clock_requests: list[str] = []
        self.acts: list[sla_pb2.ActOnCaseRequest] = []
        self.notices: dict[str, sla_pb2.ShowCauseNotice] = {}
        self.breaches: list[sla_pb2.Breach] = []
        self.breach_requests: list[sla_pb2.ListBreachesRequest] = []
        # C5: the post reviewing a case's final report, by grievance id (what the lifecycle holds).
        self.reviewers: dict[str, str] = {}
        # What GetCaseClocks raises instead of answering (a lifecycle that does not answer), when set.
        self.clocks_fail_with: DomainError | None = None
        self.commissioner_of = {"pos-pat-dm": "pos-patna-commissioner"}

    def seed_notice(self, number: str, notice_id: str, position_id: str, *, replied: bool = False) -> None:
        """A show-cause notice the lifecycle issued on the case `number`, to `position_id`."""
        grievance = self.intake.by_number[number]
        notice = sla_pb2.ShowCauseNotice(
            id=notice_id,
            grievance_id=grievance.id,
            registration_number=number,
            position_id=position_id,
            number=1,
            issued_at=to_timestamp(FILED_AT + timedelta(days=10)),
            due_by=to_timestamp(FILED_AT + timedelta(days=13)),
        )
        if replied:
            notice.reply = "The ration card was printed on 28-11-2026 and handed over."
            notice.replied_at.CopyFrom(to_timestamp(FILED_AT + timedelta(days=11)))
        self.notices[notice_id] = notice

    def seed_breach(self, number: str, rule: str, position_id: str) -> None:
        """A breach record the lifecycle made for the case `number`."""
        grievance = self.intake.by_number[number]
        self.breaches.append(
            sla_pb2.Breach(
                id=str(uuid.uuid4()),
                grievance_id=grievance.id,
                position_id=position_id,
                rule=rule,
                recorded_at=to_timestamp(FILED_AT + timedelta(days=31)),
            )
        )

    async def ComputeDeadline(  # noqa: N802
        self, request: sla_pb2.ComputeDeadlineRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ComputeDeadlineResponse:
        """sla's own computation on the repository's Bihar holiday calendar (working days only, as M2 asks)."""
        calendar = load_calendar(Path(__file__).resolve().parents[2] / "data" / "holidays", "BR")
        start = request.start.ToDatetime(tzinfo=UTC)
        deadline = compute_deadline(start, request.duration, CalendarKind.WORKING_DAYS, calendar)
        return sla_pb2.ComputeDeadlineResponse(deadline=to_timestamp(deadline))

    async def ActOnCase(self, request: Any, context: Any) -> sla_pb2.ActOnCaseResponse:  # noqa: N802
        """Checks the request with sla's own converter and the caller with the lifecycle's own rule
        (nivaran_common.casework); the case's state is not kept."""
        self.acts.append(request)
        _, _, violations = act_from_proto(request)
        if violations:
            raise InvalidArgument.of(violations)
        grievance = next(g for g in self.intake.by_number.values() if g.id == request.grievance_id)
        which = request.WhichOneof("act")
        notice = self.notices.get(getattr(getattr(request, which), "notice_id", ""))
        dm = DM_OF.get(grievance.location.district_code, "")
        parties = CaseParties(
            holder_position_id=grievance.assignment.position_id,
            complainant_account_id=grievance.complainant.account_id,
            complainant_phone=grievance.complainant.phone,
            reviewer_position_id=self.reviewers.get(grievance.id, ""),
            notice_position_id=notice.position_id if notice is not None else "",
            dm_position_id=dm,
            commissioner_position_id=self.commissioner_of.get(dm, ""),
            district_code=grievance.location.district_code,
            # B7: the fake keeps no pending appeal, so the case's own post hears it.
            hearing_position_id=grievance.assignment.position_id,
            # H3: the DM above the case is the senior officer told of a claimed resolution.
            senior_position_id=dm,
        )
        caller = Caller(
            account_id=request.caller.account_id,
            kind=request.caller.kind,
            position_ids=tuple(request.caller.position_ids),
            phone=request.caller.phone,
            acting_for_account_id=request.caller.acting_for_account_id,
            district_code=request.caller.district_code,
            roles=tuple(request.caller.roles),
        )
        try:
            check_act(Act(which), caller, parties)
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from exc
        status = {
            "dispose": "disposed",
            "reject": "rejected",
            "interim_order": "disposed",
            "assign": "assigned",
            "reopen": "reopened",
            # M4: a watch opens and closes on a disposed case, which stays disposed.
            "open_watch": "disposed",
            "watch_report": "disposed",
            "mark_duplicate": "closed",
            "appeal": "under_appeal",
            "decide_appeal": "disposed",
            "accept_atr": "closed",
        }.get(which, "in_progress")
        if which == "feedback":
            not_fixed = request.feedback.HasField("resolved") and not request.feedback.resolved
            not_fixed = not_fixed or request.feedback.call_outcome == sla_pb2.CALL_OUTCOME_NOT_SATISFIED
            status = "unresolved" if not_fixed else "disposed"
        response = sla_pb2.ActOnCaseResponse(
            act=which,
            state=sla_pb2.CaseState(
                grievance_id=grievance.id, status=status, position_id=grievance.assignment.position_id
            ),
        )
        if notice is not None:
            response.notice.CopyFrom(notice)
        return response

    async def ListShowCauseNotices(self, request: Any, context: Any) -> sla_pb2.ListShowCauseNoticesResponse:  # noqa: N802
        return sla_pb2.ListShowCauseNoticesResponse(
            notices=[n for n in self.notices.values() if n.grievance_id == request.grievance_id]
        )

    async def ListBreaches(self, request: Any, context: Any) -> sla_pb2.ListBreachesResponse:  # noqa: N802
        # As the sla service pages its register: newest first, keyed on (recorded_at, id), with its token.
        self.breach_requests.append(request)
        by_id = {g.id: g for g in self.intake.by_number.values()}
        shown, token = keyset_page(
            (
                b
                for b in self.breaches
                if (not request.district_code or by_id[b.grievance_id].location.district_code == request.district_code)
                and (not request.rule or b.rule == request.rule)
            ),
            "breaches",
            page_of("breaches", request.page.page_size, request.page.page_token),
            lambda b: b.recorded_at,
            newest_first=True,
        )
        return sla_pb2.ListBreachesResponse(breaches=shown, next_page_token=token)

    def _move(self, grievance_id: str, position_id: str) -> sla_pb2.CaseState:
        for grievance in self.intake.by_number.values():
            if grievance.id == grievance_id:
                grievance.assignment.position_id = position_id
        return sla_pb2.CaseState(grievance_id=grievance_id, status="assigned", position_id=position_id)

    async def ForwardCase(self, request: Any, context: Any) -> sla_pb2.CaseState:  # noqa: N802
        self.forwards.append(request)
        return self._move(request.grievance_id, request.to_position_id)

    async def TransferCase(self, request: Any, context: Any) -> sla_pb2.CaseState:  # noqa: N802
        self.transfers.append(request)
        return self._move(request.grievance_id, request.to_position_id)

    async def GetCaseClocks(self, request: Any, context: Any) -> sla_pb2.GetCaseClocksResponse:  # noqa: N802
        self.clock_requests.append(request.grievance_id)
        if self.clocks_fail_with is not None:
            raise self.clocks_fail_with
        return sla_pb2.GetCaseClocksResponse(
            clocks=[
                sla_pb2.Clock(
                    name="first_show_cause",
                    started_at=to_timestamp(FILED_AT),
                    deadline=to_timestamp(FILED_AT + timedelta(days=10)),
                )
            ],
            reviewer_position_id=self.reviewers.get(request.grievance_id, ""),
        )
