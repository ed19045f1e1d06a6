"""Intake's domain: what a filing must hold (B1), registration numbers (B4), statuses and channels."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from stdnum import verhoeff
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.in_ import aadhaar as stdnum_aadhaar

from nivaran_common.contact import normalise_email, normalise_phone
from nivaran_common.errors import FieldViolation
from nivaran_common.pii import mask_aadhaar
from nivaran_intake.service_delay import ServiceApplication, ValidServiceApplication, check_fields, india_today


class Status(StrEnum):
    REGISTERED = "registered"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_CITIZEN = "awaiting_citizen"
    ESCALATED = "escalated"
    DISPOSED = "disposed"
    REJECTED = "rejected"
    CLOSED = "closed"
    REOPENED = "reopened"
    UNDER_APPEAL = "under_appeal"
    PENDING_TRANSFER = "pending_transfer"
    # H3: feedback contradicted the claimed resolution; the case is back with its officer.
    UNRESOLVED = "unresolved"


# A case in one of these is no longer pending: it counts as disposed and never as overdue.
CLOSED_STATUSES = frozenset({Status.DISPOSED, Status.REJECTED, Status.CLOSED})
# Timeline events by which an ended case comes back to its officer (issue 10): each counts in the case's `returns`,
# and a case that came back counts as "closed — not fixed", never among the resolved ones.
RETURN_EVENTS = frozenset({"reopened", "unresolved"})
# M4: the lifecycle's events that open and close a watch item on an ended case.
WATCH_OPENED = "watch_opened"
WATCH_CLOSED = "watch_closed"


class GrievanceOrder(StrEnum):
    """How a list of cases is sorted."""

    # Filed most recently first.
    NEWEST = "newest"
    # The officer's work list: nearest current deadline first, cases without one last, then newest first.
    DEADLINE = "deadline"


class Channel(StrEnum):
    """Channels of C1 and B3."""

    WEB = "web"
    MOBILE = "mobile"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    CALL_CENTRE = "call_centre"
    POST = "post"
    COUNTER = "counter"
    CAMP = "camp"
    IN_PERSON = "in_person"
    SMS = "sms"
    DEPARTMENT_SYSTEM = "department_system"


LANGUAGES = frozenset({"hi", "en"})
# S2 / C2: channels on which a member of staff takes the grievance and files it for the caller (filed_by names them);
# the call centre's only by its operators.
STAFF_CHANNELS = frozenset({Channel.CALL_CENTRE, Channel.COUNTER, Channel.IN_PERSON, Channel.POST})
CALL_CENTRE_ROLE = "CALL_CENTRE"
REGISTRATION_NUMBER = re.compile(
    r"^(?P<state>[A-Z]{2})-(?P<district>[A-Z0-9]{2,6})-(?P<year>\d{4})-(?P<seq>\d{7})-(?P<check>\d)$"
)
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Location:
    state_code: str
    district_code: str
    subdivision_code: str = ""
    block_code: str = ""
    panchayat_code: str = ""
    thana_code: str = ""


@dataclass(frozen=True)
class Complainant:
    name: str
    address: str
    phone: str | None = None
    email: str | None = None
    aadhaar: str | None = None
    account_id: str | None = None
    preferred_language: str = ""
    # C2: sms, whatsapp or email; "" for every contact given.
    preferred_channel: str = ""


@dataclass(frozen=True)
class FilingActor:
    account_id: str
    role: str


@dataclass(frozen=True)
class NewGrievance:
    """A filing as the citizen (or an officer on their behalf, S2) submitted it, before validation."""

    complainant: Complainant
    subject: str
    description: str
    expected_resolution: str
    category_code: str
    location: Location
    channel: Channel | None
    language: str
    idempotency_key: str | None
    filed_by: FilingActor | None = None
    # S4: the service application a service-delay complaint is about.
    service_application: ServiceApplication | None = None
    # S1: the camp the application is for (its track and channel follow from it).
    camp_id: str = ""
    # S1: the day the camp took it on paper (YYYY-MM-DD), when its staff file it later.
    camp_received_on: str = ""


@dataclass(frozen=True)
class ValidComplainant:
    name: str
    address: str
    phone_e164: str | None
    email: str | None
    aadhaar_masked: str | None
    aadhaar_hash: str | None
    account_id: str | None
    preferred_language: str
    preferred_channel: str = ""


@dataclass(frozen=True)
class ValidGrievance:
    complainant: ValidComplainant
    subject: str
    description: str
    expected_resolution: str
    category_code: str
    location: Location
    channel: Channel
    language: str
    track: str
    idempotency_key: str | None
    filed_by: FilingActor | None
    fingerprint: str
    service_application: ValidServiceApplication | None = None
    camp_id: str = ""
    camp_received_on: date | None = None


@dataclass
class _Checker:
    violations: list[FieldViolation] = field(default_factory=list)

    def text(self, name: str, value: str, *, required: bool, min_len: int = 0, max_len: int) -> str:
        value = nfc(value).strip()
        if _CONTROL.search(value):
            self.violations.append(FieldViolation(name, "must not contain control characters"))
        elif not value:
            if required:
                self.violations.append(FieldViolation(name, "is required"))
        elif len(value) < min_len:
            self.violations.append(FieldViolation(name, f"must be at least {min_len} characters"))
        elif len(value) > max_len:
            self.violations.append(FieldViolation(name, f"must be at most {max_len} characters"))
        return value

    def code(self, name: str, value: str, *, required: bool) -> str:
        value = value.strip()
        if not value:
            if required:
                self.violations.append(FieldViolation(name, "is required"))
        elif not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            self.violations.append(FieldViolation(name, "must be a master-data code (letters, digits, - _ .)"))
        return value


def nfc(value: str) -> str:
    """Free text in Unicode NFC, so क़ typed precomposed (U+0958) or decomposed (U+0915 U+093C) matches.

    U+0958 is a composition exclusion: NFC decomposes it, so both spellings become U+0915 U+093C.
    """
    return unicodedata.normalize("NFC", value)


def aadhaar_hash(digits: str, key: bytes) -> str:
    """Keyed (salted) hash of an Aadhaar number: lets a case be found by Aadhaar without storing it."""
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()


def detect_language(*texts: str) -> str:
    """Hindi when the text is written in Devanagari, otherwise English."""
    return "hi" if any(_DEVANAGARI.search(t) for t in texts) else "en"


def fingerprint(filing: NewGrievance) -> str:
    """Stable digest of what was filed, to tell a retry from a different filing under the same key."""
    c = filing.complainant
    parts = [
        nfc(c.name).strip(), nfc(c.address).strip(), c.phone or "", c.email or "", c.aadhaar or "",
        nfc(filing.subject).strip(), nfc(filing.description).strip(), nfc(filing.expected_resolution).strip(),
        filing.category_code.strip(),
        filing.location.district_code, filing.location.subdivision_code, filing.location.block_code,
        filing.location.panchayat_code, filing.location.thana_code,
        # "": the place of the free `track` a filing once carried, so that fingerprints stored before stay valid.
        filing.channel.value if filing.channel else "", filing.language, "",
    ]  # fmt: skip
    if filing.service_application is not None:
        a = filing.service_application
        parts += [a.application_number.strip(), a.applied_on.strip(), nfc(a.status).strip()]
        if a.acknowledgement_pdf:
            parts += [hashlib.sha256(a.acknowledgement_pdf).hexdigest(), a.acknowledgement_file_name]
    if filing.camp_id:
        parts.append(filing.camp_id.strip())
    if filing.camp_received_on:
        parts.append(filing.camp_received_on.strip())
    if c.preferred_channel:
        parts.append(f"prefers:{c.preferred_channel.strip().lower()}")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def validate(filing: NewGrievance, aadhaar_key: bytes) -> tuple[ValidGrievance | None, list[FieldViolation]]:
    """Check a filing field by field (B1); returns every violation at once, never only the first."""
    check = _Checker()
    c = filing.complainant
    name = check.text("complainant.name", c.name, required=True, min_len=2, max_len=200)
    address = check.text("complainant.address", c.address, required=True, min_len=3, max_len=1000)
    subject = check.text("subject", filing.subject, required=False, max_len=300)
    description = check.text("description", filing.description, required=True, min_len=10, max_len=5000)
    expected = check.text("expected_resolution", filing.expected_resolution, required=False, max_len=2000)
    category = check.code("category_code", filing.category_code, required=True)
    district = check.code("location.district_code", filing.location.district_code, required=True)
    for attr in ("subdivision_code", "block_code", "panchayat_code", "thana_code"):
        check.code(f"location.{attr}", getattr(filing.location, attr), required=False)

    phone: str | None = None
    if c.phone and c.phone.strip():
        phone = normalise_phone(c.phone)
        if phone is None:
            check.violations.append(FieldViolation("complainant.phone", "must be a valid Indian phone number"))
    email: str | None = None
    if c.email and c.email.strip():
        email = normalise_email(c.email)
        if email is None:
            check.violations.append(FieldViolation("complainant.email", "is not a valid email address"))
    masked: str | None = None
    hashed: str | None = None
    if c.aadhaar and c.aadhaar.strip():
        digits = re.sub(r"[\s-]", "", c.aadhaar)
        try:
            stdnum_aadhaar.validate(digits)
        except StdnumValidationError:
            check.violations.append(
                FieldViolation("complainant.aadhaar", "is not a valid Aadhaar number (12 digits, checksum)")
            )
        else:
            masked, hashed = mask_aadhaar(digits), aadhaar_hash(digits, aadhaar_key)
    if filing.channel is None:
        check.violations.append(FieldViolation("channel", "is required"))
    elif filing.channel in STAFF_CHANNELS and filing.filed_by is None:
        check.violations.append(
            FieldViolation(
                "channel",
                f"{filing.channel.value}: recorded by the staff who take the grievance and file it for the caller "
                "(S2) / यह माध्यम केवल शिकायत दर्ज करने वाले कर्मी के लिए",
            )
        )
    elif (
        filing.channel is Channel.CALL_CENTRE
        and filing.filed_by is not None
        and filing.filed_by.role != CALL_CENTRE_ROLE
    ):
        check.violations.append(
            FieldViolation("channel", "call_centre: filed by a call-centre operator / केवल कॉल सेंटर ऑपरेटर")
        )
    if filing.language and filing.language not in LANGUAGES:
        check.violations.append(FieldViolation("language", "must be hi or en"))
    preferred = c.preferred_language.strip()
    if preferred and preferred not in LANGUAGES:
        check.violations.append(FieldViolation("complainant.preferred_language", "must be hi or en"))
    preferred_channel = _preferred_channel(c.preferred_channel, phone, email, check.violations)
    application = check_fields(filing.service_application, india_today(), check.violations)
    received_on = _camp_received_on(filing, check.violations)
    key = filing.idempotency_key
    if key is not None and not re.fullmatch(r"[A-Za-z0-9_:.-]{8,128}", key):
        check.violations.append(FieldViolation("idempotency_key", "must be 8-128 characters of A-Z a-z 0-9 _ : . -"))
    if check.violations or filing.channel is None:
        return None, check.violations
    language = filing.language or detect_language(description, subject)
    return (
        ValidGrievance(
            complainant=ValidComplainant(
                name=name,
                address=address,
                phone_e164=phone,
                email=email,
                aadhaar_masked=masked,
                aadhaar_hash=hashed,
                account_id=c.account_id or None,
                preferred_language=preferred or language,
                preferred_channel=preferred_channel,
            ),
            subject=subject,
            description=description,
            expected_resolution=expected,
            category_code=category,
            location=Location(
                state_code=filing.location.state_code,
                district_code=district.upper(),
                subdivision_code=filing.location.subdivision_code.strip(),
                block_code=filing.location.block_code.strip(),
                panchayat_code=filing.location.panchayat_code.strip(),
                thana_code=filing.location.thana_code.strip(),
            ),
            channel=filing.channel,
            language=language,
            # The category's track unless a camp sets sahyog_camp (IntakeService.file); never the caller's (S3).
            track="",
            idempotency_key=key,
            filed_by=filing.filed_by,
            fingerprint=fingerprint(filing),
            service_application=application,
            camp_id=filing.camp_id.strip(),
            camp_received_on=received_on,
        ),
        [],
    )


def registration_scope(state_code: str, district_code: str, year: int) -> str:
    """The counter a registration number is drawn from: one sequence per state, district and year."""
    return f"{state_code}-{district_code}-{year}"


def format_registration_number(scope: str, sequence: int) -> str:
    """`BR-PAT-2026-0000123-4`: scope, a 7-digit sequence and a Verhoeff check digit that catches typos."""
    year = scope.rsplit("-", 1)[1]
    check = verhoeff.calc_check_digit(f"{year}{sequence:07d}")
    return f"{scope}-{sequence:07d}-{check}"


def is_valid_registration_number(value: str) -> bool:
    """Shape and check digit of a registration number."""
    match = REGISTRATION_NUMBER.fullmatch(value)
    return bool(match) and verhoeff.is_valid(f"{match['year']}{match['seq']}{match['check']}") if match else False


def _camp_received_on(filing: NewGrievance, violations: list[FieldViolation]) -> date | None:
    """S1: the day a camp took a paper application, given by the camp's staff who file it later (never by the
    applicant, whose filing is received when it is made); the camp's window is checked with the camp."""
    text = filing.camp_received_on.strip()
    if not text:
        return None
    if not filing.camp_id.strip():
        violations.append(FieldViolation("camp_received_on", "only with camp_id / केवल शिविर के आवेदन पर"))
        return None
    if filing.filed_by is None:
        violations.append(
            FieldViolation(
                "camp_received_on",
                "set by the camp's staff who file the application on the applicant's behalf / शिविर कर्मी द्वारा",
            )
        )
        return None
    try:
        received = date.fromisoformat(text)
    except ValueError:
        violations.append(FieldViolation("camp_received_on", "a date, YYYY-MM-DD / तिथि YYYY-MM-DD"))
        return None
    if received > india_today():
        violations.append(FieldViolation("camp_received_on", "not after today / आज के बाद की तिथि नहीं"))
        return None
    return received


# C2: the channels a complainant may prefer, and the contact each needs.
PREFERRED_CHANNELS = {"sms": "phone", "whatsapp": "phone", "email": "email"}


def _preferred_channel(value: str, phone: str | None, email: str | None, violations: list[FieldViolation]) -> str:
    """The complainant's preferred channel, which needs its contact given."""
    chosen = value.strip().lower()
    if not chosen:
        return ""
    needs = PREFERRED_CHANNELS.get(chosen)
    if needs is None:
        violations.append(FieldViolation("complainant.preferred_channel", "must be sms, whatsapp or email"))
        return ""
    if (phone if needs == "phone" else email) is None:
        violations.append(FieldViolation("complainant.preferred_channel", f"{chosen} needs the complainant's {needs}"))
        return ""
    return chosen
