"""The dashboard's kept counts (case_counts.py, issue 12) always equal the cases counted afresh: after filings, status
changes, returns (H3) and a repeated transition, on SQLite and PostgreSQL; and migration 0016 fills them from the
cases stored before it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from alembic import command
from sqlalchemy import case, func, select

from nivaran_common.migrations import alembic_config, upgrade_async
from nivaran_intake import SERVICE_ROOT
from nivaran_intake.domain import Status
from nivaran_intake.projection import Transition
from nivaran_intake.tables import CaseCountRow, GrievanceRow

from .conftest import IntakeHarness
from .test_service import filing


def moved(grievance_id: str, key: str, event_type: str = "moved", **changes: object) -> Transition:
    fields: dict[str, object] = {
        "grievance_id": grievance_id,
        "idempotency_key": key,
        "event_type": event_type,
        "summary_en": "x",
        "summary_hi": "x",
        "actor": {},
        "payload": {},
        "occurred_at": None,
    }
    return Transition(**{**fields, **changes})  # type: ignore[arg-type]


async def kept_and_recounted(
    intake: IntakeHarness,
) -> tuple[dict[tuple[object, ...], int], dict[tuple[object, ...], int]]:
    returned = case((GrievanceRow.returns > 0, True), else_=False)
    async with intake.sessions() as session:
        kept = {
            (r.district_code, r.routed_department_code, r.track, r.status, r.category_is_other, r.returned): r.cases
            for r in (await session.execute(select(CaseCountRow))).scalars()
            if r.cases
        }
        keys = (
            GrievanceRow.district_code,
            GrievanceRow.routed_department_code,
            GrievanceRow.track,
            GrievanceRow.status,
            GrievanceRow.category_is_other,
            returned,
        )
        recount = {
            (d, dept, t, s, bool(o), bool(r)): int(n)
            for d, dept, t, s, o, r, n in (await session.execute(select(*keys, func.count()).group_by(*keys))).all()
        }
    return kept, recount


async def test_H3_the_kept_counts_follow_filings_moves_and_returns(intake: IntakeHarness) -> None:
    cases = [(await intake.service.file(filing())).grievance.id for _ in range(4)]
    other = (await intake.service.file(replace(filing(), category_code="FOOD-OTHER"))).grievance.id
    await intake.service.record_transition(moved(cases[0], "a1", new_status=Status.ASSIGNED))
    await intake.service.record_transitions(
        [moved(cases[1], "b1", new_status=Status.ASSIGNED), moved(cases[1], "b2", new_status=Status.DISPOSED)]
    )
    await intake.service.record_transition(moved(cases[2], "c1", new_status=Status.DISPOSED))
    await intake.service.record_transition(moved(cases[2], "c2", "reopened", new_status=Status.ASSIGNED))
    await intake.service.record_transition(moved(cases[2], "c3", new_status=Status.DISPOSED))
    await intake.service.record_transition(moved(cases[2], "c3", new_status=Status.DISPOSED))  # a retry: nothing
    await intake.service.record_transition(moved(other, "o1", new_status=Status.ASSIGNED))

    kept, recount = await kept_and_recounted(intake)

    assert kept == recount
    # Case 2 ended after coming back: it counts as returned (closed - not fixed), not as disposed.
    assert kept[("PAT", "FOOD", "sahyog", "disposed", False, True)] == 1
    assert kept[("PAT", "FOOD", "sahyog", "disposed", False, False)] == 1
    assert kept[("PAT", "FOOD", "sahyog", "assigned", True, False)] == 1
    board = await intake.service.dashboard("PAT", "")
    assert (board.total, board.pending, board.disposed, board.closed_not_fixed) == (5, 3, 1, 1)


async def test_migration_0016_fills_the_counts_from_the_cases_stored_before_it(
    intake: IntakeHarness, database_url: str
) -> None:
    for _ in range(3):
        case_id = (await intake.service.file(filing())).grievance.id
    await intake.service.record_transition(moved(case_id, "d1", new_status=Status.DISPOSED))
    await intake.service.record_transition(moved(case_id, "d2", "unresolved", new_status=Status.ASSIGNED))
    # Back to the schema before the counts were kept (the table goes), then up again: 0016 fills it from the cases.
    await asyncio.to_thread(command.downgrade, alembic_config(SERVICE_ROOT, database_url), "0015")
    await upgrade_async(SERVICE_ROOT, database_url)

    kept, recount = await kept_and_recounted(intake)

    assert kept == recount
    assert kept == {
        ("PAT", "FOOD", "sahyog", "registered", False, False): 2,
        ("PAT", "FOOD", "sahyog", "assigned", False, True): 1,
    }
