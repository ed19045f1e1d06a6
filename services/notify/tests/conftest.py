"""Fixtures of the notify tests: a real HTTP receiver for SMS/WhatsApp, SMTP on a chosen port, a wired service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nivaran_common.db import create_engine
from nivaran_common.settings import Profile
from nivaran_common.testing import CapturedMail, MigratedTemplates, eventually, free_port
from nivaran_common.timeutil import utcnow
from nivaran_notify import SERVICE_ROOT
from nivaran_notify.main import build_service
from nivaran_notify.service import NotifyService
from nivaran_notify.settings import NotifySettings


@dataclass
class HttpReceiver:
    """A provider stand-in: a real HTTP server that keeps every JSON body posted to it."""

    base_url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Status codes to answer with, one per request, before falling back to 200.
    statuses: list[int] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this receiver."""
        return f"{self.base_url}{path}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies posted to `path`."""
        return [body for got, body in self.received if got == path]


@pytest_asyncio.fixture
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    """A uvicorn + Starlette server on a free port, in a background task of the test's loop."""
    port = free_port()
    receiver = HttpReceiver(base_url=f"http://127.0.0.1:{port}")

    async def accept(request: Request) -> JSONResponse:
        receiver.received.append((request.url.path, await request.json()))
        status = receiver.statuses.pop(0) if receiver.statuses else 200
        if status >= 400:
            return JSONResponse({"error": "provider refused"}, status_code=status)
        return JSONResponse({"message_id": f"prov-{len(receiver.received)}"}, status_code=status)

    app = Starlette(routes=[Route("/sms", accept, methods=["POST"]), Route("/whatsapp", accept, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def _smtp_on(port: int) -> AsyncIterator[CapturedMail]:
    """A real aiosmtpd server on a given port, for tests that bring SMTP up after it was down."""
    from aiosmtpd.controller import Controller

    mail = CapturedMail()
    loop = asyncio.get_running_loop()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            mail.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            loop.call_soon_threadsafe(mail.arrived.set)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mail
    finally:
        controller.stop()


SmtpStarter = Callable[[int], contextlib.AbstractAsyncContextManager[CapturedMail]]


@pytest.fixture
def smtp_on() -> SmtpStarter:
    """Starts a real SMTP server on a chosen port: `async with smtp_on(port) as mail: ...`."""
    return _smtp_on


ServiceFactory = Callable[..., Awaitable[NotifyService]]


@pytest_asyncio.fixture
async def make_service(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, migrated_templates: MigratedTemplates
) -> AsyncIterator[ServiceFactory]:
    """Builds services with main.build_service on the migrated test database; settings come as keywords (no SMS
    quiet hours unless given)."""
    await migrated_templates.fill(SERVICE_ROOT, database_url)
    engines: list[AsyncEngine] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(clock: Callable[[], datetime] = utcnow, **overrides: Any) -> NotifyService:
        # The tests run at any hour of the day; those about quiet hours set them, with a clock, themselves.
        overrides.setdefault("sms_quiet_hours", "")
        # Rendered documents go to a folder of the test's own.
        overrides.setdefault("documents_dir", str(tmp_path_factory.mktemp("documents")))
        settings = NotifySettings(profile=Profile.TEST, database_url=database_url, **overrides)
        engine = create_engine(settings.database_url)
        http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds)
        engines.append(engine)
        clients.append(http)
        return build_service(settings, engine, http, clock)

    try:
        yield factory
    finally:
        for http in clients:
            await http.aclose()
        for engine in engines:
            await engine.dispose()
