"""M5's ranking of offices by how they end cases, and S18's daily report, on SQLite and PostgreSQL (the `intake`
fixture runs on both), and over gRPC; the projection's record of when a case ended and the deadlines it missed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import pytest_asyncio
from sqlalchemy import update

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import InvalidArgument, field_violations
from nivaran_common.grpc_server import build_server
from nivaran_common.timeutil import as_utc, to_timestamp
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.domain import Status
from nivaran_intake.main import binding
from nivaran_intake.projection import Transition
from nivaran_intake.reports import MIN_RANKED
from nivaran_intake.tables import GrievanceRow

from .conftest import IntakeHarness
from .test_reports import OTHER_OFFICE
from .test_service import filing

MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, tzinfo=UTC)


def event(grievance_id: str, key: str, event_type: str, at: datetime, **changes: object) -> Transition:
    fields: dict[str, object] = {
        "grievance_id": grievance_id,
        "idempotency_key": key,
        "event_type": event_type,
        "summary_en": "x",
        "summary_hi": "x",
        "actor": {},
        "payload": {},
        "occurred_at": at,
    }
    return Transition(**{**fields, **changes})  # type: ignore[arg-type]


async def ended_case(
    intake: IntakeHarness, at: datetime, *, late: bool = False, came_back: bool = False, moved: bool = False
) -> str:
    """A case ended at `at`: after a missed deadline when `late`, ended again after coming back when `came_back`."""
    gid = (await intake.service.file(filing())).grievance.id
    if moved:
        await intake.service.record_transition(event(gid, f"{gid}:m", "transferred", at, assignment=OTHER_OFFICE))
    if late:
        await intake.service.record_transition(event(gid, f"{gid}:b", "breach_recorded", at - timedelta(days=2)))
    if came_back:
        await intake.service.record_transition(event(gid, f"{gid}:d0", "disposed", MAY, new_status=Status.DISPOSED))
        await intake.service.record_transition(event(gid, f"{gid}:r", "reopened", MAY, new_status=Status.ASSIGNED))
    await intake.service.record_transition(event(gid, f"{gid}:d", "disposed", at, new_status=Status.DISPOSED))
    return gid


async def test_M5_the_projection_records_when_a_case_ended_and_the_deadlines_it_missed(intake: IntakeHarness) -> None:
    gid = await ended_case(intake, MAY + timedelta(days=3), late=True, came_back=True)

    row = await intake.service.get(grievance_id=gid)

    assert (row.breaches, row.returns) == (1, 1)
    assert as_utc(row.disposed_at) == MAY + timedelta(days=3)  # the last ending, not the first


async def test_M5_offices_are_ranked_by_cases_ended_within_time_less_those_not_fixed(intake: IntakeHarness) -> None:
    day = MAY + timedelta(days=10)
    # Patna's office: 6 ended, 5 within time, 1 came back -> (5 - 1) / 6. Danapur's: 5 ended, all within time -> 1.
    for late, back in ((True, False), (False, True), (False, False), (False, False), (False, False), (False, False)):
        await ended_case(intake, day, late=late, came_back=back)
    for _ in range(5):
        await ended_case(intake, day, moved=True)
    small = await ended_case(intake, day, moved=False)  # one more for Patna, but in June: outside the period
    async with intake.sessions.begin() as session:
        await session.execute(update(GrievanceRow).where(GrievanceRow.id == small).values(disposed_at=JUNE))

    rows = await intake.service.reports.ranking(
        district_code="PAT", department_code="", group="office", since=MAY, until=JUNE
    )

    assert [(r.office_id, r.rank, r.ended, r.within_time, r.not_fixed) for r in rows] == [
        ("OFF-FOOD-DNP", 1, 5, 5, 0),
        ("OFF-FOOD-PAT", 2, 6, 5, 1),
    ]
    assert rows[1].score == pytest.approx(4 / 6)
    assert rows[0].office_name_hi == "अनुमंडल आपूर्ति कार्यालय, दानापुर"


async def test_M5_an_office_with_few_cases_ended_is_listed_unranked_after_the_ranked(intake: IntakeHarness) -> None:
    day = MAY + timedelta(days=5)
    for _ in range(MIN_RANKED):
        await ended_case(intake, day, late=True)  # ranked, with a score of 0
    for _ in range(MIN_RANKED - 1):
        await ended_case(intake, day, moved=True)  # a perfect score, but too few to rank

    rows = await intake.service.reports.ranking(
        district_code="", department_code="FOOD", group="position", since=MAY, until=JUNE
    )

    assert [(r.position_id, r.rank, r.score) for r in rows] == [
        ("POS-FOOD-PAT-DSO", 1, 0.0),
        ("POS-FOOD-DNP-SDSO", None, 1.0),
    ]
    with pytest.raises(InvalidArgument) as bad:
        await intake.service.reports.ranking(
            district_code="", department_code="", group="office", since=JUNE, until=MAY
        )
    assert [v.field for v in bad.value.violations] == ["until"]


async def test_S18_the_daily_report_counts_a_days_filings_and_endings_and_whats_open_now(
    intake: IntakeHarness,
) -> None:
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    await ended_case(intake, today + timedelta(hours=1))  # filed and ended today
    await ended_case(intake, today - timedelta(days=1))  # filed today (its filing time is now), ended yesterday
    open_one = (await intake.service.file(filing())).grievance.id
    await intake.service.record_transition(
        event(open_one, "late", "deadline_set", now, current_deadline=now - timedelta(hours=1))
    )

    [food] = await intake.service.reports.daily(
        district_code="PAT", track="", since=today, until=today + timedelta(days=1), now=now
    )

    assert (food.department_code, food.filed, food.ended, food.pending, food.overdue) == ("FOOD", 3, 1, 1, 1)


@pytest_asyncio.fixture
async def stub(
    intake: IntakeHarness, attachments: AttachmentService
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


async def test_ranking_and_daily_report_over_grpc(
    intake: IntakeHarness, stub: intake_pb2_grpc.IntakeServiceStub
) -> None:
    for _ in range(MIN_RANKED):
        await ended_case(intake, MAY + timedelta(days=1))

    ranking = await stub.GetRanking(
        intake_pb2.GetRankingRequest(district_code="PAT", since=to_timestamp(MAY), until=to_timestamp(JUNE))
    )
    daily = await stub.GetDailyReport(
        intake_pb2.GetDailyReportRequest(district_code="PAT", since=to_timestamp(MAY), until=to_timestamp(JUNE))
    )

    [row] = ranking.rows
    assert (row.office_id, row.rank, row.ended, row.score, ranking.min_ranked) == ("OFF-FOOD-PAT", 1, 5, 1.0, 5)
    assert row.office_name.hi == "जिला आपूर्ति कार्यालय, पटना"
    assert [(r.department_code, r.ended, r.pending) for r in daily.rows] == [("FOOD", 5, 0)]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.GetRanking(intake_pb2.GetRankingRequest(since=to_timestamp(MAY)))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(bad.value)] == ["until"]
