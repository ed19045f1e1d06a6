"""An Open311 POST Service Request, read from the form (as the spec sends it) or from JSON, and turned into the same
GrievanceFiling that POST /v1/grievances takes.

The spec's fields map onto a Form-1 filing (B1: name, address and particulars):
- `first_name` `last_name` -> the complainant's name (required: B1 registers a grievance with a name);
- `address_string` -> the complainant's address; with only `lat`/`long` the address is those coordinates;
- `description` -> the particulars (required), followed by the place (`lat`/`long`, `address_id`) and `media_url`,
  so the officer sees them (intake keeps no coordinates or media links of its own);
- `phone`, `email` -> the complainant's contacts; `service_code` -> the category;
- `attribute[district_code]` -> the location's district (the service definition lists the districts).
`device_id`, `account_id` and `jurisdiction_id` are accepted and not kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from nivaran_gateway.schemas.grievances import Channel, GrievanceFiling
from nivaran_gateway.schemas.open311 import DISTRICT_ATTRIBUTE, MODELS

_ATTRIBUTE = re.compile(r"attribute\[([A-Za-z0-9_.-]{1,64})\](\[\])?")
DESCRIPTION_MAX_LENGTH = 4000

FieldMap = dict[str, str]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]

# Where a /v1 filing field (or intake's field violation) came from in the Open311 request.
FIELDS: FieldMap = {
    "complainant.name": "first_name",
    "complainant.address": "address_string",
    "complainant.phone": "phone",
    "complainant.email": "email",
    "description": "description",
    "category_code": "service_code",
    "location": f"attribute[{DISTRICT_ATTRIBUTE}]",
    "location.district_code": f"attribute[{DISTRICT_ATTRIBUTE}]",
}


class Open311FilingIn(BaseModel):
    """The spec's POST arguments (unknown ones are ignored, as Open311 clients send extras)."""

    model_config = ConfigDict(extra="ignore")

    api_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    service_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    jurisdiction_id: Short | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    address_id: Short | None = None
    email: Short | None = None
    device_id: Short | None = None
    account_id: Short | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX_LENGTH)] = ""
    media_url: AnyHttpUrl | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    def problems(self) -> list[tuple[str, str]]:
        """The spec's rule for the place (lat and long together, or an address string or id), and B1's: a
        grievance is registered with the complainant's name and its particulars."""
        found: list[tuple[str, str]] = []
        if (self.lat is None) != (self.long is None):
            found.append(("long" if self.long is None else "lat", "lat and long go together / दोनों साथ दें"))
        elif self.lat is None and not self.address_string and not self.address_id:
            found.append(("address_string", "lat and long, address_string or address_id is required / स्थान आवश्यक"))
        if not self.name:
            found.append(("first_name", "is required: a grievance is registered with a name (B1) / नाम आवश्यक है"))
        if not self.description:
            found.append(("description", "is required: the grievance's particulars (B1) / विवरण आवश्यक है"))
        return found

    @property
    def name(self) -> str:
        """The complainant's name from first and last name."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def to_filing(self) -> GrievanceFiling:
        """The /v1 filing (its own validation runs here: a ValidationError names /v1 fields, see FIELDS)."""
        place = f"{self.lat}, {self.long}" if self.lat is not None else ""
        address = self.address_string or (f"Location / स्थान: {place}" if place else f"Address id: {self.address_id}")
        particulars = [self.description]
        if place:
            particulars.append(f"Location / स्थान (lat, long): {place}")
        if self.address_id:
            particulars.append(f"Address id / पता संख्या: {self.address_id}")
        if self.media_url is not None:
            particulars.append(f"Media / मीडिया: {self.media_url}")
        return GrievanceFiling.model_validate(
            {
                "complainant": {"name": self.name, "address": address, "phone": self.phone, "email": self.email},
                "description": "\n".join(particulars),
                "category_code": self.service_code,
                "location": {"district_code": self.attributes.get(DISTRICT_ATTRIBUTE, "")},
                "channel": Channel.WEB,
            }
        )


def flatten(fields: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Form or JSON members as one mapping, with `attribute[code]` members gathered under `attributes`.

    JSON may also send `attributes` (or `attribute`) as an object; a multi-valued `attribute[code][]` keeps its
    values joined by commas (no Nivaran attribute is multi-valued, so it is refused by the attribute's check)."""
    items = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    flat: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for key, value in items:
        matched = _ATTRIBUTE.fullmatch(str(key))
        if matched is not None:
            code = matched.group(1)
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            attributes[code] = f"{attributes[code]},{text}" if code in attributes else text
        elif key in ("attributes", "attribute") and isinstance(value, Mapping):
            attributes.update({str(k): str(v) for k, v in value.items()})
        else:
            flat[str(key)] = value
    flat["attributes"] = attributes
    return flat


def validation_fields(error: ValidationError, fields: FieldMap | None = None) -> list[tuple[str, str]]:
    """(Open311 field, what is wrong) for each of a ValidationError's errors, /v1 names mapped back by `fields`."""
    found: list[tuple[str, str]] = []
    for item in error.errors():
        path = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        if fields is not None:
            path = next((v for k, v in fields.items() if path == k or path.startswith(f"{k}.")), path)
        found.append((path or "body", message))
    return found


class Open311Filed(BaseModel):
    """The answer to a filing: the case's registration number at once, and a token that resolves to it."""

    service_request_id: str = Field(description="The registration number, e.g. BR-PAT-2026-0000001-7")
    token: str | None = Field(
        default=None, description="Resolves to the number at GET /open311/v2/tokens/{token} (for 24 hours)"
    )
    service_notice: str
    account_id: str | None = None


class Open311Token(BaseModel):
    """A resolved token."""

    token: str
    service_request_id: str


MODELS.extend([Open311Filed, Open311Token])
