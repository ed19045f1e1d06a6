"""Sign-in schemas: OTP for citizens, password + TOTP for officers, token refresh and logout."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import Principal
from nivaran_gateway.schemas.common import (
    InputModel,
    Text,
    enum_label,
    masked_email,
    masked_phone,
    timestamp,
)


class OtpRequestIn(InputModel):
    """Ask for a one-time password by SMS."""

    phone: Text = Field(examples=["+919876543210"], description="an Indian mobile number")


class OtpRequested(BaseModel):
    """An OTP is on its way."""

    sent_to: str = Field(examples=["+91XXXXXX3210"])
    expires_at: datetime | None = None
    resend_after_seconds: int = 0

    @classmethod
    def from_proto(cls, phone: str, answer: identity_pb2.RequestOtpResponse) -> OtpRequested:
        """Convert from the proto; the number is shown masked."""
        return cls(
            sent_to=masked_phone(phone) or "",
            expires_at=timestamp(answer, "expires_at"),
            resend_after_seconds=answer.resend_after_seconds,
        )


class OtpVerifyIn(InputModel):
    """The OTP the citizen received."""

    phone: Text = Field(examples=["+919876543210"])
    otp: str = Field(pattern=r"^[0-9]{4,8}$", examples=["482913"])


class PasswordLoginIn(InputModel):
    """An officer's sign-in."""

    username: Text = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, pattern=r"^[0-9]{6,8}$", description="the authenticator app's code")


class PasswordChangeIn(InputModel):
    """An officer's or operator's new password, with the current one."""

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(
        min_length=1,
        max_length=1024,
        description="10-256 characters, not containing the username, not the current password (identity checks)",
    )


class RefreshTokenIn(InputModel):
    """A refresh token (for a new access token, or to revoke it at logout)."""

    refresh_token: str = Field(min_length=1, max_length=4096)


class AccountView(BaseModel):
    """An account as its owner sees it; phone and email masked."""

    id: str
    kind: str = Field(examples=["citizen", "officer", "operator"])
    display_name: str | None = None
    phone: str | None = None
    email: str | None = None
    roles: list[str]
    preferred_language: str | None = None
    active: bool = True

    @classmethod
    def from_proto(cls, account: identity_pb2.Account) -> AccountView:
        """Convert from the proto, masking again whatever identity sent."""
        return cls(
            id=account.id,
            kind=enum_label(identity_pb2.AccountKind, account.kind, "ACCOUNT_KIND_"),
            display_name=account.display_name or None,
            phone=masked_phone(account.phone),
            email=masked_email(account.email),
            roles=list(account.roles),
            preferred_language=account.preferred_language or None,
            active=account.active,
        )


class TokenView(BaseModel):
    """Tokens for the API: send `Authorization: Bearer <access_token>`."""

    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    refresh_token: str
    access_expires_at: datetime | None = None
    account: AccountView | None = None

    @classmethod
    def from_proto(cls, pair: identity_pb2.TokenPair) -> TokenView:
        """Convert from the proto."""
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            access_expires_at=timestamp(pair, "access_expires_at"),
            account=AccountView.from_proto(pair.account) if pair.HasField("account") else None,
        )


class PrincipalView(BaseModel):
    """Who the access token says the caller is."""

    account_id: str
    kind: str
    roles: list[str]
    positions: list[str]
    district: str | None = None
    phone: str | None = None
    acting_for: str | None = None
    powers: list[str]

    @classmethod
    def of(cls, principal: Principal) -> PrincipalView:
        """From the verified principal; the phone is masked."""
        return cls(
            account_id=principal.account_id,
            kind=principal.kind,
            roles=list(principal.roles),
            positions=list(principal.positions),
            district=principal.district or None,
            phone=masked_phone(principal.phone),
            acting_for=principal.acting_for or None,
            powers=list(principal.powers),
        )
