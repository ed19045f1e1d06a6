"""C2: SMS through a Kannel gateway, the second SMS adapter: the sendsms HTTP interface with the text as UTF-8 and
UCS-2 coding, the sender id, and India's DLT entity and template ids as SMPP TLVs; Kannel's busy answer is retried and
its refusal fails the delivery. Against a real HTTP server speaking Kannel's sendsms protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from nivaran_common.testing import ONE_BACKEND, eventually, free_port
from nivaran_notify.domain import Channel, DeliveryReceipt, DeliveryState

from .test_service import REGISTRATION, acknowledgement

# What these tests prove does not depend on the database (the store's queries run on both backends in the
# store and service tests), so one backend is enough here (nivaran_common.testing.ONE_BACKEND).
pytestmark = ONE_BACKEND


@dataclass
class Kannel:
    """Kannel's sendsms interface: keeps each request's query, answers as Kannel does."""

    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    # (status, body) per request before the usual 202 "0: Accepted for delivery".
    answers: list[tuple[int, str]] = field(default_factory=list)


@pytest_asyncio.fixture
async def kannel() -> AsyncIterator[Kannel]:
    port = free_port()
    stand_in = Kannel(url=f"http://127.0.0.1:{port}/cgi-bin/sendsms")

    async def sendsms(request: Request) -> PlainTextResponse:
        stand_in.requests.append(dict(request.query_params))
        status, body = stand_in.answers.pop(0) if stand_in.answers else (202, "0: Accepted for delivery")
        return PlainTextResponse(body, status_code=status)

    app = Starlette(routes=[Route("/cgi-bin/sendsms", sendsms, methods=["GET"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    try:
        yield stand_in
    finally:
        server.should_exit = True
        await task


def kannel_settings(kannel: Kannel) -> dict[str, Any]:
    return {
        "sms_provider_url": kannel.url,
        "sms_provider_kind": "kannel",
        "kannel_username": "nivaran",
        "kannel_password": "Kannel-sendsms-Pass-2026-xQ9#vT4!",
        "sms_sender_id": "NIVRAN",
        "dlt_entity_id": "1101234567890123456",
    }


async def test_C2_kannel_gets_the_sms_with_ucs2_coding_and_the_dlt_ids(make_service: Any, kannel: Kannel) -> None:
    service = await make_service(**kannel_settings(kannel))
    result = await service.send(acknowledgement("ack:kannel", (Channel.SMS,)))
    [query] = kannel.requests
    assert (query["to"], query["from"], query["username"]) == ("919876543210", "NIVRAN", "nivaran")
    assert (query["coding"], query["charset"]) == ("2", "UTF-8")
    assert query["meta-data"] == "?smpp?PE_ID=1101234567890123456&TEMPLATE_ID=1107170000000000001"
    assert REGISTRATION in query["text"]
    assert "आपकी शिकायत दर्ज कर ली गई है।" in query["text"]  # Devanagari intact through the query string
    delivery = result.notice.delivery(Channel.SMS)
    assert delivery is not None
    assert delivery.state is DeliveryState.SENT


async def test_C2_a_busy_kannel_is_retried_and_a_refusal_fails_the_sms(make_service: Any, kannel: Kannel) -> None:
    service = await make_service(**kannel_settings(kannel))
    kannel.answers[:] = [(503, "4: Queue full")]
    busy = (await service.send(acknowledgement("ack:kannel-busy", (Channel.SMS,)))).notice.delivery(Channel.SMS)
    assert busy is not None
    assert busy.state is DeliveryState.PENDING
    assert "Queue full" in busy.last_error
    assert busy.next_attempt_at is not None
    assert await service.retry_due(busy.next_attempt_at) == 1
    sent = (await service.get_delivery_status("ack:kannel-busy")).delivery(Channel.SMS)
    assert sent is not None
    assert (sent.state, sent.attempts) == (DeliveryState.SENT, 2)

    kannel.answers[:] = [(403, "Authorization failed for sendsms")]
    refused = (await service.send(acknowledgement("ack:kannel-refused", (Channel.SMS,)))).notice.delivery(Channel.SMS)
    assert refused is not None
    assert refused.state is DeliveryState.FAILED
    assert "403" in refused.last_error


async def test_C2_kannel_reports_delivery_to_the_dlr_url_naming_the_delivery(make_service: Any, kannel: Kannel) -> None:
    dlr = "http://127.0.0.1:8080/v1/providers/kannel/dlr?token=tk9-Dlr-Token-Zq4xW2rT8yU1iO5pA7sD3"
    service = await make_service(**kannel_settings(kannel), kannel_dlr_url=dlr)
    result = await service.send(acknowledgement("ack:kannel-dlr", (Channel.SMS,)))
    delivery = result.notice.delivery(Channel.SMS)
    assert delivery is not None
    [query] = kannel.requests
    assert query["dlr-mask"] == "3"  # delivered and failed
    assert query["dlr-url"] == f"{dlr}&ref={delivery.id}&type=%d"  # Kannel fills in %d
    # The delivery's own id stands for Kannel's missing message id, so the report finds it.
    reported = await service.record_receipt(
        DeliveryReceipt(channel="sms", provider_message_id=delivery.id, status="delivered", at=None, error="")
    )
    assert reported.state is DeliveryState.DELIVERED
