"""B5 / C2 end to end: a complainant who gave a phone is acknowledged by SMS as well, and one who filed on WhatsApp is
answered on WhatsApp, through the real suite (tests/conftest.py's shared suite) and a real local HTTP receiver
standing in for the providers (scripts/message_sink.py, which `make run` starts too)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import devrun  # scripts/devrun.py, on sys.path through tests/conftest.py
import httpx
import message_sink  # scripts/message_sink.py, on sys.path through tests/conftest.py
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import eventually, every_page


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


async def file(http: httpx.AsyncClient, phone: str, channel: str) -> str:
    filed = await http.post(
        "/v1/grievances",
        json={
            "complainant": {"name": "सीता देवी", "address": "गोनपुरा, फुलवारी शरीफ", "phone": phone},
            "description": "मैंने छह महीने पहले राशन कार्ड के लिए आवेदन दिया था, पर अब तक कार्ड नहीं बना है।",
            "category_code": "FOOD-RATION-CARD",
            "location": {"district_code": "PAT"},
            "channel": channel,
        },
        headers={"Idempotency-Key": f"channels-{datetime.now(UTC).timestamp()}"},
    )
    assert filed.status_code == 201, filed.text
    return str(filed.json()["registration_number"])


async def received(suite: RunningSuite, channel: str, number: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def arrived() -> bool:
        found[:] = [m for m in message_sink.read(suite.messages, channel) if number in str(m.get("text", ""))]
        return bool(found)

    await eventually(arrived, timeout=30)
    return found


async def test_B5_C2_the_acknowledgement_goes_by_sms_to_the_phone_given(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        number = await file(http, "9876510301", "web")
        [sms] = await received(suite, "sms", number)
        assert sms["to"] == "+919876510301"
        assert sms["dlt_template_id"]  # Indian SMS carries its DLT template id
        assert sms["template"] == "acknowledgement"
        assert sms["unicode"] is True  # a Hindi text goes as a Unicode SMS
        # Filed on the web: nothing on WhatsApp.
        assert [m for m in message_sink.read(suite.messages, "whatsapp") if number in str(m.get("text", ""))] == []


async def test_B5_a_whatsapp_filing_is_acknowledged_on_whatsapp(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        number = await file(http, "9876510302", "whatsapp")
        [message] = await received(suite, "whatsapp", number)
        assert message["to"] == "+919876510302"
        assert message["template"] == "acknowledgement"
        await received(suite, "sms", number)


def signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A receipt as the provider sends it, signed with the dev run's provider secret."""
    raw = json.dumps(body).encode()
    digest = hmac.new(devrun.DEV_PROVIDER_WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Nivaran-Signature": f"sha256={digest}", "Content-Type": "application/json"}


async def test_C2_receipts_mark_delivery_and_a_dead_letter_is_retried_by_the_state_admin(suite: RunningSuite) -> None:
    """The provider's receipts, signed, mark the acknowledgement SMS delivered or undelivered; an undelivered one is a
    dead letter the state admin sees (masked) and retries once: it goes out again, and only once."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        number = await file(http, "9876510303", "web")
        [sms] = await received(suite, "sms", number)
        unsigned = await http.post(
            "/v1/providers/sms/receipts", json={"message_id": sms["message_id"], "status": "failed"}
        )
        assert unsigned.status_code == 401
        raw, headers = signed({"message_id": sms["message_id"], "status": "failed", "error": "handset off"})
        undelivered = await http.post("/v1/providers/sms/receipts", content=raw, headers=headers)
        assert undelivered.status_code == 200, undelivered.text
        assert undelivered.json()["state"] == "failed"

        admin = await http.post("/v1/auth/login", json={"username": "state.admin", "password": "dev-state-admin-2026"})
        assert admin.status_code == 200, admin.text
        as_admin = {"Authorization": f"Bearer {admin.json()['access_token']}"}
        listed = await http.get("/v1/deliveries/failed", params={"channel": "sms"}, headers=as_admin)
        assert listed.status_code == 200, listed.text
        [dead] = [d for d in listed.json()["deliveries"] if d["registration_number"] == number]
        assert "9876510303" not in dead["recipient"]  # masked
        assert dead["recipient"].endswith("0303")
        # Issue 12, item 5: the dead letters read one at a time are the same, in the same order, as in one page.
        whole = await http.get("/v1/deliveries/failed", params={"page_size": 200}, headers=as_admin)
        read = await every_page(http, "/v1/deliveries/failed", params={"page_size": 1}, headers=as_admin)
        one_by_one = [d["delivery_id"] for page in read for d in page["deliveries"]]
        assert dead["delivery_id"] in one_by_one
        assert one_by_one == [d["delivery_id"] for d in whole.json()["deliveries"]]
        retried = await http.post(f"/v1/deliveries/{dead['delivery_id']}/retry", headers=as_admin)
        assert retried.status_code == 200, retried.text
        assert retried.json()["state"] == "sent"
        again = await http.post(f"/v1/deliveries/{dead['delivery_id']}/retry", headers=as_admin)
        assert again.status_code == 409  # never twice
        sent = [m for m in message_sink.read(suite.messages, "sms") if number in str(m.get("text", ""))]
        assert len(sent) == 2  # the first send, and the retry
        raw, headers = signed({"message_id": retried.json()["provider_message_id"], "status": "delivered"})
        delivered = await http.post("/v1/providers/sms/receipts", content=raw, headers=headers)
        assert delivered.json()["state"] == "delivered"


async def test_S2_C2_the_call_centre_files_for_a_caller_and_nobody_else_claims_its_channel(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        claimed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "रमेश पासवान", "address": "बिहटा, पटना", "phone": "9876510304"},
                "description": "हैंडपंप तीन सप्ताह से खराब है, मरम्मत नहीं हुई।",
                "category_code": "FOOD-RATION-CARD",
                "location": {"district_code": "PAT"},
                "channel": "call_centre",
            },
            headers={"Idempotency-Key": f"cc-{datetime.now(UTC).timestamp()}"},
        )
        assert claimed.status_code == 422, claimed.text
        assert [e["field"] for e in claimed.json()["errors"]] == ["channel"]
        login = {"username": "callcentre.patna", "password": "dev-callcentre-patna-2026"}
        operator = (await http.post("/v1/auth/login", json=login)).json()["access_token"]
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "रमेश पासवान", "address": "बिहटा, पटना", "phone": "9876510304"},
                "description": "राशन कार्ड का नवीनीकरण तीन महीने से लंबित है, फोन पर शिकायत।",
                "category_code": "FOOD-RATION-CARD",
                "location": {"district_code": "PAT"},
                "channel": "call_centre",
            },
            headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": f"cc-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["channel"] == "call_centre"
        number = filed.json()["registration_number"]
        # The caller is acknowledged by SMS on the phone given (C2).
        await received(suite, "sms", number)


async def test_B3_C2_a_citizen_files_by_sms_and_asks_its_status_by_sms(suite: RunningSuite) -> None:
    """The aggregator's webhook, signed: a `GRV` message files a case on the SMS channel and the registration number
    comes back by SMS; `STATUS` from the same phone answers it, from another phone it reveals nothing."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:

        async def inbound(message_id: str, sender: str, text: str) -> dict[str, Any]:
            raw, headers = signed({"message_id": message_id, "from": sender, "text": text})
            answered = await http.post("/v1/inbound/sms", content=raw, headers=headers)
            assert answered.status_code == 200, answered.text
            return dict(answered.json())

        stamp = datetime.now(UTC).strftime("%H%M%S%f")
        filed = await inbound(f"agg-{stamp}-1", "9876510305", "GRV FOOD-RATION-CARD PAT राशन कार्ड छह महीने से नहीं बना")
        assert filed["outcome"] == "filed", filed
        number = filed["registration_number"]
        again = await inbound(f"agg-{stamp}-1", "9876510305", "GRV FOOD-RATION-CARD PAT राशन कार्ड छह महीने से नहीं बना")
        assert (again["duplicate"], again["registration_number"]) == (True, number)  # one case per message
        replies = [m for m in message_sink.read(suite.messages, "sms") if m.get("template") == "message_reply"]
        assert any(number in str(m["text"]) and m["to"] == "+919876510305" for m in replies)

        status = await inbound(f"agg-{stamp}-2", "+919876510305", f"STATUS {number}")
        assert (status["outcome"], status["registration_number"]) == ("status", number)
        other = await inbound(f"agg-{stamp}-3", "9876510306", f"स्थिति {number}")
        assert other["outcome"] == "not_found"
        assert number in other["reply"]["en"]  # named back to the asker, but nothing of the case
        assert "District Supply" not in other["reply"]["en"]


async def test_B5_a_grievance_filed_on_whatsapp_is_answered_on_whatsapp(suite: RunningSuite) -> None:
    """Meta's webhook, signed with the dev app secret: the message files a case on the whatsapp channel; the answer
    and the acknowledgement come back on WhatsApp; the API's 'read' status of the acknowledgement is its receipt."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:

        async def notify_meta(value: dict[str, Any]) -> dict[str, Any]:
            change = {"field": "messages", "value": {"messaging_product": "whatsapp", **value}}
            raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [change]}]}).encode()
            digest = hmac.new(devrun.DEV_WHATSAPP_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            headers = {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
            answered = await http.post("/v1/inbound/whatsapp", content=raw, headers=headers)
            assert answered.status_code == 200, answered.text
            return dict(answered.json())

        stamp = datetime.now(UTC).strftime("%H%M%S%f")
        text = "शिकायत FOOD-RATION-CARD PAT राशन कार्ड में नाम गलत छपा है, सुधार नहीं हुआ"
        message = {"from": "919876510307", "id": f"wamid.{stamp}", "type": "text", "text": {"body": text}}
        assert await notify_meta({"messages": [message]}) == {"messages": 1, "statuses": 0}

        def on_whatsapp() -> list[dict[str, Any]]:
            return [m for m in message_sink.read(suite.messages, "whatsapp") if m.get("to") == "+919876510307"]

        async def answered_and_acknowledged() -> bool:
            return {m.get("template") for m in on_whatsapp()} >= {"message_reply", "acknowledgement"}

        await eventually(answered_and_acknowledged, timeout=30)
        [ack] = [m for m in on_whatsapp() if m["template"] == "acknowledgement"]
        read = {"id": ack["message_id"], "status": "read", "recipient_id": "919876510307"}
        assert await notify_meta({"statuses": [read]}) == {"messages": 0, "statuses": 1}


async def test_C2_a_complainant_who_prefers_email_is_not_sent_sms(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "गीता कुमारी", "address": "दानापुर, पटना", "phone": "9876510308",
                                "email": "geeta@example.in", "preferred_channel": "email"},
                "description": "राशन दुकान पर अनाज कम तौला जा रहा है, शिकायत पर कार्रवाई नहीं।",
                "category_code": "FOOD-RATION-CARD",
                "location": {"district_code": "PAT"},
            },
            headers={"Idempotency-Key": f"prefers-{datetime.now(UTC).timestamp()}"},
        )  # fmt: skip
        assert filed.status_code == 201, filed.text
        number = filed.json()["registration_number"]

        async def mailed() -> bool:
            # The complainant's mail, not the L1 officer's about the same case (S16 / C2).
            return any(
                number in m.as_string() and "geeta@example.in" in str(m["To"]) for m in list(suite.smtp.mail.messages)
            )

        await eventually(mailed, timeout=30)
        assert [m for m in message_sink.read(suite.messages, "sms") if number in str(m.get("text", ""))] == []
        no_phone = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "गीता कुमारी", "address": "दानापुर", "preferred_channel": "sms"},
                "description": "राशन दुकान पर अनाज कम तौला जा रहा है, शिकायत पर कार्रवाई नहीं।",
                "category_code": "FOOD-RATION-CARD",
                "location": {"district_code": "PAT"},
            },
            headers={"Idempotency-Key": f"prefers-{datetime.now(UTC).timestamp()}"},
        )
        assert no_phone.status_code == 422
        assert [e["field"] for e in no_phone.json()["errors"]] == ["complainant.preferred_channel"]
