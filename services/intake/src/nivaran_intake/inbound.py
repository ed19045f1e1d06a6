"""Inbound SMS and WhatsApp messages (C2 / B3 / B5): a citizen files a grievance, or asks a case's status, by SMS or
WhatsApp (a filing is on the channel it came by, so that its notices go back the same way).

Every message is stored first, in its own transaction, and only then read, so that none is lost when reading or
filing fails; the outcome and the reply are written afterwards, and a repeat of the same provider message is
answered from them, with nothing filed twice (the filing's idempotency key comes from the provider message too).

The grammar (case-insensitive, any spacing, Hindi keywords too):

    STATUS <registration number>                          स्थिति <पंजीकरण संख्या>
    GRV <category code> <district code> <description>     शिकायत <श्रेणी कोड> <जिला कोड> <विवरण>

Anything else is answered with the help. A status is told only to the number the case was filed from; for any
other number the answer is word for word that of a number that does not exist, so a case's existence never leaks.
An email is stored the same way (with its files, inbound_files.py) and read by inbound_email.py.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from nivaran_common.contact import normalise_phone
from nivaran_common.errors import DomainError, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_common.pii import mask_email, mask_phone
from nivaran_common.timeutil import IST, as_utc, utcnow
from nivaran_intake.domain import (
    CLOSED_STATUSES,
    Channel,
    Complainant,
    Location,
    NewGrievance,
    Status,
    is_valid_registration_number,
    nfc,
)
from nivaran_intake.inbound_files import InboundFile, store_files
from nivaran_intake.service import IntakeService
from nivaran_intake.store import IntakeStore
from nivaran_intake.tables import GrievanceRow, InboundMessageRow

if TYPE_CHECKING:
    from nivaran_intake.whatsapp_chat import WhatsAppChat

log = get_logger(__name__)

# The messaging channels a message comes in by, and the filing channel each files on (B5: answered the same way).
CHANNELS = {"sms": Channel.SMS, "whatsapp": Channel.WHATSAPP}
MAX_PROVIDER_ID = 128
# Far beyond a concatenated SMS (about 1,500 characters); anything longer is not a message from a phone.
MAX_TEXT = 10_000
# A WhatsApp profile name, as the gateway passes it (inbound_messages.sender_name).
MAX_SENDER_NAME = 200
# What became of a file the gateway could not pass on (WhatsApp's media): nothing, too large, not fetched.
FILE_PROBLEMS = frozenset({"", "too_large", "unavailable"})
# An SMS reply stays short: a couple of segments in each language.
MAX_REPLY = 300
SMS_COMPLAINANT = "SMS complainant / एसएमएस शिकायतकर्ता"
SMS_ADDRESS = "(by SMS) / (एसएमएस द्वारा)"
STATUS_KEYWORDS = frozenset({"status", "स्थिति"})
FILE_KEYWORDS = frozenset({"grv", "शिकायत"})
HINDI_KEYWORDS = frozenset({"स्थिति", "शिकायत"})
# Joiners some Devanagari keyboards put inside words; they never change what a keyword says.
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]"
# At most this many problems are named in the answer to a refused filing.
MAX_PROBLEMS = 2


class Outcome(StrEnum):
    STATUS = "status"
    FILED = "filed"
    NOT_FOUND = "not_found"
    HELP = "help"
    INVALID = "invalid"
    # Email (inbound_email.py): a reply added to its case's timeline; a message a machine sent, never answered.
    APPENDED = "appended"
    AUTOMATIC = "automatic"
    # WhatsApp (whatsapp_chat.py): a step of the guided conversation.
    CONVERSATION = "conversation"


@dataclass(frozen=True)
class InboundMessage:
    """A message as the gateway passed it on from the aggregator."""

    channel: str
    sender: str
    text: str
    provider_message_id: str
    received_at: datetime | None = None
    # Email (inbound_email.py): the Subject, the address it was sent to, the sender's display name.
    subject: str = ""
    recipient: str = ""
    sender_name: str = ""
    # Files that came with it (inbound_files.py), and whether a machine sent it (never answered).
    files: tuple[InboundFile, ...] = ()
    automatic: bool = False
    # A file the message carried that the gateway could not pass on: "too_large" or "unavailable".
    file_problem: str = ""


@dataclass(frozen=True)
class Answer:
    """What the sender is answered, and with what outcome."""

    message_id: str
    outcome: Outcome
    reply_en: str
    reply_hi: str
    registration_number: str = ""
    duplicate: bool = False
    # The language the sender chose (a WhatsApp conversation): the reply goes in it alone; "" for both.
    language: str = ""
    # "appended": the post holding the case, whose holder is told of the citizen's message (S16).
    position_id: str = ""


# Parsing: pure functions.


@dataclass(frozen=True)
class StatusQuery:
    registration_number: str


@dataclass(frozen=True)
class SmsFiling:
    category_code: str
    district_code: str
    description: str
    # The keyword was Hindi: the complainant prefers Hindi (their notices come in it), whatever script the text is in.
    hindi: bool = False


@dataclass(frozen=True)
class HelpRequest:
    pass


Command = StatusQuery | SmsFiling | HelpRequest


def _keyword(token: str) -> str:
    return _INVISIBLE.sub("", token).strip(_EDGE_PUNCTUATION).casefold()


def parse(text: str) -> Command:
    """What an SMS asks for: a status, a filing, or (anything else) the help."""
    words = nfc(text).split()
    if not words:
        return HelpRequest()
    keyword, rest = _keyword(words[0]), words[1:]
    if keyword in STATUS_KEYWORDS and rest:
        return StatusQuery(rest[0].strip(_EDGE_PUNCTUATION).upper())
    if keyword in FILE_KEYWORDS and rest:
        codes = [w.strip(_EDGE_PUNCTUATION).upper() for w in rest[:2]]
        category, district = (codes + ["", ""])[:2]
        return SmsFiling(category, district, " ".join(rest[2:]), hindi=keyword in HINDI_KEYWORDS)
    return HelpRequest()


def filing_key(channel: str, provider_message_id: str) -> str:
    """The idempotency key of the case a message files: a redelivered message files once."""
    digest = hashlib.sha256(f"{channel}\x1f{provider_message_id}".encode()).hexdigest()[:40]
    return f"inbound-{channel}:{digest}"


def filing_of(command: SmsFiling, sender: str, key: str, channel: Channel = Channel.SMS) -> NewGrievance:
    """The filing an SMS makes: the sender's number is the complainant's; name and address are placeholders."""
    return NewGrievance(
        complainant=Complainant(
            name=SMS_COMPLAINANT,
            address=SMS_ADDRESS,
            phone=sender,
            preferred_language="hi" if command.hindi else "",
        ),
        subject="",
        description=command.description,
        expected_resolution="",
        category_code=command.category_code,
        location=Location(state_code="", district_code=command.district_code),
        channel=channel,
        language="",
        idempotency_key=key,
    )


# Replies: short, English and Hindi.


def _short(text: str) -> str:
    return text if len(text) <= MAX_REPLY else text[: MAX_REPLY - 1].rstrip() + "…"


def help_reply() -> tuple[str, str]:
    return (
        "To file a grievance send: GRV <category code> <district code> <description>. "
        "To follow one send: STATUS <registration number>",
        "शिकायत दर्ज करने के लिए भेजें: शिकायत <श्रेणी कोड> <जिला कोड> <विवरण>। स्थिति जानने के लिए भेजें: स्थिति <पंजीकरण संख्या>",
    )


def filed_reply(registration_number: str) -> tuple[str, str]:
    n = registration_number
    return f"Registered: {n}. Reply STATUS {n} to follow it.", f"शिकायत दर्ज: {n}। जानने के लिए भेजें: स्थिति {n}"


def not_found_reply(registration_number: str) -> tuple[str, str]:
    """The same words whether the case does not exist or was filed from another number."""
    n = registration_number[:40]
    return _short(f"No grievance {n} filed from this number."), _short(f"इस नंबर से शिकायत {n} दर्ज नहीं है।")


# Where a case stands, in words; {en} / {hi} is the title of the post that holds it.
STATUS_WORDS: dict[Status, tuple[str, str]] = {
    Status.REGISTERED: ("registered, with the {en}", "दर्ज, {hi} के पास"),
    Status.ASSIGNED: ("with the {en}", "{hi} के पास"),
    Status.IN_PROGRESS: ("being acted on by the {en}", "{hi} द्वारा कार्रवाई जारी"),
    Status.AWAITING_CITIZEN: ("the {en} awaits your reply", "{hi} को आपके उत्तर की प्रतीक्षा"),
    Status.ESCALATED: ("escalated, with the {en}", "वरीय स्तर पर, {hi} के पास"),
    Status.DISPOSED: ("disposed of by the {en}", "{hi} द्वारा निस्तारित"),
    Status.REJECTED: ("rejected by the {en}", "{hi} द्वारा अस्वीकृत"),
    Status.CLOSED: ("closed", "बंद"),
    Status.REOPENED: ("reopened, with the {en}", "फिर से खोली गई, {hi} के पास"),
    Status.UNDER_APPEAL: ("under appeal, with the {en}", "अपील में, {hi} के पास"),
    Status.PENDING_TRANSFER: ("being transferred from the {en}", "{hi} से स्थानांतरण जारी"),
    Status.UNRESOLVED: ("not resolved, back with the {en}", "समाधान नहीं, फिर से {hi} के पास"),
}


def status_reply(
    registration_number: str, status: Status, title_en: str, title_hi: str, deadline: datetime | None
) -> tuple[str, str]:
    """`BR-PAT-2026-0000001-1: with the District Supply Officer, next step due 2026-12-10` (the day in India)."""
    en, hi = STATUS_WORDS[status]
    en, hi = en.format(en=title_en or "office"), hi.format(hi=title_hi or "कार्यालय")
    if deadline is not None and status not in CLOSED_STATUSES:
        day = as_utc(deadline).astimezone(IST).date().isoformat()
        en, hi = f"{en}, next step due {day}", f"{hi}, अगली कार्रवाई {day} तक"
    return _short(f"{registration_number}: {en}"), _short(f"{registration_number}: {hi}")


_FIELD_NAMES = {
    "category_code": ("category code", "श्रेणी कोड"),
    "location.district_code": ("district code", "जिला कोड"),
    "description": ("description", "विवरण"),
    "complainant.phone": ("phone number", "फ़ोन नंबर"),
}
# Intake's own checks say what is wrong in English only (domain._Checker); these are their Hindi.
_PREDICATES_HI = (
    (re.compile(r"is required"), "आवश्यक है"),
    (re.compile(r"must be at least (\d+) characters"), r"कम से कम \1 अक्षर का हो"),
    (re.compile(r"must be at most (\d+) characters"), r"अधिकतम \1 अक्षर का हो"),
    (re.compile(r"must be a master-data code.*"), "में केवल अक्षर, अंक और - _ . हों"),
    (re.compile(r"must not contain control characters"), "में नियंत्रण वर्ण न हों"),
)


def problem_words(violation: FieldViolation) -> tuple[str, str]:
    """One refused field in plain words, English and Hindi."""
    name_en, name_hi = _FIELD_NAMES.get(
        violation.field, (violation.field.rsplit(".", 1)[-1].replace("_", " "), violation.field)
    )
    description = violation.description.strip()
    if " / " in description:
        # Routing's (and some of intake's) words are already "English / Hindi", each a whole phrase.
        en, hi = (part.strip() for part in description.split(" / ", 1))
        return f"{name_en}: {en}", f"{name_hi}: {hi}"
    for pattern, hindi in _PREDICATES_HI:
        if pattern.fullmatch(description):
            return f"{name_en} {description}", f"{name_hi} {pattern.sub(hindi, description)}"
    return f"{name_en}: {description}", f"{name_hi}: {description}"


def invalid_reply(refused: DomainError) -> tuple[str, str]:
    """A refused filing: what is wrong, then the format to send."""
    problems = [problem_words(v) for v in refused.violations[:MAX_PROBLEMS]]
    if not problems:
        en, _, hi = refused.message.partition(" / ")
        problems = [(en.strip(), (hi or en).strip())]
    en = "; ".join(p[0] for p in problems)
    hi = "; ".join(p[1] for p in problems)
    return (
        _short(f"Not registered: {en}. Send: GRV <category code> <district code> <description>"),
        _short(f"शिकायत दर्ज नहीं हुई: {hi}। भेजें: शिकायत <श्रेणी कोड> <जिला कोड> <विवरण>"),
    )


# The use case.


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    reply: tuple[str, str]
    registration_number: str = ""
    grievance_id: str | None = None
    language: str = ""
    # "appended": the post holding the case, to be told of the citizen's message.
    position_id: str = ""


def checked_provider_id(message: InboundMessage, violations: list[FieldViolation]) -> str:
    """The provider's id of the message, stripped; a missing or overlong one is added to `violations`."""
    provider_id = message.provider_message_id.strip()
    if not provider_id:
        violations.append(FieldViolation("provider_message_id", "is required"))
    elif len(provider_id) > MAX_PROVIDER_ID:
        violations.append(FieldViolation("provider_message_id", f"must be at most {MAX_PROVIDER_ID} characters"))
    return provider_id


