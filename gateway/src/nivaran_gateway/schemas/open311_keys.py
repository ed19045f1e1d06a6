"""Open311 API keys: an integrator's credential for POST /open311/v2/requests, issued by a STATE_ADMIN."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from nivaran.identity.v1 import identity_pb2
from nivaran_gateway.schemas.common import InputModel, Text, timestamp


class Open311KeyIn(InputModel):
    """A new key for an integrator."""

    integrator: Text = Field(min_length=1, max_length=200, examples=["FixMyStreet Patna (civic group)"])
    requests_per_minute: int = Field(
        default=60, ge=1, le=6000, description="the key's own limit on filings per minute (the gateway enforces it)"
    )

    def to_proto(self) -> identity_pb2.IssueOpen311KeyRequest:
        """The identity request (without the actor, which the route adds)."""
        return identity_pb2.IssueOpen311KeyRequest(
            integrator=self.integrator, requests_per_minute=self.requests_per_minute
        )


class Open311KeyView(BaseModel):
    """A key as a list shows it: never the key itself."""

    id: str
    integrator: str
    key_prefix: str = Field(description="the key's first characters, to tell keys apart", examples=["nvok_Ab3x"])
    requests_per_minute: int
    active: bool
    created_by_account_id: str
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by_account_id: str | None = None

    @classmethod
    def from_proto(cls, key: identity_pb2.Open311Key) -> Open311KeyView:
        """Convert from the proto."""
        return cls(
            id=key.id,
            integrator=key.integrator,
            key_prefix=key.key_prefix,
            requests_per_minute=key.requests_per_minute,
            active=key.active,
            created_by_account_id=key.created_by_account_id,
            created_at=timestamp(key, "created_at"),
            revoked_at=timestamp(key, "revoked_at"),
            revoked_by_account_id=key.revoked_by_account_id or None,
        )


class IssuedOpen311KeyView(BaseModel):
    """A new key. The api_key is shown in this answer only: identity keeps just its hash."""

    key: Open311KeyView
    api_key: str = Field(description="shown once; the integrator sends it as `api_key` with each filing")

    @classmethod
    def from_proto(cls, issued: identity_pb2.IssuedOpen311Key) -> IssuedOpen311KeyView:
        """Convert from the proto."""
        return cls(key=Open311KeyView.from_proto(issued.key), api_key=issued.api_key)


class Open311KeyList(BaseModel):
    keys: list[Open311KeyView]
