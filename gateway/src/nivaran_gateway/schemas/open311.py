"""Open311 GeoReport v2 documents (http://wiki.open311.org/GeoReport_v2), built from the same protos as /v1.

A service request shows only what the public may see: never the complainant's name, phone, email or address, and
not the grievance's description either, which citizens write in their own words and often fill with personal data.
The place is given at district level only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_gateway.schemas.common import enum_label, timestamp

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's description last changed (the spec's `changeset`).
CHANGESET = "2026-12-03T00:00:00Z"
INDIA = ZoneInfo("Asia/Kolkata")

# Statuses after which the case has ended for now (it may still be reopened or appealed: then it is open again).
CLOSED_STATUSES = frozenset({intake_pb2.STATUS_DISPOSED, intake_pb2.STATUS_REJECTED, intake_pb2.STATUS_CLOSED})
OPEN_STATUSES = (
    frozenset(value for value in intake_pb2.Status.values() if value != intake_pb2.STATUS_UNSPECIFIED) - CLOSED_STATUSES
)

# status_notes: the case's own status in English and Hindi.
STATUS_NOTES: dict[str, str] = {
    "registered": "Registered / पंजीकृत",
    "assigned": "Assigned to an office / कार्यालय को सौंपा गया",
    "in_progress": "In progress / प्रक्रियाधीन",
    "awaiting_citizen": "Waiting for the complainant's reply / शिकायतकर्ता के उत्तर की प्रतीक्षा",
    "escalated": "Escalated / उच्च स्तर पर भेजा गया",
    "disposed": "Disposed / निस्तारित",
    "rejected": "Rejected, with reasons / कारण सहित अस्वीकृत",
    "closed": "Closed / बंद",
    "reopened": "Reopened / पुनः खोला गया",
    "under_appeal": "Under appeal / अपील में",
    "pending_transfer": "Transfer to another department pending / अन्य विभाग को स्थानांतरण लंबित",
    "unresolved": "Back with the officer after feedback / प्रतिक्रिया के बाद अधिकारी को वापस",
}


class Format(StrEnum):
    """The document format, from the path's extension."""

    JSON = "json"
    XML = "xml"


class RequestStatus(StrEnum):
    """Open311's two statuses."""

    OPEN = "open"
    CLOSED = "closed"

    def statuses(self) -> list[intake_pb2.Status.ValueType]:
        """The case statuses this Open311 status stands for."""
        return sorted(CLOSED_STATUSES if self is RequestStatus.CLOSED else OPEN_STATUSES)


def bilingual(text: common_pb2.LocalizedText) -> str:
    """`English / हिन्दी`, or whichever of the two is set."""
    return " / ".join(part for part in (text.en, text.hi) if part)


def w3c(moment: datetime | None) -> str | None:
    """A W3C datetime in India's time zone, as the spec's examples carry an offset."""
    return None if moment is None else moment.astimezone(INDIA).isoformat(timespec="seconds")


class Open311Endpoint(BaseModel):
    """One endpoint in the discovery document."""

    specification: str = SPECIFICATION
    url: str
    changeset: str = CHANGESET
    type: str = "production"
    formats: list[str] = Field(default_factory=lambda: ["application/json", "text/xml"])


class Open311Discovery(BaseModel):
    """The discovery document."""

    changeset: str = CHANGESET
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]


class Open311Service(BaseModel):
    """A service: one of routing's categories."""

    service_code: str
    service_name: str
    description: str = Field(description="The category's Hindi name, with its department")
    metadata: bool = Field(default=True, description="Every service asks for the district (its definition)")
    type: str = "realtime"
    keywords: str = Field(description="Comma-separated: the department's code and the category's code")
    group: str = Field(description="The department responsible for the category")

    @classmethod
    def from_proto(cls, category: routing_pb2.Category) -> Open311Service:
        """A category as an Open311 service."""
        hindi = category.name.hi or category.name.en
        return cls(
            service_code=category.code,
            service_name=category.name.en or category.code,
            description=f"{hindi} ({category.department_code})",
            keywords=",".join(part for part in (category.department_code, category.code) if part),
            group=category.department_code,
        )


DISTRICT_ATTRIBUTE = "district_code"


class Open311AttributeValue(BaseModel):
    """One choice of a list attribute."""

    key: str
    name: str


class Open311Attribute(BaseModel):
    """An attribute a filing sends as `attribute[code]`."""

    variable: bool = True
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[Open311AttributeValue] = Field(default_factory=list)

    @classmethod
    def district(cls, districts: list[routing_pb2.Area]) -> Open311Attribute:
        """The district the grievance arises in: Nivaran routes by district, and has no map to find it from lat/long."""
        return cls(
            code=DISTRICT_ATTRIBUTE,
            datatype="singlevaluelist",
            required=True,
            datatype_description="A district code from the list / सूची से ज़िले का कोड",
            order=1,
            description="District where the grievance arises / ज़िला जहाँ शिकायत का विषय है",
            values=[Open311AttributeValue(key=a.code, name=bilingual(a.name) or a.code) for a in districts],
        )


class Open311ServiceDefinition(BaseModel):
    """A service's definition: the district is the one attribute a filing must send."""

    service_code: str
    attributes: list[Open311Attribute] = Field(default_factory=list)


class Open311Request(BaseModel):
    """A service request: the public face of a case (no personal data, no description, district only)."""

    service_request_id: str = Field(description="The case's registration number")
    status: RequestStatus
    status_notes: str = Field(description="The case's own status, in English and Hindi")
    service_name: str
    service_code: str
    agency_responsible: str | None = Field(description="The office the case is assigned to")
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None = Field(description="The case's current statutory deadline")
    address: str | None = Field(description="District level only, e.g. `District PAT`")

    @classmethod
    def from_proto(cls, grievance: intake_pb2.Grievance) -> Open311Request:
        """A case as an Open311 service request."""
        label = enum_label(intake_pb2.Status, grievance.status, "STATUS_")
        closed = grievance.status in CLOSED_STATUSES
        office = bilingual(grievance.assignment.office_name) if grievance.HasField("assignment") else ""
        district = grievance.location.district_code if grievance.HasField("location") else ""
        return cls(
            service_request_id=grievance.registration_number,
            status=RequestStatus.CLOSED if closed else RequestStatus.OPEN,
            status_notes=STATUS_NOTES.get(label, label),
            service_name=grievance.category_name.en or grievance.category_code,
            service_code=grievance.category_code,
            agency_responsible=office or None,
            requested_datetime=w3c(timestamp(grievance, "filed_at")),
            updated_datetime=w3c(timestamp(grievance, "updated_at")),
            expected_datetime=w3c(timestamp(grievance, "current_deadline")),
            address=f"District {district}" if district else None,
        )


class Open311Error(BaseModel):
    """One entry of the spec's error list."""

    code: int
    description: str


def documents(items: list[BaseModel]) -> list[dict[str, Any]]:
    """Models as the plain dicts both formats are written from (unset members left out)."""
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


# Models of other modules (the filing's answer, the updates) register here for the OpenAPI components.
MODELS: list[type[BaseModel]] = [Open311Discovery, Open311Service, Open311ServiceDefinition, Open311Request]


def openapi_components() -> dict[str, Any]:
    """The schemas the /open311/v2 operations refer to, for the OpenAPI document's components."""
    template = "#/components/schemas/{model}"
    components: dict[str, Any] = {}
    models: list[type[BaseModel]] = [*MODELS, Open311Error]
    for model in models:
        schema = model.model_json_schema(ref_template=template)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    components["Open311Errors"] = {"type": "array", "items": {"$ref": template.format(model="Open311Error")}}
    return components
