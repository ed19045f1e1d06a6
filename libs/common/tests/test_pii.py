"""PII masking: phone, Aadhaar, email and tokens never reach a log unmasked."""

import json
import logging

import pytest

from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.pii import mask_aadhaar, mask_email, mask_phone, mask_text


def test_mask_phone_keeps_the_last_four_digits_and_is_idempotent() -> None:
    assert mask_phone("+919876543210") == "+91XXXXXX3210"
    assert mask_phone(mask_phone("+919876543210")) == "+91XXXXXX3210"
    assert mask_phone("9876543210") == "XXXXXX3210"


def test_mask_aadhaar_and_email() -> None:
    assert mask_aadhaar("2341 2341 2346") == "XXXX-XXXX-2346"
    assert mask_email("sita.devi@example.in") == "s***@example.in"


def test_free_text_masks_every_identifier() -> None:
    text = mask_text("call 9876543210 or +91 9876543210, aadhaar 2341 2341 2346, token eyJa.eyJb.sig")
    assert "9876543210" not in text
    assert "2341 2341 2346" not in text
    assert "XXXX-XXXX-2346" in text
    assert "eyJa" not in text


def test_logs_are_json_with_pii_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "INFO")
    get_logger("t").info("filed", phone="+919876543210", note="aadhaar 234123412346", password="hunter2")
    logging.getLogger("stdlib").warning("citizen 9876543210 called")
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert lines[0]["phone"] == "+91XXXXXX3210"
    assert "234123412346" not in lines[0]["note"]
    assert lines[0]["password"] == "[redacted]"
    assert "9876543210" not in lines[1]["event"]


def test_url_encoded_and_formatted_identifiers_are_masked_too() -> None:
    # Issue 8: "%40" and "%20" passed the masking, and so did a number written 5 + 5.
    query = mask_text("GET /v1/grievances?email=sita.devi%40example.in&phone=%2B91%2098765%2043210")
    assert "sita.devi" not in query
    assert "98765" not in query
    assert "s***@example.in" in query
    assert "3210" in query
    assert "98765" not in mask_text("call 98765 43210 or 98765-43210")
    assert mask_text("aadhaar%202341%202341%202346") == "aadhaar XXXX-XXXX-2346"
    # Text without personal data is left as it was, encoded or not.
    assert mask_text("q=%E0%A4%B0%E0%A4%BE%E0%A4%B6%E0%A4%A8&page=2") == "q=%E0%A4%B0%E0%A4%BE%E0%A4%B6%E0%A4%A8&page=2"
