"""Temporal client with the pydantic data converter sealed by the payload codec and OpenTelemetry tracing, and the
names shared across services (intake starts the workflow that the sla worker runs, without importing the sla
package)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from pydantic import TypeAdapter
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

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


# One pydantic type adapter per type for the whole process. The SDK builds a payload converter for every workflow
# it loads, so a per-converter cache is rebuilt each time a case is replayed into the worker's memory.
_TYPE_ADAPTERS = functools.lru_cache(maxsize=1024)(TypeAdapter)


class _SharedAdaptersJSONConverter(PydanticJSONPlainPayloadConverter):
    def __init__(self) -> None:
        super().__init__(max_cached_type_adapters=0)
        self._type_adapter = _TYPE_ADAPTERS


class SharedPydanticPayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic payload converter (it keeps dates, durations and dataclasses), with the process's one
    cache of type adapters."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(
            *(
                _SharedAdaptersJSONConverter() if isinstance(c, PydanticJSONPlainPayloadConverter) else c
                for c in self.converters.values()
            )
        )


# The unsealed converter: for tests and tools that read histories already opened.
pydantic_data_converter = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


def sealed_data_converter(payload_codec: PayloadCodec) -> DataConverter:
    """The pydantic converter (it keeps dates and durations) with every payload passed through `payload_codec`.

    Failure messages and stack traces go into the failure's encoded attributes, so the codec seals them too: an
    error message may quote what a citizen wrote."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=payload_codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect_temporal(address: str, namespace: str = "default", *, payload_codec: PayloadCodec) -> Client:
    """Connect with the sealed converter (see sealed_data_converter) and with trace propagation."""
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=sealed_data_converter(payload_codec),
        interceptors=[TracingInterceptor()],
    )
