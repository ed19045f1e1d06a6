"""Delivery you can rely on (C2, B5).

- A state admin sees the dead letters (deliveries that ran out of attempts, or that a provider reported
  undelivered; addresses masked) and retries one: notify makes one attempt at once and never sends a delivery twice.
- The SMS and WhatsApp providers post their delivery receipts here, signed with the secret issued to them
  (`X-Nivaran-Signature: sha256=<hex of HMAC-SHA256 of the body>`); a receipt without a good signature is refused
  before anything is read from it, and a good one is recorded against its delivery.
"""

from __future__ import annotations

from typing import Annotated, Literal

import grpc
from fastapi import APIRouter, Depends, Path, Query, Request

from nivaran.common.v1 import common_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import Principal
from nivaran_common.timeutil import to_timestamp
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import CONFLICT, ProblemError, problem_responses
from nivaran_gateway.schemas.deliveries import DeliveryView, FailedDeliveryList, FailedDeliveryView, ReceiptIn
from nivaran_gateway.webhooks import SIGNATURE_HEADER, configured, parse, refused, same_token, signed_body

router = APIRouter(prefix="/v1", tags=["deliveries"], route_class=JsonBodyRoute)

StateAdmin = Annotated[Principal, Depends(requires("STATE_ADMIN"))]
Provider = Annotated[Principal | None, Depends(public("public_read"))]


@router.get(
    "/deliveries/failed",
    response_model=FailedDeliveryList,
    summary="The dead letters: deliveries that failed for good (C2, a state admin)",
    description="Newest failure first, addresses masked: deliveries that ran out of retries, or that their provider "
    "reported undelivered. `channel` (email, sms, whatsapp) narrows. A page at a time: `page_size` up to 200, "
    "`next_page_token` back as `page_token` for the next page.",
    responses=problem_responses(400, 401, 403, 422, 429, 500, 502, 503),
)
async def failed_deliveries(
    _admin: StateAdmin,
    clients: Clients,
    settings: Settings,
    channel: Annotated[Literal["email", "sms", "whatsapp"] | None, Query()] = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=200, deprecated=True, description="the former name of `page_size`")
    ] = None,
) -> FailedDeliveryList:
    """C2."""
    answer = await clients.notify.ListFailedDeliveries(
        notify_pb2.ListFailedDeliveriesRequest(
            channel=channel or "",
            page=common_pb2.PageRequest(page_size=limit or page_size, page_token=page_token or ""),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return FailedDeliveryList(
        deliveries=[FailedDeliveryView.from_proto(d) for d in answer.deliveries],
        next_page_token=answer.next_page_token or None,
    )


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=DeliveryView,
    summary="Retry one dead letter now (C2, a state admin)",
    description="One attempt at once through the channel's provider: `sent`, or `failed` again with the new error "
    "(an SMS in the quiet hours answers `pending`, due at their end). A delivery that is not failed is 409, so a "
    "message never goes out twice.",
    responses=problem_responses(401, 403, 404, 409, 422, 429, 500, 502, 503),
)
async def retry_delivery(
    delivery_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
    _admin: StateAdmin,
    clients: Clients,
    settings: Settings,
) -> DeliveryView:
    """C2."""
    try:
        view = await clients.notify.RetryDelivery(
            notify_pb2.RetryDeliveryRequest(delivery_id=delivery_id), timeout=settings.grpc_timeout_seconds
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.FAILED_PRECONDITION:
            # Not a dead letter (sent, delivered, or already being retried): a conflict with its state.
            raise ProblemError(CONFLICT, exc.details() or "the delivery is not failed") from None
        raise
    return DeliveryView.from_proto(view)


@router.post(
    "/providers/{channel}/receipts",
    response_model=DeliveryView,
    summary="A provider's delivery receipt (C2), signed",
    description="The SMS or WhatsApp provider's callback: `message_id` (the id it answered the message with), "
    "`status` delivered or failed, `at`, `error`. The body is signed with the secret issued to the provider, in "
    f"`{SIGNATURE_HEADER}: sha256=<hex of HMAC-SHA256 of the raw body>`; without a good signature: 401, and "
    "nothing is read. A receipt for an unknown message: 404. Repeats change nothing.",
    responses=problem_responses(400, 401, 404, 415, 422, 429, 500, 502, 503),
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": ReceiptIn.model_json_schema()}}, "required": True}
    },
)
async def provider_receipt(
    channel: Literal["sms", "whatsapp"],
    request: Request,
    _provider: Provider,
    clients: Clients,
    settings: Settings,
) -> DeliveryView:
    """C2: a delivery receipt."""
    secret = configured(settings.provider_webhook_secret, "delivery receipts are")
    receipt = parse(ReceiptIn, await signed_body(request, secret, SIGNATURE_HEADER, "receipt"))
    message = notify_pb2.RecordDeliveryReceiptRequest(
        channel=channel, provider_message_id=receipt.message_id, status=receipt.status, error=receipt.error
    )
    at = to_timestamp(receipt.at) if receipt.at is not None else None
    if at is not None:
        message.at.CopyFrom(at)
    view = await clients.notify.RecordDeliveryReceipt(message, timeout=settings.grpc_timeout_seconds)
    return DeliveryView.from_proto(view)


# Kannel's delivery-report types (%d): 1 delivered to the phone, 2 and 16 failed (by the phone, by the SMSC);
# 4 (buffered) and 8 (submitted) say nothing final.
KANNEL_DLR = {1: "delivered", 2: "failed", 16: "failed"}


@router.get(
    "/providers/kannel/dlr",
    response_model=DeliveryView | None,
    summary="Kannel's delivery report (C2)",
    description="The `dlr-url` notify gives Kannel with each SMS: `?token=<the provider secret>&ref=<delivery>&"
    "type=%d`. Type 1 marks the SMS delivered, 2 and 16 failed (a dead letter); 4 and 8 change nothing (null). "
    "A wrong `token`: 401; an unknown `ref`: 404.",
    responses=problem_responses(401, 404, 422, 429, 500, 502, 503),
)
async def kannel_report(
    _provider: Provider,
    clients: Clients,
    settings: Settings,
    token: Annotated[str, Query(max_length=256)],
    ref: Annotated[str, Query(min_length=1, max_length=128)],
    report_type: Annotated[int, Query(alias="type", ge=0, le=255)],
) -> DeliveryView | None:
    """C2: Kannel's report."""
    if not same_token(token, configured(settings.provider_webhook_secret, "delivery reports are")):
        raise refused("the report's token is not ours", "token", "shared-secret")
    status = KANNEL_DLR.get(report_type)
    if status is None:
        return None
    view = await clients.notify.RecordDeliveryReceipt(
        notify_pb2.RecordDeliveryReceiptRequest(channel="sms", provider_message_id=ref, status=status),
        timeout=settings.grpc_timeout_seconds,
    )
    return DeliveryView.from_proto(view)
