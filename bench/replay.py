"""The cost of a case that wakes outside the worker's cache: CPU to rebuild it from its history.

A worker holding more open cases than its cache replays a case's whole history each time one of its deadlines
fires. This bench replays the recorded histories of services/sla/tests/histories (a case whose deadlines fired:
breaches, notices, a show-cause, a visibility grant, a disposal) with the lifecycle's code, in each way the
worker can run it (`NIVARAN_SLA_WORKFLOW_SANDBOX`: strict, shared, off), and prints the CPU per replay and per
history event. The history shapes are the lifecycle's own: v2 ran every side effect as an activity task, v3 runs
them as local activities. The baseline of each line is the strict sandbox on the same history, in the same run.

    .venv/bin/python bench/replay.py [--rounds 200]

One replayer (one worker) replays all the copies of a history, as a worker does with the cases it rebuilds; the
figures leave out the Temporal server's side (polling, history reads), which bench/deadlines.py measures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from nivaran_common.temporal import pydantic_data_converter
from nivaran_sla.settings import WorkflowSandbox
from nivaran_sla.worker import workflow_runner
from nivaran_sla.workflows import GrievanceLifecycle

HISTORIES = Path(__file__).resolve().parents[1] / "services" / "sla" / "tests" / "histories"


async def cpu_per_replay(history: WorkflowHistory, sandbox: WorkflowSandbox, rounds: int) -> float:
    """CPU seconds per replay of `history`, over `rounds` copies replayed by one replayer (one worker)."""
    replayer = Replayer(
        workflows=[GrievanceLifecycle], data_converter=pydantic_data_converter, workflow_runner=workflow_runner(sandbox)
    )
    await replayer.replay_workflow(history)  # warm: imports, type adapters

    async def copies() -> AsyncIterator[WorkflowHistory]:
        for i in range(rounds):
            yield WorkflowHistory(f"{history.workflow_id}-{i}", history.events)

    began = time.process_time()
    await replayer.replay_workflows(copies(), raise_on_replay_failure=True)
    return (time.process_time() - began) / rounds


async def bench(rounds: int) -> None:
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}; command: {' '.join(sys.argv)}")
    print(f"{rounds} replays of each history in each mode; CPU time of this process (process_time)")
    for path in sorted(HISTORIES.glob("lifecycle_deadlines_fired*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        events = len(history.events)
        strict = await cpu_per_replay(history, WorkflowSandbox.STRICT, rounds)
        for sandbox in WorkflowSandbox:
            cost = strict if sandbox is WorkflowSandbox.STRICT else await cpu_per_replay(history, sandbox, rounds)
            print(
                f"{path.stem:45s} {events:4d} events  {sandbox.value:6s}  {cost * 1000:7.2f} ms per replay  "
                f"{cost * 1e6 / events:7.1f} µs per event  ratio to strict {cost / strict:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(bench(args.rounds))


if __name__ == "__main__":
    main()
