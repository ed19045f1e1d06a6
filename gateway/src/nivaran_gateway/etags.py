"""ETags on case reads (issue 12, item 5): a weak validator from the representation itself, and 304 Not Modified when
the client's If-None-Match names it (RFC 9110 sections 8.8.3 and 13.1.2).

The tag is the SHA-256 of the answer as sent (canonical JSON), so it changes with anything the reader would see,
and two readers who see different things (a citizen, an officer) get different tags. It is weak (`W/`): the same
document may be written byte-for-byte differently. Case reads are per reader, so they are `Cache-Control: private,
no-cache`: a browser may keep them but must ask again, and the 304 makes asking cheap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

CACHE_CONTROL = "private, no-cache"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` header named the current ETag"}
}


def etag_of(body: Any) -> str:
    """The weak ETag of a JSON document."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f'W/"{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"'


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def matches(if_none_match: str | None, etag: str) -> bool:
    """True when If-None-Match names `etag` (weak comparison) or is `*`."""
    if not if_none_match:
        return False
    tags = [part.strip() for part in if_none_match.split(",") if part.strip()]
    return "*" in tags or any(_opaque(tag) == _opaque(etag) for tag in tags)


def conditional(
    body: Any,
    if_none_match: str | None,
    *,
    content: bytes | None = None,
    media_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`body` as JSON (or `content` as given, with the tag of `body`) with its ETag, or 304 when the client has it."""
    tag = etag_of(body)
    validators = {**(headers or {}), "ETag": tag, "Cache-Control": CACHE_CONTROL}
    if matches(if_none_match, tag):
        return Response(status_code=304, headers=validators)
    if content is not None:
        return Response(content, media_type=media_type, headers=validators)
    return JSONResponse(body, headers=validators)
