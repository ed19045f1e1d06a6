"""Circuit breakers (nivaran_common.breaker, issue 13 item 3): a dependency that keeps failing is refused at once until
its TTL runs out, then one call probes it and the circuit closes again by itself. Against a real redis-server (on a
port nothing listens on, then started there) and a real PostgreSQL port nothing listens on."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.breaker import (
    Breakers,
    BreakerSettings,
    CircuitOpen,
    RedisCircuitOpen,
    ServiceCircuitOpen,
    database_down,
    redis_down,
    retry_after_header,
    service_down,
)
from nivaran_common.db import create_engine
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_common.redis import create_redis
from nivaran_common.testing import DatabaseFactory, free_port, venv_binary

TTL = 0.6


def breakers(threshold: int = 2, ttl: float = TTL) -> Breakers:
    return Breakers(BreakerSettings(threshold=threshold, ttl_seconds=ttl))


class Down(ConnectionError):
    """What a dependency that is down raises."""


async def failing() -> None:
    raise Down("refused")


async def answering() -> str:
    return "ok"


async def test_a_circuit_opens_after_the_threshold_refuses_at_once_then_half_opens_and_closes_after_the_ttl() -> None:
    b = breakers()
    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return await answering()

    for _ in range(2):
        with pytest.raises(Down):
            await b.guard("dep", failing, counts=redis_down, refused=RedisCircuitOpen)
    assert await b.state("dep") == "opened"

    started = time.monotonic()
    with pytest.raises(RedisCircuitOpen) as refused:
        await b.guard("dep", counted, counts=redis_down, refused=RedisCircuitOpen)
    assert time.monotonic() - started < 0.1
    assert calls == 0, "an open circuit does not call the dependency"
    assert 0 < refused.value.retry_after <= TTL
    assert refused.value.retry_after_header == "1"
    assert isinstance(refused.value, RedisError), "every `except RedisError` treats it as Redis being down"

    await asyncio.sleep(TTL + 0.1)
    assert await b.guard("dep", counted, counts=redis_down, refused=RedisCircuitOpen) == "ok"
    assert calls == 1
    assert await b.state("dep") == "closed"


async def test_a_failed_probe_opens_the_circuit_again_for_a_whole_ttl() -> None:
    b = breakers(threshold=1)
    with pytest.raises(Down):
        await b.guard("dep", failing, counts=redis_down, refused=RedisCircuitOpen)
    await asyncio.sleep(TTL + 0.1)
    with pytest.raises(Down):
        await b.guard("dep", failing, counts=redis_down, refused=RedisCircuitOpen)
    with pytest.raises(RedisCircuitOpen) as refused:
        await b.guard("dep", answering, counts=redis_down, refused=RedisCircuitOpen)
    assert refused.value.retry_after > TTL / 2


async def test_answers_that_are_not_outages_never_open_a_circuit_and_a_success_resets_the_count() -> None:
    b = breakers(threshold=2)

    async def script_error() -> None:
        raise ResponseError("ERR wrong number of arguments")

    for _ in range(5):
        with pytest.raises(ResponseError):
            await b.guard("dep", script_error, counts=redis_down, refused=RedisCircuitOpen)
    with pytest.raises(Down):
        await b.guard("dep", failing, counts=redis_down, refused=RedisCircuitOpen)
    await b.guard("dep", answering, counts=redis_down, refused=RedisCircuitOpen)
    with pytest.raises(Down):
        await b.guard("dep", failing, counts=redis_down, refused=RedisCircuitOpen)
    assert await b.state("dep") == "closed", "failures in a row open it, not failures in all"


def test_an_open_service_circuit_is_a_failed_call_with_code_unavailable() -> None:
    refused = ServiceCircuitOpen("grpc:127.0.0.1:1", 2.2)
    assert isinstance(refused, grpc.RpcError)
    assert isinstance(refused, CircuitOpen)
    assert refused.code() == grpc.StatusCode.UNAVAILABLE
    assert service_down(refused)
    assert refused.retry_after_header == "3"


def test_retry_after_comes_from_an_open_circuit_anywhere_in_the_chain_of_causes() -> None:
    """A token check that failed because Redis' circuit is open says when the circuit half-opens, not a guess."""

    class Wrapped(Exception):
        pass

    def raised_from(cause: BaseException) -> BaseException:
        try:
            raise Wrapped("keys unavailable") from cause
        except Wrapped as exc:
            return exc

    assert retry_after_header(raised_from(RedisCircuitOpen("redis", 1.2)), "9") == "2"
    assert retry_after_header(ServiceCircuitOpen("grpc:x", 0.1), "9") == "1"
    assert retry_after_header(raised_from(ConnectionError("refused")), "9") == "9"
    looped = Wrapped("a")
    looped.__context__ = Wrapped("b")
    looped.__context__.__context__ = looped
    assert retry_after_header(looped, "7") == "7"


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A port nothing listens on yet; the test may start a private redis-server there (stopped afterwards)."""
    servers: list[subprocess.Popen[bytes]] = []
    yield free_port(), servers
    for server in servers:
        server.kill()
        server.wait()


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [venv_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_redis_down_fails_fast_from_the_first_call_and_the_client_recovers_once_it_is_back(
    redis_port: tuple[int, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    port, servers = redis_port
    client = create_redis(f"redis://127.0.0.1:{port}/0", breakers=breakers(threshold=3))
    try:
        timings: list[float] = []
        errors: list[type[BaseException]] = []
        for _ in range(8):
            started = time.monotonic()
            with pytest.raises(RedisError) as failed:
                await client.get("k")
            timings.append(time.monotonic() - started)
            errors.append(type(failed.value))
        # No retry storm before the circuit opens (redis-py's default retries for seconds), nothing at all after.
        assert max(timings[:3]) < 0.5, timings
        assert errors[3:] == [RedisCircuitOpen] * 5
        assert max(timings[3:]) < 0.1, timings

        servers.append(start_redis(port, tmp_path / "redis"))
        await asyncio.sleep(TTL + 0.1)

        async def answers() -> bool:
            try:
                return await client.set("k", "v") is True
            except RedisError:
                await asyncio.sleep(0.1)
                return False

        deadline = time.monotonic() + 15
        while not await answers():
            assert time.monotonic() < deadline, "the client did not recover once redis was back"
        assert await client.get("k") == "v"
    finally:
        await client.aclose()


async def test_a_database_that_cannot_be_reached_counts_as_down_but_a_constraint_violation_does_not(
    make_database: DatabaseFactory,
) -> None:
    dead = create_engine(f"postgresql://nivaran:x@127.0.0.1:{free_port()}/nivaran")
    try:
        started = time.monotonic()
        with pytest.raises(DBAPIError) as refused:
            async with dead.connect() as conn:
                await conn.execute(text("select 1"))
        assert database_down(refused.value), refused.value
        assert time.monotonic() - started < 2
    finally:
        await dead.dispose()

    live = create_engine(make_database("postgres", prefix="nivaran_breaker"))
    try:
        async with live.begin() as conn:
            await conn.execute(text("create table t (id int primary key)"))
            await conn.execute(text("insert into t values (1)"))
        with pytest.raises(IntegrityError) as conflict:
            async with live.begin() as conn:
                await conn.execute(text("insert into t values (1)"))
        assert not database_down(conflict.value)
    finally:
        await live.dispose()


class _IntakeOnADeadDatabase(intake_pb2_grpc.IntakeServiceServicer):  # type: ignore[misc]
    """GetGrievance reads from a database nothing listens for, as intake's store does when PostgreSQL is down."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    async def GetGrievance(self, request: Any, context: Any) -> Any:  # noqa: N802
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))
        return intake_pb2.Grievance()


async def test_a_service_whose_database_is_down_answers_unavailable_quickly() -> None:
    servicer = _IntakeOnADeadDatabase(f"postgresql://nivaran:x@127.0.0.1:{free_port()}/intake")
    binding = ServiceBinding(
        intake_pb2_grpc.add_IntakeServiceServicer_to_server, servicer, "nivaran.intake.v1.IntakeService"
    )
    server, port, _ = await build_server([binding], "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            started = time.monotonic()
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.GetGrievance(intake_pb2.GetGrievanceRequest(registration_number="BR-PAT-2026-0000001-7"))
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value
        assert "database" in (failed.value.details() or "")
        assert time.monotonic() - started < 2
    finally:
        await server.stop(None)
        await servicer.engine.dispose()
