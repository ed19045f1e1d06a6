"""Identity's own tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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

from nivaran_common.db import Base


class IdentityBase(Base):
    __abstract__ = True


class AccountRow(IdentityBase):
    """One account per person and kind: a citizen by verified phone, an officer or operator by username."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("kind", "phone", name="uq_accounts_kind_phone"),
        UniqueConstraint("username", name="uq_accounts_username"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # E.164; for citizens, the number verified by OTP.
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A JWE (PBES2 under the key-encryption secret); None when the account has no TOTP.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The last TOTP time step accepted, so a code is never accepted twice.
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    # Roles beside those of the posts held (SAHYOG_NODAL, DEPT_ADMIN, ...): see domain.ACCOUNT_ROLES.
    extra_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    department_code: Mapped[str] = mapped_column(String(32), default="")
    # Operators' district (officers take theirs from their postings).
    district_code: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    # Who disabled the login (DisableAccount); empty when it is active, or inactive only for want of a post (a
    # relinquished charge, which taking charge again undoes). An account an authority disabled stays disabled.
    disabled_by_account_id: Mapped[str] = mapped_column(String(36), default="")
    preferred_language: Mapped[str] = mapped_column(String(8), default="hi")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RegistrationRow(IdentityBase):
    """An officer's login registration awaiting the regulator's decision (S6)."""

    __tablename__ = "officer_registrations"
    __table_args__ = (Index("ix_officer_registrations_district_state", "district_code", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(Text)
    position_id: Mapped[str] = mapped_column(String(64))
    position_role: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(32), default="")
    district_code: Mapped[str] = mapped_column(String(32), default="")
    charge_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by_account_id: Mapped[str] = mapped_column(String(36), default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    account_id: Mapped[str] = mapped_column(String(36), default="")


class PostingRow(IdentityBase):
    """Who holds which post from which charge date, until relinquished (S7). At most one open posting per post."""

    __tablename__ = "postings"
    __table_args__ = (
        Index(
            "uq_postings_open_position",
            "position_id",
            unique=True,
            sqlite_where=text("relinquished_at IS NULL"),
            postgresql_where=text("relinquished_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    position_id: Mapped[str] = mapped_column(String(64), index=True)
    # Copied from routing when the charge is taken, so a login needs no call to routing.
    position_role: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(32), default="")
    district_code: Mapped[str] = mapped_column(String(32), default="")
    charge_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    relinquished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    transfer_order_number: Mapped[str] = mapped_column(String(100), default="")
    transfer_order_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChargeHandoverRow(IdentityBase):
    """A charge taken that sla must hear of (its pending cases re-base to the charge date). Kept until applied."""

    __tablename__ = "charge_handovers"
    __table_args__ = (Index("ix_charge_handovers_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    posting_id: Mapped[str] = mapped_column(ForeignKey("postings.id"), unique=True)
    position_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(36))
    charge_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cases_rebased: Mapped[int] = mapped_column(Integer, default=0)


class DelegationRow(IdentityBase):
    """Named powers a DM or secretary gave the Sahyog-cell nodal officer (S17), until revoked."""

    __tablename__ = "delegations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delegator_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    delegate_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    powers: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by_account_id: Mapped[str] = mapped_column(String(36), default="")


class SigningKeyRow(IdentityBase):
    """One ES256 key of the token keyset. The private half is an encrypted PKCS#8 PEM."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem_encrypted: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when a newer key takes over signing; the key stays in the JWKS until tokens it signed have expired.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RefreshTokenRow(IdentityBase):
    """A refresh token, by its SHA-256. Each use rotates it; a second use of one revokes its whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginAuditRow(IdentityBase):
    """Every login attempt, successful or not. `subject` is a masked phone or a username, never a raw phone."""

    __tablename__ = "login_audit"
    __table_args__ = (Index("ix_login_audit_subject_at", "method", "subject", "occurred_at"),)

    # A sequence, so rows keep the order they were written in even within one clock tick.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(36), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64), default="")


class ServiceClientRow(IdentityBase):
    """A department's system (a department client). Its secret is kept only as a SHA-256: the secret is 256 random
    bits, so no guessing can reach it and a slow hash would only cost CPU on every token exchange."""

    __tablename__ = "service_clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    secret_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_account_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    disabled_by_account_id: Mapped[str] = mapped_column(String(36), default="")


class Open311KeyRow(IdentityBase):
    """An integrator's Open311 API key (issue 12). Kept as a SHA-256 only, like a department client's secret: the key
    is 256 random bits, and the gateway checks it on every Open311 filing, where a slow hash would only cost CPU."""

    __tablename__ = "open311_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    integrator: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requests_per_minute: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_account_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by_account_id: Mapped[str] = mapped_column(String(36), default="")
