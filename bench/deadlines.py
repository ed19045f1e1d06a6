"""Deadline lag, worker CPU and memory: N open cases, each with one running clock, on one Temporal dev server.

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

It prints p50 / p99 / max lag for both, effects/s (effects over the time from the first deadline to the last
effect), the CPU per effect of the worker(s), of the Temporal server and of this process (the collaborators)
over that window (utime + stime from /proc), each worker's peak RSS (VmHWM) with N cases open, and the ratios
b/a. Intake, notify and routing are stood in for by one in-process gRPC server (nivaran_common.testing
.LifecycleCollaborators), so the figure is the engine's, not theirs. A progress line at least every 10 s; the
processes' logs and report.txt (all that is printed) stay in bench/runs/<UTC time>-deadlines/.

    .venv/bin/python bench/deadlines.py [--cases 10000] [--spread 300] [--lead 0 (auto)] [--cache N]
        [--workers 1 | --compare-workers] [--skip-bare] [--profile] [--pin] [--keep-scratch]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.benchlib

import devrun  # noqa: E402
from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from bench import benchlib  # noqa: E402
from bench.benchlib import (  # noqa: E402
    Opening,
    Window,
    lag_summary,
    memory_mib,
    open_cases,
    percentile,
    pin_prefix,
    wait_for,
)
from nivaran.common.v1 import common_pb2  # noqa: E402
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc  # noqa: E402
from nivaran.sla.v1 import sla_pb2  # noqa: E402
from nivaran_common import pki  # noqa: E402
from nivaran_common.grpc_client import open_channel  # noqa: E402
from nivaran_common.payload_codec import KEYS_SETTING, generate_codec_key, load_codec  # noqa: E402
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, connect_temporal, lifecycle_workflow_id  # noqa: E402
from nivaran_common.testing import LifecycleCollaborators, free_port  # noqa: E402
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
ACKNOWLEDGED, DEADLINE_SET, BREACH = "acknowledgement_sent", "deadline_set", "breach_recorded"
CACHE_SETTING = "NIVARAN_SLA_WORKER_MAX_CACHED_WORKFLOWS"
GC_FREEZE_SETTING = "NIVARAN_SLA_WORKER_GC_FREEZE_SECONDS"


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


# --- the stage: the Temporal dev server, the collaborators, the sla workers -----------------------------------------


@dataclass
class Stage:
    out: benchlib.Out
    sup: devrun.Supervisor
    recorder: LifecycleCollaborators
    tracker: benchlib.Transitions
    progress: benchlib.Progress
    client: Client
    address: str
    target: str
    temporal_pid: int
    pin: bool
    source: dict[str, str]  # PYTHONPATH of the snapshot of nivaran_sla

    def pids(self, workers: dict[str, int]) -> dict[str, int]:
        """The processes whose CPU a measurement reads: the workers, the Temporal server, this process."""
        return {**workers, "temporal": self.temporal_pid, "bench": os.getpid()}


@asynccontextmanager
async def stage(out: benchlib.Out, *, pin: bool, compact: bool = False) -> AsyncIterator[Stage]:
    """The Temporal dev server (as `make run` starts it; on core 0 with `pin`) and the collaborators, in `out`."""
    # The bench's own payload-codec key, inherited by every process it starts (instead of var/temporal-codec.key).
    os.environ.setdefault(KEYS_SETTING, generate_codec_key("bench"))
    var = out.scratch
    source = snapshot_sla_source(var)
    ports = devrun.Ports(temporal=free_port(), temporal_ui=free_port(), sla_worker_metrics=0)
    sup = devrun.Supervisor(ports, log_dir=out.folder / "log")
    pki.init(var / "pki")
    recorder = LifecycleCollaborators(var / "pki")
    try:
        async with benchlib.Progress(out) as progress:
            progress.phase("starting the Temporal dev server", lambda: "")
            temporal = sup.spawn("temporal", [*pin_prefix(pin, 0), *devrun.temporal_argv(ports, var)])
            await devrun.wait_tcp(sup, ports.temporal, "temporal")
            target = await recorder.start()
            address = f"127.0.0.1:{ports.temporal}"
            client = await connect_temporal(address, payload_codec=load_codec())
            tracker = benchlib.Transitions(recorder, compact=compact)
            pid = temporal.process.pid
            yield Stage(out, sup, recorder, tracker, progress, client, address, target, pid, pin, source)
    finally:
        sup.stop()
        await recorder.stop()


async def sla_env(st: Stage, cache: int | None, gc_freeze: float | None = None) -> dict[str, str]:
    """The sla workers' environment: the bench policy, a migrated SQLite database, the snapshot of the sources."""
    var = st.out.scratch
    policies = var / "policies"
    policies.mkdir()
    (policies / "bench_deadline.v1.yaml").write_text(POLICY, encoding="utf-8")
    database_url = f"sqlite+aiosqlite:///{var / 'sla.db'}"
    from nivaran_common.migrations import upgrade_async
    from nivaran_sla import SERVICE_ROOT

    await upgrade_async(SERVICE_ROOT, database_url)
    env = {
        **st.recorder.sla_worker_env(
            temporal_address=st.address, task_queue="unset", database_url=database_url, policy_folder=policies
        ),
        # The worker runs from a snapshot of the sources (see snapshot_sla_source), away from the repository.
        "NIVARAN_SLA_HOLIDAYS_FOLDER": str(devrun.ROOT / "data" / "holidays"),
        **bytecode_env(var),
        **st.source,
    }
    if cache is not None:
        env[CACHE_SETTING] = str(cache)
    if gc_freeze is not None:
        env[GC_FREEZE_SETTING] = str(gc_freeze)
    return env


