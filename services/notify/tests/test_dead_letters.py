"""C2 / B5: dead letters a state admin can see and retry, and providers' delivery receipts, on SQLite and PostgreSQL,
against a real HTTP receiver standing in for the SMS / WhatsApp providers and a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from nivaran_common.db import create_engine, session_factory
from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.paging import encode_token
from nivaran_common.testing import free_port
from nivaran_notify.domain import PROVIDER_NOT_CONFIGURED, Channel, Delivery, DeliveryReceipt, DeliveryState
from nivaran_notify.store import NoticeStore
from nivaran_notify.tables import DeliveryRow

from .test_service import REGISTRATION, acknowledgement, smtp_settings

ADMIN = "acct-state-admin"
# 11:30 IST: outside any SMS quiet hours.
MORNING = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


async def raw_address(database_url: str, delivery_id: str) -> str | None:
    """The raw address the store still holds for a delivery (None once erased)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return (
                await connection.execute(select(DeliveryRow.address).where(DeliveryRow.id == delivery_id))
            ).scalar_one()
    finally:
        await engine.dispose()


def one(delivery: Delivery | None) -> Delivery:
    assert delivery is not None
    return delivery


async def test_C2_a_failed_sms_is_listed_masked_and_retried_once(make_service: Any, http_receiver: Any) -> None:
    now = [MORNING]
    service = await make_service(clock=lambda: now[0], sms_provider_url=http_receiver.url("/sms"))
    http_receiver.statuses[:] = [400]

    sent = await service.send(acknowledgement("ack:dead-sms", (Channel.SMS, Channel.IN_APP)))
    sms = one(sent.notice.delivery(Channel.SMS))
    assert sms.state is DeliveryState.FAILED

    [row] = (await service.list_failed_deliveries("sms", 0)).deliveries
    assert (row.delivery_id, row.notice_id, row.dedupe_key) == (sms.id, sent.notice.id, "ack:dead-sms")
    assert (row.grievance_id, row.registration_number, row.template) == ("griev-1", REGISTRATION, "acknowledgement")
    assert row.channel is Channel.SMS
    assert row.recipient == "+91XXXXXX3210"
    assert "9876543210" not in repr(row)
    assert row.attempts == 1
    assert "400" in row.last_error
    assert row.failed_at == MORNING
    assert (await service.list_failed_deliveries("", 0)).deliveries == [row]
    assert (await service.list_failed_deliveries("whatsapp", 0)).deliveries == []

    now[0] += timedelta(hours=1)
    with capture_logs() as logs:
        retried = await service.retry_delivery(sms.id, ADMIN)

    assert retried.state is DeliveryState.SENT
    assert retried.attempts == 2
    assert retried.provider_message_id == "prov-2"
    assert retried.sent_at == now[0]
    assert retried.last_error == ""
    [retry_log] = [entry for entry in logs if entry["event"] == "delivery retry by operator"]
    assert (retry_log["operator_account_id"], retry_log["delivery_id"]) == (ADMIN, sms.id)
    assert [body["to"] for body in http_receiver.bodies("/sms")] == ["+919876543210", "+919876543210"]
    assert (await service.list_failed_deliveries("", 0)).deliveries == []

    with pytest.raises(FailedPrecondition, match="SENT"):
        await service.retry_delivery(sms.id, ADMIN)
    assert len(http_receiver.bodies("/sms")) == 2