def check(message: InboundMessage) -> InboundMessage:
    """The request as the gateway must send it (not the citizen's text, which is always answered): normalised."""
    violations: list[FieldViolation] = []
    channel = message.channel.strip().lower()
    if channel == "email":
        # Imported here: inbound_email builds on this module.
        from nivaran_intake.inbound_email import check_email

        return check_email(message)
    if channel not in CHANNELS:
        violations.append(FieldViolation("channel", "must be sms, whatsapp or email"))
    sender = normalise_phone(message.sender) if message.sender.strip() else None
    if sender is None:
        violations.append(FieldViolation("sender", "must be an Indian phone number (+91..., 91... or 10 digits)"))
    provider_id = checked_provider_id(message, violations)
    if len(message.text) > MAX_TEXT:
        violations.append(FieldViolation("text", f"must be at most {MAX_TEXT} characters"))
    if len(message.sender_name) > MAX_SENDER_NAME:
        violations.append(FieldViolation("sender_name", f"must be at most {MAX_SENDER_NAME} characters"))
    if message.file_problem not in FILE_PROBLEMS:
        violations.append(FieldViolation("file_problem", "must be too_large, unavailable or empty"))
    if violations or sender is None:
        raise InvalidArgument.of(violations)
    # PostgreSQL cannot store NUL in text; the message is kept otherwise as it came.
    text = message.text.replace("\x00", "\ufffd")
    return replace(message, channel=channel, sender=sender, text=text, provider_message_id=provider_id)


