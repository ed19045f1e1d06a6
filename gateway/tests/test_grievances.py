"""Filing and tracking grievances through the gateway: the mapping to and from intake and notify."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nivaran.intake.v1 import intake_pb2

PROBLEM_JSON = "application/problem+json"
Filing = Callable[..., dict[str, Any]]


async def test_B1_B4_hindi_filing_returns_201_with_registration_number(rig: Any, make_filing: Filing) -> None:
    body = make_filing()
    response = await rig.client.post("/v1/grievances", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    number = created["registration_number"]
    assert number == "BR-PAT-2026-0000001-7"
    assert response.headers["location"] == f"/v1/grievances/{number}"
    assert created["status"] == "assigned"
    assert created["channel"] == "web"
    assert created["id"]
    assert created["category"] == {"code": "REVENUE_MUTATION", "name": {"en": "Land records", "hi": "भूमि अभिलेख"}}
    assert created["assignment"]["position_title"] == {"en": "Circle Officer", "hi": "अंचल अधिकारी"}
    # No clock runs before the lifecycle records one: intake answers a filing without a deadline.
    assert (created["current_deadline"], created["deadline_clock"]) == (None, None)
    assert number in created["acknowledgement"]["hi"]
    assert number in created["acknowledgement"]["en"]

    [sent] = rig.intake.requests
    assert sent.complainant.name == "राम कुमार"
    assert sent.complainant.aadhaar == body["complainant"]["aadhaar"]
    assert sent.description == body["description"]
    assert sent.location.district_code == "PAT"
    assert sent.location.block_code == "BIHTA"
    assert sent.channel == intake_pb2.CHANNEL_WEB
    assert sent.language == "hi"
    # Without a client key the gateway still makes the RPC idempotent with a key of its own.
    assert sent.idempotency_key.startswith("gw-")


async def test_channel_and_optional_members_reach_intake(rig: Any, make_filing: Filing) -> None:
    body = make_filing(channel="call_centre", subject=None, expected_resolution=None)
    del body["language"]
    body["complainant"] = {"name": "Sita Devi", "address": "Ward 4, Gaya"}

    response = await rig.client.post("/v1/grievances", json=body)

    assert response.status_code == 201, response.text
    [sent] = rig.intake.requests
    assert sent.channel == intake_pb2.CHANNEL_CALL_CENTRE
    assert (sent.subject, sent.expected_resolution, sent.language) == ("", "", "")
    assert (sent.complainant.phone, sent.complainant.aadhaar, sent.complainant.email) == ("", "", "")


async def test_retry_recognised_by_intake_answers_200_with_same_case(rig: Any, make_filing: Filing) -> None:
    headers = {"Idempotency-Key": "retry-key-0001"}
    first = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)
    # Forget the gateway's Redis copy so the retry must reach intake, which answers created=false.
    await rig.redis.delete(*[k async for k in rig.redis.scan_iter(match=f"{rig.settings.redis_key_prefix}*")])

    second = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert "idempotent-replayed" not in second.headers
    assert len(rig.intake.by_number) == 1


async def test_get_maps_case_timeline_and_notices_with_pii_masked(rig: Any, make_filing: Filing) -> None:
    body = make_filing()
    created = (await rig.client.post("/v1/grievances", json=body)).json()
    number = created["registration_number"]

    # The filing was anonymous; citizen A verified the same phone by OTP, so it is theirs to track.
    response = await rig.client.get(f"/v1/grievances/{number}", headers=rig.auth("citizen_a"))

    assert response.status_code == 200, response.text
    case = response.json()
    assert case["registration_number"] == number
    assert case["id"] == created["id"]
    assert case["status"] == "assigned"
    assert case["track"] == "sahyog"
    assert case["category"]["name"]["hi"] == "भूमि अभिलेख"
    assert case["location"]["district_code"] == "PAT"
    assert case["location"]["block_code"] == "BIHTA"
    assert case["location"]["panchayat_code"] is None
    assert case["assignment"] == {
        "department_code": "REVENUE",
        "department_name": {"en": "Revenue and Land Reforms", "hi": "राजस्व एवं भूमि सुधार"},
        "office_id": "office-pat-co",
        "office_name": {"en": "Circle Office, Bihta", "hi": "अंचल कार्यालय, बिहटा"},
        "position_id": "pos-co-bihta",
        "position_title": {"en": "Circle Officer", "hi": "अंचल अधिकारी"},
        "assigned_at": "2026-03-02T04:30:00Z",
    }
    assert case["filed_at"] == "2026-03-02T04:30:00Z"
    assert (case["current_deadline"], case["deadline_clock"]) == (None, None)

    # The fake intake echoes raw PII on purpose: the gateway masks it anyway.
    complainant = case["complainant"]
    assert complainant["name"] == "राम कुमार"
    assert complainant["phone"] == "+91XXXXXX3210"
    assert complainant["aadhaar"] == "XXXX-XXXX-0124"
    assert complainant["email"] == "r***@example.in"
    for raw in ("9876543210", body["complainant"]["aadhaar"], "ram.kumar@"):
        assert raw not in response.text

    assert [e["sequence"] for e in case["timeline"]] == [1, 2]
    registered = case["timeline"][0]
    assert registered["event_type"] == "registered"
    assert registered["summary"] == {"en": "Grievance registered", "hi": "शिकायत दर्ज हुई"}
    assert registered["actor"]["role"] == "citizen"
    assert case["timeline"][1]["actor"] is None

    [notice] = case["notices"]
    assert notice["template"] == "acknowledgement"
    assert notice["subject"] == {"en": "Grievance registered", "hi": "शिकायत दर्ज"}
    sms, email = notice["deliveries"]
    assert sms == {
        "channel": "sms",
        "state": "delivered",
        "address": "+91XXXXXX3210",
        "sent_at": "2026-03-02T04:31:00Z",
        "delivered_at": "2026-03-02T04:32:00Z",
        "read_at": None,
    }
    assert (email["channel"], email["state"], email["address"]) == ("email", "sent", "r***@example.in")
    assert case["warnings"] == []
    assert rig.notify.asked == [created["id"]]


async def test_get_unknown_registration_number_is_404_problem(rig: Any) -> None:
    response = await rig.client.get("/v1/grievances/BR-PAT-2026-0009999-3", headers=rig.auth("citizen_a"))

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == 404
    assert problem["instance"] == "/v1/grievances/BR-PAT-2026-0009999-3"
    assert problem["title_hi"]


async def test_get_with_notify_down_still_answers_with_a_warning(
    make_rig: Any, make_filing: Filing, unused_tcp_port_target: str
) -> None:
    rig = await make_rig(notify_target=unused_tcp_port_target)
    number = (await rig.client.post("/v1/grievances", json=make_filing())).json()["registration_number"]

    response = await rig.client.get(f"/v1/grievances/{number}", headers=rig.auth("citizen_a"))

    assert response.status_code == 200, response.text
    case = response.json()
    assert case["notices"] is None
    [warning] = case["warnings"]
    assert warning["field"] == "notices"
    assert warning["detail"]
    assert warning["detail_hi"]
    assert case["timeline"], "the rest of the read is intact"
    assert case["registration_number"] == number
