"""Intake use cases on SQLite and PostgreSQL: registration, idempotency, the timeline, durable starts."""

import asyncio

import pytest
from sqlalchemy import select, text

from nivaran_common.errors import FailedPrecondition, InvalidArgument
from nivaran_intake.domain import Channel, Complainant, Location, NewGrievance, Status, is_valid_registration_number
from nivaran_intake.projection import Transition
from nivaran_intake.tables import GrievanceRow

from .conftest import IntakeHarness

AADHAAR = "234123412346"


def filing(key: str | None = None, description: str = "मेरा राशन कार्ड छह महीने से नहीं बना है।") -> NewGrievance:
    return NewGrievance(
        complainant=Complainant(
            name="सीता देवी", address="बेलदारीचक, पटना", phone="9876543210", email="sita@example.in", aadhaar=AADHAAR
        ),
        subject="राशन कार्ड",
        description=description,
        expected_resolution="राशन कार्ड जारी हो",
        category_code="FOOD-RATION-CARD",
        location=Location(state_code="", district_code="PAT", block_code="PAT-PHULWARI"),
        channel=Channel.WEB,
        language="",
        idempotency_key=key,
    )


async def test_B4_S8_filing_registers_routes_and_starts_the_lifecycle(intake: IntakeHarness) -> None:
    filed = await intake.service.file(filing())
    row = filed.grievance
    assert filed.created
    assert is_valid_registration_number(row.registration_number)
    assert row.registration_number.startswith("BR-PAT-")
    assert row.status == Status.REGISTERED.value
    assert row.routed_position_id == "POS-FOOD-PAT-DSO"
    assert row.track == "sahyog"
    assert [s.grievance_id for s in intake.starter.started] == [row.id]
    started = intake.starter.started[0]
    assert started.position_id == "POS-FOOD-PAT-DSO"
    assert started.complainant_email == "sita@example.in"
    events = await intake.service.timeline(row.id)
    assert [e.event_type for e in events] == ["registered"]
    assert events[0].summary_hi
    assert events[0].summary_en


async def test_B4_registration_numbers_are_unique_under_concurrency(intake: IntakeHarness) -> None:
    filed = await asyncio.gather(*(intake.service.file(filing()) for _ in range(12)))
    numbers = [f.grievance.registration_number for f in filed]
    assert len(set(numbers)) == 12
    sequences = sorted(int(n.split("-")[3]) for n in numbers)
    assert sequences == list(range(sequences[0], sequences[0] + 12))


async def test_idempotency_key_returns_the_first_case(intake: IntakeHarness) -> None:
    first = await intake.service.file(filing("key-0001-abcdef"))
    again = await intake.service.file(filing("key-0001-abcdef"))
    assert again.grievance.id == first.grievance.id
    assert not again.created
    async with intake.sessions() as session:
        count = (await session.execute(text("select count(*) from grievances"))).scalar_one()
    assert count == 1


