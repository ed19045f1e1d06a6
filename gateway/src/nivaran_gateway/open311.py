"""Open311 GeoReport v2 wire formats: the same documents as JSON or as the spec's XML, and the spec's error list."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from starlette.responses import Response

PREFIX = "/open311/"
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
JSON_MEDIA_TYPE = "application/json"

# The element each list member is written as, by the list's own element name (the spec's XML examples).
_ITEM_TAGS = {
    "endpoints": "endpoint",
    "formats": "format",
    "services": "service",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}


def is_open311(path: str) -> bool:
    """True for a path under /open311/, whose errors use the spec's format rather than problem+json."""
    return path.startswith(PREFIX)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, member in value.items():
            _append(element, key, member)
    elif isinstance(value, list):
        for member in value:
            _append(element, _ITEM_TAGS.get(tag, "item"), member)
    elif value is not None:
        element.text = _text(value)


def to_xml(root: str, item: str | None, body: Any) -> bytes:
    """`body` as XML under `root`: a list as `item` elements, a mapping as one child per member."""
    element = ET.Element(root)
    if isinstance(body, list):
        for member in body:
            _append(element, item or "item", member)
    else:
        for key, member in body.items():
            _append(element, key, member)
    encoded: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + encoded


def render(
    fmt: str,
    root: str,
    item: str | None,
    body: Any,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The document as JSON (`fmt` json) or as XML under `root` with `item` members."""
    if fmt == "xml":
        return Response(to_xml(root, item, body), status_code=status_code, media_type=XML_MEDIA_TYPE, headers=headers)
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status_code, media_type=JSON_MEDIA_TYPE, headers=headers)


def error_response(
    path: str, status_code: int, descriptions: Sequence[str], headers: Mapping[str, str] | None = None
) -> Response:
    """The spec's error list (`[{code, description}]`, or `<errors><error>…`) in the format the path asks for."""
    body = [{"code": status_code, "description": description} for description in descriptions]
    fmt = "xml" if path.endswith(".xml") else "json"
    return render(fmt, "errors", "error", body, status_code=status_code, headers=headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the spec's error list, in both formats."""
    schema = {"$ref": "#/components/schemas/Open311Errors"}
    return {
        status: {
            "description": "Open311 errors / त्रुटियाँ",
            "content": {JSON_MEDIA_TYPE: {"schema": schema}, "text/xml": {"schema": {"type": "string"}}},
        }
        for status in statuses
    }


def success_response(schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 entry: the JSON schema, and the same document as XML."""
    return {
        200: {
            "description": description,
            "content": {JSON_MEDIA_TYPE: {"schema": schema}, "text/xml": {"schema": {"type": "string"}}},
        }
    }
