"""Full case lifecycles per second against filings alone, measured in one run on one suite.

A lifecycle is these calls through the gateway's /v1, one after the other:
    POST /v1/grievances                                   (a `sahyog` category whose L1 is the District Supply
                                                           Officer: FOOD-RATION-CARD in Patna, as in the README)
    GET  /v1/grievances/{n}           until the case is in the officer's scope (--poll apart; 404 before)
    POST /v1/grievances/{n}/reports   {"kind": "action_taken", ...}   the officer's action-taken report (S9)
    POST /v1/grievances/{n}/disposal  {"kind": "resolved", ...}       the disposal
the officer's calls with the DSO's token (dev seed account dso.patna, logged in once), the acts with an
Idempotency-Key each. The officer has to wait for the assignment: until the lifecycle workflow has recorded it in
intake, the case lies outside the DSO's scope and the gateway answers 404 to every call on it, an act too.

(a) filings alone: `POST /v1/grievances` per second (the figure of bench/intake.py's (b)), at a fixed concurrency;
(b) full lifecycles per second at the same concurrency, with p50 / p99 per-lifecycle latency;
and the ratio b / a. Both run against the same suite, started as `make run` starts it (SQLite, private Redis, SMTP
sink) in a scratch folder on free ports, (a) first. Each phase waits afterwards until the suite is idle again (the
sla worker finishes each case's start in the background), and the suite's CPU time up to then is printed with it.
Every lifecycle is checked afterwards: `GET /v1/grievances/{n}` must say "disposed".

    .venv/bin/python bench/lifecycles.py [--lifecycles 200] [--concurrency 8] [--poll 0.1] [--profile intake,notify]
                                         [--db sqlite|postgres] [--stored 1000000]

--profile samples the named processes of the suite with py-spy while (a) runs and until the suite is idle again,
and prints each one's top functions (the raw profiles stay in bench/runs/<time>-lifecycles/).
--db postgres puts every service on a PostgreSQL database of its own (created on NIVARAN_TEST_PG_URL's server and
dropped at the end); --stored N seeds N past cases into intake's database with COPY before the warm-up
(bench/seeding.py), so that the lifecycles run against a state's worth of history; it implies --db postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.benchlib, bench.seeding

import devrun  # noqa: E402

from bench import benchlib, seeding  # noqa: E402
from nivaran_common.payload_codec import KEYS_SETTING, generate_codec_key  # noqa: E402
from nivaran_common.testing import PG_ADMIN_URL, create_pg_database, drop_pg_database, free_port  # noqa: E402

CATEGORY = "FOOD-RATION-CARD"
DISTRICT = "PAT"
OFFICER = ("dso.patna", "dev-dso-patna-2026")
OFFICER_POSITION = "POS-FOOD-PAT-DSO"
FILING = {
    "complainant": {"name": "सीता देवी", "address": "बेलदारीचक, पटना", "email": "sita@example.in"},
    "description": "मैंने छह महीने पहले राशन कार्ड के लिए आवेदन दिया था, पर अब तक कार्ड नहीं बना है।",
    "category_code": CATEGORY,
    "location": {"district_code": DISTRICT},
    "channel": "web",
}
REPORT = {"kind": "action_taken", "action_taken": "आवेदन की जाँच हुई; राशन कार्ड बनाकर आवेदिका को सौंप दिया गया।"}
DISPOSAL = {"kind": "resolved", "action_taken": "राशन कार्ड जारी कर दिया गया; आवेदिका ने प्राप्ति की पुष्टि की।"}

# The bench's suite differs from `make run` in these settings only (printed with the figures). Rate limits stay on,
# so every request still pays its Redis call, but the two buckets the bench fills are raised: filings count per
# client IP (30 per 10 min) and the officer's acts and reads per account (600 per min); one load generator on one
# address with one officer would hit both within seconds. The access token outlives the longest run.
BENCH_ENV = {
    "NIVARAN_GATEWAY_RATE_LIMITS": json.dumps(
        {"filing": {"limit": 10_000_000, "window_seconds": 600}, "api": {"limit": 10_000_000, "window_seconds": 60}},
        separators=(",", ":"),
    ),
    "NIVARAN_IDENTITY_ACCESS_TOKEN_TTL_SECONDS": str(6 * 3600),
}
WARM_UP = 20
# The suite counts as idle when its processes use less than this share of one core over a second.
IDLE_SHARE = 0.10
SETTLE_LIMIT_SECONDS = 600.0
ASSIGNMENT_LIMIT_SECONDS = 60.0


def bytecode_env(var: Path) -> dict[str, str]:
    """Let the processes cache bytecode (in the scratch folder), as `make setup` and the images do: Temporal's
    sandbox imports the workflow module afresh for every case, and with PYTHONDONTWRITEBYTECODE set and no .pyc
    that is a compile per case (see bench/RESULTS.md, deadlines)."""
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(var / "pycache")}


async def run_concurrently(
    count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """Run `one(i)` `count` times with at most `concurrency` in flight; returns elapsed seconds and latencies."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def suite_cpu_by_process(sup: devrun.Supervisor) -> dict[str, float]:
    """User + system CPU time so far of each process of the suite (with its children), by name."""
    totals: dict[str, float] = {}
    for child in sup.children:
        try:
            root = psutil.Process(child.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            totals[child.name] = totals.get(child.name, 0.0) + times.user + times.system
    return totals


def suite_cpu_seconds(sup: devrun.Supervisor) -> float:
    """User + system CPU time of every process of the suite (and their children) so far."""
    return sum(suite_cpu_by_process(sup).values())


async def settle(sup: devrun.Supervisor) -> float:
    """Wait until the suite is idle (under IDLE_SHARE of a core for a second); returns the seconds waited."""
    began = time.perf_counter()
    before = suite_cpu_seconds(sup)
    while time.perf_counter() - began < SETTLE_LIMIT_SECONDS:
        await asyncio.sleep(1.0)
        sup.check_alive()
        now = suite_cpu_seconds(sup)
        if now - before < IDLE_SHARE:
            return time.perf_counter() - began
        before = now
    raise SystemExit(f"the suite did not fall idle within {SETTLE_LIMIT_SECONDS:.0f} s; the figures are not valid")


@dataclass
class Phase:
    """One measured phase: its items' latencies; the CPU the suite, this script and everything else on the machine
    used while the items ran (in cores: CPU seconds per second), and the suite's CPU until it was idle again."""

    count: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    suite_cores: float = 0.0
    bench_cores: float = 0.0
    other_cores: float = 0.0
    suite_cpu_until_idle: float = 0.0
    by_process: dict[str, float] = field(default_factory=dict)
    settled_after: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        return (
            f"{self.rate:.1f}/s  p50 {ms(percentile(self.latencies, 0.5))}  "
            f"p99 {ms(percentile(self.latencies, 0.99))}  mean {ms(statistics.mean(self.latencies))}  "
            f"({self.count} in {self.seconds:.1f} s)"
        )

    def cpu_line(self) -> str:
        return (
            f"cores busy while timed: suite {self.suite_cores:.2f}, load generator {self.bench_cores:.2f}, "
            f"rest of the machine {self.other_cores:.2f}; suite CPU until idle ({self.settled_after:.1f} s after the "
            f"last answer) {self.suite_cpu_until_idle:.1f} s, {self.suite_cpu_until_idle / self.count * 1000:.1f} ms "
            "each"
        )

    def process_line(self) -> str:
        ranked = sorted(self.by_process.items(), key=lambda item: -item[1])
        return "suite CPU until idle by process: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in ranked)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent running something, all cores (Linux: guest time is inside user)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


async def measure(sup: devrun.Supervisor, count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> Phase:
    phase = Phase(count)
    me = psutil.Process()
    processes_before = suite_cpu_by_process(sup)
    suite_before = sum(processes_before.values())
    bench_before, machine_before = sum(me.cpu_times()[:2]), machine_busy_seconds()
    phase.seconds, phase.latencies = await run_concurrently(count, concurrency, one)
    suite = suite_cpu_seconds(sup) - suite_before
    bench = sum(me.cpu_times()[:2]) - bench_before
    machine = machine_busy_seconds() - machine_before
    phase.suite_cores, phase.bench_cores = suite / phase.seconds, bench / phase.seconds
    phase.other_cores = max(0.0, machine - suite - bench) / phase.seconds
    phase.settled_after = await settle(sup)
    processes_after = suite_cpu_by_process(sup)
    phase.by_process = {name: t - processes_before.get(name, 0.0) for name, t in processes_after.items()}
    phase.suite_cpu_until_idle = sum(processes_after.values()) - suite_before
    return phase


class Failures:
    """Counts every answer per step; keeps the first unexpected one of each step, verbatim."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter[int]] = {}
        self.first: dict[str, str] = {}

    def check(self, step: str, response: httpx.Response, expected: int) -> dict[str, Any] | None:
        self.statuses.setdefault(step, Counter())[response.status_code] += 1
        if response.status_code == expected:
            body: dict[str, Any] = response.json()
            return body
        self.first.setdefault(step, f"{response.request.method} {response.request.url.path} -> "
                              f"{response.status_code} {response.text[:2000]}")  # fmt: skip
        return None

    def note(self, step: str, what: str) -> None:
        self.first.setdefault(step, what)

    def summary(self) -> str:
        return "  ".join(f"{step} {dict(counts)}" for step, counts in self.statuses.items())


async def bench(lifecycles: int, concurrency: int, poll: float, profile: list[str], db: str, stored: int) -> None:
    # The bench's own payload-codec key, inherited by every process it starts (instead of var/temporal-codec.key).
    os.environ.setdefault(KEYS_SETTING, generate_codec_key("bench"))
    load_before = os.getloadavg()
    seeded: seeding.Seeded | None = None
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nivaran-bench-") as tmp:
        var = Path(tmp)
        ports = devrun.Ports(
            temporal=free_port(), temporal_ui=free_port(), redis=free_port(), smtp=free_port(),
            routing=free_port(), identity=free_port(), intake=free_port(), notify=free_port(), sla=free_port(),
            gateway=free_port(), messages=free_port(), mailin=free_port(),
            # No metrics endpoints: a bench must not collide with a running `make run` on 9150-9160.
            gateway_metrics=0, routing_metrics=0, identity_metrics=0, intake_metrics=0, notify_metrics=0,
            sla_metrics=0, sla_worker_metrics=0, mailin_metrics=0,
        )  # fmt: skip
        sup = devrun.Supervisor(ports, log_dir=benchlib.kept_logs("lifecycles"))
        try:
            await devrun.start_infrastructure(sup, var, keep_mail=False)
            if db == "postgres":
                urls = {name: create_pg_database(f"nivaran_bench_{name}") for name in devrun.SERVICES}
                made.extend(urls.values())
            else:
                urls = {name: f"sqlite+aiosqlite:///{var / f'{name}.db'}" for name in devrun.SERVICES}
            env = devrun.service_env(ports, urls, pki_dir=var / "pki")
            env.update({f"NIVARAN_{n.upper()}_LOG_LEVEL": "WARNING" for n in (*devrun.SERVICES, "gateway")})
            env.update(BENCH_ENV)
            env.update(bytecode_env(var))
            devrun.load_demo_data(env)
            await devrun.start_services(sup, env)
            if stored:
                print(f"seeding {stored:,} stored cases into intake's database …", flush=True)
                seeded = seeding.seed_intake(urls["intake"], stored)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports.gateway}", timeout=120) as http:
                result = await _run(sup, http, lifecycles, concurrency, poll, profile)
        finally:
            sup.stop()
            for url in made:
                drop_pg_database(url)
    load_after = os.getloadavg()

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"load average before {' / '.join(f'{v:.2f}' for v in load_before)}, "
        f"after {' / '.join(f'{v:.2f}' for v in load_after)}"
    )
    print(f"suite as `make run`, but: {' '.join(f'{k}={v}' for k, v in BENCH_ENV.items())}; bytecode cached")
    if db == "postgres":
        print(f"databases: PostgreSQL ({PG_ADMIN_URL.rsplit('@', 1)[-1]}), one per service, on this machine")
    if seeded is not None:
        print(
            f"stored before the run: {seeded.cases:,} cases ({seeded.open_cases:,} pending) and {seeded.events:,} "
            f"timeline events in intake, {seeded.table_mib:,.0f} MiB with indexes, seeded with COPY in "
            f"{seeded.seconds:.1f} s (bench/seeding.py)"
        )
    print(
        f"sizes: {lifecycles} filings, then {lifecycles} lifecycles ({CATEGORY}, district {DISTRICT}, acts by "
        f"{OFFICER[0]}); concurrency {concurrency}; warm-up {WARM_UP} filings and {WARM_UP} lifecycles first"
    )
    filings, full, failures = result.filings, result.lifecycles, result.failures
    print(f"(a) POST /v1/grievances alone: {filings.line()}")
    print(f"    {filings.cpu_line()}")
    print(f"    {filings.process_line()}")
    for line in result.profile:
        print(line)
    print(f"(b) lifecycles (file, action-taken report, disposal): {full.line()}")
    print(f"    {full.cpu_line()}")
    print(f"    {full.process_line()}")
    steps = "  ".join(f"{step} p50 {ms(percentile(values, 0.5))} p99 {ms(percentile(values, 0.99))}"
                      for step, values in result.steps.items())  # fmt: skip
    print(f"    per step: {steps}")
    print(
        f"    waiting for assignment: GET /v1/grievances/{{n}} every {poll * 1000:.0f} ms until it is in the officer's "
        f"scope: {statistics.mean(result.polls):.2f} reads per lifecycle (max {max(result.polls)})"
    )
    print(f"answers: {failures.summary()}")
    print(f"check: GET /v1/grievances/{{n}} after (b): {dict(result.disposed)} of {lifecycles}")
    print(f"ratio b/a (lifecycles/s / filings/s): {full.rate / filings.rate:.3f}")
    per_filing, per_lifecycle = filings.suite_cpu_until_idle / filings.count, full.suite_cpu_until_idle / full.count
    print(f"suite CPU until idle, per filing / per lifecycle: {per_filing / per_lifecycle:.3f}")
    if failures.first or result.disposed != Counter({"disposed": lifecycles}):
        for step, what in failures.first.items():
            print(f"first failure of {step}: {what}")
        raise SystemExit("some calls failed or some cases are not disposed; the figures above are not valid")


@dataclass
class Result:
    filings: Phase
    lifecycles: Phase
    steps: dict[str, list[float]]
    polls: list[int]
    disposed: Counter[str]
    failures: Failures
    profile: list[str] = field(default_factory=list)


async def _run(
    sup: devrun.Supervisor, http: httpx.AsyncClient, lifecycles: int, concurrency: int, poll: float,
    profile: list[str],
) -> Result:  # fmt: skip
    failures = Failures()
    steps: dict[str, list[float]] = {"file": [], "assignment": [], "report": [], "disposal": []}
    polls: list[int] = []
    login = await http.post("/v1/auth/login", json={"username": OFFICER[0], "password": OFFICER[1]})
    token_body = failures.check("login", login, 200)
    if token_body is None:
        raise SystemExit(f"officer login failed: {failures.first['login']}")
    officer = {"Authorization": f"Bearer {token_body['access_token']}"}
    run = uuid.uuid4().hex[:8]
    numbers: list[str] = []
    timing = True

    async def file(step: str) -> str | None:
        body = failures.check(step, await http.post("/v1/grievances", json=FILING), 201)
        if body is None:
            return None
        number: str = body["registration_number"]
        return number

    async def assigned(number: str) -> bool:
        """Wait until the officer sees the case: until the lifecycle has recorded its assignment, the case lies
        outside the DSO's scope and every call on it, an act too, is 404."""
        deadline = time.perf_counter() + ASSIGNMENT_LIMIT_SECONDS
        count = 0
        while time.perf_counter() < deadline:
            response = await http.get(f"/v1/grievances/{number}", headers=officer)
            count += 1
            if response.status_code != 404:
                if timing:
                    polls.append(count)
                body = failures.check("assignment", response, 200)
                if body is None:
                    return False
                position = (body.get("assignment") or {}).get("position_id")
                if body["status"] != "assigned" or position != OFFICER_POSITION:
                    failures.note("assignment", f"{number} is {body['status']} at {position}, not assigned to "
                                  f"{OFFICER_POSITION}")  # fmt: skip
                    return False
                return True
            await asyncio.sleep(poll)
        failures.note(
            "assignment", f"{number} was not in the officer's scope {ASSIGNMENT_LIMIT_SECONDS:.0f} s after filing"
        )
        return False

    async def post_filing(i: int) -> None:
        await file("filing")

    async def lifecycle(i: int) -> None:
        t0 = time.perf_counter()
        number = await file("lifecycle filing")
        if number is None:
            return
        t1 = time.perf_counter()
        if not await assigned(number):
            return
        t_assigned = time.perf_counter()
        report = await http.post(
            f"/v1/grievances/{number}/reports",
            json=REPORT,
            headers={**officer, "Idempotency-Key": f"bench-{run}-{i}-report"},
        )
        answer = failures.check("report", report, 200)
        if answer is None:
            return
        t2 = time.perf_counter()
        disposal = await http.post(
            f"/v1/grievances/{number}/disposal",
            json=DISPOSAL,
            headers={**officer, "Idempotency-Key": f"bench-{run}-{i}-disposal"},
        )
        answer = failures.check("disposal", disposal, 200)
        if answer is None:
            return
        if answer.get("status") != "disposed":
            failures.note("disposal", f"{number}: the disposal answered status {answer.get('status')!r}")
        t3 = time.perf_counter()
        if timing:
            numbers.append(number)
            steps["file"].append(t1 - t0)
            steps["assignment"].append(t_assigned - t1)
            steps["report"].append(t2 - t_assigned)
            steps["disposal"].append(t3 - t2)

    # Warm-up, then idle: the first cases pay for imports, connections and the workflow sandbox's first load.
    timing = False
    await run_concurrently(WARM_UP, concurrency, post_filing)
    await run_concurrently(WARM_UP, concurrency, lifecycle)
    await settle(sup)
    if failures.first:
        for step, what in failures.first.items():
            print(f"warm-up: first failure of {step}: {what}")
        raise SystemExit("the warm-up failed; nothing was measured")
    failures.statuses.clear()
    timing = True

    profiles = benchlib.SuiteProfiles(sup, profile, "lifecycles")
    if profile:
        profiles.start()
    filings = await measure(sup, lifecycles, concurrency, post_filing)
    profiled = profiles.stop("(a)")
    full = await measure(sup, lifecycles, concurrency, lifecycle)

    disposed: Counter[str] = Counter()

    async def check(i: int) -> None:
        body = failures.check("check", await http.get(f"/v1/grievances/{numbers[i]}", headers=officer), 200)
        if body is None:
            disposed["unreadable"] += 1
            return
        disposed[body["status"]] += 1
        position = (body.get("assignment") or {}).get("position_id")
        if position != OFFICER_POSITION:
            failures.note("check", f"{numbers[i]} is at {position}, not {OFFICER_POSITION}")

    await run_concurrently(len(numbers), concurrency, check)
    return Result(filings, full, steps, polls, disposed, failures, profiled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, default=200, help="lifecycles in (b), and filings in (a)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--poll", type=float, default=0.1, help="seconds between the officer's reads while waiting for assignment"
    )
    parser.add_argument(
        "--profile", default="", help="comma-separated suite processes to sample with py-spy during (a), e.g. intake"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="the services' databases")
    parser.add_argument(
        "--stored", type=int, default=0, help="cases seeded into intake before the run (implies --db postgres)"
    )
    args = parser.parse_args()
    profile = [name for name in args.profile.split(",") if name]
    db = "postgres" if args.stored else args.db
    asyncio.run(bench(args.lifecycles, args.concurrency, args.poll, profile, db, args.stored))
    sys.stdout.flush()
    os._exit(0)  # temporalio clients can abort at interpreter exit (sdk-python#300)


if __name__ == "__main__":
    main()
