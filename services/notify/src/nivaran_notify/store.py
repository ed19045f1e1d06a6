"""Every query of the notify service. The store never commits; the service owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from nivaran_common.paging import after_time_key
from nivaran_common.pii import mask_email, mask_phone
from nivaran_common.timeutil import as_utc
from nivaran_notify.domain import (
    CHANNEL_ORDER,
    Channel,
    Delivery,
    DeliveryState,
    FailedDelivery,
    Language,
    LocalizedText,
    NewNotice,
    Notice,
    NoticeFilter,
    OutboundDelivery,
    RenderedContent,
)
from nivaran_notify.tables import DeliveryRow, NoticeRow


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        notice_id=row.notice_id,
        channel=Channel(row.channel),
        state=DeliveryState(row.state),
        address=row.address_masked,
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=_utc(row.next_attempt_at),
        sent_at=_utc(row.sent_at),
        delivered_at=_utc(row.delivered_at),
        read_at=_utc(row.read_at),
        provider_message_id=row.provider_message_id,
    )


def _notice(row: NoticeRow) -> Notice:
    deliveries = sorted((_delivery(d) for d in row.deliveries), key=lambda d: CHANNEL_ORDER.index(d.channel))
    return Notice(
        id=row.id,
        dedupe_key=row.dedupe_key,
        template=row.template,
        grievance_id=row.grievance_id,
        registration_number=row.registration_number,
        recipient_account_id=row.recipient_account_id,
        recipient_position_id=row.recipient_position_id,
        subject=LocalizedText(en=row.subject_en, hi=row.subject_hi),
        body=LocalizedText(en=row.body_en, hi=row.body_hi),
        deliveries=tuple(deliveries),
        created_at=as_utc(row.created_at),
    )


def _content(row: NoticeRow) -> RenderedContent:
    return RenderedContent(
        subject=LocalizedText(en=row.subject_en, hi=row.subject_hi),
        body=LocalizedText(en=row.body_en, hi=row.body_hi),
        lead=Language(row.lead_language),
        html=row.body_html,
        short_text=row.short_text,
        dlt_template_id=row.dlt_template_id,
    )


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


class NoticeStore:
    """Queries over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _notices(self) -> Select[NoticeRow]:
        # populate_existing: a notice read again after a bulk UPDATE in the same session must show the update.
        return select(NoticeRow).options(selectinload(NoticeRow.deliveries)).execution_options(populate_existing=True)

    async def find_by_dedupe_key(self, dedupe_key: str) -> Notice | None:
        """The notice first sent under `dedupe_key`."""
        row = (await self._session.execute(self._notices().where(NoticeRow.dedupe_key == dedupe_key))).scalar()
        return None if row is None else _notice(row)

    async def get(self, notice_id: str) -> Notice | None:
        """One notice with its deliveries."""
        row = (await self._session.execute(self._notices().where(NoticeRow.id == notice_id))).scalar()
        return None if row is None else _notice(row)

    async def add(self, new: NewNotice) -> None:
        """Insert a notice and its deliveries; a taken dedupe key raises IntegrityError here or at commit."""
        command = new.command
        content = new.content
        self._session.add(
            NoticeRow(
                id=new.id,
                dedupe_key=command.dedupe_key,
                template=command.template,
                grievance_id=command.grievance_id,
                registration_number=new.registration_number,
                recipient_account_id=command.recipient.account_id,
                recipient_position_id=command.recipient.position_id,
                recipient_kind=command.recipient.kind.value if command.recipient.kind else "",
                recipient_name=command.recipient.name,
                lead_language=content.lead.value,
                subject_en=content.subject.en,
                subject_hi=content.subject.hi,
                body_en=content.body.en,
                body_hi=content.body.hi,
                body_html=content.html,
                short_text=content.short_text,
                dlt_template_id=content.dlt_template_id,
                created_at=new.created_at,
            )
        )
        # The notice goes in first so the deliveries' foreign key holds on PostgreSQL as well.
        await self._session.flush()
        self._session.add_all(
            DeliveryRow(
                id=d.id,
                notice_id=new.id,
                channel=d.channel.value,
                state=d.state.value,
                address=d.address,
                address_masked=d.address_masked,
                attempts=d.attempts,
                last_error=d.last_error,
                next_attempt_at=d.next_attempt_at,
                provider_message_id="",
                sent_at=d.sent_at,
                delivered_at=d.delivered_at,
                failed_at=new.created_at if d.state is DeliveryState.FAILED else None,
                read_at=None,
                read_by_account_id="",
                created_at=new.created_at,
                updated_at=new.created_at,
            )
            for d in new.deliveries
        )
        await self._session.flush()

    async def search(self, wanted: NoticeFilter, limit: int, after: tuple[datetime, str] | None = None) -> list[Notice]:
        """Newest first (then by id): a grievance's notices and/or those addressed to an account or to one of some
        positions, only those after the notice whose (created_at, id) is `after` in that order, at most `limit`."""
        stmt = self._notices()
        if wanted.grievance_id:
            stmt = stmt.where(NoticeRow.grievance_id == wanted.grievance_id)
        if wanted.notice_id:
            stmt = stmt.where(NoticeRow.id == wanted.notice_id)
        addressed = []
        if wanted.recipient_account_id:
            addressed.append(NoticeRow.recipient_account_id == wanted.recipient_account_id)
        posts = [p for p in (wanted.recipient_position_id, *wanted.recipient_position_ids) if p]
        if posts:
            addressed.append(NoticeRow.recipient_position_id.in_(posts))
        if addressed:
            stmt = stmt.where(or_(*addressed))
        if wanted.in_app_only:
            stmt = stmt.where(
                exists().where(DeliveryRow.notice_id == NoticeRow.id, DeliveryRow.channel == Channel.IN_APP.value)
            )
        if after is not None:
            stmt = stmt.where(after_time_key(NoticeRow.created_at, NoticeRow.id, after, newest_first=True))
        if wanted.unread_only:
            stmt = stmt.where(
                exists().where(
                    DeliveryRow.notice_id == NoticeRow.id,
                    DeliveryRow.channel == Channel.IN_APP.value,
                    DeliveryRow.read_at.is_(None),
                )
            )
        stmt = stmt.order_by(NoticeRow.created_at.desc(), NoticeRow.id.desc()).limit(limit)
        return [_notice(row) for row in (await self._session.execute(stmt)).scalars()]

    async def mark_read(self, notice_id: str, now: datetime, reader_account_id: str) -> int:
        """Set read_at on the notice's in-app delivery unless it is set already; returns rows changed."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.notice_id == notice_id,
                DeliveryRow.channel == Channel.IN_APP.value,
                DeliveryRow.read_at.is_(None),
            )
            .values(
                state=DeliveryState.READ.value,
                read_at=now,
                read_by_account_id=reader_account_id,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)

    async def due(self, now: datetime, limit: int) -> list[tuple[str, int, Channel]]:
        """Pending deliveries whose next attempt is due, as (id, attempts so far, channel), oldest due first."""
        rows = await self._session.execute(
            select(DeliveryRow.id, DeliveryRow.attempts, DeliveryRow.channel)
            .where(DeliveryRow.state == DeliveryState.PENDING.value, DeliveryRow.next_attempt_at <= now)
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            .limit(limit)
        )
        return [(delivery_id, attempts, Channel(channel)) for delivery_id, attempts, channel in rows]

    async def postpone(self, delivery_id: str, seen_attempts: int, now: datetime, until: datetime) -> bool:
        """Move a due delivery's next attempt to `until` without counting an attempt; False when taken meanwhile."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.state == DeliveryState.PENDING.value,
                DeliveryRow.attempts == seen_attempts,
                DeliveryRow.next_attempt_at <= now,
            )
            .values(next_attempt_at=until, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def claim(self, delivery_id: str, seen_attempts: int, now: datetime, lease_until: datetime) -> bool:
        """Take one attempt of a due delivery; False when another worker took it first."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.state == DeliveryState.PENDING.value,
                DeliveryRow.attempts == seen_attempts,
                DeliveryRow.next_attempt_at <= now,
            )
            .values(attempts=seen_attempts + 1, next_attempt_at=lease_until, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def outbound(self, delivery_id: str) -> OutboundDelivery | None:
        """A pending delivery with what it takes to send it (None once it is no longer pending)."""
        row = (
            await self._session.execute(
                select(DeliveryRow).options(joinedload(DeliveryRow.notice)).where(DeliveryRow.id == delivery_id)
            )
        ).scalar()
        if row is None or row.state != DeliveryState.PENDING.value or row.address is None:
            return None
        return OutboundDelivery(
            id=row.id,
            notice_id=row.notice_id,
            channel=Channel(row.channel),
            address=row.address,
            attempt=row.attempts,
            template=row.notice.template,
            registration_number=row.notice.registration_number,
            recipient_name=row.notice.recipient_name,
            content=_content(row.notice),
        )

    async def record_sent(self, delivery_id: str, attempt: int, now: datetime, provider_message_id: str) -> bool:
        """Close a delivery as sent, if `attempt` still owns it. The raw address is erased unless the provider gave a
        message id: then a receipt may still report the message failed, and an operator retry needs the address."""
        values: dict[str, Any] = {
            "state": DeliveryState.SENT.value,
            "sent_at": now,
            "next_attempt_at": None,
            "last_error": "",
            "provider_message_id": provider_message_id[:200],
            "updated_at": now,
        }
        if not provider_message_id:
            values["address"] = None
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.state == DeliveryState.PENDING.value,
                DeliveryRow.attempts == attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def record_failure(
        self, delivery_id: str, attempt: int, now: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: pending until `retry_at`, or FAILED when None (the address is kept for a retry)."""
        values: dict[str, Any] = {"last_error": error[:1000], "updated_at": now}
        if retry_at is None:
            values |= {"state": DeliveryState.FAILED.value, "next_attempt_at": None, "failed_at": now}
        else:
            values |= {"next_attempt_at": retry_at}
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.state == DeliveryState.PENDING.value,
                DeliveryRow.attempts == attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        """One delivery, read afresh."""
        row = (
            await self._session.execute(
                select(DeliveryRow).where(DeliveryRow.id == delivery_id).execution_options(populate_existing=True)
            )
        ).scalar()
        return None if row is None else _delivery(row)

    async def find_by_provider_message_id(self, channel: Channel, provider_message_id: str) -> Delivery | None:
        """The delivery a provider accepted under `provider_message_id` (the latest, should a provider reuse ids)."""
        row = (
            await self._session.execute(
                select(DeliveryRow)
                .where(DeliveryRow.channel == channel.value, DeliveryRow.provider_message_id == provider_message_id)
                .order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc())
                .limit(1)
                .execution_options(populate_existing=True)
            )
        ).scalar()
        return None if row is None else _delivery(row)

    async def failed(
        self, channel: Channel | None, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[FailedDelivery]:
        """The dead letters, newest failure first (then by id; a row without failed_at by its last update), those
        after the one whose (failed at, id) is `after` in that order, at most `limit`; addresses masked."""
        failed_at = func.coalesce(DeliveryRow.failed_at, DeliveryRow.updated_at)
        stmt = (
            select(DeliveryRow, NoticeRow)
            .join(NoticeRow, NoticeRow.id == DeliveryRow.notice_id)
            .where(DeliveryRow.state == DeliveryState.FAILED.value)
        )
        if channel is not None:
            stmt = stmt.where(DeliveryRow.channel == channel.value)
        if after is not None:
            stmt = stmt.where(after_time_key(failed_at, DeliveryRow.id, after, newest_first=True))
        stmt = stmt.order_by(failed_at.desc(), DeliveryRow.id.desc()).limit(limit)
        found: list[FailedDelivery] = []
        for delivery, notice in (await self._session.execute(stmt)).all():
            kind = Channel(delivery.channel)
            found.append(
                FailedDelivery(
                    delivery_id=delivery.id,
                    notice_id=delivery.notice_id,
                    dedupe_key=notice.dedupe_key,
                    grievance_id=notice.grievance_id,
                    registration_number=notice.registration_number,
                    channel=kind,
                    # Masked again, so a row written before masking (or by hand) still never shows an address.
                    recipient=mask_email(delivery.address_masked)
                    if kind is Channel.EMAIL
                    else mask_phone(delivery.address_masked),
                    template=notice.template,
                    attempts=delivery.attempts,
                    last_error=delivery.last_error,
                    failed_at=as_utc(delivery.failed_at or delivery.updated_at),
                )
            )
        return found

    async def reopen_failed(
        self, delivery_id: str, seen_attempts: int, now: datetime, *, attempts: int, next_attempt_at: datetime
    ) -> bool:
        """Take a FAILED delivery back to PENDING for a retry; only one caller can (False for the others, and when
        its raw address is no longer kept)."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.state == DeliveryState.FAILED.value,
                DeliveryRow.attempts == seen_attempts,
                DeliveryRow.address.is_not(None),
            )
            .values(
                state=DeliveryState.PENDING.value,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def record_delivered(self, delivery_id: str, seen: DeliveryState, at: datetime, now: datetime) -> bool:
        """A receipt says the message arrived: DELIVERED at `at`, the raw address erased; False if `seen` is stale."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.state == seen.value)
            .values(
                state=DeliveryState.DELIVERED.value,
                delivered_at=at,
                last_error="",
                address=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def record_undelivered(self, delivery_id: str, at: datetime, now: datetime, error: str) -> bool:
        """A receipt says a SENT message never arrived: FAILED with `error`, a dead letter; False unless SENT."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.state == DeliveryState.SENT.value)
            .values(
                state=DeliveryState.FAILED.value,
                last_error=error[:1000],
                failed_at=at,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def erase_addresses(self, before: datetime, now: datetime) -> int:
        """Erase the raw address of sent and failed deliveries last changed before `before`; returns rows changed."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.address.is_not(None),
                DeliveryRow.updated_at < before,
                DeliveryRow.state.in_((DeliveryState.SENT.value, DeliveryState.FAILED.value)),
            )
            .values(address=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)
