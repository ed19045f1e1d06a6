"""Shared plumbing for every Nivaran deployable: settings, logging, telemetry, gRPC, database, Redis, Temporal."""
