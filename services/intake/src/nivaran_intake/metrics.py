"""Intake's SLA gauge: the open cases, and so the clocks running, by policy track and status.

Every open case has its lifecycle's clocks running, so the open cases by track are the open clocks by track that an
SRE watches (README "Metrics"). They come from the kept counts (case_counts.py: a few dozen rows whatever the
number of cases), read every `interval` seconds by a task of the intake process, not at scrape time: a scrape never
waits on the database, and the figure is at most one interval old. Every intake replica reads the same table, so
the dashboard takes `max` over the replicas, not `sum`.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.logging import get_logger
from nivaran_intake.projection import ENDED
from nivaran_intake.tables import CaseCountRow

log = get_logger(__name__)


class OpenCases:
    """The gauge `nivaran_open_cases{track, status}` and the read that sets it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], registry: CollectorRegistry) -> None:
        self._sessions = sessions
        self.gauge = Gauge(
            "nivaran_open_cases",
            "Open cases (each with its lifecycle's clocks running) by policy track and status, from intake's kept "
            "counts; every intake replica reports the same figure.",
            ["track", "status"],
            registry=registry,
        )

    async def refresh(self) -> dict[tuple[str, str], int]:
        """Read the counts once and set the gauge; a key whose cases all ended goes back to 0."""
        stmt = (
            select(CaseCountRow.track, CaseCountRow.status, func.sum(CaseCountRow.cases))
            .where(CaseCountRow.status.not_in(sorted(ENDED)))
            .group_by(CaseCountRow.track, CaseCountRow.status)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        found = {(track, status): int(cases or 0) for track, status, cases in rows}
        for labels in {tuple(sample.labels.values()) for metric in self.gauge.collect() for sample in metric.samples}:
            found.setdefault((labels[0], labels[1]), 0)
        for (track, status), cases in found.items():
            self.gauge.labels(track=track, status=status).set(cases)
        return found

    async def keep_fresh(self, interval: float) -> None:
        """Refresh every `interval` seconds until cancelled; a failed read is logged and tried again."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # noqa: BLE001 - a gauge must never stop the service
                log.warning("open-case gauge not refreshed", error_type=type(exc).__name__)
            await asyncio.sleep(interval)
