"""Prometheus metrics: one registry per process, its exposition on a port of its own, and RED metrics per RPC.

Every process (the five services, the sla worker, the gateway) serves `GET /metrics` on its metrics port
(NIVARAN_<SERVICE>_METRICS_PORT; 0, the default, keeps it off) with prometheus_client's own HTTP server. The port is
not the service's port: the gRPC port is mutual TLS and the gateway's is public, while a scraper presents neither a
client certificate nor a token, so the metrics port is reached only from the monitoring namespace (the
NetworkPolicy in deploy/k8s/components/network-policies).

RED per RPC follows the names of go-grpc-prometheus, so that dashboards written for those work here too:
`grpc_server_handled_total{grpc_service, grpc_method, grpc_code}` and
`grpc_server_handling_seconds{grpc_service, grpc_method}`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)

from nivaran_common.logging import get_logger

log = get_logger(__name__)

# Seconds: gRPC calls of this suite answer in milliseconds; a report or a PDF may take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@functools.cache
def process_registry() -> CollectorRegistry:
    """This process's registry, made on first use: the process, platform and GC collectors plus what its parts add.

    A registry of its own rather than prometheus_client's global one, so that a test can build its own beside it."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


@dataclass
class MetricsServer:
    """A running exposition server; `stop()` closes its port."""

    server: WSGIServer
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> MetricsServer | None:
    """Serve `registry` at http://host:port/metrics (prometheus_client's server, a daemon thread); None for port 0."""
    if not port:
        return None
    server, _ = start_http_server(port, addr=host, registry=registry)
    bound = int(server.server_port)
    log.info("metrics served", address=f"{host}:{bound}", path="/metrics")
    return MetricsServer(server, bound)


class RpcMetrics:
    """RED per RPC: handled calls by service, method and status code, and their duration by service and method."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by status code.",
            ["grpc_service", "grpc_method", "grpc_code"],
            registry=registry,
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds",
            "Time from an RPC's arrival to its answer, in seconds.",
            ["grpc_service", "grpc_method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe(self, full_method: str, code: grpc.StatusCode, seconds: float) -> None:
        """Count one finished call of `full_method` ("/package.Service/Method")."""
        service, _, method = full_method.lstrip("/").rpartition("/")
        self.handled.labels(service, method, code.name).inc()
        self.handling.labels(service, method).observe(seconds)


@functools.cache
def rpc_metrics(registry: CollectorRegistry) -> RpcMetrics:
    """The RpcMetrics of `registry` (its metrics can be registered once only)."""
    return RpcMetrics(registry)


def _status_of(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.OK


def _measured(
    behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], method: str, metrics: RpcMetrics
) -> Any:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        try:
            response = await behavior(request, context)
            code = _status_of(context)
            return response
        except grpc.aio.AbortError:
            code = _status_of(context)
            raise
        except BaseException:
            # Cancelled by the client, or an error no inner interceptor mapped.
            code = grpc.StatusCode.CANCELLED if context.cancelled() else grpc.StatusCode.UNKNOWN
            raise
        finally:
            metrics.observe(method, code, time.perf_counter() - started)

    return wrapper


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Measures every unary call, including those the door refuses and those that fail (the outermost interceptor
    after tracing). Streaming calls (health's Watch, reflection) pass unmeasured; a method the server does not have
    is not counted, so a caller cannot make up label values."""

    def __init__(self, metrics: RpcMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _measured(handler.unary_unary, handler_call_details.method, self._metrics),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
