"""Shapes shared by several resources, and proto helpers."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, BaseModel, ConfigDict

from nivaran.common.v1 import common_pb2
from nivaran_common.pii import mask_aadhaar
from nivaran_common.timeutil import from_timestamp


def _encodable(value: str) -> str:
    # JSON may escape a lone surrogate (\ud800); Python accepts it, but protobuf and every store downstream cannot.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    # NFC, so text typed precomposed or decomposed (क़ as U+0958 or U+0915 U+093C) is stored and found alike.
    return unicodedata.normalize("NFC", value)


Text = Annotated[str, AfterValidator(_encodable)]


class InputModel(BaseModel):
    """A request body: unknown members are refused, so a misspelt optional field is reported, not dropped."""

    model_config = ConfigDict(extra="forbid")


class LocalizedTextIn(InputModel):
    """Text a person reads, given in both languages."""

    en: Text
    hi: Text

    def to_proto(self) -> common_pb2.LocalizedText:
        """The proto message."""
        return common_pb2.LocalizedText(en=self.en, hi=self.hi)


class LocalizedText(BaseModel):
    """Text a person reads, in English and Hindi."""

    en: str
    hi: str

    @classmethod
    def from_proto(cls, text: common_pb2.LocalizedText) -> LocalizedText:
        """Convert from the proto."""
        return cls(en=text.en, hi=text.hi)

    @classmethod
    def maybe(cls, owner: Any, name: str) -> LocalizedText | None:
        """The text in field `name` of a proto message, or None when unset or empty."""
        if not owner.HasField(name):
            return None
        text = getattr(owner, name)
        return None if not (text.en or text.hi) else cls.from_proto(text)


class LocationView(BaseModel):
    """Administrative location by master-data codes (unset levels are null)."""

    state_code: str | None = None
    district_code: str | None = None
    subdivision_code: str | None = None
    block_code: str | None = None
    panchayat_code: str | None = None
    thana_code: str | None = None

    @classmethod
    def from_proto(cls, location: common_pb2.Location) -> LocationView:
        """Convert from the proto."""
        return cls(
            state_code=location.state_code or None,
            district_code=location.district_code or None,
            subdivision_code=location.subdivision_code or None,
            block_code=location.block_code or None,
            panchayat_code=location.panchayat_code or None,
            thana_code=location.thana_code or None,
        )


class ActorView(BaseModel):
    """Who did something."""

    account_id: str | None = None
    role: str | None = None
    position_id: str | None = None
    display_name: str | None = None
    on_behalf_of_account_id: str | None = None

    @classmethod
    def from_proto(cls, actor: common_pb2.Actor) -> ActorView | None:
        """Convert from the proto; an empty actor (the system) is None."""
        view = cls(
            account_id=actor.account_id or None,
            role=actor.role or None,
            position_id=actor.position_id or None,
            display_name=actor.display_name or None,
            on_behalf_of_account_id=actor.on_behalf_of_account_id or None,
        )
        return view if view.model_dump(exclude_none=True) else None


def enum_label(enum_type: Any, value: int, prefix: str) -> str:
    """`STATUS_ASSIGNED` -> `assigned`; values this build does not know yet become `unknown_<n>`."""
    try:
        name: str = enum_type.Name(value)
    except ValueError:
        return f"unknown_{value}"
    return name.removeprefix(prefix).lower()


def timestamp(owner: Any, name: str) -> datetime | None:
    """An aware UTC datetime from a Timestamp field, or None when unset."""
    if not owner.HasField(name):
        return None
    value: Timestamp = getattr(owner, name)
    return from_timestamp(value)


def masked_phone(value: str) -> str | None:
    """Only the last four digits of a phone number; idempotent on an already masked value."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    prefix = "+91" if value.startswith("+91") else ""
    return f"{prefix}XXXXXX{digits[-4:]}" if len(digits) >= 4 else "XXXXXX"


def masked_aadhaar(value: str) -> str | None:
    """Only the last four digits of an Aadhaar number."""
    return mask_aadhaar(value) if value else None


def masked_email(value: str) -> str | None:
    """An email address with its local part hidden but the first character; idempotent."""
    if not value:
        return None
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def masked_address(value: str) -> str | None:
    """A delivery address (email or phone), masked."""
    if not value:
        return None
    return masked_email(value) if "@" in value else masked_phone(value)
