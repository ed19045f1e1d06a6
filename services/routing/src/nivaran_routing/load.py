"""Load master data from a folder: `python -m nivaran_routing.load data/demo [--database-url URL] [--dry-run]`.

Brings the schema up to date, then loads every YAML and CSV file of the folder in one transaction. Prints what
changed per table and every row error; exits 1 when any row is wrong (and then nothing is written), 2 when the folder
cannot be read. Loading the same folder twice changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from nivaran_common.db import create_engine, session_factory
from nivaran_common.errors import FailedPrecondition
from nivaran_common.migrations import upgrade_async
from nivaran_common.settings import load_settings
from nivaran_routing import SERVICE_ROOT
from nivaran_routing.domain import ImportReport
from nivaran_routing.loader import MasterDataLoader
from nivaran_routing.settings import RoutingSettings


def describe(report: ImportReport, out: TextIO) -> None:
    """Write a person-readable summary: counts per table, then each row error as file:line field: message."""
    if report.errors:
        out.write("master data rejected, nothing written / मास्टर डेटा अस्वीकृत, कुछ भी नहीं लिखा गया\n")
    elif report.dry_run:
        out.write("dry run, nothing written / परीक्षण, कुछ भी नहीं लिखा गया\n")
    else:
        out.write("master data loaded / मास्टर डेटा लोड हुआ\n")
    if not report.errors:
        out.write(f"  {'table / तालिका':<16} {'new / नए':>10} {'changed / बदले':>16} {'unchanged / अपरिवर्तित':>24}\n")
        for table, counts in report.counts.items():
            out.write(f"  {table:<16} {counts.inserted:>10} {counts.updated:>16} {counts.unchanged:>24}\n")
    for error in report.errors:
        where = f"{error.source}:{error.row}" if error.source else f"row {error.row}"
        out.write(f"  error {where} {error.field}: {error.message}\n")


async def load(folder: Path, database_url: str, dry_run: bool) -> ImportReport:
    """Migrate the database at `database_url`, then load `folder` into it."""
    await upgrade_async(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    try:
        return await MasterDataLoader(session_factory(engine)).load_folder(folder, dry_run=dry_run)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m nivaran_routing.load", description=__doc__)
    parser.add_argument("folder", type=Path, help="folder of master-data files, e.g. data/demo")
    parser.add_argument(
        "--database-url",
        help="defaults to NIVARAN_ROUTING_DATABASE_URL (var/routing.db with NIVARAN_ROUTING_PROFILE=dev)",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    args = parser.parse_args(argv)
    database_url = args.database_url or load_settings(RoutingSettings).database_url
    try:
        report = asyncio.run(load(args.folder, database_url, args.dry_run))
    except NotADirectoryError as exc:
        sys.stderr.write(f"{exc} / फ़ोल्डर नहीं मिला\n")
        return 2
    except FailedPrecondition as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    describe(report, sys.stdout)
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