def status_result(grievance: GrievanceRow) -> _Result:
    """The answer to a status query about the sender's own case (any channel)."""
    reply = status_reply(
        grievance.registration_number,
        Status(grievance.status),
        grievance.position_title_en or grievance.routed_position_title_en,
        grievance.position_title_hi or grievance.routed_position_title_hi,
        grievance.current_deadline,
    )
    return _Result(Outcome.STATUS, reply, grievance.registration_number, grievance.id)


class InboundService:
    """Inbound messages: stored, read, answered (C2 / B3); cases are filed through IntakeService.file."""

    def __init__(self, intake: IntakeService, whatsapp: WhatsAppChat | None = None) -> None:
        # Imported here: inbound_email builds on this module.
        from nivaran_intake.inbound_email import EmailInbound

        self.intake = intake
        self.sessions = intake.sessions
        self.email = EmailInbound(intake)
        # WhatsApp's guided conversation (whatsapp_chat.py); without it WhatsApp gets the grammar, as SMS does.
        self.whatsapp = whatsapp

    async def receive(self, message: InboundMessage) -> Answer:
        """Store the message, then answer it; a repeat of a provider message gets the first answer."""
        message = check(message)
        row = await self._store(message)
        if row.outcome is not None:
            log.info("inbound message repeated", message_id=row.id, channel=row.channel, outcome=row.outcome)
            return _answer(row, duplicate=True)
        result = await self._answer(row, message)
        return await self._record(row, result)

    async def _store(self, message: InboundMessage) -> InboundMessageRow:
        """The stored message: a new row in its own committed transaction, or the one of an earlier delivery."""
        # The files' bytes first (content-addressed): the stored message is complete before anything reads it.
        files = await store_files(self.intake.attachments.blobs, message.files)
        now = utcnow()
        row = InboundMessageRow(
            id=str(uuid.uuid4()),
            channel=message.channel,
            sender=message.sender,
            text=message.text,
            provider_message_id=message.provider_message_id,
            received_at=message.received_at or now,
            stored_at=now,
            subject=message.subject or None,
            recipient=message.recipient or None,
            sender_name=message.sender_name or None,
            files=[file.as_record() for file in files] or None,
            automatic=message.automatic,
        )
        try:
            async with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            earlier = await self._stored(message.channel, message.provider_message_id)
            if earlier is None:
                raise
            return earlier
        masked = mask_email(row.sender) if row.channel == "email" else mask_phone(row.sender)
        log.info("inbound message stored", message_id=row.id, channel=row.channel, sender=masked)
        return row

    async def _stored(self, channel: str, provider_message_id: str) -> InboundMessageRow | None:
        stmt = select(InboundMessageRow).where(
            InboundMessageRow.channel == channel, InboundMessageRow.provider_message_id == provider_message_id
        )
        async with self.sessions() as session:
            return (await session.execute(stmt)).scalar_one_or_none()

    async def _answer(self, row: InboundMessageRow, message: InboundMessage | None = None) -> _Result:
        if row.channel == "email":
            return await self.email.answer(row)
        if row.channel == "whatsapp" and self.whatsapp is not None:
            problem = message.file_problem if message is not None else ""
            return await self.whatsapp.answer(row, self._grammar, file_problem=problem)
        return await self._grammar(row) or _Result(Outcome.HELP, help_reply())

    async def _grammar(self, row: InboundMessageRow) -> _Result | None:
        """A status query or a one-line filing answered; None for anything else."""
        command = parse(row.text)
        if isinstance(command, StatusQuery):
            return await self._status(command.registration_number, row.sender)
        if isinstance(command, SmsFiling):
            return await self._file(command, row)
        return None

    async def _status(self, registration_number: str, sender: str) -> _Result:
        grievance: GrievanceRow | None = None
        if is_valid_registration_number(registration_number):
            async with self.sessions() as session:
                grievance = await IntakeStore(session).by_registration_number(registration_number)
        if grievance is None or grievance.complainant_phone != sender:
            return _Result(Outcome.NOT_FOUND, not_found_reply(registration_number))
        return status_result(grievance)

    async def _file(self, command: SmsFiling, row: InboundMessageRow) -> _Result:
        filing = filing_of(command, row.sender, filing_key(row.channel, row.provider_message_id), CHANNELS[row.channel])
        try:
            filed = await self.intake.file(filing)
        except (InvalidArgument, FailedPrecondition, NotFound) as refused:
            # The citizen's message was read and refused: an answer, not an error (routing being down still is one,
            # and the stored message is read again when the aggregator redelivers it).
            log.info("sms filing refused", message_id=row.id, fields=[v.field for v in refused.violations])
            return _Result(Outcome.INVALID, invalid_reply(refused))
        grievance = filed.grievance
        return _Result(
            Outcome.FILED, filed_reply(grievance.registration_number), grievance.registration_number, grievance.id
        )

    async def _record(self, row: InboundMessageRow, result: _Result) -> Answer:
        """Write the outcome once; when a concurrent delivery wrote it first, answer with its."""
        en, hi = result.reply
        async with self.sessions.begin() as session:
            written = await session.execute(
                update(InboundMessageRow)
                .where(InboundMessageRow.id == row.id, InboundMessageRow.outcome.is_(None))
                .values(
                    outcome=result.outcome.value,
                    registration_number=result.registration_number or None,
                    reply_en=en,
                    reply_hi=hi,
                    grievance_id=result.grievance_id,
                )
            )
        if getattr(written, "rowcount", 0) != 1:
            earlier = await self._stored(row.channel, row.provider_message_id)
            if earlier is not None and earlier.outcome is not None:
                return _answer(earlier, duplicate=True)
        log.info(
            "inbound message answered",
            message_id=row.id,
            channel=row.channel,
            outcome=result.outcome.value,
            registration_number=result.registration_number,
        )
        return Answer(
            row.id,
            result.outcome,
            en,
            hi,
            result.registration_number,
            language=result.language,
            position_id=result.position_id,
        )


def _answer(row: InboundMessageRow, *, duplicate: bool) -> Answer:
    """The answer stored with an answered message."""
    assert row.outcome is not None
    return Answer(
        message_id=row.id,
        outcome=Outcome(row.outcome),
        reply_en=row.reply_en or "",
        reply_hi=row.reply_hi or "",
        registration_number=row.registration_number or "",
        duplicate=duplicate,
    )
