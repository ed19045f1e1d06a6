"""Helpers shared by bench/deadlines.py and bench/capacity.py: the run folder and its report, progress lines, a
process's CPU time and memory from /proc, an incremental reader of the recorded transitions, and py-spy profiles.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import devrun

    from nivaran_common.testing import LifecycleCollaborators

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "runs"
TICKS = os.sysconf("SC_CLK_TCK")
PROGRESS_EVERY = 10.0  # seconds between progress lines
START_CONCURRENCY = 32  # workflow start calls at a time


class Out:
    """A run folder, bench/runs/<UTC time>-<name>/: the processes' logs (log/), a scratch folder (scratch/, removed
    at the end unless kept), and report.txt, a copy of everything the bench prints."""

    def __init__(self, name: str) -> None:
        self.started = datetime.now(UTC)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        folder = RUNS / f"{stamp}-{name}"
        number = 1
        while folder.exists():
            number += 1
            folder = RUNS / f"{stamp}-{name}-{number}"
        folder.mkdir(parents=True)
        self.folder = folder
        self.scratch = folder / "scratch"
        self.scratch.mkdir()
        self.began = time.monotonic()
        self._file: IO[str] = (folder / "report.txt").open("a", encoding="utf-8")

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self._file.write(line + "\n")
        self._file.flush()

    def header(self, what: str) -> tuple[float, float, float]:
        """Print the run folder, the command, the date, the machine and the load average; returns the latter."""
        load = os.getloadavg()
        self.say(f"{what}; run folder {self.folder}")
        self.say(f"command: {shlex.join(sys.argv)}")
        self.say(f"date: {self.started.isoformat(timespec='seconds')} (UTC)")
        self.say(f"machine: {machine()}")
        self.say(f"load average (1, 5, 15 min) before: {fmt_load(load)}")
        return load

    def close(self, keep_scratch: bool) -> None:
        if not keep_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        self._file.close()


def fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    memory = 0.0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) / 1024 / 1024
    return (
        f"{platform.platform()}, {os.cpu_count()} cores ({model}), {memory:.1f} GiB RAM, "
        f"Python {platform.python_version()}"
    )


def kept_logs(name: str) -> Path:
    """bench/runs/<UTC time>-<name>/log/, made now and kept after the run (git ignores bench/runs/): where a bench
    that starts the suite in a scratch folder has its processes log, so that the logs outlive the scratch."""
    folder = RUNS / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{name}" / "log"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"logs of the suite's processes: {folder}", flush=True)
    return folder


def elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds} s"


class Progress:
    """A line every PROGRESS_EVERY seconds (and one at each new phase) while a bench waits: the phase, its status
    (counts, rates, lag so far) and the time since the bench and the phase began."""

    def __init__(self, out: Out) -> None:
        self.out = out
        self.label = ""
        self.name = "starting"
        self.status: Callable[[], str] = lambda: ""
        self.phase_began = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def phase(self, name: str, status: Callable[[], str]) -> None:
        self.name, self.status, self.phase_began = name, status, time.monotonic()
        self.out.say(self.line())

    def line(self) -> str:
        try:
            status = self.status()
        except Exception as exc:  # a progress line must never stop the bench
            status = f"(status unavailable: {exc!r})"
        now = time.monotonic()
        return (
            f"  [{elapsed(now - self.out.began):>7}] {f'{self.label} ' if self.label else ''}{self.name} "
            f"({elapsed(now - self.phase_began)}): {status}"
        )

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            self.out.say(self.line())

    async def __aenter__(self) -> Progress:
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def lag_summary(lags: list[float]) -> str:
    if not lags:
        return "no lag yet"
    ms = [lag * 1000 for lag in lags]
    return f"lag so far p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms"


# --- processes ------------------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a live process, in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmHWM", "VmRSS"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


def pin_prefix(pin: bool, core: int) -> list[str]:
    """`taskset -c <core>` in front of a command when pinning was asked for (checked by can_pin)."""
    return ["taskset", "-c", str(core)] if pin else []


def can_pin() -> str | None:
    """Why processes cannot be pinned to cores 0 and 1 here, or None when they can."""
    if shutil.which("taskset") is None:
        return "taskset is not on PATH"
    if not {0, 1} <= os.sched_getaffinity(0):
        return "cores 0 and 1 are not both available to this process"
    return None


# --- waiting, opening cases, the firing window -----------------------------------------------------------------


async def wait_for(sup: devrun.Supervisor, check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        sup.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}; the figures are not valid")
        await asyncio.sleep(0.2)


@dataclass
class Opening:
    """Cases whose start call has returned, of `total`, and how fast."""

    total: int
    done: int = 0
    began: float = field(default_factory=time.monotonic)

    def status(self) -> str:
        rate = self.done / max(time.monotonic() - self.began, 1e-9)
        return f"opened {self.done} of {self.total} ({rate:.1f}/s)"


async def open_cases(
    sup: devrun.Supervisor,
    opening: Opening,
    start_one: Callable[[int], Awaitable[None]],
    *,
    window: int = 0,
    started_up: Callable[[], int] = lambda: 0,
) -> float:
    """Start cases 0 .. opening.total-1, START_CONCURRENCY calls at a time; with `window`, only while fewer than
    `window` started cases have not yet `started_up()`. Returns the seconds it took."""
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await start_one(i)
        opening.done += 1

    pending: set[asyncio.Task[None]] = set()
    for i in range(opening.total):
        while window and i - started_up() >= window:
            sup.check_alive()
            for task in [task for task in pending if task.done()]:
                pending.discard(task)
                task.result()
            await asyncio.sleep(0.1)
        pending.add(asyncio.create_task(one(i)))
        if i % 1000 == 999:
            await asyncio.sleep(0)  # let the progress line through
    await asyncio.gather(*pending)
    return time.monotonic() - opening.began


class Window:
    """The CPU time of `pids` from the instant `start` (epoch seconds) to stop(), and py-spy profiles of `profile`
    (name -> pid) over the same time, written into the run folder."""

    def __init__(self, folder: Path, start: float, pids: dict[str, int], profile: dict[str, int], py_spy: str) -> None:
        self.folder, self.start, self.pids, self.profile, self.py_spy = folder, start, pids, profile, py_spy
        self.before: dict[str, float] = {}
        self.profiles: list[Profile] = []
        self.task = asyncio.create_task(self._begin())

    async def _begin(self) -> None:
        await asyncio.sleep(max(0.0, self.start - time.time()))
        self.before = cpu_of(self.pids)
        folder = self.folder
        self.profiles = [
            Profile(self.py_spy, pid, folder / f"profile-{name}.txt", folder / "log" / f"py-spy-{name}.log")
            for name, pid in self.profile.items()
        ]

    async def stop(self) -> dict[str, float]:
        """CPU seconds per process since `start`; stops the profiles."""
        await self.task
        after = cpu_of(self.pids)
        await self.close()
        return {name: after[name] - self.before[name] for name in after}

    async def close(self) -> None:
        self.task.cancel()
        for profile in self.profiles:
            await asyncio.to_thread(profile.stop)
        self.profiles = []


def run_bench(name: str, keep_scratch: bool, body: Callable[[Out], Coroutine[Any, Any, None]]) -> NoReturn:
    """Run a bench in a new run folder, then exit; a failure is printed and written to report.txt too."""
    out = Out(name)
    code = 0
    try:
        asyncio.run(body(out))
    except SystemExit as exc:
        out.say(f"FAILED: {exc}")
        code = 1
    except Exception:
        out.say(f"FAILED:\n{traceback.format_exc()}")
        code = 1
    except KeyboardInterrupt:
        out.say("interrupted")
        code = 130
    finally:
        out.say(f"logs and report.txt kept in {out.folder}")
        out.close(keep_scratch)
    sys.stdout.flush()
    os._exit(code)  # temporalio clients can abort at interpreter exit (sdk-python#300)


# --- the recorded transitions ---------------------------------------------------------------------------------------


class Transitions:
    """Reads LifecycleCollaborators.transitions as they arrive: per event type, each case's first arrival, and how
    many more arrived for a case that already had one. A later arrival with a new idempotency key is a duplicate
    effect (a second record); one with a key already seen is a repeated delivery, which an idempotent receiver
    (intake keys its timeline by it) keeps once. Cases are counted per group (registered with watch() before they
    are started), so a count costs nothing however many cases there are.

    With `compact`, the recorder's lists are emptied after each read (with 100,000 cases they would hold every
    request); then read every transition through this object only."""

    def __init__(self, recorder: LifecycleCollaborators, *, compact: bool = False) -> None:
        self.recorder = recorder
        self.compact = compact
        self._read = 0
        self.first: dict[str, dict[str, float]] = defaultdict(dict)
        self.extra: dict[str, Counter[str]] = defaultdict(Counter)
        self.repeated: dict[str, Counter[str]] = defaultdict(Counter)
        self.keys: dict[str, dict[str, set[str]]] = defaultdict(dict)
        self.group_of: dict[str, str] = {}
        self.counts: Counter[tuple[str, str]] = Counter()
        self.order: dict[tuple[str, str], list[str]] = defaultdict(list)

    def watch(self, group: str, ids: Iterable[str]) -> None:
        for gid in ids:
            self.group_of[gid] = group

    def update(self) -> None:
        calls = self.recorder.transitions
        for call in calls[self._read :]:
            seen = self.first[call.kind]
            keys = self.keys[call.kind].setdefault(call.grievance_id, set())
            if call.grievance_id in seen:
                (self.repeated if call.key in keys else self.extra)[call.kind][call.grievance_id] += 1
                keys.add(call.key)
                continue
            keys.add(call.key)
            seen[call.grievance_id] = call.arrived_at
            group = self.group_of.get(call.grievance_id)
            if group is not None:
                self.counts[(call.kind, group)] += 1
                self.order[(call.kind, group)].append(call.grievance_id)
        if self.compact:
            calls.clear()
            self.recorder.notices.clear()
            self._read = 0
        else:
            self._read = len(calls)

    def count(self, kind: str, group: str) -> int:
        self.update()
        return self.counts[(kind, group)]

    def lags(self, kind: str, group: str, deadlines: dict[str, float]) -> list[float]:
        """Each arrived case's first arrival minus its deadline, in arrival order."""
        self.update()
        first = self.first[kind]
        return [first[gid] - deadlines[gid] for gid in self.order[(kind, group)]]

    def arrivals(self, kind: str, group: str) -> list[float]:
        self.update()
        first = self.first[kind]
        return [first[gid] for gid in self.order[(kind, group)]]

    def duplicates(self, kind: str, group: str) -> int:
        """Second effects: arrivals for a case that had one, under a key not seen before."""
        self.update()
        return sum(n for gid, n in self.extra[kind].items() if self.group_of.get(gid) == group)

    def repeats(self, kind: str, group: str) -> int:
        """Repeated deliveries of one effect (its key seen before): a local activity run again after its
        workflow task was lost; the receiver keeps one."""
        self.update()
        return sum(n for gid, n in self.repeated[kind].items() if self.group_of.get(gid) == group)


