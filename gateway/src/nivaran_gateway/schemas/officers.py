"""Officer onboarding (S6), charge handover (S7) and delegation (S17) schemas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import (
    POWER_DECIDE_REGISTRATIONS,
    POWER_MODERATE_TRANSFERS,
    POWER_READ_DISTRICT,
)
from nivaran_common.timeutil import to_timestamp
from nivaran_gateway.schemas.common import InputModel, Text, enum_label, masked_email, masked_phone, timestamp


class RegistrationIn(InputModel):
    """A district officer asks for a login; the DM of the post's district approves it (S6)."""

    name: Text = Field(min_length=1, max_length=200, examples=["सुनील कुमार"])
    username: Text = Field(min_length=3, max_length=64, examples=["co.bihta"])
    password: str = Field(min_length=1, max_length=1024)
    phone: Text = Field(examples=["+919876543210"])
    email: Text | None = None
    position_id: Text = Field(min_length=1, max_length=128)
    charge_from: AwareDatetime | None = Field(default=None, description="when the officer took charge of the post")

    def to_proto(self) -> identity_pb2.RegisterOfficerRequest:
        """The identity request."""
        return identity_pb2.RegisterOfficerRequest(
            name=self.name,
            username=self.username,
            password=self.password,
            phone=self.phone,
            email=self.email or "",
            position_id=self.position_id,
            charge_from=to_timestamp(self.charge_from),
        )


class RegistrationState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    def to_proto(self) -> identity_pb2.RegistrationState.ValueType:
        """The proto enum value."""
        return identity_pb2.RegistrationState.Value(f"REGISTRATION_STATE_{self.name}")


class RegistrationView(BaseModel):
    """A registration request as the DM reviews it; phone and email masked."""

    id: str
    name: str
    username: str
    phone: str | None = None
    email: str | None = None
    position_id: str
    district_code: str | None = None
    state: str = Field(examples=["pending", "approved", "rejected"])
    decided_by_account_id: str | None = None
    decision_note: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None

    @classmethod
    def from_proto(cls, registration: identity_pb2.OfficerRegistration) -> RegistrationView:
        """Convert from the proto."""
        return cls(
            id=registration.id,
            name=registration.name,
            username=registration.username,
            phone=masked_phone(registration.phone),
            email=masked_email(registration.email),
            position_id=registration.position_id,
            district_code=registration.district_code or None,
            state=enum_label(identity_pb2.RegistrationState, registration.state, "REGISTRATION_STATE_"),
            decided_by_account_id=registration.decided_by_account_id or None,
            decision_note=registration.decision_note or None,
            requested_at=timestamp(registration, "requested_at"),
            decided_at=timestamp(registration, "decided_at"),
        )


class RegistrationList(BaseModel):
    """One page of registration requests, oldest first."""

    registrations: list[RegistrationView]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")


class DecisionIn(InputModel):
    """Approve or reject; a rejection gives its reason."""

    approve: bool
    note: Text = Field(default="", max_length=2000)


class RelinquishIn(InputModel):
    """The leaving officer gives up a post, citing the transfer order (S7)."""

    position_id: Text = Field(min_length=1, max_length=128)
    relinquish_at: AwareDatetime
    transfer_order_number: Text = Field(min_length=1, max_length=200)
    transfer_order_date: AwareDatetime


class TakeChargeIn(InputModel):
    """The successor takes charge of a post; deadlines run from `charge_from` (S7)."""

    position_id: Text = Field(min_length=1, max_length=128)
    charge_from: AwareDatetime


class PostingView(BaseModel):
    id: str
    account_id: str
    position_id: str
    charge_from: datetime | None = None
    relinquished_at: datetime | None = None
    transfer_order_number: str | None = None
    transfer_order_date: datetime | None = None

    @classmethod
    def from_proto(cls, posting: identity_pb2.Posting) -> PostingView:
        """Convert from the proto."""
        return cls(
            id=posting.id,
            account_id=posting.account_id,
            position_id=posting.position_id,
            charge_from=timestamp(posting, "charge_from"),
            relinquished_at=timestamp(posting, "relinquished_at"),
            transfer_order_number=posting.transfer_order_number or None,
            transfer_order_date=timestamp(posting, "transfer_order_date"),
        )


class Power(StrEnum):
    """A power a DM or secretary may delegate (S17): exactly those the gateway's routes check."""

    DECIDE_REGISTRATIONS = POWER_DECIDE_REGISTRATIONS
    MODERATE_TRANSFERS = POWER_MODERATE_TRANSFERS
    READ_DISTRICT = POWER_READ_DISTRICT


class DelegationIn(InputModel):
    """A DM or secretary delegates named powers to the Sahyog-cell nodal officer (S17)."""

    delegate_account_id: Text = Field(min_length=1, max_length=128)
    powers: list[Power] = Field(min_length=1, max_length=32, examples=[["registrations.decide"]])


class DelegationView(BaseModel):
    id: str
    delegator_account_id: str
    delegate_account_id: str
    powers: list[str]
    granted_at: datetime | None = None
    revoked_at: datetime | None = None

    @classmethod
    def from_proto(cls, delegation: identity_pb2.Delegation) -> DelegationView:
        """Convert from the proto."""
        return cls(
            id=delegation.id,
            delegator_account_id=delegation.delegator_account_id,
            delegate_account_id=delegation.delegate_account_id,
            powers=list(delegation.powers),
            granted_at=timestamp(delegation, "granted_at"),
            revoked_at=timestamp(delegation, "revoked_at"),
        )


class DelegationList(BaseModel):
    """One page of delegations, newest grant first."""

    delegations: list[DelegationView]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")


class AccountDisableIn(InputModel):
    """Why a login is taken away, for the record."""

    reason: Text = Field(min_length=1, max_length=200, examples=["निलंबित, आदेश 12/2026 / suspended by order 12/2026"])
