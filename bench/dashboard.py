"""The district dashboard's queries with a state's worth of cases stored, on PostgreSQL (issue 12).

A district dashboard is what a DM's review page reads, one after the other, from intake's use cases:
    the review figures (IntakeService.dashboard: total, pending, disposed, closed - not fixed, overdue, H4 shares)
    open cases by age per office   (ReportService.pending_by_age, group office)
    open cases by age per officer  (ReportService.pending_by_age, group position)

(a) baseline: the dashboard of a district with --baseline cases stored (default 10,000) in intake's database;
(b) the same with --cases stored (default 1,000,000);
each seeded with COPY (bench/seeding.py: two districts, 10 % of the cases open), VACUUM ANALYZEd, warmed up, then read
--rounds times per district. Prints p50 / p95 / max per dashboard and per query, and the ratio b / a of the p95.
Both databases are made on NIVARAN_TEST_PG_URL's server and dropped at the end.

    .venv/bin/python bench/dashboard.py [--cases 1000000] [--baseline 10000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.seeding

from bench import benchlib, seeding  # noqa: E402
from nivaran_common.db import create_engine, session_factory  # noqa: E402
from nivaran_common.migrations import upgrade_async  # noqa: E402
from nivaran_common.testing import create_pg_database, drop_pg_database  # noqa: E402
from nivaran_intake import SERVICE_ROOT  # noqa: E402
from nivaran_intake.reports import ReportService  # noqa: E402
from nivaran_intake.store import IntakeStore  # noqa: E402

DISTRICTS = ("PAT", "NAL")
QUERIES = ("figures", "by_office", "by_officer")


async def one_dashboard(sessions, reports: ReportService, district: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The three reads of one district's dashboard; seconds per read."""
    now = datetime.now(UTC)
    took: dict[str, float] = {}
    began = time.perf_counter()
    async with sessions() as session:  # as IntakeService.dashboard reads them
        store = IntakeStore(session)
        await store.counts(district_code=district, department_code="")
        await store.overdue(district_code=district, department_code="", now=now)
    took["figures"] = time.perf_counter() - began
    for name, group in (("by_office", "office"), ("by_officer", "position")):
        began = time.perf_counter()
        await reports.pending_by_age(district_code=district, department_code="", track="", group=group, now=now)
        took[name] = time.perf_counter() - began
    took["dashboard"] = sum(took.values())
    return took


async def measure(label: str, count: int, rounds: int) -> dict[str, list[float]]:
    url = create_pg_database(f"nivaran_bench_dash_{count}")
    try:
        await upgrade_async(SERVICE_ROOT, url)
        print(f"({label}) seeding {count:,} cases …", flush=True)
        seeded = seeding.seed_intake(url, count)
        with psycopg.connect(seeding._conninfo(url), autocommit=True) as conn:
            # What autovacuum does to a table in service: statistics, and the visibility map that index-only scans use.
            conn.execute("VACUUM ANALYZE")
        print(
            f"({label}) stored {seeded.cases:,} cases ({seeded.open_cases:,} open), {seeded.table_mib:,.0f} MiB with "
            f"indexes, seeded in {seeded.seconds:.1f} s",
            flush=True,
        )
        engine = create_engine(url)
        sessions = session_factory(engine)
        reports = ReportService(sessions)
        for district in DISTRICTS:  # warm-up: plans cached, pages in the buffer cache
            await one_dashboard(sessions, reports, district)
        samples: dict[str, list[float]] = {name: [] for name in (*QUERIES, "dashboard")}
        for round_ in range(rounds):
            for district in DISTRICTS:
                for name, seconds in (await one_dashboard(sessions, reports, district)).items():
                    samples[name].append(seconds * 1000)
            if (round_ + 1) % 10 == 0:
                print(f"({label}) {round_ + 1}/{rounds} rounds", flush=True)
        await engine.dispose()
        return samples
    finally:
        drop_pg_database(url)


def summary(values: list[float]) -> str:
    return (
        f"p50 {benchlib.percentile(values, 0.5):.1f} ms  p95 {benchlib.percentile(values, 0.95):.1f} ms  "
        f"max {max(values):.1f} ms  (n={len(values)})"
    )


async def main(cases: int, baseline: int, rounds: int) -> None:
    load_before = os.getloadavg()
    base = await measure("a", baseline, rounds)
    big = await measure("b", cases, rounds)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before {' / '.join(f'{v:.2f}' for v in load_before)}")
    for label, count, samples in (("a", baseline, base), ("b", cases, big)):
        print(f"({label}) district dashboard with {count:,} cases stored: {summary(samples['dashboard'])}")
        for name in QUERIES:
            print(f"    {name:<11} {summary(samples[name])}")
    ratio = benchlib.percentile(big["dashboard"], 0.95) / benchlib.percentile(base["dashboard"], 0.95)
    print(f"ratio b/a (p95 of the dashboard): {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.baseline, args.rounds))
