"""Idempotency-Key: replay from Redis, refuse a reused key, lock out a concurrent twin, survive Redis being down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nivaran_common.errors import Unavailable
from nivaran_common.testing import eventually

PROBLEM_JSON = "application/problem+json"
Filing = Callable[..., dict[str, Any]]


async def test_same_key_and_body_replays_the_stored_response(rig: Any, make_filing: Filing) -> None:
    headers = {"Idempotency-Key": "replay-key-0001"}
    first = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    second = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    # The replay came from Redis: intake saw one request, carrying the client's key.
    assert [r.idempotency_key for r in rig.intake.requests] == ["replay-key-0001"]


async def test_replay_ignores_member_order_and_whitespace(rig: Any, make_filing: Filing) -> None:
    body = make_filing()
    headers = {"Idempotency-Key": "replay-key-0002", "Content-Type": "application/json"}

    first = await rig.client.post("/v1/grievances", content=json.dumps(body).encode(), headers=headers)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=False).encode()
    second = await rig.client.post("/v1/grievances", content=reordered, headers=headers)

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert len(rig.intake.requests) == 1


async def test_same_key_with_a_different_body_is_422_naming_the_key(rig: Any, make_filing: Filing) -> None:
    headers = {"Idempotency-Key": "reused-key-0001"}
    first = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    second = await rig.client.post(
        "/v1/grievances", json=make_filing(description="एक बिल्कुल अलग शिकायत का विवरण यहाँ है।"), headers=headers
    )

    assert first.status_code == 201
    assert second.status_code == 422
    assert second.headers["content-type"] == PROBLEM_JSON
    problem = second.json()
    assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert problem["title_hi"]
    assert len(rig.intake.requests) == 1


async def test_concurrent_duplicate_in_flight_is_409(rig: Any, make_filing: Filing) -> None:
    rig.intake.hold = asyncio.Event()
    headers = {"Idempotency-Key": "inflight-key-0001"}
    first = asyncio.create_task(rig.client.post("/v1/grievances", json=make_filing(), headers=headers))

    async def first_reached_intake() -> bool:
        return len(rig.intake.requests) == 1

    await eventually(first_reached_intake)
    twin = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    rig.intake.hold.set()
    done = await first

    assert twin.status_code == 409
    assert twin.headers["content-type"] == PROBLEM_JSON
    assert [e["field"] for e in twin.json()["errors"]] == ["Idempotency-Key"]
    assert int(twin.headers["retry-after"]) > 0
    assert done.status_code == 201
    assert len(rig.intake.requests) == 1
    # Once the first finished, the same retry replays it.
    again = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == done.json()


async def test_failed_request_releases_the_key_for_a_retry(rig: Any, make_filing: Filing) -> None:
    headers = {"Idempotency-Key": "failing-key-0001"}
    rig.intake.fail_with = Unavailable("intake database is restarting")
    failed = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    rig.intake.fail_with = None

    retried = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)

    assert failed.status_code == 503
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert len(rig.intake.by_number) == 1


async def test_redis_down_still_files_once_through_intake_idempotency(
    make_rig: Any, make_filing: Filing, unused_tcp_port_target: str
) -> None:
    rig = await make_rig(redis=f"redis://{unused_tcp_port_target}/0")
    headers = {"Idempotency-Key": "no-redis-key-0001"}

    first = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    retry = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)

    assert first.status_code == 201, first.text
    assert [r.idempotency_key for r in rig.intake.requests] == ["no-redis-key-0001", "no-redis-key-0001"]
    # Intake recognised the retry (created=false): still exactly one case.
    assert retry.status_code == 200
    assert retry.json()["registration_number"] == first.json()["registration_number"]
    assert len(rig.intake.by_number) == 1
