"""B7 / M3 / M2: the hearings the lifecycle fixes (hearing_scheduled) and records (hearing_held), projected by
RecordTransition through the real service into the hearings table (on SQLite and PostgreSQL), and served as an
office's public notice board and the DM's attendance report; the two RPCs behind intake's real door (mutual TLS,
tokens verified) where who may call matters."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import text_format
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import func, select

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.door import Door
from nivaran_common.errors import FailedPrecondition, InvalidArgument, PermissionDenied, field_violations
from nivaran_common.grpc_server import ServerSecurity, build_server
from nivaran_common.testing import ONE_BACKEND, workload_tls
from nivaran_intake.access import RULES
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.main import binding
from nivaran_intake.projection import Transition
from nivaran_intake.service_delay import india_today
from nivaran_intake.tables import GrievanceRow, HearingRow

from .conftest import IntakeHarness
from .test_service import filing

OFFICE = "OFF-PGRO-PAT-SADAR"
AUTHORITY = "POS-REV-PAT-CO"


def scheduled(hearing_id: str, held_on: date, **changes: str) -> dict[str, str]:
    return {
        "hearing_id": hearing_id,
        "stage": "complaint",
        "held_on": held_on.isoformat(),
        "at": "11:00",
        "venue_en": "PGRO court room, Patna Sadar",
        "venue_hi": "लोक शिकायत निवारण कक्ष, पटना सदर",
        "office_id": OFFICE,
        "office_name_en": "Sub-divisional PGRO, Patna Sadar",
        "office_name_hi": "अनुमंडल लोक शिकायत निवारण कार्यालय, पटना सदर",
        "hearing_officer_position_id": "POS-PGRO-PAT-SADAR",
        "hearing_officer_title_en": "Sub-divisional Public Grievance Redressal Officer",
        "hearing_officer_title_hi": "अनुमंडल लोक शिकायत निवारण पदाधिकारी",
        "public_authority_position_id": AUTHORITY,
        "public_authority_title_en": "Circle Officer, Phulwari",
        "public_authority_title_hi": "अंचल अधिकारी, फुलवारी",
        **changes,
    }


def held(hearing_id: str, *, authority_present: bool, outcome: str = "heard") -> dict[str, Any]:
    return {
        "hearing_id": hearing_id,
        "outcome": outcome,
        "complainant_present": True,
        "public_authority_present": authority_present,
        "represented_by": "" if authority_present else "Revenue Karmachari",
        "proceedings": "Both sides heard; the report is awaited.",
    }


async def record(
    intake: IntakeHarness, case: GrievanceRow, key: str, event_type: str, payload: dict[str, Any]
) -> tuple[Any, bool]:
    return await intake.service.record_transition(
        Transition(
            grievance_id=case.id,
            idempotency_key=f"{case.workflow_id}:{key}",
            event_type=event_type,
            summary_en=event_type,
            summary_hi=event_type,
            actor={},
            payload=payload,
            occurred_at=None,
        )
    )


async def a_case(intake: IntakeHarness, district: str = "PAT") -> GrievanceRow:
    base = filing()
    return (await intake.service.file(replace(base, location=replace(base.location, district_code=district)))).grievance


async def hearing_rows(intake: IntakeHarness) -> int:
    async with intake.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(HearingRow))).scalar_one())


async def test_B7_scheduled_hearing_on_office_notice_board(intake: IntakeHarness) -> None:
    case = await a_case(intake)
    day = india_today() + timedelta(days=7)
    await record(intake, case, "hearing-H1", "hearing_scheduled", scheduled("H1", day))
    other = await a_case(intake)
    await record(intake, other, "hearing-H1", "hearing_scheduled", scheduled("H1", day, office_id="OFF-ELSEWHERE"))

    board = await intake.service.hearings.notice_board(OFFICE, "", india_today())
    assert [(h.registration_number, h.hearing_id, h.status) for h in board] == [
        (case.registration_number, "H1", "scheduled")
    ]
    assert (board[0].held_on, board[0].at, board[0].district_code) == (day, "11:00", "PAT")
    assert [h.registration_number for h in await intake.service.hearings.notice_board("OFF-ELSEWHERE", "", day)] == [
        other.registration_number
    ]
    # The timeline holds the event, in the same transaction as the row.
    assert [e.event_type for e in await intake.service.timeline(case.id)][-1] == "hearing_scheduled"


async def test_B7_notice_board_from_a_day_by_day_and_time(intake: IntakeHarness) -> None:
    case = await a_case(intake)
    today = india_today()
    await record(intake, case, "h3", "hearing_scheduled", scheduled("H3", today + timedelta(days=14), at="10:30"))
    await record(intake, case, "h2", "hearing_scheduled", scheduled("H2", today + timedelta(days=7), at="15:00"))
    await record(intake, case, "h1", "hearing_scheduled", scheduled("H1", today + timedelta(days=7), at="09:30"))
    await record(intake, case, "h0", "hearing_scheduled", scheduled("H0", today - timedelta(days=1)))

    board = await intake.service.hearings.notice_board(OFFICE, "", today)
    assert [h.hearing_id for h in board] == ["H1", "H2", "H3"]
    later = await intake.service.hearings.notice_board(OFFICE, (today + timedelta(days=8)).isoformat(), today)
    assert [h.hearing_id for h in later] == ["H3"]
    with pytest.raises(InvalidArgument) as bad:
        await intake.service.hearings.notice_board(" ", "05/12/2026", today)
    assert [v.field for v in bad.value.violations] == ["office_id", "from_date"]


async def test_B7_a_retried_hearing_scheduled_does_not_duplicate_the_board_row(intake: IntakeHarness) -> None:
    case = await a_case(intake)
    day = india_today() + timedelta(days=7)
    first, duplicate = await record(intake, case, "hearing-H1", "hearing_scheduled", scheduled("H1", day))
    again, duplicate_again = await record(intake, case, "hearing-H1", "hearing_scheduled", scheduled("H1", day))
    assert (duplicate, duplicate_again, again.id) == (False, True, first.id)
    # The same hearing delivered again under another key (a moved hearing): one row, the new schedule.
    moved = day + timedelta(days=7)
    await record(intake, case, "hearing-H1-moved", "hearing_scheduled", scheduled("H1", moved, at="12:00"))
    assert await hearing_rows(intake) == 1
    board = await intake.service.hearings.notice_board(OFFICE, "", india_today())
    assert [(h.held_on, h.at, h.status) for h in board] == [(moved, "12:00", "scheduled")]


async def test_B7_a_bad_hearing_payload_records_nothing(intake: IntakeHarness) -> None:
    case = await a_case(intake)
    payload = scheduled("H1", india_today(), stage="appeal", at="25:00", office_id="")
    with pytest.raises(InvalidArgument) as refused:
        await record(intake, case, "hearing-bad", "hearing_scheduled", payload)
    assert [v.field for v in refused.value.violations] == ["payload.stage", "payload.at", "payload.office_id"]
    with pytest.raises(FailedPrecondition) as unknown:
        await record(intake, case, "held-unknown", "hearing_held", held("H9", authority_present=True))
    assert [v.field for v in unknown.value.violations] == ["payload.hearing_id"]
    assert await hearing_rows(intake) == 0
    assert [e.event_type for e in await intake.service.timeline(case.id)] == ["registered"]


async def test_M3_attendance_recorded_on_board_row(intake: IntakeHarness) -> None:
    case = await a_case(intake)
    day = india_today()
    await record(intake, case, "hearing-H1", "hearing_scheduled", scheduled("H1", day))
    await record(intake, case, "held-H1", "hearing_held", held("H1", authority_present=False, outcome="adjourned"))

    async with intake.sessions() as session:
        row = (await session.execute(select(HearingRow))).scalar_one()
    assert (row.status, row.complainant_present, row.public_authority_present, row.represented_by) == (
        "adjourned",
        True,
        False,
        "Revenue Karmachari",
    )
    board = await intake.service.hearings.notice_board(OFFICE, day.isoformat(), day)
    assert [h.status for h in board] == ["adjourned"]
    with pytest.raises(InvalidArgument) as bad:
        await record(intake, case, "held-bad", "hearing_held", {**held("H1", authority_present=True), "outcome": "x"})
    assert [v.field for v in bad.value.violations] == ["payload.outcome"]


async def test_M2_absences_counted_per_public_authority(intake: IntakeHarness) -> None:
    today = india_today()
    first, last = today - timedelta(days=6), today
    case = await a_case(intake)
    other_authority = {"public_authority_position_id": "POS-FOOD-PAT-MO", "public_authority_title_en": "MO"}
    plan = [
        # On both ends of the window: counted; the authority missed one.
        ("H1", first, {}, False),
        ("H2", last, {}, True),
        # Held by another authority, present.
        ("H3", last, other_authority, True),
        # Outside the window, either side: not counted.
        ("H4", first - timedelta(days=1), {}, False),
        ("H5", last + timedelta(days=1), {}, False),
    ]
    for hearing_id, day, changes, present in plan:
        await record(intake, case, f"s-{hearing_id}", "hearing_scheduled", scheduled(hearing_id, day, **changes))
        await record(intake, case, f"h-{hearing_id}", "hearing_held", held(hearing_id, authority_present=present))
    # Fixed but not yet held: not counted.
    await record(intake, case, "s-H6", "hearing_scheduled", scheduled("H6", last))
    # Another district's hearing: not in PAT's report.
    gaya = await a_case(intake, "GAY")
    await record(intake, gaya, "s-H1", "hearing_scheduled", scheduled("H1", last))
    await record(intake, gaya, "h-H1", "hearing_held", held("H1", authority_present=False))

    report = await intake.service.hearings.absences("", "", "", dm_district="PAT", today=today)
    assert (report.district_code, report.from_date, report.to_date) == ("PAT", first, last)
    assert [(r.position_id, r.hearings, r.absences) for r in report.rows] == [
        (AUTHORITY, 2, 1),
        ("POS-FOOD-PAT-MO", 1, 0),
    ]
    assert (report.rows[0].title_en, report.rows[0].title_hi) == ("Circle Officer, Phulwari", "अंचल अधिकारी, फुलवारी")
    assert (report.total_hearings, report.total_absences) == (3, 1)
    one_day = await intake.service.hearings.absences(
        "pat", first.isoformat(), first.isoformat(), dm_district="PAT", today=today
    )
    assert [(r.position_id, r.hearings, r.absences) for r in one_day.rows] == [(AUTHORITY, 1, 1)]
    with pytest.raises(PermissionDenied):
        await intake.service.hearings.absences("PAT", "", "", dm_district="GAY", today=today)
    with pytest.raises(InvalidArgument) as backwards:
        await intake.service.hearings.absences("", last.isoformat(), first.isoformat(), dm_district="PAT", today=today)
    assert [v.field for v in backwards.value.violations] == ["from_date"]
    with pytest.raises(InvalidArgument) as malformed:
        await intake.service.hearings.absences("", "", "last week", dm_district="PAT", today=today)
    assert [v.field for v in malformed.value.violations] == ["to_date"]


# Behind intake's real door: the notice board needs no sign-in; the report needs the DM of the district.
KEY = ECKey.generate_key("P-256", parameters={"kid": "intake-hearings", "alg": "ES256", "use": "sig"}, private=True)
DM_PATNA = {"sub": "acct-dm-pat", "kind": "officer", "roles": ["officer", "DM"], "positions": ["POS-DM-PAT"],
            "district": "PAT"}  # fmt: skip
DM_GAYA = {**DM_PATNA, "sub": "acct-dm-gay", "positions": ["POS-DM-GAY"], "district": "GAY"}
OFFICER = {"sub": "acct-co", "kind": "officer", "roles": ["officer", "L1"], "positions": [AUTHORITY], "district": "PAT"}

Call = Callable[..., Any]


def mint(claims: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    now = time.time()
    payload = {"iss": "nivaran-identity", "aud": "nivaran", "iat": int(now), "issued_ms": int(now * 1000),
               "exp": int(now) + 900, "jti": uuid.uuid4().hex, **claims}  # fmt: skip
    return (("authorization", f"Bearer {jwt.encode({'alg': 'ES256', 'kid': KEY.kid}, payload, KEY)}"),)


@pytest_asyncio.fixture
async def gateway(
    intake: IntakeHarness, attachments: AttachmentService, test_pki: Path
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    """Intake with its real access rules, called as the gateway workload (mutual TLS)."""

    async def jwks() -> str:
        return json.dumps(KeySet([KEY]).as_dict(private=False))

    verifier = TokenVerifier(
        KeySetCache(jwks, max_age_seconds=300, min_refresh_seconds=0),
        issuer="nivaran-identity",
        audience="nivaran",
        algorithms=("ES256",),
        leeway_seconds=5,
    )
    security = ServerSecurity(workload_tls(test_pki, "intake"), Door(RULES, verifier))
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0, security)
    credentials = workload_tls(test_pki, "gateway").channel_credentials()
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


@ONE_BACKEND
async def test_B7_notice_board_needs_no_sign_in(
    intake: IntakeHarness, gateway: intake_pb2_grpc.IntakeServiceStub
) -> None:
    case = await a_case(intake)
    day = india_today() + timedelta(days=3)
    await record(intake, case, "hearing-H1", "hearing_scheduled", scheduled("H1", day))

    board = await gateway.ListNoticeBoard(intake_pb2.ListNoticeBoardRequest(office_id=OFFICE), timeout=10)
    assert [(h.registration_number, h.hearing_id, h.stage, h.held_on, h.at, h.status) for h in board.hearings] == [
        (case.registration_number, "H1", "complaint", day.isoformat(), "11:00", "scheduled")
    ]
    notice = board.hearings[0]
    assert (notice.venue.hi, notice.office_name.en) == (
        "लोक शिकायत निवारण कक्ष, पटना सदर",
        "Sub-divisional PGRO, Patna Sadar",
    )
    assert notice.hearing_officer_title.en == "Sub-divisional Public Grievance Redressal Officer"
    assert notice.public_authority_title.hi == "अंचल अधिकारी, फुलवारी"
    # A public board: nothing of the complainant but the registration number, in the message or its schema.
    text = text_format.MessageToString(board, as_utf8=True)
    assert case.registration_number in text
    assert "अंचल अधिकारी" in text
    for private in (case.complainant_name, "9876543210", case.complainant_address, case.description, case.subject):
        assert private not in text
    assert {f.name for f in intake_pb2.HearingNotice.DESCRIPTOR.fields}.isdisjoint(
        {"complainant", "complainant_name", "phone", "description", "subject", "address"}
    )
    assert not (await gateway.ListNoticeBoard(intake_pb2.ListNoticeBoardRequest(office_id="OFF-ELSEWHERE"))).hearings
    # Signed in, it is the same board.
    signed_in = await gateway.ListNoticeBoard(
        intake_pb2.ListNoticeBoardRequest(office_id=OFFICE), metadata=mint(OFFICER)
    )
    assert signed_in == board
    missing = await refused(gateway.ListNoticeBoard(intake_pb2.ListNoticeBoardRequest(from_date="tomorrow")))
    assert missing.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(missing)] == ["office_id", "from_date"]


@ONE_BACKEND
async def test_M2_the_report_is_the_dm_of_the_districts_alone(
    intake: IntakeHarness, gateway: intake_pb2_grpc.IntakeServiceStub
) -> None:
    case = await a_case(intake)
    today = india_today()
    await record(intake, case, "s-H1", "hearing_scheduled", scheduled("H1", today))
    await record(intake, case, "h-H1", "hearing_held", held("H1", authority_present=False))
    request = intake_pb2.ListHearingAbsencesRequest()

    report = await gateway.ListHearingAbsences(request, metadata=mint(DM_PATNA), timeout=10)
    assert (report.district_code, report.from_date, report.to_date) == (
        "PAT",
        (today - timedelta(days=6)).isoformat(),
        today.isoformat(),
    )
    assert [(r.position_id, r.title.en, r.hearings, r.absences) for r in report.public_authorities] == [
        (AUTHORITY, "Circle Officer, Phulwari", 1, 1)
    ]
    assert (report.total_hearings, report.total_absences) == (1, 1)

    assert (await refused(gateway.ListHearingAbsences(request))).code() == grpc.StatusCode.UNAUTHENTICATED
    not_a_dm = await refused(gateway.ListHearingAbsences(request, metadata=mint(OFFICER)))
    assert not_a_dm.code() == grpc.StatusCode.PERMISSION_DENIED
    of_patna = intake_pb2.ListHearingAbsencesRequest(district_code="PAT")
    other_dm = await refused(gateway.ListHearingAbsences(of_patna, metadata=mint(DM_GAYA)))
    assert other_dm.code() == grpc.StatusCode.PERMISSION_DENIED
    # Gaya's own report (empty: the DM's district) has none of Patna's hearings.
    gaya = await gateway.ListHearingAbsences(request, metadata=mint(DM_GAYA))
    assert (gaya.district_code, list(gaya.public_authorities), gaya.total_hearings) == ("GAY", [], 0)
    backwards = intake_pb2.ListHearingAbsencesRequest(from_date=today.isoformat(), to_date="2020-01-01")
    bad = await refused(gateway.ListHearingAbsences(backwards, metadata=mint(DM_PATNA)))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(bad)] == ["from_date"]
