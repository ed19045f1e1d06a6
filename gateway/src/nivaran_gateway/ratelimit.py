"""Rate limits in Redis: a fixed window per bucket and caller (client IP when anonymous, account otherwise).

The window opens with a caller's first request (INCR, then EXPIRE once, in one Lua call), so every caller gets
exactly `limit` requests per window and the answer says in `Retry-After` when the window closes.

When Redis is down a bucket either fails open (the request proceeds and a warning is logged: reads, filings) or
fails closed (503 with Retry-After: OTP requests, which cost an SMS each, and credential checks, which a guesser
repeats). See gateway/README.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from redis.asyncio import Redis
from redis.exceptions import RedisError

from nivaran_common.breaker import retry_after_header
from nivaran_common.logging import get_logger
from nivaran_gateway.problems import SERVICE_UNAVAILABLE, TOO_MANY_REQUESTS, ProblemError
from nivaran_gateway.settings import RateRule

log = get_logger(__name__)

# Returns the count in the current window and the seconds left in it.
_HIT_LUA = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

RETRY_WHEN_REDIS_DOWN_SECONDS = "5"


class RateLimiter:
    """Counts requests per bucket and caller, and refuses the ones over the bucket's limit with 429."""

    def __init__(self, redis: Redis, prefix: str, rules: Mapping[str, RateRule], *, enabled: bool = True) -> None:
        self._redis = redis
        self._prefix = prefix
        self.rules = dict(rules)
        self.enabled = enabled

    def _key(self, bucket: str, subject: str) -> str:
        # Callers are hashed: keys must not carry phone numbers or addresses in the clear.
        digest = hashlib.sha256(subject.encode("utf-8", errors="replace")).hexdigest()[:32]
        return f"{self._prefix}ratelimit:{bucket}:{digest}"

    async def hit(self, bucket: str, subject: str) -> None:
        """Count one request of `subject` in `bucket`; raise a 429 problem when over the limit."""
        if not self.enabled:
            return
        rule = self.rules[bucket]
        try:
            count, ttl = await self._redis.eval(_HIT_LUA, 1, self._key(bucket, subject), rule.window_seconds)
        except (RedisError, OSError) as exc:
            if rule.fail_closed:
                log.warning("rate limit unavailable; refusing", bucket=bucket, error=type(exc).__name__)
                raise ProblemError(
                    SERVICE_UNAVAILABLE,
                    "this request cannot be rate-limited right now, so it is refused; retry shortly",
                    headers={
                        # While Redis' circuit is open: the time until it half-opens (nivaran_common.breaker).
                        "Retry-After": retry_after_header(exc, RETRY_WHEN_REDIS_DOWN_SECONDS)
                    },
                ) from exc
            log.warning("rate limit unavailable; allowing", bucket=bucket, error=type(exc).__name__)
            return
        if int(count) > rule.limit:
            retry_after = max(1, int(ttl))
            raise ProblemError(
                TOO_MANY_REQUESTS,
                f"at most {rule.limit} requests per {rule.window_seconds} s are allowed here; "
                f"retry after {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
