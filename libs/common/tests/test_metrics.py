"""nivaran_common.metrics: RED per RPC through a real in-process gRPC server, and the exposition on its own port."""

from __future__ import annotations

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from nivaran_common.grpc_server import build_server
from nivaran_common.metrics import RpcMetrics, process_registry, rpc_metrics, serve_metrics
from nivaran_common.testing import free_port

HEALTH_CHECK = "/grpc.health.v1.Health/Check"


def _handled(registry: CollectorRegistry, method: str, code: str) -> float:
    value = registry.get_sample_value(
        "grpc_server_handled_total",
        {"grpc_service": "grpc.health.v1.Health", "grpc_method": method, "grpc_code": code},
    )
    return value or 0.0


async def test_every_unary_call_is_counted_with_its_status_code_and_timed() -> None:
    registry = CollectorRegistry()
    server, port, _ = await build_server([], "127.0.0.1", 0, metrics=RpcMetrics(registry))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(health_pb2.HealthCheckRequest(service=""))
            await stub.Check(health_pb2.HealthCheckRequest(service=""))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
            assert refused.value.code() is grpc.StatusCode.NOT_FOUND
            # A method the server does not have is not counted: callers cannot mint label values.
            with pytest.raises(grpc.aio.AioRpcError):
                await channel.unary_unary("/made.up.Service/Anything")(b"")
    finally:
        await server.stop(None)
    assert _handled(registry, "Check", "OK") == 2
    assert _handled(registry, "Check", "NOT_FOUND") == 1
    count = registry.get_sample_value(
        "grpc_server_handling_seconds_count", {"grpc_service": "grpc.health.v1.Health", "grpc_method": "Check"}
    )
    assert count == 3
    names = {sample.labels.get("grpc_service") for metric in registry.collect() for sample in metric.samples}
    assert "made.up.Service" not in names


async def test_a_server_without_metrics_counts_nothing() -> None:
    registry = CollectorRegistry()
    server, port, _ = await build_server([], "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    finally:
        await server.stop(None)
    assert _handled(registry, "Check", "OK") == 0


async def test_the_exposition_serves_the_registry_on_its_port_and_stops() -> None:
    registry = CollectorRegistry()
    rpc_metrics(registry).observe("/nivaran.intake.v1.IntakeService/FileGrievance", grpc.StatusCode.OK, 0.02)
    exposition = serve_metrics(registry, "127.0.0.1", free_port())
    assert exposition is not None
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.get(f"http://127.0.0.1:{exposition.port}/metrics")
    finally:
        exposition.stop()
    assert reply.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(reply.text)}
    handled = families["grpc_server_handled"]
    assert handled.type == "counter"
    assert [s.labels for s in handled.samples if s.name == "grpc_server_handled_total"] == [
        {"grpc_service": "nivaran.intake.v1.IntakeService", "grpc_method": "FileGrievance", "grpc_code": "OK"}
    ]
    assert families["grpc_server_handling_seconds"].type == "histogram"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{exposition.port}/metrics", timeout=2)


def test_port_zero_keeps_the_exposition_off() -> None:
    assert serve_metrics(CollectorRegistry(), "127.0.0.1", 0) is None


def test_the_process_registry_is_one_per_process_and_carries_the_process_collector() -> None:
    assert process_registry() is process_registry()
    assert rpc_metrics(process_registry()) is rpc_metrics(process_registry())
    assert process_registry().get_sample_value("process_cpu_seconds_total") is not None
