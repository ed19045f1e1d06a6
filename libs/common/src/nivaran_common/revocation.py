"""Revocation records: a right taken away is gone on the next request, not when the access token expires.

Identity writes a record when it takes a right away; the gateway and every gRPC service read them for each token
they accept (nivaran_common.auth.TokenVerifier). Two kinds, each kept in Redis only as long as a token it concerns
could still be valid (the access-token lifetime), so the set stays small:

- a token record (`<prefix>token:<jti>`): that one access token is dead (logout);
- an account record (`<prefix>account:<sub>` = ms): every token of the account issued at or before that moment is
  dead (relinquished charge, revoked delegation, disabled account, changed password, disabled department client).
  A token issued afterwards carries what is true now (the posts held, the delegation in force), so it is accepted.

Reads fail closed: when Redis cannot answer, the caller gets "unavailable", never a pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

DEFAULT_PREFIX = "nivaran:revoked:"
# The largest clock-skew leeway a verifier may be configured with (ServiceSettings.jwt_leeway_seconds, le=300).
MAX_LEEWAY_SECONDS = 300


class RevocationUnavailable(Exception):
    """The revocation records could not be read; the token can be neither accepted nor refused."""


class Revocations:
    """Writes and reads revocation records in Redis under one key prefix shared by identity and every checker."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock

    def _token_key(self, token_id: str) -> str:
        return f"{self._prefix}token:{token_id}"

    def _account_key(self, account_id: str) -> str:
        return f"{self._prefix}account:{account_id}"

    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        """One access token is dead until it would have expired anyway."""
        if not token_id:
            return
        # A verifier accepts a token up to its leeway past exp (at most MAX_LEEWAY_SECONDS): the record outlives that.
        ttl = max(1, math.ceil(expires_at - self._clock()) + MAX_LEEWAY_SECONDS)
        await self._redis.set(self._token_key(token_id), "1", ex=ttl)

    async def revoke_account(self, account_id: str, ttl_seconds: float) -> int:
        """Every token of `account_id` issued up to now is dead; the record lives as long as such a token could.
        Returns the cut-off (ms). A later cut-off never moves back: concurrent revocations keep the latest."""
        cut_off = int(self._clock() * 1000)
        key = self._account_key(account_id)
        ttl = max(1, math.ceil(ttl_seconds) + MAX_LEEWAY_SECONDS)
        current = await self._redis.get(key)
        if current is not None and int(current) >= cut_off:
            await self._redis.expire(key, ttl)
            return int(current)
        await self._redis.set(key, str(cut_off), ex=ttl)
        return cut_off

    async def is_revoked(self, account_id: str, token_id: str, issued_ms: int) -> bool:
        """True when the token itself, or every token of its account up to its issue time, has been revoked."""
        try:
            token_record, account_cut_off = await self._redis.mget(
                self._token_key(token_id) if token_id else self._token_key("-"), self._account_key(account_id)
            )
        except (RedisError, OSError) as exc:
            raise RevocationUnavailable("revocation records could not be read") from exc
        if token_id and token_record is not None:
            return True
        return account_cut_off is not None and issued_ms <= int(account_cut_off)
