"""Issue 12's review report of open cases by age (0-10, 10-20, 20-30, over 30 days since filing) per office and per
post, on SQLite and PostgreSQL (the `intake` fixture runs on both), and over gRPC."""

from __future__ import annotations

import re
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
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.domain import CLOSED_STATUSES, Status
from nivaran_intake.main import binding
from nivaran_intake.projection import Transition
from nivaran_intake.tables import OPEN_CASE, GrievanceRow

from .conftest import IntakeHarness
from .test_service import filing

NOW = datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
OTHER_OFFICE = {
    "department_code": "FOOD",
    "office_id": "OFF-FOOD-DNP",
    "office_name_en": "Sub-divisional Supply Office, Danapur",
    "office_name_hi": "अनुमंडल आपूर्ति कार्यालय, दानापुर",
    "position_id": "POS-FOOD-DNP-SDSO",
    "position_title_en": "Sub-divisional Supply Officer",
    "position_title_hi": "अनुमंडल आपूर्ति पदाधिकारी",
    "assigned_at": NOW - timedelta(days=2),
}


def moved(grievance_id: str, key: str, **changes: object) -> Transition:
    fields: dict[str, object] = {
        "grievance_id": grievance_id,
        "idempotency_key": key,
        "event_type": "moved",
        "summary_en": "x",
        "summary_hi": "x",
        "actor": {},
        "payload": {},
        "occurred_at": None,
    }
    return Transition(**{**fields, **changes})  # type: ignore[arg-type]


async def file_aged(intake: IntakeHarness, days: float, *, district: str = "PAT", track: str = "") -> str:
    location = replace(filing().location, district_code=district)
    case = (await intake.service.file(replace(filing(), location=location))).grievance
    values: dict[str, object] = {"filed_at": NOW - timedelta(days=days)}
    if track:
        values["track"] = track
    async with intake.sessions.begin() as session:
        await session.execute(update(GrievanceRow).where(GrievanceRow.id == case.id).values(**values))
    return case.id


@pytest_asyncio.fixture
async def aged(intake: IntakeHarness) -> dict[str, str]:
    """Open cases in Patna filed 1, 9.9, 10, 19, 25 and 45 days before NOW; one of 45 days moved to Danapur's office;
    one disposed, one in another district, one a camp case (track sahyog_camp)."""
    ids = {f"d{d}": await file_aged(intake, d) for d in (1, 9.9, 10, 19, 25, 45)}
    ids["moved"] = await file_aged(intake, 45)
    await intake.service.record_transition(moved(ids["moved"], "m1", assignment=OTHER_OFFICE))
    ids["disposed"] = await file_aged(intake, 3)
    await intake.service.record_transition(moved(ids["disposed"], "m2", new_status=Status.DISPOSED))
    ids["elsewhere"] = await file_aged(intake, 3, district="GAY")
    ids["camp"] = await file_aged(intake, 12, track="sahyog_camp")
    # Two are past their deadline: one of 19 days and the one of 25 days (another's deadline is still ahead).
    await intake.service.record_transition(moved(ids["d19"], "o1", current_deadline=NOW - timedelta(hours=1)))
    await intake.service.record_transition(moved(ids["d25"], "o2", current_deadline=NOW - timedelta(days=2)))
    await intake.service.record_transition(moved(ids["d1"], "o3", current_deadline=NOW + timedelta(days=2)))
    return ids


def test_the_open_case_index_predicate_names_every_closed_status() -> None:
    """The partial index's literal predicate (tables.OPEN_CASE, migration 0015) must follow domain.CLOSED_STATUSES."""
    predicate = str(OPEN_CASE)
    assert sorted(re.findall(r"'(\w+)'", predicate)) == sorted(s.value for s in CLOSED_STATUSES)


async def test_pending_by_age_per_office_counts_open_cases_in_their_buckets(
    intake: IntakeHarness, aged: dict[str, str]
) -> None:
    report = await intake.service.reports.pending_by_age(
        district_code="PAT", department_code="", track="", group="office", now=NOW
    )

    assert report.as_of == NOW
    [patna, danapur] = report.rows
    assert patna.office_id == "OFF-FOOD-PAT"
    assert patna.office_name_hi == "जिला आपूर्ति कार्यालय, पटना"
    # 1 and 9.9 days: 0-10; 10 days and the camp case's 12 and 19: 10-20; 25: 20-30; 45: over 30.
    assert patna.buckets == (2, 3, 1, 1)
    assert (patna.total, patna.overdue) == (7, 2)
    assert (danapur.office_id, danapur.buckets, danapur.total, danapur.overdue) == ("OFF-FOOD-DNP", (0, 0, 0, 1), 1, 0)
    assert patna.position_id == danapur.position_id == ""


async def test_S3_pending_by_age_of_one_track_keeps_camp_cases_apart(
    intake: IntakeHarness, aged: dict[str, str]
) -> None:
    camp = await intake.service.reports.pending_by_age(
        district_code="PAT", department_code="", track="sahyog_camp", group="office", now=NOW
    )
    portal = await intake.service.reports.pending_by_age(
        district_code="PAT", department_code="", track="sahyog", group="office", now=NOW
    )

    assert [(r.office_id, r.buckets) for r in camp.rows] == [("OFF-FOOD-PAT", (0, 1, 0, 0))]
    assert sum(r.total for r in portal.rows) == 7


async def test_pending_by_age_per_post_and_by_department(intake: IntakeHarness, aged: dict[str, str]) -> None:
    by_post = await intake.service.reports.pending_by_age(
        district_code="", department_code="FOOD", track="", group="position", now=NOW
    )
    # Without a district: Gaya's case too; by post: the DSO of Patna and the SDSO of Danapur.
    assert [(r.position_id, r.total) for r in by_post.rows] == [("POS-FOOD-PAT-DSO", 8), ("POS-FOOD-DNP-SDSO", 1)]
    assert by_post.rows[1].position_title_en == "Sub-divisional Supply Officer"
    nobody = await intake.service.reports.pending_by_age(
        district_code="PAT", department_code="HEALTH", track="", group="position", now=NOW
    )
    assert nobody.rows == []
    with pytest.raises(InvalidArgument) as bad:
        await intake.service.reports.pending_by_age(
            district_code="PAT", department_code="", track="", group="block", now=NOW
        )
    assert [v.field for v in bad.value.violations] == ["group_by"]


@pytest_asyncio.fixture
async def stub(
    intake: IntakeHarness, attachments: AttachmentService
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


async def test_get_pending_by_age_over_grpc(intake: IntakeHarness, stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    for days in (2, 33):
        await file_aged(intake, days)
    # The real clock: ages count from now, so cases filed 2 and 33 days before NOW are older still.
    answer = await stub.GetPendingByAge(
        intake_pb2.GetPendingByAgeRequest(district_code="PAT", group_by=intake_pb2.PENDING_GROUP_POSITION)
    )

    [row] = answer.rows
    assert (row.office_id, row.position_id, row.total) == ("OFF-FOOD-PAT", "POS-FOOD-PAT-DSO", 2)
    assert row.days_over_30 >= 1
    assert row.days_0_10 + row.days_10_20 + row.days_20_30 + row.days_over_30 == 2
    assert row.office_name.hi == "जिला आपूर्ति कार्यालय, पटना"
    assert answer.as_of.ToDatetime(tzinfo=UTC) > NOW
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.GetPendingByAge(intake_pb2.GetPendingByAgeRequest(group_by=7))  # type: ignore[arg-type]
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(bad.value)] == ["group_by"]
