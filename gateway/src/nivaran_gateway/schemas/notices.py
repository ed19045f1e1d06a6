"""Inbox API schemas (S16): in-app notices with their delivered and read receipts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from nivaran.common.v1 import common_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_gateway.schemas.common import LocalizedText, timestamp


def in_app_delivery(notice: notify_pb2.Notice) -> notify_pb2.Delivery | None:
    """The notice's in-app delivery, which carries the S16 receipts; None when it was not sent in-app."""
    return next((d for d in notice.deliveries if d.channel == notify_pb2.DELIVERY_CHANNEL_IN_APP), None)


def _text(owner: notify_pb2.Notice, name: str) -> LocalizedText:
    text: common_pb2.LocalizedText = getattr(owner, name)
    return LocalizedText.from_proto(text)


class InboxNotice(BaseModel):
    """One in-app notice, as the recipient's inbox shows it."""

    id: str
    template: str = Field(description="what kind of notice it is (the template code)", examples=["sla_notice"])
    registration_number: str | None = Field(default=None, examples=["BR-PAT-2026-0000001-7"])
    subject: LocalizedText
    body: LocalizedText
    created_at: datetime | None = None
    delivered_at: datetime | None = Field(default=None, description="S16: when it was served in the app")
    read_at: datetime | None = Field(default=None, description="S16: when the recipient first opened it")

    @classmethod
    def from_proto(cls, notice: notify_pb2.Notice) -> InboxNotice:
        """Convert from the proto; the receipts are those of the in-app delivery."""
        delivery = in_app_delivery(notice)
        return cls(
            id=notice.id,
            template=notice.template,
            registration_number=notice.registration_number or None,
            subject=_text(notice, "subject"),
            body=_text(notice, "body"),
            created_at=timestamp(notice, "created_at"),
            delivered_at=timestamp(delivery, "delivered_at") if delivery is not None else None,
            read_at=timestamp(delivery, "read_at") if delivery is not None else None,
        )


class InboxList(BaseModel):
    """One page of the caller's in-app notices, newest first."""

    notices: list[InboxNotice]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")
    truncated: bool = Field(description="more notices follow this page (`next_page_token` is set)")
