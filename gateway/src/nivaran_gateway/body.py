"""Request-body guards: a size cap enforced on the wire, and strict JSON (UTF-8, well-formed) before validation."""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nivaran_gateway.problems import (
    BAD_REQUEST,
    BODY_TOO_LARGE,
    PROBLEM_JSON,
    UNSUPPORTED_MEDIA_TYPE,
    FieldError,
    ProblemError,
    ProblemKind,
    problem_bytes,
)

# The routes whose body may carry a file (multipart/form-data): the attachments route, and the web app's filing form,
# which hands its file on to that route (nivaran_gateway.web).
UPLOAD_PATH = re.compile(r"/v1/grievances/[^/]+/attachments|/app/grievances/new")


class BodyLimitMiddleware:
    """Pure ASGI: refuses bodies over `max_body_bytes` by counting what arrives, so Content-Length cannot lie.

    The body is buffered (it is small by construction) and replayed to the app, which means the app never starts
    on a request that is later found too large.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, *, max_upload_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # File uploads (POST …/attachments) may be larger than any JSON body; every other route keeps the small limit.
        self.max_upload_bytes = max(max_upload_bytes, max_body_bytes)

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and UPLOAD_PATH.fullmatch(str(scope.get("path", ""))):
            return self.max_upload_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reject(scope, send, BAD_REQUEST, "Content-Length is not a number")
                return
            if int(declared) > limit:
                # Read (and drop) a body of bounded size before answering, so the client, still sending, gets the
                # 413 rather than a reset connection (a "lingering close"); a huge one is refused at once.
                if int(declared) <= DRAIN_LIMIT_BYTES:
                    await _drain(receive)
                await self._too_large(scope, send, limit)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                await self._too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": buffered, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        await _reject(scope, send, BODY_TOO_LARGE, f"the body must be at most {limit} bytes")


# Largest refused body still read to its end before the 413 is sent.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            decoded: str = value.decode("latin-1").strip()
            return decoded
    return None


async def _reject(scope: Scope, send: Send, kind: ProblemKind, detail: str) -> None:
    body = problem_bytes(kind, f"body: {detail}", scope.get("path", ""), [FieldError(field="body", detail=detail)])
    await send(
        {
            "type": "http.response.start",
            "status": kind.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                # The unread rest of the body makes the connection unusable for another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


async def check_json_body(request: Request) -> None:
    """Refuse a non-empty body that is not UTF-8 JSON with a JSON content type; an empty one is left to validation."""
    body = await request.body()
    if not body:
        return
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise ProblemError.field(
            UNSUPPORTED_MEDIA_TYPE, "body", f"must be sent as application/json, not {content_type or 'untyped'}"
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError.field(BAD_REQUEST, "body", f"is not UTF-8 (bad byte at offset {exc.start})") from exc
    try:
        # Parsed (and cached on the request) here, so FastAPI reuses it instead of failing on its own terms.
        # NaN and ±Infinity are not JSON (RFC 8259), though Python's parser takes them by default.
        json.loads(body, parse_constant=_refuse_constant)
        await request.json()
    except ValueError as exc:
        raise ProblemError.field(BAD_REQUEST, "body", f"is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ProblemError.field(BAD_REQUEST, "body", "is nested too deeply") from exc


class JsonBodyRoute(APIRoute):
    """A route whose body, when it has one, must be UTF-8 JSON: bad bytes answer 400/415 naming `body`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the JSON body check."""
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            await check_json_body(request)
            return await handler(request)

        return checked
