"""Liveness and readiness probes, and the state of every dependency.

`/readyz` says whether this replica can take requests, not whether the suite behind it is whole. An outage of a
shared dependency (Redis, a service) fails every replica's deep check at once: were it the readiness probe, Kubernetes
would take every gateway pod out of rotation together, and callers would get the ingress's bare 502/503 instead of
the gateway's problem+json 503 with `Retry-After` (the circuit breakers, nivaran_common.breaker) and the routes that
do not need the missing part would stop too. So readiness is the replica's own, and the dependencies are reported
at `/readyz/dependencies` for operators, dashboards and `make run`'s start-up.
"""

from __future__ import annotations

import asyncio

import grpc
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2
from redis.exceptions import RedisError

from nivaran_gateway.clients import HealthProbe
from nivaran_gateway.deps import State
from nivaran_gateway.problems import NOT_READY, problem_response, problem_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


async def _grpc_check(probe: HealthProbe, timeout: float) -> str:
    try:
        answer = await probe.stub.Check(health_pb2.HealthCheckRequest(service=probe.service), timeout=timeout)
    except grpc.RpcError as exc:
        code = exc.code().name.lower() if isinstance(exc, grpc.aio.AioRpcError) else "error"
        return f"unreachable ({code})"
    name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return name.lower()


async def _redis_check(state: State, timeout: float) -> str:
    try:
        async with asyncio.timeout(timeout):
            await state.redis.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    return "serving"


@router.get("/readyz", summary="Readiness: this replica has started and takes requests")
async def readyz() -> dict[str, str]:
    """200 once the app has started (its clients are open). A dependency that is down does not make it 503 (see the
    module's note): requests that need it are answered 503 problem+json with `Retry-After` by the routes."""
    return {"status": "ready"}


@router.get(
    "/readyz/dependencies",
    summary="Every dependency: each gRPC service reports SERVING and Redis answers",
    responses=problem_responses(503),
)
async def dependencies(state: State) -> JSONResponse:
    """200 when every dependency is ready; otherwise 503 problem+json with a `checks` member naming each state."""
    timeout = state.settings.readiness_timeout_seconds
    names = list(state.clients.health)
    results = await asyncio.gather(
        *(_grpc_check(state.clients.health[name], timeout) for name in names), _redis_check(state, timeout)
    )
    checks = dict(zip([*names, "redis"], results, strict=True))
    failing = sorted(name for name, result in checks.items() if result != "serving")
    if failing:
        return problem_response(
            NOT_READY, f"not ready: {', '.join(failing)}", "/readyz/dependencies", extensions={"checks": checks}
        )
    return JSONResponse({"status": "ready", "checks": checks})
