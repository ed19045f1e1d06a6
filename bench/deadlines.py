"""Deadline lag and worker memory: N open cases, each with one running clock, on one Temporal dev server.

For every case the figure is the lag from its deadline to its recorded effect: the moment the effect's timeline
event (`RecordTransition`, the call intake would get) reaches the collaborator server run by this script. Two runs
on the same server, one after the other, with the same N and the same deadlines spread over the same window:

(a) baseline: a bare Temporal timer workflow (sleep until the deadline, then one activity that makes the same
    `RecordTransition` call), not sandboxed, in a worker process of its own: what Temporal alone gives on this
    machine;
(b) Nivaran: the real sla worker process (`python -m nivaran_sla.worker`, as `make run` starts it, search
    attributes on) running `GrievanceLifecycle` with a one-clock policy: the clock starts when the case is
    registered, and on expiry records an S13 breach (a row in the sla database, SQLite as in `make run`) and its
    timeline event. Each case first runs its usual start (assignment, acknowledgement, officer notice, policy
    load); the deadlines are placed after a lead time so that this start-up is over before the first deadline.

It prints p50 / p99 / max lag for both, the ratio b/a, and each worker's peak RSS (VmHWM) with N cases open.
Intake, notify and routing are stood in for by one in-process gRPC server (nivaran_common.testing
.LifecycleCollaborators), so the figure is the engine's, not theirs.

    .venv/bin/python bench/deadlines.py [--cases 10000] [--spread 300] [--lead 0 (auto)]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import devrun  # noqa: E402
from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from nivaran.common.v1 import common_pb2  # noqa: E402
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc  # noqa: E402
from nivaran.sla.v1 import sla_pb2  # noqa: E402
from nivaran_common import pki  # noqa: E402
from nivaran_common.grpc_client import open_channel  # noqa: E402
from nivaran_common.payload_codec import KEYS_SETTING, generate_codec_key, load_codec  # noqa: E402
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, connect_temporal, lifecycle_workflow_id  # noqa: E402
from nivaran_common.testing import LifecycleCollaborators, RecordedCall, free_port  # noqa: E402
from nivaran_common.timeutil import to_timestamp  # noqa: E402
from nivaran_common.tls import TlsMaterial  # noqa: E402

POLICY = """\
# Benchmark track: one clock per case, started at registration; on expiry an S13 breach record and its timeline event.
track: bench_deadline
version: 1
name: {en: Deadline benchmark, hi: समय-सीमा बेंचमार्क}
source: bench/deadlines.py
state: BR
clocks:
  - id: deadline
    rule: S13
    name: {en: Benchmark deadline, hi: बेंचमार्क समय-सीमा}
    start: [registered]
    stop: [disposed]
    duration: PT1S
    calendar: calendar_days
    actions:
      - {type: record_breach, rule: S13}
"""
CLOCK = timedelta(seconds=1)  # the policy's duration: a case filed at T has its deadline at T + 1 s
START_CONCURRENCY = 32


def snapshot_sla_source(var: Path) -> dict[str, str]:
    """Run the worker from a copy of nivaran_sla taken when the bench starts.

    The sandbox reads the workflow module from disk again for every workflow it starts, so an edit to the working
    tree during a half-hour run would otherwise change the code under measurement halfway (or break it)."""
    import shutil

    import nivaran_sla

    copy = var / "src"
    shutil.copytree(
        Path(nivaran_sla.__file__).parent, copy / "nivaran_sla", ignore=shutil.ignore_patterns("__pycache__")
    )
    return {"PYTHONPATH": os.pathsep.join([str(copy), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def bytecode_env(var: Path) -> dict[str, str]:
    """Let the workers cache bytecode (in the scratch folder), as the images do (compileall at build time).

    The sandbox imports the workflow module afresh for every workflow it starts; with PYTHONDONTWRITEBYTECODE set
    and no .pyc at hand, each of those imports compiles nivaran_sla/workflows.py from source again."""
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(var / "pycache")}


# --- (a) the baseline: a bare timer workflow and its one activity, run by `--bare-worker` --------------------------


@dataclass
class BareClockInput:
    grievance_id: str
    deadline: datetime


@activity.defn(name="bare_record_effect")
async def bare_record_effect(grievance_id: str) -> None:
    """The same RecordTransition call the lifecycle's record_transition activity makes, on the same server."""
    pki_dir = Path(os.environ["BENCH_PKI"])
    tls = TlsMaterial.from_files(pki_dir / "ca.pem", pki_dir / "sla-worker.pem", pki_dir / "sla-worker.key")
    async with open_channel(os.environ["BENCH_TARGET"], tls) as channel:
        await intake_pb2_grpc.IntakeServiceStub(channel).RecordTransition(
            intake_pb2.RecordTransitionRequest(
                grievance_id=grievance_id,
                idempotency_key=f"bare-{grievance_id}:deadline_reached",
                event_type="deadline_reached",
                summary=common_pb2.LocalizedText(en="Deadline reached", hi="समय-सीमा पूर्ण"),
            ),
            timeout=10,
        )


