"""Temporal client with the pydantic data converter and OpenTelemetry tracing, and the names shared across
services (intake starts the workflow that the sla worker runs, without importing the sla package)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

LIFECYCLE_WORKFLOW = "GrievanceLifecycle"
SLA_TASK_QUEUE = "nivaran-sla"


def lifecycle_workflow_id(grievance_id: str) -> str:
    """The workflow id of a case's lifecycle: one workflow per grievance, so a start is idempotent."""
    return f"grievance-{grievance_id}"


async def connect_temporal(address: str, namespace: str = "default") -> Client:
    """Connect with the converter that keeps dates and durations, and with trace propagation."""
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()],
    )