async def test_concurrent_retries_with_one_key_create_one_case(intake: IntakeHarness) -> None:
    results = await asyncio.gather(*(intake.service.file(filing("key-concurrent-1")) for _ in range(6)))
    assert len({r.grievance.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len({s.grievance_id for s in intake.starter.started}) == 1


async def test_reused_key_with_a_different_filing_is_refused(intake: IntakeHarness) -> None:
    await intake.service.file(filing("key-0002-abcdef"))
    with pytest.raises(FailedPrecondition) as caught:
        await intake.service.file(filing("key-0002-abcdef", description="A different complaint about roads."))
    assert [v.field for v in caught.value.violations] == ["idempotency_key"]


async def test_aadhaar_never_reaches_the_database(intake: IntakeHarness) -> None:
    filed = await intake.service.file(filing())
    async with intake.sessions() as session:
        row = (await session.execute(select(GrievanceRow).where(GrievanceRow.id == filed.grievance.id))).scalar_one()
    values = [str(getattr(row, c.key)) for c in GrievanceRow.__table__.columns]
    assert not any(AADHAAR in v for v in values)
    assert row.complainant_aadhaar_masked == "XXXX-XXXX-2346"
    assert row.complainant_aadhaar_hash
    assert len(row.complainant_aadhaar_hash) == 64


async def test_invalid_filing_names_every_bad_field(intake: IntakeHarness) -> None:
    bad = NewGrievance(
        complainant=Complainant(name="", address="", aadhaar="1234"),
        subject="",
        description="short",
        expected_resolution="",
        category_code="",
        location=Location(state_code="", district_code=""),
        channel=None,
        language="",
        idempotency_key=None,
    )
    with pytest.raises(InvalidArgument) as caught:
        await intake.service.file(bad)
    assert {v.field for v in caught.value.violations} >= {
        "complainant.name",
        "complainant.address",
        "complainant.aadhaar",
        "description",
        "category_code",
        "location.district_code",
        "channel",
    }
    assert intake.router.calls == []


async def test_a_filing_survives_temporal_being_down(intake: IntakeHarness) -> None:
    intake.starter.failing = True
    filed = await intake.service.file(filing())
    assert filed.grievance.workflow_started_at is None
    intake.starter.failing = False
    from datetime import timedelta

    assert await intake.service.start_pending(older_than=timedelta(0)) == 1
    assert [s.grievance_id for s in intake.starter.started] == [filed.grievance.id]
    assert await intake.service.start_pending(older_than=timedelta(0)) == 0


async def test_record_transition_is_idempotent_and_updates_the_projection(intake: IntakeHarness) -> None:
    filed = await intake.service.file(filing())
    transition = Transition(
        grievance_id=filed.grievance.id,
        idempotency_key=f"{filed.grievance.workflow_id}:assigned",
        event_type="assigned",
        summary_en="Assigned to District Supply Officer",
        summary_hi="जिला आपूर्ति पदाधिकारी को सौंपा गया",
        actor={},
        payload={"position_id": "POS-FOOD-PAT-DSO"},
        occurred_at=None,
        new_status=Status.ASSIGNED,
        assignment={
            "department_code": "FOOD",
            "office_id": "OFF-FOOD-PAT",
            "office_name_en": "District Supply Office, Patna",
            "office_name_hi": "जिला आपूर्ति कार्यालय, पटना",
            "position_id": "POS-FOOD-PAT-DSO",
            "position_title_en": "District Supply Officer",
            "position_title_hi": "जिला आपूर्ति पदाधिकारी",
            "assigned_at": None,
        },
    )
    first, duplicate = await intake.service.record_transition(transition)
    again, duplicate_again = await intake.service.record_transition(transition)
    assert (duplicate, duplicate_again) == (False, True)
    assert again.id == first.id
    row = await intake.service.get(grievance_id=filed.grievance.id)
    assert row.status == "assigned"
    assert row.position_id == "POS-FOOD-PAT-DSO"
    assert row.version == 2
    assert [e.sequence for e in await intake.service.timeline(row.id)] == [1, 2]


async def test_search_pages_newest_first(intake: IntakeHarness) -> None:
    from nivaran_intake.service import SearchFilter

    for _ in range(5):
        await intake.service.file(filing())
    page, token = await intake.service.search(SearchFilter(district_code="PAT", page_size=3))
    rest, last = await intake.service.search(SearchFilter(district_code="PAT", page_size=3, page_token=token))
    assert len(page) == 3
    assert len(rest) == 2
    assert last == ""
    assert len({r.id for r in [*page, *rest]}) == 5
    with pytest.raises(InvalidArgument):
        await intake.service.search(SearchFilter(page_token="garbage"))


def _other(filing_: NewGrievance) -> NewGrievance:
    from dataclasses import replace

    return replace(filing_, category_code="FOOD-OTHER")


async def test_owner_filter_matches_account_or_verified_phone_only(intake: IntakeHarness) -> None:
    from nivaran_intake.service import SearchFilter

    mine = await intake.service.file(filing())
    other = NewGrievance(
        **{**filing().__dict__, "complainant": Complainant(name="Other", address="Patna", phone="9123456789")}
    )
    await intake.service.file(other)
    by_phone, _ = await intake.service.search(SearchFilter(complainant_phone="+919876543210"))
    assert [r.id for r in by_phone] == [mine.grievance.id]
    by_number, _ = await intake.service.search(
        SearchFilter(complainant_phone="+919123456789", registration_number=mine.grievance.registration_number)
    )
    assert by_number == []


async def test_S10_visibility_grant_marks_the_case_for_the_dm_until_cleared(intake: IntakeHarness) -> None:
    from nivaran_intake.service import SearchFilter

    filed = await intake.service.file(filing())
    base = {"grievance_id": filed.grievance.id, "summary_en": "x", "summary_hi": "x", "actor": {}, "payload": {}}
    await intake.service.record_transition(
        Transition(
            **base,
            idempotency_key="k-vis",
            event_type="made_visible",
            occurred_at=None,
            grant_visibility_to_roles=["DM"],
        )  # fmt: skip
    )
    visible, _ = await intake.service.search(SearchFilter(dm_visible_only=True, district_codes=["PAT"]))
    assert [r.id for r in visible] == [filed.grievance.id]
    assert visible[0].visible_to_roles == ["DM"]
    await intake.service.record_transition(
        Transition(
            **base,
            idempotency_key="k-clear",
            event_type="disposed",
            occurred_at=None,
            new_status=Status.DISPOSED,
            clear_visibility=True,
        )  # fmt: skip
    )
    visible, _ = await intake.service.search(SearchFilter(dm_visible_only=True))
    assert visible == []


async def test_H4_dashboard_reports_the_share_of_other_per_department(intake: IntakeHarness) -> None:
    for _ in range(3):
        await intake.service.file(filing())
    await intake.service.file(_other(filing()))
    board = await intake.service.dashboard("PAT", "")
    assert board.total == 4
    assert board.pending == 4
    assert board.other_share == {"FOOD": (4, 1)}
