"""B5 / C2 at the gateway: the WhatsApp Cloud API webhook. The handshake answers only our verify token; a
notification counts only with Meta's signature; each message goes to intake and its answer back on WhatsApp once;
each status is a delivery receipt. Against the fakes of gateway_testkit (tests/test_channels_e2e.py runs it on the
real suite)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from gateway_testkit import WHATSAPP_SECRET, WHATSAPP_VERIFY_TOKEN, Rig

from nivaran.notify.v1 import notify_pb2


def meta(value: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "waba-1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    digest = hmac.new(WHATSAPP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def test_B5_the_subscription_handshake_answers_only_our_token(rig: Rig) -> None:
    asked = {"hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answered = await rig.client.get("/v1/inbound/whatsapp", params=asked)
    assert (answered.status_code, answered.text) == (200, "1158201444")
    wrong = await rig.client.get("/v1/inbound/whatsapp", params={**asked, "hub.verify_token": "guess"})
    assert wrong.status_code == 403


async def test_B5_a_signed_message_is_answered_on_whatsapp_and_a_status_is_a_receipt(rig: Rig) -> None:
    text = {"from": "919876543210", "id": "wamid.AAA", "timestamp": "1764750000", "type": "text",
            "text": {"body": "STATUS BR-PAT-2026-0100001-7"}}  # fmt: skip
    photo = {"from": "919876543210", "id": "wamid.BBB", "timestamp": "1764750001", "type": "image", "image": {}}
    status = {"id": "prov-7", "status": "read", "timestamp": "1764750002", "recipient_id": "919876543210"}
    body, headers = meta({"messaging_product": "whatsapp", "messages": [text, photo], "statuses": [status]})
    forged = await rig.client.post(
        "/v1/inbound/whatsapp", content=body, headers={**headers, "X-Hub-Signature-256": "sha256=00"}
    )
    assert forged.status_code == 401
    assert rig.intake.inbound == []
    answered = await rig.client.post("/v1/inbound/whatsapp", content=body, headers=headers)
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"messages": 2, "statuses": 1}
    asked, pictured = rig.intake.inbound
    assert (asked.channel, asked.sender, asked.text) == ("whatsapp", "+919876543210", "STATUS BR-PAT-2026-0100001-7")
    assert (pictured.provider_message_id, pictured.text) == ("wamid.BBB", "")  # stored, answered with the help
    replies = rig.notify.sent
    assert [r.dedupe_key for r in replies] == ["inbound-whatsapp:wamid.AAA:reply", "inbound-whatsapp:wamid.BBB:reply"]
    assert list(replies[0].channels) == [notify_pb2.DELIVERY_CHANNEL_WHATSAPP]
    [receipt] = rig.notify.receipts
    assert (receipt.channel, receipt.provider_message_id, receipt.status) == ("whatsapp", "prov-7", "delivered")


async def test_B5_a_notification_that_is_not_json_is_refused(rig: Rig) -> None:
    body = b"not json"
    digest = hmac.new(WHATSAPP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    refused = await rig.client.post(
        "/v1/inbound/whatsapp",
        content=body,
        headers={"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"},
    )
    assert refused.status_code == 400
