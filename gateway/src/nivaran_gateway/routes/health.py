"""Liveness and readiness probes."""

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


@router.get(
    "/readyz",
    summary="Readiness: every gRPC service reports SERVING and Redis answers",
    responses=problem_responses(503),
)
async def readyz(state: State) -> JSONResponse:
    """200 when every dependency is ready; otherwise 503 problem+json with a `checks` member naming each state."""
    timeout = state.settings.readiness_timeout_seconds
    names = list(state.clients.health)
    results = await asyncio.gather(
        *(_grpc_check(state.clients.health[name], timeout) for name in names), _redis_check(state, timeout)
    )
    checks = dict(zip([*names, "redis"], results, strict=True))
    failing = sorted(name for name, result in checks.items() if result != "serving")
    if failing:
        return problem_response(NOT_READY, f"not ready: {', '.join(failing)}", "/readyz", extensions={"checks": checks})
    return JSONResponse({"status": "ready", "checks": checks})
