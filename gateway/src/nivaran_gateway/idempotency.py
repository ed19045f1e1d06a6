"""Idempotency-Key handling in Redis: replay a finished response, refuse a reused key, lock out a concurrent twin.

Redis is an accelerator here, not the guarantee: intake's database keeps one case per key. So when Redis is down the
gateway logs a warning and carries on, and intake's idempotency still yields exactly one case.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from nivaran_common.logging import get_logger
from nivaran_gateway.problems import BAD_REQUEST, IDEMPOTENCY_IN_FLIGHT, IDEMPOTENCY_KEY_REUSED, ProblemError

log = get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_:.-]{8,128}")

# Deletes the lock only while it is still ours, so a slow request cannot free a lock a later one took over.
_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def validate_key(value: str | None) -> str | None:
    """Check an Idempotency-Key header value; None when the header is absent."""
    if value is None:
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise ProblemError.field(BAD_REQUEST, HEADER, "must be 8-128 characters of A-Z a-z 0-9 _ - : .")
    return value


def fingerprint(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON form of a request body (sorted keys, no whitespace)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """A finished response kept for replay."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """The right to process a keyed request; `replay` is set instead when it was already processed."""

    key: str
    fingerprint: str
    token: str | None = None
    replay: StoredResponse | None = None


class IdempotencyStore:
    """Keeps, per key, the request fingerprint and final response, plus a short in-flight lock (SET NX EX)."""

    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int, lock_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._lock_ttl = lock_seconds

    def _record_key(self, key: str) -> str:
        return f"{self._prefix}idempotency:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self._prefix}idempotency-lock:{key}"

    async def begin(self, key: str, request_fingerprint: str) -> Claim:
        """Claim `key` for this request, or return the stored response to replay.

        Raises ProblemError when the key was used with another body (422) or its first request is in flight (409).
        """
        try:
            stored = await self._load(key, request_fingerprint)
            if stored is not None:
                return Claim(key, request_fingerprint, replay=stored)
            token = uuid.uuid4().hex
            acquired = await self._redis.set(
                self._lock_key(key), f"{request_fingerprint}:{token}", nx=True, ex=self._lock_ttl
            )
            if acquired:
                return Claim(key, request_fingerprint, token=token)
            # The first request may have finished between the read and the lock attempt.
            stored = await self._load(key, request_fingerprint)
            if stored is not None:
                return Claim(key, request_fingerprint, replay=stored)
            holder = await self._redis.get(self._lock_key(key))
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable; relying on intake idempotency", error=type(exc).__name__)
            return Claim(key, request_fingerprint)
        if holder is not None and not str(holder).startswith(f"{request_fingerprint}:"):
            raise _reused()
        raise ProblemError.field(
            IDEMPOTENCY_IN_FLIGHT,
            HEADER,
            "a request with this key is still being processed; retry after it finishes",
            headers={"Retry-After": "1"},
        )

    async def _load(self, key: str, request_fingerprint: str) -> StoredResponse | None:
        raw = await self._redis.get(self._record_key(key))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            stored = StoredResponse(int(record["status_code"]), dict(record["body"]), dict(record["headers"]))
            recorded_fingerprint = str(record["fingerprint"])
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable idempotency record ignored", key=key)
            return None
        if recorded_fingerprint != request_fingerprint:
            raise _reused()
        return stored

    async def complete(self, claim: Claim, response: StoredResponse) -> None:
        """Store the final response for replays and release the lock; a Redis failure only logs."""
        record = {
            "fingerprint": claim.fingerprint,
            "status_code": response.status_code,
            "body": response.body,
            "headers": response.headers,
        }
        try:
            await self._redis.set(self._record_key(claim.key), json.dumps(record, ensure_ascii=False), ex=self._ttl)
            await self._release(claim)
        except (RedisError, OSError) as exc:
            log.warning("could not store idempotent response", error=type(exc).__name__)

    async def abandon(self, claim: Claim) -> None:
        """Release the lock of a request that failed, so the client may retry it; a Redis failure only logs."""
        try:
            await self._release(claim)
        except (RedisError, OSError) as exc:
            log.warning("could not release idempotency lock", error=type(exc).__name__)

    async def _release(self, claim: Claim) -> None:
        if claim.token is not None:
            await self._redis.eval(_RELEASE_LUA, 1, self._lock_key(claim.key), f"{claim.fingerprint}:{claim.token}")


def _reused() -> ProblemError:
    return ProblemError.field(
        IDEMPOTENCY_KEY_REUSED, HEADER, "was already used with a different request body; use a new key"
    )
