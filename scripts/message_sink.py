"""A local stand-in for the SMS and WhatsApp providers, for `make run` and the cross-service tests: a real HTTP
server that takes the JSON notify posts (`POST /sms`, `POST /whatsapp`), appends each body as one JSON line to
`<folder>/sms.jsonl` or `<folder>/whatsapp.jsonl`, and answers with a message id as a provider does.

    python scripts/message_sink.py --port 8026 --folder var/messages

It sends nothing anywhere: point notify at a real aggregator (NIVARAN_NOTIFY_SMS_PROVIDER_URL, ..._WHATSAPP_...)
outside the dev profile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CHANNELS = ("sms", "whatsapp")


def build_app(folder: Path) -> Starlette:
    """The sink's routes, writing under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
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

    return Starlette(routes=[Route(f"/{c}", accept, methods=["POST"]) for c in CHANNELS])


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
    args = parser.parse_args()
    uvicorn.run(build_app(args.folder), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
