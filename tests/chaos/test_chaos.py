"""Faults survived (issue 13 item 3): under a filing load, kill -9 each process of the suite and have it come back.

Real processes on 127.0.0.1: the whole suite of `make run` (tests/_suite.py `running_suite`) under its supervisor
(scripts/devrun_supervisor.py, watching: a crashed child is restarted with backoff and said so), plus a Temporal dev
server and a redis-server of this test's own, started as `make run` starts them (devrun.temporal_argv, the same
redis-server flags: same port, same data folder), and a PostgreSQL server of its own that holds the five services'
databases, under a second, watching supervisor, so that they can be killed too.
The SLA runs on policies/demo-fast (a day is a second), so deadlines fall due during the test.

A few filers file cases (POST /v1/grievances with an Idempotency-Key each), retrying the same key on 5xx, 409 (in
flight) and connection errors, as a client should: one filing each before the first kill, then at every kill one
each in flight and one each started while the process is down (a bounded load). Every process is killed with
SIGKILL and brought back by its supervisor. Redis, then PostgreSQL, is then killed and held down for a while: the
gateway answers 503 problem+json with Retry-After at once (a circuit is open: nivaran_common.breaker; Redis' in the
gateway, intake's once intake answers UNAVAILABLE for its lost database), and the suite recovers by itself once the
server is back (PostgreSQL after its crash recovery). Then:

- every case acknowledged with 201 exists (read back through /v1 by the DM of Patna), under one number per key;
- no registration number is duplicated;
- every deadline due (S8's breach at 3 s, S9's first show-cause at 10 s) fired exactly once per case;
- no notice (SMS to the sink, email to the SMTP server) was sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import devrun  # scripts/devrun.py, put on sys.path by tests/conftest.py
import httpx
import psycopg
import pytest
from _suite import RunningSuite, running_suite
from sqlalchemy import func, select
from test_desk_e2e import DM, Desk
from test_e2e import HINDI_FILING

from nivaran_common.db import create_engine
from nivaran_common.testing import SmtpServer, eventually, free_port
from nivaran_sla.tables import BreachRow, ShowCauseNoticeRow

REPO = Path(__file__).resolve().parents[2]
# A suite of its own boots, and every process restarts once: minutes on a shared 2-core machine, past the default 300 s.
pytestmark = pytest.mark.timeout(1200)
# While Redis' circuit is open, a request that needs Redis is answered within this (the issue: "not a 3-second wait").
FAST_SECONDS = 0.5
BREAKER_TTL_SECONDS = 2
# Deadlines of policies/demo-fast's sahyog track that fall due within the test: S8 (3 s) records a breach, S9 (10 s)
# issues the first show-cause notice.
DUE_BREACH_RULE = "S8"


@dataclasses.dataclass
class Infrastructure:
    supervisor: Any
    temporal_env: Any
    redis_url: str
    said: list[str]
    databases: PrivateDatabases


def postgres_bindir() -> Path:
    """PostgreSQL's programs: Debian's (what these machines have), else PyPI's pgserver (what scripts/testenv.py
    installs on a machine without them)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-not-found]

    return Path(POSTGRES_BIN_PATH)


@dataclasses.dataclass
class PrivateDatabases:
    """The five services' databases on this test's own PostgreSQL server, in the place of the shared one's
    (running_suite's `make_database`): the shared server is every other test's too, so it is not the one killed."""

    port: int

    def __call__(self, kind: str, prefix: str = "nivaran_chaos") -> str:
        assert kind == "postgres", kind
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


