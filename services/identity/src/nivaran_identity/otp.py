"""Citizen OTPs in Redis: hashed codes with a TTL, a resend cooldown, hourly limits per phone and per IP, and a
lockout after repeated wrong codes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from nivaran_common.errors import ResourceExhausted, Unauthenticated
from nivaran_identity.domain import OtpIssued, bilingual
from nivaran_identity.keys import SecretBox

HOUR_SECONDS = 3600


@dataclass(frozen=True)
class OtpPolicy:
    ttl_seconds: int = 300
    resend_cooldown_seconds: int = 30
    max_per_phone_per_hour: int = 5
    max_per_ip_per_hour: int = 20
    max_failures: int = 5
    lockout_seconds: int = 900
    # Dev only (IdentitySettings refuses it elsewhere): every OTP is this code.
    fixed_code: str | None = None


class OtpVault:
    """Issues and checks OTPs. Key names carry a keyed hash of the phone, never the number itself."""

    def __init__(
        self, redis: Redis, prefix: str, box: SecretBox, policy: OtpPolicy, clock: Callable[[], datetime]
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._box = box
        self._policy = policy
        self._clock = clock

    def key(self, kind: str, subject: str) -> str:
        """The Redis key of one piece of OTP state (`code`, `cooldown`, `rate-phone`, `rate-ip`, `fail`, `lock`)."""
        return f"{self._prefix}otp:{kind}:{subject}"

    def phone_id(self, phone: str) -> str:
        """What stands for a phone in key names."""
        return self._box.otp_hash(phone, "key-name")[:32]

    def new_code(self) -> str:
        """Six digits from `secrets` (or the dev profile's fixed code)."""
        if self._policy.fixed_code is not None:
            return self._policy.fixed_code
        return f"{secrets.randbelow(1_000_000):06d}"

    async def _locked_for(self, pid: str) -> int:
        ttl = int(await self._redis.ttl(self.key("lock", pid)))
        return ttl if ttl > 0 else 0

    def _locked_error(self, seconds: int) -> ResourceExhausted:
        minutes = max(1, (seconds + 59) // 60)
        return ResourceExhausted(
            bilingual(
                f"otp_lockout: too many wrong OTPs; try again in {minutes} min",
                f"बहुत बार गलत OTP; {minutes} मिनट बाद प्रयास करें",
            )
        )

    async def _cooldown_error(self, cooldown_key: str) -> ResourceExhausted:
        wait = max(1, int(await self._redis.ttl(cooldown_key)))
        return ResourceExhausted(
            bilingual(
                f"otp_resend_cooldown: wait {wait} s before asking for another OTP",
                f"दूसरा OTP माँगने से पहले {wait} सेकंड रुकें",
            )
        )

    async def _count(self, key: str) -> int:
        # SET NX starts the hour's window; INCR counts within it (a fixed window per key).
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(key, 0, ex=HOUR_SECONDS, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
        return int(count)

    async def issue(self, phone: str, client_ip: str, code: str) -> OtpIssued:
        """Store `code` (hashed) for `phone` after the lockout, cooldown and rate checks."""
        policy = self._policy
        pid = self.phone_id(phone)
        locked = await self._locked_for(pid)
        if locked:
            raise self._locked_error(locked)
        cooldown_key = self.key("cooldown", pid)
        if policy.resend_cooldown_seconds and await self._redis.exists(cooldown_key):
            raise await self._cooldown_error(cooldown_key)
        if await self._count(self.key("rate-phone", pid)) > policy.max_per_phone_per_hour:
            raise ResourceExhausted(
                bilingual(
                    f"otp_max_per_phone_per_hour: at most {policy.max_per_phone_per_hour} OTPs per phone per hour",
                    f"एक फ़ोन पर एक घंटे में अधिकतम {policy.max_per_phone_per_hour} OTP",
                )
            )
        if client_ip and await self._count(self.key("rate-ip", client_ip)) > policy.max_per_ip_per_hour:
            raise ResourceExhausted(
                bilingual(
                    f"otp_max_per_ip_per_hour: at most {policy.max_per_ip_per_hour} OTPs per network address per hour",
                    f"एक नेटवर्क पते से एक घंटे में अधिकतम {policy.max_per_ip_per_hour} OTP",
                )
            )
        # Set last, so a request refused by a limit does not start a cooldown; NX settles two requests at once.
        if policy.resend_cooldown_seconds and not await self._redis.set(
            cooldown_key, 1, ex=policy.resend_cooldown_seconds, nx=True
        ):
            raise await self._cooldown_error(cooldown_key)
        expires_at = self._clock() + timedelta(seconds=policy.ttl_seconds)
        await self._redis.hset(
            self.key("code", pid),
            mapping={"hash": self._box.otp_hash(phone, code), "expires_at": f"{expires_at.timestamp():.3f}"},
        )
        await self._redis.expire(self.key("code", pid), policy.ttl_seconds)
        return OtpIssued(expires_at=expires_at, resend_after_seconds=policy.resend_cooldown_seconds)

    async def withdraw(self, phone: str) -> None:
        """Forget an OTP that could not be delivered, and its cooldown, so the citizen can ask again at once."""
        pid = self.phone_id(phone)
        await self._redis.delete(self.key("code", pid), self.key("cooldown", pid))

    async def verify(self, phone: str, code: str) -> None:
        """Consume the OTP of `phone` when `code` matches; count a failure (and lock out after too many) otherwise."""
        pid = self.phone_id(phone)
        locked = await self._locked_for(pid)
        if locked:
            raise self._locked_error(locked)
        code_key = self.key("code", pid)
        # The client decodes responses (create_redis), so fields and values are str.
        stored = {str(k): str(v) for k, v in (await self._redis.hgetall(code_key)).items()}
        if not stored or float(stored.get("expires_at", "0")) <= self._clock().timestamp():
            await self._fail(pid)
            raise Unauthenticated(
                bilingual(
                    "otp_expired: the OTP has expired or was not requested; ask for a new one",
                    "OTP की अवधि समाप्त हो गई या माँगा नहीं गया; नया OTP माँगें",
                )
            )
        if not self._box.otp_matches(stored.get("hash", ""), self._box.otp_hash(phone, code)):
            left = await self._fail(pid)
            raise Unauthenticated(bilingual(f"otp_wrong: wrong OTP; {left} attempts left", f"गलत OTP; {left} प्रयास शेष"))
        # Only one of two concurrent verifications can delete the code, so an OTP logs in once.
        if not await self._redis.delete(code_key):
            raise Unauthenticated(bilingual("otp_used: the OTP was already used", "यह OTP पहले ही उपयोग हो चुका है"))
        await self._redis.delete(self.key("fail", pid))

    async def _fail(self, pid: str) -> int:
        """Count a failed attempt; at the limit, lock the phone out and drop its code. Returns attempts left."""
        policy = self._policy
        fail_key = self.key("fail", pid)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(fail_key, 0, ex=policy.lockout_seconds, nx=True)
        pipe.incr(fail_key)
        _, failures = await pipe.execute()
        if int(failures) >= policy.max_failures:
            pipe = self._redis.pipeline(transaction=True)
            pipe.set(self.key("lock", pid), 1, ex=policy.lockout_seconds)
            pipe.delete(self.key("code", pid), fail_key)
            await pipe.execute()
            raise self._locked_error(policy.lockout_seconds)
        return policy.max_failures - int(failures)
