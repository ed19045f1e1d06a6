"""Inbound email (C1, B3, B5, C2): a citizen files a grievance, adds to one, or asks its status by writing an email.

The gateway's SMTP receiver (nivaran_gateway.mail_inbound) passes each message on; inbound.py stores it (with its
files, inbound_files.py) before anything here reads it, and answers a repeat of the same Message-ID from the first
answer. A message is read as:

- **a reply to a case** when it names a registration number by a tag in the subject (`[BR-PAT-2026-0000001-7]`), by
  the number anywhere in a reply's subject (`Re: Acknowledgement (Form-2): grievance BR-… registered`), or in the
  address it was sent to (`grievance+BR-PAT-2026-0000001-7@…`). From the case's own complainant's address, its text
  (quoted lines left out) becomes a `citizen_message` on the case's timeline and its files the case's attachments.
  From any other address, or for a number that does not exist, the answer is word for word the same, and nothing is
  added: a case's existence never leaks.
- **a status query**: `STATUS <registration number>` (स्थिति …) as the subject, answered to the complainant's address
  only (the same words as a number that does not exist for anyone else).
- **a new grievance** otherwise: `GRV <category code> <district code>` (शिकायत …) at the start of the subject, or on
  the body's first line, says where it goes; the rest of the subject and the body are the description, the files its
  attachments, the sender its complainant (their display name, a placeholder without one), filed on the email
  channel, so that its acknowledgement (Form-2) goes back by email (B5).

Why the codes are needed: routing sends a case to an officer by its category and district (S8), and the master data
holds no CSPGRS-cell queue (C1, C3) that could take an unsorted email and assign it, so a message that names neither
is answered with exactly what is missing, in Hindi and English. A message a machine sent (an auto-reply, a bounce)
is stored and never answered, so that two auto-responders cannot loop.
"""

from __future__ import annotations

import re
from dataclasses import replace

from nivaran_common.contact import normalise_email
from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_intake.attachments import Purpose
from nivaran_intake.domain import Channel, Complainant, Location, NewGrievance, nfc
from nivaran_intake.inbound import (
    InboundMessage,
    Outcome,
    SmsFiling,
    StatusQuery,
    _Result,
    checked_provider_id,
    filing_key,
    parse,
    problem_words,
    status_result,
)
from nivaran_intake.inbound_files import Attached, StoredFile, attach
from nivaran_intake.projection import Transition
from nivaran_intake.service import IntakeService
from nivaran_intake.store import IntakeStore
from nivaran_intake.tables import GrievanceRow, InboundMessageRow

log = get_logger(__name__)

CHANNEL = "email"
EMAIL_COMPLAINANT = "Email complainant / ईमेल शिकायतकर्ता"
EMAIL_ADDRESS = "(by email) / (ईमेल द्वारा)"
# The actor of what a complainant without an account adds by email (attachments need one).
EMAIL_ACTOR = "inbound-email"
MESSAGE_EVENT = "citizen_message"
# Request limits: the receiver sends no more (its own size limit is far below these).
MAX_SUBJECT = 2000
MAX_ADDRESS = 254
MAX_SENDER_NAME = 200
MAX_BODY = 200_000
MAX_FILES = 50
# A grievance's subject holds at most this much (domain.validate); the whole subject is in the description anyway.
MAX_CASE_SUBJECT = 300
# What a timeline entry keeps of a reply's text, and shows in its one-line summary.
MAX_MESSAGE_TEXT = 5000
SNIPPET = 120
MAX_PROBLEMS = 3

