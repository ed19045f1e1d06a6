"""Send a WhatsApp message to the local run (`make run`) as Meta's Cloud API would: a webhook notification signed with
the dev app secret (X-Hub-Signature-256), posted to the dev gateway; then print the answer that came back on WhatsApp
(the local provider stand-in keeps it in var/messages/whatsapp.jsonl).

    python scripts/send_whatsapp.py "नमस्ते"                     # a text message: starts the guided conversation
    python scripts/send_whatsapp.py 1                            # ... and each answer after it (1 = हिन्दी)
    python scripts/send_whatsapp.py --photo road.jpg [--caption "टूटी सड़क"]
    python scripts/send_whatsapp.py "status BR-PAT-2026-0000001-7"

A photo is first put in the stand-in's copy of the Cloud API's media (POST /graph/media), then sent as an image
message naming its media id; the gateway fetches it from there with the dev access token. --from picks the sender's
number (default 919876500001), --name their WhatsApp profile name. Dev only: the secret is the public dev value.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import mimetypes
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import devrun
import httpx
import message_sink


def notification(sender: str, name: str, message: dict[str, Any]) -> bytes:
    """Meta's notification for one message."""
    wamid = f"wamid.dev.{uuid.uuid4().hex}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "dev-phone-number-id"},
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [{"from": sender, "id": wamid, "timestamp": str(int(time.time())), **message}],
    }
    change = {"field": "messages", "value": value}
    body = {"object": "whatsapp_business_account", "entry": [{"id": "dev-waba", "changes": [change]}]}
    return json.dumps(body, ensure_ascii=False).encode()


def signed_headers(body: bytes, secret: str) -> dict[str, str]:
    """The X-Hub-Signature-256 header Meta sends: HMAC-SHA256 of the raw body with the app secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def upload_photo(http: httpx.Client, sink: str, path: Path) -> str:
    """Put the photo in the stand-in's media; its media id."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    stored = http.post(f"{sink}/graph/media", content=path.read_bytes(), headers={"Content-Type": content_type})
    stored.raise_for_status()
    return str(stored.json()["id"])


def main() -> int:
    ports = devrun.Ports()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default="", help="the message's text")
    parser.add_argument("--photo", type=Path, help="send this photo (JPEG or PNG) or PDF instead of a text")
    parser.add_argument("--caption", default="", help="the photo's caption")
    parser.add_argument("--from", dest="sender", default="919876500001", help="the sender's number, as Meta gives it")
    parser.add_argument("--name", default="सीता देवी", help="the sender's WhatsApp profile name")
    parser.add_argument("--gateway", default=f"http://127.0.0.1:{ports.gateway}")
    parser.add_argument("--sink", default=f"http://127.0.0.1:{ports.messages}", help="the provider stand-in")
    parser.add_argument("--messages", type=Path, default=devrun.VAR / "messages", help="the stand-in's folder")
    parser.add_argument("--secret", default=devrun.DEV_WHATSAPP_APP_SECRET, help="the app secret to sign with")
    args = parser.parse_args()
    if not args.text and args.photo is None:
        parser.error("give a text, or --photo")
    sender = args.sender.lstrip("+")
    before = len(message_sink.read(args.messages, "whatsapp"))
    with httpx.Client(timeout=60) as http:
        if args.photo is not None:
            kind = "document" if args.photo.suffix.lower() == ".pdf" else "image"
            media: dict[str, Any] = {"id": upload_photo(http, args.sink, args.photo), "caption": args.caption}
            if kind == "document":
                media["filename"] = args.photo.name
            message: dict[str, Any] = {"type": kind, kind: media}
        else:
            message = {"type": "text", "text": {"body": args.text}}
        body = notification(sender, args.name, message)
        answered = http.post(
            f"{args.gateway}/v1/inbound/whatsapp", content=body, headers=signed_headers(body, args.secret)
        )
    print(f"gateway: {answered.status_code} {answered.text}")
    if answered.status_code != 200:
        return 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = [m for m in message_sink.read(args.messages, "whatsapp")[before:] if m.get("to") == f"+{sender}"]
        if new:
            for sent in new:
                print(f"\n[{sent.get('template')}] → {sent.get('to')}\n{sent.get('text')}")
            return 0
        time.sleep(0.3)
    print("no answer on WhatsApp yet; see var/log/notify.log", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
