"""Inbound SMS (C2, B3): a citizen files a short grievance, or asks the status of their own, by SMS.

- `POST /v1/inbound/sms`: the aggregator's webhook, signed like its delivery receipts (HMAC-SHA256 of the raw body with
  the secret issued to the provider, in `X-Nivaran-Signature`). Intake stores the message before it parses it and
  answers what to reply; the gateway sends the reply back by SMS through notify (template `message_reply`, once per
  inbound message).
- `GET /v1/inbound/kannel`: the same for a Kannel SMS gateway's `sms-service` (`get-url` with `%p` the sender, `%a`
  the text, `%I` the message id, and `token` the provider secret); Kannel sends the plain-text answer back itself.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from google.protobuf import struct_pb2
from pydantic import BaseModel, Field, ValidationError

from nivaran.intake.v1 import intake_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import Principal
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import to_timestamp
from nivaran_gateway.access import public
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import SERVICE_UNAVAILABLE, UNAUTHORIZED, ProblemError, problem_responses
from nivaran_gateway.routes.deliveries import SIGNATURE_HEADER, signed
from nivaran_gateway.schemas.common import InputModel, LocalizedText, Text

log = get_logger(__name__)
router = APIRouter(prefix="/v1/inbound", tags=["inbound"], route_class=JsonBodyRoute)

Provider = Annotated[Principal | None, Depends(public("public_read"))]


class InboundSmsIn(InputModel):
    """An aggregator's inbound SMS."""

    message_id: Text = Field(min_length=1, max_length=128)
    sender: Text = Field(alias="from", min_length=8, max_length=20, description="the sender's number")
    text: Text = Field(max_length=1000)
    received_at: datetime | None = None


class InboundAnswer(BaseModel):
    """What intake made of the message, and the reply sent back by SMS."""

    outcome: str
    registration_number: str | None
    reply: LocalizedText
    duplicate: bool


def _secret(settings: Settings) -> str:
    secret = settings.provider_webhook_secret.get_secret_value()
    if not secret:
        raise ProblemError(SERVICE_UNAVAILABLE, "inbound SMS is not configured (no provider secret)")
    return secret


def _refused() -> ProblemError:
    return ProblemError(
        UNAUTHORIZED,
        "the message's signature does not match",
        headers={"WWW-Authenticate": f'Signature header="{SIGNATURE_HEADER}", algorithm="hmac-sha256"'},
    )


async def _receive(
    clients: Clients, settings: Settings, sender: str, text: str, message_id: str, at: datetime | None
) -> intake_pb2.ReceiveMessageResponse:
    request = intake_pb2.ReceiveMessageRequest(channel="sms", sender=sender, text=text, provider_message_id=message_id)
    stamp = to_timestamp(at) if at is not None else None
    if stamp is not None:
        request.received_at.CopyFrom(stamp)
    answer: intake_pb2.ReceiveMessageResponse = await clients.intake.ReceiveMessage(
        request, timeout=settings.grpc_timeout_seconds
    )
    return answer


@router.post(
    "/sms",
    response_model=InboundAnswer,
    summary="An inbound SMS from the aggregator (C2, B3), signed",
    description="`STATUS <registration number>` answers the status of the sender's own case; `GRV <category code> "
    "<district code> <text>` files one on the SMS channel; anything else answers the two formats. Hindi keywords "
    "(`स्थिति`, `शिकायत`) work too. The message is stored before it is read, a repeat of its `message_id` is "
    f"answered once, and the answer goes back by SMS. Signed like the receipts (`{SIGNATURE_HEADER}`): 401 otherwise.",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": InboundSmsIn.model_json_schema(by_alias=True)}},
            "required": True,
        }
    },
)
async def inbound_sms(request: Request, _provider: Provider, clients: Clients, settings: Settings) -> InboundAnswer:
    """C2 / B3."""
    secret = _secret(settings)
    body = await request.body()
    if not signed(secret, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("inbound SMS with a bad signature refused")
        raise _refused()
    try:
        message = InboundSmsIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    answer = await _receive(clients, settings, message.sender, message.text, message.message_id, message.received_at)
    await _reply(clients, settings, message.message_id, message.sender, answer)
    return InboundAnswer(
        outcome=answer.outcome,
        registration_number=answer.registration_number or None,
        reply=LocalizedText.from_proto(answer.reply),
        duplicate=answer.duplicate,
    )


async def _reply(
    clients: Clients, settings: Settings, message_id: str, sender: str, answer: intake_pb2.ReceiveMessageResponse
) -> None:
    """The answer back by SMS, once per inbound message (notify's dedupe key), in Hindi and English."""
    params = struct_pb2.Struct()
    params.update({"reply_en": answer.reply.en, "reply_hi": answer.reply.hi})
    if answer.registration_number:
        params.update({"registration_number": answer.registration_number})
    await clients.notify.Send(
        notify_pb2.SendRequest(
            dedupe_key=f"inbound-sms:{message_id}:reply",
            template="message_reply",
            recipient=notify_pb2.Recipient(phone=sender, kind="citizen", preferred_language="hi"),
            channels=[notify_pb2.DELIVERY_CHANNEL_SMS],
            params=params,
            registration_number=answer.registration_number,
        ),
        timeout=settings.grpc_timeout_seconds,
    )


@router.get(
    "/kannel",
    response_class=PlainTextResponse,
    summary="An inbound SMS from a Kannel gateway (C2, B3)",
    description="Kannel's `sms-service` `get-url`, e.g. `…/v1/inbound/kannel?from=%p&text=%a&id=%I&token=<secret>`: "
    "the same grammar as `POST /v1/inbound/sms`; the answer is the plain-text body, which Kannel sends back to the "
    "sender. A wrong `token`: 401.",
    responses=problem_responses(401, 422, 429, 500, 502, 503),
)
async def inbound_kannel(
    _provider: Provider,
    clients: Clients,
    settings: Settings,
    sender: Annotated[str, Query(alias="from", min_length=8, max_length=20)],
    text: Annotated[str, Query(max_length=1000)],
    message_id: Annotated[str, Query(alias="id", min_length=1, max_length=128)],
    token: Annotated[str, Query(max_length=256)],
) -> PlainTextResponse:
    """C2 / B3 through Kannel."""
    if not hmac.compare_digest(token.encode(), _secret(settings).encode()):
        log.warning("inbound Kannel SMS with a wrong token refused")
        raise _refused()
    answer = await _receive(clients, settings, sender, text, message_id, None)
    return PlainTextResponse(f"{answer.reply.hi}\n{answer.reply.en}")
