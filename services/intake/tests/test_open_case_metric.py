"""The open-case gauge (metrics.py): open cases by track and status from the kept counts, on SQLite and PostgreSQL;
a key whose cases all ended reads 0 again, and the exposition carries it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from nivaran_intake.domain import Status
from nivaran_intake.metrics import OpenCases

from .conftest import IntakeHarness
from .test_case_counts import moved
from .test_service import filing


async def test_open_cases_by_track_and_status_follow_filings_and_disposals(intake: IntakeHarness) -> None:
    registry = CollectorRegistry()
    gauge = OpenCases(intake.sessions, registry)
    cases = [(await intake.service.file(filing())).grievance.id for _ in range(3)]
    await intake.service.record_transition(moved(cases[0], "a1", new_status=Status.ASSIGNED))

    first = await gauge.refresh()

    assert sum(first.values()) == 3
    assert first[("sahyog", "assigned")] == 1
    assert registry.get_sample_value("nivaran_open_cases", {"track": "sahyog", "status": "assigned"}) == 1.0

    await intake.service.record_transition(moved(cases[0], "a2", new_status=Status.DISPOSED))
    second = await gauge.refresh()

    # The disposed case is no longer open, and its old key reads 0 rather than its last value.
    assert ("sahyog", "disposed") not in second
    assert second[("sahyog", "assigned")] == 0
    assert sum(second.values()) == 2
    exposition = generate_latest(registry).decode()
    assert 'nivaran_open_cases{status="assigned",track="sahyog"} 0.0' in exposition
