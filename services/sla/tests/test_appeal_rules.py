"""B4: appeals under the Act on the same registration number (first, second, revision), each to its own authority
and within its time of the last decision, through the real lifecycle workflow on the time-skipping Temporal server
with the shipped policies (bpgra v2); fakes.py's reporting chain gives the DM, the Commissioner and the OSD."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nivaran_common.casework import PERMISSION_DENIED
from nivaran_sla.case_inputs import AppealDecisionInput, AppealInput, ReopenInput
from nivaran_sla.domain import (
    UPDATE_APPEAL,
    UPDATE_DECIDE_APPEAL,
    UPDATE_DISPOSE,
    UPDATE_REJECT,
    UPDATE_REOPEN,
    CaseStatus,
    DisposeInput,
    RejectInput,
)

from .hearing_steps import heard
from .test_acts_rules import COMMISSIONER, DM, DSO, OSD, RAM, SITA, act, refused
from .test_rules import DAY, MINUTE, Case, case_input, case_runner, time_skipping_server

GROUNDS = "The land record was corrected only in part / अभिलेख में आंशिक सुधार ही हुआ"
FINDINGS = "Heard both sides; the correction is incomplete / दोनों पक्ष सुने; सुधार अधूरा है"


@pytest_asyncio.fixture(scope="module")
async def appeal_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(appeal_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(appeal_env) as go:
        yield go


async def decided_case(run_case: Any) -> Case:
    case: Case = await run_case(case_input(track="bpgra"))
    await act(case, UPDATE_DISPOSE, DisposeInput(disposed_by="acct-dso", outcome="Record corrected", caller=DSO))
    return case


def appeal(kind: str, by: Any = SITA) -> AppealInput:
    return AppealInput(kind=kind, grounds=GROUNDS, by_account_id=by.account_id, caller=by)


def decision(by: Any, outcome: str = "allowed") -> AppealDecisionInput:
    return AppealDecisionInput(
        decision=outcome, findings=FINDINGS, directions="Correct it in 15 days", by_account_id=by.account_id, caller=by
    )


async def test_B4_first_second_appeal_and_revision_on_one_registration_number_each_to_its_authority(
    run_case: Any,
) -> None:
    case = await decided_case(run_case)
    for kind, authority, caller in (("first", "pos-dm-pat", DM), ("second", "pos-comm-patna", COMMISSIONER),
                                    ("revision", "pos-osd-cs", OSD)):  # fmt: skip
        await case.advance(29 * DAY)  # within 30 days of the last decision
        filed = await act(case, UPDATE_APPEAL, appeal(kind))
        assert filed.status is CaseStatus.UNDER_APPEAL
        record = case.fake.transitions("appeal_filed")[-1]
        assert (record.payload["kind"], record.payload["authority_position_id"]) == (kind, authority)
        assert record.new_status is CaseStatus.UNDER_APPEAL
        assert record.current_deadline is not None  # the authority's 30 days
        told = [n for n in case.notices("appeal_filed") if n.recipient.position_id == authority]
        assert len(told) == 1
        await heard(case, caller)  # B7: the authority hears the appeal first
        decided = await act(case, UPDATE_DECIDE_APPEAL, decision(caller))
        assert decided.status is CaseStatus.DISPOSED
        form3 = case.fake.transitions("appeal_decided")[-1].payload
        assert (form3["form"], form3["kind"], form3["decision"], form3["findings"]) == (
            "Form-3",
            kind,
            "allowed",
            FINDINGS,
        )
        assert form3["decided_by_position_id"] == authority
    # Every transition is of the same case, on its one registration number (B4).
    assert {t.grievance_id for t in case.fake.transitions("appeal_filed")} == {
        case.handle.id.removeprefix("grievance-")
    }
    used = await refused(case, UPDATE_APPEAL, appeal("revision"))
    assert "every stage" in str(used)


async def test_B4_an_appeal_is_refused_out_of_order_out_of_time_or_by_another(run_case: Any) -> None:
    case = await decided_case(run_case)
    second_first = await refused(case, UPDATE_APPEAL, appeal("second"))
    assert "first" in str(second_first)
    stranger = await refused(case, UPDATE_APPEAL, appeal("first", by=RAM))
    assert stranger.type == PERMISSION_DENIED
    await act(case, UPDATE_APPEAL, appeal("first"))
    pending = await refused(case, UPDATE_APPEAL, appeal("second"))
    assert "pending" in str(pending)
    not_the_authority = await refused(case, UPDATE_DECIDE_APPEAL, decision(COMMISSIONER))
    assert not_the_authority.type == PERMISSION_DENIED
    bad = await refused(case, UPDATE_DECIDE_APPEAL, decision(DM, outcome="maybe"))
    assert "allowed or dismissed" in str(bad)
    await heard(case, DM)
    await act(case, UPDATE_DECIDE_APPEAL, decision(DM, outcome="dismissed"))
    await case.advance(30 * DAY + MINUTE)  # past the second appeal's 30 days: the lifecycle has ended
    result = await case.handle.result()
    assert result.status.value == "disposed"
    assert case.count("appeal_filed") == 1


async def test_B4_an_appeal_on_a_case_still_open_is_refused_and_an_undecided_appeal_is_a_breach(run_case: Any) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    early = await refused(case, UPDATE_APPEAL, appeal("first"))
    assert "decided case" in str(early)
    await act(case, UPDATE_DISPOSE, DisposeInput(disposed_by="acct-dso", outcome="Record corrected", caller=DSO))
    await act(case, UPDATE_APPEAL, appeal("first"))
    await case.advance(30 * DAY - MINUTE)
    assert "B4" not in [b.rule for b in case.fake.breaches.values()]
    await case.advance(2 * MINUTE)
    assert [b.rule for b in case.fake.breaches.values()].count("B4") == 1


async def test_B4_a_rejection_under_the_act_is_appealed_on_its_number_but_not_reopened(run_case: Any) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    rejection = RejectInput(
        ground="competence", reason="Not within this office's competence / इस कार्यालय की सक्षमता में नहीं",
        by_account_id="acct-dso", caller=DSO,
    )  # fmt: skip
    rejected = await act(case, UPDATE_REJECT, rejection)
    assert rejected.status is CaseStatus.REJECTED
    assert case.notices("resolution_claimed") == []  # a rejection claims no resolution (H3)
    no_reopen = await refused(case, UPDATE_REOPEN, ReopenInput(reason=GROUNDS, by_account_id="acct-sita", caller=SITA))
    assert "disposed or closed" in str(no_reopen)
    await case.advance(29 * DAY)
    filed = await act(case, UPDATE_APPEAL, appeal("first"))
    assert filed.status is CaseStatus.UNDER_APPEAL
    assert case.fake.transitions("appeal_filed")[-1].payload["authority_position_id"] == "pos-dm-pat"
    await heard(case, DM)
    decided = await act(case, UPDATE_DECIDE_APPEAL, decision(DM))
    assert decided.status is CaseStatus.DISPOSED


async def test_B4_a_rejection_the_complainant_does_not_appeal_ends_with_the_window(run_case: Any) -> None:
    case: Case = await run_case(case_input(track="bpgra"))
    rejection = RejectInput(ground="subject", reason="Not a grievance under the Act / अधिनियम के अंतर्गत नहीं",
                            by_account_id="acct-dso", caller=DSO)  # fmt: skip
    await act(case, UPDATE_REJECT, rejection)
    await case.advance(30 * DAY + MINUTE)
    result = await case.handle.result()
    assert result.status.value == "rejected"
    assert case.count("appeal_filed") == 0
