"""The entropy estimate that every secret setting meets outside the dev profile."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

import pytest

from nivaran_common.secret_strength import (
    ISSUED_CREDENTIAL_BITS,
    OWN_KEY_BITS,
    estimated_bits,
    weakness,
)


@pytest.mark.parametrize(
    "generate",
    [
        lambda: secrets.token_urlsafe(32),
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode(),  # openssl rand -base64 32
        lambda: secrets.token_urlsafe(64),
    ],
    ids=["token_urlsafe(32)", "token_hex(32)", "base64 of 32 bytes", "token_urlsafe(64)"],
)
def test_generated_32_byte_secrets_pass_every_time(generate: Callable[[], str]) -> None:
    for _ in range(2000):
        value = generate()
        assert weakness(value, OWN_KEY_BITS) is None, value


def test_encoded_values_count_the_bytes_they_decode_to() -> None:
    assert estimated_bits("0123456789abcdef" * 2) == 128  # hex: 32 characters, 16 bytes
    assert estimated_bits(secrets.token_hex(31)) == 248
    assert estimated_bits(base64.b64encode(bytes(range(30))).decode() + "Aa") >= 240
    # An AWS-style 40-character key: 30 bytes, enough for a provider's credential, not for a key of our own.
    aws_style = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYq8Xv2Lk9Zs"
    assert estimated_bits(aws_style) == 240
    assert weakness(aws_style, ISSUED_CREDENTIAL_BITS) is None
    assert weakness(aws_style, OWN_KEY_BITS) == "about 240 bits of entropy where 256 are needed"


def test_other_values_count_length_times_the_character_classes_they_use() -> None:
    # Digits only are decimal, not hex: log2(10) bits each.
    assert estimated_bits("8" + "1234567890" * 7) == 235
    # Lowercase, digits and punctuation: 69 characters to choose from, about 6.1 bits each.
    assert estimated_bits("a-real-secret-2026") == 109
    assert estimated_bits("correct horse battery staple") == 164


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "fewer than 8 distinct characters"),
        ("x", "fewer than 8 distinct characters"),
        ("ab" * 100, "fewer than 8 distinct characters"),
        ("0123456789abcdef" * 4, "repeats a shorter string"),
        ("CHANGE_ME_at_least_32_random_bytes", "placeholder"),
        # Fixed values (a test id must be the same in every pytest-xdist worker): once random, now as generated.
        ("change-me-YIpKwxP_4m2m6ZEf7_mUaoDfL7cAvRYW3zOKu-Jayws", "placeholder"),
        ("s3cret-pass", "about 67 bits"),
        ("dev-dm-patna-2026", "about 103 bits"),
        ("4K671Pv8jwXW1JgVAW5toQZRzQcU87ti", "bits of entropy where 256 are needed"),
    ],
)
def test_weak_values_are_refused_with_the_reason(value: str, reason: str) -> None:
    why = weakness(value, OWN_KEY_BITS)
    assert why is not None
    assert reason in why


def test_provider_credentials_need_128_bits() -> None:
    assert weakness(secrets.token_hex(16), ISSUED_CREDENTIAL_BITS) is None
    assert weakness(secrets.token_urlsafe(24), ISSUED_CREDENTIAL_BITS) is None
    why = weakness(secrets.token_hex(15), ISSUED_CREDENTIAL_BITS)
    assert why == "about 120 bits of entropy where 128 are needed"
