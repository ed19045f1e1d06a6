"""The SMS OTP sender against a real local HTTP receiver (uvicorn + Starlette)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nivaran_common.errors import Unavailable
from nivaran_common.testing import eventually, free_port
from nivaran_identity.senders import SmsOtpSender


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    status: int = 200


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    got = Receiver(url=f"http://127.0.0.1:{port}/sms")

    async def accept(request: Request) -> JSONResponse:
        got.bodies.append(await request.json())
        got.headers.append(request.headers.get("authorization", ""))
        return JSONResponse({"message_id": "m-1"}, status_code=got.status)

    app = Starlette(routes=[Route("/sms", accept, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    try:
        yield got
    finally:
        server.should_exit = True
        await task


async def test_sms_sender_posts_a_bilingual_otp_with_its_dlt_template(receiver: Receiver) -> None:
    async with httpx.AsyncClient() as client:
        sender = SmsOtpSender(
            client, receiver.url, sender_id="NIVRAN", entity_id="E-1", otp_template_id="T-OTP", api_key="k-1"
        )
        await sender.send_otp("+919876543210", "314159", datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
    [body] = receiver.bodies
    assert (body["to"], body["dlt_template_id"], body["dlt_entity_id"], body["unicode"]) == (
        "+919876543210",
        "T-OTP",
        "E-1",
        True,
    )
    assert "314159" in body["text"]
    assert "निवारण" in body["text"]
    assert receiver.headers == ["Bearer k-1"]


async def test_sms_sender_reports_a_refusal_as_unavailable(receiver: Receiver) -> None:
    receiver.status = 503
    async with httpx.AsyncClient() as client:
        sender = SmsOtpSender(client, receiver.url, sender_id="NIVRAN")
        with pytest.raises(Unavailable):
            await sender.send_totp_enrolment("+919876543210", "bso.phulwari", "otpauth://totp/x?secret=ABC")
    assert receiver.bodies[0]["template"] == "identity_totp_enrolment"
