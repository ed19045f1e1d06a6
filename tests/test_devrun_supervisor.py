"""`make run`'s supervisor (scripts/devrun_supervisor.py) restarts a crashed process with backoff and says so,
instead of stopping everything (issue 13): the policy on its own, then real child processes on short timings, then
a real `make run` whose routing service is killed (in tests/test_make_run.py, on its one boot of `make run`)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from devrun_supervisor import CrashHistory, ProcessSupervisor, RestartPolicy

from nivaran_common.testing import eventually

# --- the policy -------------------------------------------------------------------------------------------------------


def test_the_delay_doubles_from_the_first_and_stops_at_the_cap() -> None:
    history = CrashHistory(RestartPolicy(first_delay=1, max_delay=30, max_restarts=100), started=0.0)

    delays = [history.next_delay(now) for now in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)]

    assert delays == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_that_stayed_up_long_enough_starts_the_backoff_afresh() -> None:
    history = CrashHistory(RestartPolicy(first_delay=1, stable_after=60, max_restarts=100), started=0.0)
    assert [history.next_delay(now) for now in (5.0, 10.0, 20.0)] == [1, 2, 4]

    history.started = 25.0  # restarted at 25 s, then up for 61 s
    assert history.next_delay(86.0) == 1
    history.started = 87.0
    assert history.next_delay(90.0) == 2  # a quick crash again: the backoff grows from there


def test_more_crashes_than_allowed_within_the_window_give_up_but_spread_out_ones_do_not() -> None:
    policy = RestartPolicy(first_delay=1, max_restarts=3, window=100, stable_after=1000)
    quick = CrashHistory(policy, started=0.0)
    assert [quick.next_delay(now) for now in (1.0, 2.0, 3.0, 4.0)] == [1, 2, 4, None]

    spread = CrashHistory(policy, started=0.0)
    assert [spread.next_delay(now) for now in (1.0, 60.0, 120.0, 180.0, 240.0)] == [1, 2, 4, 8, 16]


# --- real child processes on short timings ----------------------------------------------------------------------------

FAST = RestartPolicy(first_delay=0.2, max_delay=0.8, stable_after=30, max_restarts=4, window=60, poll=0.05)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def starts_of(path: Path) -> list[float]:
    """The wall-clock times a child wrote, one line per start."""
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def crasher(starts: Path, code: int = 3) -> list[str]:
    """A child that notes the time it started, then exits with `code`."""
    return python(f"import sys, time; open({str(starts)!r}, 'a').write(f'{{time.time()}}\\n'); sys.exit({code})")


async def test_a_crashing_child_is_restarted_with_growing_delays_then_given_up_on_while_the_rest_keeps_running(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=FAST, say=said.append)
    starts = tmp_path / "starts"
    steady = sup.spawn("steady", python("import time; time.sleep(60)"))
    sup.spawn("crasher", crasher(starts))
    watcher = asyncio.create_task(sup.watch())
    try:

        async def given_up() -> bool:
            return any("stays down" in line for line in said)

        await eventually(given_up, timeout=20)
        await asyncio.sleep(0.5)  # long enough for a wrongly scheduled restart to show

        times = starts_of(starts)
        assert len(times) == 1 + FAST.max_restarts
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert all(gap >= delay for gap, delay in zip(gaps, [0.2, 0.4, 0.8, 0.8], strict=True)), gaps
        assert gaps[0] < gaps[1] < gaps[2], gaps
        restarts = [line for line in said if "Restarting it in" in line]
        assert [line.split("Restarting it in ")[1].split("s")[0] for line in restarts] == ["0.2", "0.4", "0.8", "0.8"]
        assert all("crasher exited with code 3" in line for line in restarts)
        assert all(str(tmp_path / "log" / "crasher.log") in line for line in restarts)
        assert "crasher exited with code 3 again" in said[-1]
        assert "the rest keeps running" in said[-1]
        assert steady.process.poll() is None
        assert not watcher.done()
    finally:
        sup.stop()
        await asyncio.wait_for(watcher, 5)
    assert steady.process.poll() is not None


async def test_a_killed_child_comes_back_with_the_same_argv_and_env_and_is_said_to_be_ready(tmp_path: Path) -> None:
    said: list[str] = []
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=FAST, say=said.append)
    marker = tmp_path / "ready"
    code = (
        "import os, sys, time; "
        f"open({str(marker)!r}, 'a').write(f'{{os.getpid()}} {{os.environ[\"FLAVOUR\"]}} {{sys.argv[1]}}\\n'); "
        "time.sleep(60)"
    )

    async def ready() -> None:
        while not marker.exists():
            await asyncio.sleep(0.02)

    child = sup.spawn("served", [*python(code), "argument"], {"FLAVOUR": "masala"}, ready=ready)
    await asyncio.wait_for(child.wait_ready(), 10)
    first = child.process.pid
    watcher = asyncio.create_task(sup.watch())
    try:
        marker.unlink()
        os.kill(first, signal.SIGKILL)

        async def back() -> bool:
            return any("served is back" in line for line in said)

        await eventually(back, timeout=10)
        assert "served was killed by SIGKILL" in said[0]
        assert "Restarting it in 0.2s" in said[0]
        assert child.process.pid != first
        assert marker.read_text().split() == [str(child.process.pid), "masala", "argument"]
        assert f"pid {child.process.pid}" in said[-1]
    finally:
        sup.stop()
        await asyncio.wait_for(watcher, 5)


async def test_a_restart_during_readiness_that_dies_again_backs_off_further(tmp_path: Path) -> None:
    said: list[str] = []
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=FAST, say=said.append)
    starts = tmp_path / "starts"

    async def never_ready() -> None:
        await asyncio.sleep(60)

    sup.spawn("flaky", crasher(starts, code=1), ready=never_ready)
    watcher = asyncio.create_task(sup.watch())
    try:

        async def third_restart() -> bool:
            return sum("Restarting it in" in line for line in said) >= 3

        await eventually(third_restart, timeout=10)
        assert [line.split("Restarting it in ")[1].split("s")[0] for line in said[:3]] == ["0.2", "0.4", "0.8"]
        assert not any("is back" in line for line in said)
    finally:
        sup.stop()
        await asyncio.wait_for(watcher, 5)


async def test_stop_during_the_backoff_restarts_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    policy = RestartPolicy(first_delay=1.0, poll=0.05)
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=policy, say=said.append)
    starts = tmp_path / "starts"
    sup.spawn("crasher", crasher(starts))
    watcher = asyncio.create_task(sup.watch())

    async def backing_off() -> bool:
        return any("Restarting it in 1s" in line for line in said)

    await eventually(backing_off, timeout=10)
    sup.stop()
    await asyncio.wait_for(watcher, 5)
    await asyncio.sleep(1.5)  # past the backoff

    assert len(starts_of(starts)) == 1
    assert len(said) == 1


async def test_children_stopped_by_stop_are_not_taken_for_crashes(tmp_path: Path) -> None:
    said: list[str] = []
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=FAST, say=said.append)
    children = [sup.spawn(f"sleeper-{n}", python("import time; time.sleep(60)")) for n in range(3)]
    watcher = asyncio.create_task(sup.watch())
    await asyncio.sleep(0.2)

    sup.stop()
    await asyncio.wait_for(watcher, 5)
    await asyncio.sleep(0.5)

    assert all(child.process.returncode == -signal.SIGTERM for child in children)
    assert said == []


async def test_a_child_whose_program_is_gone_is_given_up_on_at_once(tmp_path: Path) -> None:
    said: list[str] = []
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=FAST, say=said.append)
    program = tmp_path / "program"
    program.write_text(f"#!{sys.executable}\nraise SystemExit(4)\n")
    program.chmod(0o755)
    child = sup.spawn("vanishing", [str(program)])
    await asyncio.to_thread(child.process.wait, 10)
    program.unlink()
    watcher = asyncio.create_task(sup.watch())
    try:

        async def given_up() -> bool:
            return child.given_up

        await eventually(given_up, timeout=10)
        assert "vanishing exited with code 4" in said[0]
        assert "vanishing could not be restarted" in said[1]
        assert "stays down" in said[1]
        assert not watcher.done()
    finally:
        sup.stop()
        await asyncio.wait_for(watcher, 5)


async def test_until_watched_an_exit_is_fatal_with_the_log_s_last_lines(tmp_path: Path) -> None:
    # While `make run` boots (and in the cross-service tests and benches, which never watch) a crash ends the run.
    sup = ProcessSupervisor(log_dir=tmp_path / "log", restart=FAST)
    child = sup.spawn("broken", python("import sys; print('no such setting: NIVARAN_X'); sys.exit(2)"))
    await asyncio.to_thread(child.process.wait, 10)

    with pytest.raises(RuntimeError, match=r"broken exited with 2; last lines of .*broken\.log:\nno such setting"):
        sup.check_alive()
    sup.stop()


# --- a real `make run` ------------------------------------------------------------------------------------------------


def test_the_dev_environment_keeps_an_empty_value_that_means_no_quiet_hours(tmp_path: Path) -> None:
    """The dev run's SMS have no quiet hours: NIVARAN_NOTIFY_SMS_QUIET_HOURS="" must reach notify, not be dropped
    with the unset settings (it was, and SMS sent after 21:00 India time waited for the morning)."""
    import devrun

    env = devrun.service_env(devrun.Ports(), {}, codec_keys="k", pki_dir=tmp_path / "pki")

    assert env["NIVARAN_NOTIFY_SMS_QUIET_HOURS"] == ""
    assert all(value for key, value in env.items() if key not in devrun.MEANINGFUL_EMPTY)
