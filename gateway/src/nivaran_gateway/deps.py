"""Request dependencies (Annotated Depends): the state built at startup, and validated headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from redis.asyncio import Redis

from nivaran_common.auth import TokenVerifier
from nivaran_gateway import idempotency
from nivaran_gateway.clients import ServiceClients
from nivaran_gateway.idempotency import IdempotencyStore
from nivaran_gateway.jurisdiction import PositionDirectory
from nivaran_gateway.ratelimit import RateLimiter
from nivaran_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class GatewayState:
    """Everything the routes use, built once per app (by the lifespan, or injected by tests)."""

    settings: GatewaySettings
    clients: ServiceClients
    redis: Redis
    idempotency: IdempotencyStore
    verifier: TokenVerifier
    limiter: RateLimiter
    directory: PositionDirectory


def get_state(request: Request) -> GatewayState:
    """The app's state; set by the lifespan or by create_app when clients are injected."""
    state = getattr(request.app.state, "gateway", None)
    if not isinstance(state, GatewayState):
        raise RuntimeError("gateway state is not initialised; the lifespan did not run")
    return state


State = Annotated[GatewayState, Depends(get_state)]


def get_settings(state: State) -> GatewaySettings:
    """The gateway settings."""
    return state.settings


def get_clients(state: State) -> ServiceClients:
    """The gRPC stubs."""
    return state.clients


def get_idempotency(state: State) -> IdempotencyStore:
    """The Redis-backed idempotency store."""
    return state.idempotency


def get_idempotency_key(
    value: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="Makes a retry safe: the same key and body replay the first answer. "
            "8-128 characters of A-Z a-z 0-9 _ - : .",
            json_schema_extra={"pattern": f"^{idempotency.KEY_PATTERN.pattern}$", "minLength": 8, "maxLength": 128},
        ),
    ] = None,
) -> str | None:
    """The Idempotency-Key header, checked (400 naming the header when malformed)."""
    return idempotency.validate_key(value)


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Clients = Annotated[ServiceClients, Depends(get_clients)]


def get_directory(state: State) -> PositionDirectory:
    """Routing's positions and reporting chains (cached)."""
    return state.directory


def get_limiter(state: State) -> RateLimiter:
    """The Redis rate limiter."""
    return state.limiter


Idempotency = Annotated[IdempotencyStore, Depends(get_idempotency)]
Directory = Annotated[PositionDirectory, Depends(get_directory)]
Limiter = Annotated[RateLimiter, Depends(get_limiter)]
IdempotencyKey = Annotated[str | None, Depends(get_idempotency_key)]
