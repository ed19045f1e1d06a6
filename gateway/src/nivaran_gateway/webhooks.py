"""The providers' doors (C2, B5): a webhook is proved by a secret shared with its provider, never by a person's token.

One place for what every provider route does before reading anything: the secret must be configured (503 otherwise),
the raw body's HMAC-SHA256 signature (or Kannel's token) must match in constant time (401 with a `Signature`
challenge otherwise), and only then is the body parsed, a bad one answered 422 naming its fields.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, SecretStr, ValidationError

from nivaran_common.logging import get_logger
from nivaran_gateway.problems import SERVICE_UNAVAILABLE, UNAUTHORIZED, ProblemError

log = get_logger(__name__)
# The header our SMS / WhatsApp providers sign with; Meta's Cloud API uses its own (routes/whatsapp.py).
SIGNATURE_HEADER = "X-Nivaran-Signature"
ModelT = TypeVar("ModelT", bound=BaseModel)


def configured(secret: SecretStr, what: str) -> str:
    """The secret's value; 503 naming `what` when none is configured (a webhook is never trusted without one)."""
    value = secret.get_secret_value()
    if not value:
        raise ProblemError(SERVICE_UNAVAILABLE, f"{what} not configured")
    return value


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is `sha256=<hex>` of HMAC-SHA256(secret, body), compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def same_token(given: str, secret: str) -> bool:
    """Whether a shared token (Kannel's, Meta's verify token) is ours, compared in constant time."""
    return hmac.compare_digest(given.encode(), secret.encode())


def refused(detail: str, header: str = SIGNATURE_HEADER, algorithm: str = "hmac-sha256") -> ProblemError:
    """401 for a provider call whose signature or token is not ours."""
    log.warning("provider call with a bad signature refused", header=header)
    return ProblemError(
        UNAUTHORIZED, detail, headers={"WWW-Authenticate": f'Signature header="{header}", algorithm="{algorithm}"'}
    )


async def signed_body(request: Request, secret: str, header: str, what: str) -> bytes:
    """The raw body, once its signature in `header` is proved; nothing of an unsigned one is read."""
    body = await request.body()
    if not signed(secret, body, request.headers.get(header)):
        raise refused(f"the {what}'s {header} does not match its body", header)
    return body


def parse(model: type[ModelT], body: bytes) -> ModelT:
    """A signed body as `model`; a bad one is 422 naming its fields, as any other request body."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
