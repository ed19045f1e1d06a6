"""A local stand-in for the SMS and WhatsApp providers, for `make run` and the cross-service tests: a real HTTP
server that takes the JSON notify posts (`POST /sms`, `POST /whatsapp`), appends each body as one JSON line to
`<folder>/sms.jsonl` or `<folder>/whatsapp.jsonl`, and answers with a message id as a provider does.

It also stands in for the WhatsApp Cloud API's media, shaped like the Graph API, so that a photo sent "on
WhatsApp" can be fetched by the gateway (NIVARAN_GATEWAY_WHATSAPP_GRAPH_BASE_URL=http://127.0.0.1:8026/graph):

- `POST /graph/media` with the file as the body and its `Content-Type` keeps it under `<folder>/media/` and answers
  `{"id": "<media id>"}` (a test, or scripts/send_whatsapp.py, puts a photo there first);
- `GET /graph/<media id>` answers `{"url", "mime_type", "sha256", "file_size", "id", "messaging_product"}`;
- `GET /graph/download/<media id>` answers the bytes.

The two GETs need `Authorization: Bearer <token>` (the token given with --media-token; any token when none is).

    python scripts/message_sink.py --port 8026 --folder var/messages [--media-token dev-only-...]

It sends nothing anywhere: point notify at a real aggregator (NIVARAN_NOTIFY_SMS_PROVIDER_URL, ..._WHATSAPP_...)
outside the dev profile.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import re
import uuid
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CHANNELS = ("sms", "whatsapp")
# A media file the stand-in keeps, at most (a little over the Cloud API's 5 MB for images, to test the limits).
MAX_MEDIA_BYTES = 16 * 1024 * 1024
_MEDIA_ID = re.compile(r"[0-9]{1,32}")


def build_app(folder: Path, media_token: str = "") -> Starlette:
    """The sink's routes, writing under `folder`; the media GETs need `media_token` as their bearer token when set."""
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "media"
    media.mkdir(exist_ok=True)
    lock = asyncio.Lock()

    async def accept(request: Request) -> JSONResponse:
        channel = request.url.path.strip("/")
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "a JSON body is required"}, status_code=400)
        message_id = f"dev-{channel}-{uuid.uuid4().hex[:12]}"
        line = json.dumps({"message_id": message_id, **body}, ensure_ascii=False)
        async with lock:
            with (folder / f"{channel}.jsonl").open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        return JSONResponse({"message_id": message_id})

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer ") or not given.removeprefix("Bearer ").strip():
            return False
        return not media_token or hmac.compare_digest(given.removeprefix("Bearer ").strip(), media_token)

    async def upload(request: Request) -> JSONResponse:
        content = await request.body()
        if not content or len(content) > MAX_MEDIA_BYTES:
            return JSONResponse({"error": f"a body of 1 to {MAX_MEDIA_BYTES} bytes is required"}, status_code=400)
        media_id = str(uuid.uuid4().int)[:16]
        (media / media_id).write_bytes(content)
        kind = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        (media / f"{media_id}.json").write_text(json.dumps({"mime_type": kind}))
        return JSONResponse({"id": media_id})

    def stored(media_id: str) -> tuple[bytes, str] | None:
        if not _MEDIA_ID.fullmatch(media_id) or not (media / media_id).exists():
            return None
        kind = json.loads((media / f"{media_id}.json").read_text())["mime_type"]
        return (media / media_id).read_bytes(), str(kind)

    async def describe(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": {"message": "invalid OAuth access token", "code": 190}}, status_code=401)
        media_id = request.path_params["media_id"]
        found = stored(media_id)
        if found is None:
            return JSONResponse({"error": {"message": "unknown media", "code": 100}}, status_code=404)
        content, kind = found
        url = f"{str(request.base_url).rstrip('/')}/graph/download/{media_id}"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": kind,
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": str(len(content)),
                "id": media_id,
            }
        )

    async def download(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": {"message": "invalid OAuth access token", "code": 190}}, status_code=401)
        found = stored(request.path_params["media_id"])
        if found is None:
            return JSONResponse({"error": {"message": "unknown media", "code": 100}}, status_code=404)
        content, kind = found
        return Response(content, media_type=kind)

    return Starlette(
        routes=[
            *(Route(f"/{c}", accept, methods=["POST"]) for c in CHANNELS),
            Route("/graph/media", upload, methods=["POST"]),
            Route("/graph/download/{media_id}", download, methods=["GET"]),
            Route("/graph/{media_id}", describe, methods=["GET"]),
        ]
    )


def read(folder: Path, channel: str) -> list[dict[str, object]]:
    """Every message the sink kept for `channel`, oldest first."""
    path = folder / f"{channel}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--media-token", default="", help="the bearer token the media GETs need (any when empty)")
    args = parser.parse_args()
    uvicorn.run(build_app(args.folder, args.media_token), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
