"""The dashboard's counts at any number of cases (issue 12): how many cases share a key of district, department (as
routed), track, status, "Other" category and "came back" (H3), kept in table `case_counts`.

Intake changes a key in two places only, and both adjust the counts in their own transaction: a filing adds one
(IntakeService.file), and a transition that changes a case's status or its returns moves one from the old key to
the new (IntakeService.record_transitions). The dashboard (IntakeStore.counts) then reads a few dozen rows instead
of a district's cases; migration 0016 filled the table from the cases stored before it, and `REBUILD` does the same
for a database loaded in bulk (bench/seeding.py).

Two keys moved in one transaction are updated in a fixed order, so that a disposal and a reopening of cases with the
same keys never wait on each other's rows (no deadlock)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from nivaran_intake.tables import CaseCountRow, GrievanceRow


class CountKey(NamedTuple):
    district_code: str
    routed_department_code: str
    track: str
    status: str
    category_is_other: bool
    returned: bool


def key_of(row: GrievanceRow) -> CountKey:
    return CountKey(
        row.district_code,
        row.routed_department_code,
        row.track,
        row.status,
        bool(row.category_is_other),
        (row.returns or 0) > 0,
    )


async def count_moved(session: AsyncSession, before: CountKey | None, after: CountKey | None) -> None:
    """One case left `before` (None: it is new) for `after`; nothing when they are the same key."""
    if before == after:
        return
    changes = sorted(
        [(key, delta) for key, delta in ((before, -1), (after, 1)) if key is not None], key=lambda change: change[0]
    )
    for key, delta in changes:
        if delta > 0:
            await _add_one(session, key)
        else:
            await session.execute(
                update(CaseCountRow)
                .where(*(getattr(CaseCountRow, name) == value for name, value in key._asdict().items()))
                .values(cases=CaseCountRow.cases - 1)
            )


async def _add_one(session: AsyncSession, key: CountKey) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CaseCountRow).values(**key._asdict(), cases=1)
    await session.execute(
        statement.on_conflict_do_update(index_elements=list(CountKey._fields), set_={"cases": CaseCountRow.cases + 1})
    )


# The counts computed afresh from the cases (after a bulk load); the same statement as migration 0016's fill.
REBUILD = (
    "DELETE FROM case_counts",
    "INSERT INTO case_counts (district_code, routed_department_code, track, status, category_is_other, returned, "
    "cases) SELECT district_code, routed_department_code, track, status, category_is_other, "
    "CASE WHEN returns > 0 THEN TRUE ELSE FALSE END, count(*) FROM grievances GROUP BY district_code, "
    "routed_department_code, track, status, category_is_other, CASE WHEN returns > 0 THEN TRUE ELSE FALSE END",
)
