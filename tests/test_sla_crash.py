"""Issue 3, point 7: kill -9 the sla worker while cases have clocks running, start a new one, and every deadline
still fires, exactly once.

The parts: a real Temporal dev server (with Nivaran's search attributes), the sla worker as its own OS process
started as production starts it (`python -m nivaran_sla.worker`, configured by NIVARAN_SLA_* variables), its
show-cause and breach records in a real PostgreSQL database built by its migrations, and, as the worker's gRPC
collaborators, an in-test server standing in for intake, notify and routing that keeps every call with its
idempotency key (`LifecycleCollaborators`). The crash under test is the worker's, so the collaborators stay up.

The clocks come from a policy folder of the test's own: the sahyog rules S9 (show-cause), S10 (DM visibility) and
S13 (breach) with days scaled to seconds, so the worker is killed after some deadlines fired and before others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from nivaran.common.v1 import common_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.db import create_engine
from nivaran_common.migrations import upgrade_async
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, lifecycle_workflow_id
from nivaran_common.testing import DatabaseFactory, LifecycleCollaborators, RecordedCall, eventually
from nivaran_common.timeutil import to_timestamp
from nivaran_sla import SERVICE_ROOT
from nivaran_sla.tables import BreachRow, ShowCauseNoticeRow

POLICY = """\
# Test policy: sahyog's S9, S10 and S13 clocks with a day scaled to 0.4 s (S9 on "day 10" = 4 s, S13 = 20 s).
track: sahyog
version: 1
name: {en: Sahyog (crash test), hi: सहयोग (क्रैश परीक्षण)}
source: 001_13d394ef0cae87ad.txt §10
state: BR
clocks:
  - id: first_show_cause
    rule: S9
    name: {en: Dispose or report action within 10 days, hi: 10 दिनों में निष्पादन या कार्रवाई की सूचना}
    start: [assigned]
    stop: [disposed, rejected]
    duration: PT4S
    calendar: calendar_days
    condition: no_action_report_since_start
    actions:
      - {type: issue_show_cause, number: 1, reply_within: PT1H}
  - id: dm_visibility
    rule: S10
    name: {en: Pending over 10 days shows in the DM's login, hi: 10 दिनों से अधिक लंबित मामला जिला पदाधिकारी के लॉगिन में}
    start: [assigned]
    stop: [disposed, rejected]
    duration: PT8S
    calendar: calendar_days
    actions:
      - {type: make_visible, role: DM}
  - id: sanction
    rule: S13
    name: {en: Not finally disposed in 30 days, hi: 30 दिनों में अंतिम निष्पादन नहीं}
    start: [assigned]
    stop: [disposed, rejected]
    duration: PT20S
    calendar: calendar_days
    actions:
      - {type: record_breach, rule: S13}
"""

# Per case, the timeline events and notices that must each exist exactly once (one idempotency key apiece).
EXPECTED_EVENTS = Counter({"assigned": 1, "acknowledgement_sent": 1, "show_cause_issued": 1, "made_visible": 1,
                           "breach_recorded": 1})  # fmt: skip
# The acknowledgement, the officer's new-case notice, the show-cause notice (S9) and the DM's notice (S10).
EXPECTED_NOTICES = Counter({"acknowledgement": 1, "case_assigned": 1, "sla_notice": 2})
# The deadline behind each deadline effect: the clock in the key `<workflow id>:<clock>:<generation>:<action>:…`.
DEADLINE_EFFECTS = {"show_cause_issued": "first_show_cause", "made_visible": "dm_visibility",
                    "breach_recorded": "sanction"}  # fmt: skip


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The sla worker as production runs it: its own interpreter, `python -m nivaran_sla.worker`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "nivaran_sla.worker"],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def lifecycle_input(grievance_id: str, number: int) -> sla_pb2.LifecycleInput:
    return sla_pb2.LifecycleInput(
        grievance_id=grievance_id,
        registration_number=f"BR/PAT/2026/{number:06d}",
        track="sahyog",
        language="hi",
        location=common_pb2.Location(state_code="BR", district_code="PAT"),
        category_code="FOOD-RATION-CARD",
        department_code="FOOD",
        office_id="office-pos-mo",
        position_id=f"pos-mo-{number % 7}",
        filed_at=to_timestamp(datetime.now(UTC)),
        complainant_name="सीता देवी",
        office_level="district",
    )


def per_case(calls: list[RecordedCall]) -> dict[str, list[RecordedCall]]:
    """Each case's effects, one per idempotency key (the first arrival), as intake and notify keep them."""
    cases: dict[str, list[RecordedCall]] = {}
    for call in LifecycleCollaborators.distinct(calls).values():
        cases.setdefault(call.grievance_id, []).append(call)
    return cases


def count(calls: list[RecordedCall], kind: str) -> int:
    return sum(1 for c in LifecycleCollaborators.distinct(calls).values() if c.kind == kind)


async def rows_per_case(database_url: str, table: Any) -> Counter[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(table.grievance_id, func.count()).group_by(table.grievance_id))
            return Counter({str(grievance_id): int(n) for grievance_id, n in result.all()})
    finally:
        await engine.dispose()


async def kill_the_worker_mid_flight_and_check_every_deadline(
    cases: int, tmp_path: Path, make_database: DatabaseFactory, temporal_dev_env: Any
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "sahyog.v1.yaml").write_text(POLICY, encoding="utf-8")
    database_url = make_database("postgres", prefix="nivaran_sla_crash")
    await upgrade_async(SERVICE_ROOT, database_url)
    from nivaran_common import pki

    pki.init(tmp_path / "pki")
    collaborators = LifecycleCollaborators(tmp_path / "pki")
    await collaborators.start()
    task_queue = f"sla-crash-{uuid.uuid4().hex[:8]}"
    client = temporal_dev_env.client
    env = collaborators.sla_worker_env(
        temporal_address=client.service_client.config.target_host,
        task_queue=task_queue,
        database_url=database_url,
        policy_folder=policies,
    )
    log = tmp_path / "sla-worker.log"
    worker = spawn_worker(env, log)
    try:
        grievance_ids = [str(uuid.uuid4()) for _ in range(cases)]
        await asyncio.gather(
            *(
                client.start_workflow(
                    LIFECYCLE_WORKFLOW,
                    lifecycle_input(grievance_id, number),
                    id=lifecycle_workflow_id(grievance_id),
                    task_queue=task_queue,
                )
                for number, grievance_id in enumerate(grievance_ids)
            )
        )

        async def mid_flight() -> bool:
            assert worker.poll() is None, log.read_text(errors="replace")
            return count(collaborators.transitions, "made_visible") >= max(1, cases // 5)

        await eventually(mid_flight, timeout=120, every=0.05)
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.wait, 10)
        assert worker.returncode == -signal.SIGKILL
        fired_before = {kind: count(collaborators.transitions, kind) for kind in DEADLINE_EFFECTS}
        # Killed mid-flight: the S10 deadline has fired for some cases, and S13 is still pending for some.
        assert fired_before["made_visible"] >= max(1, cases // 5)
        assert fired_before["breach_recorded"] < cases

        worker = spawn_worker(env, log)

        async def every_deadline_fired() -> bool:
            assert worker.poll() is None, log.read_text(errors="replace")
            return count(collaborators.transitions, "breach_recorded") == cases

        # In-flight activities of the killed worker come back only after their 30 s start-to-close timeout.
        await eventually(every_deadline_fired, timeout=180, every=0.5)
        # Let anything still retrying land, so a duplicate would be seen: every case's last effect is its S13
        # breach, and the notices of earlier deadlines must all be there too.
        expected_notices = sum(EXPECTED_NOTICES.values()) * cases

        async def notices_settled() -> bool:
            return len(LifecycleCollaborators.distinct(collaborators.notices)) >= expected_notices

        await eventually(notices_settled, timeout=60, every=0.5)

        events = per_case(collaborators.transitions)
        notices = per_case(collaborators.notices)
        assert sorted(events) == sorted(grievance_ids)
        for grievance_id in grievance_ids:
            # "deadline_set" hands intake the nearest deadline as the clocks change; it is keyed like every record,
            # so it is not repeated either, but how many a case has depends on when its clocks moved.
            kinds = Counter(call.kind for call in events[grievance_id] if call.kind != "deadline_set")
            assert kinds == EXPECTED_EVENTS, (grievance_id, kinds)
            assert Counter(call.kind for call in notices[grievance_id]) == EXPECTED_NOTICES, grievance_id
            # Each deadline effect came from its clock's first and only generation: none fired twice under two keys.
            for call in events[grievance_id]:
                if call.kind in DEADLINE_EFFECTS:
                    _, clock, generation, _, _ = call.key.split(":")
                    assert (clock, generation) == (DEADLINE_EFFECTS[call.kind], "1"), call.key
        # The sla service's own records: one show-cause notice (S9) and one breach (S13) per case, no more.
        assert await rows_per_case(database_url, ShowCauseNoticeRow) == Counter(dict.fromkeys(grievance_ids, 1))
        assert await rows_per_case(database_url, BreachRow) == Counter(dict.fromkeys(grievance_ids, 1))
        # The restarted worker still writes the search attributes: every case is found by district and state.
        query = f"TaskQueue = '{task_queue}' AND NivaranDistrict = 'PAT' AND NivaranStatus = 'assigned'"

        async def all_visible() -> bool:
            return (await client.count_workflows(query)).count == cases

        await eventually(all_visible, timeout=30, every=0.5)
    finally:
        stop_worker(worker)
        await collaborators.stop()
        with contextlib.suppress(Exception):
            async for execution in client.list_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"):
                await client.get_workflow_handle(execution.id).terminate("crash test over")


async def test_S9_S10_S13_deadlines_fire_exactly_once_across_a_worker_kill(
    tmp_path: Path, make_database: DatabaseFactory, temporal_dev_env: Any
) -> None:
    """40 cases: the variant `make test` runs."""
    await kill_the_worker_mid_flight_and_check_every_deadline(40, tmp_path, make_database, temporal_dev_env)


@pytest.mark.slow
async def test_S9_S10_S13_deadlines_fire_exactly_once_across_a_worker_kill_with_200_cases(
    tmp_path: Path, make_database: DatabaseFactory, temporal_dev_env: Any
) -> None:
    """The issue's figure: 200 cases with clocks running when the worker is killed."""
    await kill_the_worker_mid_flight_and_check_every_deadline(200, tmp_path, make_database, temporal_dev_env)
