"""Contact details a citizen or officer gives: phone numbers (phonenumbers) and email addresses (email-validator)."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalise_phone(raw: str, region: str = "IN") -> str | None:
    """The number in E.164 when it is a valid Indian number, else None."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 91 or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    """The normalised address when it is syntactically valid (no DNS lookup), else None."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None
