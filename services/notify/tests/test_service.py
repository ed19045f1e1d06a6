"""NotifyService on SQLite and PostgreSQL, against a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import pytest

from nivaran_common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from nivaran_common.paging import encode_token
from nivaran_common.testing import eventually, free_port
from nivaran_common.timeutil import utcnow
from nivaran_notify.domain import (
    PROVIDER_NOT_CONFIGURED,
    Channel,
    DeliveryState,
    Language,
    NoticeFilter,
    Reader,
    Recipient,
    RecipientKind,
    SendCommand,
)
from nivaran_notify.retry import RetryLoop

REGISTRATION = "BR-PAT-2026-000123"
ACK_PARAMS: dict[str, Any] = {
    "registration_number": REGISTRATION,
    "complainant_name": "सीता देवी",
    "filed_at": "2026-11-23T04:30:00Z",
    "category_name_en": "Land records",
    "category_name_hi": "भू-अभिलेख",
    "office_name_en": "Circle Office, Danapur",
    "office_name_hi": "अंचल कार्यालय, दानापुर",
    "position_title_en": "Circle Officer",
    "position_title_hi": "अंचल अधिकारी",
    "track_url": "https://nivaran.example/track/BR-PAT-2026-000123",
}


def citizen(**changes: Any) -> Recipient:
    values: dict[str, Any] = {
        "account_id": "acct-sita",
        "position_id": "",
        "name": "सीता देवी",
        "email": "sita.devi@example.in",
        "phone": "+91 98765 43210",
        "preferred_language": Language.HI,
        "kind": RecipientKind.CITIZEN,
    }
    return Recipient(**(values | changes))


def acknowledgement(dedupe_key: str, channels: tuple[Channel, ...], **changes: Any) -> SendCommand:
    values: dict[str, Any] = {
        "dedupe_key": dedupe_key,
        "template": "acknowledgement",
        "recipient": citizen(),
        "channels": channels,
        "params": ACK_PARAMS,
        "grievance_id": "griev-1",
        "registration_number": REGISTRATION,
    }
    return SendCommand(**(values | changes))


def text_parts(message: Message) -> dict[str, str]:
    parts: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts[part.get_content_type()] = payload.decode(part.get_content_charset() or "ascii")
    return parts


def subject_of(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def smtp_settings(port: int) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout_seconds": 5}


async def test_B5_acknowledgement_email_arrives_in_hindi_and_english(make_service: Any, smtp_server: Any) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))

    result = await service.send(acknowledgement("ack:griev-1", (Channel.EMAIL,)))

    message = await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
    assert "sita.devi@example.in" in message["To"]
    # The text and HTML alternatives, then the Form-2 PDF (B5).
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith(f"{REGISTRATION}-form2-")
    assert attachment.get_payload(decode=True).startswith(b"%PDF-")
    parts = text_parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    for body in parts.values():
        assert "आपकी शिकायत दर्ज कर ली गई है।" in body
        assert "Your grievance has been registered." in body
        assert REGISTRATION in body
        assert "23-11-2026 10:00 IST" in body
    # Hindi leads for a citizen who prefers Hindi.
    assert parts["text/plain"].index("आपकी शिकायत") < parts["text/plain"].index("Your grievance")
    subject = subject_of(message)
    assert "पावती" in subject
    assert "Acknowledgement" in subject
    assert message["Subject"].isascii()  # RFC 2047 encoded on the wire
    assert message["Message-ID"] == f"<notice.{result.notice.id}@nivaran.local>"
    assert "no-reply@nivaran.local" in message["From"]
    assert message["Content-Language"] == "hi, en"

    delivery = result.notice.delivery(Channel.EMAIL)
    assert delivery is not None
    assert delivery.state is DeliveryState.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None
    assert delivery.address == "s***@example.in"
    assert result.notice.registration_number == REGISTRATION
    assert "आपकी शिकायत दर्ज कर ली गई है।" in result.notice.body.hi


async def test_english_preferring_recipient_gets_english_first(make_service: Any, smtp_server: Any) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))

    await service.send(
        acknowledgement("ack:en", (Channel.EMAIL,), recipient=citizen(preferred_language=Language.EN, name="Sita"))
    )

    message = await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
    plain = text_parts(message)["text/plain"]
    assert plain.index("Your grievance") < plain.index("आपकी शिकायत")
    assert subject_of(message).startswith("Acknowledgement")


async def test_same_dedupe_key_twice_gives_one_notice_and_one_email(make_service: Any, smtp_server: Any) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))
    command = acknowledgement("ack:twice", (Channel.EMAIL, Channel.IN_APP))

    first = await service.send(command)
    second = await service.send(command)

    assert first.duplicate is False
    assert second.duplicate is True
    assert second.notice.id == first.notice.id
    # Each send is complete when it returns (the first attempt is inline), so the count is final here.
    assert len(smtp_server.mail.messages) == 1
    assert len((await service.list_notices(NoticeFilter(grievance_id="griev-1"))).notices) == 1


async def test_concurrent_sends_with_one_dedupe_key_give_one_notice_and_one_email(
    make_service: Any, smtp_server: Any
) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))
    command = acknowledgement("ack:race", (Channel.EMAIL,))

    results = await asyncio.gather(*(service.send(command) for _ in range(4)))

    assert len({r.notice.id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert len(smtp_server.mail.messages) == 1
    assert len((await service.list_notices(NoticeFilter(grievance_id="griev-1"))).notices) == 1


async def test_S16_in_app_notice_records_delivery_at_once_and_read_once(make_service: Any) -> None:
    filed = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
    now = [filed]
    # A hand-moved clock makes delivered_at and read_at exact.
    service = await make_service(clock=lambda: now[0])

    sent = await service.send(acknowledgement("ack:inapp", (Channel.IN_APP,)))

    in_app = sent.notice.delivery(Channel.IN_APP)
    assert in_app is not None
    assert in_app.state is DeliveryState.DELIVERED
    assert in_app.delivered_at == now[0]
    assert in_app.read_at is None
    unread = (await service.list_notices(NoticeFilter(recipient_account_id="acct-sita", unread_only=True))).notices
    assert [n.id for n in unread] == [sent.notice.id]

    now[0] += timedelta(hours=5)
    read = await service.mark_read(sent.notice.id, Reader(account_id="acct-sita"))
    first_read_at = now[0]
    now[0] += timedelta(days=1)
    again = await service.mark_read(sent.notice.id, Reader(account_id="acct-sita"))

    for notice in (read, again):
        delivery = notice.delivery(Channel.IN_APP)
        assert delivery is not None
        assert delivery.state is DeliveryState.READ
        assert delivery.read_at == first_read_at
        assert delivery.delivered_at == filed
    assert (await service.list_notices(NoticeFilter(recipient_account_id="acct-sita", unread_only=True))).notices == []
    assert len((await service.list_notices(NoticeFilter(recipient_account_id="acct-sita"))).notices) == 1


async def test_S16_position_notice_is_read_by_the_position_and_not_by_others(make_service: Any) -> None:
    service = await make_service()
    sent = await service.send(
        SendCommand(
            dedupe_key="assign:griev-1",
            template="case_assigned",
            recipient=Recipient("", "pos-co-danapur", "", "", "", Language.HI, RecipientKind.OFFICER),
            channels=(Channel.IN_APP,),
            params={k: ACK_PARAMS[k] for k in ("registration_number", "category_name_en", "category_name_hi")}
            | {"position_title_en": "Circle Officer", "position_title_hi": "अंचल अधिकारी"},
            grievance_id="griev-1",
            registration_number="",
        )
    )
    assert sent.notice.registration_number == REGISTRATION

    with pytest.raises(PermissionDenied):
        await service.mark_read(sent.notice.id, Reader(account_id="acct-other", position_id="pos-other"))
    read = await service.mark_read(sent.notice.id, Reader(account_id="acct-co", position_id="pos-co-danapur"))

    delivery = read.delivery(Channel.IN_APP)
    assert delivery is not None
    assert delivery.read_at is not None
    inbox = NoticeFilter(recipient_account_id="acct-co", recipient_position_id="pos-co-danapur")
    listed = (await service.list_notices(inbox)).notices
    assert [n.id for n in listed] == [sent.notice.id]


async def test_an_officers_inbox_pages_over_the_account_and_every_post_held_in_one_query(
    make_service: Any, smtp_server: Any
) -> None:
    """S16: the inbox of an officer holding two posts, read two at a time: the in-app notices to the account or to
    either post, newest first, each once; not an email-only notice, not another post's; one by id; a foreign token
    refused naming page.page_token."""
    ticks = iter(range(100))
    service = await make_service(
        clock=lambda: datetime(2026, 12, 4, 10, 0, tzinfo=UTC) + timedelta(seconds=next(ticks)),
        **smtp_settings(smtp_server.port),
    )

    async def notice(key: str, account: str, post: str, channel: Channel = Channel.IN_APP) -> str:
        email = "co.danapur@example.in" if channel is Channel.EMAIL else ""
        sent = await service.send(
            SendCommand(
                dedupe_key=key,
                template="case_assigned",
                recipient=Recipient(account, post, "", email, "", Language.HI, RecipientKind.OFFICER),
                channels=(channel,),
                params={k: ACK_PARAMS[k] for k in ("registration_number", "category_name_en", "category_name_hi")}
                | {"position_title_en": "Circle Officer", "position_title_hi": "अंचल अधिकारी"},
                grievance_id=f"griev-{key}",
                registration_number="",
            )
        )
        return sent.notice.id

    mine = [
        await notice("a1", "acct-co", ""),
        await notice("p1", "", "pos-co-danapur"),
        await notice("p2", "", "pos-co-maner"),
        await notice("a2", "acct-co", ""),
        await notice("p3", "", "pos-co-danapur"),
    ]
    others = [await notice("x1", "", "pos-bdo-bihta"), await notice("e1", "acct-co", "", Channel.EMAIL)]
    inbox = NoticeFilter(
        recipient_account_id="acct-co", recipient_position_ids=("pos-co-danapur", "pos-co-maner"), in_app_only=True
    )

    pages: list[list[str]] = []
    token = ""
    while True:
        page = await service.list_notices(inbox, page_size=2, page_token=token)
        pages.append([n.id for n in page.notices])
        token = page.next_page_token
        if not token:
            break
    one = await service.list_notices(replace(inbox, notice_id=mine[1]))
    not_mine = await service.list_notices(replace(inbox, notice_id=others[0]))

    assert pages == [mine[4:2:-1], mine[2:0:-1], mine[:1]]
    assert [n.id for n in one.notices] == [mine[1]]
    assert not_mine.notices == []
    with pytest.raises(InvalidArgument) as refused:
        await service.list_notices(inbox, page_size=2, page_token=encode_token("breaches", "x", "y"))
    assert [v.field for v in refused.value.violations] == ["page.page_token"]


async def test_marking_read_a_notice_without_in_app_delivery_is_refused(make_service: Any, smtp_server: Any) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))
    sent = await service.send(acknowledgement("ack:email-only", (Channel.EMAIL,)))

    with pytest.raises(FailedPrecondition):
        await service.mark_read(sent.notice.id, Reader())


async def test_smtp_down_leaves_email_pending_then_retry_due_delivers_it_once(make_service: Any, smtp_on: Any) -> None:
    port = free_port()  # nothing listens here yet
    service = await make_service(**smtp_settings(port), retry_base_seconds=60)
    sent_at = utcnow()

    result = await service.send(acknowledgement("ack:down", (Channel.EMAIL,)))

    delivery = result.notice.delivery(Channel.EMAIL)
    assert delivery is not None
    assert delivery.state is DeliveryState.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at >= sent_at + timedelta(seconds=60)
    # Not due yet: nothing is attempted.
    assert await service.retry_due(sent_at + timedelta(seconds=1)) == 0

    async with smtp_on(port) as mail:
        later = sent_at + timedelta(minutes=5)
        assert await service.retry_due(later) == 1
        assert await service.retry_due(later + timedelta(hours=1)) == 0

        message = await mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
        assert "sita.devi@example.in" in message["To"]
        assert len(mail.messages) == 1
    status = await service.get_delivery_status("ack:down")
    delivery = status.delivery(Channel.EMAIL)
    assert delivery is not None
    assert delivery.state is DeliveryState.SENT
    assert delivery.attempts == 2
    assert delivery.last_error == ""


async def test_retries_back_off_exponentially_and_fail_after_max_attempts(make_service: Any) -> None:
    service = await make_service(**smtp_settings(free_port()), retry_base_seconds=10, max_attempts=3)
    start = utcnow()

    result = await service.send(acknowledgement("ack:never", (Channel.EMAIL,)))
    first = result.notice.delivery(Channel.EMAIL)
    assert first is not None
    assert first.next_attempt_at is not None
    assert timedelta(seconds=10) <= first.next_attempt_at - start < timedelta(seconds=15)

    second_try = first.next_attempt_at
    assert await service.retry_due(second_try) == 1
    after_second = (await service.get_delivery_status("ack:never")).delivery(Channel.EMAIL)
    assert after_second is not None
    assert after_second.state is DeliveryState.PENDING
    assert after_second.attempts == 2
    assert after_second.next_attempt_at == second_try + timedelta(seconds=20)

    assert await service.retry_due(second_try + timedelta(seconds=20)) == 1
    final = (await service.get_delivery_status("ack:never")).delivery(Channel.EMAIL)
    assert final is not None
    assert final.state is DeliveryState.FAILED
    assert final.attempts == 3
    assert final.next_attempt_at is None
    assert final.last_error
    assert await service.retry_due(second_try + timedelta(days=1)) == 0


async def test_permanent_smtp_refusal_fails_without_retry(make_service: Any) -> None:
    from aiosmtpd.controller import Controller

    class RefusingHandler:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
            return "550 5.1.1 mailbox unavailable"

    port = free_port()
    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        service = await make_service(**smtp_settings(port))
        result = await service.send(acknowledgement("ack:refused", (Channel.EMAIL,)))
    finally:
        controller.stop()

    delivery = result.notice.delivery(Channel.EMAIL)
    assert delivery is not None
    assert delivery.state is DeliveryState.FAILED
    assert "550" in delivery.last_error
    assert "sita.devi@example.in" not in delivery.last_error


async def test_sms_posts_dlt_template_id_and_delivery_shows_masked_number(
    make_service: Any, http_receiver: Any
) -> None:
    service = await make_service(sms_provider_url=http_receiver.url("/sms"), sms_sender_id="NIVRAN")

    result = await service.send(acknowledgement("ack:sms", (Channel.SMS,)))

    [body] = http_receiver.bodies("/sms")
    assert body["to"] == "+919876543210"
    assert body["dlt_template_id"] == "1107170000000000001"
    assert body["sender_id"] == "NIVRAN"
    assert body["unicode"] is True
    assert REGISTRATION in body["text"]
    assert "आपकी शिकायत दर्ज कर ली गई है।" in body["text"]
    assert "Your grievance has been registered." in body["text"]
    delivery = result.notice.delivery(Channel.SMS)
    assert delivery is not None
    assert body["reference"] == delivery.id
    assert delivery.state is DeliveryState.SENT
    assert delivery.address == "+91XXXXXX3210"
    assert "9876543210" not in delivery.address


async def test_dlt_template_id_comes_from_settings_when_registered(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(
        sms_provider_url=http_receiver.url("/sms"), dlt_template_ids={"acknowledgement": "1207171234567890123"}
    )

    await service.send(acknowledgement("ack:sms-dlt", (Channel.SMS,)))

    [body] = http_receiver.bodies("/sms")
    assert body["dlt_template_id"] == "1207171234567890123"


async def test_sms_provider_error_is_retried_until_sent(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(sms_provider_url=http_receiver.url("/sms"))
    http_receiver.statuses[:] = [503]

    result = await service.send(acknowledgement("ack:sms-retry", (Channel.SMS,)))
    pending = result.notice.delivery(Channel.SMS)
    assert pending is not None
    assert pending.state is DeliveryState.PENDING
    assert "503" in pending.last_error
    assert pending.next_attempt_at is not None

    assert await service.retry_due(pending.next_attempt_at) == 1

    sent = (await service.get_delivery_status("ack:sms-retry")).delivery(Channel.SMS)
    assert sent is not None
    assert sent.state is DeliveryState.SENT
    assert sent.attempts == 2
    assert len(http_receiver.bodies("/sms")) == 2


async def test_C2_B5_a_provider_that_fails_twice_then_succeeds_sends_exactly_once(
    make_service: Any, http_receiver: Any
) -> None:
    service = await make_service(sms_provider_url=http_receiver.url("/sms"))
    http_receiver.statuses[:] = [503, 502]

    first = await service.send(acknowledgement("ack:sms-twice", (Channel.SMS,)))
    delivery = first.notice.delivery(Channel.SMS)
    assert delivery is not None
    for _ in range(2):
        assert delivery is not None
        assert delivery.next_attempt_at is not None
        assert await service.retry_due(delivery.next_attempt_at) == 1
        delivery = (await service.get_delivery_status("ack:sms-twice")).delivery(Channel.SMS)
    assert delivery is not None
    assert delivery.state is DeliveryState.SENT
    assert delivery.attempts == 3
    # Nothing more goes out: not from the retry loop later, not from the workflow's activity retrying its Send.
    assert await service.retry_due(utcnow() + timedelta(days=1)) == 0
    again = await service.send(acknowledgement("ack:sms-twice", (Channel.SMS,)))
    assert again.duplicate
    posted = http_receiver.bodies("/sms")
    assert len(posted) == 3  # two refused, one accepted
    assert len({body["text"] for body in posted}) == 1


async def test_sms_rejected_by_provider_fails_at_once(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(sms_provider_url=http_receiver.url("/sms"))
    http_receiver.statuses[:] = [400]

    result = await service.send(acknowledgement("ack:sms-400", (Channel.SMS,)))

    delivery = result.notice.delivery(Channel.SMS)
    assert delivery is not None
    assert delivery.state is DeliveryState.FAILED
    assert "400" in delivery.last_error


async def test_whatsapp_posts_to_its_provider(make_service: Any, http_receiver: Any) -> None:
    service = await make_service(whatsapp_provider_url=http_receiver.url("/whatsapp"))

    result = await service.send(acknowledgement("ack:wa", (Channel.WHATSAPP,)))

    [body] = http_receiver.bodies("/whatsapp")
    assert body["to"] == "+919876543210"
    assert body["template"] == "acknowledgement"
    assert body["language"] == "hi"
    assert REGISTRATION in body["text"]
    delivery = result.notice.delivery(Channel.WHATSAPP)
    assert delivery is not None
    assert delivery.state is DeliveryState.SENT


async def test_unconfigured_sms_and_whatsapp_are_recorded_failed_not_dropped(make_service: Any) -> None:
    service = await make_service()

    result = await service.send(acknowledgement("ack:noprov", (Channel.SMS, Channel.WHATSAPP, Channel.IN_APP)))

    for channel in (Channel.SMS, Channel.WHATSAPP):
        delivery = result.notice.delivery(channel)
        assert delivery is not None
        assert delivery.state is DeliveryState.FAILED
        assert delivery.last_error == PROVIDER_NOT_CONFIGURED
        assert delivery.address == "+91XXXXXX3210"
    assert [d.channel for d in result.notice.deliveries] == [Channel.IN_APP, Channel.SMS, Channel.WHATSAPP]


async def test_email_channel_is_skipped_when_the_recipient_has_no_email(make_service: Any, smtp_server: Any) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))

    result = await service.send(
        acknowledgement("ack:noemail", (Channel.EMAIL, Channel.IN_APP), recipient=citizen(email=""))
    )

    assert [d.channel for d in result.notice.deliveries] == [Channel.IN_APP]
    assert smtp_server.mail.messages == []


async def test_S16_complainant_without_account_gets_the_in_app_notice_on_the_grievance(
    make_service: Any, smtp_server: Any
) -> None:
    service = await make_service(**smtp_settings(smtp_server.port))

    result = await service.send(
        acknowledgement("ack:web", (Channel.IN_APP, Channel.EMAIL), recipient=citizen(account_id=""))
    )

    assert [d.channel for d in result.notice.deliveries] == [Channel.IN_APP, Channel.EMAIL]
    await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
    unread = (await service.list_notices(NoticeFilter(grievance_id="griev-1", unread_only=True))).notices
    assert [n.id for n in unread] == [result.notice.id]
    read = await service.mark_read(result.notice.id, Reader(account_id="acct-tracking-citizen"))
    in_app = read.delivery(Channel.IN_APP)
    assert in_app is not None
    assert in_app.read_at is not None


async def test_in_app_is_skipped_when_there_is_no_one_and_no_grievance_to_show_it_to(make_service: Any) -> None:
    service = await make_service()

    result = await service.send(
        acknowledgement("ack:nowhere", (Channel.IN_APP,), recipient=citizen(account_id=""), grievance_id="")
    )

    assert result.notice.deliveries == ()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"template": "nope"}, "template"),
        ({"channels": ()}, "channels"),
        ({"dedupe_key": ""}, "dedupe_key"),
        ({"recipient": citizen(email="not-an-email")}, "recipient.email"),
        ({"recipient": citizen(phone="12345")}, "recipient.phone"),
        ({"params": {k: v for k, v in ACK_PARAMS.items() if k != "filed_at"}}, "params.filed_at"),
        ({"registration_number": "BR-OTHER-1"}, "registration_number"),
    ],
)
async def test_bad_send_input_names_the_field(make_service: Any, changes: dict[str, Any], field: str) -> None:
    service = await make_service()

    with pytest.raises(InvalidArgument) as caught:
        await service.send(acknowledgement(**({"dedupe_key": "ack:bad", "channels": (Channel.IN_APP,)} | changes)))

    assert field in {v.field for v in caught.value.violations}


async def test_list_notices_needs_a_filter(make_service: Any) -> None:
    service = await make_service()

    with pytest.raises(InvalidArgument) as caught:
        await service.list_notices(NoticeFilter())

    assert caught.value.violations[0].field == "grievance_id"


async def test_retry_loop_delivers_pending_email_once_smtp_is_back(make_service: Any, smtp_on: Any) -> None:
    port = free_port()
    service = await make_service(**smtp_settings(port), retry_base_seconds=0)
    result = await service.send(acknowledgement("ack:loop", (Channel.EMAIL,)))
    pending = result.notice.delivery(Channel.EMAIL)
    assert pending is not None
    assert pending.state is DeliveryState.PENDING

    async with smtp_on(port) as mail:
        loop = RetryLoop(service, interval=0.05)
        loop.start()
        try:
            await mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)

            async def sent() -> bool:
                delivery = (await service.get_delivery_status("ack:loop")).delivery(Channel.EMAIL)
                return delivery is not None and delivery.state is DeliveryState.SENT

            await eventually(sent)
            rounds = loop.rounds

            async def more_rounds() -> bool:
                return loop.rounds >= rounds + 3

            await eventually(more_rounds)
        finally:
            await loop.stop()
        assert len(mail.messages) == 1


async def test_retry_loop_keeps_going_after_an_error_and_stops_when_asked() -> None:
    calls: list[datetime] = []

    class FlakyRetrier:
        async def retry_due(self, now: datetime) -> int:
            calls.append(now)
            if len(calls) == 1:
                raise RuntimeError("database went away")
            return 0

    loop = RetryLoop(FlakyRetrier(), interval=0.01)
    loop.start()

    async def ran_again() -> bool:
        return len(calls) >= 3

    await eventually(ran_again)
    await loop.stop()
    stopped_at = len(calls)
    for _ in range(20):
        await asyncio.sleep(0)  # yield to the event loop; a loop still running would call again
    assert loop.rounds >= 3
    assert len(calls) == stopped_at


async def test_retry_loop_stop_cancels_a_round_that_hangs() -> None:
    entered = asyncio.Event()
    cancelled: list[bool] = []

    class HangingRetrier:
        async def retry_due(self, now: datetime) -> int:
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise
            return 0

    loop = RetryLoop(HangingRetrier(), interval=0.01)
    loop.start()
    await asyncio.wait_for(entered.wait(), timeout=5)

    await loop.stop(timeout=0.05)

    assert cancelled == [True]