_NUMBER = r"[A-Za-z]{2}-[A-Za-z0-9]{2,6}-\d{4}-\d{7}-\d"
_ANY_NUMBER = re.compile(rf"(?<![A-Za-z0-9-])({_NUMBER})(?![A-Za-z0-9-])")
_TAGGED_NUMBER = re.compile(rf"\[\s*({_NUMBER})\s*\]")
# "Re:", "RE[2]:", "Aw:", "Sv:", "Antw:", repeated: the subject of a reply.
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.IGNORECASE)
_PLUS_TAG = re.compile(rf"^[^@+]+\+\s*({_NUMBER})\s*@", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ATTRIBUTION = re.compile(r"(wrote|writes|लिखा)\s*:\s*$", re.IGNORECASE)


def check_email(message: InboundMessage) -> InboundMessage:
    """An email as the receiver must pass it on (not the citizen's text, which is always answered): normalised."""
    violations: list[FieldViolation] = []
    sender = normalise_email(message.sender) if message.sender.strip() else None
    if sender is None:
        violations.append(FieldViolation("sender", "must be an email address"))
    provider_id = checked_provider_id(message, violations)
    limits = (
        ("text", message.text, MAX_BODY),
        ("subject", message.subject, MAX_SUBJECT),
        ("recipient", message.recipient, MAX_ADDRESS),
        ("sender_name", message.sender_name, MAX_SENDER_NAME),
    )
    violations += [
        FieldViolation(name, f"must be at most {limit} characters")
        for name, value, limit in limits
        if len(value) > limit
    ]
    if len(message.files) > MAX_FILES:
        violations.append(FieldViolation("files", f"must be at most {MAX_FILES} files"))
    if violations or sender is None:
        raise InvalidArgument.of(violations)
    # PostgreSQL cannot store NUL in text; the message is kept otherwise as it came.
    return replace(
        message,
        channel=CHANNEL,
        sender=sender,
        text=message.text.replace("\x00", "\ufffd"),
        provider_message_id=provider_id,
        subject=message.subject.replace("\x00", "\ufffd"),
        recipient=message.recipient.strip(),
        sender_name=message.sender_name.replace("\x00", "\ufffd"),
    )


# Reading: pure functions.


def case_reference(subject: str, recipient: str) -> str | None:
    """The registration number a reply names (upper case): a plus-address tag, a `[number]` tag in the subject, or a
    number anywhere in a reply's subject; None for a message that is no reply."""
    for match in (_PLUS_TAG.match(recipient.strip()), _TAGGED_NUMBER.search(subject)):
        if match:
            return match.group(1).upper()
    if _REPLY_PREFIX.match(subject):
        found = _ANY_NUMBER.search(subject)
        if found:
            return found.group(1).upper()
    return None


def without_quote(text: str) -> str:
    """A reply's own words: the quoted lines (`> …`) and the attribution line above them left out."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        if line.lstrip().startswith(">"):
            while kept and not kept[-1].strip():
                kept.pop()
            if kept and _ATTRIBUTION.search(kept[-1]):
                kept.pop()
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def display_name(sender_name: str) -> str:
    """The complainant's name from the sender's display name; the placeholder when there is none to use."""
    name = " ".join(_CONTROL.sub(" ", nfc(sender_name)).split()).strip("\"' ")
    return name[:MAX_SENDER_NAME] if len(name) >= 2 else EMAIL_COMPLAINANT


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _codes(line: str) -> SmsFiling | None:
    """`GRV <category> <district> …` (the SMS grammar) at the start of `line`. "शिकायत" is also the everyday Hindi word
    for a complaint, so after it the next word must look like a code for the line to be the command."""
    command = parse(line)
    if not isinstance(command, SmsFiling):
        return None
    if command.hindi and not _CODE.fullmatch(command.category_code):
        return None
    return command


def filing_of(message: InboundMessageRow, key: str) -> tuple[NewGrievance, bool]:
    """The grievance a new email files, and whether it named its category and district (GRV … in the subject or
    on the body's first line)."""
    # "Re: GRV …": a reply to an answer that named no case, written again with the codes.
    subject = _REPLY_PREFIX.sub("", nfc(message.subject or "")).strip()
    body = nfc(message.text).replace("\r\n", "\n").strip()
    first, _, rest = body.partition("\n")
    category = district = ""
    hindi = False
    if (command := _codes(subject)) is not None:
        category, district, hindi = command.category_code, command.district_code, command.hindi
        subject = command.description
    elif (command := _codes(first)) is not None:
        category, district, hindi = command.category_code, command.district_code, command.hindi
        body = "\n".join(part for part in (command.description, rest.strip()) if part)
    description = "\n\n".join(part for part in (subject, body) if part)
    filing = NewGrievance(
        complainant=Complainant(
            name=display_name(message.sender_name or ""),
            address=EMAIL_ADDRESS,
            email=message.sender,
            preferred_language="hi" if hindi else "",
        ),
        subject=_short(subject, MAX_CASE_SUBJECT),
        description=description,
        expected_resolution="",
        category_code=category,
        location=Location(state_code="", district_code=district),
        channel=Channel.EMAIL,
        language="",
        idempotency_key=key,
    )
    return filing, bool(category and district)


# Answers, in English and Hindi. An email may say more than an SMS, so each names what to do next.

_FORMAT_EN = (
    "Write the subject as: GRV <category code> <district code> <subject>, for example "
    '"GRV FOOD-RATION-CARD PAT Ration card not made", and describe the grievance in the message.'
)
_FORMAT_HI = (
    "विषय इस प्रकार लिखें: शिकायत <श्रेणी कोड> <जिला कोड> <विषय>, जैसे "
    '"शिकायत FOOD-RATION-CARD PAT राशन कार्ड नहीं बना", और संदेश में शिकायत का विवरण लिखें।'
)


def _files_lines(attached: Attached) -> tuple[str, str]:
    if not attached.refused:
        return "", ""
    en = "; ".join(f"{f.file_name} ({f.reason_en})" for f in attached.refused)
    hi = "; ".join(f"{f.file_name} ({f.reason_hi})" for f in attached.refused)
    return (
        f" These files were not attached: {en}. Attach PDF, JPEG or PNG files in a reply.",
        f" ये फ़ाइलें संलग्न नहीं हुईं: {hi}। उत्तर में PDF, JPEG या PNG फ़ाइलें भेजें।",
    )


def filed_reply(registration_number: str, attached: Attached) -> tuple[str, str]:
    n = registration_number
    files_en, files_hi = _files_lines(attached)
    return (
        f"Your grievance is registered: {n}. The acknowledgement (Form-2) follows by email. To add to it, reply "
        f"keeping [{n}] in the subject; to follow it, write STATUS {n} as the subject.{files_en}",
        f"आपकी शिकायत दर्ज हुई: {n}। पावती (प्रपत्र-2) ईमेल से भेजी जा रही है। कुछ जोड़ने के लिए विषय में [{n}] "
        f"रखते हुए उत्तर दें; स्थिति जानने के लिए विषय में लिखें: स्थिति {n}।{files_hi}",
    )


def appended_reply(registration_number: str, attached: Attached, *, cut: bool = False) -> tuple[str, str]:
    n = registration_number
    count = len(attached.attachment_ids)
    files_en, files_hi = _files_lines(attached)
    with_en = f" with {count} file{'s' if count != 1 else ''}" if count else ""
    with_hi = f" ({count} फ़ाइल सहित)" if count else ""
    cut_en = f" Only its first {MAX_MESSAGE_TEXT} characters were kept: send the rest as a PDF." if cut else ""
    cut_hi = f" केवल पहले {MAX_MESSAGE_TEXT} अक्षर रखे गए: शेष PDF के रूप में भेजें।" if cut else ""
    return (
        f"Your message{with_en} has been added to grievance {n}; the officer sees it with the case.{cut_en}{files_en}",
        f"आपका संदेश{with_hi} शिकायत {n} में जोड़ दिया गया है; अधिकारी इसे मामले के साथ देखेंगे।{cut_hi}{files_hi}",
    )


def empty_reply(registration_number: str) -> tuple[str, str]:
    n = registration_number
    return (
        f"Your message had no text and no file, so nothing was added to grievance {n}.",
        f"आपके संदेश में न कोई पाठ था न कोई फ़ाइल, इसलिए शिकायत {n} में कुछ नहीं जोड़ा गया।",
    )


def not_found_reply(registration_number: str) -> tuple[str, str]:
    """The same words whether the case does not exist or was filed from another address."""
    n = _short(registration_number, 40)
    return (
        f"No grievance {n} was filed from this email address, so nothing was added to it. To file a new grievance: "
        f"{_FORMAT_EN}",
        f"इस ईमेल पते से शिकायत {n} दर्ज नहीं है, इसलिए उसमें कुछ नहीं जोड़ा गया। नई शिकायत के लिए: {_FORMAT_HI}",
    )


def missing_codes_reply(filing: NewGrievance) -> tuple[str, str]:
    """A new message that does not say where it goes: exactly which of the codes (and the description) is missing."""
    missing = [
        words
        for present, words in (
            (filing.category_code, ("the category code", "श्रेणी कोड")),
            (filing.location.district_code, ("the district code", "जिला कोड")),
            (filing.description.strip(), ("the description", "विवरण")),
        )
        if not present
    ]
    en = " and ".join(", ".join(m[0] for m in missing).rsplit(", ", 1))
    hi = " और ".join(", ".join(m[1] for m in missing).rsplit(", ", 1))
    return (
        f"Not registered: {en} {'is' if len(missing) == 1 else 'are'} missing. {_FORMAT_EN}",
        f"शिकायत दर्ज नहीं हुई: {hi} नहीं दिया गया। {_FORMAT_HI}",
    )


def invalid_reply(refused: InvalidArgument | FailedPrecondition | NotFound) -> tuple[str, str]:
    """A refused filing: what is wrong, then the format to send."""
    problems = [problem_words(v) for v in refused.violations[:MAX_PROBLEMS]]
    if not problems:
        en, _, hi = refused.message.partition(" / ")
        problems = [(en.strip(), (hi or en).strip())]
    return (
        f"Not registered: {'; '.join(p[0] for p in problems)}. {_FORMAT_EN}",
        f"शिकायत दर्ज नहीं हुई: {'; '.join(p[1] for p in problems)}। {_FORMAT_HI}",
    )


def same_address(a: str | None, b: str | None) -> bool:
    """Two normalised addresses name the same mailbox (mail systems ignore the case of the local part too)."""
    return bool(a and b) and str(a).casefold() == str(b).casefold()


# The use case.


class EmailInbound:
    """Reads a stored email (inbound.InboundService stores and records it): files, appends, or answers a status."""

    def __init__(self, intake: IntakeService) -> None:
        self.intake = intake
        self.sessions = intake.sessions

    async def answer(self, row: InboundMessageRow) -> _Result:
        """What the stored email asks for, done; the outcome and the reply."""
        if row.automatic:
            log.info("automatic email stored, not answered", message_id=row.id)
            return _Result(Outcome.AUTOMATIC, ("", ""))
        files = [StoredFile.from_record(record) for record in row.files or []]
        number = case_reference(row.subject or "", row.recipient or "")
        if number is not None:
            return await self._append(row, number, files)
        query = parse(nfc(row.subject or ""))
        if isinstance(query, StatusQuery) and _ANY_NUMBER.fullmatch(query.registration_number):
            return await self._status(row, query.registration_number)
        return await self._file(row, files)

    async def _own_case(self, registration_number: str, sender: str) -> GrievanceRow | None:
        """The case when the sender is its complainant; None for a stranger and for a number that does not exist."""
        async with self.sessions() as session:
            grievance = await IntakeStore(session).by_registration_number(registration_number)
        if grievance is None or not same_address(grievance.complainant_email, sender):
            return None
        return grievance

    async def _status(self, row: InboundMessageRow, registration_number: str) -> _Result:
        grievance = await self._own_case(registration_number, row.sender)
        if grievance is None:
            return _Result(Outcome.NOT_FOUND, not_found_reply(registration_number))
        return status_result(grievance)

    async def _append(self, row: InboundMessageRow, registration_number: str, files: list[StoredFile]) -> _Result:
        grievance = await self._own_case(registration_number, row.sender)
        if grievance is None:
            log.info("email reply refused", message_id=row.id)
            return _Result(Outcome.NOT_FOUND, not_found_reply(registration_number))
        n = grievance.registration_number
        text = without_quote(row.text)
        if not text and not files:
            return _Result(Outcome.INVALID, empty_reply(n), n, grievance.id)
        key = filing_key(row.channel, row.provider_message_id)
        name = display_name(row.sender_name or "")
        actor = {
            "account_id": grievance.complainant_account_id or EMAIL_ACTOR,
            "role": "citizen",
            "display_name": grievance.complainant_name if name == EMAIL_COMPLAINANT else name,
        }
        attached = await attach(
            self.intake.attachments, grievance.id, files, purpose=Purpose.CITIZEN_RESPONSE, actor=actor, key_prefix=key
        )
        snippet = _short(text, SNIPPET) or f"{len(attached.attachment_ids)} file(s)"
        await self.intake.record_transition(
            Transition(
                grievance_id=grievance.id,
                idempotency_key=f"{key}:message",
                event_type=MESSAGE_EVENT,
                summary_en=f"Message from the complainant by email: {snippet}",
                summary_hi=f"शिकायतकर्ता का ईमेल संदेश: {snippet}",
                actor=actor,
                payload={
                    "channel": CHANNEL,
                    "subject": _short(row.subject or "", MAX_CASE_SUBJECT),
                    "text": text[:MAX_MESSAGE_TEXT],
                    "attachment_ids": list(attached.attachment_ids),
                    "message_id": row.id,
                },
                occurred_at=row.received_at,
            )
        )
        log.info("email reply added to the case", message_id=row.id, registration_number=n)
        cut = len(text) > MAX_MESSAGE_TEXT
        return _Result(
            Outcome.APPENDED,
            appended_reply(n, attached, cut=cut),
            n,
            grievance.id,
            position_id=grievance.position_id or grievance.routed_position_id,
        )

    async def _file(self, row: InboundMessageRow, files: list[StoredFile]) -> _Result:
        key = filing_key(row.channel, row.provider_message_id)
        filing, addressed = filing_of(row, key)
        if not addressed:
            return _Result(Outcome.INVALID, missing_codes_reply(filing))
        try:
            filed = await self.intake.file(filing)
        except (InvalidArgument, FailedPrecondition, NotFound) as refused:
            # Read and refused: an answer, not an error (routing being down still is one, and the sender's server
            # delivers the message again).
            log.info("email filing refused", message_id=row.id, fields=[v.field for v in refused.violations])
            return _Result(Outcome.INVALID, invalid_reply(refused))
        grievance = filed.grievance
        actor = {"account_id": EMAIL_ACTOR, "role": "citizen", "display_name": grievance.complainant_name}
        attached = await attach(
            self.intake.attachments, grievance.id, files, purpose=Purpose.FILING, actor=actor, key_prefix=key
        )
        n = grievance.registration_number
        return _Result(Outcome.FILED, filed_reply(n, attached), n, grievance.id)