def postgres_argv(data: Path, port: int) -> tuple[list[str], list[str]]:
    """initdb's and the server's command lines. The server is the supervised process itself (setpriv execs, where
    runuser would fork), so that SIGKILL reaches the postmaster; as the user postgres when the tests run as root."""
    bindir = postgres_bindir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
    initdb = [*as_user, str(bindir / "initdb"), "-D", str(data / "pg"), "-A", "trust", "-U", "postgres", "--no-sync"]
    server = [*as_user, str(bindir / "postgres"), "-D", str(data / "pg"), "-p", str(port), "-k", str(data),
              "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]  # fmt: skip
    return initdb, server


@contextlib.asynccontextmanager
async def infrastructure(folder: Path) -> AsyncIterator[Infrastructure]:
    """A Temporal dev server (SQLite file) and a redis-server (append-only file) as `make run` starts them, and a
    PostgreSQL server, under a supervisor of their own."""
    ports = dataclasses.replace(devrun.Ports(), temporal=free_port(), temporal_ui=free_port(), redis=free_port())
    pg_port = free_port()
    said: list[str] = []
    sup = devrun.Supervisor(ports, log_dir=folder / "log", say=said.append)
    (folder / "redis").mkdir(parents=True, exist_ok=True)
    # Outside pytest's tmp_path, whose folders only root may enter: the server runs as the user postgres.
    pg_folder = Path(tempfile.mkdtemp(prefix="nivaran-chaos-pg-"))
    initdb, postgres = postgres_argv(pg_folder, pg_port)
    await asyncio.to_thread(subprocess.run, initdb, check=True, stdout=subprocess.DEVNULL)
    try:
        temporal = sup.spawn(
            "temporal",
            devrun.temporal_argv(ports, folder),
            ready=partial(devrun.wait_tcp, sup, ports.temporal, "temporal"),
        )
        redis = sup.spawn(
            "redis",
            [str(devrun.BIN / "redis-server"), "--port", str(ports.redis), "--bind", "127.0.0.1",
             "--dir", str(folder / "redis"), "--appendonly", "yes", "--save", ""],
            ready=partial(devrun.wait_tcp, sup, ports.redis, "redis-server"),
        )  # fmt: skip
        database = sup.spawn(
            "postgres", postgres, ready=partial(devrun.wait_tcp, sup, pg_port, "postgres"), note="crash recovery"
        )
        await asyncio.gather(temporal.wait_ready(), redis.wait_ready(), database.wait_ready())
        address = f"127.0.0.1:{ports.temporal}"
        temporal_env = SimpleNamespace(client=SimpleNamespace(service_client=SimpleNamespace(config=SimpleNamespace(
            target_host=address))))  # fmt: skip
        yield Infrastructure(sup, temporal_env, f"redis://127.0.0.1:{ports.redis}/0", said, PrivateDatabases(pg_port))
    finally:
        sup.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)


def suite_env(redis_url: str) -> dict[str, str]:
    """Every process on this test's Redis; fast deadlines; short breaker TTL and idempotency lock (a lock held by a
    killed gateway expires in seconds, not a minute); budgets that a load from one address does not hit."""
    env = {
        "NIVARAN_SLA_POLICY_FOLDER": str(REPO / "policies" / "demo-fast"),
        "NIVARAN_BREAKER_TTL_SECONDS": str(BREAKER_TTL_SECONDS),
        "NIVARAN_GATEWAY_IDEMPOTENCY_LOCK_SECONDS": "5",
        "NIVARAN_GATEWAY_REDIS_URL": redis_url,
        "NIVARAN_IDENTITY_REDIS_URL": redis_url,
        "NIVARAN_INTAKE_REDIS_URL": redis_url,
        "NIVARAN_GATEWAY_RATE_LIMITS": json.dumps(
            {
                "login": {"limit": 500, "window_seconds": 600, "fail_closed": True},
                "otp": {"limit": 100, "window_seconds": 600, "fail_closed": True},
                "filing": {"limit": 5000, "window_seconds": 600},
                "api": {"limit": 50000, "window_seconds": 600},
            }
        ),
    }
    for name in ("routing", "identity", "intake", "notify", "sla", "gateway"):
        env[f"NIVARAN_{name.upper()}_REVOCATION_REDIS_URL"] = redis_url
    return env


