"""C2 / B5: SMS quiet hours (India time). An SMS due inside them waits, uncounted, until they end; other channels
go at once. Against a real HTTP receiver standing in for the providers and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nivaran_common.errors import FailedPrecondition
from nivaran_common.testing import eventually
from nivaran_notify.domain import Channel, Delivery, DeliveryState, QuietHours
from nivaran_notify.retry import RetryLoop

from .test_service import REGISTRATION, acknowledgement, smtp_settings

ADMIN = "acct-state-admin"
NIGHT = "21:00-08:00"


def ist(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A December 2026 instant given in India time (UTC+05:30), as UTC."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=5, minutes=30)


def one(delivery: Delivery | None) -> Delivery:
    assert delivery is not None
    return delivery


@pytest.mark.parametrize(
    ("window", "at", "ends"),
    [
        (NIGHT, ist(3, 22, 30), ist(4, 8)),
        (NIGHT, ist(4, 0, 5), ist(4, 8)),
        (NIGHT, ist(4, 7, 59, 59), ist(4, 8)),
        (NIGHT, ist(3, 21), ist(4, 8)),
        (NIGHT, ist(3, 20, 59, 59), None),
        (NIGHT, ist(4, 8), None),
        (NIGHT, ist(4, 12), None),
        ("13:00-14:30", ist(4, 13, 10), ist(4, 14, 30)),
        ("13:00-14:30", ist(4, 14, 30), None),
        ("13:00-14:30", ist(4, 12, 59), None),
    ],
)
def test_C2_quiet_hours_say_whether_an_instant_falls_in_them_and_when_they_end(
    window: str, at: datetime, ends: datetime | None
) -> None:
    quiet = QuietHours.parse(window)
    assert quiet is not None

    assert quiet.end_after(at) == ends


@pytest.mark.parametrize("text", ["21:00", "21:00-8:00", "24:00-08:00", "21:60-08:00", "21:00-21:00", "9pm-8am"])
def test_C2_quiet_hours_refuse_what_is_not_hh_mm_hh_mm(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        QuietHours.parse(text)


def test_C2_empty_quiet_hours_mean_none() -> None:
    assert QuietHours.parse("") is None
    assert QuietHours.parse("  ") is None


async def test_C2_an_sms_in_quiet_hours_waits_until_they_end(
    make_service: Any, http_receiver: Any, smtp_server: Any
) -> None:
    now = [ist(3, 22, 30)]
    service = await make_service(
        clock=lambda: now[0],
        sms_quiet_hours=NIGHT,
        sms_provider_url=http_receiver.url("/sms"),
        whatsapp_provider_url=http_receiver.url("/whatsapp"),
        **smtp_settings(smtp_server.port),
    )

    sent = await service.send(acknowledgement("ack:night", (Channel.SMS, Channel.WHATSAPP, Channel.EMAIL)))

    sms = one(sent.notice.delivery(Channel.SMS))
    assert (sms.state, sms.attempts, sms.next_attempt_at) == (DeliveryState.PENDING, 0, ist(4, 8))
    assert http_receiver.bodies("/sms") == []
    # Other channels are not held.
    assert one(sent.notice.delivery(Channel.WHATSAPP)).state is DeliveryState.SENT
    assert one(sent.notice.delivery(Channel.EMAIL)).state is DeliveryState.SENT
    assert len(http_receiver.bodies("/whatsapp")) == 1
    await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)

    for during in (ist(3, 23, 30), ist(4, 3), ist(4, 7, 59, 59)):
        assert await service.retry_due(during) == 0
    assert http_receiver.bodies("/sms") == []

    eight = ist(4, 8)
    loop = RetryLoop(service, interval=0.02, clock=lambda: eight)
    loop.start()
    try:

        async def sms_sent() -> bool:
            return len(http_receiver.bodies("/sms")) >= 1

        await eventually(sms_sent)
        rounds = loop.rounds

        async def more_rounds() -> bool:
            return loop.rounds >= rounds + 3

        await eventually(more_rounds)
    finally:
        await loop.stop()

    [body] = http_receiver.bodies("/sms")
    assert body["to"] == "+919876543210"
    assert REGISTRATION in body["text"]
    delivered = one((await service.get_delivery_status("ack:night")).delivery(Channel.SMS))
    assert (delivered.state, delivered.attempts, delivered.sent_at) == (DeliveryState.SENT, 1, eight)


async def test_C2_without_quiet_hours_an_sms_goes_at_night(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(
        clock=lambda: ist(3, 23), sms_quiet_hours="", sms_provider_url=http_receiver.url("/sms")
    )

    sent = await service.send(acknowledgement("ack:no-quiet", (Channel.SMS,)))

    assert one(sent.notice.delivery(Channel.SMS)).state is DeliveryState.SENT
    assert len(http_receiver.bodies("/sms")) == 1


async def test_C2_an_sms_retry_due_in_quiet_hours_is_postponed_without_counting_an_attempt(
    make_service: Any, http_receiver: Any
) -> None:
    service = await make_service(
        clock=lambda: ist(3, 20, 59, 50),
        sms_quiet_hours=NIGHT,
        sms_provider_url=http_receiver.url("/sms"),
        retry_base_seconds=30,
    )
    http_receiver.statuses[:] = [503]
    sent = await service.send(acknowledgement("ack:backoff-night", (Channel.SMS,)))
    pending = one(sent.notice.delivery(Channel.SMS))
    assert (pending.state, pending.attempts, pending.next_attempt_at) == (DeliveryState.PENDING, 1, ist(3, 21, 0, 20))

    assert await service.retry_due(ist(3, 21, 0, 20)) == 0

    held = one((await service.get_delivery_status("ack:backoff-night")).delivery(Channel.SMS))
    assert (held.state, held.attempts, held.next_attempt_at) == (DeliveryState.PENDING, 1, ist(4, 8))
    assert len(http_receiver.bodies("/sms")) == 1
    assert await service.retry_due(ist(4, 8)) == 1
    done = one((await service.get_delivery_status("ack:backoff-night")).delivery(Channel.SMS))
    assert (done.state, done.attempts) == (DeliveryState.SENT, 2)
    assert len(http_receiver.bodies("/sms")) == 2


async def test_C2_an_operator_retry_of_an_sms_in_quiet_hours_waits_for_their_end(
    make_service: Any, http_receiver: Any
) -> None:
    now = [ist(3, 20)]
    service = await make_service(
        clock=lambda: now[0], sms_quiet_hours=NIGHT, sms_provider_url=http_receiver.url("/sms")
    )
    http_receiver.statuses[:] = [400]
    sent = await service.send(acknowledgement("ack:retry-night", (Channel.SMS,)))
    failed = one(sent.notice.delivery(Channel.SMS))
    assert failed.state is DeliveryState.FAILED

    now[0] = ist(3, 23)
    held = await service.retry_delivery(failed.id, ADMIN)

    assert (held.state, held.attempts, held.next_attempt_at) == (DeliveryState.PENDING, 1, ist(4, 8))
    assert len(http_receiver.bodies("/sms")) == 1
    assert (await service.list_failed_deliveries("sms", 0)).deliveries == []
    with pytest.raises(FailedPrecondition, match="PENDING"):
        await service.retry_delivery(failed.id, ADMIN)

    assert await service.retry_due(ist(4, 8)) == 1
    done = one((await service.get_delivery_status("ack:retry-night")).delivery(Channel.SMS))
    assert (done.state, done.attempts) == (DeliveryState.SENT, 2)
    assert len(http_receiver.bodies("/sms")) == 2
