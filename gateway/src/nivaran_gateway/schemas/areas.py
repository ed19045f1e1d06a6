"""Administrative areas (routing's geography), for location pickers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from nivaran.routing.v1 import routing_pb2
from nivaran_gateway.schemas.common import LocalizedText, enum_label


class AreaLevel(StrEnum):
    """A level of the geography, from the state down to the panchayat, and the police's."""

    STATE = "state"
    DIVISION = "division"
    DISTRICT = "district"
    SUBDIVISION = "subdivision"
    BLOCK = "block"
    PANCHAYAT = "panchayat"
    POLICE_DISTRICT = "police_district"
    THANA = "thana"

    def to_proto(self) -> routing_pb2.AreaLevel.ValueType:
        """The proto enum value."""
        return routing_pb2.AreaLevel.Value(f"AREA_LEVEL_{self.name}")


class AreaView(BaseModel):
    code: str
    level: str
    name: LocalizedText | None = None
    parent_code: str | None = None

    @classmethod
    def from_proto(cls, area: routing_pb2.Area) -> AreaView:
        """Convert from the proto."""
        return cls(
            code=area.code,
            level=enum_label(routing_pb2.AreaLevel, area.level, "AREA_LEVEL_"),
            name=LocalizedText.maybe(area, "name"),
            parent_code=area.parent_code or None,
        )


class AreaList(BaseModel):
    areas: list[AreaView]
