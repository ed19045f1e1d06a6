"""M1's weekly report, M2's cases pending past a cutoff and H4's category trends, on SQLite and PostgreSQL (the
`intake` fixture runs on both), and over gRPC with their field violations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import pytest_asyncio
from sqlalchemy import update

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import InvalidArgument, field_violations
from nivaran_common.grpc_server import build_server
from nivaran_common.timeutil import IST, to_timestamp
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.domain import Status
from nivaran_intake.main import binding
from nivaran_intake.tables import GrievanceRow

from .conftest import IntakeHarness
from .test_reports import OTHER_OFFICE
from .test_review_reports import event
from .test_service import filing

WEEK = datetime(2026, 11, 23, tzinfo=IST)  # a Monday
NEXT_WEEK = WEEK + timedelta(days=7)


async def filed_at(
    intake: IntakeHarness, at: datetime, *, category: str = "FOOD-RATION-CARD", district: str = "PAT"
) -> str:
    location = replace(filing().location, district_code=district)
    gid = (await intake.service.file(replace(filing(), category_code=category, location=location))).grievance.id
    async with intake.sessions.begin() as session:
        await session.execute(update(GrievanceRow).where(GrievanceRow.id == gid).values(filed_at=at))
    return gid


async def test_M1_the_weekly_report_counts_each_offices_week(intake: IntakeHarness) -> None:
    now = datetime.now(UTC)
    inside = WEEK + timedelta(days=2)
    # Patna's office: two received in the week (one ended in it, after a show-cause answered and a breach), one
    # received the week before and still open past its deadline.
    ended = await filed_at(intake, inside)
    await intake.service.record_transition(event(ended, "sc", "show_cause_issued", inside))
    await intake.service.record_transition(event(ended, "sr", "show_cause_replied", inside + timedelta(hours=5)))
    await intake.service.record_transition(event(ended, "b", "breach_recorded", inside + timedelta(hours=6)))
    await intake.service.record_transition(event(ended, "d", "disposed", inside, new_status=Status.DISPOSED))
    await filed_at(intake, inside)
    late = await filed_at(intake, WEEK - timedelta(days=3))
    await intake.service.record_transition(
        event(late, "l", "deadline_set", now, current_deadline=now - timedelta(hours=1))
    )
    await intake.service.record_transition(event(late, "sc-old", "show_cause_issued", WEEK - timedelta(days=1)))
    # Danapur's office: one received in the week, moved there; another district's case is left out.
    moved = await filed_at(intake, inside)
    await intake.service.record_transition(event(moved, "m", "transferred", inside, assignment=OTHER_OFFICE))
    await intake.service.record_transition(event(moved, "sc2", "show_cause_issued", inside))
    await filed_at(intake, inside, district="GAY")

    rows = await intake.service.reports.weekly(
        district_code="PAT", department_code="", track="", since=WEEK, until=NEXT_WEEK, now=now
    )

    figures = [
        (r.office_id, r.received, r.disposed, r.pending, r.overdue)
        + (r.show_causes_issued, r.show_causes_answered, r.breaches)
        for r in rows
    ]
    assert figures == [("OFF-FOOD-PAT", 2, 1, 2, 1, 1, 1, 1), ("OFF-FOOD-DNP", 1, 0, 1, 0, 1, 0, 0)]
    assert rows[1].office_name_hi == "अनुमंडल आपूर्ति कार्यालय, दानापुर"


async def test_M1_the_period_is_checked(intake: IntakeHarness) -> None:
    for since, until in ((NEXT_WEEK, WEEK), (WEEK, WEEK + timedelta(days=32))):
        with pytest.raises(InvalidArgument) as bad:
            await intake.service.reports.weekly(
                district_code="PAT", department_code="", track="", since=since, until=until, now=WEEK
            )
        assert [v.field for v in bad.value.violations] == ["until"]


async def test_M2_open_cases_filed_before_the_cutoff_per_office_and_the_oldest_listed(intake: IntakeHarness) -> None:
    cutoff = datetime(2026, 9, 1, tzinfo=IST)
    oldest = await filed_at(intake, cutoff - timedelta(days=40))
    old = await filed_at(intake, cutoff - timedelta(days=5))
    await intake.service.record_transition(event(old, "m", "transferred", cutoff, assignment=OTHER_OFFICE))
    also_old = await filed_at(intake, cutoff - timedelta(days=1))
    ended = await filed_at(intake, cutoff - timedelta(days=30))
    await intake.service.record_transition(event(ended, "d", "disposed", cutoff, new_status=Status.DISPOSED))
    await filed_at(intake, cutoff + timedelta(hours=1))  # filed after the cutoff: not yet long pending

    report = await intake.service.reports.long_pending(
        district_code="PAT", department_code="", track="", filed_before=cutoff, limit=2
    )

    assert [(o.office_id, o.cases) for o in report.offices] == [("OFF-FOOD-PAT", 2), ("OFF-FOOD-DNP", 1)]
    assert report.total == 3
    assert [c.id for c in report.cases] == [oldest, old]  # the oldest first, at most the limit
    assert also_old not in [c.id for c in report.cases]
    with pytest.raises(InvalidArgument) as bad:
        await intake.service.reports.long_pending(
            district_code="PAT", department_code="", track="", filed_before=cutoff, limit=5000
        )
    assert [v.field for v in bad.value.violations] == ["case_limit"]


async def test_H4_category_trends_count_a_departments_filings_per_category_and_month(intake: IntakeHarness) -> None:
    september, october = datetime(2026, 9, 1, tzinfo=IST), datetime(2026, 10, 1, tzinfo=IST)
    for at in (september + timedelta(days=3), october + timedelta(days=1), october + timedelta(days=2)):
        await filed_at(intake, at)
    await filed_at(intake, september + timedelta(days=10), category="FOOD-OTHER")
    # India's month: 30 September 20:00 UTC is 1 October 01:30 in India.
    await filed_at(intake, datetime(2026, 9, 30, 20, 0, tzinfo=UTC), category="FOOD-OTHER")
    await filed_at(intake, october + timedelta(days=40))  # November: outside the months asked

    trends = await intake.service.reports.category_trends(
        department_code="FOOD", district_code="", since=september, until=october + timedelta(days=31)
    )

    assert trends.months == ["2026-09", "2026-10"]
    assert [(c.category_code, c.is_other, c.monthly) for c in trends.categories] == [
        ("FOOD-RATION-CARD", False, [1, 2]),
        ("FOOD-OTHER", True, [1, 1]),
    ]
    assert trends.monthly_total() == [2, 3]
    assert trends.monthly_total(other_only=True) == [1, 1]
    assert trends.categories[0].category_name_hi == "राशन कार्ड"


async def test_H4_the_months_are_checked(intake: IntakeHarness) -> None:
    september = datetime(2026, 9, 1, tzinfo=IST)
    cases = [
        ("FOOD", september + timedelta(days=2), september + timedelta(days=30), "since"),
        ("FOOD", september, september, "until"),
        ("FOOD", september, datetime(2029, 1, 1, tzinfo=IST), "until"),
        ("", september, datetime(2026, 10, 1, tzinfo=IST), "department_code"),
    ]
    for department, since, until, field in cases:
        with pytest.raises(InvalidArgument) as bad:
            await intake.service.reports.category_trends(
                department_code=department, district_code="", since=since, until=until
            )
        assert [v.field for v in bad.value.violations] == [field]


@pytest_asyncio.fixture
async def stub(
    intake: IntakeHarness, attachments: AttachmentService
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


async def test_M1_M2_H4_over_grpc_with_field_violations(
    intake: IntakeHarness, stub: intake_pb2_grpc.IntakeServiceStub
) -> None:
    await filed_at(intake, WEEK + timedelta(days=1))

    weekly = await stub.GetWeeklyReport(
        intake_pb2.GetWeeklyReportRequest(district_code="PAT", since=to_timestamp(WEEK), until=to_timestamp(NEXT_WEEK))
    )
    long_pending = await stub.GetLongPending(
        intake_pb2.GetLongPendingRequest(district_code="PAT", filed_before=to_timestamp(NEXT_WEEK))
    )
    trends = await stub.GetCategoryTrends(
        intake_pb2.GetCategoryTrendsRequest(
            department_code="FOOD",
            since=to_timestamp(datetime(2026, 11, 1, tzinfo=IST)),
            until=to_timestamp(datetime(2026, 12, 1, tzinfo=IST)),
        )
    )

    [row] = weekly.rows
    assert (row.office_id, row.received, row.pending, row.office_name.hi) == (
        "OFF-FOOD-PAT",
        1,
        1,
        "जिला आपूर्ति कार्यालय, पटना",
    )
    assert [(c.registration_number[:7], c.status, c.category_name.en) for c in long_pending.cases] == [
        ("BR-PAT-", intake_pb2.STATUS_REGISTERED, "Ration card")
    ]
    assert (list(trends.months), [list(c.monthly) for c in trends.categories]) == (["2026-11"], [[1]])
    assert list(trends.monthly_other) == [0]
    bad_requests = [
        (stub.GetWeeklyReport, intake_pb2.GetWeeklyReportRequest(since=to_timestamp(WEEK)), "until"),
        (stub.GetLongPending, intake_pb2.GetLongPendingRequest(), "filed_before"),
        (
            stub.GetCategoryTrends,
            intake_pb2.GetCategoryTrendsRequest(since=to_timestamp(WEEK), until=to_timestamp(NEXT_WEEK)),
            "department_code",
        ),
    ]
    for call, request, field in bad_requests:
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await call(request)  # type: ignore[operator]
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(bad.value)] == [field]
