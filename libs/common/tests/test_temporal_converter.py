"""The data converter every process uses: pydantic types round-trip, and the type adapters are built once per
process, not once per workflow the worker loads (the SDK makes a payload converter for each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nivaran_common.temporal import SharedPydanticPayloadConverter, pydantic_data_converter


@dataclass
class _Deadline:
    clock: str
    at: datetime
    within: timedelta


def test_two_converters_share_one_set_of_type_adapters() -> None:
    first, second = SharedPydanticPayloadConverter(), SharedPydanticPayloadConverter()
    value = _Deadline("first_show_cause", datetime(2026, 12, 2, 10, 0, tzinfo=UTC), timedelta(days=10))

    [payload] = first.to_payloads([value])
    [decoded] = second.from_payloads([payload], [_Deadline])

    assert decoded == value
    adapters = [c._type_adapter for c in (first.converters[b"json/plain"], second.converters[b"json/plain"])]  # type: ignore[attr-defined]
    assert adapters[0] is adapters[1]
    before = adapters[0].cache_info().hits
    second.from_payloads([payload], [_Deadline])
    assert adapters[0].cache_info().hits == before + 1


def test_the_data_converter_builds_the_shared_converter() -> None:
    assert pydantic_data_converter.payload_converter_class is SharedPydanticPayloadConverter
