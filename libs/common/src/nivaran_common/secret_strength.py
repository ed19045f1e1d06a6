"""How strong a secret is: the rule that every secret setting meets outside the dev profile.

The estimate, in bits:

- a value written only in hex digits (0-9 and a-f, one letter case, at least one letter) counts as the bytes it
  decodes to: 4 bits a character;
- a value written in the base64 or base64url alphabet (`+/` or `-_`, optional `=` padding) that has both upper- and
  lower-case letters counts as the whole bytes it decodes to: 6 bits a character, rounded down to whole bytes;
- any other value counts as length × log2(pool), where the pool adds up the classes of characters it uses:
  lowercase 26, uppercase 26, digits 10, anything else 33 (ASCII punctuation and space).

`secrets.token_urlsafe(32)`, `openssl rand -base64 32` and `openssl rand -hex 32` each give exactly 256 bits. Whatever
the estimate, a value is refused when it has fewer than eight distinct characters, repeats a shorter string, or is a
placeholder such as `CHANGE_ME`. The estimate judges how a value is written, not how it was made: it catches short,
patterned and placeholder values, and trusts the operator to generate the rest.
"""

from __future__ import annotations

import math
import re
import string
from typing import Annotated

from pydantic import SecretStr

# Keys Nivaran itself uses (to encrypt, to key hashes): the operator generates them, so they can be full strength.
OWN_KEY_BITS = 256
# Credentials another party issues (a provider's API key, an SMTP or S3 password): their length is the issuer's
# choice, and common ones fall short of 256 bits (an AWS secret access key decodes to 30 bytes), so they are held to
# 128 bits instead.
ISSUED_CREDENTIAL_BITS = 128
MIN_DISTINCT_CHARACTERS = 8

_HEX = re.compile(r"[0-9a-f]*[a-f][0-9a-f]*|[0-9A-F]*[A-F][0-9A-F]*")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}")
_PLACEHOLDER = re.compile(r"change[\s_-]?me|replace[\s_-]?me|your[\s_-]?secret", re.IGNORECASE)
_CLASSES = ((set(string.ascii_lowercase), 26), (set(string.ascii_uppercase), 26), (set(string.digits), 10))
_OTHER_CLASS_SIZE = 33


class IssuedElsewhere:
    """Marks a secret setting whose value another party issues; see ISSUED_CREDENTIAL_BITS."""


# A credential issued by a provider: empty means the feature that needs it is not configured.
IssuedCredential = Annotated[SecretStr, IssuedElsewhere()]


def estimated_bits(value: str) -> int:
    """The entropy of `value` as the module docstring estimates it, in whole bits."""
    if not value:
        return 0
    if _HEX.fullmatch(value):
        return 8 * (len(value) // 2)
    if _BASE64.fullmatch(value) and re.search(r"[a-z]", value) and re.search(r"[A-Z]", value):
        return 8 * (6 * len(value.rstrip("=")) // 8)
    used = set(value)
    pool = sum(size for members, size in _CLASSES if used & members)
    if used - set().union(*(members for members, _ in _CLASSES)):
        pool += _OTHER_CLASS_SIZE
    return math.floor(len(value) * math.log2(pool))


def weakness(value: str, min_bits: int = OWN_KEY_BITS) -> str | None:
    """Why `value` is too weak for a secret that needs `min_bits`, or None when it is strong enough."""
    if _PLACEHOLDER.search(value):
        return "it is a placeholder"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"it has fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if re.fullmatch(r"(.+?)\1+", value, re.DOTALL):
        return "it repeats a shorter string"
    bits = estimated_bits(value)
    if bits < min_bits:
        return f"about {bits} bits of entropy where {min_bits} are needed"
    return None
