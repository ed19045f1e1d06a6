"""Intake's own tables: grievances (the case projection), the append-only timeline, registration counters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from nivaran_common.db import Base

# The open cases (not disposed, rejected or closed: domain.CLOSED_STATUSES), for partial indexes.
OPEN_CASE = text("status NOT IN ('disposed', 'rejected', 'closed')")


class IntakeBase(Base):
    __abstract__ = True


class GrievanceRow(IntakeBase):
    __tablename__ = "grievances"
    __table_args__ = (
        Index("ix_grievances_district_status", "district_code", "status"),
        Index("ix_grievances_position_status", "position_id", "status"),
        Index("ix_grievances_filed_at", "filed_at", "id"),
        Index("ix_grievances_workflow_pending", "workflow_started_at"),
        # The officer's work list, nearest deadline first.
        Index("ix_grievances_current_deadline", "current_deadline", "filed_at", "id"),
        # M5 / S18: the cases that ended in a period, per district.
        Index("ix_grievances_disposed_at", "district_code", "disposed_at"),
        # Issue 12: the dashboard's counts (IntakeStore.counts) from the index alone.
        Index(
            "ix_grievances_review_counts",
            "district_code",
            "routed_department_code",
            "status",
            "category_is_other",
            "returns",
            "track",
            "current_deadline",
        ),
        # Issue 12: the reports of open cases by age (reports.py) from an index of the open cases alone.
        Index(
            "ix_grievances_open_by_age",
            "district_code",
            "office_id",
            "routed_office_id",
            "position_id",
            "routed_position_id",
            "filed_at",
            "current_deadline",
            "department_code",
            "routed_department_code",
            "track",
            "id",
            postgresql_where=OPEN_CASE,
            sqlite_where=OPEN_CASE,
        ),
        # H4: a department's filings per category and month (category_trends.py), from the index alone.
        Index(
            "ix_grievances_category_trends",
            "routed_department_code",
            "filed_at",
            "category_code",
            "category_is_other",
            "district_code",
            "id",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    track: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    category_code: Mapped[str] = mapped_column(String(64))
    category_name_en: Mapped[str] = mapped_column(String(200))
    category_name_hi: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    expected_resolution: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    state_code: Mapped[str] = mapped_column(String(8))
    district_code: Mapped[str] = mapped_column(String(32))
    subdivision_code: Mapped[str] = mapped_column(String(64))
    block_code: Mapped[str] = mapped_column(String(64))
    panchayat_code: Mapped[str] = mapped_column(String(64))
    thana_code: Mapped[str] = mapped_column(String(64))
    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_address: Mapped[str] = mapped_column(Text)
    complainant_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    complainant_email: Mapped[str | None] = mapped_column(String(254))
    # Only the masked form and a keyed hash are kept; the number itself never reaches the database.
    complainant_aadhaar_masked: Mapped[str | None] = mapped_column(String(16))
    complainant_aadhaar_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    complainant_account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    preferred_language: Mapped[str] = mapped_column(String(8))
    # C2: the channel the complainant prefers besides the app (sms, whatsapp, email); "" for every contact given.
    preferred_channel: Mapped[str] = mapped_column(String(16), default="", server_default="")
    filed_by_account_id: Mapped[str | None] = mapped_column(String(36))
    filed_by_role: Mapped[str | None] = mapped_column(String(32))
    routed_department_code: Mapped[str] = mapped_column(String(32))
    routed_office_id: Mapped[str] = mapped_column(String(64))
    routed_position_id: Mapped[str] = mapped_column(String(64))
    routed_office_name_en: Mapped[str] = mapped_column(String(300))
    routed_office_name_hi: Mapped[str] = mapped_column(String(300))
    routed_position_title_en: Mapped[str] = mapped_column(String(300))
    routed_position_title_hi: Mapped[str] = mapped_column(String(300))
    routed_office_level: Mapped[str] = mapped_column(String(16), default="", server_default="")
    service_time_limit_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    department_code: Mapped[str | None] = mapped_column(String(32))
    office_id: Mapped[str | None] = mapped_column(String(64))
    office_name_en: Mapped[str | None] = mapped_column(String(300))
    office_name_hi: Mapped[str | None] = mapped_column(String(300))
    position_id: Mapped[str | None] = mapped_column(String(64))
    position_title_en: Mapped[str | None] = mapped_column(String(300))
    position_title_hi: Mapped[str | None] = mapped_column(String(300))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The lifecycle clock that owns current_deadline (a policy clock id); "" when none does.
    deadline_clock: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # S10 and escalations (C8): who else sees the case until it is disposed.
    dm_visible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    visible_to_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # H4: filings in a department's "Other" category are counted; their share should tend to zero.
    category_is_other: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How often the ended case came back to its officer (RETURN_EVENTS); more than 0: "closed — not fixed".
    returns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # M5: the deadlines the case missed (breach_recorded events, S13); a case ended with none ended within time.
    breaches: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # M5 / S18: when the case last ended (disposed, rejected or closed); None while it is open or never ended.
    disposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # M4: the open watch item of an ended case ("" when none), set and cleared by watch_opened / watch_closed.
    watch_item: Mapped[str] = mapped_column(String(500), default="", server_default="")
    watch_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Earlier cases this filing may repeat (duplicates.py), found at filing: [{registration_number, similarity}].
    possible_duplicates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # S4: the service application a service-delay complaint is about ({application_number, applied_on, status}).
    service_application: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    # S1: the day a camp took the application on paper, when its staff filed it later (None otherwise).
    camp_received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    workflow_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(BigInteger, default=1)


class CaseCountRow(IntakeBase):
    """Issue 12: how many cases share a key (case_counts.py); the dashboard reads these rows, not the cases."""

    __tablename__ = "case_counts"

    district_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    routed_department_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    track: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    category_is_other: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    # The cases came back after ending at least once (GrievanceRow.returns > 0): "closed - not fixed" when ended.
    returned: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    cases: Mapped[int] = mapped_column(BigInteger)


# M1: the events the weekly report counts (review_weekly.py), for a partial index of them alone.
REVIEW_EVENT = text("event_type IN ('show_cause_issued', 'show_cause_replied', 'breach_recorded')")


class TimelineEventRow(IntakeBase):
    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("grievance_id", "sequence", name="uq_timeline_sequence"),
        Index(
            "ix_timeline_review_events",
            "occurred_at",
            "grievance_id",
            "event_type",
            postgresql_where=REVIEW_EVENT,
            sqlite_where=REVIEW_EVENT,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grievance_id: Mapped[str] = mapped_column(ForeignKey("grievances.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    summary_en: Mapped[str] = mapped_column(Text)
    summary_hi: Mapped[str] = mapped_column(Text)
    actor_account_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_position_id: Mapped[str] = mapped_column(String(64))
    actor_on_behalf_of: Mapped[str] = mapped_column(String(64))
    actor_display_name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RegistrationCounterRow(IntakeBase):
    """One counter per state, district and year. It only ever grows, so no number is issued twice (B4)."""

    __tablename__ = "registration_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)


class AttachmentRow(IntakeBase):
    """Metadata of a file attached to a case; the bytes live in the blob store under `storage_key`."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_grievance_created", "grievance_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grievance_id: Mapped[str] = mapped_column(ForeignKey("grievances.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by_account_id: Mapped[str] = mapped_column(String(64))
    uploaded_by_role: Mapped[str] = mapped_column(String(32))
    uploaded_by_position_id: Mapped[str] = mapped_column(String(64))
    uploaded_by_on_behalf_of: Mapped[str] = mapped_column(String(64))
    uploaded_by_display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CampRow(IntakeBase):
    """S1: a Sahyog camp (शिविर) the DM set for a panchayat, on a day, at a venue."""

    __tablename__ = "camps"
    __table_args__ = (
        UniqueConstraint("panchayat_code", "held_on", name="uq_camp_panchayat_day"),
        Index("ix_camps_district_held_on", "district_code", "held_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16))
    block_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    panchayat_code: Mapped[str] = mapped_column(String(64))
    held_on: Mapped[date] = mapped_column(Date)
    venue_en: Mapped[str] = mapped_column(String(300))
    venue_hi: Mapped[str] = mapped_column(String(300))
    created_by_account_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HearingRow(IntakeBase):
    """B7 / M3: a hearing of a case as the lifecycle fixed it (hearing_scheduled) and recorded it (hearing_held): a
    row of its office's public notice board, and the public authority's attendance the DM's report counts (M2)."""

    __tablename__ = "hearings"
    __table_args__ = (
        UniqueConstraint("grievance_id", "hearing_id", name="uq_hearing_grievance_hearing"),
        # The office's notice board, by day.
        Index("ix_hearings_office_held_on", "office_id", "held_on"),
        # The DM's attendance report, by district and period.
        Index("ix_hearings_district_held_on", "district_code", "held_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grievance_id: Mapped[str] = mapped_column(ForeignKey("grievances.id"))
    registration_number: Mapped[str] = mapped_column(String(32))
    district_code: Mapped[str] = mapped_column(String(32))
    # Unique within the case (H1, H2, ...).
    hearing_id: Mapped[str] = mapped_column(String(64))
    # complaint, first, second or revision.
    stage: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)
    # HH:MM, India time.
    at: Mapped[str] = mapped_column(String(5))
    venue_en: Mapped[str] = mapped_column(String(300))
    venue_hi: Mapped[str] = mapped_column(String(300))
    office_id: Mapped[str] = mapped_column(String(64))
    office_name_en: Mapped[str] = mapped_column(String(300))
    office_name_hi: Mapped[str] = mapped_column(String(300))
    hearing_officer_position_id: Mapped[str] = mapped_column(String(64))
    hearing_officer_title_en: Mapped[str] = mapped_column(String(300))
    hearing_officer_title_hi: Mapped[str] = mapped_column(String(300))
    public_authority_position_id: Mapped[str] = mapped_column(String(64))
    public_authority_title_en: Mapped[str] = mapped_column(String(300))
    public_authority_title_hi: Mapped[str] = mapped_column(String(300))
    # scheduled, heard or adjourned.
    status: Mapped[str] = mapped_column(String(16))
    # Unknown (None) until the hearing is held.
    complainant_present: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    public_authority_present: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    represented_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # When intake last recorded a change to the hearing (its scheduling, then its holding).
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InboundMessageRow(IntakeBase):
    """C2 / B3: a message a citizen sent (an SMS, an email), stored before it is read (inbound.py, inbound_email.py);
    the outcome and the reply are written once it has been answered, and answer a repeat of the same provider
    message."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_inbound_message_provider_id"),
        Index("ix_inbound_messages_sender_stored_at", "sender", "stored_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # E.164 (nivaran_common.contact.normalise_phone); an email address (normalise_email) for channel email.
    sender: Mapped[str] = mapped_column(String(254))
    text: Mapped[str] = mapped_column(Text)
    provider_message_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # None until the message has been answered: status, filed, not_found, help or invalid.
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    registration_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reply_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    reply_hi: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The case filed or asked about.
    grievance_id: Mapped[str | None] = mapped_column(ForeignKey("grievances.id"), nullable=True)
    # Email only: the Subject, the address it was sent to, and the sender's display name.
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(254), nullable=True)
    sender_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The files that came with it, as stored (inbound_files.StoredFile.as_record): bytes in the blob store first.
    files: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # Sent by a machine (an auto-reply, a bounce): stored, never answered (outcome automatic).
    automatic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
