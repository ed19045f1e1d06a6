"""gRPC client channels with tracing and retries of transient failures."""

from __future__ import annotations

import json

import grpc

from nivaran_common.grpc_server import MAX_MESSAGE_BYTES

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


def open_channel(target: str) -> grpc.aio.Channel:
    """Open an insecure channel (mTLS belongs to the mesh in production) with tracing and retries."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            # As the servers (grpc_server.MAX_MESSAGE_BYTES): an attachment's bytes come back in one message.
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
        interceptors=aio_client_interceptors(),  # type: ignore[no-untyped-call]
    )
