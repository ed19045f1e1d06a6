"""C2 / B3 at the gateway: an aggregator's inbound SMS counts only when signed with the provider secret (Kannel's
with its token); intake's answer goes back by SMS through notify, once per inbound message. Against the fakes of
gateway_testkit (intake's own parsing is proven in services/intake/tests/test_inbound.py; the whole path in
tests/test_channels_e2e.py)."""

from __future__ import annotations

import json

from gateway_testkit import PROVIDER_SECRET, Rig, provider_signature


async def test_C2_a_signed_status_sms_is_answered_by_sms(rig: Rig) -> None:
    body = json.dumps({"message_id": "agg-1", "from": "+919876543210", "text": "STATUS BR-PAT-2026-0100001-7"}).encode()
    forged = await rig.client.post("/v1/inbound/sms", content=body, headers=provider_signature(body, "wrong-secret"))
    assert forged.status_code == 401
    assert rig.intake.inbound == []  # nothing of an unsigned message is read
    answered = await rig.client.post("/v1/inbound/sms", content=body, headers=provider_signature(body))
    assert answered.status_code == 200, answered.text
    assert (answered.json()["outcome"], answered.json()["registration_number"]) == ("status", "BR-PAT-2026-0100001-7")
    [stored] = rig.intake.inbound
    assert (stored.channel, stored.sender, stored.provider_message_id) == ("sms", "+919876543210", "agg-1")
    [reply] = rig.notify.sent
    assert reply.template == "message_reply"
    assert reply.dedupe_key == "inbound-sms:agg-1:reply"  # once per inbound message, however often it is posted
    assert reply.recipient.phone == "+919876543210"
    assert dict(reply.params)["reply_hi"] == "BR-PAT-2026-0100001-7: L1 के पास"


async def test_B3_an_inbound_sms_missing_its_text_is_refused_naming_the_field(rig: Rig) -> None:
    body = json.dumps({"message_id": "agg-2", "from": "+919876543210"}).encode()
    refused = await rig.client.post("/v1/inbound/sms", content=body, headers=provider_signature(body))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["text"]


async def test_C2_kannel_gets_the_answer_as_its_reply_text(rig: Rig) -> None:
    params = {"from": "+919876543210", "text": "hello", "id": "k-9", "token": PROVIDER_SECRET}
    answered = await rig.client.get("/v1/inbound/kannel", params=params)
    assert answered.status_code == 200, answered.text
    assert answered.text == "STATUS <संख्या> भेजें\nSend STATUS <number>"
    wrong = await rig.client.get("/v1/inbound/kannel", params={**params, "token": "guess"})
    assert wrong.status_code == 401
    assert [m.provider_message_id for m in rig.intake.inbound] == ["k-9"]
