"""The process supervisor of `make run` (scripts/devrun.py): children with their logs in <log_dir>/<name>.log,
stopped in reverse order, and, once the suite is up, a crashed child restarted with exponential backoff.

While the suite boots, any exit is fatal: check_alive() raises with the last lines of the child's log, so that a
broken configuration fails at once. Under watch() a child that exits is started again with the same argv and
environment after 1 s, 2 s, 4 s … (capped at 30 s; back to 1 s once it has stayed up for a minute), and said so on
stdout; one that crashes more than five times in five minutes is given up on, and the rest of the suite keeps
running. The cross-service tests and the benches never call watch(): for them a crash is a failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Waits until a child serves (health SERVING, a port open …); raises when it does not in time.
Probe = Callable[[], Awaitable[None]]


def say_now(line: str) -> None:
    """Print a supervisor line at once (stdout is a pipe or a file under tests, so it is block-buffered)."""
    print(line, flush=True)


@dataclass(frozen=True)
class RestartPolicy:
    """When a crashed child is started again, and when it is given up on (seconds throughout)."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0  # up this long, its next crash counts as a first one again
    max_restarts: int = 5  # more crashes than this within `window`: given up on
    window: float = 300.0
    poll: float = 0.5  # how often watch() looks at the children

    def delay(self, attempt: int) -> float:
        """The wait before the `attempt`-th restart in a row (0-based): doubling from first_delay, capped."""
        return float(min(self.first_delay * 2**attempt, self.max_delay))


@dataclass
class CrashHistory:
    """One child's crashes under a RestartPolicy; times are time.monotonic()."""

    policy: RestartPolicy
    started: float
    in_a_row: int = 0
    crashes: list[float] = field(default_factory=list)

    def next_delay(self, now: float) -> float | None:
        """How long to wait before restarting after a crash at `now`; None when the child is given up on."""
        if now - self.started >= self.policy.stable_after:
            self.in_a_row = 0
        self.crashes = [*(t for t in self.crashes if now - t < self.policy.window), now]
        if len(self.crashes) > self.policy.max_restarts:
            return None
        delay = self.policy.delay(self.in_a_row)
        self.in_a_row += 1
        return delay


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # the whole environment it was started with
    ready: Probe | None = None
    note: str = ""  # what a restart means for this process, said with the restart
    history: CrashHistory | None = None
    recovery: asyncio.Task[None] | None = None  # the pending restart: backoff, start, readiness
    given_up: bool = False

    async def wait_ready(self) -> None:
        """Return once the child serves, by its probe (at once for a child without one)."""
        if self.ready is not None:
            await self.ready()


def describe_exit(code: int) -> str:
    """`exited with code 3`, or `was killed by SIGKILL` for a negative Popen return code."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass(kw_only=True)
class ProcessSupervisor:
    log_dir: Path
    cwd: Path = ROOT
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    say: Callable[[str], None] = say_now
    children: list[Child] = field(default_factory=list)
    watching: bool = False
    stopping: bool = False

    def spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        *,
        ready: Probe | None = None,
        note: str = "",
    ) -> Child:
        """Start `argv` with os.environ updated by `env`, logging to <log_dir>/<name>.log. `ready` is its readiness
        probe, awaited after a restart; `note` says what a restart of it means (kept state, lost state)."""
        log = self.log_dir / f"{name}.log"
        full_env = {**os.environ, **(env or {})}
        child = Child(name, self._popen(log, argv, full_env), log, list(argv), full_env, ready, note)
        child.history = CrashHistory(self.restart, started=time.monotonic())
        self.children.append(child)
        return child

    def _popen(self, log: Path, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            return subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order.
            )

    def check_alive(self) -> None:
        """Raise if a child has exited, with the last lines of its log. Under watch(), exits are restarted instead."""
        if self.watching:
            return
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                tail = child.log.read_text(errors="replace").splitlines()[-25:]
                raise RuntimeError(f"{child.name} exited with {code}; last lines of {child.log}:\n" + "\n".join(tail))

    async def watch(self) -> None:
        """Restart the children that exit, under `restart`, until stop()."""
        self.watching = True
        while not self.stopping:
            for child in self.children:
                if child.given_up or (child.recovery is not None and not child.recovery.done()):
                    continue
                if child.process.poll() is not None:
                    self._crashed(child)
            await asyncio.sleep(self.restart.poll)

    def _crashed(self, child: Child) -> None:
        if child.history is None:
            child.history = CrashHistory(self.restart, started=time.monotonic())
        how = describe_exit(child.process.returncode)
        delay = child.history.next_delay(time.monotonic())
        if delay is None:
            child.given_up = True
            self.say(
                f"✗ {clock()} {child.name} {how} again: more than {self.restart.max_restarts} crashes within "
                f"{self.restart.window:g}s, so it stays down; the rest keeps running. See {child.log}; "
                "Ctrl-C and start again to retry."
            )
            return
        note = f" ({child.note})" if child.note else ""
        self.say(f"! {clock()} {child.name} {how}; see {child.log}. Restarting it in {delay:g}s{note}.")
        child.recovery = asyncio.create_task(self._recover(child, delay), name=f"restart {child.name}")

    async def _recover(self, child: Child, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.stopping:
            return
        try:
            child.process = self._popen(child.log, child.argv, child.env)
        except OSError as exc:  # its program is gone, say: no point in trying again
            child.given_up = True
            self.say(f"✗ {clock()} {child.name} could not be restarted ({exc}); it stays down, the rest keeps running.")
            return
        if child.history is not None:
            child.history.started = time.monotonic()
        if child.ready is None:
            self.say(f"↻ {clock()} {child.name} restarted (pid {child.process.pid}).")
            return
        # Whichever comes first: ready, or dead again (then watch() counts the crash and backs off further).
        probe = asyncio.ensure_future(child.ready())
        exited = asyncio.ensure_future(exit_of(child.process))
        done, pending = await asyncio.wait({probe, exited}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if probe in done:
            failure = probe.exception()
            if failure is None:
                self.say(f"✓ {clock()} {child.name} is back (pid {child.process.pid}, ready).")
            else:
                self.say(f"! {clock()} {child.name} restarted but is not ready: {failure}")

    def stop(self) -> None:
        """SIGTERM every child, last started first; kill those still up after 15 s. Nothing is restarted after."""
        self.stopping = True
        for child in self.children:
            if child.recovery is not None and not child.recovery.done():
                child.recovery.cancel()
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


async def exit_of(process: subprocess.Popen[bytes], every: float = 0.1) -> None:
    """Return once `process` has exited."""
    while process.poll() is None:
        await asyncio.sleep(every)


def clock() -> str:
    """The wall-clock time of a supervisor line."""
    return time.strftime("%H:%M:%S")
