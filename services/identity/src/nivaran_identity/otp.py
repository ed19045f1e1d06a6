"""Citizen OTPs in Redis: hashed codes with a TTL, a resend cooldown, hourly limits per phone and per IP, and a cap
on wrong codes per issued OTP.

Wrong codes count against the OTP they were tried on, never against the phone: too many burn that OTP only, and the
citizen asks for a new one (within the cooldown and the hourly limits). A verification when no OTP is outstanding
counts nothing, so a stranger guessing at a phone cannot lock its owner out."""

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

# A wrong code on the OTP whose id is ARGV[1]: count it and, at ARGV[2] failures, burn the OTP. Returns the failures
# so far, or -1 when that OTP is no longer there (used, burned, expired or replaced by a newer one meanwhile).
_FAIL_LUA = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
  return -1
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
return failures
"""

# A right code on the OTP whose id is ARGV[1]: consume it. Returns 1, or 0 when it is no longer there, so only one of
# two concurrent verifications logs in, and a newer OTP issued meanwhile is not consumed by the old one's code.
_CONSUME_LUA = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
  return 0
end
return redis.call('DEL', KEYS[1])
"""


@dataclass(frozen=True)
class OtpPolicy:
    ttl_seconds: int = 300
    resend_cooldown_seconds: int = 30
    max_per_phone_per_hour: int = 5
    max_per_ip_per_hour: int = 20
    # Wrong codes an issued OTP takes; the last one burns it.
    max_failures: int = 5
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
        """The Redis key of one piece of OTP state (`code`, `cooldown`, `rate-phone`, `rate-ip`)."""
        return f"{self._prefix}otp:{kind}:{subject}"

    def phone_id(self, phone: str) -> str:
        """What stands for a phone in key names."""
        return self._box.otp_hash(phone, "key-name")[:32]

    def new_code(self) -> str:
        """Six digits from `secrets` (or the dev profile's fixed code)."""
        if self._policy.fixed_code is not None:
            return self._policy.fixed_code
        return f"{secrets.randbelow(1_000_000):06d}"

    @staticmethod
    def _not_issued_error() -> Unauthenticated:
        return Unauthenticated(
            bilingual(
                "otp_expired: the OTP has expired or was not requested; ask for a new one",
                "OTP की अवधि समाप्त हो गई या माँगा नहीं गया; नया OTP माँगें",
            )
        )

    @staticmethod
    def _burned_error() -> ResourceExhausted:
        return ResourceExhausted(
            bilingual(
                "otp_attempts_exhausted: too many wrong codes; this OTP no longer works, ask for a new one",
                "बहुत बार गलत OTP; यह OTP अब मान्य नहीं, नया OTP माँगें",
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
        """Store `code` (hashed) for `phone`, replacing any earlier one, after the cooldown and rate checks."""
        policy = self._policy
        pid = self.phone_id(phone)
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
        code_key = self.key("code", pid)
        # A fresh id and failure count per OTP: wrong codes tried on an earlier one do not carry over.
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(code_key)
        pipe.hset(
            code_key,
            mapping={
                "hash": self._box.otp_hash(phone, code),
                "expires_at": f"{expires_at.timestamp():.3f}",
                "id": secrets.token_hex(16),
                "failures": 0,
            },
        )
        pipe.expire(code_key, policy.ttl_seconds)
        await pipe.execute()
        return OtpIssued(expires_at=expires_at, resend_after_seconds=policy.resend_cooldown_seconds)

    async def withdraw(self, phone: str) -> None:
        """Forget an OTP that could not be delivered, and its cooldown, so the citizen can ask again at once."""
        pid = self.phone_id(phone)
        await self._redis.delete(self.key("code", pid), self.key("cooldown", pid))

    async def verify(self, phone: str, code: str) -> None:
        """Consume the OTP of `phone` when `code` matches. A wrong code counts against that OTP (the last allowed one
        burns it); with no OTP outstanding the refusal counts nothing."""
        pid = self.phone_id(phone)
        code_key = self.key("code", pid)
        # The client decodes responses (create_redis), so fields and values are str.
        stored = {str(k): str(v) for k, v in (await self._redis.hgetall(code_key)).items()}
        otp_id = stored.get("id", "")
        if not otp_id or float(stored.get("expires_at", "0")) <= self._clock().timestamp():
            raise self._not_issued_error()
        if not self._box.otp_matches(stored.get("hash", ""), self._box.otp_hash(phone, code)):
            max_failures = self._policy.max_failures
            failures = int(await self._redis.eval(_FAIL_LUA, 1, code_key, otp_id, max_failures))
            if failures < 0:
                raise self._not_issued_error()
            if failures >= max_failures:
                raise self._burned_error()
            left = max_failures - failures
            raise Unauthenticated(bilingual(f"otp_wrong: wrong OTP; {left} attempts left", f"गलत OTP; {left} प्रयास शेष"))
        if not int(await self._redis.eval(_CONSUME_LUA, 1, code_key, otp_id)):
            raise Unauthenticated(bilingual("otp_used: the OTP was already used", "यह OTP पहले ही उपयोग हो चुका है"))
