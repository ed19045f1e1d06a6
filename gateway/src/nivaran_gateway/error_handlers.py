"""Every failure becomes problem+json: validation errors, framework HTTP errors, gRPC statuses and the unexpected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from nivaran_common.breaker import CircuitOpen
from nivaran_common.errors import field_violations
from nivaran_common.logging import get_logger
from nivaran_gateway import open311
from nivaran_gateway.problems import (
    BAD_GATEWAY,
    BAD_REQUEST,
    CONFLICT,
    FAILED_PRECONDITION,
    FORBIDDEN,
    INTERNAL,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    NOT_IMPLEMENTED,
    SERVICE_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    VALIDATION,
    FieldError,
    ProblemError,
    ProblemKind,
    kind_for_status,
    problem_response,
)

log = get_logger(__name__)

RETRY_AFTER_SECONDS = "2"
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})

# Codes whose message a service wrote for the caller; for every other code the message stays in the log.
_GRPC_KINDS: dict[grpc.StatusCode, ProblemKind] = {
    grpc.StatusCode.INVALID_ARGUMENT: VALIDATION,
    grpc.StatusCode.OUT_OF_RANGE: VALIDATION,
    grpc.StatusCode.NOT_FOUND: NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: CONFLICT,
    grpc.StatusCode.ABORTED: CONFLICT,
    grpc.StatusCode.FAILED_PRECONDITION: FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED: FORBIDDEN,
    grpc.StatusCode.UNAUTHENTICATED: UNAUTHORIZED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: TOO_MANY_REQUESTS,
}
_GRPC_RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def field_path(loc: Sequence[int | str]) -> str:
    """Turn a pydantic error location into a dotted path: ("body", "complainant", "aadhaar") -> complainant.aadhaar."""
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in _SOURCES else None
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or str(source or "body")


def _validation_problem(exc: RequestValidationError) -> ProblemError:
    errors: list[FieldError] = []
    for error in exc.errors():
        loc = error.get("loc", ())
        if error.get("type") == "json_invalid":
            # FastAPI puts the character offset in the location; the field is the body itself.
            ctx = error.get("ctx") or {}
            return ProblemError.field(BAD_REQUEST, "body", f"is not valid JSON ({ctx.get('error', 'decode error')})")
        errors.append(FieldError(field=field_path(loc), detail=str(error.get("msg", "is invalid"))))
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return ProblemError(VALIDATION, f"invalid fields: {names}", errors=errors)


def unavailable_problem(exc: BaseException) -> ProblemError:
    """The one answer while a dependency is down (a service, Redis): 503 with `Retry-After`, which is the time until
    the dependency's circuit half-opens when it is open (nivaran_common.breaker), else a couple of seconds."""
    if isinstance(exc, CircuitOpen):
        return ProblemError(
            SERVICE_UNAVAILABLE,
            "a service this request needs is down; retry after the time in Retry-After",
            headers={"Retry-After": exc.retry_after_header},
        )
    return ProblemError(
        SERVICE_UNAVAILABLE,
        "a service did not answer in time; retry shortly",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def grpc_problem(exc: grpc.RpcError) -> ProblemError:
    """Map a failed gRPC call to the problem the client sees."""
    code_of = getattr(exc, "code", None)
    code = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details_of = getattr(exc, "details", None)
    message = (details_of() if callable(details_of) else None) or ""
    if code in _GRPC_RETRYABLE:
        log.warning("service unavailable", grpc_code=code.name, grpc_message=message)
        return unavailable_problem(exc)
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return ProblemError(NOT_IMPLEMENTED, "this operation is not implemented yet")
    kind = _GRPC_KINDS.get(code)
    if kind is None:
        log.error("service call failed", grpc_code=getattr(code, "name", str(code)), grpc_message=message)
        return ProblemError(BAD_GATEWAY, "a service failed to answer; the error has been logged")
    errors = [FieldError(field=v.field, detail=v.description) for v in field_violations(exc)]
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if kind is TOO_MANY_REQUESTS else None
    return ProblemError(kind, message or kind.title, errors=errors, headers=headers)


def _render(request: Request, problem: ProblemError) -> Response:
    if open311.is_open311(request.url.path):
        # Open311 clients read the spec's error list; /v1 keeps problem+json.
        details = [f"{e.field}: {e.detail}" for e in problem.errors] or [problem.detail]
        descriptions = [f"{detail} ({problem.kind.title_hi})" for detail in details]
        return open311.error_response(request.url.path, problem.kind.status, descriptions, problem.headers)
    return problem_response(
        problem.kind, problem.detail, request.url.path, problem.errors, problem.headers, problem.extensions
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return _render(request, exc)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _render(request, _validation_problem(exc))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers: dict[str, str] = dict(exc.headers or {})
    if exc.status_code == 404:
        problem = ProblemError(NOT_FOUND, f"no resource at {request.url.path}", headers=headers)
    elif exc.status_code == 405:
        problem = ProblemError(
            METHOD_NOT_ALLOWED, f"{request.method} is not allowed on {request.url.path}", headers=headers
        )
    else:
        problem = ProblemError(kind_for_status(exc.status_code), str(exc.detail), headers=headers)
    return _render(request, problem)


async def _on_grpc(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, grpc.RpcError)
    return _render(request, grpc_problem(exc))


async def _on_redis(request: Request, exc: Exception) -> Response:
    # A Redis failure no caller turned into an answer of its own (fail open, fail closed): Redis is down.
    log.warning("redis unavailable", path=request.url.path, error_type=type(exc).__name__)
    return _render(request, unavailable_problem(exc))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this handler so the server logs the traceback; the client sees no details.
    log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__)
    return _render(request, ProblemError(INTERNAL, "an unexpected error occurred; it has been logged"))


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on `app`."""
    handlers: list[tuple[type[Exception], Any]] = [
        (ProblemError, _on_problem),
        (RequestValidationError, _on_validation),
        (StarletteHTTPException, _on_http),
        (grpc.RpcError, _on_grpc),
        (RedisError, _on_redis),
        (Exception, _on_unexpected),
    ]
    for exc_class, handler in handlers:
        app.add_exception_handler(exc_class, handler)
