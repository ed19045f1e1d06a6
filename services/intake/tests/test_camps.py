"""S1 / S3: Sahyog camps. The DM of a district sets a camp per panchayat and day; a filing for a camp is accepted
from 30 days before it to the day after it, in its panchayat, and runs the sahyog_camp track on the camp channel;
camp cases stay a track apart in lists and figures. On SQLite and PostgreSQL (the `intake` fixture runs on both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from nivaran_common.errors import AlreadyExists, InvalidArgument, PermissionDenied
from nivaran_common.paging import encode_token
from nivaran_intake.camps import NewCamp
from nivaran_intake.domain import FilingActor, NewGrievance
from nivaran_intake.service import SearchFilter
from nivaran_intake.service_delay import india_today

from .conftest import IntakeHarness
from .test_service import filing

GONPURA = "PAT-SADAR-PHULWARI-GONPURA"


def camp(held_on: date, panchayat: str = GONPURA, district: str = "PAT") -> NewCamp:
    return NewCamp(
        district_code=district,
        block_code="PAT-SADAR-PHULWARI",
        panchayat_code=panchayat,
        held_on=held_on.isoformat(),
        venue_en="Panchayat Bhawan, Gonpura",
        venue_hi="पंचायत भवन, गोनपुरा",
        created_by_account_id="acct-dm-patna",
    )


def in_gonpura(camp_id: str) -> NewGrievance:
    base = filing()
    return replace(base, camp_id=camp_id, location=replace(base.location, block_code="", panchayat_code=GONPURA))


async def test_S1_the_dm_sets_one_camp_per_panchayat_and_day_in_their_district(intake: IntakeHarness) -> None:
    today = india_today()
    made = await intake.service.camps.create(camp(today + timedelta(days=10)), dm_district="PAT", today=today)
    assert (made.panchayat_code, made.held_on) == (GONPURA, today + timedelta(days=10))
    with pytest.raises(AlreadyExists):
        await intake.service.camps.create(camp(today + timedelta(days=10)), dm_district="PAT", today=today)
    with pytest.raises(PermissionDenied):
        await intake.service.camps.create(camp(today + timedelta(days=11)), dm_district="GAY", today=today)
    with pytest.raises(InvalidArgument) as past:
        await intake.service.camps.create(camp(today - timedelta(days=1)), dm_district="PAT", today=today)
    assert [v.field for v in past.value.violations] == ["held_on"]
    with pytest.raises(InvalidArgument) as elsewhere:
        await intake.service.camps.create(camp(today, panchayat="NAL-X-Y"), dm_district="PAT", today=today)
    assert [v.field for v in elsewhere.value.violations] == ["panchayat_code"]
    listed, token = await intake.service.camps.list(district_code="PAT", panchayat_code="", from_date=today)
    assert ([c.id for c in listed], token) == ([made.id], "")


async def test_S1_the_coming_camps_come_soonest_first_a_page_at_a_time(intake: IntakeHarness) -> None:
    """Five camps over three days in three panchayats, read two at a time after the last one's (day, panchayat):
    each once, by day then panchayat; a token of another list is refused naming page.page_token."""
    today = india_today()
    made = []
    for days, panchayat in [(3, GONPURA), (1, GONPURA), (1, "PAT-DANAPUR-MANER-SHERPUR-E"), (2, GONPURA), (3, "PAT-X")]:
        created = await intake.service.camps.create(
            camp(today + timedelta(days=days), panchayat=panchayat), dm_district="PAT", today=today
        )
        made.append(created)
    expected = [c.id for c in sorted(made, key=lambda c: (c.held_on, c.panchayat_code))]

    seen: list[str] = []
    token = ""
    for _ in range(5):
        page, token = await intake.service.camps.list(
            district_code="PAT", panchayat_code="", from_date=today, page_size=2, page_token=token
        )
        assert len(page) <= 2
        seen += [c.id for c in page]
        if not token:
            break

    assert seen == expected
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.camps.list(
            district_code="PAT", panchayat_code="", from_date=today, page_token=encode_token("notices", "x", "y")
        )
    assert [v.field for v in refused.value.violations] == ["page.page_token"]


@pytest.mark.parametrize(("days_to_camp", "accepted"), [(30, True), (31, False), (0, True), (-1, True), (-2, False)])
async def test_S1_a_camp_takes_applications_from_30_days_before_to_the_day_after(
    intake: IntakeHarness, days_to_camp: int, accepted: bool
) -> None:
    today = india_today()
    held_on = today + timedelta(days=days_to_camp)
    # A camp in the past cannot be set any more, so the late cases' camps are written as they stood.
    made = await intake.service.camps.create(camp(max(held_on, today)), dm_district="PAT", today=today)
    if held_on < today:
        async with intake.service.sessions.begin() as session:
            row = await session.get(type(made), made.id)
            assert row is not None
            row.held_on = held_on
    if accepted:
        row = (await intake.service.file(in_gonpura(made.id))).grievance
        assert (row.track, row.channel, row.panchayat_code) == ("sahyog_camp", "camp", GONPURA)
        assert intake.starter.started[-1].track == "sahyog_camp"
    else:
        with pytest.raises(InvalidArgument) as refused:
            await intake.service.file(in_gonpura(made.id))
        assert [v.field for v in refused.value.violations] == ["camp_id"]
        assert "S1" in refused.value.violations[0].description


async def test_S1_a_camp_filing_must_be_of_the_camps_panchayat(intake: IntakeHarness) -> None:
    today = india_today()
    made = await intake.service.camps.create(camp(today + timedelta(days=5)), dm_district="PAT", today=today)
    other = replace(filing(), camp_id=made.id, location=replace(filing().location, panchayat_code="PAT-SADAR-X-Y"))
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(other)
    assert [v.field for v in refused.value.violations] == ["location.panchayat_code"]
    with pytest.raises(InvalidArgument) as unknown:
        await intake.service.file(replace(filing(), camp_id="no-such-camp"))
    assert [v.field for v in unknown.value.violations] == ["camp_id"]


async def test_S3_camp_cases_and_other_cases_are_two_tracks_in_lists_and_figures(intake: IntakeHarness) -> None:
    today = india_today()
    made = await intake.service.camps.create(camp(today + timedelta(days=5)), dm_district="PAT", today=today)
    at_camp = (await intake.service.file(in_gonpura(made.id))).grievance
    ordinary = (await intake.service.file(filing())).grievance

    camp_list, _ = await intake.service.search(SearchFilter(tracks=["sahyog_camp"], district_code="PAT"))
    other_list, _ = await intake.service.search(SearchFilter(tracks=["sahyog"], district_code="PAT"))
    assert [r.id for r in camp_list] == [at_camp.id]
    assert [r.id for r in other_list] == [ordinary.id]
    assert (await intake.service.dashboard("PAT", "", "sahyog_camp")).total == 1
    assert (await intake.service.dashboard("PAT", "", "sahyog")).total == 1
    assert (await intake.service.dashboard("PAT", "")).total == 2


STAFF = FilingActor(account_id="acct-camp-clerk", role="officer")
TOMORROW = object()


async def held_camp(intake: IntakeHarness, days_ago: int) -> str:
    """A camp held `days_ago` days ago (written as it stood: a camp in the past cannot be set any more)."""
    today = india_today()
    made = await intake.service.camps.create(camp(today), dm_district="PAT", today=today)
    async with intake.service.sessions.begin() as session:
        row = await session.get(type(made), made.id)
        assert row is not None
        row.held_on = today - timedelta(days=days_ago)
    return made.id


async def test_S1_a_paper_application_the_camp_took_is_filed_later_with_its_day_of_receipt(
    intake: IntakeHarness,
) -> None:
    """Uploaded three days after the camp (past the camp's window for a fresh filing): accepted, because the camp took
    it within its window; the day of receipt goes to the lifecycle, which judges the upload's lateness (S1)."""
    camp_id = await held_camp(intake, 3)
    received = india_today() - timedelta(days=3)
    paper = replace(in_gonpura(camp_id), filed_by=STAFF, camp_received_on=received.isoformat())
    row = (await intake.service.file(paper)).grievance
    assert (row.track, row.channel, row.camp_received_on) == ("sahyog_camp", "camp", received)
    assert intake.starter.started[-1].camp_received_on == received.isoformat()
    # The same filing without the day of receipt is a fresh filing, after the camp's window.
    with pytest.raises(InvalidArgument) as late:
        await intake.service.file(replace(paper, camp_received_on="", idempotency_key=None))
    assert [v.field for v in late.value.violations] == ["camp_id"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"filed_by": None}, "staff"),  # the applicant does not say when the camp took it
        ({"camp_id": ""}, "only with camp_id"),
        ({"camp_received_on": "03-12-2026"}, "YYYY-MM-DD"),
        # Tomorrow in India when the test runs, not when it was collected (a run may cross India's midnight).
        ({"camp_received_on": TOMORROW}, "not after today"),
    ],
)
async def test_S1_the_day_of_receipt_is_the_camp_staffs_a_real_day_and_not_ahead(
    intake: IntakeHarness, change: dict[str, object], why: str
) -> None:
    if change.get("camp_received_on") is TOMORROW:
        change = {"camp_received_on": (india_today() + timedelta(days=1)).isoformat()}
    camp_id = await held_camp(intake, 0)
    paper = replace(in_gonpura(camp_id), filed_by=STAFF, camp_received_on=india_today().isoformat())
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(replace(paper, **change))  # type: ignore[arg-type]
    assert [v.field for v in refused.value.violations] == ["camp_received_on"]
    assert why in refused.value.violations[0].description


async def test_S1_the_day_of_receipt_falls_within_the_camps_window(intake: IntakeHarness) -> None:
    camp_id = await held_camp(intake, 0)
    before = (india_today() - timedelta(days=31)).isoformat()
    paper = replace(in_gonpura(camp_id), filed_by=STAFF, camp_received_on=before)
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(paper)
    assert [v.field for v in refused.value.violations] == ["camp_received_on"]
    assert "S1" in refused.value.violations[0].description
