"""Identity settings (env prefix NIVARAN_IDENTITY_)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import ClassVar

import yaml
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from nivaran_common.secret_strength import IssuedCredential
from nivaran_common.settings import DEV_ONLY_SECRET_PREFIX, DOOR_SETTINGS, Profile, ServiceSettings

# The demo accounts of the dev profile (NIVARAN_IDENTITY_SEED_FILE under `make run`); their passwords are public.
DEMO_SEED_FILE = Path(__file__).resolve().parents[2] / "seed" / "demo.yaml"


@functools.cache
def demo_passwords(path: Path = DEMO_SEED_FILE) -> frozenset[str]:
    """The passwords of the demo accounts in `path` (none when the file is absent)."""
    if not path.is_file():
        return frozenset()
    seed = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    accounts = [*seed.get("officers", []), *seed.get("operators", [])]
    return frozenset(str(account["password"]) for account in accounts if account.get("password"))


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_IDENTITY_", extra="ignore")
    required_in_prod: ClassVar[tuple[str, ...]] = ("database_url", "redis_url", *DOOR_SETTINGS)

    service_name: str = "identity"
    grpc_port: int = 50052
    database_url: str = "sqlite+aiosqlite:///var/identity.db"

    # OTP state, resend cooldowns and rate limits live in Redis under this prefix.
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "nivaran:identity:"
    # Peers: routing names a post's role and district (S6); sla re-bases clocks when a new officer takes charge (S7).
    routing_target: str = "127.0.0.1:50051"
    sla_target: str = "127.0.0.1:50055"
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)

    # Encrypts the token-signing private keys and the officers' TOTP secrets at rest, and keys the OTP hashes.
    # Changing it makes the stored keys unreadable: rotate_keys() first, then re-enrol TOTP. Refused outside dev
    # while it holds the default.
    key_encryption_secret: SecretStr = SecretStr(DEV_ONLY_SECRET_PREFIX + "identity-key-encryption-secret")
    access_token_ttl_seconds: int = Field(default=15 * 60, gt=0)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # A new signing key is made when the active one is older than this (0: only by rotate_keys()).
    signing_key_max_age_days: float = Field(default=30.0, ge=0)

    # Citizen OTP (S-none; the design's "citizen OTP (Redis)").
    otp_ttl_seconds: int = Field(default=300, gt=0)
    otp_resend_cooldown_seconds: int = Field(default=30, ge=0)
    otp_max_per_phone_per_hour: int = Field(default=5, gt=0)
    otp_max_per_ip_per_hour: int = Field(default=20, gt=0)
    otp_max_failures: int = Field(default=5, gt=0)
    # Dev only: every OTP is this fixed value, so a developer can log in without an SMS. Refused in any other profile.
    dev_fixed_otp_enabled: bool = False
    dev_fixed_otp: str = "123456"
    # Outside dev, OTPs (and officers' TOTP enrolment links) go by SMS through this provider's JSON API.
    sms_provider_url: str = ""
    sms_api_key: IssuedCredential = SecretStr("")
    sms_sender_id: str = "NIVRAN"
    sms_dlt_entity_id: str = ""
    sms_otp_dlt_template_id: str = ""
    sms_totp_dlt_template_id: str = ""
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    # Officers: password failures before a lockout (counted from the login audit), and TOTP as a second factor.
    password_max_failures: int = Field(default=5, gt=0)
    password_lockout_seconds: int = Field(default=15 * 60, gt=0)
    # None means: required outside dev, optional in dev.
    require_officer_totp: bool | None = None
    totp_issuer: str = "Nivaran"

    # Dev only: demo accounts to create at start (see seed/demo.yaml). Refused in any other profile.
    seed_file: Path | None = None
    # How often charge handovers that sla did not take yet are offered again (S7).
    handover_retry_seconds: float = Field(default=10.0, gt=0)

    @classmethod
    def public_dev_values(cls) -> frozenset[str]:
        """The dev defaults, and the demo accounts' passwords: no secret may be one of them outside dev."""
        return super().public_dev_values() | demo_passwords()

    @property
    def officer_totp_required(self) -> bool:
        """Whether approved officers get a TOTP and must give it at login."""
        if self.require_officer_totp is None:
            return self.profile is not Profile.DEV
        return self.require_officer_totp

    @model_validator(mode="after")
    def _dev_only_conveniences(self) -> IdentitySettings:
        if not re.fullmatch(r"\d{6}", self.dev_fixed_otp):
            raise ValueError("dev_fixed_otp must be six digits")
        if self.profile is not Profile.DEV:
            if self.dev_fixed_otp_enabled:
                raise ValueError(f"a fixed OTP is allowed only in the dev profile, not in {self.profile.value}")
            if self.seed_file is not None:
                raise ValueError(
                    f"seed_file (demo accounts) is allowed only in the dev profile, not in {self.profile.value}"
                )
        return self
