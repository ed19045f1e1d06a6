"""Base settings shared by every deployable; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that are acceptable only on a developer's machine. A settings class that still holds one of these
# outside the dev profile refuses to build.
DEV_ONLY_SECRET_PREFIX = "dev-only-"


class Profile(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class ServiceSettings(BaseSettings):
    """Settings every gRPC service has. Subclasses set `model_config` with their own `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="NIVARAN_", extra="ignore")

    profile: Profile = Profile.DEV
    service_name: str = "nivaran"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=0, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/nivaran.db"
    log_level: str = "INFO"
    graceful_shutdown_seconds: float = 10.0

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> ServiceSettings:
        if self.profile is Profile.DEV:
            return self
        for name, value in self:
            secret = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            if isinstance(secret, str) and secret.startswith(DEV_ONLY_SECRET_PREFIX):
                raise ValueError(f"{name} holds a dev-only default; set a real value for profile {self.profile.value}")
        return self


class TemporalSettings(BaseSettings):
    """Where the Temporal frontend is. Embedded dev server by default; a cluster or Temporal Cloud by address."""

    model_config = SettingsConfigDict(env_prefix="NIVARAN_TEMPORAL_", extra="ignore")

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "nivaran-sla"
