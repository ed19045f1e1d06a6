"""Notify's own tables: one notice per dedupe key, one delivery per channel of a notice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nivaran_common.db import Base


class NotifyBase(Base):
    __abstract__ = True


class NoticeRow(NotifyBase):
    __tablename__ = "notices"
    # The unique constraint is what makes Send idempotent, also between concurrent callers.
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_notices_dedupe_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(64))
    grievance_id: Mapped[str] = mapped_column(String(64), index=True)
    registration_number: Mapped[str] = mapped_column(String(64))
    recipient_account_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient_position_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient_name: Mapped[str] = mapped_column(String(200))
    lead_language: Mapped[str] = mapped_column(String(2))
    # The rendered content is kept, so a retry days later sends exactly what was first rendered.
    subject_en: Mapped[str] = mapped_column(Text)
    subject_hi: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    body_hi: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    short_text: Mapped[str] = mapped_column(Text)
    dlt_template_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    deliveries: Mapped[list[DeliveryRow]] = relationship(back_populates="notice", lazy="raise")


class DeliveryRow(NotifyBase):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "channel", name="uq_deliveries_notice_channel"),
        Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        # Receipts find their delivery by the provider's message id; the dead letters are listed newest first.
        Index("ix_deliveries_channel_provider_message_id", "channel", "provider_message_id"),
        Index("ix_deliveries_state_failed_at", "state", "failed_at"),
        # The few rows still holding a raw address, for the retention sweep.
        Index(
            "ix_deliveries_address_kept",
            "updated_at",
            postgresql_where=text("address IS NOT NULL"),
            sqlite_where=text("address IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    # The raw address is kept only while the delivery may still be attempted: pending, failed (an operator may retry
    # it), or sent with a provider message id (a receipt may still report it failed); erased once delivered, sent
    # without a receipt to come, or older than the retention (NotifyService.retry_due's sweep).
    address: Mapped[str | None] = mapped_column(String(320))
    address_masked: Mapped[str] = mapped_column(String(320))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(1000))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When it last became FAILED (the dead letters' order).
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_by_account_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    notice: Mapped[NoticeRow] = relationship(back_populates="deliveries", lazy="raise")


class DocumentRow(NotifyBase):
    """A document a notice carried (documents/): its facts at issue, and its PDF once rendered."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("notice_id", name="uq_documents_notice_id"),
        Index("ix_documents_registration_number_issued_at", "registration_number", "issued_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    registration_number: Mapped[str] = mapped_column(String(64))
    grievance_id: Mapped[str] = mapped_column(String(64))
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient_account_id: Mapped[str] = mapped_column(String(64))
    lead_language: Mapped[str] = mapped_column(String(2))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_sha256: Mapped[str] = mapped_column(String(64))
    # Set when the PDF is first rendered (on the first email carrying it or the first download), then kept.
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_size: Mapped[int | None] = mapped_column(Integer)
