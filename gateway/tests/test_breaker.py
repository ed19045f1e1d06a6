"""Faults (issue 13 item 3): while Redis or a service is down, a caller gets 503 problem+json with Retry-After at once
(the dependency's circuit is open: nivaran_common.breaker), not after seconds of timeouts; once it is back, the
gateway recovers by itself after the circuit's TTL. Redis here is real: a port nothing listens on, then a private
redis-server started on that very port."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from gateway_testkit import RAW_PHONE

from nivaran_common.breaker import process_breakers
from nivaran_common.testing import free_port, venv_binary

PROBLEM_JSON = "application/problem+json"
# While a circuit is open, an answer takes no longer than this (the bound; a few ms when the machine is idle).
FAST_SECONDS = 0.5


def assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(response.headers["retry-after"]) <= max(1, int(process_breakers().settings.ttl_seconds) + 1)
    problem = response.json()
    assert problem["type"] == "urn:nivaran:problem:service-unavailable"
    assert problem["title_hi"]


async def timed(request: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_with_redis_down_signed_in_and_otp_calls_get_503_with_retry_after_quickly_and_recover_when_it_is_back(
    make_rig: Any, tmp_path: Path
) -> None:
    port = free_port()
    rig = await make_rig(redis=f"redis://127.0.0.1:{port}/0")
    threshold = process_breakers().settings.threshold

    answers = [
        await timed(rig.client.get("/v1/grievances", headers=rig.auth("citizen_a"))) for _ in range(threshold + 5)
    ]
    otp, otp_took = await timed(rig.client.post("/v1/auth/otp", json={"phone": RAW_PHONE}))

    for response, _ in answers:
        assert_503(response)
    assert_503(otp)
    assert rig.identity.requests == [], "no SMS is sent while the OTP budget cannot be counted"
    # The first calls meet a refused connection (no retry storm); once the circuit is open nothing waits at all.
    assert max(took for _, took in answers[:threshold]) < 1.0, answers
    assert max(took for _, took in answers[threshold:]) < FAST_SECONDS, answers
    assert otp_took < FAST_SECONDS

    folder = tmp_path / "redis"
    folder.mkdir()
    server = subprocess.Popen(
        [venv_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Half-open after the TTL: the first call through probes Redis, and from then on the gateway serves again.
        deadline = time.monotonic() + process_breakers().settings.ttl_seconds + 15
        while True:
            response = await rig.client.get("/v1/grievances", headers=rig.auth("citizen_a"))
            if response.status_code == 200:
                break
            assert_503(response)
            assert time.monotonic() < deadline, "the gateway did not recover once redis was back"
            await asyncio.sleep(0.2)
        assert (await rig.client.post("/v1/auth/otp", json={"phone": RAW_PHONE})).status_code == 202
    finally:
        server.kill()
        server.wait()


async def test_with_intake_down_a_filing_gets_503_with_retry_after_and_quickly_once_the_circuit_is_open(
    make_rig: Any, make_filing: Any, unused_tcp_port_target: str
) -> None:
    rig = await make_rig(intake_target=unused_tcp_port_target, grpc_timeout_seconds=2.0)
    threshold = process_breakers().settings.threshold

    answers = [
        await timed(
            rig.client.post("/v1/grievances", json=make_filing(), headers={"Idempotency-Key": f"chaos-key-{n:04d}"})
        )
        for n in range(threshold + 5)
    ]

    for response, _ in answers:
        assert_503(response)
    assert max(took for _, took in answers[threshold:]) < FAST_SECONDS, answers
    # Another service's circuit is its own: reads that do not need intake still work.
    assert (await rig.client.get("/v1/categories")).status_code == 200
