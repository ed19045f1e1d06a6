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
from nivaran_common.pii import mask_email, mask_phone
from nivaran_common.timeutil import as_utc, utcnow
from nivaran_notify.compose import build_email, build_sms, build_whatsapp
from nivaran_notify.domain import (
    PROVIDER_NOT_CONFIGURED,
    Channel,
    DeliveryError,
    DeliveryState,
    NewDelivery,
    NewNotice,
    Notice,
    NoticeFilter,
    OutboundDelivery,
    Reader,
    RenderedContent,
    RetryPolicy,
    SendCommand,
    SendResult,
    TemplateInfo,
)
from nivaran_notify.providers import EmailTransport, SmsGateway, WhatsAppGateway
from nivaran_notify.store import NoticeStore
from nivaran_notify.templates import TemplateRegistry
from nivaran_notify.validation import normalise_email, normalise_phone

log = get_logger(__name__)

DEDUPE_KEY_MAX = 200
ID_MAX = 64
NAME_MAX = 200
LIST_LIMIT = 200


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

    async def send(self, command: SendCommand) -> SendResult:
        """Record a notice and deliver it, once per dedupe key; a repeat returns the first notice."""
        command, content, registration_number = self._prepare(command)
        now = as_utc(self._clock())
        new = self._new_notice(command, content, registration_number, now)
        try:
            async with self._sessions() as session, session.begin():
                store = NoticeStore(session)
                existing = await store.find_by_dedupe_key(command.dedupe_key)
                if existing is not None:
                    return SendResult(existing, duplicate=True)
                await store.add(new)
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
            if delivery.state is DeliveryState.PENDING:
                async with self._sessions() as session:
                    outbound = await NoticeStore(session).outbound(delivery.id)
                if outbound is not None:
                    await self._deliver(outbound, now)
        return SendResult(await self._get(new.id), duplicate=False)

    async def get_delivery_status(self, dedupe_key: str) -> Notice:
        """The notice sent under `dedupe_key`, with the state of each delivery."""
        if not dedupe_key:
            raise InvalidArgument.field("dedupe_key", "is required")
        notice = await self._find(dedupe_key)
        if notice is None:
            raise NotFound(f"no notice with dedupe key {dedupe_key!r} / इस dedupe key की कोई सूचना नहीं है")
        return notice

    async def list_notices(self, wanted: NoticeFilter) -> list[Notice]:
        """Newest notices matching `wanted` (at most LIST_LIMIT)."""
        if not (wanted.grievance_id or wanted.recipient_account_id or wanted.recipient_position_id):
            raise InvalidArgument.field(
                "grievance_id", "give grievance_id, recipient_account_id or recipient_position_id"
            )
        async with self._sessions() as session:
            return await NoticeStore(session).search(wanted, LIST_LIMIT)

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
        async with self._sessions() as session:
            due = await NoticeStore(session).due(now, self._batch_size)
        attempted = 0
        for delivery_id, attempts in due:
            async with self._sessions() as session, session.begin():
                store = NoticeStore(session)
                lease_until = now + timedelta(seconds=self._policy.lease_seconds)
                claimed = await store.claim(delivery_id, attempts, now, lease_until)
                outbound = await store.outbound(delivery_id) if claimed else None
            if outbound is None:
                continue
            await self._deliver(outbound, now)
            attempted += 1
        return attempted

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
                deliveries.append(
                    new(
                        state=DeliveryState.FAILED,
                        address=None,
                        address_masked=masked,
                        attempts=0,
                        last_error=PROVIDER_NOT_CONFIGURED,
                        sent_at=None,
                        delivered_at=None,
                    )
                )
                continue
            deliveries.append(
                new(
                    state=DeliveryState.PENDING,
                    address=address,
                    address_masked=masked,
                    attempts=1,
                    next_attempt_at=lease_until,
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

    async def _deliver(self, outbound: OutboundDelivery, now: datetime) -> None:
        """Make one attempt and record its outcome; failures are recorded, never raised."""
        try:
            provider_message_id = await self._transmit(outbound, now)
        except DeliveryError as exc:
            await self._record_failure(outbound, now, str(exc), permanent=exc.permanent)
        except Exception as exc:
            # A bug must not stop the other deliveries; the attempt counts and the log keeps the traceback.
            log.exception("delivery attempt crashed", delivery_id=outbound.id, channel=outbound.channel.value)
            await self._record_failure(outbound, now, f"internal error: {type(exc).__name__}", permanent=False)
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
            await self._email.send_email(build_email(outbound, self._sender, now))
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
