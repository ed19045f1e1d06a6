"""Circuit breakers (purgatory) in front of Redis and the gRPC services, and what counts as "that dependency is down".

Once a dependency has failed `NIVARAN_BREAKER_THRESHOLD` calls in a row, every call to it fails at once, for
`NIVARAN_BREAKER_TTL_SECONDS`, with a CircuitOpen error that says when to retry (the gateway answers 503 with
`Retry-After`), instead of each caller waiting out its own timeouts. After the TTL the next call goes through
(half-open): its success closes the circuit, its failure opens it again for another TTL. So the suite recovers by
itself once the dependency is back, and nobody waits seconds per request while it is not.

Only outages count as failures: a refused or timed-out connection to Redis, UNAVAILABLE from a service. A bad
argument, a missing row or a Lua error is the caller's answer, not a sign that the dependency is down.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

import grpc
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from nivaran_common.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class BreakerSettings(BaseSettings):
    """How quickly a circuit opens and how long it stays open (env NIVARAN_BREAKER_*), and Redis' socket timeouts."""

    model_config = SettingsConfigDict(env_prefix="NIVARAN_BREAKER_", extra="ignore")

    # Failures in a row that open a circuit.
    threshold: int = Field(default=3, ge=1)
    # How long an open circuit refuses calls before it lets one through (half-open).
    ttl_seconds: float = Field(default=5.0, gt=0)
    # Redis: a connect or a reply slower than this is a failure (so even the first calls of an outage are quick).
    redis_connect_timeout_seconds: float = Field(default=0.5, gt=0)
    redis_socket_timeout_seconds: float = Field(default=1.0, gt=0)


class CircuitOpen(Exception):
    """A call refused without being tried: its dependency's circuit is open; `retry_after` seconds until half-open."""

    circuit: str = ""
    retry_after: float = 1.0

    @property
    def retry_after_header(self) -> str:
        """`Retry-After` in whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class RedisCircuitOpen(RedisConnectionError, CircuitOpen):
    """Redis' circuit is open. A redis ConnectionError, so every `except RedisError` treats it as Redis being down."""

    def __init__(self, circuit: str, retry_after: float) -> None:
        super().__init__(f"circuit {circuit} is open; retry in {retry_after:.1f} s")
        self.circuit = circuit
        self.retry_after = retry_after


class ServiceCircuitOpen(grpc.aio.AioRpcError, CircuitOpen):  # type: ignore[misc]
    """A service's circuit is open: a failed call with code UNAVAILABLE, as if the service had said so."""

    def __init__(self, circuit: str, retry_after: float) -> None:
        super().__init__(  # type: ignore[call-arg]
            grpc.StatusCode.UNAVAILABLE,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details=f"circuit {circuit} is open; retry in {retry_after:.1f} s",
        )
        self.circuit = circuit
        self.retry_after = retry_after


def retry_after_header(exc: BaseException, default: str) -> str:
    """`Retry-After` for a failure: the time until the circuit behind it half-opens when an open circuit refused the
    call (the error itself, or its cause or context: a token check that failed because Redis' circuit is open),
    otherwise `default`."""
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if isinstance(found, CircuitOpen):
            return found.retry_after_header
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return default


def redis_down(exc: BaseException) -> bool:
    """A Redis error that means Redis cannot be reached (not a script error or a wrong type)."""
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError | TimeoutError)


def service_down(exc: BaseException) -> bool:
    """A failed gRPC call that means the service cannot answer now (UNAVAILABLE)."""
    code_of = getattr(exc, "code", None)
    return isinstance(exc, grpc.RpcError) and callable(code_of) and code_of() == grpc.StatusCode.UNAVAILABLE


def database_down(exc: BaseException) -> bool:
    """A SQLAlchemy error that means the database cannot be reached: a dropped or refused connection, a full pool.

    An error the database answered with a SQLSTATE (a conflict, a serialization failure) is not an outage."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) and not getattr(
            exc.orig, "sqlstate", None
        )
    return False


class Breakers:
    """Purgatory circuits in this process's memory: one per client of a dependency (`circuit_for`), and a process
    opens one client per dependency (the gateway: one channel per service, one Redis client)."""

    def __init__(self, settings: BreakerSettings | None = None) -> None:
        self.settings = settings or BreakerSettings()
        self._clients = itertools.count(1)
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=self.settings.threshold, default_ttl=self.settings.ttl_seconds
        )
        self._factory.add_listener(_log_state_change)

    def circuit_for(self, dependency: str) -> str:
        """A circuit of its own for one client of `dependency` (a process opens one per dependency; so a test's
        client never inherits another's failures, whatever port the kernel hands out again)."""
        return f"{dependency}#{next(self._clients)}"

    async def guard(
        self,
        circuit: str,
        call: Callable[[], Awaitable[T]],
        *,
        counts: Callable[[BaseException], bool],
        refused: Callable[[str, float], Exception],
    ) -> T:
        """Run `call` through `circuit`. A failure for which `counts` is true counts towards opening it; while it is
        open, `refused(circuit, seconds until half-open)` is raised without calling."""
        breaker = await self._factory.get_breaker(circuit, exclude=[(BaseException, lambda exc: not counts(exc))])
        try:
            async with breaker:
                return await call()
        except OpenedState as opened:
            remaining = opened.opened_at + breaker.context.ttl - time.time()
            raise refused(circuit, max(0.0, remaining)) from None

    async def state(self, circuit: str) -> str:
        """`closed`, `opened` or `half-opened` (a circuit never used is closed)."""
        breaker = await self._factory.get_breaker(circuit)
        return str(breaker.context.state)


def _log_state_change(circuit: str, event_name: str, event: Any) -> None:
    if event_name != "state_changed":
        return
    state = getattr(event, "state", "")
    if state == "opened":
        log.warning("circuit opened: calls fail fast until it half-opens", circuit=circuit)
    else:
        log.info("circuit state changed", circuit=circuit, state=state)


@lru_cache(maxsize=1)
def process_breakers() -> Breakers:
    """The breakers every client of this process shares (settings from the environment, read once)."""
    return Breakers()
