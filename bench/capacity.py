"""Capacity of one sla worker: N open cases asleep on it, its memory, and the lag of a burst of deadlines among them.

On one Temporal dev server (as `make run` starts it) and the real sla worker (`python -m nivaran_sla.worker`), with
the one-clock policy of bench/deadlines.py (whose helpers this script uses):

1. N − B sleepers: cases whose deadline is 30 days away, opened with at most --window cases started but not yet
   started up (assignment, acknowledgement, notices, policy load) at a time, as cases arrive over a day rather
   than all at once. It prints the opening rate and an ETA while it runs, and the worker's CPU per case start-up.
2. The worker's memory with them all open (VmRSS and VmHWM, once the worker is quiet), and the Temporal server's.
3. A burst: B more cases whose deadlines are all the same instant T, started after the sleepers, with T far enough
   ahead (--lead-burst, raised to B/8 + 30 s) that their start-up is over before T (checked).
4. The burst's lag from T to each effect (the S13 breach's RecordTransition reaching this script's stand-in for
   intake): p50 / p99 / max, how many within 5 s of T, duplicates; the CPU seconds of the worker(s), the server
   and this process from T to the last effect; and the worker's memory afterwards.

A progress line at least every 10 s; the processes' logs and report.txt (all that is printed) stay in
bench/runs/<UTC time>-capacity/. The default size takes hours (each start-up costs the worker CPU); a smoke check:
`--cases 300 --burst 50`.

    .venv/bin/python bench/capacity.py [--cases 100000] [--burst 1000] [--cache N] [--workers 1]
        [--lead-burst 60] [--window 500] [--keep-scratch]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.deadlines, bench.benchlib

from bench import benchlib, deadlines  # noqa: E402
from bench.benchlib import Opening, Window, cpu_of, elapsed, memory_mib, open_cases, wait_for  # noqa: E402
from bench.deadlines import ACKNOWLEDGED, BREACH, CACHE_SETTING, GC_FREEZE_SETTING, Stage  # noqa: E402

FAR = 30 * 86400.0  # the sleepers' deadlines: 30 days after they are opened
NEAR = 5.0  # "within 5 s of T"


class Rate:
    """Cases per second over the last minute (of the calls), and the ETA of the rest."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, int]] = deque()

    def __call__(self, done: int, total: int) -> str:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= 60:
            self.samples.popleft()
        then, before = self.samples[0]
        if now - then < 1 or done == before:
            return "rate not yet known"
        rate = (done - before) / (now - then)
        return f"{rate:.1f} cases/s over the last {now - then:.0f} s, ETA {elapsed((total - done) / rate)}"


def memory_line(pids: dict[str, int]) -> str:
    parts = []
    for name, pid in pids.items():
        hwm, rss = memory_mib(pid)
        parts.append(f"{name} VmRSS {rss:.1f} MiB, VmHWM {hwm:.1f} MiB")
    return "; ".join(parts)


async def quiet(st: Stage, pids: dict[str, int], limit: float = 120.0) -> float:
    """Wait until the workers use under 5% of a core over a second (at most `limit` s); returns the seconds waited."""
    began = time.monotonic()
    before = cpu_of(pids)
    while time.monotonic() - began < limit:
        await asyncio.sleep(1.0)
        st.sup.check_alive()
        after = cpu_of(pids)
        if sum(after.values()) - sum(before.values()) < 0.05:
            break
        before = after
    return time.monotonic() - began


