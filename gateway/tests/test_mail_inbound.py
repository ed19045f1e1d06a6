"""C1 / B3 / B5 at the SMTP receiver (nivaran_gateway.mail_inbound): MIME read with the stdlib into intake's request,
and the real aiosmtpd server answering an SMTP client (smtplib) as a sending mail server needs: 250 once intake holds
the message and the answer went to notify, 451 while either cannot be reached, 550 for a domain that is not ours or
no sender, 552 for too much. Against gateway_testkit's fake intake and notify (intake's own reading of an email is
proven in services/intake/tests/test_inbound_email.py; the whole path in tests/test_email_e2e.py)."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import pytest
import pytest_asyncio
from gateway_testkit import Backends

from nivaran.notify.v1 import notify_pb2
from nivaran_common.settings import Profile
from nivaran_gateway.mail_inbound.mime import NoSender, TooMuch, html_to_text, parse_mail
from nivaran_gateway.mail_inbound.receiver import MailClients, bound_port, start, stop
from nivaran_gateway.mail_inbound.settings import MailInboundSettings

DOMAIN = "nivaran.test"
TO = f"grievance@{DOMAIN}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n% test\n"


def mail(subject: str = "GRV FOOD-RATION-CARD PAT Ration card", **headers: str) -> EmailMessage:
    """A citizen's email; `headers` (Message_ID="…" for Message-ID) add to or replace the usual ones."""
    fields = {
        "From": "Sita Devi <sita@example.in>",
        "To": TO,
        "Subject": subject,
        "Message-ID": "<m-1@mail.example.in>",
    }
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    message = EmailMessage()
    for name, value in fields.items():
        if value:
            message[name] = value
    message.set_content("My ration card has not been made for six months.")
    return message


# MIME: pure functions.


def test_C1_the_plain_text_body_files_and_html_is_its_other_rendering() -> None:
    message = mail()
    message.add_alternative("<p>My <b>ration</b> card</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="card.pdf")
    parsed = parse_mail(message.as_bytes(), TO)
    assert (parsed.sender, parsed.sender_name, parsed.recipient) == ("sita@example.in", "Sita Devi", TO)
    assert parsed.message_id == "m-1@mail.example.in"
    assert parsed.text == "My ration card has not been made for six months.\n"
    assert [(f.filename, f.content_type, f.content) for f in parsed.files] == [("card.pdf", "application/pdf", PDF)]
    assert not parsed.automatic
    request = parsed.to_request()
    assert (request.channel, request.subject, request.provider_message_id) == (
        "email",
        "GRV FOOD-RATION-CARD PAT Ration card",
        "m-1@mail.example.in",
    )


def test_C1_an_html_only_email_is_read_as_text_with_its_quote_marked() -> None:
    html = (
        "<html><head><style>p {color: red}</style><title>t</title></head><body>"
        "<p>Dealer &amp; shop<br>still closed</p><ul><li>one</li><li>two</li></ul>"
        "<div>On Mon, Nivaran wrote:</div><blockquote><p>Your grievance</p><p>is registered</p></blockquote>"
        "<script>alert(1)</script></body></html>"
    )
    assert html_to_text(html) == (
        "Dealer & shop\nstill closed\n\n- one\n- two\nOn Mon, Nivaran wrote:\n> Your grievance\n>\n> is registered"
    )
    message = mail()
    message.set_content(html, subtype="html")
    # An image shown inline (a pasted photo) is a file too.
    message.add_related(PNG, maintype="image", subtype="png", cid="<photo>")
    parsed = parse_mail(message.as_bytes(), TO)
    assert parsed.text.startswith("Dealer & shop\nstill closed")
    assert [(f.filename, f.content_type) for f in parsed.files] == [("attachment-1.png", "image/png")]


def test_C1_hindi_headers_and_an_unknown_charset_are_read() -> None:
    message = mail(subject="शिकायत FOOD-RATION-CARD PAT राशन कार्ड", From="सीता देवी <sita@example.in>")
    parsed = parse_mail(message.as_bytes(), TO)
    assert (parsed.subject, parsed.sender_name) == ("शिकायत FOOD-RATION-CARD PAT राशन कार्ड", "सीता देवी")
    raw = (
        b"From: sita@example.in\r\nTo: grievance@nivaran.test\r\nSubject: x\r\nMessage-ID: <cs@x>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nration \xe0\xa4\xb0\r\n"
    )
    assert parse_mail(raw, TO).text.startswith("ration र")


def test_C2_the_message_id_identifies_a_message_and_a_hash_stands_in_for_a_missing_one() -> None:
    raw = mail(Message_ID="").as_bytes()
    assert b"Message-ID" not in raw
    assert parse_mail(raw, TO).message_id == f"sha256:{hashlib.sha256(raw).hexdigest()}"
    long_id = "<" + "x" * 200 + "@example.in>"
    assert parse_mail(mail(Message_ID=long_id).as_bytes(), TO).message_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("headers", "envelope_sender"),
    [
        ({"Auto_Submitted": "auto-replied"}, "sita@example.in"),
        ({"Precedence": "bulk"}, "sita@example.in"),
        ({"List_Id": "<news.example.in>"}, "sita@example.in"),
        ({}, "<>"),
    ],
)
def test_C2_a_message_a_machine_sent_is_marked(headers: dict[str, str], envelope_sender: str) -> None:
    assert parse_mail(mail(**headers).as_bytes(), TO, envelope_sender).automatic
    assert not parse_mail(mail(Auto_Submitted="no").as_bytes(), TO, "sita@example.in").automatic


