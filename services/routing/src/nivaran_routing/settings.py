"""Routing settings (env prefix NIVARAN_ROUTING_)."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from nivaran_common.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_ROUTING_", extra="ignore")

    service_name: str = "routing"
    grpc_port: int = 50051
    database_url: str = "sqlite+aiosqlite:///var/routing.db"
    # A folder of master data (YAML or CSV, as data/demo) loaded at startup, after migrations. Loading is
    # idempotent, so a restart with the same folder changes nothing.
    seed_folder: Path | None = None
