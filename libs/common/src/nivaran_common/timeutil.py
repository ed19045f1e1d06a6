"""Time is timezone-aware, stored in UTC and shown in Asia/Kolkata."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

IST = ZoneInfo("Asia/Kolkata")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat naive values (as SQLite returns them) as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    """Convert an aware datetime to a protobuf Timestamp (None stays None)."""
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(as_utc(value))
    return ts


def from_timestamp(value: Timestamp) -> datetime | None:
    """Convert a protobuf Timestamp to an aware UTC datetime; the zero Timestamp means unset."""
    if value.seconds == 0 and value.nanos == 0:
        return None
    return value.ToDatetime(tzinfo=UTC)


def format_ist(value: datetime) -> str:
    """Human display in Indian Standard Time, e.g. 23-11-2026 14:05 IST."""
    return as_utc(value).astimezone(IST).strftime("%d-%m-%Y %H:%M IST")
