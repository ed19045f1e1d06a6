"""Every /v1 route declares who may call it, and the declaration is the dependency that enforces it.

    Caller = Annotated[Principal, Depends(requires(DM))]            # a DM's token, or 401 / 403
    MaybeCaller = Annotated[Principal | None, Depends(public("filing"))]   # anyone; a token, when sent, must be valid

A declaration authenticates the bearer token (401 problem with `WWW-Authenticate: Bearer` when it is missing or
invalid), counts the request against its rate-limit bucket (per account, or per client IP when anonymous), and then
checks the caller's kind, roles or delegated powers (403). `undeclared_routes` finds a /v1 route that forgot to
declare; `create_app` refuses to build such an app, and a test checks every route.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nivaran_common.auth import InvalidToken, KeysUnavailable, Principal
from nivaran_common.breaker import retry_after_header
from nivaran_common.door import forward_token
from nivaran_common.logging import get_logger
from nivaran_gateway.deps import GatewayState, get_state
from nivaran_gateway.problems import FORBIDDEN, SERVICE_UNAVAILABLE, UNAUTHORIZED, ProblemError

log = get_logger(__name__)

# Retry-After when the keys or the revocation list could not be read and no open circuit says for how long.
KEYS_RETRY_AFTER_SECONDS = "5"

# Documents the scheme in OpenAPI; the header itself is parsed below, strictly.
BEARER = HTTPBearer(auto_error=False, bearerFormat="JWT", description="An access token from /v1/auth/*")
_REALM = 'Bearer realm="nivaran"'
# Where every route must declare who may call it.
DECLARED_PREFIXES = ("/v1/", "/open311/")


def client_ip(request: Request, trusted_proxy_hops: int) -> str:
    """The client's address: the peer, or the entry a trusted proxy appended to X-Forwarded-For."""
    peer = request.client.host if request.client else "unknown"
    if trusted_proxy_hops <= 0:
        return peer
    hops = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    return hops[-trusted_proxy_hops] if len(hops) >= trusted_proxy_hops else peer


def _unauthenticated(detail: str, *, invalid: bool) -> ProblemError:
    challenge = f'{_REALM}, error="invalid_token"' if invalid else _REALM
    return ProblemError(UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge})


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("the Authorization header must be `Bearer <access token>`", invalid=True)
    return token.strip()


class Access:
    """A route's declaration of who may call it (base of `Public` and `Requires`)."""

    def __init__(
        self,
        roles: tuple[str, ...],
        powers: tuple[str, ...],
        bucket: str,
        *,
        anonymous: bool,
        per_ip: bool = False,
    ) -> None:
        self.roles = roles
        self.powers = powers
        self.bucket = bucket
        self.anonymous = anonymous
        self.per_ip = per_ip

    def describe(self) -> dict[str, Any]:
        """The declaration as published in OpenAPI (`x-access`)."""
        return {
            "anonymous": self.anonymous,
            "roles": list(self.roles),
            "delegated_powers": list(self.powers),
            "rate_limit_bucket": self.bucket,
            "rate_limited_per": "ip" if self.per_ip else "account, or ip when anonymous",
        }

    async def _caller(self, request: Request, state: GatewayState) -> Principal | None:
        token = _bearer_token(request)
        principal: Principal | None = None
        if token is not None:
            try:
                principal = await state.verifier.verify(token)
                # Every gRPC call this request makes carries the token: each service checks it again (door.py).
                forward_token(token)
            except InvalidToken as exc:
                raise _unauthenticated(str(exc), invalid=True) from exc
            except KeysUnavailable as exc:
                log.warning("tokens cannot be verified", reason=str(exc))
                raise ProblemError(
                    SERVICE_UNAVAILABLE,
                    "sign-in cannot be checked right now; retry shortly",
                    # The time until the circuit of what failed (identity, Redis) half-opens, when one is open.
                    headers={"Retry-After": retry_after_header(exc, KEYS_RETRY_AFTER_SECONDS)},
                ) from exc
        else:
            forward_token("")  # nothing of an earlier request in this context travels on
            if not self.anonymous:
                raise _unauthenticated("this request needs an access token", invalid=False)
        subject = (
            f"account:{principal.account_id}"
            if principal is not None and not self.per_ip
            else f"ip:{client_ip(request, state.settings.trusted_proxy_hops)}"
        )
        await state.limiter.hit(self.bucket, subject)
        if principal is not None and self.roles and not self.anonymous and not self.permits(principal):
            raise ProblemError(FORBIDDEN, f"this request needs one of the roles {', '.join(self.roles)}")
        return principal

    def permits(self, principal: Principal) -> bool:
        """True when the caller's kind or roles, or a delegated power, match the declaration."""
        return principal.has_any(self.roles) or any(principal.may(power) for power in self.powers)