def test_C2_what_cannot_be_taken_says_why() -> None:
    with pytest.raises(NoSender):
        parse_mail(mail(From="nobody").as_bytes(), TO, "")
    # An address intake would refuse cannot be answered either: the envelope sender stands in, else 550.
    with pytest.raises(NoSender):
        parse_mail(mail(From="sita@localhost").as_bytes(), TO, "<>")
    assert parse_mail(mail(From="sita@localhost").as_bytes(), TO, "sita@example.in").sender == "sita@example.in"
    # Without a From, the envelope sender is the one to answer.
    assert parse_mail(mail(From="").as_bytes(), TO, "sita@example.in").sender == "sita@example.in"
    many = mail()
    for n in range(51):
        many.add_attachment(PNG, maintype="image", subtype="png", filename=f"p{n}.png")
    with pytest.raises(TooMuch) as too_many:
        parse_mail(many.as_bytes(), TO)
    assert too_many.value.reply == "552 5.3.4 Message refused: more than 50 files"


# The SMTP server, on this test's event loop.

Receiver = Callable[..., Awaitable[int]]


@pytest_asyncio.fixture
async def receiver(backends: Backends) -> AsyncIterator[Receiver]:
    """Start receivers against the fakes (settings overrides: notify_target=..., max_message_bytes=...)."""
    started: list[tuple[Any, Any, MailClients]] = []

    async def make(**overrides: Any) -> int:
        here = f"127.0.0.1:{backends.port}"
        values: dict[str, Any] = {
            "profile": Profile.TEST,
            "port": 0,
            "accepted_domains": f"{DOMAIN}, other.test",
            "intake_target": here,
            "notify_target": here,
            "grpc_timeout_seconds": 2.0,
            **overrides,
        }
        settings = MailInboundSettings(**values)
        clients = MailClients.open(settings, None)  # the fakes have no door; the suite's mTLS is in tests/
        server, handler = await start(settings, clients)
        started.append((server, handler, clients))
        return bound_port(server)

    yield make
    for server, handler, clients in started:
        await stop(server, handler, 1.0)
        await clients.close()


def send(port: int, message: EmailMessage, to: str = TO, sender: str = "sita@example.in") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message, from_addr=sender, to_addrs=[to])


