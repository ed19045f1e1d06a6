"""Nivaran gateway: REST /v1 over the gRPC services, problem+json errors, idempotency keys in Redis."""
