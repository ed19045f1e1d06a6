"""`make run` itself: the supervisor brings the whole suite up on embedded defaults (SQLite, its own Temporal dev
server, a private redis-server, the SMTP sink writing to a Maildir), a filing gets an emailed acknowledgement, and
a process killed while it runs is restarted and said to be back (issue 13), and Ctrl-C stops every process."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from nivaran_common.testing import REPO_ROOT, eventually, free_port


async def test_make_run_serves_a_filing_restarts_a_killed_service_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    names = (
        "TEMPORAL", "TEMPORAL_UI", "REDIS", "SMTP", "MESSAGES", "ROUTING", "IDENTITY", "INTAKE", "NOTIFY", "SLA",
        "GATEWAY", "MAILIN",
    )  # fmt: skip
    ports = {name: free_port() for name in names}
    # The sahyog track scaled to a second a day, so the case's deadlines pass while the test watches (issue 3).
    env = {
        **os.environ,
        "NIVARAN_DEV_VAR": str(tmp_path / "var"),
        "NIVARAN_SLA_POLICY_FOLDER": str(REPO_ROOT / "policies" / "demo-fast"),
    }
    env.update({f"NIVARAN_DEV_{name}_PORT": str(port) for name, port in ports.items()})
    output = (tmp_path / "run.log").open("wb")
    runner = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "devrun.py")], env=env, stdout=output, stderr=subprocess.STDOUT
    )
    try:

        async def up() -> bool:
            assert runner.poll() is None, (tmp_path / "run.log").read_text()
            return "Nivaran is up" in (tmp_path / "run.log").read_text()

        await eventually(up, timeout=150, every=0.5)
        children = psutil.Process(runner.pid).children(recursive=True)
        assert len(children) >= 10

        def mail_receiver_greets() -> int:
            # C1: the gateway's SMTP receiver of citizens' email is up too (tests/test_email_e2e.py sends it mail).
            with smtplib.SMTP("127.0.0.1", ports["MAILIN"], timeout=10) as smtp:
                return int(smtp.noop()[0])

        assert await asyncio.to_thread(mail_receiver_greets) == 250
        base = f"http://127.0.0.1:{ports['GATEWAY']}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            filed = await http.post(
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
            number = filed.json()["registration_number"]
        maildir = tmp_path / "var" / "mail" / "new"

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

            async def deadlines_acted() -> bool:
                case = (await http.get(f"/v1/grievances/{number}", headers=headers)).json()
                events[:] = [e["event_type"] for e in case.get("timeline") or []]
                return events.count("breach_recorded") == 2  # S8 on day 3, S13 on day 31

            # Untouched: S8 breach, S9 show-cause, S10 DM visibility, S11 second show-cause, S12, S13 breach.
            await eventually(deadlines_acted, timeout=90, every=1.0)
        assert events.count("show_cause_issued") == 2
        assert "made_visible" in events
        assert "interim_order_due" in events
        assert (tmp_path / "var" / "intake.db").exists()
        assert (tmp_path / "var" / "temporal.db").exists()

        # Issue 13: a crashed process is restarted with backoff and said so (scripts/devrun_supervisor.py).
        routing = next(
            c for c in psutil.Process(runner.pid).children() if c.cmdline()[-2:] == ["-m", "nivaran_routing"]
        )
        routing.kill()
        log = tmp_path / "run.log"

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
        assert f"see {tmp_path / 'var' / 'log' / 'routing.log'}. Restarting it in 1s." in log.read_text()
        children = psutil.Process(runner.pid).children(recursive=True)
        assert routing.pid not in {child.pid for child in children}
    finally:
        runner.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(runner.wait, 60)
    assert code == 0, (tmp_path / "run.log").read_text()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert (tmp_path / "run.log").read_text().count("Restarting it in") == 1
