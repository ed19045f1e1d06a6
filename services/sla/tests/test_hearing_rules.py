"""B7 / M3: hearings under the Act on the office's weekly hearing day, with the complainant and the public authority
told, the notice for the office's board (Form-4) in the transition intake projects, attendance recorded on or after
the day, and an appeal decided only after it is heard; through the real lifecycle workflow on the time-skipping
Temporal server with the shipped policies (bpgra v2). fakes.py's offices hear cases on Wednesdays, except the Circle
Officer's, which has fixed no day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nivaran_common.casework import PERMISSION_DENIED, Caller
from nivaran_sla.domain import (
    UPDATE_APPEAL,
    UPDATE_DECIDE_APPEAL,
    UPDATE_DISPOSE,
    UPDATE_RECORD_HEARING,
    UPDATE_SCHEDULE_HEARING,
    CaseStatus,
    DisposeInput,
)

from .hearing_steps import attendance, hearing, next_hearing_day, until
from .test_acts_rules import DM, DSO, SITA, act, refused
from .test_appeal_rules import appeal, decision
from .test_rules import Case, case_input, case_runner, time_skipping_server

CO = Caller(account_id="acct-co", kind="officer", position_ids=("pos-rev-co",), district_code="PAT")


@pytest_asyncio.fixture(scope="module")
async def hearing_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(hearing_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(hearing_env) as go:
        yield go


async def test_B7_hearing_fixed_on_the_office_hearing_day_goes_to_the_notice_board_and_both_parties(
    run_case: Any,
) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    hearing_day = await next_hearing_day(case)
    state = await act(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DSO, authority="pos-mo-phw"))
    assert state.status is not CaseStatus.DISPOSED
    notice = case.fake.transitions("hearing_scheduled")[-1].payload
    assert (notice["hearing_id"], notice["stage"], notice["held_on"], notice["at"]) == (
        "H1",
        "complaint",
        hearing_day.isoformat(),
        "11:00",
    )
    # Form-4's fields: the hearing officer's office (the notice board's), the public authority, the venue.
    assert notice["office_id"] == "office-of-pos-dso-pat"
    assert notice["hearing_officer_position_id"] == "pos-dso-pat"
    assert notice["public_authority_position_id"] == "pos-mo-phw"
    assert notice["public_authority_title_hi"] == "विपणन पदाधिकारी, फुलवारी"
    assert notice["venue_en"] == "District Supply Officer"  # the office's name when no venue is given
    told = {n.recipient.position_id or n.recipient.account_id: n for n in case.notices("hearing_scheduled")}
    assert set(told) == {"pos-mo-phw", SITA.account_id}
    assert told[SITA.account_id].params["headline_en"] == f"Your hearing is on {hearing_day.isoformat()} 11:00"
    assert told[SITA.account_id].params["headline_hi"] == f"आपकी सुनवाई {hearing_day.isoformat()} 11:00 को है"


async def test_B7_hearing_refused_off_the_hearing_day_in_the_past_or_without_a_public_authority(
    run_case: Any,
) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    hearing_day = await next_hearing_day(case)
    thursday = hearing_day + timedelta(days=1)
    off_day = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(thursday, DSO, authority="pos-mo-phw"))
    assert "Wednesday" in str(off_day)
    assert hearing_day.isoformat() in str(off_day)
    past = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day - timedelta(days=7), DSO, "pos-mo-phw"))
    assert "not before today" in str(past)
    too_far = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day + timedelta(days=70), DSO, "pos-mo-phw"))
    assert "at the latest" in str(too_far)
    nobody = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DSO))
    assert "public_authority_position_id" in str(nobody)
    unknown = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DSO, authority="pos-nobody"))
    assert "no post pos-nobody" in str(unknown)
    stranger = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DM, authority="pos-mo-phw"))
    assert stranger.type == PERMISSION_DENIED
    assert case.count("hearing_scheduled") == 0  # nothing partly applied
    # one pending hearing at a time
    await act(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DSO, authority="pos-mo-phw"))
    again = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day + timedelta(days=7), DSO, "pos-mo-phw"))
    assert "still to be recorded" in str(again)


async def test_B7_an_office_without_a_hearing_day_cannot_fix_a_hearing(run_case: Any) -> None:
    case: Case = await run_case(case_input(track="bpgra", position_id="pos-rev-co"))
    refusal = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(await next_hearing_day(case), CO, "pos-mo-phw"))
    assert "fixed no weekly hearing day" in str(refusal)
    assert refusal.type == "hearing.no_hearing_day"


async def test_B7_no_hearings_on_a_track_without_them(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    refusal = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(await next_hearing_day(case), DSO, "pos-mo-phw"))
    assert "holds no hearings" in str(refusal)


async def test_M3_attendance_recorded_on_or_after_the_day_and_once(run_case: Any) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    hearing_day = await next_hearing_day(case)
    await act(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DSO, authority="pos-mo-phw"))
    early = await refused(case, UPDATE_RECORD_HEARING, attendance("H1", DSO))
    assert "on or after the hearing day" in str(early)
    await until(case, hearing_day)
    not_the_hearer = await refused(case, UPDATE_RECORD_HEARING, attendance("H1", DM))
    assert not_the_hearer.type == PERMISSION_DENIED
    unknown = await refused(case, UPDATE_RECORD_HEARING, attendance("H9", DSO))
    assert "no hearing H9" in str(unknown)
    await act(case, UPDATE_RECORD_HEARING, attendance("H1", DSO, authority_present=False))
    held = case.fake.transitions("hearing_held")[-1]
    assert held.payload["hearing_id"] == "H1"
    assert held.payload["public_authority_present"] is False  # M3: the absence is on record for M2
    assert held.payload["complainant_present"] is True
    assert "public authority absent" in held.summary.en
    twice = await refused(case, UPDATE_RECORD_HEARING, attendance("H1", DSO))
    assert "already recorded" in str(twice)
    # the next hearing may now be fixed
    await act(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day + timedelta(days=7), DSO, authority="pos-mo-phw"))
    assert case.fake.transitions("hearing_scheduled")[-1].payload["hearing_id"] == "H2"


async def test_B7_appeal_decided_only_after_a_hearing_before_the_appellate_authority(run_case: Any) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    await act(case, UPDATE_DISPOSE, DisposeInput(disposed_by="acct-dso", outcome="Record corrected", caller=DSO))
    await act(case, UPDATE_APPEAL, appeal("first"))
    unheard = await refused(case, UPDATE_DECIDE_APPEAL, decision(DM))
    assert "after it is heard" in str(unheard)
    hearing_day = await next_hearing_day(case)
    # the appellate authority hears it; the public authority is the post whose decision is appealed
    not_the_pgro = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DSO))
    assert not_the_pgro.type == PERMISSION_DENIED
    await act(case, UPDATE_SCHEDULE_HEARING, hearing(hearing_day, DM))
    notice = case.fake.transitions("hearing_scheduled")[-1].payload
    assert (notice["stage"], notice["office_id"], notice["public_authority_position_id"]) == (
        "first",
        "office-of-pos-dm-pat",
        "pos-dso-pat",
    )
    await until(case, hearing_day)
    await act(case, UPDATE_RECORD_HEARING, attendance("H1", DM, outcome="adjourned"))
    adjourned = await refused(case, UPDATE_DECIDE_APPEAL, decision(DM))
    assert "after it is heard" in str(adjourned)  # an adjourned hearing is not a hearing held
    next_week = hearing_day + timedelta(days=7)
    await act(case, UPDATE_SCHEDULE_HEARING, hearing(next_week, DM))
    await until(case, next_week)
    await act(case, UPDATE_RECORD_HEARING, attendance("H2", DM))
    decided = await act(case, UPDATE_DECIDE_APPEAL, decision(DM))
    assert decided.status is CaseStatus.DISPOSED
    # after the decision no stage is pending: no hearing can be fixed until the next appeal
    over = await refused(case, UPDATE_SCHEDULE_HEARING, hearing(next_week + timedelta(days=7), DM))
    assert "pending" in str(over)