# Not sandboxed: this script's module cannot be re-imported inside the sandbox, and the workflow is trivially
# deterministic. The sandbox costs the lifecycle some time per workflow task, so the baseline is a floor.
@workflow.defn(name="BenchBareClock", sandboxed=False)
class BareClock:
    """Sleep until the deadline, record the effect, then stay open like a case that is not yet disposed."""

    @workflow.run
    async def run(self, clock: BareClockInput) -> None:
        remaining = (clock.deadline - workflow.now()).total_seconds()
        if remaining > 0:
            await workflow.sleep(remaining)
        await workflow.execute_activity(
            bare_record_effect, clock.grievance_id, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: False)


async def run_bare_worker(address: str, task_queue: str) -> None:
    client = await connect_temporal(address, payload_codec=load_codec())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[BareClock], activities=[bare_record_effect]):
        await stop.wait()


# --- the measurement -----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a live process, in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmHWM", "VmRSS"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


@dataclass
class Run:
    label: str
    lags: list[float]
    peak_rss: float
    rss_open: float
    opened_seconds: float
    ready_before_first_deadline: float
    duplicates: int


async def start_all(count: int, start_one: object) -> float:
    began = time.monotonic()
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await start_one(i)  # type: ignore[operator]

    await asyncio.gather(*(one(i) for i in range(count)))
    return time.monotonic() - began


async def wait_for(check: object, timeout: float, sup: devrun.Supervisor, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        sup.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}; the figures are not valid")
        await asyncio.sleep(0.5)


def lags_of(calls: list[RecordedCall], kind: str, deadlines: dict[str, float]) -> tuple[list[float], int]:
    relevant = [c for c in calls if c.kind == kind and c.grievance_id in deadlines]
    first = LifecycleCollaborators.distinct(relevant)
    lags = [call.arrived_at - deadlines[call.grievance_id] for call in first.values()]
    return lags, len(relevant) - len(first)


def deadline_plan(cases: int, lead: float, spread: float) -> tuple[list[str], dict[str, float]]:
    """Each case's id and deadline (epoch seconds): evenly spread over `spread` seconds, starting `lead` from now."""
    first = time.time() + lead
    ids = [str(uuid.uuid4()) for _ in range(cases)]
    return ids, {gid: first + spread * i / cases for i, gid in enumerate(ids)}


