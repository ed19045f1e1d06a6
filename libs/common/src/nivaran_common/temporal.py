"""Temporal client with the pydantic data converter and OpenTelemetry tracing, and the names shared across
services (intake starts the workflow that the sla worker runs, without importing the sla package)."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

LIFECYCLE_WORKFLOW = "GrievanceLifecycle"
SLA_TASK_QUEUE = "nivaran-sla"

# The search attributes the lifecycle writes on every case (when the sla worker's upsert setting is on); the
# namespace must have them registered: `make run` and the test dev server do it with `search_attribute_flags()`.
STATUS_ATTRIBUTE = SearchAttributeKey.for_keyword("NivaranStatus")
DISTRICT_ATTRIBUTE = SearchAttributeKey.for_keyword("NivaranDistrict")
OFFICE_LEVEL_ATTRIBUTE = SearchAttributeKey.for_keyword("NivaranOfficeLevel")
DEADLINE_ATTRIBUTE = SearchAttributeKey.for_datetime("NivaranDeadline")
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STATUS_ATTRIBUTE,
    DISTRICT_ATTRIBUTE,
    OFFICE_LEVEL_ATTRIBUTE,
    DEADLINE_ATTRIBUTE,
)


def search_attribute_flags() -> list[str]:
    """`NAME=Type` for each of SEARCH_ATTRIBUTES, as `temporal server start-dev --search-attribute` takes them."""
    prefix = "INDEXED_VALUE_TYPE_"
    return [
        f"{key.name}={IndexedValueType.Name(IndexedValueType.ValueType(key.indexed_value_type)).removeprefix(prefix).capitalize()}"
        for key in SEARCH_ATTRIBUTES
    ]


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