# --- py-spy ---------------------------------------------------------------------------------------------------------


def find_py_spy() -> str:
    """py-spy on PATH or beside this Python (the venv's bin); exits with a clear message when there is none."""
    found = shutil.which("py-spy")
    for candidate in (Path(sys.executable).parent / "py-spy", BENCH.parent / ".venv" / "bin" / "py-spy"):
        if found is None and candidate.exists():
            found = str(candidate)
    if found is None:
        raise SystemExit(
            "--profile needs py-spy, found neither on PATH nor in .venv/bin; install it into the venv, e.g. "
            "`var/tools/bin/uv pip install --python .venv/bin/python py-spy`"
        )
    return found


class Profile:
    """`py-spy record` (raw/collapsed format, 100 Hz, not pausing the process) of one process until stop()."""

    def __init__(self, exe: str, pid: int, output: Path, log: Path) -> None:
        self.output = output
        argv = [exe, "record", "--rate", "100", "--format", "raw", "--nonblocking", "--subprocesses"]
        argv += ["--full-filenames", "-o", str(output), "--pid", str(pid)]
        with log.open("ab") as handle:
            self.process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        """Stop sampling (SIGINT, as Ctrl-C) and let py-spy write its file."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def read_collapsed(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) format: one line per distinct stack, `frame;frame;...;leaf count`."""
    stacks: list[tuple[list[str], int]] = []
    if not path.exists():
        return stacks
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::\d+)?\)$")


