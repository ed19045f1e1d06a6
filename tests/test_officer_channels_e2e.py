"""S16 / C2 end to end: with officers' email turned on (tests/_suite.py, as `make run` does), a case filed through
`/v1` lands in the L1 officer's in-app inbox as before and reaches the officer's own mailbox too, at the address the
demo master data gives the post's holder (services/identity/seed/demo.yaml), asked of identity by notify at the
moment of sending; the complainant's notices are what they were. Through the real suite (tests/conftest.py's shared
suite) and its real SMTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import Message
from email.utils import parseaddr
from typing import Any

import httpx
import message_sink  # scripts/message_sink.py, on sys.path through tests/conftest.py
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import eventually

PHONE = "9876510401"
CITIZEN_EMAIL = "kamla.devi@example.in"
L1_POST = "POS-FOOD-PAT-DSO"
L1_EMAIL = "dso.patna@nivaran.example.gov.in"  # the demo DSO's (services/identity/seed/demo.yaml)
L1_LOGIN = {"username": "dso.patna", "password": "dev-dso-patna-2026"}
DEV_FIXED_OTP = "123456"


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


def text_of(message: Message) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(parts)


def by_template(case: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The case's notices: template -> channel -> delivery."""
    return {n["template"]: {d["channel"]: d for d in n["deliveries"]} for n in case.get("notices") or []}


async def signed_in(http: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """The L1 officer's and the complainant's authorization headers."""
    officer = await http.post("/v1/auth/login", json=L1_LOGIN)
    assert officer.status_code == 200, officer.text
    assert (await http.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202
    citizen = await http.post("/v1/auth/otp/verify", json={"phone": PHONE, "otp": DEV_FIXED_OTP})
    assert citizen.status_code == 200, citizen.text
    return (
        {"Authorization": f"Bearer {officer.json()['access_token']}"},
        {"Authorization": f"Bearer {citizen.json()['access_token']}"},
    )


async def test_S16_C2_the_L1_officer_is_mailed_the_new_case_and_the_citizens_notices_are_unchanged(
    suite: RunningSuite,
) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "कमला देवी", "address": "फुलवारी शरीफ, पटना", "phone": PHONE,
                                "email": CITIZEN_EMAIL},
                "description": "राशन कार्ड में परिवार के सदस्यों के नाम जोड़ने का आवेदन चार महीने से लंबित है।",
                "category_code": "FOOD-RATION-CARD",
                "location": {"district_code": "PAT"},
                "channel": "web",
            },
            headers={"Idempotency-Key": f"officer-channels-{datetime.now(UTC).timestamp()}"},
        )  # fmt: skip
        assert filed.status_code == 201, filed.text
        number = filed.json()["registration_number"]

        # The officer's mail: the case-assigned notice, in Hindi and English, to the post holder's own address.
        to_officer = await suite.smtp.mail.wait_for(
            lambda m: m.get("X-Nivaran-Registration") == number and L1_EMAIL in str(m["To"]), timeout=60
        )
        text = text_of(to_officer)
        assert "नया मामला सौंपा गया है" in text
        assert "A new case has been assigned" in text
        assert CITIZEN_EMAIL not in str(to_officer["To"])

        officer, citizen = await signed_in(http)
        seen: dict[str, Any] = {}

        async def recorded() -> bool:
            seen.update((await http.get(f"/v1/grievances/{number}", headers=officer)).json())
            notices = by_template(seen)
            return "email" in notices.get("case_assigned", {}) and "acknowledgement" in notices

        await eventually(recorded, timeout=60, every=0.25)
        assert seen["assignment"]["position_id"] == L1_POST
        assigned = by_template(seen)["case_assigned"]
        # In-app as before (served on the portal, S16), and by email, its address masked in the view.
        assert set(assigned) == {"in_app", "email"}
        assert assigned["in_app"]["state"] == "delivered"
        assert assigned["email"]["state"] in ("sent", "delivered")
        assert assigned["email"]["address"] == "d***@nivaran.example.gov.in"
        assert L1_EMAIL not in json.dumps(seen)

        inbox = await http.get("/v1/me/notices", headers=officer)
        assert inbox.status_code == 200, inbox.text
        assert number in [n["registration_number"] for n in inbox.json()["notices"] if n["template"] == "case_assigned"]

        # The complainant's acknowledgement goes where it always went: in-app, their email, their phone; nothing of
        # the officer's notice reaches them, nor any SMS of it anyone (officers' SMS is off in this suite).
        mine = (await http.get(f"/v1/grievances/{number}", headers=citizen)).json()
        acknowledgement = by_template(mine)["acknowledgement"]
        assert set(acknowledgement) == {"in_app", "email", "sms"}
        assert "case_assigned" not in by_template(mine)
        to_citizen = await suite.smtp.mail.wait_for(
            lambda m: m.get("X-Nivaran-Registration") == number and CITIZEN_EMAIL in str(m["To"]), timeout=30
        )
        assert L1_EMAIL not in str(to_citizen["To"])
        sms: list[dict[str, Any]] = []

        async def texted() -> bool:
            sms[:] = [m for m in message_sink.read(suite.messages, "sms") if number in str(m.get("text", ""))]
            return bool(sms)

        await eventually(texted, timeout=30)
        assert [(m["to"], m["template"]) for m in sms] == [(f"+91{PHONE}", "acknowledgement")]
        mails = [m for m in list(suite.smtp.mail.messages) if m.get("X-Nivaran-Registration") == number]
        assert sorted(parseaddr(str(m["To"]))[1] for m in mails) == sorted([CITIZEN_EMAIL, L1_EMAIL])
