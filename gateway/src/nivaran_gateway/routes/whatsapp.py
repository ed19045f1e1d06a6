"""The WhatsApp Business Cloud API's webhook (B5, C2, B3): a citizen files a grievance, or asks a case's status, on
WhatsApp, and hears back there; the API's delivery statuses of Nivaran's own WhatsApp messages come in here too.

- `GET /v1/inbound/whatsapp`: the subscription handshake (`hub.mode=subscribe`, `hub.verify_token`,
  `hub.challenge`), answered with the challenge when the token is ours.
- `POST /v1/inbound/whatsapp`: each notification, signed by Meta with the app secret (`X-Hub-Signature-256:
  sha256=<hex of HMAC-SHA256 of the raw body>`; refused before anything is read otherwise). Every message is handed
  to intake's ReceiveMessage, which stores it before reading it (the grammar of inbound SMS: `GRV …` files, `STATUS
  <number>` answers the sender's own case); the answer goes back on WhatsApp through notify, once per message id. A
  message that is not text (a photo, say) is stored and answered with the help. Each status (`delivered`, `read`,
  `failed`) is a delivery receipt for notify.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import Principal
from nivaran_common.logging import get_logger
from nivaran_gateway.access import public
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import (
    BAD_REQUEST,
    FORBIDDEN,
    ProblemError,
    problem_responses,
)
from nivaran_gateway.routes.inbound import receive, send_reply
from nivaran_gateway.webhooks import configured, same_token, signed_body

log = get_logger(__name__)
router = APIRouter(prefix="/v1/inbound", tags=["inbound"], route_class=JsonBodyRoute)

Meta = Annotated[Principal | None, Depends(public("public_read"))]
SIGNATURE_HEADER = "X-Hub-Signature-256"
# The API's message statuses, as notify's receipts know them.
RECEIPT_STATUS = {"delivered": "delivered", "read": "delivered", "failed": "failed"}


class WebhookAnswer(BaseModel):
    """How many messages and statuses the notification carried, and were handed on."""

    messages: int
    statuses: int


@router.get(
    "/whatsapp",
    response_class=PlainTextResponse,
    summary="The WhatsApp webhook's subscription handshake",
    description="Meta's verification request: answers `hub.challenge` when `hub.verify_token` is the configured one "
    "(403 otherwise; 503 when none is configured).",
    responses=problem_responses(403, 422, 429, 503),
)
async def verify_subscription(
    _meta: Meta,
    settings: Settings,
    mode: Annotated[str, Query(alias="hub.mode", max_length=32)],
    token: Annotated[str, Query(alias="hub.verify_token", max_length=256)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=256)],
) -> PlainTextResponse:
    """The handshake."""
    expected = configured(settings.whatsapp_verify_token, "the WhatsApp webhook is")
    if mode != "subscribe" or not same_token(token, expected):
        raise ProblemError(FORBIDDEN, "the verify token is not ours")
    return PlainTextResponse(challenge)


def _changes(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict):
        return []
    values = []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value")
            if isinstance(value, dict):
                values.append(value)
    return values


@router.post(
    "/whatsapp",
    response_model=WebhookAnswer,
    summary="WhatsApp messages and statuses (B5, C2), signed by Meta",
    description="The Cloud API's notification. Each text message is filed or answered as an inbound SMS is (`GRV "
    "<category code> <district code> <text>`, `STATUS <number>`, Hindi keywords too), the case on the `whatsapp` "
    "channel so that its notices come back on WhatsApp; the answer is sent on WhatsApp once per message id. Each "
    f"status is a delivery receipt. Without a good `{SIGNATURE_HEADER}`: 401, nothing read.",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
)
async def notification(request: Request, _meta: Meta, clients: Clients, settings: Settings) -> WebhookAnswer:
    """B5 / C2."""
    secret = configured(settings.whatsapp_app_secret, "the WhatsApp webhook is")
    body = await signed_body(request, secret, SIGNATURE_HEADER, "notification")
    try:
        payload = json.loads(body)
    except ValueError:
        raise ProblemError(BAD_REQUEST, "the notification is not JSON") from None
    messages = statuses = 0
    for value in _changes(payload):
        for message in value.get("messages") or []:
            if isinstance(message, dict) and message.get("from") and message.get("id"):
                await _message(clients, settings, message)
                messages += 1
        for status in value.get("statuses") or []:
            if isinstance(status, dict) and status.get("id") and status.get("status") in RECEIPT_STATUS:
                await _receipt(clients, settings, status)
                statuses += 1
    return WebhookAnswer(messages=messages, statuses=statuses)


async def _message(clients: Clients, settings: Settings, message: dict[str, Any]) -> None:
    sender = "+" + str(message["from"]).lstrip("+")
    text = str((message.get("text") or {}).get("body", "")) if message.get("type") == "text" else ""
    answer = await receive(clients, settings, "whatsapp", sender, text, str(message["id"]))
    await send_reply(clients, settings, "whatsapp", str(message["id"]), sender, answer)


async def _receipt(clients: Clients, settings: Settings, status: dict[str, Any]) -> None:
    errors = status.get("errors") or []
    error = str((errors[0] or {}).get("title", "")) if errors and isinstance(errors[0], dict) else ""
    try:
        await clients.notify.RecordDeliveryReceipt(
            notify_pb2.RecordDeliveryReceiptRequest(
                channel="whatsapp",
                provider_message_id=str(status["id"]),
                status=RECEIPT_STATUS[str(status["status"])],
                error=error[:500],
            ),
            timeout=settings.grpc_timeout_seconds,
        )
    except grpc.aio.AioRpcError as exc:
        # A status of a message that is not Nivaran's (another app on the same number) is not an error for Meta.
        if exc.code() is not grpc.StatusCode.NOT_FOUND:
            raise
        log.info("WhatsApp status of an unknown message ignored")