async def open_sleepers(st: Stage, queue: str, count: int, window: int, workers: dict[str, int]) -> list[str]:
    """Open `count` cases due in 30 days, at most `window` of them starting up at a time; prints what it cost."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    st.tracker.watch("sleepers", ids)
    due = time.time() + FAR
    opening, rate, tracker = Opening(count), Rate(), st.tracker

    def status() -> str:
        started = tracker.count(ACKNOWLEDGED, "sleepers")
        rss = sum(memory_mib(pid)[1] for pid in workers.values())
        return (
            f"opened {opening.done}, started up {started} of {count}; {rate(started, count)}; worker RSS {rss:.0f} MiB"
        )

    st.progress.label = "sleepers"
    cpu_before = cpu_of(st.pids(workers))
    st.progress.phase("opening", status)
    await open_cases(
        st.sup,
        opening,
        lambda i: deadlines.start_lifecycle(st, queue, ids[i], i, due),
        window=window,
        started_up=lambda: tracker.count(ACKNOWLEDGED, "sleepers"),
    )
    st.progress.phase("start-up", status)
    await wait_for(st.sup, lambda: tracker.count(ACKNOWLEDGED, "sleepers") >= count, count + 3600, "the sleepers")
    took = time.monotonic() - opening.began
    st.progress.phase("waiting for the workers to be quiet", lambda: "")
    await quiet(st, workers)
    cpu = {name: after - cpu_before[name] for name, after in cpu_of(st.pids(workers)).items()}
    worker_cpu = sum(cpu[name] for name in workers)
    st.out.say(
        f"sleepers: {count} cases open (deadlines 30 days away), opened and started up in {elapsed(took)} "
        f"({count / took:.1f} cases/s); CPU per case start-up: worker(s) {worker_cpu * 1000 / count:.1f} ms, "
        f"Temporal server {cpu['temporal'] * 1000 / count:.1f} ms, this process {cpu['bench'] * 1000 / count:.1f} ms"
    )
    return ids


async def bench(out: benchlib.Out, args: argparse.Namespace) -> None:
    sleepers, burst = args.cases - args.burst, args.burst
    lead = max(args.lead_burst, burst / 8 + 30)
    out.header("bench/capacity.py: open cases asleep on the sla worker, its memory, and a burst of deadlines")
    out.say(
        f"cases: {args.cases} ({sleepers} sleepers, then a burst of {burst} due at one instant {lead:.0f} s after they "
        f"begin to open); {args.workers} worker(s); "
        f"{CACHE_SETTING}={args.cache if args.cache is not None else '(unset: the worker default)'}; "
        f"{GC_FREEZE_SETTING}={args.gc_freeze if args.gc_freeze is not None else '(unset: the worker default)'}; "
        f"opening window {args.window or 'unlimited'} cases starting up at a time"
    )
    async with deadlines.stage(out, pin=False, compact=True) as st:
        env = await deadlines.sla_env(st, args.cache, args.gc_freeze)
        children, queue = deadlines.spawn_sla_workers(st, env, args.workers, "cap")
        workers = {child.name: child.process.pid for child in children}
        tracker = st.tracker
        await open_sleepers(st, queue, sleepers, args.window, workers)
        server = memory_line({"Temporal server": st.temporal_pid})
        out.say(f"memory with {sleepers} sleepers open: {memory_line(workers)}; {server}")

        st.progress.label = "burst"
        ids = [str(uuid.uuid4()) for _ in range(burst)]
        tracker.watch("burst", ids)
        instant = time.time() + lead
        due = dict.fromkeys(ids, instant)
        window = Window(out.folder, instant, st.pids(workers), {}, "")
        opening = Opening(burst)

        def started() -> str:
            return f"started up {tracker.count(ACKNOWLEDGED, 'burst')} of {burst}; T in {instant - time.time():.0f} s"

        try:
            st.progress.phase("opening", lambda: f"{opening.status()}; {started()}")
            await open_cases(
                st.sup, opening, lambda i: deadlines.start_lifecycle(st, queue, ids[i], sleepers + i, instant)
            )
            st.progress.phase("start-up", started)
            await wait_for(st.sup, lambda: tracker.count(ACKNOWLEDGED, "burst") >= burst, lead + 1800, "the start-up")
            lags, span, cpu = await deadlines.fire(st, BREACH, "burst", due, window, lead + 1800)
        finally:
            await window.close()
        ready = instant - deadlines.startup_end(tracker, ids)
        after = memory_line(workers)
        st.progress.label = ""
        st.progress.phase("stopping", lambda: "")
    ms = sorted(lag * 1000 for lag in lags)
    near = sum(1 for lag in lags if lag <= NEAR)
    worker_cpu = sum(cpu[name] for name in workers)
    per_worker = ", ".join(f"{name} {cpu[name]:.2f} s" for name in workers)
    out.say(f"load average (1, 5, 15 min) after: {benchlib.fmt_load(os.getloadavg())}")
    out.say(
        f"burst: {burst} deadlines at one instant T, among {sleepers} sleepers; start-up over {ready:.1f} s before T"
    )
    out.say(
        f"burst lag from T: p50 {benchlib.percentile(ms, 0.5):.1f} ms  p99 {benchlib.percentile(ms, 0.99):.1f} ms  "
        f"max {ms[-1]:.1f} ms; within {NEAR:.0f} s of T: {near} of {burst}; duplicate effects "
        f"{tracker.duplicates(BREACH, 'burst')}, repeated deliveries {tracker.repeats(BREACH, 'burst')}; "
        f"sleepers that fired: {tracker.count(BREACH, 'sleepers')}"
    )
    out.say(
        f"burst CPU from T to the last effect ({span:.1f} s, {len(lags) / max(span, 1e-9):.1f} effects/s): "
        f"worker(s) {worker_cpu:.2f} s ({per_worker}), Temporal server {cpu['temporal']:.2f} s, "
        f"this process {cpu['bench']:.2f} s"
    )
    out.say(f"memory after the burst: {after}")
    for name in workers:
        pauses = deadlines.slow_collections(st.sup.log_dir / f"{name}.log")
        out.say(
            f"{name}: {len(pauses)} garbage collections of 100 ms or more over its life, "
            f"{sum(pauses) / 1000:.1f} s in all, longest {max(pauses, default=0):.0f} ms"
        )
    problems = [
        what
        for what, bad in (
            ("not every burst deadline had its effect", len(lags) != burst),
            ("an effect was recorded twice", tracker.duplicates(BREACH, "burst") > 0),
            ("a sleeper's deadline fired", tracker.count(BREACH, "sleepers") > 0),
            ("the burst's start-up ran into T (raise --lead-burst)", ready < 0),
        )
        if bad
    ]
    if problems:
        raise SystemExit("the figures above are not valid: " + "; ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="open cases in all, the burst included")
    parser.add_argument("--burst", type=int, default=1_000, help="cases whose deadlines fall at the same instant")
    parser.add_argument("--cache", type=int, help=f"{CACHE_SETTING} of the workers (default: the worker's own)")
    parser.add_argument(
        "--gc-freeze", type=float, help=f"{GC_FREEZE_SETTING} of the workers, 0 for off (default: the worker's own)"
    )
    parser.add_argument("--workers", type=int, default=1, help="sla worker processes on the task queue")
    parser.add_argument(
        "--lead-burst", type=float, default=60.0, help="seconds from the burst's first start to T (at least B/8 + 30)"
    )
    parser.add_argument(
        "--window", type=int, default=500, help="sleepers started but not yet started up, at most (0: no limit)"
    )
    parser.add_argument("--keep-scratch", action="store_true", help="keep the databases etc. in the run folder")
    args = parser.parse_args()
    if not 1 <= args.burst < args.cases or args.workers < 1:
        parser.error("need 1 <= --burst < --cases and --workers >= 1")
    benchlib.run_bench("capacity", args.keep_scratch, lambda out: bench(out, args))


if __name__ == "__main__":
    main()
