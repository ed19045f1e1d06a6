"""Inbound SMS (C2, B3): a citizen files a short grievance, or asks the status of their own, by SMS.

- `POST /v1/inbound/sms`: the aggregator's webhook, signed like its delivery receipts (HMAC-SHA256 of the raw body with
  the secret issued to the provider, in `X-Nivaran-Signature`). Intake stores the message before it parses it and
  answers what to reply; the gateway sends the reply back by SMS through notify (template `message_reply`, once per
  inbound message).
- `GET /v1/inbound/kannel`: the same for a Kannel SMS gateway's `sms-service` (`get-url` with `%p` the sender, `%a`
  the text, `%I` the message id, and `token` the provider secret); Kannel sends the plain-text answer back itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from google.protobuf import struct_pb2
from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import Principal
from nivaran_common.timeutil import to_timestamp
from nivaran_gateway.access import public
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.schemas.common import InputModel, LocalizedText, Text
from nivaran_gateway.webhooks import SIGNATURE_HEADER, configured, parse, refused, same_token, signed_body

if TYPE_CHECKING:
    from nivaran.notify.v1.notify_pb2_grpc import NotifyServiceAsyncStub

router = APIRouter(prefix="/v1/inbound", tags=["inbound"], route_class=JsonBodyRoute)

Provider = Annotated[Principal | None, Depends(public("public_read"))]
REPLY_CHANNEL = {
    "sms": notify_pb2.DELIVERY_CHANNEL_SMS,
    "whatsapp": notify_pb2.DELIVERY_CHANNEL_WHATSAPP,
    "email": notify_pb2.DELIVERY_CHANNEL_EMAIL,
}
ReplyChannel = Literal["sms", "whatsapp", "email"]


class NotifyClients(Protocol):
    """What sending a reply needs of the clients: notify's stub (the gateway's ServiceClients, or the SMTP
    receiver's own, nivaran_gateway.mail_inbound)."""

    @property
    def notify(self) -> NotifyServiceAsyncStub: ...


class CallTimeout(Protocol):
    """What sending a reply needs of the settings: the deadline of a gRPC call."""

    @property
    def grpc_timeout_seconds(self) -> float: ...


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


async def receive(
    clients: Clients,
    settings: Settings,
    channel: Literal["sms", "whatsapp"],
    sender: str,
    text: str,
    message_id: str,
    at: datetime | None = None,
    *,
    files: Sequence[intake_pb2.InboundFile] = (),
    file_problem: str = "",
    sender_name: str = "",
) -> intake_pb2.ReceiveMessageResponse:
    """Hand one inbound message to intake, which stores it before reading it, and answer intake's answer."""
    request = intake_pb2.ReceiveMessageRequest(
        channel=channel,
        sender=sender,
        text=text,
        provider_message_id=message_id,
        files=files,
        file_problem=file_problem,
        sender_name=sender_name,
    )
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
    secret = configured(settings.provider_webhook_secret, "inbound SMS is")
    message = parse(InboundSmsIn, await signed_body(request, secret, SIGNATURE_HEADER, "message"))
    answer = await receive(
        clients, settings, "sms", message.sender, message.text, message.message_id, message.received_at
    )
    await send_reply(clients, settings, "sms", message.message_id, message.sender, answer)
    return InboundAnswer(
        outcome=answer.outcome,
        registration_number=answer.registration_number or None,
        reply=LocalizedText.from_proto(answer.reply),
        duplicate=answer.duplicate,
    )


async def send_reply(
    clients: NotifyClients,
    settings: CallTimeout,
    channel: ReplyChannel,
    message_id: str,
    sender: str,
    answer: intake_pb2.ReceiveMessageResponse,
) -> None:
    """Intake's answer back on the channel the message came by, once per inbound message (notify's dedupe key), in
    Hindi and English (template message_reply); `sender` is a phone number, or for email an address."""
    params = struct_pb2.Struct()
    params.update({"reply_en": answer.reply.en, "reply_hi": answer.reply.hi})
    if answer.language:
        # The person chose a language (WhatsApp's conversation): the reply goes in it alone.
        params.update({"reply_language": answer.language})
    if answer.registration_number:
        params.update({"registration_number": answer.registration_number})
    await clients.notify.Send(
        notify_pb2.SendRequest(
            dedupe_key=f"inbound-{channel}:{message_id}:reply",
            template="message_reply",
            recipient=notify_pb2.Recipient(
                **({"email": sender} if channel == "email" else {"phone": sender}),
                kind="citizen",
                preferred_language=answer.language or "hi",
            ),
            channels=[REPLY_CHANNEL[channel]],
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
    if not same_token(token, configured(settings.provider_webhook_secret, "inbound SMS is")):
        raise refused("the message's token is not ours", "token", "shared-secret")
    answer = await receive(clients, settings, "sms", sender, text, message_id)
    return PlainTextResponse(f"{answer.reply.hi}\n{answer.reply.en}")
