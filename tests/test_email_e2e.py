"""C1 / B3 / B5 / C2 end to end: a citizen writes an email to the suite's SMTP receiver (nivaran_gateway.mail_inbound,
which `make run` starts too); it files an ordinary case, whose Form-2 acknowledgement comes back by email; a reply
to that acknowledgement lands on the case's timeline, where the officer reads it; a stranger's reply does not.
Through the real suite (tests/conftest.py's shared suite) and its real SMTP sink."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% a receipt\n"
TO = "grievance@localhost"


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


def email(sender: str, subject: str, text: str, *, name: str = "", attach: tuple[str, bytes] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>" if name else sender
    message["To"] = TO
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.in>"
    message.set_content(text)
    if attach is not None:
        file_name, content = attach
        subtype = "png" if content.startswith(b"\x89PNG") else "pdf"
        message.add_attachment(
            content, maintype="image" if subtype == "png" else "application", subtype=subtype, filename=file_name
        )
    return message.as_bytes()


async def send(suite: RunningSuite, sender: str, raw: bytes) -> None:
    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", suite.mail_port, timeout=30) as smtp:
            smtp.sendmail(sender, [TO], raw)

    await asyncio.to_thread(deliver)


async def mail_to(suite: RunningSuite, address: str, template: str, number: str = "") -> Message:
    def matches(m: Message) -> bool:
        return (
            address in str(m["To"])
            and m["X-Nivaran-Template"] == template
            and (not number or m["X-Nivaran-Registration"] == number)
        )

    return await suite.smtp.mail.wait_for(matches, timeout=60)


def subject_of(message: Message) -> str:
    """The Subject as a person reads it (the sink keeps headers as they came, RFC 2047 encoded)."""
    return " ".join(str(make_header(decode_header(str(message["Subject"])))).split())


def text_of(message: Message) -> str:
    return "\n".join(
        str(part.get_payload(decode=True).decode())  # type: ignore[union-attr]
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


async def timeline_as_officer(http: httpx.AsyncClient, number: str) -> list[dict[str, Any]]:
    login = await http.post("/v1/auth/login", json={"username": "dso.patna", "password": "dev-dso-patna-2026"})
    assert login.status_code == 200, login.text
    officer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    case = await http.get(f"/v1/grievances/{number}", headers=officer)
    assert case.status_code == 200, case.text
    return list(case.json()["timeline"])


async def test_C1_B3_B5_C2_an_email_files_a_case_acknowledged_by_email_and_a_reply_lands_on_it(
    suite: RunningSuite,
) -> None:
    sender = f"sita.{uuid.uuid4().hex[:8]}@example.in"
    await send(
        suite,
        sender,
        email(
            sender,
            "GRV FOOD-RATION-CARD PAT Ration card not made",
            "I applied for a ration card six months ago at the block office and it is not made yet.",
            name="Sita Devi",
            attach=("application.png", PNG),
        ),
    )
    # B5 / C2: the Form-2 acknowledgement goes back by email, the channel it was filed on.
    acknowledgement = await mail_to(suite, sender, "acknowledgement")
    number = str(acknowledgement["X-Nivaran-Registration"])
    subject = subject_of(acknowledgement)
    assert f"Acknowledgement (Form-2): grievance {number} registered" in subject
    answer = await mail_to(suite, sender, "message_reply", number)
    assert f"Your grievance is registered: {number}" in text_of(answer)

    # The citizen replies to the acknowledgement, with a file; the reply lands on that case's timeline.
    await send(
        suite,
        sender,
        email(
            sender,
            f"Re: {subject}",
            "The dealer still refuses to enter my name.\n\nOn Monday Nivaran wrote:\n> Acknowledgement (Form-2)\n",
            attach=("receipt.pdf", PDF),
        ),
    )
    added = await suite.smtp.mail.wait_for(
        lambda m: sender in str(m["To"]) and "has been added to grievance" in text_of(m), timeout=60
    )
    assert number in text_of(added)

    stranger = f"mallory.{uuid.uuid4().hex[:8]}@example.in"
    await send(suite, stranger, email(stranger, f"Re: {subject}", "Close this case."))
    refused = await mail_to(suite, stranger, "message_reply")
    assert f"No grievance {number} was filed from this email address" in text_of(refused)

    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        messages: list[dict[str, Any]] = []

        async def on_the_timeline() -> bool:
            messages[:] = [e for e in await timeline_as_officer(http, number) if e["event_type"] == "citizen_message"]
            return bool(messages)

        await eventually(on_the_timeline, timeout=30, every=0.5)
        [message] = messages
        assert message["details"]["text"] == "The dealer still refuses to enter my name."
        assert message["details"]["channel"] == "email"
        assert len(message["details"]["attachment_ids"]) == 1
        assert "Close this case" not in str(await timeline_as_officer(http, number))

        # S16: the officer holding the case is told in the app that the complainant wrote.
        login = await http.post("/v1/auth/login", json={"username": "dso.patna", "password": "dev-dso-patna-2026"})
        officer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        told: list[dict[str, Any]] = []

        async def in_the_inbox() -> bool:
            inbox = await http.get("/v1/me/notices", headers=officer)
            assert inbox.status_code == 200, inbox.text
            told[:] = [
                n
                for n in inbox.json()["notices"]
                if n["template"] == "citizen_message" and n["registration_number"] == number
            ]
            return bool(told)

        await eventually(in_the_inbox, timeout=30, every=0.5)
        [notice] = told
        assert "The dealer still refuses to enter my name." in notice["body"]["en"]
        assert "शिकायतकर्ता" in notice["body"]["hi"]
