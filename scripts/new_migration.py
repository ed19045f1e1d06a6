"""Autogenerate an Alembic revision for one service against a scratch SQLite database.

python scripts/new_migration.py identity "accounts" 0001
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from nivaran_common.migrations import alembic_config, upgrade

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    service, message, rev_id = sys.argv[1], sys.argv[2], sys.argv[3]
    service_root = ROOT / "services" / service if service != "gateway" else ROOT / "gateway"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(service_root, url)
        command.revision(alembic_config(service_root, url), message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main()