async def test_C1_B5_an_email_reaches_intake_and_its_answer_goes_back_by_email(
    backends: Backends, receiver: Receiver
) -> None:
    port = await receiver()
    message = mail()
    message.add_attachment(PNG, maintype="image", subtype="png", filename="shop.png")
    await asyncio.to_thread(send, port, message, f"grievance+br-pat-2026-0000001-7@{DOMAIN}")
    [request] = backends.intake.inbound
    assert (request.channel, request.sender, request.sender_name, request.provider_message_id) == (
        "email",
        "sita@example.in",
        "Sita Devi",
        "m-1@mail.example.in",
    )
    assert request.recipient == f"grievance+br-pat-2026-0000001-7@{DOMAIN}"
    assert [(f.filename, f.content) for f in request.files] == [("shop.png", PNG)]
    [reply] = backends.notify.sent
    assert reply.template == "message_reply"
    assert list(reply.channels) == [notify_pb2.DELIVERY_CHANNEL_EMAIL]
    assert (reply.recipient.email, reply.recipient.phone) == ("sita@example.in", "")
    assert reply.dedupe_key == "inbound-email:m-1@mail.example.in:reply"  # once per message, however often it comes
    assert dict(reply.params)["reply_hi"] == "STATUS <संख्या> भेजें"

    # A machine's message is handed on (and stored) but never answered.
    await asyncio.to_thread(send, port, mail(Auto_Submitted="auto-replied", Message_ID="<auto@x>"))
    assert len(backends.intake.inbound) == 2
    assert len(backends.notify.sent) == 1


async def test_S16_a_reply_on_a_case_is_told_to_the_holder_of_its_post(backends: Backends, receiver: Receiver) -> None:
    port = await receiver()
    reply = mail("Re: BR-PAT-2026-0100001-7 registered", Message_ID="<reply-1@x>")
    await asyncio.to_thread(send, port, reply)
    told, answered = backends.notify.sent
    assert told.template == "citizen_message"
    assert (told.recipient.kind, told.recipient.position_id) == ("officer", "pos-co-bihta")
    assert list(told.channels) == [notify_pb2.DELIVERY_CHANNEL_IN_APP]
    assert told.dedupe_key == "inbound-email:reply-1@x:officer"  # once per message
    assert dict(told.params)["registration_number"] == "BR-PAT-2026-0100001-7"
    assert dict(told.params)["text"]
    assert answered.template == "message_reply"


async def test_C1_the_receiver_refuses_what_it_cannot_take_with_the_right_code(
    backends: Backends, receiver: Receiver
) -> None:
    port = await receiver(max_message_bytes=4096)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as relay:
        await asyncio.to_thread(send, port, mail(), "someone@elsewhere.example")
    assert relay.value.recipients["someone@elsewhere.example"][0] == 550
    big = mail()
    big.add_attachment(b"\x00" * 8192, maintype="application", subtype="octet-stream", filename="big.bin")
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as too_big:
        await asyncio.to_thread(send, port, big)
    assert too_big.value.smtp_code == 552
    with pytest.raises(smtplib.SMTPDataError) as nobody:
        await asyncio.to_thread(send, port, mail(From="nobody"), TO, "")
    assert nobody.value.smtp_code == 550
    assert backends.intake.inbound == []


async def test_C2_while_intake_or_notify_is_down_the_sender_is_told_to_try_again(
    backends: Backends, receiver: Receiver, unused_tcp_port_target: str
) -> None:
    no_intake = await receiver(intake_target=unused_tcp_port_target, grpc_timeout_seconds=0.5)
    with pytest.raises(smtplib.SMTPDataError) as later:
        await asyncio.to_thread(send, no_intake, mail())
    assert later.value.smtp_code == 451

    no_notify = await receiver(notify_target=unused_tcp_port_target, grpc_timeout_seconds=0.5)
    with pytest.raises(smtplib.SMTPDataError) as again:
        await asyncio.to_thread(send, no_notify, mail())
    assert again.value.smtp_code == 451
    assert len(backends.intake.inbound) == 1  # intake holds it; the answer is owed
    # The sender's server delivers again once notify is back: the answer goes, under the message's one dedupe key.
    await asyncio.to_thread(send, await receiver(), mail())
    assert [r.dedupe_key for r in backends.notify.sent] == ["inbound-email:m-1@mail.example.in:reply"]