async def measure_bare(
    sup: devrun.Supervisor, client: Client, address: str, target: str, cases: int, lead: float, spread: float
) -> Run:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    env = {"BENCH_TARGET": target, "BENCH_PKI": str(sup.log_dir.parent / "pki"), **bytecode_env(sup.log_dir.parent)}
    worker = sup.spawn(
        "bare-worker",
        [sys.executable, str(Path(__file__).resolve()), "--bare-worker", "--address", address, "--task-queue", queue],
        env,
    )
    ids, deadlines = deadline_plan(cases, lead, spread)

    async def start_one(i: int) -> None:
        gid = ids[i]
        await client.start_workflow(
            BareClock.run,
            BareClockInput(gid, datetime.fromtimestamp(deadlines[gid], UTC)),
            id=f"bench-bare-{gid}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    opened = await start_all(cases, start_one)
    ready_margin = min(deadlines.values()) - time.time()
    recorder: LifecycleCollaborators = sup.recorder  # type: ignore[attr-defined]

    def all_fired() -> bool:
        return len({c.grievance_id for c in recorder.transitions if c.kind == "deadline_reached"}) >= cases

    await wait_for(all_fired, lead + spread + 600, sup, "the baseline's deadlines")
    lags, duplicates = lags_of(recorder.transitions, "deadline_reached", deadlines)
    peak, now = peak_rss_mib(worker.process.pid)
    worker.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(worker.process.wait, 30)
    sup.children.remove(worker)
    return Run("bare", lags, peak, now, opened, ready_margin, duplicates)


async def measure_nivaran(
    sup: devrun.Supervisor, client: Client, env: dict[str, str], cases: int, lead: float, spread: float
) -> Run:
    queue = env["NIVARAN_SLA_TASK_QUEUE"]
    worker = sup.spawn("sla-worker", [sys.executable, "-m", "nivaran_sla.worker"], env)
    ids, deadlines = deadline_plan(cases, lead, spread)
    recorder: LifecycleCollaborators = sup.recorder  # type: ignore[attr-defined]

    async def start_one(i: int) -> None:
        gid = ids[i]
        lifecycle = sla_pb2.LifecycleInput(
            grievance_id=gid,
            registration_number=f"BENCH/{i:06d}",
            track="bench_deadline",
            language="hi",
            location=common_pb2.Location(state_code="BR", district_code="PAT"),
            department_code="FOOD",
            office_id="office-bench",
            position_id=f"pos-bench-{i % 50}",
            filed_at=to_timestamp(datetime.fromtimestamp(deadlines[gid], UTC) - CLOCK),
            complainant_name="सीता देवी",
            office_level="district",
        )
        await client.start_workflow(
            LIFECYCLE_WORKFLOW,
            lifecycle,
            id=lifecycle_workflow_id(gid),
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    opened = await start_all(cases, start_one)
    wanted = set(ids)

    def all_started() -> bool:
        return (
            sum(1 for c in recorder.transitions if c.kind == "acknowledgement_sent" and c.grievance_id in wanted)
            >= cases
        )

    await wait_for(all_started, lead + spread + 1800, sup, "every case's start-up")
    ready_margin = min(deadlines.values()) - max(
        c.arrived_at for c in recorder.transitions if c.kind == "acknowledgement_sent" and c.grievance_id in wanted
    )

    def all_fired() -> bool:
        return len({c.grievance_id for c in recorder.transitions if c.kind == "breach_recorded"} & wanted) >= cases

    await wait_for(all_fired, lead + spread + 1800, sup, "Nivaran's deadlines")
    lags, duplicates = lags_of(recorder.transitions, "breach_recorded", deadlines)
    peak, now = peak_rss_mib(worker.process.pid)
    return Run("nivaran", lags, peak, now, opened, ready_margin, duplicates)


def report(run: Run) -> str:
    ms = [lag * 1000 for lag in run.lags]
    return (
        f"lag p50 {percentile(ms, 0.5):.1f} ms  p99 {percentile(ms, 0.99):.1f} ms  max {max(ms):.1f} ms  "
        f"(n={len(ms)}, duplicate effects {run.duplicates}); worker peak RSS {run.peak_rss:.1f} MiB, "
        f"RSS {run.rss_open:.1f} MiB with the cases open; {len(ms)} opened in {run.opened_seconds:.1f} s, "
        f"ready {run.ready_before_first_deadline:.1f} s before the first deadline"
    )


async def bench(cases: int, spread: float, lead: float) -> None:
    # The baseline's cases only need to be opened (about 85 starts/s here); the lifecycle's also run their start-up,
    # about 10 cases/s on this machine, so its auto lead is longer.
    bare_lead = 30 + cases / 60
    lead = lead or 30 + cases / 8
    # The bench's own payload-codec key, inherited by every process it starts (instead of var/temporal-codec.key).
    os.environ.setdefault(KEYS_SETTING, generate_codec_key("bench"))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nivaran-bench-") as tmp:
        var = Path(tmp)
        ports = devrun.Ports(temporal=free_port(), temporal_ui=free_port())
        sup = devrun.Supervisor(ports, log_dir=var / "log")
        pki.init(var / "pki")
        recorder = LifecycleCollaborators(var / "pki")
        sup.recorder = recorder  # type: ignore[attr-defined]
        source = snapshot_sla_source(var)
        try:
            sup.spawn("temporal", devrun.temporal_argv(ports, var))
            await devrun.wait_tcp(sup, ports.temporal, "temporal")
            target = await recorder.start()
            address = f"127.0.0.1:{ports.temporal}"
            client = await connect_temporal(address, payload_codec=load_codec())
            bare = await measure_bare(sup, client, address, target, cases, bare_lead, spread)

            policies = var / "policies"
            policies.mkdir()
            (policies / "bench_deadline.v1.yaml").write_text(POLICY, encoding="utf-8")
            database_url = f"sqlite+aiosqlite:///{var / 'sla.db'}"
            from nivaran_common.migrations import upgrade_async
            from nivaran_sla import SERVICE_ROOT

            await upgrade_async(SERVICE_ROOT, database_url)
            env = {
                **recorder.sla_worker_env(
                    temporal_address=address,
                    task_queue=f"bench-sla-{uuid.uuid4().hex[:6]}",
                    database_url=database_url,
                    policy_folder=policies,
                ),
                # The worker runs from a snapshot of the sources (see snapshot_sla_source), away from the repository.
                "NIVARAN_SLA_HOLIDAYS_FOLDER": str(devrun.ROOT / "data" / "holidays"),
                **bytecode_env(var),
                **source,
            }
            nivaran = await measure_nivaran(sup, client, env, cases, lead, spread)
        finally:
            sup.stop()
            await recorder.stop()

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"cases: {cases} open, one clock each; deadlines spread evenly over {spread:.0f} s "
        f"({cases / spread:.1f}/s), the first {bare_lead:.0f} s (a) and {lead:.0f} s (b) after the cases began to open"
    )
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    print(f"(a) bare Temporal timer + 1 activity: {report(bare)}")
    print(f"(b) Nivaran lifecycle, S13 breach:    {report(nivaran)}")
    bare_p99, nivaran_p99 = percentile(bare.lags, 0.99), percentile(nivaran.lags, 0.99)
    print(f"ratio b/a: p99 lag {nivaran_p99 / bare_p99:.2f}, peak RSS {nivaran.peak_rss / bare.peak_rss:.2f}")
    problems = [
        f"{run.label}: {what}"
        for run in (bare, nivaran)
        for what, bad in (
            ("not every deadline had its effect", len(run.lags) != cases),
            ("an effect was recorded twice", run.duplicates > 0),
            ("start-up ran into the deadlines (raise --lead)", run.ready_before_first_deadline < 0),
        )
        if bad
    ]
    if problems:
        raise SystemExit("the figures above are not valid: " + "; ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=300.0, help="seconds over which the deadlines fall")
    parser.add_argument(
        "--lead", type=float, default=0.0, help="seconds to the lifecycle's first deadline (0: 30 + cases/8)"
    )
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        asyncio.run(run_bare_worker(args.address, args.task_queue))
    else:
        asyncio.run(bench(args.cases, args.spread, args.lead))
    sys.stdout.flush()
    os._exit(0)  # temporalio clients can abort at interpreter exit (sdk-python#300)


if __name__ == "__main__":
    main()
