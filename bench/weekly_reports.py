"""The weekly review reports' queries with a state's worth of cases stored, on PostgreSQL (issue 12: M1, M2, H4).

Seeds --cases cases with COPY (bench/seeding.py), VACUUM ANALYZEs, then reads through intake's use cases
(review_weekly.ReviewReports), each warmed up once and then timed --rounds times, for the largest district and
department of the seed:
    weekly        M1: a week's report per office of the district (filings, endings, open now, review events)
    long_pending  M2: the district's open cases filed more than 90 days before the newest filing, per office and
                  the oldest 200
    trends_12m    H4: the department's filings per category and month over twelve months

The same reads run first on --baseline cases (10,000), in the same run, and the ratio of each p95 is printed.

    .venv/bin/python bench/weekly_reports.py [--cases 1000000] [--baseline 10000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.seeding

from bench import benchlib, seeding  # noqa: E402
from nivaran_common.db import create_engine, session_factory  # noqa: E402
from nivaran_common.migrations import upgrade_async  # noqa: E402
from nivaran_common.testing import create_pg_database, drop_pg_database  # noqa: E402
from nivaran_common.timeutil import IST  # noqa: E402
from nivaran_intake import SERVICE_ROOT  # noqa: E402
from nivaran_intake.review_weekly import ReviewReports  # noqa: E402


async def measure(count: int, rounds: int) -> dict[str, float]:
    """Seed `count` cases, time each read `rounds` times; the p95 of each, in ms."""
    url = create_pg_database(f"nivaran_bench_weekly_{count}")
    p95: dict[str, float] = {}
    try:
        await upgrade_async(SERVICE_ROOT, url)
        seeded = seeding.seed_intake(url, count)
        with psycopg.connect(seeding._conninfo(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            district, department, newest = conn.execute(
                "SELECT district_code, routed_department_code, max(filed_at) FROM grievances GROUP BY 1, 2 "
                "ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()  # type: ignore[misc]
        print(f"stored {seeded.cases:,} cases ({seeded.open_cases:,} open), seeded in {seeded.seconds:.0f} s")
        engine = create_engine(url)
        reports = ReviewReports(session_factory(engine))
        week_end = newest.replace(hour=0, minute=0, second=0, microsecond=0)
        first = datetime(newest.year - 1, newest.month, 1, tzinfo=IST)
        reads: dict[str, Callable[[], Awaitable[Any]]] = {
            "weekly": lambda: reports.weekly(
                district_code=district, department_code="", track="", since=week_end - timedelta(days=7),
                until=week_end, now=datetime.now(UTC),
            ),
            "long_pending": lambda: reports.long_pending(
                district_code=district, department_code="", track="", filed_before=newest - timedelta(days=90),
                limit=200,
            ),
            "trends_12m": lambda: reports.category_trends(
                department_code=department, district_code="", since=first,
                until=first.replace(year=first.year + 1),
            ),
        }  # fmt: skip
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
        for name, read in reads.items():
            await read()
            samples = []
            for _ in range(rounds):
                began = time.perf_counter()
                await read()
                samples.append((time.perf_counter() - began) * 1000)
            p95[name] = benchlib.percentile(samples, 0.95)
            print(
                f"{name:<13} p50 {benchlib.percentile(samples, 0.5):.1f} ms  "
                f"p95 {p95[name]:.1f} ms  max {max(samples):.1f} ms  (n={rounds})"
            )
        await engine.dispose()
    finally:
        drop_pg_database(url)
    return p95


async def main(count: int, baseline: int, rounds: int) -> None:
    print(f"(a) {baseline:,} cases stored")
    base = await measure(baseline, rounds)
    print(f"(b) {count:,} cases stored")
    big = await measure(count, rounds)
    for name, ms in big.items():
        print(f"ratio b/a (p95 of {name}): {ms / base[name]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.baseline, args.rounds))
