"""The WhatsApp Business Cloud API's webhook (B5, C2, B3): a citizen files a grievance, or asks a case's status, on
WhatsApp, and hears back there; the API's delivery statuses of Nivaran's own WhatsApp messages come in here too.

- `GET /v1/inbound/whatsapp`: the subscription handshake (`hub.mode=subscribe`, `hub.verify_token`,
  `hub.challenge`), answered with the challenge when the token is ours.
- `POST /v1/inbound/whatsapp`: each notification, signed by Meta with the app secret (`X-Hub-Signature-256:
  sha256=<hex of HMAC-SHA256 of the raw body>`; refused before anything is read otherwise). Every message is handed
  to intake's ReceiveMessage, which stores it before reading it (the grammar of inbound SMS: `GRV …` files, `STATUS
  <number>` answers the sender's own case, anything else is a step of the guided conversation in Hindi or English:
  intake's whatsapp_chat.py); the answer goes back on WhatsApp through notify, once per message id, in the language
  the person chose. A photo or a document is fetched from the Cloud API first (whatsapp_media.py) and handed on
  with its caption; one that cannot be fetched (too large, the API failing) is handed on without it and answered
  so. Other kinds of message are handed on without text. Each status (`delivered`, `read`, `failed`) is a delivery
  receipt for notify.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from nivaran.intake.v1 import intake_pb2
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
from nivaran_gateway.whatsapp_media import MEDIA_TYPES, MediaProblemError, fetch

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
    description="The Cloud API's notification. Each message is a step of a short guided conversation in Hindi or "
    "English (language, category, district, description, an optional photo, a confirmation) that files a case on the "
    "`whatsapp` channel, so that its notices come back on WhatsApp; `STATUS <number>` answers at any step and `GRV "
    "<category code> <district code> <text>` files at once, as by SMS. A photo or document is fetched from the Cloud "
    "API and handed on with its caption. The answer is sent on WhatsApp once per message id. Each status is a "
    f"delivery receipt. Without a good `{SIGNATURE_HEADER}`: 401, nothing read.",
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
        names = _profile_names(value)
        for message in value.get("messages") or []:
            if isinstance(message, dict) and message.get("from") and message.get("id"):
                await _message(clients, settings, message, names.get(str(message["from"]), ""))
                messages += 1
        for status in value.get("statuses") or []:
            if isinstance(status, dict) and status.get("id") and status.get("status") in RECEIPT_STATUS:
                await _receipt(clients, settings, status)
                statuses += 1
    return WebhookAnswer(messages=messages, statuses=statuses)


def _profile_names(value: dict[str, Any]) -> dict[str, str]:
    """The senders' WhatsApp profile names by their number (`contacts`), for the complainant's name."""
    names: dict[str, str] = {}
    for contact in value.get("contacts") or []:
        if isinstance(contact, dict) and contact.get("wa_id"):
            name = (contact.get("profile") or {}).get("name") if isinstance(contact.get("profile"), dict) else ""
            names[str(contact["wa_id"])] = str(name or "")[:200]
    return names


async def _message(clients: Clients, settings: Settings, message: dict[str, Any], sender_name: str) -> None:
    sender = "+" + str(message["from"]).lstrip("+")
    kind = str(message.get("type") or "")
    text, problem = "", ""
    files: list[intake_pb2.InboundFile] = []
    if kind == "text":
        text = str((message.get("text") or {}).get("body", ""))
    elif kind in MEDIA_TYPES and isinstance(message.get(kind), dict):
        media: dict[str, Any] = message[kind]
        text = str(media.get("caption") or "")
        try:
            fetched = await fetch(settings, kind, media)
        except MediaProblemError as failed:
            # Answered, not dropped: intake hears what became of the file and says so.
            log.warning("WhatsApp media not fetched", kind=kind, problem=failed.kind, detail=failed.detail)
            problem = failed.kind
        else:
            files.append(
                intake_pb2.InboundFile(
                    filename=fetched.filename, content_type=fetched.content_type, content=fetched.content
                )
            )
    answer = await receive(
        clients,
        settings,
        "whatsapp",
        sender,
        text,
        str(message["id"]),
        files=files,
        file_problem=problem,
        sender_name=sender_name,
    )
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
