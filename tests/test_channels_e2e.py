"""B5 / C2 end to end: a complainant who gave a phone is acknowledged by SMS as well, and one who filed on WhatsApp is
answered on WhatsApp, through the real suite (tests/conftest.py's shared suite) and a real local HTTP receiver
standing in for the providers (scripts/message_sink.py, which `make run` starts too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import message_sink  # scripts/message_sink.py, on sys.path through tests/conftest.py
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import eventually


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
