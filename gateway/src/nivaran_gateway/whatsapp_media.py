"""A photo or a document a citizen sends on WhatsApp (C1, B5), fetched from the Business Cloud API.

The webhook carries only the media's id. `GET <graph base>/<media id>` with the access token answers its URL, type
and size (`{"url": ..., "mime_type": ..., "file_size": ..., "id": ...}`); `GET <url>` with the same token answers the
bytes. A file over the size limit is not fetched (or not read past the limit), and any failure is a `MediaProblem`:
the message is still handed to intake, which answers that the file did not arrive. The bytes are never trusted for
their declared type: intake checks them by their magic bytes like any attachment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from nivaran_common.logging import get_logger
from nivaran_gateway.settings import GatewaySettings

log = get_logger(__name__)

# The message types whose media is fetched; the others (audio, video, stickers) are handed on as text alone.
MEDIA_TYPES = ("image", "document")
TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"
_MEDIA_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
PHOTO_NAME = "whatsapp-photo"
DOCUMENT_NAME = "whatsapp-document"


@dataclass(frozen=True)
class Media:
    """A fetched file, as intake's InboundFile wants it."""

    filename: str
    content_type: str
    content: bytes


class MediaProblemError(Exception):
    """The file could not be passed on: `kind` is TOO_LARGE or UNAVAILABLE (ReceiveMessageRequest.file_problem)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _size(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _filename(kind: str, media: dict[str, Any]) -> str:
    given = str(media.get("filename") or "").strip()
    return given[:200] or (PHOTO_NAME if kind == "image" else DOCUMENT_NAME)


async def fetch(
    settings: GatewaySettings,
    kind: str,
    media: dict[str, Any],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Media:
    """The bytes of the message's `kind` media object (`{"id": ..., "mime_type": ..., "filename": ...}`)."""
    token = settings.whatsapp_access_token.get_secret_value()
    media_id = str(media.get("id") or "")
    if not token:
        raise MediaProblemError(UNAVAILABLE, "no WhatsApp access token is configured")
    if not _MEDIA_ID.fullmatch(media_id):
        raise MediaProblemError(UNAVAILABLE, "the message names no usable media id")
    limit = settings.whatsapp_media_max_bytes
    base = settings.whatsapp_graph_base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        timeout=settings.whatsapp_media_timeout_seconds, transport=transport, follow_redirects=False
    ) as http:
        try:
            described = await http.get(f"{base}/{media_id}", headers=headers)
            if described.status_code != 200:
                raise MediaProblemError(UNAVAILABLE, f"the Graph API answered {described.status_code}")
            info = described.json()
            if not isinstance(info, dict):
                raise MediaProblemError(UNAVAILABLE, "the Graph API's answer is not an object")
            url = str(info.get("url") or "")
            # The token goes with the download: only to a URL of the Graph API's own scheme (https in prod).
            if not url.startswith(base.split("://", 1)[0] + "://"):
                raise MediaProblemError(UNAVAILABLE, "the Graph API named no usable media URL")
            if _size(info.get("file_size")) > limit:
                raise MediaProblemError(TOO_LARGE, f"the file is {info.get('file_size')} bytes")
            content = await _download(http, url, headers, limit)
        except httpx.HTTPError as exc:
            raise MediaProblemError(UNAVAILABLE, f"{type(exc).__name__}") from exc
        except ValueError as exc:
            raise MediaProblemError(UNAVAILABLE, "the Graph API's answer is not JSON") from exc
    content_type = str(info.get("mime_type") or media.get("mime_type") or "application/octet-stream")
    return Media(_filename(kind, media), content_type[:100], content)


async def _download(http: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int) -> bytes:
    async with http.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            raise MediaProblemError(UNAVAILABLE, f"the media URL answered {response.status_code}")
        if _size(response.headers.get("content-length")) > limit:
            raise MediaProblemError(TOO_LARGE, f"the file is {response.headers.get('content-length')} bytes")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > limit:
                raise MediaProblemError(TOO_LARGE, f"the file is over {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
