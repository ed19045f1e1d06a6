"""Every query of the notify service. The store never commits; the service owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from nivaran_common.timeutil import as_utc
from nivaran_notify.domain import (
    CHANNEL_ORDER,
    Channel,
    Delivery,
    DeliveryState,
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
                read_at=None,
                read_by_account_id="",
                created_at=new.created_at,
                updated_at=new.created_at,
            )
            for d in new.deliveries
        )
        await self._session.flush()

    async def search(self, wanted: NoticeFilter, limit: int) -> list[Notice]:
        """Newest first: a grievance's notices and/or those addressed to an account or a position."""
        stmt = self._notices()
        if wanted.grievance_id:
            stmt = stmt.where(NoticeRow.grievance_id == wanted.grievance_id)
        addressed = []
        if wanted.recipient_account_id:
            addressed.append(NoticeRow.recipient_account_id == wanted.recipient_account_id)
        if wanted.recipient_position_id:
            addressed.append(NoticeRow.recipient_position_id == wanted.recipient_position_id)
        if addressed:
            stmt = stmt.where(or_(*addressed))
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

    async def due(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        """Pending deliveries whose next attempt is due, as (id, attempts so far), oldest due first."""
        rows = await self._session.execute(
            select(DeliveryRow.id, DeliveryRow.attempts)
            .where(DeliveryRow.state == DeliveryState.PENDING.value, DeliveryRow.next_attempt_at <= now)
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            .limit(limit)
        )
        return [(delivery_id, attempts) for delivery_id, attempts in rows]

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
        """Close a delivery as sent, if `attempt` still owns it; the raw address is erased."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.state == DeliveryState.PENDING.value,
                DeliveryRow.attempts == attempt,
            )
            .values(
                state=DeliveryState.SENT.value,
                sent_at=now,
                next_attempt_at=None,
                last_error="",
                provider_message_id=provider_message_id[:200],
                address=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def record_failure(
        self, delivery_id: str, attempt: int, now: datetime, error: str, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: pending until `retry_at`, or FAILED (address erased) when None."""
        values: dict[str, Any] = {"last_error": error[:1000], "updated_at": now}
        if retry_at is None:
            values |= {"state": DeliveryState.FAILED.value, "next_attempt_at": None, "address": None}
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
