"""C1 / B3 / B5 / C2 end to end: a citizen files a grievance in WhatsApp's guided conversation, through the real suite
(tests/conftest.py's shared suite): Meta's webhook posts signed with the dev app secret, a photo fetched from the
Cloud API's media (scripts/message_sink.py's Graph-shaped stand-in, which `make run` starts too), the conversation
kept in Redis by intake, the case filed on the whatsapp channel with the photo as its attachment, and every answer
and the acknowledgement back on WhatsApp at the sink, in Hindi alone once Hindi is chosen."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import devrun  # scripts/devrun.py, on sys.path through tests/conftest.py
import httpx
import message_sink  # scripts/message_sink.py, on sys.path through tests/conftest.py
import send_whatsapp  # scripts/send_whatsapp.py, the README's way to talk to the local run
from _suite import RunningSuite

from nivaran_common.testing import eventually

PHONE = "9876510411"
WA_ID = f"91{PHONE}"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
DESCRIPTION = "गाँव गोनपुरा में राशन कार्ड छह महीने से नहीं बना, प्रखंड कार्यालय में कई बार आवेदन दिया"


class WhatsApp:
    """Meta's side of the conversation: webhook posts signed with the dev app secret (scripts/send_whatsapp.py)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.sent = 0

    async def send(self, kind: str, content: dict[str, Any]) -> None:
        self.sent += 1
        raw = send_whatsapp.notification(WA_ID, "सीता देवी", {"type": kind, kind: content})
        headers = send_whatsapp.signed_headers(raw, devrun.DEV_WHATSAPP_APP_SECRET)
        answered = await self.http.post("/v1/inbound/whatsapp", content=raw, headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json() == {"messages": 1, "statuses": 0}

    async def say(self, text: str) -> None:
        await self.send("text", {"body": text})


def on_whatsapp(suite: RunningSuite) -> list[dict[str, Any]]:
    return [m for m in message_sink.read(suite.messages, "whatsapp") if m.get("to") == f"+{WA_ID}"]


async def test_C1_B3_B5_C2_a_whatsapp_conversation_with_a_photo_files_a_case_acknowledged_on_whatsapp(
    shared_suite: RunningSuite,
) -> None:
    suite = shared_suite
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        graph = f"http://127.0.0.1:{suite.ports.messages}/graph"
        uploaded = await http.post(f"{graph}/media", content=PNG, headers={"Content-Type": "image/png"})
        assert uploaded.status_code == 200, uploaded.text
        media_id = uploaded.json()["id"]

        whatsapp = WhatsApp(http)
        await whatsapp.say("नमस्ते")
        await whatsapp.say("1")  # हिन्दी
        await whatsapp.say("राशन कार्ड")
        await whatsapp.say("पटना")
        await whatsapp.say(DESCRIPTION)
        await whatsapp.send("image", {"id": media_id, "mime_type": "image/png", "caption": ""})
        await whatsapp.say("हाँ")

        async def acknowledged() -> bool:
            return any(m.get("template") == "acknowledgement" for m in on_whatsapp(suite))

        await eventually(acknowledged, timeout=30)
        [ack] = [m for m in on_whatsapp(suite) if m["template"] == "acknowledgement"]

        async def every_step_answered() -> bool:
            return len([m for m in on_whatsapp(suite) if m.get("template") == "message_reply"]) == whatsapp.sent

        await eventually(every_step_answered, timeout=30)
        replies = [m for m in on_whatsapp(suite) if m.get("template") == "message_reply"]
        # Before a language is chosen both are sent; after it, Hindi alone.
        greeting = next(m for m in replies if "Reply 1 for हिन्दी" in str(m["text"]))
        assert "नमस्ते!" in str(greeting["text"])
        filed = [m for m in replies if "आपकी शिकायत दर्ज हो गई" in str(m["text"])]
        [filed_reply] = filed
        assert "Nivaran:" not in str(filed_reply["text"])
        assert "संलग्न फ़ोटो: 1" in str(filed_reply["text"])
        number = str(filed_reply["text"]).split("आपकी शिकायत दर्ज हो गई: ", 1)[1].split("।", 1)[0]
        assert number in str(ack["text"])

        # The complainant signs in with the same phone and sees the case, on the whatsapp channel, with the photo.
        assert (await http.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
        verified = await http.post("/v1/auth/otp/verify", json={"phone": PHONE, "otp": "123456"})
        assert verified.status_code == 200, verified.text
        headers = {"Authorization": f"Bearer {verified.json()['access_token']}"}
        case = await http.get(f"/v1/grievances/{number}", headers=headers)
        assert case.status_code == 200, case.text
        assert (case.json()["channel"], case.json()["category"]["code"]) == ("whatsapp", "FOOD-RATION-CARD")
        listed = await http.get(f"/v1/grievances/{number}/attachments", headers=headers)
        assert listed.status_code == 200, listed.text
        [photo] = listed.json()["attachments"]
        assert (photo["content_type"], photo["purpose"]) == ("image/png", "filing")
        downloaded = await http.get(photo["download_url"], headers=headers)
        assert downloaded.content == PNG

    # The README's script, as a person runs it against the local run: "status <number>" is answered on WhatsApp.
    script = Path(send_whatsapp.__file__)
    argv = [sys.executable, str(script), f"status {number}", "--from", WA_ID, "--gateway", suite.base_url,
            "--sink", f"http://127.0.0.1:{suite.ports.messages}", "--messages", str(suite.messages)]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, out.decode()
    assert "gateway: 200" in out.decode()
    assert f"{number}:" in out.decode()  # the status, in Hindi (the conversation's language)