def slow_collections(log_file: Path) -> list[float]:
    """The pauses (ms) of the worker's logged slow garbage collections (nivaran_common.gc_pauses), in order."""
    pauses = []
    for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
        if "slow garbage collection" not in line:
            continue
        try:
            pauses.append(float(json.loads(line)["pause_ms"]))
        except (ValueError, KeyError, TypeError):
            continue
    return pauses


def spawn_sla_workers(st: Stage, env: dict[str, str], count: int, tag: str) -> tuple[list[devrun.Child], str]:
    """`count` sla worker processes (on core 1 with --pin) sharing a new task queue (returned); logs in
    log/<tag>-sla-worker-<k>.log."""
    queue = f"bench-sla-{tag}-{uuid.uuid4().hex[:6]}"
    argv = [*pin_prefix(st.pin, 1), sys.executable, "-m", "nivaran_sla.worker"]
    env = {**env, "NIVARAN_SLA_TASK_QUEUE": queue}
    return [st.sup.spawn(f"{tag}-sla-worker-{k}", argv, env) for k in range(1, count + 1)], queue


async def stop_children(st: Stage, children: list[devrun.Child]) -> None:
    for child in children:
        child.process.send_signal(signal.SIGTERM)
    for child in children:
        await asyncio.to_thread(child.process.wait, 30)
        st.sup.children.remove(child)


def lifecycle_input(gid: str, number: int, deadline: float) -> sla_pb2.LifecycleInput:
    """A case on the bench track whose one clock runs out at `deadline` (epoch seconds)."""
    return sla_pb2.LifecycleInput(
        grievance_id=gid,
        registration_number=f"BENCH/{number:06d}",
        track="bench_deadline",
        language="hi",
        location=common_pb2.Location(state_code="BR", district_code="PAT"),
        department_code="FOOD",
        office_id="office-bench",
        position_id=f"pos-bench-{number % 50}",
        filed_at=to_timestamp(datetime.fromtimestamp(deadline, UTC) - CLOCK),
        complainant_name="सीता देवी",
        office_level="district",
    )


