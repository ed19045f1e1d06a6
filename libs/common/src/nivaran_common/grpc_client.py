"""gRPC client channels with tracing and retries of transient failures."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from nivaran_common.breaker import Breakers, ServiceCircuitOpen, service_down
from nivaran_common.door import forwarding_interceptors
from nivaran_common.grpc_server import MAX_MESSAGE_BYTES
from nivaran_common.tls import TlsMaterial

_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class _CircuitBreaking(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Every unary call through the target's circuit (nivaran_common.breaker): UNAVAILABLE counts as a failure, and
    while the circuit is open a call fails at once with ServiceCircuitOpen (UNAVAILABLE) without reaching the wire."""

    def __init__(self, breakers: Breakers, target: str) -> None:
        self._breakers = breakers
        self._circuit = breakers.circuit_for(f"grpc:{target}")

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        async def finished_call() -> Any:
            call = await continuation(client_call_details, request)
            await call  # raises the call's failure here, inside the circuit
            return call

        return await self._breakers.guard(self._circuit, finished_call, counts=service_down, refused=ServiceCircuitOpen)


def open_channel(target: str, tls: TlsMaterial | None, *, breakers: Breakers | None = None) -> grpc.aio.Channel:
    """A channel with tracing, retries, and the current user's token carried on (nivaran_common.door); with
    `breakers`, each call also goes through the target's circuit breaker (the gateway's channels).

    With `tls` it is mutual TLS as this process's workload; every service requires that. Only a unit test of a
    handler (a server without a door) may pass None."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    options = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        # As the servers (grpc_server.MAX_MESSAGE_BYTES): an attachment's bytes come back in one message.
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # A restarted service is found again within seconds (gRPC's default backoff grows to two minutes).
        ("grpc.max_reconnect_backoff_ms", 5000),
    ]
    interceptors: list[Any] = [*aio_client_interceptors(), *forwarding_interceptors()]  # type: ignore[no-untyped-call]
    if breakers is not None:
        interceptors.append(_CircuitBreaking(breakers, target))
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, tls.channel_credentials(), options=options, interceptors=interceptors)
