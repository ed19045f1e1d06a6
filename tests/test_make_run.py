"""`make run` itself, booted once for this module: the supervisor brings the whole suite up on embedded defaults
(SQLite, its own Temporal dev server, a private redis-server, the SMTP sink writing to a Maildir); the README's shell
examples run against it as written, in order, twice (issue 13); a filing gets an emailed acknowledgement, a process
killed while it runs is restarted and said to be back, and Ctrl-C stops every process. The Ctrl-C test comes last."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import _readme  # tests/_readme.py, on sys.path through tests/conftest.py
import devrun  # scripts/devrun.py, on sys.path through tests/conftest.py
import httpx
import psutil
import pytest
from test_desk_e2e import DM, Desk

from nivaran_common.testing import REPO_ROOT, eventually, every_page, free_port


@dataclasses.dataclass
class DevRun:
    runner: subprocess.Popen[bytes]
    ports: dict[str, int]  # by name as in NIVARAN_DEV_<NAME>_PORT: GATEWAY, MAILIN, ...
    env: dict[str, str]  # what `make run` was started with: a reader's shell with the same variables
    var: Path
    log: Path


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevRun]:
    """scripts/devrun.py (what `make run` runs) on free ports, every one moved by its documented variable."""
    tmp_path = tmp_path_factory.mktemp("make-run")
    ports = {field.name.upper(): free_port() for field in dataclasses.fields(devrun.Ports)}
    # The sahyog track scaled to a second a day, so the case's deadlines pass while the test watches (issue 3).
    env = {
        **os.environ,
        "NIVARAN_DEV_VAR": str(tmp_path / "var"),
        "NIVARAN_SLA_POLICY_FOLDER": str(REPO_ROOT / "policies" / "demo-fast"),
    }
    env.update({f"NIVARAN_DEV_{name}_PORT": str(port) for name, port in ports.items()})
    log = tmp_path / "run.log"
    with log.open("wb") as output:
        runner = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "scripts" / "devrun.py")], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 240
        while "Nivaran is up" not in log.read_text():
            assert runner.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield DevRun(runner, ports, env, tmp_path / "var", log)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            runner.wait(60)


@pytest.fixture(scope="module")
def early_case(dev_run: DevRun) -> str:
    """A case filed as soon as the suite is up, so that its month of deadlines (a second a day) plays out while the
    README's examples run; the last test then finds them acted on. Its registration number."""
    with httpx.Client(base_url=f"http://127.0.0.1:{dev_run.ports['GATEWAY']}", timeout=30) as http:
        filed = http.post(
            "/v1/grievances",
            json={
                "complainant": {
                    "name": "रमेश कुमार",
                    "address": "मनेर, पटना",
                    "email": "ramesh@example.in",
                    "phone": "9812345678",
                },
                "description": "हमारे गाँव में मनरेगा की मजदूरी तीन महीने से नहीं मिली है।",
                "category_code": "RDD-MGNREGA-WAGES",
                "location": {"district_code": "PAT", "block_code": "PAT-DANAPUR-MANER"},
                "channel": "web",
            },
        )
    assert filed.status_code == 201, filed.text
    number: str = filed.json()["registration_number"]
    return number


def readme_clone(where: Path, var: Path) -> Path:
    """A work tree as a fresh clone's, whose var/ is the run's: the examples' files (form2.pdf, …) land here."""
    where.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in ("var", ".git"):
            (where / entry.name).symlink_to(entry)
    (where / "var").symlink_to(var)
    return where


def test_readme_blocks_are_read_in_order_and_a_skip_states_its_reason(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- readme-test: skip starts the suite -->\n```sh\nmake run\n```\n\n```python\nprint()\n```\n"
        '```bash\ncurl -s $API/x; echo   # → "state": "failed", "file_matches": true, "id": "…"\n```\n'
    )
    first, second = _readme.shell_blocks(readme)
    assert (first.line, first.skip, second.line, second.skip) == (2, "starts the suite", 9, None)
    shown = second.expected()
    assert [bool(p.search('{"state":"failed","file_matches":true,"id":"7"}')) for p in shown] == [True] * 3
    assert not shown[0].search('{"state": "sent"}')
    readme.write_text("<!-- readme-test: skip -->\n```sh\nmake run\n```\n")
    with pytest.raises(ValueError, match="the reason"):
        _readme.shell_blocks(readme)