def short_path(file: str) -> str:
    for marker in ("site-packages/", "/scratch/src/", "/src/"):
        if marker in file:
            return file.rsplit(marker, 1)[1]
    return re.sub(r"^.*/python3\.\d+/", "", file)


def function_of(frame: str) -> tuple[str, str]:
    """(function, file) of a frame such as `run (/x/nivaran_sla/workflows.py:120)`; the line is dropped."""
    match = FRAME.match(frame)
    if match is None:
        return frame, ""
    return match["function"], match["file"]


def top_frames(stacks: list[tuple[list[str], int]], limit: int = 25) -> tuple[int, list[str], list[str]]:
    """(samples, top `limit` functions by self time, top `limit` nivaran_/temporalio functions by inclusive time)."""
    total = sum(count for _, count in stacks)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        function, file = function_of(frames[-1])
        if file:
            own[f"{function} ({short_path(file)})"] += count
        else:  # with --subprocesses the root frame names the process; alone, the thread had no Python frame
            own["(no Python frame: native code)" if frames[-1].startswith("process ") else function] += count
        mine = set()
        for frame in frames:
            function, file = function_of(frame)
            if "nivaran_" in file or "temporalio" in file:
                mine.add(f"{function} ({short_path(file)})")
        for key in mine:
            inclusive[key] += count

    def lines(counter: Counter[str]) -> list[str]:
        return [f"{100 * n / max(total, 1):6.1f}% {n:7d}  {key}" for key, n in counter.most_common(limit)]

    return total, lines(own), lines(inclusive)


