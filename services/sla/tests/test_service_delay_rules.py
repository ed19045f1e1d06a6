"""Service-delay complaints on the auto-appeal track (H1, H2), through the real lifecycle workflow on the
time-skipping Temporal server with the shipped policy files; the services behind the activities are fakes.py's
recorders. (S4, the filing's checks, is intake's: services/intake/tests/test_service_delay.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nivaran_sla.case_inputs import InterimReplyInput
from nivaran_sla.domain import UPDATE_INTERIM_REPLY, CaseStatus, ForwardInput
from nivaran_sla.workflows import GrievanceLifecycle

from .test_acts_rules import DSO, SITA, act, refused
from .test_rules import DAY, MINUTE, Case, case_input, case_runner, time_skipping_server

REPLY = InterimReplyInput(
    reply="Called the applicant and helped her apply again at the RTPS counter / आवेदिका से बात कर पुनः आवेदन कराया",
    called_on="2026-11-20",
    application_number="RTPS/PAT/2026/009911",
    applied_on="2026-11-20",
    application_status="received at the circle office",
    by_account_id="acct-dso",
    caller=DSO,
)


@pytest_asyncio.fixture(scope="module")
async def delay_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(delay_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(delay_env) as go:
        yield go


async def delay_case(run_case: Any) -> Case:
    case: Case = await run_case(case_input(track="rts_auto_appeal", position_id="pos-dso-pat", service_days=21))
    return case


async def test_H1_the_nodal_officer_is_reminded_to_forward_and_forwarding_stops_it(run_case: Any) -> None:
    case = await delay_case(run_case)
    clock = await case.clock("forward_to_designated_officer")
    assert clock.running
    assert clock.deadline is not None
    # Three working days under Bihar's calendar: reminded once it passes, not before.
    await case.env.sleep(clock.deadline - await case.env.get_current_time() - MINUTE)
    await case.settle()
    assert case.notices("forward_to_designated_officer") == []
    await case.advance(2 * MINUTE)
    [reminder] = case.notices("forward_to_designated_officer")
    assert reminder.recipient.position_id == "pos-dso-pat"
    forwarded = await delay_case(run_case)
    await forwarded.handle.execute_update(
        GrievanceLifecycle.forward, ForwardInput(to_position_id="pos-mo-phw", by_account_id="acct-dso", note="")
    )
    await forwarded.settle()
    assert not (await forwarded.clock("forward_to_designated_officer")).running
    # The designated officer's 30 days run from the forward (H2).
    assert (await forwarded.clock("interim_reply")).running


async def test_H2_no_interim_reply_in_30_days_escalates_the_case_to_the_secretary(run_case: Any) -> None:
    case = await delay_case(run_case)
    await case.advance(30 * DAY - MINUTE)
    assert case.count("escalated") == 0
    await case.advance(2 * MINUTE)
    [escalated] = case.fake.transitions("escalated")
    assert escalated.new_assignment is not None
    assert escalated.new_assignment.position_id == "pos-sec-food"
    assert escalated.grant_visibility_to_roles == ["SECRETARY"]
    state = await case.handle.query(GrievanceLifecycle.state)
    assert (state.status, state.position_id) == (CaseStatus.ESCALATED, "pos-sec-food")
    assert [b.rule for b in case.fake.breaches.values()] == ["H2"]


async def test_H2_the_interim_reply_within_30_days_carries_the_application_and_stops_the_clock(run_case: Any) -> None:
    case = await delay_case(run_case)
    stranger = await refused(case, UPDATE_INTERIM_REPLY, InterimReplyInput(**{**REPLY.__dict__, "caller": SITA}))
    assert stranger.type == "permission_denied"
    await case.advance(29 * DAY)
    state = await act(case, UPDATE_INTERIM_REPLY, REPLY)
    assert state.status is CaseStatus.IN_PROGRESS
    [uploaded] = case.fake.transitions("interim_reply_uploaded")
    assert uploaded.payload["application"] == {
        "application_number": "RTPS/PAT/2026/009911",
        "applied_on": "2026-11-20",
        "status": "received at the circle office",
    }
    assert uploaded.payload["called_on"] == "2026-11-20"
    told = [n for n in case.notices() if "citizen_interim_reply" in n.dedupe_key]
    assert len(told) == 1
    assert "RTPS/PAT/2026/009911" in told[0].params["detail_en"]
    twice = await refused(case, UPDATE_INTERIM_REPLY, REPLY)
    assert "already" in str(twice)
    await case.advance(2 * DAY)
    assert case.count("escalated") == 0
    assert "H2" not in [b.rule for b in case.fake.breaches.values()]


async def test_H2_an_interim_reply_on_another_track_is_refused(run_case: Any) -> None:
    case: Case = await run_case(case_input())
    other = await refused(case, UPDATE_INTERIM_REPLY, REPLY)
    assert "interim reply" in str(other)
    assert case.count("interim_reply_uploaded") == 0
