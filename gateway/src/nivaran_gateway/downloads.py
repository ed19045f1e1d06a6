"""The headers of a file the gateway hands out (an attachment, a document's PDF): always a download, never rendered
inline or sniffed into another type, never cached by a shared cache."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(file_name: str) -> str:
    """RFC 6266: an ASCII fallback for old clients, and the real (often Devanagari) name as RFC 5987 UTF-8."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def download_headers(file_name: str) -> dict[str, str]:
    """The headers of a download named `file_name`."""
    return {
        "Content-Disposition": content_disposition(file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