def profile_summary(folder: Path, names: list[str]) -> list[str]:
    """Report lines for the profiles folder/profile-<name>.txt taken together (see Window)."""
    stacks = [stack for name in names for stack in read_collapsed(folder / f"profile-{name}.txt")]
    samples, own, inclusive = top_frames(stacks)
    return [
        f"    py-spy over the firing window ({', '.join(f'profile-{name}.txt' for name in names)}; {samples} samples "
        "at 100 Hz, workers together; py-spy counts some waits as active, e.g. selectors' select and the thread "
        "pool's _worker):",
        "    top 25 functions by self time:",
        *(f"      {line}" for line in own),
        "    top 25 nivaran_* / temporalio functions by inclusive time:",
        *(f"      {line}" for line in inclusive),
    ]


class SuiteProfiles:
    """py-spy on the named processes of a suite started by devrun, from start() to stop(); the raw profiles go to
    bench/runs/<time>-<bench>/profile-<name>.txt."""

    def __init__(self, sup: devrun.Supervisor, names: list[str], bench: str) -> None:
        pids = {child.name: child.process.pid for child in sup.children}
        unknown = [name for name in names if name not in pids]
        if unknown:
            raise SystemExit(f"--profile: no process {', '.join(unknown)} in the suite; there are {', '.join(pids)}")
        self.pids = {name: pids[name] for name in names}
        self.exe = find_py_spy() if names else ""
        self.out = Out(bench) if names else None
        self.running: list[Profile] = []

    def start(self) -> None:
        assert self.out is not None
        for name, pid in self.pids.items():
            output = self.out.folder / f"profile-{name}.txt"
            self.running.append(Profile(self.exe, pid, output, self.out.folder / "py-spy.log"))

    def stop(self, window: str) -> list[str]:
        """Stop sampling; the report lines of each process's profile over `window` (what ran meanwhile)."""
        if self.out is None:
            return []
        for running in self.running:
            running.stop()
        lines: list[str] = []
        for name in self.pids:
            summary = profile_summary(self.out.folder, [name])
            summary[0] = summary[0].replace("the firing window", f"{window}, {name}")
            lines += summary
        self.out.close(keep_scratch=False)
        return lines
