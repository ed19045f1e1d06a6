"""Redis clients; every key a component writes carries its own prefix."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from nivaran_common.breaker import Breakers, RedisCircuitOpen, process_breakers, redis_down


class GuardedRedis(Redis):
    """A Redis client whose every command goes through the process's circuit for this server (nivaran_common.breaker):
    while Redis is down, commands fail at once with RedisCircuitOpen (a redis ConnectionError) instead of each
    waiting for its own timeout."""

    breakers: Breakers | None = None
    circuit: str = "redis"

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run one command through the circuit."""
        run = super().execute_command
        if self.breakers is None:
            return await run(*args, **options)  # type: ignore[no-untyped-call]
        return await self.breakers.guard(
            self.circuit,
            lambda: run(*args, **options),  # type: ignore[no-untyped-call]
            counts=redis_down,
            refused=RedisCircuitOpen,
        )


def create_redis(url: str, *, breakers: Breakers | None = None) -> Redis:
    """A pooled async client decoding responses to str, behind a circuit breaker, with short timeouts and a single
    immediate retry (a pooled connection that went stale when Redis restarted), so outages surface fast."""
    breakers = breakers or process_breakers()
    settings = breakers.settings
    client = GuardedRedis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=settings.redis_connect_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1),
    )
    assert isinstance(client, GuardedRedis)
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    client.breakers = breakers
    client.circuit = breakers.circuit_for(f"redis:{where}/{kwargs.get('db', 0)}")
    return client
