"""Routing test fixtures: a migrated database (SQLite and PostgreSQL), the service, the demo data, a gRPC stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import grpc
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nivaran.routing.v1 import routing_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_common.testing import MigratedTemplates
from nivaran_routing import SERVICE_ROOT
from nivaran_routing.main import binding
from nivaran_routing.offices import OfficeService
from nivaran_routing.service import RoutingService

DEMO = SERVICE_ROOT.parents[1] / "data" / "demo"
TODAY = date(2026, 11, 23)


@dataclass
class Routing:
    service: RoutingService
    offices: OfficeService
    sessions: async_sessionmaker[AsyncSession]

    def binding(self) -> ServiceBinding:
        """The servicer over these use cases, to mount on a server."""
        return binding(self.service, self.offices)


async def _routing_over(database_url: str) -> tuple[Routing, AsyncEngine]:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    service = RoutingService(sessions, today=lambda: TODAY)
    return Routing(service, OfficeService(sessions, today=lambda: TODAY), sessions), engine


@pytest_asyncio.fixture
async def routing(database_url: str, migrated_templates: MigratedTemplates) -> AsyncIterator[Routing]:
    """The service over a fresh, migrated, empty database (a copy of the session's migrated template)."""
    await migrated_templates.fill(SERVICE_ROOT, database_url)
    found, engine = await _routing_over(database_url)
    yield found
    await engine.dispose()


async def _load_demo(database_url: str) -> None:
    loaded, engine = await _routing_over(database_url)
    try:
        report = await loaded.service.loader.load_folder(DEMO)
        assert report.errors == []
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def demo(database_url: str, migrated_templates: MigratedTemplates) -> AsyncIterator[Routing]:
    """The service with data/demo loaded (loaded once per session into a template, copied for each test)."""
    await migrated_templates.fill(SERVICE_ROOT, database_url, seed_name="demo", seed=_load_demo)
    found, engine = await _routing_over(database_url)
    yield found
    await engine.dispose()


@pytest_asyncio.fixture
async def stub(demo: Routing) -> AsyncIterator[routing_pb2_grpc.RoutingServiceStub]:
    """A client of an in-process routing server holding the demo data."""
    server, port, _ = await build_server([demo.binding()], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield routing_pb2_grpc.RoutingServiceStub(channel)
    await server.stop(None)


def write(folder: Path, name: str, text: str) -> Path:
    """Write one master-data file into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