# The case is filed first, so that its deadlines fall due while the README's examples run (none of them reads it).
@pytest.mark.usefixtures("early_case")
def test_readme_shell_examples_run_as_written_in_order_twice_against_make_run(dev_run: DevRun, tmp_path: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    # Issue 13, item 4: every port variable and the dev rate-limit switch are documented.
    undocumented = [f"NIVARAN_DEV_{name}_PORT" for name in dev_run.ports if f"NIVARAN_DEV_{name}_PORT" not in readme]
    assert not undocumented
    assert "NIVARAN_DEV_RATE_LIMITS" in readme
    blocks = _readme.shell_blocks(REPO_ROOT / "README.md")
    runnable = [block for block in blocks if block.skip is None]
    assert len(runnable) >= 15, [block.line for block in blocks]
    script = _readme.script(blocks)
    clone = readme_clone(tmp_path / "clone", dev_run.var)
    # Twice, each in a new shell: the second run finds the first one's cases, OTPs, files and certificates.
    for run in (1, 2):
        done = subprocess.run(
            ["bash", "-c", script], cwd=clone, env=dev_run.env, capture_output=True, text=True, timeout=400
        )
        printed, errors = _readme.outputs(done.stdout), _readme.outputs(done.stderr)
        last = max(printed, default=0)
        failed = next((block for block in runnable if block.line == last), None)
        assert done.returncode == 0, (
            f"run {run}: the README's example at line {last} failed (exit {done.returncode}):\n"
            f"{failed.code if failed else ''}\n--- stdout\n{printed.get(last, '')[-3000:]}\n"
            f"--- stderr\n{errors.get(last, done.stderr)[-3000:]}"
        )
        for block in runnable:
            assert block.line in printed, f"run {run}: README line {block.line} did not run"
            for shown in block.expected():
                assert shown.search(printed[block.line]), (
                    f"run {run}: README line {block.line} shows {shown.pattern!r}, but printed:\n"
                    f"{printed[block.line][-3000:]}\n--- stderr\n{errors.get(block.line, '')[-2000:]}"
                )


async def test_make_run_serves_a_filing_restarts_a_killed_service_and_stops_cleanly_on_ctrl_c(
    dev_run: DevRun, early_case: str
) -> None:
    runner, ports, log, number = dev_run.runner, dev_run.ports, dev_run.log, early_case
    try:
        children = psutil.Process(runner.pid).children(recursive=True)
        assert len(children) >= 10

        def mail_receiver_greets() -> int:
            # C1: the gateway's SMTP receiver of citizens' email is up too (tests/test_email_e2e.py sends it mail).
            with smtplib.SMTP("127.0.0.1", ports["MAILIN"], timeout=10) as smtp:
                return int(smtp.noop()[0])

        assert await asyncio.to_thread(mail_receiver_greets) == 250
        base = f"http://127.0.0.1:{ports['GATEWAY']}"
        maildir = dev_run.var / "mail" / "new"

        async def mailed() -> bool:
            # The complainant's acknowledgement (the L1 officer may be mailed the new case too: S16 / C2).
            texts = [p.read_text(errors="replace") for p in maildir.glob("*")]
            return any(number in text and "ramesh@example.in" in text for text in texts)

        await eventually(mailed, timeout=60)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await http.post("/v1/auth/otp", json={"phone": "9812345678"})
            verified = await http.post("/v1/auth/otp/verify", json={"phone": "9812345678", "otp": "123456"})
            assert verified.status_code == 200, verified.text
            headers = {"Authorization": f"Bearer {verified.json()['access_token']}"}
            events: list[str] = []
            case: dict[str, Any] = {}

            async def deadlines_acted() -> bool:
                case.update((await http.get(f"/v1/grievances/{number}", headers=headers)).json())
                events[:] = [e["event_type"] for e in case.get("timeline") or []]
                return events.count("breach_recorded") == 2  # S8 on day 3, S13 on day 31

            # Untouched: S8 breach, S9 show-cause, S10 DM visibility, S11 second show-cause, S12, S13 breach.
            await eventually(deadlines_acted, timeout=90, every=1.0)
            # Issue 12, item 5: the DM reads the district's breach register two at a time, newest first, and meets
            # this case's two breaches once each among those of the README's cases.
            dm = await Desk(http).officer(*DM)
            read = await every_page(http, "/v1/breaches", params={"page_size": 2}, headers=dm)
            assert all(len(page["breaches"]) <= 2 for page in read)
            register: list[dict[str, Any]] = [b for page in read for b in page["breaches"]]
            assert len({b["id"] for b in register}) == len(register)
            assert sorted(b["rule"] for b in register if b["grievance_id"] == case["id"]) == ["S13", "S8"]
            times = [datetime.fromisoformat(b["recorded_at"]) for b in register]
            assert times == sorted(times, reverse=True)
            of_s8 = await http.get("/v1/breaches", params={"rule": "S8", "page_size": 200}, headers=dm)
            assert {b["rule"] for b in of_s8.json()["breaches"]} == {"S8"}
            assert {b["id"] for b in of_s8.json()["breaches"]} == {b["id"] for b in register if b["rule"] == "S8"}
        assert events.count("show_cause_issued") == 2
        assert "made_visible" in events
        assert "interim_order_due" in events
        assert (dev_run.var / "intake.db").exists()
        assert (dev_run.var / "temporal.db").exists()

        # Issue 13: a crashed process is restarted with backoff and said so (scripts/devrun_supervisor.py).
        routing = next(
            c for c in psutil.Process(runner.pid).children() if c.cmdline()[-2:] == ["-m", "nivaran_routing"]
        )
        routing.kill()

        async def logged(text: str) -> bool:
            assert runner.poll() is None, log.read_text()
            return text in log.read_text()

        await eventually(lambda: logged("routing was killed by SIGKILL"), timeout=10)
        await eventually(lambda: logged("routing is back"), timeout=60, every=0.5)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:

            async def answers() -> bool:
                ready = await http.get("/readyz")
                categories = await http.get("/v1/categories", headers=headers)
                return ready.status_code == 200 and categories.status_code == 200

            await eventually(answers, timeout=60, every=0.5)
        assert f"see {dev_run.var / 'log' / 'routing.log'}. Restarting it in 1s." in log.read_text()
        children = psutil.Process(runner.pid).children(recursive=True)
        assert routing.pid not in {child.pid for child in children}
    finally:
        runner.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(runner.wait, 60)
    assert code == 0, log.read_text()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert log.read_text().count("Restarting it in") == 1