@dataclasses.dataclass
class Load:
    """Filers filing a bounded number of cases: each new filing waits for a permit (`allow`), and each is retried
    under its key until acknowledged, as a client should."""

    http: httpx.AsyncClient
    filers: int
    give_up_after: float = 150.0
    acked: dict[str, str] = dataclasses.field(default_factory=dict)  # Idempotency-Key -> registration number
    created: Counter[str] = dataclasses.field(default_factory=Counter)  # 201s per key
    seen: Counter[str] = dataclasses.field(default_factory=Counter)  # statuses and transport errors met
    permits: asyncio.Semaphore = dataclasses.field(default_factory=lambda: asyncio.Semaphore(0))
    issued: int = 0
    task: asyncio.Task[Any] | None = None

    async def file(self, key: str, body: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.give_up_after
        while True:
            try:
                answer = await self.http.post("/v1/grievances", json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError as exc:
                self.seen[type(exc).__name__] += 1
            else:
                self.seen[str(answer.status_code)] += 1
                if answer.status_code in (200, 201):
                    number = str(answer.json()["registration_number"])
                    assert self.acked.setdefault(key, number) == number, "one key, one case"
                    self.created[key] += answer.status_code == 201
                    return
                # 5xx (a process is down), 409 (the key's first request is in flight): retry; any other is a bug.
                assert answer.status_code >= 500 or answer.status_code == 409, answer.text
            assert time.monotonic() < deadline, f"{key} not acknowledged in {self.give_up_after:g}s: {self.seen}"
            await asyncio.sleep(0.3)

    async def filer(self, number: int) -> None:
        sequence = 0
        while True:
            await self.permits.acquire()
            sequence += 1
            phone = f"9{uuid.uuid4().int % 10**9:09d}"
            body = {
                **HINDI_FILING,
                "complainant": {**HINDI_FILING["complainant"], "phone": phone, "email": f"c{phone}@example.in"},
                "category_code": "FOOD-RATION-CARD",
                "location": {"district_code": "PAT"},
            }
            await self.file(f"chaos-{number}-{sequence}-{uuid.uuid4().hex[:8]}", body)

    def start(self) -> None:
        self.task = asyncio.ensure_future(asyncio.gather(*(self.filer(n) for n in range(self.filers))))

    def allow(self, count: int | None = None) -> None:
        """Let `count` (default: one per filer) new filings start."""
        for _ in range(count or self.filers):
            self.issued += 1
            self.permits.release()

    async def settled(self, timeout: float = 150) -> None:
        """Wait until every filing allowed so far is acknowledged."""

        async def all_acked() -> bool:
            if self.task is not None and self.task.done():
                self.task.result()  # a filer failed: say why
            return len(self.acked) >= self.issued

        await eventually(all_acked, timeout=timeout, every=0.2)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def child(supervisor: Any, name: str) -> Any:
    return next(c for c in supervisor.children if c.name == name)


async def kill(supervisor: Any, name: str) -> int:
    """SIGKILL one child; returns its pid."""
    victim = child(supervisor, name)
    pid = int(victim.process.pid)
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(victim.process.wait, 10)
    return pid


async def back(supervisor: Any, name: str, old_pid: int, timeout: float = 180) -> None:
    """Wait until the supervisor has restarted `name` and it is ready again."""
    victim = child(supervisor, name)

    async def restarted() -> bool:
        assert not victim.given_up, f"{name} was given up on"
        recovered = victim.recovery is not None and victim.recovery.done()
        return recovered and victim.process.pid != old_pid and victim.process.poll() is None

    await eventually(restarted, timeout=timeout, every=0.2)


async def kill_and_bring_back(suite: RunningSuite, infra: Infrastructure, load: Load, names: list[str]) -> None:
    """With new filings in flight, kill `names` at the same moment and let more filings start while they are down;
    wait for their supervisors to bring them back and for every filing to be acknowledged."""
    owners = {name: infra.supervisor if name in {"temporal", "redis"} else suite.supervisor for name in names}
    load.allow()
    await asyncio.sleep(0.1)
    pids = {name: await kill(owners[name], name) for name in names}
    load.allow()
    await asyncio.gather(*(back(owners[name], name, pid) for name, pid in pids.items()))
    await load.settled()


async def held_down(
    suite: RunningSuite, infra: Infrastructure, load: Load, dm: dict[str, str], name: str
) -> list[float]:
    """`name` (redis or postgres) killed and held down for a few seconds (its supervisor told to hold off). A
    signed-in read needs both (Redis: the revocation list; PostgreSQL: intake's case), so it gets 503 + Retry-After,
    quickly once a circuit is open; then the server comes back and so does the gateway, by itself."""
    server = child(infra.supervisor, name)
    number = next(iter(load.acked.values()))
    server.given_up = True  # watch() leaves it alone until we say
    load.allow()  # filings go on meanwhile: without Redis their rate limit fails open; without PostgreSQL they wait
    pid = await kill(infra.supervisor, name)
    timings: list[float] = []
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        for _ in range(12):
            started = time.monotonic()
            answer = await http.get(f"/v1/grievances/{number}", headers=dm)
            timings.append(time.monotonic() - started)
            assert answer.status_code == 503, (name, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert 1 <= int(answer.headers["retry-after"]) <= 5
            assert answer.json()["title_hi"]
        # The first few meet a refused connection; from then on the circuit is open and nothing waits.
        assert max(timings[4:]) < FAST_SECONDS, (name, timings)
        server.given_up = False  # the supervisor restarts it: same argv, port and data folder
        await back(infra.supervisor, name, pid)

        async def served() -> bool:
            return (await http.get(f"/v1/grievances/{number}", headers=dm)).status_code == 200

        await eventually(served, timeout=BREAKER_TTL_SECONDS + 30, every=0.3)
    await load.settled()
    return timings


async def rows(database_url: str, table: Any, *columns: Any) -> Counter[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(*columns, func.count()).group_by(*columns))
            return Counter({tuple(row[:-1]): int(row[-1]) for row in result.all()})
    finally:
        await engine.dispose()


def sent_twice(smtp: SmtpServer, messages: Path) -> list[Any]:
    """Notices that reached the SMS sink or the SMTP server more than once (same recipient, same text)."""
    sms = messages / "sms.jsonl"
    texts = [
        json.dumps({k: v for k, v in json.loads(line).items() if k != "message_id"}, sort_keys=True)
        for line in (sms.read_text(encoding="utf-8").splitlines() if sms.exists() else [])
    ]
    mails = [(str(m["To"]), str(m["Subject"]), str(m.get_payload(decode=False))) for m in list(smtp.mail.messages)]
    return [item for item, n in (Counter(texts) + Counter(mails)).items() if n > 1]


async def chaos_walk(
    tmp_path: Path,
    smtp_server: SmtpServer,
    key_prefix: str,
    *,
    filers: int,
    waves: list[list[str]],
) -> None:
    async with (
        infrastructure(tmp_path / "infra") as infra,
        running_suite(
            tmp_path / "suite", infra.databases, infra.temporal_env, smtp_server, key_prefix,
            db_prefix="nivaran_chaos", extra_env=suite_env(infra.redis_url),
        ) as suite,
    ):  # fmt: skip
        said: list[str] = []
        suite.supervisor.say = said.append
        watchers = [asyncio.create_task(suite.supervisor.watch()), asyncio.create_task(infra.supervisor.watch())]
        async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
            dm = await Desk(http).officer(*DM)
            load = Load(http, filers)
            load.start()
            try:
                load.allow()
                await load.settled()
                for wave in waves:
                    await kill_and_bring_back(suite, infra, load, wave)
                timings = {name: await held_down(suite, infra, load, dm, name) for name in HELD_DOWN}
            finally:
                await load.stop()
            for task in watchers:
                assert not task.done(), task
            killed = [*(name for wave in waves for name in wave), *HELD_DOWN]
            # The kills met the load: filings were refused or cut off, and retried under their keys.
            assert sum(n for answer, n in load.seen.items() if answer not in {"200", "201"}) > 0, load.seen
            restarts = [*said, *infra.said]
            for name in killed:
                assert any(f" {name} was killed by SIGKILL" in line for line in restarts), (name, restarts)

            numbers = list(load.acked.values())
            assert len(set(numbers)) == len(numbers), "a registration number was given to two cases"
            assert all(n <= 1 for n in load.created.values()), "a key was answered 201 twice"
            for key, number in load.acked.items():
                read = await http.get(f"/v1/grievances/{number}", headers=dm)
                assert read.status_code == 200, (key, read.text)
                assert read.json()["registration_number"] == number

            sla_db = child(suite.supervisor, "sla").env["NIVARAN_SLA_DATABASE_URL"]

            async def deadlines_fired() -> bool:
                breaches = await rows(sla_db, BreachRow, BreachRow.registration_number, BreachRow.rule)
                notices = await rows(sla_db, ShowCauseNoticeRow, ShowCauseNoticeRow.registration_number)
                return all((n, DUE_BREACH_RULE) in breaches and (n,) in notices for n in numbers)

            await eventually(deadlines_fired, timeout=150, every=1.0)
            await asyncio.sleep(3)  # anything still retrying lands now, so a duplicate would be seen
            breaches = await rows(sla_db, BreachRow, BreachRow.registration_number, BreachRow.rule)
            show_causes = await rows(
                sla_db, ShowCauseNoticeRow, ShowCauseNoticeRow.registration_number, ShowCauseNoticeRow.number
            )
            twice = {k: n for k, n in (breaches + show_causes).items() if n > 1}
            assert twice == {}, "a deadline fired more than once"
            assert all(breaches[(n, DUE_BREACH_RULE)] == 1 and show_causes[(n, 1)] == 1 for n in numbers)
            assert sent_twice(suite.smtp, suite.messages) == []
            # The figures of a run (pytest -s shows them; bench/RESULTS.md quotes the slow variant's).
            print(  # noqa: T201
                f"chaos: {len(numbers)} cases acknowledged, {len(killed)} processes killed and restarted; answers met"
                f" {dict(load.seen)}; "
                + "; ".join(
                    f"{name} down: 503 in {max(t[:4]):.3f} s at most before the circuit opened,"
                    f" {max(t[4:]):.3f} s at most after"
                    for name, t in timings.items()
                )
            )


# Killed and held down after the waves, one after the other.
HELD_DOWN = ("redis", "postgres")
# Killed together, wave by wave; within a wave the processes do not depend on each other's restart.
WAVES = [["gateway", "routing", "sla-worker"], ["intake", "notify", "temporal"], ["identity", "sla"]]


async def test_every_process_killed_and_back_loses_no_case_and_fires_each_deadline_and_notice_once(
    tmp_path: Path, smtp_server: SmtpServer, key_prefix: str
) -> None:
    """The variant `make test` runs: two filers, the processes killed in three waves, then Redis held down."""
    await chaos_walk(tmp_path, smtp_server, key_prefix, filers=2, waves=WAVES)


@pytest.mark.slow
async def test_every_process_killed_in_turn_under_a_heavier_load(
    tmp_path: Path, smtp_server: SmtpServer, key_prefix: str
) -> None:
    """Each process on its own, one after the other, under four filers."""
    one_by_one = [[name] for wave in WAVES for name in wave]
    await chaos_walk(tmp_path, smtp_server, key_prefix, filers=4, waves=one_by_one)
