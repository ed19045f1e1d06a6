"""Notify's domain: notices, their deliveries per channel, and what a send asks for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from nivaran_common.timeutil import IST, as_utc


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


# Deliveries are listed in this order, whatever order the caller asked for them in.
CHANNEL_ORDER: tuple[Channel, ...] = (Channel.IN_APP, Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class ReceiptStatus(StrEnum):
    """What a provider's delivery receipt reports."""

    DELIVERED = "delivered"
    FAILED = "failed"


class Language(StrEnum):
    HI = "hi"
    EN = "en"


class RecipientKind(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"


PROVIDER_NOT_CONFIGURED = "provider not configured"
SECTION_RULE = "-" * 40


@dataclass(frozen=True)
class LocalizedText:
    en: str
    hi: str

    def in_language(self, language: Language) -> str:
        """The text in `language`."""
        return self.hi if language is Language.HI else self.en


@dataclass(frozen=True)
class Recipient:
    """Who a notice is for. The service validates `email` and `phone` and normalises them (phone to E.164)."""

    account_id: str
    position_id: str
    name: str
    email: str
    phone: str
    preferred_language: Language
    kind: RecipientKind | None


@dataclass(frozen=True)
class SendCommand:
    """One request to notify someone; `dedupe_key` makes it idempotent."""

    dedupe_key: str
    template: str
    recipient: Recipient
    channels: tuple[Channel, ...]
    params: Mapping[str, Any]
    grievance_id: str
    registration_number: str


@dataclass(frozen=True)
class RenderedContent:
    """A template rendered in both languages; `lead` is the language shown first."""

    subject: LocalizedText
    body: LocalizedText
    lead: Language
    html: str
    short_text: str
    dlt_template_id: str

    @property
    def languages(self) -> tuple[Language, Language]:
        """Both languages, the lead one first."""
        return (self.lead, Language.EN if self.lead is Language.HI else Language.HI)

    def bilingual_subject(self) -> str:
        """One subject line carrying both languages, lead first."""
        first, second = self.languages
        return f"{self.subject.in_language(first)} / {self.subject.in_language(second)}"

    def bilingual_body(self) -> str:
        """The plain-text body in both languages, lead first."""
        first, second = self.languages
        return f"{self.body.in_language(first)}\n\n{SECTION_RULE}\n\n{self.body.in_language(second)}\n"


@dataclass(frozen=True)
class Delivery:
    """One channel of one notice. `address` is masked; the raw address never leaves the store."""

    id: str
    notice_id: str
    channel: Channel
    state: DeliveryState
    address: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    provider_message_id: str = ""


@dataclass(frozen=True)
class FailedDelivery:
    """A dead letter: a delivery left FAILED, with what an operator needs to judge a retry (addresses masked)."""

    delivery_id: str
    notice_id: str
    dedupe_key: str
    grievance_id: str
    registration_number: str
    channel: Channel
    recipient: str
    template: str
    attempts: int
    last_error: str
    failed_at: datetime


@dataclass(frozen=True)
class FailedDeliveryPage:
    """One page of dead letters, newest failure first, and the token of the next page ("" on the last)."""

    deliveries: list[FailedDelivery]
    next_page_token: str


@dataclass(frozen=True)
class DeliveryReceipt:
    """A provider's receipt as received; the service validates it."""

    channel: str
    provider_message_id: str
    status: str
    at: datetime | None
    error: str


_QUIET_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class QuietHours:
    """A daily window, in India time, in which no SMS is sent; it may wrap midnight ("21:00-08:00")."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """Read "HH:MM-HH:MM"; an empty text means no quiet hours. Raises ValueError on anything else."""
        text = text.strip()
        if not text:
            return None
        found = _QUIET_HOURS.fullmatch(text)
        if found is None:
            raise ValueError(f"quiet hours must be 'HH:MM-HH:MM' (24-hour, India time), not {text!r}")
        start = time(int(found[1]), int(found[2]))
        end = time(int(found[3]), int(found[4]))
        if start == end:
            raise ValueError("quiet hours must start and end at different times")
        return cls(start, end)

    def end_after(self, at: datetime) -> datetime | None:
        """When the quiet hours that `at` falls in end (UTC), or None when `at` is outside them."""
        local = as_utc(at).astimezone(IST)
        clock = local.time()
        wraps = self.end < self.start
        inside = (clock >= self.start or clock < self.end) if wraps else self.start <= clock < self.end
        if not inside:
            return None
        day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=IST).astimezone(UTC)


@dataclass(frozen=True)
class Notice:
    id: str
    dedupe_key: str
    template: str
    grievance_id: str
    registration_number: str
    recipient_account_id: str
    recipient_position_id: str
    subject: LocalizedText
    body: LocalizedText
    deliveries: tuple[Delivery, ...]
    created_at: datetime

    def delivery(self, channel: Channel) -> Delivery | None:
        """This notice's delivery on `channel`, if one was recorded."""
        return next((d for d in self.deliveries if d.channel is channel), None)


@dataclass(frozen=True)
class SendResult:
    notice: Notice
    duplicate: bool


@dataclass(frozen=True)
class NoticeFilter:
    """Notices of a grievance and/or addressed to an account or a position (either one matches)."""

    grievance_id: str = ""
    recipient_account_id: str = ""
    recipient_position_id: str = ""
    unread_only: bool = False
    # Any of these posts (an officer's inbox), as well as the account or position above.
    recipient_position_ids: tuple[str, ...] = ()
    in_app_only: bool = False
    notice_id: str = ""


@dataclass(frozen=True)
class NoticePage:
    """One page of notices, newest first, and the token of the next page ("" on the last)."""

    notices: list[Notice]
    next_page_token: str


@dataclass(frozen=True)
class Reader:
    """Who marks an in-app notice read; empty fields mean a trusted internal caller."""

    account_id: str = ""
    position_id: str = ""
    on_behalf_of_account_id: str = ""


@dataclass(frozen=True)
class TemplateInfo:
    code: str
    title: LocalizedText
    channels: tuple[Channel, ...]
    dlt_template_id: str


@dataclass(frozen=True)
class OutboundDelivery:
    """A delivery claimed for one attempt, with everything needed to send it."""

    id: str
    notice_id: str
    channel: Channel
    address: str
    attempt: int
    template: str
    registration_number: str
    recipient_name: str
    content: RenderedContent


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt n failing waits base * 2**(n-1), capped, until max_attempts."""

    max_attempts: int = 6
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    lease_seconds: float = 120.0

    def backoff_seconds(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt."""
        return float(min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


class DeliveryError(Exception):
    """A channel could not take a message. `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class NewDelivery:
    """A delivery as first recorded; `address` is raw (None when nothing will ever be sent to it)."""

    id: str
    channel: Channel
    state: DeliveryState
    address: str | None
    address_masked: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class NewNotice:
    id: str
    command: SendCommand
    registration_number: str
    content: RenderedContent
    deliveries: tuple[NewDelivery, ...]
    created_at: datetime
