"""Redis clients; every key a component writes carries its own prefix."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    """A pooled async client decoding responses to str, with short timeouts so outages surface fast."""
    client: Redis = Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=1.0, socket_timeout=1.0, health_check_interval=30
    )
    return client
