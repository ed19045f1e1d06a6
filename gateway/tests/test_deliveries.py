"""C2 / B5 at the gateway: a state admin sees the dead letters (masked) and retries one; a provider's delivery
receipt counts only with a good signature of its very body. Against the fake notify of gateway_testkit, which answers
as notify does (services/notify/tests prove notify itself; tests/test_channels_e2e.py the whole suite)."""

from __future__ import annotations

import json

from gateway_testkit import PERSONAS, PROVIDER_SECRET, Rig, bearer, mint, provider_signature

STATE_ADMIN = {"sub": "acct-state-admin", "kind": "officer", "roles": ["STATE_ADMIN"], "positions": [], "district": ""}


async def test_C2_a_state_admin_sees_the_dead_letters_masked_and_retries_one(rig: Rig) -> None:
    admin = bearer(mint(STATE_ADMIN))
    listed = await rig.client.get("/v1/deliveries/failed", headers=admin)
    assert listed.status_code == 200, listed.text
    [dead] = listed.json()["deliveries"]
    assert (dead["channel"], dead["recipient"], dead["attempts"]) == ("sms", "+91XXXXXX3210", 6)
    assert (await rig.client.get("/v1/deliveries/failed", params={"channel": "email"}, headers=admin)).json() == {
        "deliveries": [],
        "next_page_token": None,
    }
    foreign = await rig.client.get("/v1/deliveries/failed", params={"page_token": "e30"}, headers=admin)
    assert [e["field"] for e in foreign.json()["errors"]] == ["page.page_token"]
    bad = await rig.client.get("/v1/deliveries/failed", params={"channel": "fax"}, headers=admin)
    assert bad.status_code == 422
    retried = await rig.client.post("/v1/deliveries/d-failed-1/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["provider_message_id"]) == ("sent", "prov-7")
    unknown = await rig.client.post("/v1/deliveries/d-nothing/retry", headers=admin)
    assert unknown.status_code == 404
    dm = bearer(mint(PERSONAS["dm_a"].claims))
    assert (await rig.client.post("/v1/deliveries/d-failed-1/retry", headers=dm)).status_code == 403
    assert rig.notify.retried == ["d-failed-1"]


async def test_C2_a_signed_receipt_marks_the_delivery_and_an_unsigned_one_is_refused(rig: Rig) -> None:
    body = json.dumps({"message_id": "prov-7", "status": "delivered", "at": "2026-12-03T10:00:00+05:30"}).encode()
    forged = await rig.client.post(
        "/v1/providers/sms/receipts", content=body, headers=provider_signature(body, secret="not-the-secret")
    )
    assert forged.status_code == 401
    tampered = body.replace(b"delivered", b"failed\\u0000")
    assert (
        await rig.client.post("/v1/providers/sms/receipts", content=tampered, headers=provider_signature(body))
    ).status_code == 401
    assert rig.notify.receipts == []  # nothing read from a receipt that is not the provider's
    good = await rig.client.post("/v1/providers/sms/receipts", content=body, headers=provider_signature(body))
    assert good.status_code == 200, good.text
    assert good.json()["state"] == "delivered"
    [receipt] = rig.notify.receipts
    assert (receipt.channel, receipt.provider_message_id, receipt.status) == ("sms", "prov-7", "delivered")
    assert receipt.at.ToDatetime().isoformat().startswith("2026-12-03T04:30")
    bad = json.dumps({"message_id": "prov-7", "status": "lost"}).encode()
    refused = await rig.client.post("/v1/providers/sms/receipts", content=bad, headers=provider_signature(bad))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["status"]
    unknown = json.dumps({"message_id": "prov-nothing", "status": "delivered"}).encode()
    assert (
        await rig.client.post("/v1/providers/sms/receipts", content=unknown, headers=provider_signature(unknown))
    ).status_code == 404


async def test_C2_kannel_reports_delivery_with_the_provider_token(rig: Rig) -> None:
    report = {"token": PROVIDER_SECRET, "ref": "prov-7", "type": "1"}
    delivered = await rig.client.get("/v1/providers/kannel/dlr", params=report)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["state"] == "delivered"
    buffered = await rig.client.get("/v1/providers/kannel/dlr", params={**report, "type": "8"})
    assert (buffered.status_code, buffered.json()) == (200, None)  # not final: nothing recorded
    wrong = await rig.client.get("/v1/providers/kannel/dlr", params={**report, "token": "guess"})
    assert wrong.status_code == 401
    assert [(r.provider_message_id, r.status) for r in rig.notify.receipts] == [("prov-7", "delivered")]
