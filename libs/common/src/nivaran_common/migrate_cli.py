"""Migrate one service's database, or wait until another process has: `python -m nivaran_common.migrate_cli`.

    python -m nivaran_common.migrate_cli upgrade intake            # bring intake's schema to head, then exit
    python -m nivaran_common.migrate_cli wait intake --timeout 600 # exit 0 once it is at head; change nothing

The database URL is NIVARAN_<SERVICE>_DATABASE_URL (or --database-url). Kubernetes runs `upgrade` once per release
as a Job (nivaran-migrate-<service>), and `wait` as an init container of the service's pods, so that replicas never
race Alembic: by the time a service runs its own start-up upgrade, there is nothing left to do.
Exit codes: 0 done, 1 not at head when the timeout ran out, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.migrations import alembic_config, upgrade

SERVICES = ("identity", "intake", "notify", "routing", "sla")

log = get_logger(__name__)


def service_root(service: str) -> Path:
    """The folder holding the service's alembic.ini and migrations/ (its package's SERVICE_ROOT)."""
    # Imported by name: nivaran_common depends on no service, and the image holds only its own one.
    module = importlib.import_module(f"nivaran_{service}")
    return Path(module.SERVICE_ROOT)


def schema_state(root: Path, url: str) -> tuple[set[str], set[str]]:
    """(the revisions the database is at, the heads of the service's migrations); reads, never writes."""
    config = alembic_config(root, url)
    script = ScriptDirectory.from_config(config)
    current: set[str] = set()

    def read_current(heads: Iterable[str], context: MigrationContext) -> list[Any]:
        current.update(context.get_current_heads())
        return []

    # The service's own env.py configures the context (its version table), as `alembic current` does.
    with EnvironmentContext(config, script, fn=read_current, dont_mutate=True):
        script.run_env()
    return current, set(script.get_heads())


def wait_for_head(root: Path, url: str, timeout: float, interval: float) -> bool:
    """Poll until the database is at the migrations' head; False when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            current, heads = schema_state(root, url)
        except SQLAlchemyError as exc:
            log.warning("database not reachable yet", error=type(exc).__name__)
        else:
            if current == heads:
                log.info("schema at head", revisions=sorted(heads))
                return True
            log.info("waiting for the migration job", current=sorted(current), head=sorted(heads))
        if time.monotonic() + interval > deadline:
            return False
        time.sleep(interval)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m nivaran_common.migrate_cli", description=__doc__)
    parser.add_argument("action", choices=["upgrade", "wait"])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--database-url", help="defaults to NIVARAN_<SERVICE>_DATABASE_URL")
    parser.add_argument("--timeout", type=float, default=600.0, help="wait: seconds before giving up (exit 1)")
    parser.add_argument("--interval", type=float, default=5.0, help="wait: seconds between two looks")
    args = parser.parse_args(argv)
    variable = f"NIVARAN_{args.service.upper()}_DATABASE_URL"
    url = args.database_url or os.environ.get(variable)
    if not url:
        parser.error(f"{variable} is not set and --database-url is not given")
    configure_logging(f"migrate-{args.service}", os.environ.get("NIVARAN_LOG_LEVEL", "INFO"))
    root = service_root(args.service)
    if args.action == "upgrade":
        log.info("migrating", database=args.service)
        upgrade(root, url)
        current, heads = schema_state(root, url)
        log.info("migrated", database=args.service, revisions=sorted(current))
        return 0 if current == heads else 1
    # Alembic announces its dialect at every look; one line per look is ours.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if wait_for_head(root, url, args.timeout, args.interval):
        return 0
    log.error("schema not at head in time; has the migration job run?", database=args.service, timeout=args.timeout)
    return 1


if __name__ == "__main__":
    sys.exit(main())