class Public(Access):
    """Anyone may call; a token, when sent, must be valid, and then names the caller."""

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Principal | None:
        return await self._caller(request, get_state(request))


class Requires(Access):
    """Only a caller whose kind, role or delegated power is among those declared."""

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Principal:
        principal = await self._caller(request, get_state(request))
        assert principal is not None  # _caller refuses an anonymous request to a non-anonymous route
        return principal


def public(bucket: str = "public_read", *, per_ip: bool = False) -> Public:
    """Declare a route open to anonymous callers, rate-limited per IP, or per account when a token is sent.

    With `per_ip` the count is by IP whoever calls (sign-in routes), so holding tokens buys no more guesses or SMS.
    """
    return Public((), (), bucket, anonymous=True, per_ip=per_ip)


def requires(*roles: str, powers: tuple[str, ...] = (), bucket: str = "api") -> Requires:
    """Declare a route for callers of these kinds or roles (or holding one of `powers` under a delegation)."""
    if not roles:
        raise ValueError("name at least one kind or role; use public() for an open route")
    return Requires(tuple(roles), tuple(powers), bucket, anonymous=False)


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _walk(dependency)


def access_of(route: APIRoute) -> list[Access]:
    """The access declarations among a route's dependencies."""
    return [call for call in _walk(route.dependant) if isinstance(call, Access)]


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every FastAPI route of the app, including those of included routers."""
    found: list[APIRoute] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found.append(route)
    return found


def undeclared_routes(app: FastAPI) -> list[str]:
    """Every /v1 and /open311 route (as `METHOD path`) that does not declare exactly one access rule."""
    missing: list[str] = []
    for route in api_routes(app):
        if route.path.startswith(DECLARED_PREFIXES) and len(access_of(route)) != 1:
            missing.extend(f"{method} {route.path}" for method in sorted(route.methods or ()))
    return missing


# The route sets already found fully declared in this process (see `check_declared`).
_DECLARED: set[tuple[tuple[str, str, int], ...]] = set()


def _route_set(app: FastAPI) -> tuple[tuple[str, str, int], ...]:
    """What an app is made of: each included router (by identity, with its number of routes) and each route of its
    own (by kind, path and name). Two apps built from the same module-level routers have the same set: FastAPI
    wraps each inclusion anew, and the app's own routes (/openapi.json, /docs) are made anew for each app, so their
    objects' identities say nothing."""
    parts = []
    for route in app.router.routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            parts.append(("router", str(id(original)), len(original.routes)))
        else:
            parts.append((type(route).__name__, str(getattr(route, "path", "")), hash(getattr(route, "name", ""))))
    return tuple(parts)


def check_declared(app: FastAPI) -> None:
    """Refuse to build an app with a /v1 or /open311 route that does not declare exactly one access rule.

    Checking means building every route's effective dependencies (FastAPI 0.165 builds them lazily, on first use),
    about half a second; it is done once per set of routers in a process, not for every app built from the same
    routers (the gateway builds one; the gateway's tests build one per test)."""
    key = _route_set(app)
    if key in _DECLARED:
        return
    undeclared = undeclared_routes(app)
    if undeclared:
        raise RuntimeError(f"routes without an access declaration: {', '.join(undeclared)}")
    _DECLARED.add(key)
