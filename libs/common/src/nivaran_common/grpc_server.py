"""gRPC server bootstrap: health, reflection, error mapping, tracing, RED metrics, and a graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from nivaran_common.breaker import database_down
from nivaran_common.door import Door
from nivaran_common.errors import DomainError, to_rpc_status
from nivaran_common.logging import get_logger
from nivaran_common.metrics import MetricsInterceptor, RpcMetrics, process_registry, rpc_metrics, serve_metrics
from nivaran_common.tls import TlsMaterial

log = get_logger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ServiceBinding:
    """One servicer to mount: the generated `add_XServicer_to_server`, the servicer, its full name."""

    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any
    full_name: str


@dataclass(frozen=True)
class ServerSecurity:
    """Mutual TLS and the door (nivaran_common.door) of one service. Every real service runs with one; only a
    unit test of a handler may build a server without it."""

    tls: TlsMaterial
    door: Door


def _wrap_unary(behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], method: str) -> Any:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(request, context)
        except DomainError as exc:
            await context.abort_with_status(to_rpc_status(exc))
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except NotImplementedError:
            # The generated base servicer raises this for methods a later issue will fill in.
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
        except Exception as exc:
            if database_down(exc):
                # The database is down or its pool exhausted: UNAVAILABLE, which callers retry (the gateway: 503).
                log.warning("database unavailable", method=method, error_type=type(exc).__name__)
                await context.abort(grpc.StatusCode.UNAVAILABLE, "the database cannot be reached; retry shortly")
            # Never leak a traceback to the caller; the log has it, with the trace id.
            log.exception("unhandled error in rpc", method=method)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; see server logs")

    return wrapper


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Maps DomainError to its status (with field violations), a database outage to UNAVAILABLE and anything else to
    a bare INTERNAL."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(handler.unary_unary, handler_call_details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _tracing_interceptors() -> list[grpc.aio.ServerInterceptor]:
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor()]  # type: ignore[no-untyped-call]


async def build_server(
    bindings: Sequence[ServiceBinding],
    host: str,
    port: int,
    security: ServerSecurity | None = None,
    metrics: RpcMetrics | None = None,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build and start a server; returns it, the bound port (useful with port 0) and its health servicer.

    With `security`, the port is mutual TLS and every call passes the door; with `metrics`, every unary call is
    counted and timed (outside the door and the error mapping, so refusals and failures count with their codes)."""
    measured = [MetricsInterceptor(metrics)] if metrics is not None else []
    interceptors: list[grpc.aio.ServerInterceptor] = [*_tracing_interceptors(), *measured, DomainErrorInterceptor()]
    if security is not None:
        interceptors.append(security.door)
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    server = grpc.aio.server(interceptors=interceptors, options=options)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
    names = [b.full_name for b in bindings]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    if security is None:
        bound = server.add_insecure_port(f"{host}:{port}")
    else:
        bound = server.add_secure_port(f"{host}:{port}", security.tls.server_credentials())
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health_servicer


async def _start_probe_server(health_servicer: health.aio.HealthServicer, host: str, port: int) -> grpc.aio.Server:
    """A plaintext server answering grpc.health.v1 only, from the main server's health servicer: the kubelet's grpc
    probes cannot present a client certificate."""
    probe = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, probe)
    probe.add_insecure_port(f"{host}:{port}")
    await probe.start()
    return probe


async def serve_until_signalled(
    bindings: Sequence[ServiceBinding],
    host: str,
    port: int,
    grace_seconds: float,
    on_started: Callable[[int], Awaitable[None]] | None = None,
    *,
    security: ServerSecurity,
    health_port: int = 0,
    metrics_port: int = 0,
) -> None:
    """Serve until SIGTERM or SIGINT, then report NOT_SERVING and drain in-flight calls for `grace_seconds`; with
    `health_port`, health is also answered in plaintext there; with `metrics_port`, the process's metrics
    (nivaran_common.metrics) are served there, RED per RPC among them."""
    registry = process_registry() if metrics_port else None
    metrics = rpc_metrics(registry) if registry is not None else None
    server, bound, health_servicer = await build_server(bindings, host, port, security, metrics)
    exposition = serve_metrics(registry, host, metrics_port) if registry is not None else None
    probe = await _start_probe_server(health_servicer, host, health_port) if health_port else None
    log.info("grpc server started", address=f"{host}:{bound}", services=[b.full_name for b in bindings])
    if on_started is not None:
        await on_started(bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping grpc server", grace_seconds=grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace_seconds)
    if probe is not None:
        await probe.stop(None)
    if exposition is not None:
        exposition.stop()
    log.info("grpc server stopped")
