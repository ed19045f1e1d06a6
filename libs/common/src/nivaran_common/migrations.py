"""Alembic, run programmatically: one `env.py` body shared by every service, and an upgrade helper."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool
from sqlalchemy.engine import make_url

from nivaran_common.db import sync_url


def alembic_config(service_root: Path, url: str) -> Config:
    """Config for the service whose folder (holding alembic.ini and migrations/) is `service_root`."""
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(service_root: Path, url: str, revision: str = "head") -> None:
    """Bring the service's schema to `revision` (blocking)."""
    command.upgrade(alembic_config(service_root, url), revision)


async def upgrade_async(service_root: Path, url: str, revision: str = "head") -> None:
    """Bring the schema up to date without blocking the event loop."""
    await asyncio.to_thread(upgrade, service_root, url, revision)


def run_env(target_metadata: MetaData, version_table: str) -> None:
    """The body of every service's migrations/env.py."""
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
            version_table=version_table,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
