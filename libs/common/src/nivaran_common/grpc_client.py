"""gRPC client channels with tracing and retries of transient failures."""

from __future__ import annotations

import json

import grpc

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


def open_channel(target: str, tls: TlsMaterial | None) -> grpc.aio.Channel:
    """A channel with tracing, retries, and the current user's token carried on (nivaran_common.door).

    With `tls` it is mutual TLS as this process's workload; every service requires that. Only a unit test of a
    handler (a server without a door) may pass None."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    options = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        # As the servers (grpc_server.MAX_MESSAGE_BYTES): an attachment's bytes come back in one message.
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    interceptors = [*aio_client_interceptors(), *forwarding_interceptors()]  # type: ignore[no-untyped-call]
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, tls.channel_credentials(), options=options, interceptors=interceptors)
