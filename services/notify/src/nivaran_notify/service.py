"""Notify's use cases: send a notice once per dedupe key, deliver it on each channel, retry, read receipts.

Channel rules:
- IN_APP is delivered the moment the notice is stored (delivered_at); MarkNoticeRead records read_at once (S16).
- EMAIL, SMS and WHATSAPP get one attempt inline, then the retry loop's `retry_due` retries them with exponential
  backoff until they are sent or run out of attempts (FAILED).
- An in-app notice is shown to its recipient account or position, and on its grievance's page (portal notices
  count as served, S16), so a complainant without an account still gets one when the notice names a grievance.
- A channel whose address the recipient lacks is skipped and no delivery is recorded: no email for EMAIL, no
  phone for SMS / WHATSAPP, no account, position or grievance for IN_APP. Callers send one channel list for
  every complainant, and the Rules make email and phone optional (B1), so a missing address is normal, not a
  failure. The notice itself is still recorded.
- SMS / WhatsApp without a configured provider are recorded FAILED with "provider not configured", never dropped.
- SMS quiet hours (India time, default 21:00-08:00): an SMS whose attempt falls inside them is not transmitted then;
  it stays PENDING until they end, when the retry loop sends it. Holding it counts no attempt.

Dead letters and receipts (C2 / B5):
- A FAILED delivery is a dead letter: listed for a state admin (masked), who may retry it once at a time. Only a
  FAILED delivery is retried, and the move FAILED -> PENDING is one conditional UPDATE, so of two concurrent retries
  only one transmits, and a SENT or DELIVERED one never goes out again. A retry is one attempt: it fails for good.
- A provider's receipt finds its delivery by channel + provider message id: "delivered" sets DELIVERED, "failed" turns
  a SENT delivery FAILED (a dead letter). A repeat changes nothing.
- The raw address is kept while it may still be needed (pending, failed, or sent awaiting a receipt), and erased once
  delivered or sent without a receipt to come; `retry_due` erases what is older than the retention at most hourly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.logging import get_logger
from nivaran_common.paging import page_of, time_key, time_token
from nivaran_common.pii import mask_email, mask_phone, mask_text
from nivaran_common.timeutil import as_utc, utcnow
from nivaran_notify.compose import attach_pdf, build_email, build_sms, build_whatsapp
from nivaran_notify.documents.domain import Document
from nivaran_notify.documents.service import DocumentService
from nivaran_notify.domain import (
    PROVIDER_NOT_CONFIGURED,
    Channel,
    Delivery,
    DeliveryError,
    DeliveryReceipt,
    DeliveryState,
    FailedDeliveryPage,
    NewDelivery,
    NewNotice,
    Notice,
    NoticeFilter,
    NoticePage,
    OutboundDelivery,
    QuietHours,
    Reader,
    ReceiptStatus,
    RenderedContent,
    RetryPolicy,
    SendCommand,
    SendResult,
    TemplateInfo,
)
from nivaran_notify.officer_contacts import OfficerChannels
from nivaran_notify.providers import EmailTransport, SmsGateway, WhatsAppGateway
from nivaran_notify.store import NoticeStore
from nivaran_notify.templates import TemplateRegistry
from nivaran_notify.validation import normalise_email, normalise_phone

log = get_logger(__name__)

DEDUPE_KEY_MAX = 200
ID_MAX = 64
NAME_MAX = 200
LIST_LIMIT = 200
# The notices' pages (nivaran_common.paging): newest first.
NOTICES_LISTING = "notices"
FAILED_LIST_DEFAULT = 50
FAILED_LIST_MAX = 200
# The dead letters' pages (nivaran_common.paging): newest failure first.
FAILED_LISTING = "failed-deliveries"
PROVIDER_MESSAGE_ID_MAX = 200
# The channels that go through a provider: the only ones with dead letters and receipts.
_EXTERNAL = {c.value: c for c in (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)}
ADDRESS_SWEEP_EVERY = timedelta(hours=1)
UNDELIVERED = "the provider reported the message undelivered"


class NotifyService:
    """Use cases over the notice store, the template registry and the delivery channels."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateRegistry,
        *,
        email: EmailTransport | None,
        sms: SmsGateway | None,
        whatsapp: WhatsAppGateway | None,
        sender: str,
        policy: RetryPolicy,
        batch_size: int = 50,
        clock: Callable[[], datetime] = utcnow,
        sms_quiet_hours: QuietHours | None = None,
        address_retention: timedelta = timedelta(days=30),
        documents: DocumentService | None = None,
        officer_channels: OfficerChannels | None = None,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._email = email
        self._sms = sms
        self._whatsapp = whatsapp
        self._sender = sender
        self._policy = policy
        self._batch_size = batch_size
        self._clock = clock
        self._sms_quiet_hours = sms_quiet_hours
        self._address_retention = address_retention
        self._swept_at: datetime | None = None
        self._documents = documents
        self._officer_channels = officer_channels

    async def send(self, command: SendCommand) -> SendResult:
        """Record a notice and deliver it, once per dedupe key; a repeat returns the first notice."""
        if self._officer_channels is not None:
            # S16 / C2: an officer's notice also goes by SMS / email, if configured, to the post's holder now.
            command = await self._officer_channels.complete(command, self._find)
        command, content, registration_number = self._prepare(command)
        now = as_utc(self._clock())
        new = self._new_notice(command, content, registration_number, now)
        document = self._plan_document(command, new, now)
        try:
            async with self._sessions() as session, session.begin():
                store = NoticeStore(session)
                existing = await store.find_by_dedupe_key(command.dedupe_key)
                if existing is not None:
                    return SendResult(existing, duplicate=True)
                await store.add(new)
                if document is not None and self._documents is not None:
                    # In the notice's transaction: a notice that was sent always has its document.
                    self._documents.add(session, document)
        except IntegrityError:
            # A concurrent Send with the same key won the unique constraint; answer with its notice.
            existing = await self._find(command.dedupe_key)
            if existing is None:
                raise
            return SendResult(existing, duplicate=True)
        log.info(
            "notice recorded",
            notice_id=new.id,
            template=command.template,
            grievance_id=command.grievance_id,
            channels=[d.channel.value for d in new.deliveries],
        )
        for delivery in new.deliveries:
            # One held for quiet hours has no attempt yet: the retry loop makes its first.
            if delivery.state is DeliveryState.PENDING and delivery.attempts > 0:
                async with self._sessions() as session:
                    outbound = await NoticeStore(session).outbound(delivery.id)
                if outbound is not None:
                    await self._deliver(outbound, now)
        return SendResult(await self._get(new.id), duplicate=False)

    @property
    def documents(self) -> DocumentService | None:
        """The documents' use cases, when documents are on."""
        return self._documents

    def _plan_document(self, command: SendCommand, new: NewNotice, now: datetime) -> Document | None:
        """The document (Form-2, a show-cause notice, ...) the notice carries, when it is one and documents are on."""
        if self._documents is None:
            return None
        context = self._templates.context(command.template, command.params)
        return self._documents.plan(command, context, new.registration_number, new.id, new.content.lead.value, now)

    async def get_delivery_status(self, dedupe_key: str) -> Notice:
        """The notice sent under `dedupe_key`, with the state of each delivery."""
        if not dedupe_key:
            raise InvalidArgument.field("dedupe_key", "is required")
        notice = await self._find(dedupe_key)
        if notice is None:
            raise NotFound(f"no notice with dedupe key {dedupe_key!r} / इस dedupe key की कोई सूचना नहीं है")
        return notice

    async def list_notices(self, wanted: NoticeFilter, page_size: int = 0, page_token: str = "") -> NoticePage:
        """One page of the notices matching `wanted`, newest first (page_size 0: LIST_LIMIT, the most)."""
        if not (
            wanted.grievance_id
            or wanted.recipient_account_id
            or wanted.recipient_position_id
            or any(wanted.recipient_position_ids)
        ):
            raise InvalidArgument.field(
                "grievance_id", "give grievance_id, recipient_account_id or recipient_position_id(s)"
            )
        page = page_of(NOTICES_LISTING, page_size or LIST_LIMIT, page_token)
        async with self._sessions() as session:
            found = await NoticeStore(session).search(wanted, page.size + 1, time_key(NOTICES_LISTING, page))
        return NoticePage(*page.cut(found, lambda n: time_token(NOTICES_LISTING, n.created_at, n.id)))

    async def mark_read(self, notice_id: str, reader: Reader) -> Notice:
        """Record when an in-app notice was first read (S16); marking it again changes nothing."""
        if not notice_id:
            raise InvalidArgument.field("notice_id", "is required")
        now = as_utc(self._clock())
        async with self._sessions() as session, session.begin():
            store = NoticeStore(session)
            notice = await store.get(notice_id)
            if notice is None:
                raise NotFound(f"no notice {notice_id} / सूचना {notice_id} नहीं मिली")
            if notice.delivery(Channel.IN_APP) is None:
                raise FailedPrecondition(
                    "this notice was not sent in-app, so it has no read receipt / "
                    "यह सूचना पोर्टल पर नहीं भेजी गई थी, इसलिए इसकी पठन-पावती नहीं है"
                )
            _check_reader(notice, reader)
            await store.mark_read(notice_id, now, reader.account_id)
            read = await store.get(notice_id)
        assert read is not None
        return read

    def list_templates(self) -> list[TemplateInfo]:
        """The templates a caller may name."""
        return self._templates.templates()

    async def retry_due(self, now: datetime) -> int:
        """Attempt every pending delivery due at `now` once; returns how many were attempted."""
        now = as_utc(now)
        await self._sweep_addresses(now)
        async with self._sessions() as session:
            due = await NoticeStore(session).due(now, self._batch_size)
        attempted = 0
        for delivery_id, attempts, channel in due:
            quiet_until = self._quiet_until(channel, now)
            async with self._sessions() as session, session.begin():
                store = NoticeStore(session)
                if quiet_until is not None:
                    if await store.postpone(delivery_id, attempts, now, quiet_until):
                        log.info("sms held for quiet hours", delivery_id=delivery_id, until=quiet_until.isoformat())
                    continue
                lease_until = now + timedelta(seconds=self._policy.lease_seconds)
                claimed = await store.claim(delivery_id, attempts, now, lease_until)
                outbound = await store.outbound(delivery_id) if claimed else None
            if outbound is None:
                continue
            await self._deliver(outbound, now)
            attempted += 1
        return attempted

    async def list_failed_deliveries(
        self, channel: str, limit: int, page_size: int = 0, page_token: str = ""
    ) -> FailedDeliveryPage:
        """One page of the dead letters, newest failure first (C2): `page_size`, or else `limit` (capped), or else
        the default many."""
        violations: list[FieldViolation] = []
        wanted: Channel | None = None
        if channel.strip():
            wanted = _EXTERNAL.get(channel.strip().lower())
            if wanted is None:
                violations.append(FieldViolation("channel", "must be email, sms or whatsapp (or empty for all)"))
        if limit < 0:
            violations.append(FieldViolation("limit", "must not be negative"))
        if violations:
            raise InvalidArgument.of(violations)
        page = page_of(FAILED_LISTING, page_size or min(limit or FAILED_LIST_DEFAULT, FAILED_LIST_MAX), page_token)
        async with self._sessions() as session:
            found = await NoticeStore(session).failed(wanted, page.size + 1, time_key(FAILED_LISTING, page))
        return FailedDeliveryPage(*page.cut(found, lambda d: time_token(FAILED_LISTING, d.failed_at, d.delivery_id)))

    async def retry_delivery(self, delivery_id: str, operator_account_id: str) -> Delivery:
        """Retry one FAILED delivery at once, once (C2); answers its new state. Nothing else is ever resent."""
        if not delivery_id.strip():
            raise InvalidArgument.field("delivery_id", "is required")
        delivery_id = delivery_id.strip()
        now = as_utc(self._clock())
        async with self._sessions() as session, session.begin():
            store = NoticeStore(session)
            delivery = await store.get_delivery(delivery_id)
            if delivery is None:
                raise NotFound(f"no delivery {delivery_id} / वितरण {delivery_id} नहीं मिला")
            if delivery.state is not DeliveryState.FAILED:
                raise FailedPrecondition(
                    f"only a failed delivery is retried; this one is {delivery.state.value.upper()} / "
                    f"केवल विफल वितरण दोबारा भेजा जाता है; यह {delivery.state.value.upper()} है"
                )
            quiet_until = self._quiet_until(delivery.channel, now)
            if quiet_until is None:
                # The retry owns the attempt it counts until the lease ends, as the inline first attempt does.
                attempts = delivery.attempts + 1
                next_attempt_at = now + timedelta(seconds=self._policy.lease_seconds)
            else:
                attempts, next_attempt_at = delivery.attempts, quiet_until
            reopened = await store.reopen_failed(
                delivery_id, delivery.attempts, now, attempts=attempts, next_attempt_at=next_attempt_at
            )
            outbound = await store.outbound(delivery_id) if reopened and quiet_until is None else None
        if not reopened:
            await self._refuse_retry(delivery)
        log.info(
            "delivery retry by operator",
            delivery_id=delivery_id,
            notice_id=delivery.notice_id,
            channel=delivery.channel.value,
            operator_account_id=operator_account_id,
            held_until=quiet_until.isoformat() if quiet_until else None,
        )
        if outbound is not None:
            await self._deliver(outbound, now, final=True)
        return await self._get_delivery(delivery_id)

    async def record_receipt(self, receipt: DeliveryReceipt) -> Delivery:
        """Apply a provider's delivery receipt (C2); the same receipt twice changes nothing the second time."""
        channel, status, provider_message_id = self._check_receipt(receipt)
        now = as_utc(self._clock())
        # A provider's clock running ahead never dates an event in the future.
        at = min(as_utc(receipt.at), now) if receipt.at is not None else now
        async with self._sessions() as session, session.begin():
            store = NoticeStore(session)
            delivery = await store.find_by_provider_message_id(channel, provider_message_id)
            if delivery is None:
                raise NotFound(
                    f"no {channel.value} delivery with provider message id {provider_message_id!r} / "
                    "इस प्रदाता संदेश आईडी का कोई वितरण नहीं है"
                )
            changed = False
            if status is ReceiptStatus.DELIVERED and delivery.state in (DeliveryState.SENT, DeliveryState.FAILED):
                changed = await store.record_delivered(delivery.id, delivery.state, at, now)
            elif status is ReceiptStatus.FAILED and delivery.state is DeliveryState.SENT:
                error = mask_text(receipt.error.strip())[:1000] or UNDELIVERED
                changed = await store.record_undelivered(delivery.id, at, now, error)
        log.info(
            "delivery receipt",
            delivery_id=delivery.id,
            channel=channel.value,
            status=status.value,
            state_before=delivery.state.value,
            changed=changed,
        )
        return await self._get_delivery(delivery.id)

    def _check_receipt(self, receipt: DeliveryReceipt) -> tuple[Channel, ReceiptStatus, str]:
        violations: list[FieldViolation] = []
        channel = _EXTERNAL.get(receipt.channel.strip().lower())
        if channel is None:
            violations.append(FieldViolation("channel", "must be sms, whatsapp or email"))
        provider_message_id = receipt.provider_message_id.strip()
        if not provider_message_id:
            violations.append(FieldViolation("provider_message_id", "is required"))
        elif len(provider_message_id) > PROVIDER_MESSAGE_ID_MAX:
            violations.append(
                FieldViolation("provider_message_id", f"must be at most {PROVIDER_MESSAGE_ID_MAX} characters")
            )
        status: ReceiptStatus | None = None
        try:
            status = ReceiptStatus(receipt.status.strip().lower())
        except ValueError:
            violations.append(FieldViolation("status", "must be 'delivered' or 'failed'"))
        if violations:
            raise InvalidArgument.of(violations)
        assert channel is not None
        assert status is not None
        return channel, status, provider_message_id

    async def _refuse_retry(self, seen: Delivery) -> None:
        current = await self._get_delivery(seen.id)
        if current.state is not DeliveryState.FAILED or current.attempts != seen.attempts:
            raise FailedPrecondition(
                f"another retry of this delivery was just made; it is {current.state.value.upper()} / "
                f"इस वितरण को अभी-अभी दोबारा भेजा गया; यह {current.state.value.upper()} है"
            )
        raise FailedPrecondition(
            "the address of this delivery is no longer kept, so it cannot be sent again / "
            "इस वितरण का पता अब रखा नहीं गया है, इसलिए इसे दोबारा नहीं भेजा जा सकता"
        )

    async def _get_delivery(self, delivery_id: str) -> Delivery:
        async with self._sessions() as session:
            delivery = await NoticeStore(session).get_delivery(delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id} / वितरण {delivery_id} नहीं मिला")
        return delivery

    def _quiet_until(self, channel: Channel, now: datetime) -> datetime | None:
        if channel is not Channel.SMS or self._sms_quiet_hours is None:
            return None
        return self._sms_quiet_hours.end_after(now)

    async def _sweep_addresses(self, now: datetime) -> None:
        if self._swept_at is not None and now - self._swept_at < ADDRESS_SWEEP_EVERY:
            return
        self._swept_at = now
        async with self._sessions() as session, session.begin():
            erased = await NoticeStore(session).erase_addresses(now - self._address_retention, now)
        if erased:
            log.info("raw addresses erased after retention", deliveries=erased)

    async def _find(self, dedupe_key: str) -> Notice | None:
        async with self._sessions() as session:
            return await NoticeStore(session).find_by_dedupe_key(dedupe_key)

    async def _get(self, notice_id: str) -> Notice:
        async with self._sessions() as session:
            notice = await NoticeStore(session).get(notice_id)
        if notice is None:
            raise NotFound(f"no notice {notice_id}")
        return notice

    def _prepare(self, command: SendCommand) -> tuple[SendCommand, RenderedContent, str]:
        """Validate everything at once, so the caller sees every bad field in one answer."""
        violations: list[FieldViolation] = []
        if not command.dedupe_key.strip():
            violations.append(FieldViolation("dedupe_key", "is required"))
        elif len(command.dedupe_key) > DEDUPE_KEY_MAX:
            violations.append(FieldViolation("dedupe_key", f"must be at most {DEDUPE_KEY_MAX} characters"))
        for name, value, limit in (
            ("grievance_id", command.grievance_id, ID_MAX),
            ("registration_number", command.registration_number, ID_MAX),
            ("recipient.account_id", command.recipient.account_id, ID_MAX),
            ("recipient.position_id", command.recipient.position_id, ID_MAX),
            ("recipient.name", command.recipient.name, NAME_MAX),
        ):
            if len(value) > limit:
                violations.append(FieldViolation(name, f"must be at most {limit} characters"))

        channels = tuple(dict.fromkeys(command.channels))
        if not channels:
            violations.append(FieldViolation("channels", "at least one channel is required"))

        recipient = command.recipient
        email = ""
        if recipient.email.strip():
            email = normalise_email(recipient.email) or ""
            if not email:
                violations.append(FieldViolation("recipient.email", "is not a valid email address"))
        phone = ""
        if recipient.phone.strip():
            phone = normalise_phone(recipient.phone) or ""
            if not phone:
                violations.append(FieldViolation("recipient.phone", "is not a valid Indian mobile number"))

        content: RenderedContent | None = None
        registration_number = command.registration_number
        try:
            violations.extend(self._templates.check_channels(command.template, channels))
            content = self._templates.render(command.template, command.params, recipient.preferred_language)
            from_params = self._templates.context(command.template, command.params).get("registration_number")
            if from_params and registration_number and from_params != registration_number:
                violations.append(FieldViolation("registration_number", "differs from params.registration_number"))
            registration_number = registration_number or from_params or ""
            if len(registration_number) > ID_MAX:
                violations.append(FieldViolation("params.registration_number", f"must be at most {ID_MAX} characters"))
        except InvalidArgument as exc:
            violations.extend(exc.violations)
        if violations:
            raise InvalidArgument.of(violations)
        assert content is not None
        prepared = replace(command, channels=channels, recipient=replace(recipient, email=email, phone=phone))
        return prepared, content, registration_number

    def _new_notice(
        self, command: SendCommand, content: RenderedContent, registration_number: str, now: datetime
    ) -> NewNotice:
        recipient = command.recipient
        # The inline first attempt owns each external delivery until the lease ends; only then may the
        # retry loop take it over (say, after this process died mid-send).
        lease_until = now + timedelta(seconds=self._policy.lease_seconds)
        configured = {Channel.EMAIL: self._email, Channel.SMS: self._sms, Channel.WHATSAPP: self._whatsapp}
        deliveries: list[NewDelivery] = []
        for channel in command.channels:
            new = partial(NewDelivery, id=str(uuid.uuid4()), channel=channel, next_attempt_at=None, last_error="")
            if channel is Channel.IN_APP:
                if not (recipient.account_id or recipient.position_id or command.grievance_id):
                    continue
                deliveries.append(
                    new(
                        state=DeliveryState.DELIVERED,
                        address=None,
                        address_masked="",
                        attempts=1,
                        sent_at=now,
                        delivered_at=now,
                    )
                )
                continue
            address = recipient.email if channel is Channel.EMAIL else recipient.phone
            if not address:
                continue
            masked = mask_email(address) if channel is Channel.EMAIL else mask_phone(address)
            if configured[channel] is None:
                # The address is kept, so an operator can retry once the provider is configured.
                deliveries.append(
                    new(
                        state=DeliveryState.FAILED,
                        address=address,
                        address_masked=masked,
                        attempts=0,
                        last_error=PROVIDER_NOT_CONFIGURED,
                        sent_at=None,
                        delivered_at=None,
                    )
                )
                continue
            quiet_until = self._quiet_until(channel, now)
            deliveries.append(
                new(
                    state=DeliveryState.PENDING,
                    address=address,
                    address_masked=masked,
                    # Held for quiet hours: no attempt yet, the first is due when they end.
                    attempts=1 if quiet_until is None else 0,
                    next_attempt_at=lease_until if quiet_until is None else quiet_until,
                    sent_at=None,
                    delivered_at=None,
                )
            )
        return NewNotice(
            id=str(uuid.uuid4()),
            command=command,
            registration_number=registration_number,
            content=content,
            deliveries=tuple(deliveries),
            created_at=now,
        )

    async def _deliver(self, outbound: OutboundDelivery, now: datetime, *, final: bool = False) -> None:
        """Make one attempt and record its outcome; failures are recorded, never raised. A `final` attempt (an
        operator's retry) leaves the delivery FAILED when it fails, instead of scheduling another."""
        try:
            provider_message_id = await self._transmit(outbound, now)
        except DeliveryError as exc:
            await self._record_failure(outbound, now, str(exc), permanent=exc.permanent or final)
        except Exception as exc:
            # A bug must not stop the other deliveries; the attempt counts and the log keeps the traceback.
            log.exception("delivery attempt crashed", delivery_id=outbound.id, channel=outbound.channel.value)
            await self._record_failure(outbound, now, f"internal error: {type(exc).__name__}", permanent=final)
        else:
            async with self._sessions() as session, session.begin():
                await NoticeStore(session).record_sent(outbound.id, outbound.attempt, now, provider_message_id)
            log.info(
                "delivery sent",
                delivery_id=outbound.id,
                notice_id=outbound.notice_id,
                channel=outbound.channel.value,
                attempt=outbound.attempt,
            )

    async def _record_failure(self, outbound: OutboundDelivery, now: datetime, error: str, *, permanent: bool) -> None:
        exhausted = permanent or outbound.attempt >= self._policy.max_attempts
        retry_at = None if exhausted else now + timedelta(seconds=self._policy.backoff_seconds(outbound.attempt))
        async with self._sessions() as session, session.begin():
            await NoticeStore(session).record_failure(outbound.id, outbound.attempt, now, error, retry_at)
        log.warning(
            "delivery attempt failed",
            delivery_id=outbound.id,
            notice_id=outbound.notice_id,
            channel=outbound.channel.value,
            attempt=outbound.attempt,
            error=error,
            retry_at=retry_at.isoformat() if retry_at else None,
        )

    async def _transmit(self, outbound: OutboundDelivery, now: datetime) -> str:
        if outbound.channel is Channel.EMAIL and self._email is not None:
            message = build_email(outbound, self._sender, now)
            attachment = await self._documents.attachment(outbound) if self._documents is not None else None
            if attachment is not None:
                attach_pdf(message, *attachment)
            await self._email.send_email(message)
            return ""
        if outbound.channel is Channel.SMS and self._sms is not None:
            return await self._sms.send_sms(build_sms(outbound))
        if outbound.channel is Channel.WHATSAPP and self._whatsapp is not None:
            return await self._whatsapp.send_whatsapp(build_whatsapp(outbound))
        raise DeliveryError(PROVIDER_NOT_CONFIGURED, permanent=True)


def _check_reader(notice: Notice, reader: Reader) -> None:
    # A notice addressed only to its grievance is read by whoever may see the grievance; the gateway decides that.
    if not (reader.account_id or reader.position_id) or not (
        notice.recipient_account_id or notice.recipient_position_id
    ):
        return
    as_account = {reader.account_id, reader.on_behalf_of_account_id}
    allowed = (notice.recipient_account_id and notice.recipient_account_id in as_account) or (
        notice.recipient_position_id and notice.recipient_position_id == reader.position_id
    )
    if not allowed:
        raise PermissionDenied("this notice is not addressed to you / यह सूचना आपको संबोधित नहीं है")
