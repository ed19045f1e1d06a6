"""Intake throughput against raw Temporal workflow starts, measured in one run on one dev server.

(a) raw `start_workflow` calls per second against the Temporal dev server (SQLite file, WAL — as `make run`);
(b) end-to-end `POST /v1/grievances` per second through the gateway -> intake -> routing -> Postgres/SQLite ->
    Temporal start, at a fixed concurrency, with p50 / p99 latency;
and the ratio b / a. The whole suite runs as `make run` runs it (SQLite, private Redis, SMTP sink), in a scratch
folder, on free ports.

    .venv/bin/python bench/intake.py [--requests 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.benchlib

import devrun  # noqa: E402

from bench import benchlib  # noqa: E402
from nivaran_common.payload_codec import KEYS_SETTING, generate_codec_key, load_codec  # noqa: E402
from nivaran_common.temporal import connect_temporal  # noqa: E402
from nivaran_common.testing import free_port  # noqa: E402

FILING = {
    "complainant": {"name": "सीता देवी", "address": "बेलदारीचक, पटना", "email": "sita@example.in"},
    "description": "मैंने छह महीने पहले राशन कार्ड के लिए आवेदन दिया था, पर अब तक कार्ड नहीं बना है।",
    "channel": "web",
}


async def run_concurrently(count: int, concurrency: int, one: object) -> tuple[float, list[float]]:
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
            await one(i)  # type: ignore[operator]
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def bench(requests: int, concurrency: int) -> None:
    # The bench's own payload-codec key, inherited by every process it starts (instead of var/temporal-codec.key).
    os.environ.setdefault(KEYS_SETTING, generate_codec_key("bench"))
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
        sup = devrun.Supervisor(ports, log_dir=benchlib.kept_logs("intake"))
        try:
            await devrun.start_infrastructure(sup, var, keep_mail=False)
            urls = {name: f"sqlite+aiosqlite:///{var / f'{name}.db'}" for name in devrun.SERVICES}
            env = devrun.service_env(ports, urls, pki_dir=var / "pki")
            env.update({f"NIVARAN_{n.upper()}_LOG_LEVEL": "WARNING" for n in (*devrun.SERVICES, "gateway")})
            # The per-IP filing limit would throttle a load generator on one address.
            env["NIVARAN_GATEWAY_RATE_LIMITS_ENABLED"] = "false"
            devrun.load_demo_data(env)
            await devrun.start_services(sup, env)

            client = await connect_temporal(f"127.0.0.1:{ports.temporal}", payload_codec=load_codec())
            queue = f"bench-raw-{uuid.uuid4().hex[:6]}"

            async def raw_start(i: int) -> None:
                await client.start_workflow("BenchNoop", id=f"bench-raw-{uuid.uuid4()}", task_queue=queue)

            await run_concurrently(20, concurrency, raw_start)  # warm-up
            raw_seconds, raw_latencies = await run_concurrently(requests, concurrency, raw_start)

            statuses: dict[int, int] = {}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports.gateway}", timeout=60) as http:
                category = await _pick_category(ports.routing, var / "pki")
                body = {**FILING, "category_code": category, "location": {"district_code": "PAT"}}

                async def post(i: int) -> None:
                    response = await http.post("/v1/grievances", json=body)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

                await run_concurrently(20, concurrency, post)  # warm-up
                statuses.clear()
                e2e_seconds, e2e_latencies = await run_concurrently(requests, concurrency, post)
        finally:
            sup.stop()

    raw_rate = requests / raw_seconds
    e2e_rate = requests / e2e_seconds
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"requests: {requests} each, concurrency {concurrency}")
    print(
        f"(a) raw Temporal workflow starts: {raw_rate:.1f}/s  "
        f"p50 {percentile(raw_latencies, 0.5) * 1000:.1f} ms  p99 {percentile(raw_latencies, 0.99) * 1000:.1f} ms"
    )
    print(
        f"(b) POST /v1/grievances end to end: {e2e_rate:.1f}/s  "
        f"p50 {percentile(e2e_latencies, 0.5) * 1000:.1f} ms  p99 {percentile(e2e_latencies, 0.99) * 1000:.1f} ms  "
        f"mean {statistics.mean(e2e_latencies) * 1000:.1f} ms  statuses {statuses}"
    )
    print(f"ratio b/a: {e2e_rate / raw_rate:.3f}")
    if set(statuses) != {201}:
        raise SystemExit("some filings failed; the figures above are not valid")


async def _pick_category(routing_port: int, pki_dir: Path) -> str:
    import grpc

    from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
    from nivaran_common.testing import workload_tls

    credentials = workload_tls(pki_dir, "gateway").channel_credentials()
    async with grpc.aio.secure_channel(f"127.0.0.1:{routing_port}", credentials) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        categories = (await stub.ListCategories(routing_pb2.ListCategoriesRequest())).categories
    code: str = next(c.code for c in categories if not c.is_other and c.default_track == "sahyog")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(bench(args.requests, args.concurrency))
    sys.stdout.flush()
    os._exit(0)  # temporalio clients can abort at interpreter exit (sdk-python#300)


if __name__ == "__main__":
    main()
