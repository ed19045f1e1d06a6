"""Base settings shared by every deployable; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import ClassVar, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nivaran_common.secret_strength import ISSUED_CREDENTIAL_BITS, OWN_KEY_BITS, IssuedElsewhere, weakness
from nivaran_common.tls import TlsMaterial

# Values that are acceptable only on a developer's machine. A settings class that still holds one of these
# outside the dev profile refuses to build.
DEV_ONLY_SECRET_PREFIX = "dev-only-"


# What every process needs for its door (mutual TLS, and the revocation records every door reads).
DOOR_SETTINGS = ("tls_ca_file", "tls_cert_file", "tls_key_file", "revocation_redis_url")


class Profile(StrEnum):
    """Where a process runs. `prod` is the default, so a process started without a profile is held to prod's rules.

    - dev: a developer's machine (`make run` sets it): the embedded defaults, the public dev-only secrets, the fixed
      OTP and the demo accounts are allowed.
    - prod: every secret must be set, strong (nivaran_common.secret_strength) and none of the public dev values; the
      settings in `required_in_prod` (the database, Redis) must be set explicitly.
    - test: automated tests. Secrets are held to prod's rules (a test passes secrets it generates); the embedded
      database and Redis defaults may stay, as each test passes its own anyway.
    """

    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class ServiceSettings(BaseSettings):
    """Settings every gRPC service has. Subclasses set `model_config` with their own `env_prefix`."""

    # Errors must not echo the values read (secrets among them); subclasses inherit this.
    model_config = SettingsConfigDict(env_prefix="NIVARAN_", extra="ignore", hide_input_in_errors=True)
    # Settings whose embedded default (a SQLite file under var/, a Redis on localhost) is fit only for a developer's
    # machine, so that prod must set them explicitly (Kubernetes reads them from the nivaran-secrets Secret).
    required_in_prod: ClassVar[tuple[str, ...]] = (
        "database_url",
        *DOOR_SETTINGS,
        "identity_target",
    )

    profile: Profile = Profile.PROD
    service_name: str = "nivaran"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=0, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/nivaran.db"
    log_level: str = "INFO"
    graceful_shutdown_seconds: float = 10.0

    # Mutual TLS (nivaran_common.tls): the CA every peer's certificate is signed by, and this process's own
    # certificate and key, as PEM files. `make run` makes them (nivaran_common.pki); Kubernetes mounts a Secret.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # A second, plaintext port that serves only grpc.health.v1 (the kubelet's grpc probes cannot present a
    # client certificate); 0 for none.
    health_port: int = Field(default=0, ge=0, le=65535)
    # A plaintext port serving GET /metrics for Prometheus (nivaran_common.metrics), on the same host; 0 for none.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # Access tokens: JWTs signed by identity, verified against its JWKS (IdentityService.GetJwks), and the
    # revocation records identity writes to Redis (nivaran_common.revocation), read by every door.
    jwt_issuer: str = "nivaran-identity"
    jwt_audience: str = "nivaran"
    jwt_algorithms: tuple[str, ...] = ("ES256", "RS256")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # The key set is refetched when older than this, and on a token signed by an unknown kid, but never more
    # often than jwks_min_refresh_seconds (a flood of forged kids cannot hammer identity).
    jwks_max_age_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_seconds: float = Field(default=30.0, ge=0)
    revocation_redis_url: str = "redis://127.0.0.1:6379/0"
    revocation_key_prefix: str = "nivaran:revoked:"
    # Where identity listens: every door fetches its key set from there.
    identity_target: str = "127.0.0.1:50052"

    def env_name(self, field_name: str) -> str:
        """The environment variable that sets `field_name` (for messages that tell an operator what to set)."""
        return f"{self.model_config.get('env_prefix', '')}{field_name}".upper()

    def tls_material(self) -> TlsMaterial:
        """This process's TLS material; a clear error naming the unset or unreadable setting otherwise."""
        for name in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
            if not getattr(self, name):
                raise ValueError(f"{self.env_name(name)} is required: every gRPC call is mutual TLS")
        try:
            return TlsMaterial.from_files(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
        except (OSError, ValueError) as exc:
            raise ValueError(f"TLS files could not be read ({exc}); check {self.env_name('tls_cert_file')}") from exc

    @classmethod
    def public_dev_values(cls) -> frozenset[str]:
        """Public values, as dev uses them (the secrets' dev defaults): outside dev no secret may hold one."""
        return frozenset(
            field.default.get_secret_value()
            for field in cls.model_fields.values()
            if isinstance(field.default, SecretStr) and field.default.get_secret_value()
        )

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> ServiceSettings:
        if self.profile is Profile.DEV:
            return self
        problems = self._problems_outside_dev()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _problems_outside_dev(self) -> list[str]:
        """What keeps these settings from being used outside dev, each naming its environment variable.

        A secret (a SecretStr field) whose default is a dev value is required; an optional one may stay empty. A set
        secret must be none of the public dev values and must pass `weakness()` at OWN_KEY_BITS, or at
        ISSUED_CREDENTIAL_BITS when a provider issues it (IssuedCredential).
        """
        profile = self.profile.value
        dev_values = type(self).public_dev_values()
        problems: list[str] = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            env = self.env_name(name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                has_dev_default = isinstance(field.default, SecretStr) and bool(field.default.get_secret_value())
                if has_dev_default and (name not in self.model_fields_set or not secret):
                    problems.append(f"{env} is required in profile {profile}")
                elif not secret:
                    continue
                elif secret in dev_values or secret.startswith(DEV_ONLY_SECRET_PREFIX):
                    problems.append(f"{env} holds a public dev value; profile {profile} needs a secret of its own")
                else:
                    issued = any(isinstance(marker, IssuedElsewhere) for marker in field.metadata)
                    why = weakness(secret, ISSUED_CREDENTIAL_BITS if issued else OWN_KEY_BITS)
                    if why:
                        how = "" if issued else f" (generate one with `openssl rand -base64 {OWN_KEY_BITS // 8}`)"
                        problems.append(f"{env} is too weak for profile {profile}: {why}{how}")
            elif self.profile is Profile.PROD and name in self.required_in_prod:
                if name not in self.model_fields_set or not value:
                    problems.append(f"{env} is required in profile {profile}")
            elif isinstance(value, str) and value.startswith(DEV_ONLY_SECRET_PREFIX):
                problems.append(f"{env} holds a dev-only default; set a real value for profile {profile}")
        return problems


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """A deployable's settings from its environment; on an invalid one, exit naming each environment variable.

    The message leaves out the values read (pydantic's own would print them, secrets included).
    """
    try:
        return settings_class()
    except ValidationError as exc:
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        lines: list[str] = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                field, *inner = (str(part) for part in error["loc"])
                where = f"{prefix}{field}".upper() + (f" ({'.'.join(inner)})" if inner else "")
                message = f"{where}: {message}"
            lines.extend(f"  {line}" for line in message.split("; "))
        profile = f"{prefix}PROFILE"
        if not any(name.upper() == profile for name in os.environ):
            lines.append(f"  (prod is the default profile: set {profile}=dev on a developer's machine)")
        raise SystemExit(f"{settings_class.__name__}: refusing to start:\n" + "\n".join(lines)) from None


class TemporalSettings(BaseSettings):
    """Where the Temporal frontend is (embedded dev server by default; a cluster or Temporal Cloud by address), and
    the keys that seal what Temporal keeps about a case (nivaran_common.payload_codec)."""

    # Errors must not echo the keys read.
    model_config = SettingsConfigDict(env_prefix="NIVARAN_TEMPORAL_", extra="ignore", hide_input_in_errors=True)

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "nivaran-sla"
    # AES-256-GCM keys of the payload codec, `key-id:base64-of-32-bytes`, comma-separated; required in every
    # profile (`make run` keeps one in var/temporal-codec.key, tests generate their own). Every process that talks
    # to Temporal (intake, sla, the sla worker) must hold the same keys.
    codec_keys: SecretStr = SecretStr("")
    # The key id that seals new payloads; empty for the first of codec_keys. The other keys only open (rotation).
    codec_active_key: str = ""

    @model_validator(mode="after")
    def _codec_keys_usable(self) -> TemporalSettings:
        # Imported here: the codec brings temporalio and cryptography, which most importers of settings never need.
        from nivaran_common.payload_codec import CodecKeys

        CodecKeys.parse(self.codec_keys.get_secret_value(), self.codec_active_key)
        return self
