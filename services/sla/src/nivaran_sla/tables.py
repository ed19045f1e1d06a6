"""SLA's own tables."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nivaran_common.db import Base


class SlaBase(Base):
    __abstract__ = True


class ShowCauseNoticeRow(SlaBase):
    """A show-cause notice issued by a deadline clock (S9, S11), answered by the officer, reviewed by the DM (S18)."""

    __tablename__ = "show_cause_notices"
    __table_args__ = (
        CheckConstraint("number IN (1, 2)", name="ck_show_cause_notices_number"),
        # Named, so a later batch migration on SQLite can find it.
        UniqueConstraint("idempotency_key", name="uq_show_cause_notices_idempotency_key"),
        Index("ix_show_cause_notices_grievance_id", "grievance_id"),
        Index("ix_show_cause_notices_position_id_replied_at", "position_id", "replied_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The workflow's key for this notice; a retried activity finds the first row instead of issuing twice.
    idempotency_key: Mapped[str] = mapped_column(String(200))
    grievance_id: Mapped[str] = mapped_column(String(36))
    registration_number: Mapped[str] = mapped_column(String(64))
    officer_account_id: Mapped[str | None] = mapped_column(String(36))
    position_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recommendation: Mapped[str | None] = mapped_column(Text)
    recommended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BreachRow(SlaBase):
    """A breach of a rule (S8, S13, S18, M2 …) recorded by a clock for the humans who decide on sanctions."""

    __tablename__ = "breaches"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_breaches_idempotency_key"),
        Index("ix_breaches_grievance_id", "grievance_id"),
        # The district's breach register, by rule and time (the DM's weekly review, S18).
        Index("ix_breaches_district_code_rule_recorded_at", "district_code", "rule", "recorded_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The workflow's key for this breach; a retried activity finds the first row instead of recording twice.
    idempotency_key: Mapped[str] = mapped_column(String(200))
    grievance_id: Mapped[str] = mapped_column(String(36))
    registration_number: Mapped[str] = mapped_column(String(64))
    position_id: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
