"""Masking of personal data: phone numbers, Aadhaar numbers, email addresses and tokens."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

_AADHAAR = re.compile(r"(?<![\d+X])(\d{4})[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
# Ten digits from 6-9, optionally after +91 / 91, optionally written 5 + 5 ("98765 43210", "98765-43210").
_PHONE = re.compile(r"(?<![\d-])(\+?91[ -]?)?([6-9]\d{4}[ -]?\d)(\d{4})(?![\d-])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")

SENSITIVE_KEYS = frozenset(
    {"password", "otp", "token", "access_token", "refresh_token", "authorization", "secret", "totp"}
)


def mask_aadhaar(value: str) -> str:
    """Return the display form of an Aadhaar number: only the last four digits survive."""
    digits = re.sub(r"\D", "", value)
    return f"XXXX-XXXX-{digits[-4:]}" if len(digits) >= 4 else "XXXX-XXXX-XXXX"


def mask_phone(value: str) -> str:
    """Return a phone number with all but the last four digits hidden (a masked value stays as it is)."""
    if "X" in value:
        return value
    digits = re.sub(r"\D", "", value)
    if len(digits) < 4:
        return "X" * len(digits)
    prefix = "+91" if value.startswith("+91") else ""
    body = digits[2:] if prefix and digits.startswith("91") else digits
    return f"{prefix}{'X' * (len(body) - 4)}{body[-4:]}"


def mask_email(value: str) -> str:
    """Return an email address with the local part hidden but its first character."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", value)


def mask_text(text: str) -> str:
    """Mask every Aadhaar number, Indian phone number, email address and JWT found in free text, also when the text
    is URL-encoded (a query string, a form body): then the decoded text is masked and logged in its place."""
    if "%" in text:
        decoded = unquote(text)
        if decoded != text and _mask_plain(decoded) != decoded:
            return _mask_plain(decoded)
    return _mask_plain(text)


def _mask_plain(text: str) -> str:
    text = _JWT.sub("[token]", text)
    text = _PHONE.sub(lambda m: f"{m.group(1) or ''}XXXXXX{m.group(3)}", text)
    text = _AADHAAR.sub(lambda m: f"XXXX-XXXX-{m.group(3)}", text)
    return mask_email(text)


def mask_value(key: str, value: Any) -> Any:
    """Mask a structured value by key name, recursing into mappings and sequences."""
    if key.lower() in SENSITIVE_KEYS:
        return "[redacted]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    return value