async def start_lifecycle(st: Stage, queue: str, gid: str, number: int, deadline: float) -> None:
    await st.client.start_workflow(
        LIFECYCLE_WORKFLOW,
        lifecycle_input(gid, number, deadline),
        id=lifecycle_workflow_id(gid),
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


# --- the measurement -------------------------------------------------------------------------------------------------


async def fire(
    st: Stage, kind: str, group: str, deadlines: dict[str, float], window: Window, timeout: float
) -> tuple[list[float], float, dict[str, float]]:
    """Wait for the first deadline, then for every case's effect; (lags, first deadline to last effect, CPU)."""
    first, n, tracker = min(deadlines.values()), len(deadlines), st.tracker
    if time.time() < first:
        st.progress.phase("waiting for the first deadline", lambda: f"first deadline in {first - time.time():.0f} s")
        await wait_for(st.sup, lambda: time.time() >= first, timeout, "the first deadline")

    def fired() -> str:
        return f"fired {tracker.count(kind, group)} of {n}; {lag_summary(tracker.lags(kind, group, deadlines))}"

    st.progress.phase("firing", fired)
    await wait_for(st.sup, lambda: tracker.count(kind, group) >= n, timeout, f"{group}'s deadlines")
    cpu = await window.stop()
    st.progress.phase("all effects recorded", fired)
    return tracker.lags(kind, group, deadlines), max(tracker.arrivals(kind, group)) - first, cpu


@dataclass
class Run:
    tag: str  # a, b, b1, b2
    label: str
    lags: list[float]
    duplicates: int
    repeats: int  # repeated deliveries of one effect (same key)
    opened_seconds: float
    ready_margin: float  # seconds from the end of the start-up to the first deadline
    memory: dict[str, tuple[float, float]]  # worker -> (VmHWM, VmRSS) in MiB with the cases open
    cpu: dict[str, float]  # process -> CPU seconds from the first deadline to the last effect
    window: float  # seconds from the first deadline to the last effect
    workers: list[str]
    profile: list[str] = field(default_factory=list)
    gc_pauses: dict[str, list[float]] = field(default_factory=dict)  # worker -> slow collections (ms), whole life

    def ms_per_effect(self, *names: str) -> float:
        return sum(self.cpu[name] for name in names) * 1000 / max(len(self.lags), 1)

    @property
    def worker_ms(self) -> float:
        return self.ms_per_effect(*self.workers)

    @property
    def effects_per_second(self) -> float:
        return len(self.lags) / max(self.window, 1e-9)

    @property
    def peak_rss(self) -> float:
        return sum(hwm for hwm, _ in self.memory.values())


def startup_end(tracker: benchlib.Transitions, ids: list[str]) -> float:
    """When the last of these cases had finished its start-up: its acknowledgement, or the deadline_set event that
    follows it (when the code records one before the case's breach)."""
    acknowledged, deadline_set, breach = (tracker.first[kind] for kind in (ACKNOWLEDGED, DEADLINE_SET, BREACH))
    end = 0.0
    for gid in ids:
        done = acknowledged[gid]
        if gid in deadline_set and deadline_set[gid] < breach.get(gid, float("inf")):
            done = max(done, deadline_set[gid])
        end = max(end, done)
    return end


def deadline_plan(cases: int, lead: float, spread: float) -> tuple[list[str], dict[str, float]]:
    """Each case's id and deadline (epoch seconds): evenly spread over `spread` seconds, starting `lead` from now."""
    first = time.time() + lead
    ids = [str(uuid.uuid4()) for _ in range(cases)]
    return ids, {gid: first + spread * i / cases for i, gid in enumerate(ids)}


async def measure_bare(st: Stage, cases: int, lead: float, spread: float) -> Run:
    st.progress.label = "(a)"
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    env = {"BENCH_TARGET": st.target, "BENCH_PKI": str(st.out.scratch / "pki"), **bytecode_env(st.out.scratch)}
    argv = [sys.executable, str(Path(__file__).resolve()), "--bare-worker", "--address", st.address]
    worker = st.sup.spawn("a-bare-worker", [*pin_prefix(st.pin, 1), *argv, "--task-queue", queue], env)
    ids, deadlines = deadline_plan(cases, lead, spread)
    st.tracker.watch("a", ids)
    window = Window(st.out.folder, min(deadlines.values()), st.pids({"bare-worker": worker.process.pid}), {}, "")

    async def start_one(i: int) -> None:
        gid = ids[i]
        await st.client.start_workflow(
            BareClock.run,
            BareClockInput(gid, datetime.fromtimestamp(deadlines[gid], UTC)),
            id=f"bench-bare-{gid}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    try:
        opening = Opening(cases)
        st.progress.phase("opening", opening.status)
        opened = await open_cases(st.sup, opening, start_one)
        ready_margin = min(deadlines.values()) - time.time()
        lags, span, cpu = await fire(st, "deadline_reached", "a", deadlines, window, lead + spread + 600)
    finally:
        await window.close()
    memory = {"bare-worker": memory_mib(worker.process.pid)}
    await stop_children(st, [worker])
    duplicates, repeats = st.tracker.duplicates("deadline_reached", "a"), st.tracker.repeats("deadline_reached", "a")
    label = "(a) bare Temporal timer + 1 activity"
    return Run("a", label, lags, duplicates, repeats, opened, ready_margin, memory, cpu, span, ["bare-worker"])


async def measure_nivaran(
    st: Stage, env: dict[str, str], cases: int, lead: float, spread: float, workers: int, tag: str, py_spy: str
) -> Run:
    st.progress.label = f"({tag})"
    children, queue = spawn_sla_workers(st, env, workers, tag)
    pids = {child.name: child.process.pid for child in children}
    ids, deadlines = deadline_plan(cases, lead, spread)
    first, tracker = min(deadlines.values()), st.tracker
    tracker.watch(tag, ids)
    window = Window(st.out.folder, first, st.pids(pids), pids if py_spy else {}, py_spy)

    def started_up() -> str:
        return (
            f"started up {tracker.count(ACKNOWLEDGED, tag)} of {cases}; first deadline in {first - time.time():.0f} s"
        )

    try:
        opening = Opening(cases)
        st.progress.phase("opening", lambda: f"{opening.status()}; {started_up()}")
        opened = await open_cases(st.sup, opening, lambda i: start_lifecycle(st, queue, ids[i], i, deadlines[ids[i]]))
        st.progress.phase("start-up", started_up)
        await wait_for(st.sup, lambda: tracker.count(ACKNOWLEDGED, tag) >= cases, lead + spread + 1800, "the start-up")
        lags, span, cpu = await fire(st, BREACH, tag, deadlines, window, lead + spread + 1800)
    finally:
        await window.close()
    ready_margin = first - startup_end(tracker, ids)
    memory = {child.name: memory_mib(child.process.pid) for child in children}
    await stop_children(st, children)
    label = f"({tag}) Nivaran lifecycle, S13 breach, {workers} worker{'s' if workers > 1 else ''}"
    duplicates, repeats = tracker.duplicates(BREACH, tag), tracker.repeats(BREACH, tag)
    run = Run(tag, label, lags, duplicates, repeats, opened, ready_margin, memory, cpu, span, list(pids))
    run.gc_pauses = {name: slow_collections(st.sup.log_dir / f"{name}.log") for name in pids}
    if py_spy:
        run.profile = benchlib.profile_summary(st.out.folder, list(pids))
    return run


def report(run: Run) -> list[str]:
    ms = [lag * 1000 for lag in run.lags]
    workers = ", ".join(f"{name} {run.ms_per_effect(name):.1f}" for name in run.workers)
    memory = "; ".join(f"{name} peak {hwm:.1f} MiB, RSS {rss:.1f} MiB" for name, (hwm, rss) in run.memory.items())
    return [
        f"{run.label}: lag p50 {percentile(ms, 0.5):.1f} ms  p99 {percentile(ms, 0.99):.1f} ms  max {max(ms):.1f} ms  "
        f"(n={len(ms)}, duplicate effects {run.duplicates}, repeated deliveries {run.repeats}); "
        f"{len(ms)} opened in {run.opened_seconds:.1f} s, "
        f"ready {run.ready_margin:.1f} s before the first deadline",
        f"    firing: {len(ms)} effects in {run.window:.1f} s from the first deadline to the last effect, "
        f"{run.effects_per_second:.1f} effects/s",
        f"    CPU per effect over that time: worker(s) {run.worker_ms:.1f} ms ({workers}), Temporal server "
        f"{run.ms_per_effect('temporal'):.1f} ms, this process (collaborators) {run.ms_per_effect('bench'):.1f} ms",
        f"    memory with the cases open: {memory}",
        *(
            f"    {name}: {len(pauses)} garbage collections of 100 ms or more over its life, "
            f"{sum(pauses) / 1000:.1f} s in all, longest {max(pauses, default=0):.0f} ms"
            for name, pauses in run.gc_pauses.items()
        ),
        *run.profile,
    ]


async def bench(out: benchlib.Out, args: argparse.Namespace, py_spy: str) -> None:
    cases, spread = args.cases, args.spread
    # The baseline's cases only need to be opened (about 85 starts/s here); the lifecycle's also run their start-up,
    # about 10 cases/s on this machine, so its auto lead is longer.
    bare_lead = 30 + cases / 60
    lead = args.lead or 30 + cases / 8
    plan = [1, 2] if args.compare_workers else [args.workers]
    out.header("bench/deadlines.py: deadline lag, worker CPU and memory")
    leads = f"{lead:.0f} s (b)" if args.skip_bare else f"{bare_lead:.0f} s (a) and {lead:.0f} s (b)"
    out.say(
        f"cases: {cases} open per run, one clock each; deadlines spread evenly over {spread:.0f} s "
        f"({cases / spread:.1f}/s), the first {leads} after the cases began to open"
    )
    out.say(
        f"(b): {' then '.join(f'{n} worker(s)' for n in plan)} on one task queue each; "
        f"{CACHE_SETTING}={args.cache if args.cache is not None else '(unset: the worker default)'}; "
        f"{GC_FREEZE_SETTING}={args.gc_freeze if args.gc_freeze is not None else '(unset: the worker default)'}; "
        f"{'server on core 0 and workers on core 1 (taskset)' if args.pin else 'not pinned'}; "
        f"{'py-spy on the workers while (b) fires' if py_spy else 'no profile'}"
    )
    runs: list[Run] = []
    async with stage(out, pin=args.pin) as st:
        bare = None if args.skip_bare else await measure_bare(st, cases, bare_lead, spread)
        env = await sla_env(st, args.cache, args.gc_freeze)
        for number, workers in enumerate(plan, 1):
            tag = f"b{number}" if len(plan) > 1 else "b"
            runs.append(await measure_nivaran(st, env, cases, lead, spread, workers, tag, py_spy))
        st.progress.label = ""
        st.progress.phase("stopping", lambda: "")
    out.say(f"load average (1, 5, 15 min) after: {benchlib.fmt_load(os.getloadavg())}")
    for run in [bare, *runs] if bare else runs:
        for line in report(run):
            out.say(line)
    for run in runs:
        if bare is None:
            out.say(f"ratio {run.tag}/a: not measured, (a) was skipped (--skip-bare)")
            continue
        out.say(
            f"ratio {run.tag}/a: p99 lag {percentile(run.lags, 0.99) / percentile(bare.lags, 0.99):.2f}, "
            f"peak RSS {run.peak_rss / bare.peak_rss:.2f} (workers summed), worker CPU per effect "
            f"{run.worker_ms / bare.worker_ms:.2f}, Temporal server CPU per effect "
            f"{run.ms_per_effect('temporal') / bare.ms_per_effect('temporal'):.2f}"
        )
    if len(runs) == 2:
        one, two = runs
        out.say(
            f"second worker: {one.effects_per_second:.1f} effects/s with one, {two.effects_per_second:.1f} with two: "
            f"ratio two/one {two.effects_per_second / one.effects_per_second:.2f} (p99 lag "
            f"{percentile(one.lags, 0.99) * 1000:.0f} ms vs {percentile(two.lags, 0.99) * 1000:.0f} ms)"
        )
    problems = [
        f"({run.tag}) {what}"
        for run in ([bare] if bare else []) + runs
        for what, bad in (
            ("not every deadline had its effect", len(run.lags) != cases),
            ("an effect was recorded twice", run.duplicates > 0),
            ("start-up ran into the deadlines (raise --lead)", run.ready_margin < 0),
        )
        if bad
    ]
    if py_spy:
        out.say("note: py-spy sampled the workers during (b), on the same cores; its cost is in (b)'s figures")
    if problems:
        raise SystemExit("the figures above are not valid: " + "; ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=300.0, help="seconds over which the deadlines fall")
    parser.add_argument(
        "--lead", type=float, default=0.0, help="seconds to the lifecycle's first deadline (0: 30 + cases/8)"
    )
    parser.add_argument("--cache", type=int, help=f"{CACHE_SETTING} of (b)'s workers (default: the worker's own)")
    parser.add_argument(
        "--gc-freeze", type=float, help=f"{GC_FREEZE_SETTING} of (b)'s workers, 0 for off (default: the worker's own)"
    )
    parser.add_argument("--workers", type=int, default=1, help="sla worker processes on (b)'s task queue")
    parser.add_argument(
        "--compare-workers", action="store_true", help="run (b) twice, with 1 and then 2 workers (new cases each)"
    )
    parser.add_argument("--skip-bare", action="store_true", help="skip (a); then no ratio b/a")
    parser.add_argument("--profile", action="store_true", help="py-spy the workers during (b)'s firing window")
    parser.add_argument("--pin", action="store_true", help="Temporal server on core 0, workers on core 1 (taskset)")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the databases etc. in the run folder")
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        asyncio.run(run_bare_worker(args.address, args.task_queue))
        os._exit(0)
    if args.compare_workers and args.workers != 1:
        parser.error("--compare-workers runs 1 and then 2 workers; leave --workers out")
    if args.workers < 1 or args.cases < 1:
        parser.error("--workers and --cases must be at least 1")
    if args.pin and (why := benchlib.can_pin()):
        parser.error(f"--pin: {why}")
    py_spy = benchlib.find_py_spy() if args.profile else ""
    benchlib.run_bench("deadlines", args.keep_scratch, lambda out: bench(out, args, py_spy))


if __name__ == "__main__":
    main()
