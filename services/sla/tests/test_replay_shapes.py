"""Histories of cases whose deadlines fired, recorded on the code of their day and replayed on today's.

A case runs for weeks, so a deploy meets cases in every shape the lifecycle has had. The recorded histories under
`histories/` are replayed by test_workflows.py; this module records the deadline-heavy shapes (breaches, notices,
a show-cause, a visibility grant, then a disposal) and proves that today's code replays its own shape too.

Re-record the current shape with `NIVARAN_RECORD_HISTORIES=1` (it writes `histories/<name>-<shape>.json`, with
SHAPE below naming today's shape; keep the older files, they are what running cases look like).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from nivaran_common.temporal import pydantic_data_converter
from nivaran_sla.case_inputs import FeedbackInput, FeedbackSource, ReopenInput
from nivaran_sla.workflows import GrievanceLifecycle

from .test_rules import DAY, MINUTE, case_input, case_runner, dispose, time_skipping_server

HISTORIES = Path(__file__).parent / "histories"
# The lifecycle's history shape today; bump it when a change adds a patch, and record the new shape.
# v2: every side effect an activity task; v3: side effects as local activities (LOCAL_EFFECTS_PATCH); v4: the case's
# lifecycle waits out the policy's recourse window after the case ends, and may take it back (RECOURSE_PATCH); v5: the
# case's start is written to intake in one call after its notices (ONE_START_WRITE_PATCH).
SHAPE = "v5"


async def _deadlines_fired_then_disposed(run_case: Any) -> WorkflowHistory:
    case = await run_case(case_input())
    await case.advance(3 * DAY + MINUTE)  # S8: the L1 neither acted nor forwarded (breach and a notice)
    await case.advance(7 * DAY)  # S9: the first show-cause notice, and the DM sees the case
    assert case.count("breach_recorded") == 1
    assert case.count("show_cause_issued") == 1
    assert case.count("made_visible") == 1
    await case.handle.execute_update(GrievanceLifecycle.dispose, dispose())
    await case.settle()
    history: WorkflowHistory = await case.handle.fetch_history()
    return history


async def test_S8_S9_replay_of_a_case_whose_deadlines_fired_is_deterministic() -> None:
    async with time_skipping_server() as env, case_runner(env) as run_case:
        history = await _deadlines_fired_then_disposed(run_case)
    if os.environ.get("NIVARAN_RECORD_HISTORIES") == "1":
        (HISTORIES / f"lifecycle_deadlines_fired_disposed-{SHAPE}.json").write_text(history.to_json())

    result = await Replayer(workflows=[GrievanceLifecycle], data_converter=pydantic_data_converter).replay_workflow(
        history
    )

    assert result.replay_failure is None


async def test_H3_replay_of_a_case_that_came_back_twice_and_ended_is_deterministic() -> None:
    """Disposed, unresolved on the complainant's feedback, disposed, reopened, disposed, and the window passed."""
    async with time_skipping_server() as env, case_runner(env) as run_case:
        case = await run_case(case_input())
        await case.handle.execute_update(GrievanceLifecycle.dispose, dispose())
        not_fixed = FeedbackInput(source=FeedbackSource.CITIZEN, resolved=False, rating=1)
        await case.handle.execute_update(GrievanceLifecycle.feedback, not_fixed)
        await case.advance(10 * DAY + MINUTE)  # the fresh S9 clock fires
        await case.handle.execute_update(GrievanceLifecycle.dispose, dispose())
        await case.handle.execute_update(GrievanceLifecycle.reopen, ReopenInput(reason="The card never came to me"))
        await case.handle.execute_update(GrievanceLifecycle.dispose, dispose())
        result = await case.handle.result()
        assert (case.count("unresolved"), case.count("reopened"), case.count("show_cause_issued")) == (1, 1, 1)
        assert result.status.value == "disposed"
        history: WorkflowHistory = await case.handle.fetch_history()
    if os.environ.get("NIVARAN_RECORD_HISTORIES") == "1":
        (HISTORIES / f"lifecycle_returned_twice_ended-{SHAPE}.json").write_text(history.to_json())

    replayed = await Replayer(workflows=[GrievanceLifecycle], data_converter=pydantic_data_converter).replay_workflow(
        history
    )

    assert replayed.replay_failure is None
