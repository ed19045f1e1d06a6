"""C1 / B3 / B5 / C2: a citizen files a grievance by email, adds to it by replying, and asks its status, through the
real IntakeService (InboundService stores every message, with its files, before inbound_email reads it). A reply is
added only for the case's own complainant; anyone else, and a number that does not exist, get the same words. On
SQLite and PostgreSQL (the `intake` fixture runs on both)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from nivaran_common.errors import InvalidArgument
from nivaran_common.testing import ONE_BACKEND
from nivaran_intake.attachments import Purpose
from nivaran_intake.domain import is_valid_registration_number
from nivaran_intake.inbound import Answer, InboundMessage, InboundService, Outcome, filing_key
from nivaran_intake.inbound_email import (
    EMAIL_ADDRESS,
    EMAIL_COMPLAINANT,
    MAX_MESSAGE_TEXT,
    MESSAGE_EVENT,
    case_reference,
    display_name,
    filing_of,
    missing_codes_reply,
    without_quote,
)
from nivaran_intake.inbound_files import InboundFile, StoredFile
from nivaran_intake.tables import AttachmentRow, GrievanceRow, InboundMessageRow

from .conftest import ATTACHMENT_LIMIT, IntakeHarness

NUMBER = "BR-PAT-2026-0000001-1"
ABOUT_RATION = "My ration card has not been made for six months although I applied at the block office."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% a test file\n"


def email(sender: str, message_id: str, subject: str, text: str = ABOUT_RATION, **changes: Any) -> InboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "sender": sender,
        "text": text,
        "provider_message_id": message_id,
        "subject": subject,
        "recipient": "grievance@nivaran.example.gov.in",
        "sender_name": "Sita Devi",
    }
    return InboundMessage(**{**fields, **changes})


async def receive(intake: IntakeHarness, message: InboundMessage) -> Answer:
    return await InboundService(intake.service).receive(message)


async def rows(intake: IntakeHarness, model: Any) -> list[Any]:
    async with intake.sessions() as session:
        return list((await session.execute(select(model))).scalars())


async def file_one(intake: IntakeHarness, sender: str, message_id: str) -> str:
    filed = await receive(intake, email(sender, message_id, "GRV FOOD-RATION-CARD PAT Ration card not made"))
    assert filed.outcome is Outcome.FILED, filed
    return filed.registration_number


# Reading: pure functions.


@pytest.mark.parametrize(
    ("subject", "recipient", "number"),
    [
        (f"[{NUMBER}] one more document", "grievance@x.in", NUMBER),
        (f"More about [ {NUMBER.lower()} ]", "grievance@x.in", NUMBER),
        (f"Re: Acknowledgement (Form-2): grievance {NUMBER} registered", "grievance@x.in", NUMBER),
        (f"RE: Re: Nivaran: your message ({NUMBER})", "grievance@x.in", NUMBER),
        (f"AW[2]: {NUMBER}", "grievance@x.in", NUMBER),
        ("a photo of the shop", f"grievance+{NUMBER.lower()}@x.in", NUMBER),
        # A number in a subject that is no reply and carries no tag: a new message that mentions a case.
        (f"Complaint like {NUMBER}", "grievance@x.in", None),
        (f"Fwd: Acknowledgement (Form-2): grievance {NUMBER} registered", "grievance@x.in", None),
        ("Re: my ration card", "grievance@x.in", None),
        ("GRV FOOD-RATION-CARD PAT no card", "grievance+help@x.in", None),
    ],
)
def test_B3_a_reply_names_its_case_by_subject_or_address(subject: str, recipient: str, number: str | None) -> None:
    assert case_reference(subject, recipient) == number


def test_B3_a_replys_own_words_leave_the_quote_out() -> None:
    text = "Here is the receipt.\r\nThanks\r\n\r\nOn Mon, 7 Dec 2026, Nivaran wrote:\r\n> Your grievance\r\n>\r\n"
    assert without_quote(text) == "Here is the receipt.\nThanks"
    assert without_quote("> only a quote") == ""
    assert without_quote("no quote at all") == "no quote at all"


def test_B1_the_senders_name_or_a_placeholder() -> None:
    assert display_name('  "Sita   Devi" ') == "Sita Devi"
    assert display_name("") == EMAIL_COMPLAINANT
    assert display_name("X") == EMAIL_COMPLAINANT
    assert display_name("सीता\x07देवी") == "सीता देवी"


def _row(subject: str, text: str) -> InboundMessageRow:
    return InboundMessageRow(channel="email", sender="sita@example.in", subject=subject, text=text, sender_name="")


@pytest.mark.parametrize(
    ("subject", "text", "codes", "description"),
    [
        (
            "GRV FOOD-RATION-CARD PAT Ration card not made",
            "Since May.",
            ("FOOD-RATION-CARD", "PAT"),
            "Ration card not made\n\nSince May.",
        ),
        (
            "Ration card",
            "grv food-ration-card pat\nSince May.",
            ("FOOD-RATION-CARD", "PAT"),
            "Ration card\n\nSince May.",
        ),
        ("शिकायत FOOD-RATION-CARD PAT राशन कार्ड", "", ("FOOD-RATION-CARD", "PAT"), "राशन कार्ड"),
        # "शिकायत" is also the everyday word for a complaint: without a code after it, no codes were given.
        ("शिकायत राशन कार्ड के बारे में", "छह महीने से", ("", ""), "शिकायत राशन कार्ड के बारे में\n\nछह महीने से"),
        ("Ration card", "Since May.", ("", ""), "Ration card\n\nSince May."),
        (
            "Re: GRV FOOD-RATION-CARD PAT Ration card",
            "Since May.",
            ("FOOD-RATION-CARD", "PAT"),
            "Ration card\n\nSince May.",
        ),
    ],
)
def test_C1_what_a_new_email_files(subject: str, text: str, codes: tuple[str, str], description: str) -> None:
    filing, addressed = filing_of(_row(subject, text), "inbound-email:key")
    assert (filing.category_code, filing.location.district_code) == codes
    assert addressed == all(codes)
    assert filing.description == description
    assert (filing.complainant.name, filing.complainant.address) == (EMAIL_COMPLAINANT, EMAIL_ADDRESS)
    assert filing.complainant.email == "sita@example.in"


def test_C1_the_answer_names_exactly_what_is_missing() -> None:
    filing, _ = filing_of(_row("Ration card", "Since May."), "inbound-email:key")
    en, hi = missing_codes_reply(filing)
    assert en.startswith("Not registered: the category code and the district code are missing.")
    assert hi.startswith("शिकायत दर्ज नहीं हुई: श्रेणी कोड और जिला कोड नहीं दिया गया।")
    assert "GRV <category code> <district code>" in en
    assert "शिकायत <श्रेणी कोड> <जिला कोड>" in hi
    filing, _ = filing_of(_row("GRV FOOD-RATION-CARD", ""), "inbound-email:key")
    en, hi = missing_codes_reply(filing)
    assert en.startswith("Not registered: the district code and the description are missing.")
    assert hi.startswith("शिकायत दर्ज नहीं हुई: जिला कोड और विवरण नहीं दिया गया।")


# The use case.


async def test_C1_B3_B5_an_email_files_a_case_on_the_email_channel_with_its_files(intake: IntakeHarness) -> None:
    sender = "Sita.Devi@Example.IN"
    message = email(
        sender,
        "<c1-file@mail.example.in>",
        "GRV FOOD-RATION-CARD PAT Ration card not made",
        files=(
            InboundFile("card.png", "image/png", PNG),
            InboundFile("letter.docx", "application/octet-stream", b"PK\x03\x04 not a pdf"),
            InboundFile("scan.pdf", "application/octet-stream", PDF),
            InboundFile("huge.png", "image/png", PNG + b"\x00" * ATTACHMENT_LIMIT),
        ),
    )
    answer = await receive(intake, message)
    assert answer.outcome is Outcome.FILED
    number = answer.registration_number
    assert is_valid_registration_number(number)
    assert answer.reply_en.startswith(f"Your grievance is registered: {number}.")
    assert f"[{number}]" in answer.reply_en
    assert f"आपकी शिकायत दर्ज हुई: {number}" in answer.reply_hi
    # Files the checks refuse are named, each with why.
    assert "letter.docx (not a PDF, JPEG, PNG file)" in answer.reply_en
    assert "huge.png (larger than 0.1 MB)" in answer.reply_en
    assert "letter.docx (PDF, JPEG, PNG फ़ाइल नहीं)" in answer.reply_hi

    case = await intake.service.get(registration_number=number)
    assert (case.channel, case.complainant_email, case.complainant_name) == (
        "email",
        "Sita.Devi@example.in",
        "Sita Devi",
    )
    assert (case.complainant_address, case.complainant_phone) == (EMAIL_ADDRESS, None)
    assert (case.category_code, case.district_code, case.subject) == ("FOOD-RATION-CARD", "PAT", "Ration card not made")
    assert case.description == f"Ration card not made\n\n{ABOUT_RATION}"
    assert case.idempotency_key == filing_key("email", "<c1-file@mail.example.in>")
    [started] = intake.starter.started
    assert (started.channel, started.complainant_email) == ("email", "Sita.Devi@example.in")
    attached = await rows(intake, AttachmentRow)
    assert sorted((a.file_name, a.content_type, a.purpose) for a in attached) == [
        ("card.png", "image/png", Purpose.FILING.value),
        ("scan.pdf", "application/pdf", Purpose.FILING.value),
    ]
    # Stored before it was read, files and all (their bytes in the blob store).
    [row] = await rows(intake, InboundMessageRow)
    assert (row.channel, row.sender, row.subject, row.sender_name) == (
        "email",
        "Sita.Devi@example.in",
        message.subject,
        "Sita Devi",
    )
    files = [StoredFile.from_record(r) for r in row.files or []]
    assert [f.file_name for f in files] == ["card.png", "letter.docx", "scan.pdf", "huge.png"]
    assert await intake.service.attachments.blobs.get(files[1].storage_key) == b"PK\x03\x04 not a pdf"
    assert (row.outcome, row.grievance_id) == ("filed", case.id)

    # The sender's server delivers it again: the first answer, nothing filed or attached twice.
    again = await receive(intake, message)
    assert (again.duplicate, again.registration_number, again.reply_en) == (True, number, answer.reply_en)
    assert len(await rows(intake, GrievanceRow)) == 1
    assert len(await rows(intake, AttachmentRow)) == 2


async def test_C1_an_email_that_cannot_become_a_case_is_answered_and_kept(intake: IntakeHarness) -> None:
    sender = "ramesh.c1@example.in"
    no_codes = await receive(intake, email(sender, "<c1-nocodes@x>", "My ration card"))
    assert (no_codes.outcome, no_codes.registration_number) == (Outcome.INVALID, "")
    assert "the category code and the district code are missing" in no_codes.reply_en
    assert "श्रेणी कोड और जिला कोड नहीं दिया गया" in no_codes.reply_hi

    unknown = await receive(intake, email(sender, "<c1-unknown@x>", "GRV UNKNOWN PAT ration card"))
    assert unknown.outcome is Outcome.INVALID
    assert unknown.reply_en.startswith("Not registered: category code: unknown category")
    assert unknown.reply_hi.startswith("शिकायत दर्ज नहीं हुई: श्रेणी कोड")

    short = await receive(intake, email(sender, "<c1-short@x>", "GRV FOOD-RATION-CARD PAT", text="no card"))
    assert "description must be at least 10 characters" in short.reply_en
    assert len(await rows(intake, GrievanceRow)) == 0
    assert [r.outcome for r in await rows(intake, InboundMessageRow)] == ["invalid"] * 3


async def test_B3_a_reply_from_the_complainant_lands_on_the_cases_timeline(intake: IntakeHarness) -> None:
    sender = "sita.reply@example.in"
    number = await file_one(intake, sender, "<b3-file@x>")
    reply = email(
        "SITA.REPLY@example.in",
        "<b3-reply@x>",
        f"Re: Acknowledgement (Form-2): grievance {number} registered",
        text=f"The dealer still refuses.\n\nOn Tue, Nivaran wrote:\n> Your grievance is registered: {number}\n",
        files=(InboundFile("receipt.pdf", "application/pdf", PDF),),
    )
    answer = await receive(intake, reply)
    assert (answer.outcome, answer.registration_number) == (Outcome.APPENDED, number)
    assert answer.reply_en == (
        f"Your message with 1 file has been added to grievance {number}; the officer sees it with the case."
    )
    assert answer.reply_hi.startswith("आपका संदेश (1 फ़ाइल सहित) शिकायत")
    case = await intake.service.get(registration_number=number)
    [event] = [e for e in await intake.service.timeline(case.id) if e.event_type == MESSAGE_EVENT]
    assert event.summary_en == "Message from the complainant by email: The dealer still refuses."
    # S16: the answer names the post holding the case, whose holder the receiver tells.
    assert answer.position_id
    assert answer.position_id == (case.position_id or case.routed_position_id)
    assert event.summary_hi == "शिकायतकर्ता का ईमेल संदेश: The dealer still refuses."
    assert (event.actor_role, event.actor_display_name) == ("citizen", "Sita Devi")
    [attachment] = [a for a in await rows(intake, AttachmentRow) if a.purpose == Purpose.CITIZEN_RESPONSE.value]
    assert event.payload["text"] == "The dealer still refuses."
    assert event.payload["attachment_ids"] == [attachment.id]
    assert event.payload["channel"] == "email"
    assert case.status == "registered"  # a message changes nothing of the case's state

    # Once per message, however often it is delivered; a plus-address reply is a reply too.
    assert (await receive(intake, reply)).duplicate
    tagged = email(sender, "<b3-plus@x>", "one more photo", recipient=f"grievance+{number}@nivaran.example.gov.in")
    assert (await receive(intake, tagged)).outcome is Outcome.APPENDED
    # A very long reply keeps its first MAX_MESSAGE_TEXT characters, and the answer says so.
    long = await receive(intake, email(sender, "<b3-long@x>", f"[{number}] more", text="word " * 1500))
    assert f"Only its first {MAX_MESSAGE_TEXT} characters were kept" in long.reply_en
    assert f"केवल पहले {MAX_MESSAGE_TEXT} अक्षर रखे गए" in long.reply_hi
    events = [e for e in await intake.service.timeline(case.id) if e.event_type == MESSAGE_EVENT]
    assert len(events) == 3
    assert len(events[-1].payload["text"]) == MAX_MESSAGE_TEXT
    assert len(await rows(intake, GrievanceRow)) == 1


async def test_B3_a_stranger_and_an_unknown_number_get_the_same_words_and_nothing_is_added(
    intake: IntakeHarness,
) -> None:
    number = await file_one(intake, "sita.owner@example.in", "<b3-owner@x>")
    case = await intake.service.get(registration_number=number)
    before = [e.id for e in await intake.service.timeline(case.id)]
    photo = (InboundFile("photo.png", "image/png", PNG),)
    stranger = await receive(intake, email("mallory@example.in", "<b3-stranger@x>", f"Re: {number}", files=photo))
    missing_number = f"{number[:-9]}0009999-"
    missing_number += next(d for d in "0123456789" if is_valid_registration_number(missing_number + d))
    unknown = await receive(intake, email("mallory@example.in", "<b3-unknown@x>", f"Re: {missing_number}", files=photo))
    garbled = await receive(intake, email("mallory@example.in", "<b3-garbled@x>", "[BR-PAT-2026-0000001-0] hi"))
    for answer, n in ((stranger, number), (unknown, missing_number), (garbled, "BR-PAT-2026-0000001-0")):
        assert (answer.outcome, answer.registration_number) == (Outcome.NOT_FOUND, "")
        assert answer.reply_en.replace(n, "<n>").startswith("No grievance <n> was filed from this email address")
        assert (answer.reply_en.replace(n, "<n>"), answer.reply_hi.replace(n, "<n>")) == (
            unknown.reply_en.replace(missing_number, "<n>"),
            unknown.reply_hi.replace(missing_number, "<n>"),
        )
    assert "District Supply" not in stranger.reply_en + stranger.reply_hi
    assert [e.id for e in await intake.service.timeline(case.id)] == before
    assert await rows(intake, AttachmentRow) == []


async def test_C2_status_by_email_only_for_the_complainants_own_address(intake: IntakeHarness) -> None:
    number = await file_one(intake, "sita.status@example.in", "<c2-file@x>")
    mine = await receive(intake, email("sita.status@example.in", "<c2-status@x>", f"STATUS {number}", text=""))
    assert (mine.outcome, mine.registration_number) == (Outcome.STATUS, number)
    assert mine.reply_en == f"{number}: registered, with the District Supply Officer"
    theirs = await receive(intake, email("other@example.in", "<c2-other@x>", f"status {number}", text=""))
    assert theirs.outcome is Outcome.NOT_FOUND
    # "Status" as a plain word is no query: a new message (without codes).
    plain = await receive(intake, email("sita.status@example.in", "<c2-plain@x>", "Status update on my card"))
    assert plain.outcome is Outcome.INVALID


async def test_C2_a_message_a_machine_sent_is_kept_and_never_answered(intake: IntakeHarness) -> None:
    answer = await receive(
        intake,
        email("mailer-daemon@example.in", "<auto@x>", "GRV FOOD-RATION-CARD PAT Out of office", automatic=True),
    )
    assert (answer.outcome, answer.reply_en, answer.reply_hi) == (Outcome.AUTOMATIC, "", "")
    [row] = await rows(intake, InboundMessageRow)
    assert (row.automatic, row.outcome) == (True, "automatic")
    assert await rows(intake, GrievanceRow) == []


@ONE_BACKEND
@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"sender": "9876500111"}, ["sender"]),
        ({"sender": "not an address"}, ["sender"]),
        ({"provider_message_id": " "}, ["provider_message_id"]),
        ({"subject": "x" * 2001, "sender_name": "y" * 201}, ["subject", "sender_name"]),
    ],
)
async def test_C2_a_malformed_email_request_is_refused_naming_its_fields(
    intake: IntakeHarness, changes: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await receive(intake, replace(email("sita@example.in", "<bad@x>", "hello"), **changes))
    assert [v.field for v in refused.value.violations] == fields
    assert await rows(intake, InboundMessageRow) == []
