"""Delivery you can rely on (C2, B5): the REST shapes of the dead letters, a retry's answer, and a provider's
delivery receipt."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from nivaran.notify.v1 import notify_pb2
from nivaran_gateway.schemas.common import InputModel, Text, enum_label, timestamp


class FailedDeliveryView(BaseModel):
    """A delivery that ran out of attempts or that its provider reported undelivered; the address masked."""

    delivery_id: str
    notice_id: str
    registration_number: str
    channel: str
    recipient: str = Field(description="masked")
    template: str
    attempts: int
    last_error: str
    failed_at: datetime | None

    @classmethod
    def from_proto(cls, row: notify_pb2.FailedDelivery) -> FailedDeliveryView:
        """From notify's FailedDelivery."""
        return cls(
            delivery_id=row.delivery_id,
            notice_id=row.notice_id,
            registration_number=row.registration_number,
            channel=row.channel,
            recipient=row.recipient,
            template=row.template,
            attempts=row.attempts,
            last_error=row.last_error,
            failed_at=timestamp(row, "failed_at"),
        )


class FailedDeliveryList(BaseModel):
    """One page of the dead letters, newest failure first."""

    deliveries: list[FailedDeliveryView]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")


class DeliveryView(BaseModel):
    """One delivery's state after a retry or a receipt."""

    delivery_id: str
    notice_id: str
    channel: str
    state: str
    attempts: int
    last_error: str
    provider_message_id: str
    sent_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_proto(cls, view: notify_pb2.DeliveryView) -> DeliveryView:
        """From notify's DeliveryView."""
        return cls(
            delivery_id=view.delivery_id,
            notice_id=view.notice_id,
            channel=enum_label(notify_pb2.DeliveryChannel, view.channel, "DELIVERY_CHANNEL_"),
            state=enum_label(notify_pb2.DeliveryState, view.state, "DELIVERY_STATE_"),
            attempts=view.attempts,
            last_error=view.last_error,
            provider_message_id=view.provider_message_id,
            sent_at=timestamp(view, "sent_at"),
            delivered_at=timestamp(view, "delivered_at"),
            next_attempt_at=timestamp(view, "next_attempt_at"),
        )


class ReceiptIn(InputModel):
    """A provider's delivery receipt (DLR): the message id it answered with, and the outcome."""

    message_id: Text = Field(min_length=1, max_length=128)
    status: Literal["delivered", "failed"]
    at: datetime | None = None
    error: Text = Field(default="", max_length=500)
