"""Validation of a filing (B1) and registration numbers (B4)."""

import pytest

from nivaran.intake.v1 import intake_pb2
from nivaran_intake.domain import (
    Channel,
    Complainant,
    FilingActor,
    Location,
    NewGrievance,
    format_registration_number,
    is_valid_registration_number,
    validate,
)

KEY = b"k"
VALID_AADHAAR = "234123412346"  # passes the Verhoeff checksum


def filing(**changes: object) -> NewGrievance:
    base = {
        "complainant": Complainant(name="सीता देवी", address="ग्राम बेलदारीचक, पटना"),
        "subject": "",
        "description": "मेरा राशन कार्ड छह महीने से नहीं बना है।",
        "expected_resolution": "",
        "category_code": "FOOD-RATION-CARD",
        "location": Location(state_code="BR", district_code="PAT"),
        "channel": Channel.WEB,
        "language": "",
        "idempotency_key": None,
    }
    base.update(changes)
    return NewGrievance(**base)  # type: ignore[arg-type]


def test_B1_phone_email_and_aadhaar_are_optional() -> None:
    valid, violations = validate(filing(), KEY)
    assert violations == []
    assert valid is not None
    assert valid.complainant.phone_e164 is None
    assert valid.complainant.aadhaar_masked is None
    assert valid.language == "hi"


def test_B1_name_address_and_particulars_are_required() -> None:
    valid, violations = validate(
        filing(complainant=Complainant(name=" ", address=""), description="", category_code=""), KEY
    )
    assert valid is None
    assert {v.field for v in violations} == {
        "complainant.name",
        "complainant.address",
        "description",
        "category_code",
    }


def test_B1_aadhaar_is_stored_masked_with_a_keyed_hash() -> None:
    valid, _ = validate(filing(complainant=Complainant(name="Ram", address="Patna", aadhaar=VALID_AADHAAR)), KEY)
    assert valid is not None
    assert valid.complainant.aadhaar_masked == "XXXX-XXXX-2346"
    assert valid.complainant.aadhaar_hash is not None
    assert VALID_AADHAAR not in valid.complainant.aadhaar_hash
    other, _ = validate(filing(complainant=Complainant(name="Ram", address="Patna", aadhaar=VALID_AADHAAR)), b"x")
    assert other is not None
    assert other.complainant.aadhaar_hash != valid.complainant.aadhaar_hash


@pytest.mark.parametrize(
    ("complainant", "field"),
    [
        (Complainant(name="Ram", address="Patna", aadhaar="234123412345"), "complainant.aadhaar"),
        (Complainant(name="Ram", address="Patna", aadhaar="12345"), "complainant.aadhaar"),
        (Complainant(name="Ram", address="Patna", phone="12345"), "complainant.phone"),
        (Complainant(name="Ram", address="Patna", email="not-an-email"), "complainant.email"),
        (Complainant(name="Ram\x00", address="Patna"), "complainant.name"),
    ],
)
def test_bad_complainant_fields_are_named(complainant: Complainant, field: str) -> None:
    valid, violations = validate(filing(complainant=complainant), KEY)
    assert valid is None
    assert [v.field for v in violations] == [field]


def test_phone_is_normalised_to_e164() -> None:
    valid, _ = validate(filing(complainant=Complainant(name="Ram", address="Patna", phone="098765 43210")), KEY)
    assert valid is not None
    assert valid.complainant.phone_e164 == "+919876543210"


def test_channel_and_language_are_checked() -> None:
    _, violations = validate(filing(channel=None, language="fr"), KEY)
    assert {v.field for v in violations} == {"channel", "language"}


def test_S3_a_filing_cannot_choose_its_track() -> None:
    """The track follows from the category, or from the camp (S3); no caller, citizen or department system, names
    it: the request has no such field, and a validated filing carries none until intake sets it."""
    assert "track" not in intake_pb2.FileGrievanceRequest.DESCRIPTOR.fields_by_name
    valid, _ = validate(filing(), KEY)
    assert valid is not None
    assert valid.track == ""


def test_B4_registration_number_has_scope_sequence_and_check_digit() -> None:
    number = format_registration_number("BR-PAT-2026", 123)
    assert number.startswith("BR-PAT-2026-0000123-")
    assert is_valid_registration_number(number)
    mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not is_valid_registration_number(mistyped)
    assert not is_valid_registration_number("BR-PAT-2026-123")


@pytest.mark.parametrize(
    ("channel", "filed_by", "refused"),
    [
        (Channel.CALL_CENTRE, None, True),  # a caller cannot say the call centre took it
        (Channel.COUNTER, None, True),
        (Channel.POST, None, True),
        (Channel.CALL_CENTRE, FilingActor(account_id="acct-cc", role="CALL_CENTRE"), False),
        (Channel.CALL_CENTRE, FilingActor(account_id="acct-dso", role="L1"), True),  # only its operators
        (Channel.COUNTER, FilingActor(account_id="acct-dso", role="L1"), False),
        (Channel.WEB, None, False),
    ],
)
def test_S2_C2_staff_channels_are_recorded_by_the_staff_who_file(
    channel: Channel, filed_by: FilingActor | None, refused: bool
) -> None:
    valid, violations = validate(filing(channel=channel, filed_by=filed_by), KEY)
    assert ([v.field for v in violations] == ["channel"]) is refused
    assert (valid is None) is refused


@pytest.mark.parametrize(
    ("preferred", "phone", "email", "error"),
    [
        ("sms", "9876543210", None, None),
        ("WhatsApp", "9876543210", None, None),
        ("email", None, "sita@example.in", None),
        ("sms", None, "sita@example.in", "sms needs the complainant's phone"),
        ("email", "9876543210", None, "email needs the complainant's email"),
        ("fax", "9876543210", None, "must be sms, whatsapp or email"),
    ],
)
def test_C2_a_preferred_channel_needs_its_contact(
    preferred: str, phone: str | None, email: str | None, error: str | None
) -> None:
    complainant = Complainant(name="Ram", address="Patna", phone=phone, email=email, preferred_channel=preferred)
    valid, violations = validate(filing(complainant=complainant), KEY)
    if error is None:
        assert valid is not None
        assert valid.complainant.preferred_channel == preferred.lower()
    else:
        assert [(v.field, v.description) for v in violations] == [("complainant.preferred_channel", error)]