async def test_C2_a_retry_of_a_sent_delivery_is_refused(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(sms_provider_url=http_receiver.url("/sms"))
    sent = await service.send(acknowledgement("ack:sent", (Channel.SMS, Channel.IN_APP)))
    sms = one(sent.notice.delivery(Channel.SMS))
    in_app = one(sent.notice.delivery(Channel.IN_APP))
    assert sms.state is DeliveryState.SENT

    with pytest.raises(FailedPrecondition, match="SENT"):
        await service.retry_delivery(sms.id, ADMIN)
    await service.record_receipt(DeliveryReceipt("sms", sms.provider_message_id, "delivered", None, ""))
    with pytest.raises(FailedPrecondition, match="DELIVERED"):
        await service.retry_delivery(sms.id, ADMIN)
    with pytest.raises(FailedPrecondition, match="DELIVERED"):
        await service.retry_delivery(in_app.id, ADMIN)
    with pytest.raises(NotFound):
        await service.retry_delivery("no-such-delivery", ADMIN)
    with pytest.raises(InvalidArgument) as empty:
        await service.retry_delivery(" ", ADMIN)

    assert [v.field for v in empty.value.violations] == ["delivery_id"]
    assert len(http_receiver.bodies("/sms")) == 1


async def test_C2_concurrent_retries_send_once(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(sms_provider_url=http_receiver.url("/sms"))
    http_receiver.statuses[:] = [400]
    sent = await service.send(acknowledgement("ack:race-retry", (Channel.SMS,)))
    sms = one(sent.notice.delivery(Channel.SMS))
    assert sms.state is DeliveryState.FAILED

    results = await asyncio.gather(*(service.retry_delivery(sms.id, ADMIN) for _ in range(4)), return_exceptions=True)

    answered = [r for r in results if isinstance(r, Delivery)]
    refused = [r for r in results if isinstance(r, FailedPrecondition)]
    assert (len(answered), len(refused)) == (1, 3), results
    assert answered[0].state is DeliveryState.SENT
    # The failed first attempt and exactly one retry reached the provider.
    assert len(http_receiver.bodies("/sms")) == 2
    final = one((await service.get_delivery_status("ack:race-retry")).delivery(Channel.SMS))
    assert (final.state, final.attempts) == (DeliveryState.SENT, 2)


async def test_C2_of_two_retries_that_both_saw_it_failed_only_one_reopens_it(
    make_service: Any, database_url: str
) -> None:
    service = await make_service(clock=lambda: MORNING)
    sent = await service.send(acknowledgement("ack:stale-reader", (Channel.SMS,)))
    failed = one(sent.notice.delivery(Channel.SMS))
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        claimed = []
        # Both callers read attempts = 0 in state FAILED; the conditional UPDATE lets only the first through.
        for _ in range(2):
            async with sessions() as session, session.begin():
                claimed.append(
                    await NoticeStore(session).reopen_failed(
                        failed.id, failed.attempts, MORNING, attempts=1, next_attempt_at=MORNING
                    )
                )
    finally:
        await engine.dispose()

    assert claimed == [True, False]


async def test_C2_a_retry_that_fails_again_stays_a_dead_letter_with_the_new_error(
    make_service: Any, smtp_on: Any
) -> None:
    port = free_port()  # SMTP is down
    service = await make_service(**smtp_settings(port), max_attempts=1)
    sent = await service.send(acknowledgement("ack:dead-email", (Channel.EMAIL,)))
    email = one(sent.notice.delivery(Channel.EMAIL))
    assert (email.state, email.attempts) == (DeliveryState.FAILED, 1)
    [row] = (await service.list_failed_deliveries("EMAIL", 0)).deliveries
    assert row.recipient == "s***@example.in"

    again = await service.retry_delivery(email.id, ADMIN)

    assert (again.state, again.attempts) == (DeliveryState.FAILED, 2)
    assert again.last_error
    assert "sita.devi@example.in" not in again.last_error
    [row] = (await service.list_failed_deliveries("email", 0)).deliveries
    assert row.attempts == 2

    async with smtp_on(port) as mail:
        done = await service.retry_delivery(email.id, ADMIN)
        await mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
        assert len(mail.messages) == 1
    assert (done.state, done.attempts) == (DeliveryState.SENT, 3)


async def test_C2_a_dead_letter_of_an_unconfigured_provider_is_sent_once_it_is_configured(
    make_service: Any, http_receiver: Any
) -> None:
    unconfigured = await make_service()
    sent = await unconfigured.send(acknowledgement("ack:later", (Channel.WHATSAPP,)))
    whatsapp = one(sent.notice.delivery(Channel.WHATSAPP))
    assert (whatsapp.state, whatsapp.last_error) == (DeliveryState.FAILED, PROVIDER_NOT_CONFIGURED)

    still = await unconfigured.retry_delivery(whatsapp.id, ADMIN)
    assert (still.state, still.attempts, still.last_error) == (DeliveryState.FAILED, 1, PROVIDER_NOT_CONFIGURED)

    configured = await make_service(whatsapp_provider_url=http_receiver.url("/whatsapp"))
    done = await configured.retry_delivery(whatsapp.id, ADMIN)

    assert (done.state, done.attempts) == (DeliveryState.SENT, 2)
    [body] = http_receiver.bodies("/whatsapp")
    assert body["to"] == "+919876543210"


async def test_C2_the_dead_letter_list_is_newest_first_and_bounded(make_service: Any) -> None:
    now = [MORNING]
    service = await make_service(clock=lambda: now[0])
    for index in range(3):
        await service.send(acknowledgement(f"ack:list-{index}", (Channel.SMS,)))
        now[0] += timedelta(minutes=1)

    listed = (await service.list_failed_deliveries("", 0)).deliveries
    assert [r.dedupe_key for r in listed] == ["ack:list-2", "ack:list-1", "ack:list-0"]
    assert [r.dedupe_key for r in (await service.list_failed_deliveries("sms", 2)).deliveries] == [
        "ack:list-2",
        "ack:list-1",
    ]
    assert len((await service.list_failed_deliveries("", 10_000)).deliveries) == 3
    with pytest.raises(InvalidArgument) as bad:
        await service.list_failed_deliveries("in_app", -1)
    assert {v.field for v in bad.value.violations} == {"channel", "limit"}
    # A page at a time after the last one's (failed at, id): each once, newest first; the last page has no token.
    first = await service.list_failed_deliveries("", 0, page_size=2)
    rest = await service.list_failed_deliveries("", 0, page_size=2, page_token=first.next_page_token)
    assert [r.dedupe_key for r in [*first.deliveries, *rest.deliveries]] == ["ack:list-2", "ack:list-1", "ack:list-0"]
    assert (bool(first.next_page_token), rest.next_page_token) == (True, "")
    with pytest.raises(InvalidArgument) as foreign:
        await service.list_failed_deliveries("", 0, page_size=2, page_token=encode_token("notices", "x", "y"))
    assert [v.field for v in foreign.value.violations] == ["page.page_token"]


async def test_C2_a_delivery_receipt_marks_the_sms_delivered(
    make_service: Any, http_receiver: Any, database_url: str
) -> None:
    now = [MORNING]
    service = await make_service(clock=lambda: now[0], sms_provider_url=http_receiver.url("/sms"))
    sent = await service.send(acknowledgement("ack:receipt", (Channel.SMS,)))
    sms = one(sent.notice.delivery(Channel.SMS))
    assert (sms.state, sms.provider_message_id) == (DeliveryState.SENT, "prov-1")
    # The address waits for the receipt: a "failed" one would need it for a retry.
    assert await raw_address(database_url, sms.id) == "+919876543210"
    handed_over = now[0] + timedelta(minutes=2)
    now[0] += timedelta(minutes=5)

    delivered = await service.record_receipt(DeliveryReceipt("sms", "prov-1", "delivered", handed_over, ""))

    assert delivered.id == sms.id
    assert (delivered.state, delivered.delivered_at) == (DeliveryState.DELIVERED, handed_over)
    assert await raw_address(database_url, sms.id) is None
    # The same receipt again, a late one, and a "failed" after delivery change nothing.
    for status, at in (("delivered", handed_over), ("delivered", now[0]), ("failed", now[0])):
        again = await service.record_receipt(DeliveryReceipt("sms", "prov-1", status, at, "late"))
        assert (again.state, again.delivered_at, again.last_error) == (DeliveryState.DELIVERED, handed_over, "")
    assert (await service.get_delivery_status("ack:receipt")).deliveries[0].state is DeliveryState.DELIVERED

    with pytest.raises(NotFound):
        await service.record_receipt(DeliveryReceipt("sms", "prov-999", "delivered", None, ""))
    with pytest.raises(NotFound):
        await service.record_receipt(DeliveryReceipt("whatsapp", "prov-1", "delivered", None, ""))
    with pytest.raises(InvalidArgument) as bad:
        await service.record_receipt(DeliveryReceipt("sms", "prov-1", "read", None, ""))
    assert [v.field for v in bad.value.violations] == ["status"]
    with pytest.raises(InvalidArgument) as empty:
        await service.record_receipt(DeliveryReceipt("fax", "", "", None, ""))
    assert {v.field for v in empty.value.violations} == {"channel", "provider_message_id", "status"}


async def test_C2_a_failed_receipt_puts_it_in_the_dead_letters(make_service: Any, http_receiver: Any) -> None:
    now = [MORNING]
    service = await make_service(clock=lambda: now[0], whatsapp_provider_url=http_receiver.url("/whatsapp"))
    sent = await service.send(acknowledgement("ack:undelivered", (Channel.WHATSAPP,)))
    whatsapp = one(sent.notice.delivery(Channel.WHATSAPP))
    reported = now[0] + timedelta(minutes=1)
    now[0] += timedelta(minutes=3)

    failed = await service.record_receipt(
        DeliveryReceipt(" WhatsApp ", "prov-1", " FAILED ", reported, "handset +91 98765 43210 unreachable")
    )

    assert failed.state is DeliveryState.FAILED
    assert "98765 43210" not in failed.last_error
    assert failed.last_error == "handset +91 XXXXXX3210 unreachable"
    [row] = (await service.list_failed_deliveries("whatsapp", 0)).deliveries
    assert (row.delivery_id, row.failed_at, row.last_error) == (whatsapp.id, reported, failed.last_error)
    now[0] += timedelta(minutes=1)
    repeat = await service.record_receipt(DeliveryReceipt("whatsapp", "prov-1", "failed", now[0], "other"))
    assert repeat == failed
    assert (await service.list_failed_deliveries("", 0)).deliveries == [row]

    retried = await service.retry_delivery(whatsapp.id, ADMIN)

    assert (retried.state, retried.provider_message_id) == (DeliveryState.SENT, "prov-2")
    assert len(http_receiver.bodies("/whatsapp")) == 2
    assert (await service.list_failed_deliveries("", 0)).deliveries == []


async def test_C2_raw_addresses_are_kept_only_while_a_retry_may_need_them(
    make_service: Any, smtp_server: Any, database_url: str
) -> None:
    now = [MORNING]
    service = await make_service(clock=lambda: now[0], **smtp_settings(smtp_server.port), address_retention_days=30)
    sent = await service.send(acknowledgement("ack:retention", (Channel.EMAIL, Channel.SMS)))
    email = one(sent.notice.delivery(Channel.EMAIL))
    sms = one(sent.notice.delivery(Channel.SMS))
    # An email has no receipt to wait for; the SMS without a provider is a dead letter an operator may retry.
    assert (email.state, sms.state) == (DeliveryState.SENT, DeliveryState.FAILED)
    assert await raw_address(database_url, email.id) is None
    assert await raw_address(database_url, sms.id) == "+919876543210"

    assert await service.retry_due(MORNING + timedelta(days=29)) == 0
    assert await raw_address(database_url, sms.id) == "+919876543210"
    # Past the retention, the retry loop's next sweep erases it.
    assert await service.retry_due(MORNING + timedelta(days=31)) == 0
    assert await raw_address(database_url, sms.id) is None

    with pytest.raises(FailedPrecondition, match="no longer kept"):
        await service.retry_delivery(sms.id, ADMIN)
    [row] = (await service.list_failed_deliveries("sms", 0)).deliveries
    assert row.recipient == "+91XXXXXX3210"
