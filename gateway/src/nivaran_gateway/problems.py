"""RFC 9457 problem+json: the one shape of every error the gateway returns, with a Hindi title beside the English."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """One bad input: `field` is a dotted path such as `complainant.aadhaar`, or a header name."""

    field: str
    detail: str


class Problem(BaseModel):
    """An error response (RFC 9457) with a Hindi title."""

    type: str = Field(examples=["urn:nivaran:problem:validation-error"])
    title: str
    title_hi: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


@dataclass(frozen=True)
class ProblemKind:
    """A problem type: its status and its bilingual title."""

    slug: str
    status: int
    title: str
    title_hi: str

    @property
    def type(self) -> str:
        """The stable URI that names this problem type."""
        return f"urn:nivaran:problem:{self.slug}"


VALIDATION = ProblemKind("validation-error", 422, "The request has invalid fields", "अनुरोध में अमान्य फ़ील्ड हैं")
BAD_REQUEST = ProblemKind("bad-request", 400, "The request is malformed", "अनुरोध सही प्रारूप में नहीं है")
UNAUTHORIZED = ProblemKind("unauthenticated", 401, "Authentication is required", "पहचान सत्यापन आवश्यक है")
FORBIDDEN = ProblemKind("forbidden", 403, "This action is not permitted", "इस कार्य की अनुमति नहीं है")
NOT_FOUND = ProblemKind("not-found", 404, "Not found", "अनुरोधित संसाधन नहीं मिला")
METHOD_NOT_ALLOWED = ProblemKind("method-not-allowed", 405, "Method not allowed", "यह HTTP विधि यहाँ अनुमत नहीं है")
CONFLICT = ProblemKind("conflict", 409, "The request conflicts with the current state", "अनुरोध वर्तमान स्थिति से टकराता है")
IDEMPOTENCY_IN_FLIGHT = ProblemKind(
    "idempotency-request-in-flight",
    409,
    "A request with this Idempotency-Key is still being processed",
    "इसी Idempotency-Key वाला अनुरोध अभी संसाधित हो रहा है",
)
IDEMPOTENCY_KEY_REUSED = ProblemKind(
    "idempotency-key-reused",
    422,
    "This Idempotency-Key was already used with a different request",
    "यह Idempotency-Key किसी दूसरे अनुरोध के साथ पहले ही प्रयुक्त हो चुकी है",
)
FAILED_PRECONDITION = ProblemKind(
    "failed-precondition",
    422,
    "The request cannot be carried out in the current state",
    "वर्तमान स्थिति में यह अनुरोध पूरा नहीं किया जा सकता",
)
BODY_TOO_LARGE = ProblemKind("body-too-large", 413, "The request body is too large", "अनुरोध का आकार सीमा से अधिक है")
UNSUPPORTED_MEDIA_TYPE = ProblemKind(
    "unsupported-media-type", 415, "The content type is not supported", "यह सामग्री प्रकार (Content-Type) समर्थित नहीं है"
)
TOO_MANY_REQUESTS = ProblemKind(
    "too-many-requests", 429, "Too many requests", "बहुत अधिक अनुरोध; कृपया कुछ देर बाद प्रयास करें"
)
INTERNAL = ProblemKind("internal-error", 500, "Internal error", "आंतरिक त्रुटि")
NOT_IMPLEMENTED = ProblemKind("not-implemented", 501, "Not implemented yet", "यह सुविधा अभी उपलब्ध नहीं है")
BAD_GATEWAY = ProblemKind("bad-gateway", 502, "A service failed to answer", "एक आंतरिक सेवा ने सही उत्तर नहीं दिया")
SERVICE_UNAVAILABLE = ProblemKind(
    "service-unavailable",
    503,
    "A service is temporarily unavailable",
    "सेवा अस्थायी रूप से उपलब्ध नहीं है; कृपया कुछ देर बाद प्रयास करें",
)
NOT_READY = ProblemKind("not-ready", 503, "The gateway is not ready", "गेटवे अभी तैयार नहीं है")

_BY_STATUS = {
    kind.status: kind
    for kind in (
        BAD_REQUEST,
        UNAUTHORIZED,
        FORBIDDEN,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        CONFLICT,
        BODY_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        VALIDATION,
        TOO_MANY_REQUESTS,
        INTERNAL,
        NOT_IMPLEMENTED,
        BAD_GATEWAY,
        SERVICE_UNAVAILABLE,
    )
}


def kind_for_status(status: int) -> ProblemKind:
    """The problem kind of a bare HTTP status (for errors raised by the framework itself)."""
    known = _BY_STATUS.get(status)
    if known is not None:
        return known
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return ProblemKind(f"http-{status}", status, phrase, "अनुरोध पूरा नहीं हो सका")


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem; rendered by the app's exception handler."""

    def __init__(
        self,
        kind: ProblemKind,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    @classmethod
    def field(cls, kind: ProblemKind, field: str, detail: str, **kwargs: Any) -> ProblemError:
        """A problem about one named field."""
        return cls(kind, f"{field}: {detail}", errors=[FieldError(field=field, detail=detail)], **kwargs)


def problem_body(
    kind: ProblemKind,
    detail: str,
    instance: str,
    errors: Sequence[FieldError] = (),
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON members of a problem document."""
    body: dict[str, Any] = {
        "type": kind.type,
        "title": kind.title,
        "title_hi": kind.title_hi,
        "status": kind.status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    if extensions:
        body.update(extensions)
    return body


class ProblemResponse(JSONResponse):
    """problem+json, encoded so that even text echoed from bad input (a lone surrogate) cannot break the answer."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        """Encode as UTF-8 JSON, replacing what UTF-8 cannot carry."""
        return _encode(content)


def _encode(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", errors="replace")


def problem_response(
    kind: ProblemKind,
    detail: str,
    instance: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    return ProblemResponse(
        problem_body(kind, detail, instance, errors, extensions), status_code=kind.status, headers=dict(headers or {})
    )


def problem_bytes(kind: ProblemKind, detail: str, instance: str, errors: Sequence[FieldError] = ()) -> bytes:
    """A problem document encoded for a raw ASGI response."""
    return _encode(problem_body(kind, detail, instance, errors))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json answers for the given statuses."""
    return {
        status: {
            "description": kind_for_status(status).title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
