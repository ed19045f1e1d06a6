"""Open311 POST Service Request with an integrator's api_key, the token flow, the servicerequestupdates extension and
the /v1 routes that issue and revoke keys: form and JSON, XML and JSON answers, and the spec's errors naming the
field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from gateway_testkit import OPEN311_API_KEY, auth, bearer, mint

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran_common.errors import InvalidArgument
from nivaran_common.timeutil import to_timestamp

STATE_ADMIN = {"sub": "acct-state-admin", "kind": "officer", "roles": ["STATE_ADMIN"], "positions": [], "district": ""}
FORM = {
    "api_key": OPEN311_API_KEY,
    "service_code": "REVENUE_MUTATION",
    "lat": "25.5941",
    "long": "85.1376",
    "address_string": "गोनपुरा, फुलवारी शरीफ",
    "first_name": "गीता",
    "last_name": "कुमारी",
    "phone": "+919876510451",
    "email": "geeta@example.in",
    "description": "दाखिल-खारिज आठ महीने से लंबित है।",
    "media_url": "https://img.example.in/photo.jpg",
    "device_id": "ignored-device",
    "attribute[district_code]": "PAT",
}
CASE = "BR-PAT-2026-0300001-7"


async def test_a_form_encoded_request_is_filed_as_v1_files_a_grievance(rig: Any) -> None:
    response = await rig.client.post("/open311/v2/requests.json", data=FORM)

    assert response.status_code == 201, response.text
    [filed] = response.json()
    assert filed["service_request_id"] == "BR-PAT-2026-0000001-7"
    assert len(filed["token"]) == 32
    assert "BR-PAT-2026-0000001-7" in filed["service_notice"]
    assert response.headers["location"].endswith("/v1/grievances/BR-PAT-2026-0000001-7")
    [sent] = rig.intake.requests
    assert (sent.complainant.name, sent.complainant.address) == ("गीता कुमारी", "गोनपुरा, फुलवारी शरीफ")
    assert (sent.complainant.phone, sent.complainant.email) == ("+919876510451", "geeta@example.in")
    assert sent.category_code == "REVENUE_MUTATION"
    assert sent.location.district_code == "PAT"
    assert sent.channel == intake_pb2.CHANNEL_WEB
    assert sent.description.splitlines() == [
        "दाखिल-खारिज आठ महीने से लंबित है।",
        "Location / स्थान (lat, long): 25.5941, 85.1376",
        "Media / मीडिया: https://img.example.in/photo.jpg",
    ]
    assert sent.idempotency_key.startswith("gw-")
    assert not sent.HasField("filed_by")


async def test_a_json_request_answers_in_xml_and_its_token_resolves(rig: Any) -> None:
    body = {k: v for k, v in FORM.items() if k not in ("lat", "long", "attribute[district_code]")}
    body["attributes"] = {"district_code": "PAT"}

    response = await rig.client.post("/open311/v2/requests.xml", json=body)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    [element] = root.findall("request")
    number, token = element.findtext("service_request_id"), element.findtext("token") or ""
    resolved = await rig.client.get(f"/open311/v2/tokens/{token}.json")
    as_xml = await rig.client.get(f"/open311/v2/tokens/{token}.xml")
    unknown = await rig.client.get(f"/open311/v2/tokens/{'0' * 32}.json")
    malformed = await rig.client.get("/open311/v2/tokens/not-a-token.json")
    assert resolved.json() == [{"token": token, "service_request_id": number}]
    assert ET.fromstring(as_xml.content).findtext("request/service_request_id") == number
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404
    assert malformed.status_code == 422
    assert malformed.json()[0]["description"].startswith("token: ")
    assert rig.intake.requests[0].complainant.address == "गोनपुरा, फुलवारी शरीफ"


async def test_an_idempotency_key_replays_the_first_filing_for_the_same_integrator(rig: Any) -> None:
    headers = {"Idempotency-Key": "fms-report-000123"}

    first = await rig.client.post("/open311/v2/requests.json", data=FORM, headers=headers)
    again = await rig.client.post("/open311/v2/requests.json", data=FORM, headers=headers)
    changed = await rig.client.post("/open311/v2/requests.json", data={**FORM, "description": "कुछ और"}, headers=headers)

    assert first.status_code == 201, first.text
    # The first answer, replayed (as /v1 replays it), without filing again.
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    assert changed.status_code == 422
    assert changed.json()[0]["description"].startswith("Idempotency-Key: ")
    assert len(rig.intake.requests) == len(rig.intake.by_key) == 1
    # The key sent to intake is the integrator's own: another key with the same header files its own case.
    assert next(iter(rig.intake.by_key)).startswith("o311-")


async def test_an_unknown_or_revoked_api_key_is_refused_and_a_missing_one_named(rig: Any) -> None:
    rig.identity.open311_keys[OPEN311_API_KEY].active = False

    revoked = await rig.client.post("/open311/v2/requests.xml", data=FORM)
    unknown = await rig.client.post("/open311/v2/requests.json", data={**FORM, "api_key": "nvok_guess"})
    without_key = {k: v for k, v in FORM.items() if k != "api_key"}
    missing = await rig.client.post("/open311/v2/requests.json", data=without_key)
    in_the_url = await rig.client.post(
        "/open311/v2/requests.json", params={"api_key": OPEN311_API_KEY}, data=without_key
    )

    assert revoked.status_code == 403
    assert ET.fromstring(revoked.content).findtext("error/code") == "403"
    assert (ET.fromstring(revoked.content).findtext("error/description") or "").startswith("api_key: ")
    assert unknown.status_code == 403
    assert missing.status_code == 400
    assert missing.json()[0]["description"].startswith("api_key: ")
    assert in_the_url.status_code == 400
    assert in_the_url.json()[0]["description"].startswith("api_key: send it in the body")
    assert rig.intake.requests == []


async def test_a_key_is_held_to_its_own_rate_limit(rig: Any) -> None:
    rig.identity.open311_keys[OPEN311_API_KEY].requests_per_minute = 1

    first = await rig.client.post("/open311/v2/requests.json", data=FORM)
    second = await rig.client.post("/open311/v2/requests.xml", data=FORM)

    assert first.status_code == 201, first.text
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert ET.fromstring(second.content).findtext("error/code") == "429"
    assert len(rig.intake.requests) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_code": None}, "service_code"),
        ({"service_code": "NO_SUCH"}, "service_code"),
        ({"lat": None, "long": None, "address_string": None}, "address_string"),
        ({"long": None}, "long"),
        ({"lat": "100"}, "lat"),
        ({"attribute[district_code]": None}, "attribute[district_code]"),
        ({"attribute[district_code]": "XYZ"}, "attribute[district_code]"),
        ({"attribute[colour]": "red"}, "attribute[colour]"),
        ({"media_url": "not a url"}, "media_url"),
        ({"first_name": None, "last_name": None}, "first_name"),
        ({"description": " "}, "description"),
    ],
)
async def test_bad_input_is_a_400_naming_the_open311_field(rig: Any, change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**FORM, **change}.items() if v is not None}

    response = await rig.client.post("/open311/v2/requests.json", data=body)

    assert response.status_code == 400, response.text
    assert any(e["description"].startswith(f"{field}: ") for e in response.json()), response.text
    assert all(e["code"] == 400 for e in response.json())
    assert rig.intake.requests == []


async def test_intakes_field_violations_come_back_under_the_open311_names(rig: Any) -> None:
    rig.intake.fail_with = InvalidArgument.field("complainant.phone", "is not a valid Indian mobile number")

    response = await rig.client.post("/open311/v2/requests.json", data=FORM)
    not_json = await rig.client.post(
        "/open311/v2/requests.json", content=b"{", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()[0]["description"].startswith("phone: is not a valid Indian mobile number")
    assert not_json.status_code == 400
    assert not_json.json()[0]["description"].startswith("body: ")


def _event(grievance_id: str, sequence: int, event_type: str, en: str, hi: str, minute: int) -> Any:
    return intake_pb2.TimelineEvent(
        id=f"ev-{sequence}",
        grievance_id=grievance_id,
        sequence=sequence,
        event_type=event_type,
        summary=common_pb2.LocalizedText(en=en, hi=hi),
        occurred_at=to_timestamp(datetime(2026, 3, 2, 5, minute, tzinfo=UTC)),
    )


def seed_timeline(rig: Any) -> None:
    case = rig.intake.seed(CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE",
                           account_id="acct-citizen-a")  # fmt: skip
    rig.intake.timelines[case.id] = [
        _event(case.id, 1, "registered", "Grievance registered as X via web (राम कुमार)", "दर्ज", 0),
        _event(
            case.id,
            2,
            "assigned",
            "Assigned to Circle Officer, Circle Office Bihta",
            "अंचल अधिकारी, अंचल कार्यालय बिहटा को सौंपा गया",
            1,
        ),  # fmt: skip
        _event(case.id, 3, "deadline_set", "Deadline set", "समय सीमा", 2),
        _event(case.id, 4, "assigned", "Moved to Revenue Officer: call राम on 9876543210", "भेजा गया: राम", 3),
        _event(case.id, 5, "disposed", "Disposed: the mutation of राम कुमार's plot is done", "निस्तारित", 4),
    ]


async def test_updates_are_the_timeline_in_public_words_with_the_status_after_each(rig: Any) -> None:
    seed_timeline(rig)

    as_json = await rig.client.get(
        "/open311/v2/servicerequestupdates.json", params={"service_request_id": CASE}, headers=auth("citizen_a")
    )
    as_xml = await rig.client.get("/open311/v2/servicerequestupdates.xml", headers=auth("officer_a"))
    later = await rig.client.get(
        "/open311/v2/servicerequestupdates.json",
        params={"start_date": "2026-03-02T05:02:00Z"},
        headers=auth("dm_a"),
    )

    assert as_json.status_code == 200, as_json.text
    updates = as_json.json()
    assert [(u["update_id"], u["status"], u["external_status_code"]) for u in updates] == [
        (f"{CASE}:1", "OPEN", "registered"),
        (f"{CASE}:2", "OPEN", "assigned"),
        (f"{CASE}:4", "OPEN", "assigned"),
        (f"{CASE}:5", "CLOSED", "disposed"),
    ]
    assert [u["description"] for u in updates] == [
        "Registered / पंजीकृत",
        "Assigned to Circle Officer, Circle Office Bihta / अंचल अधिकारी, अंचल कार्यालय बिहटा को सौंपा गया",
        "Assigned to an office / कार्यालय को सौंपा गया",
        "Disposed / निस्तारित",
    ]
    assert updates[0]["service_request_id"] == CASE
    assert updates[0]["updated_datetime"] == "2026-03-02T10:30:00+05:30"
    for personal in ("राम", "9876543210", "mutation"):
        assert personal not in as_json.text
        assert personal not in as_xml.text
    root = ET.fromstring(as_xml.content)
    assert root.tag == "service_request_updates"
    assert [e.findtext("update_id") for e in root.findall("request_update")] == [u["update_id"] for u in updates]
    assert [u["update_id"] for u in later.json()] == [f"{CASE}:4", f"{CASE}:5"]


async def test_updates_of_a_case_outside_the_scope_are_404_and_need_a_token(rig: Any) -> None:
    seed_timeline(rig)

    other = await rig.client.get(
        "/open311/v2/servicerequestupdates.json", params={"service_request_id": CASE}, headers=auth("citizen_b")
    )
    anonymous = await rig.client.get("/open311/v2/servicerequestupdates.xml")
    malformed = await rig.client.get(
        "/open311/v2/servicerequestupdates.json", params={"service_request_id": "x1"}, headers=auth("citizen_a")
    )
    listed = await rig.client.get("/open311/v2/servicerequestupdates.json", headers=auth("citizen_b"))

    assert other.status_code == 404
    assert anonymous.status_code == 401
    assert ET.fromstring(anonymous.content).findtext("error/code") == "401"
    assert malformed.status_code == 400
    assert malformed.json()[0]["description"].startswith("service_request_id: ")
    assert listed.json() == []


async def test_a_state_admin_issues_lists_and_revokes_keys_and_the_revoked_key_is_refused(rig: Any) -> None:
    admin = bearer(mint(STATE_ADMIN))

    issued = await rig.client.post(
        "/v1/open311-keys", json={"integrator": "FixMyStreet Gaya", "requests_per_minute": 30}, headers=admin
    )
    api_key = issued.json()["api_key"]
    filed = await rig.client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    listed = await rig.client.get("/v1/open311-keys", headers=admin)
    key_id = issued.json()["key"]["id"]
    revoked = await rig.client.post(f"/v1/open311-keys/{key_id}/revoke", headers=admin)
    refused = await rig.client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    by_dm = await rig.client.post("/v1/open311-keys", json={"integrator": "x"}, headers=auth("dm_a"))
    bad = await rig.client.post("/v1/open311-keys", json={"integrator": "", "requests_per_minute": 0}, headers=admin)

    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    assert api_key.startswith("nvok_")
    assert issued.json()["key"]["requests_per_minute"] == 30
    issue_request = next(r for r in rig.identity.requests if isinstance(r, identity_pb2.IssueOpen311KeyRequest))
    assert (issue_request.actor.account_id, issue_request.actor.role) == ("acct-state-admin", "STATE_ADMIN")
    assert filed.status_code == 201, filed.text
    assert key_id in {k["id"] for k in listed.json()["keys"]}
    assert api_key not in listed.text
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert revoked.json()["revoked_by_account_id"] == "acct-state-admin"
    assert refused.status_code == 403
    assert by_dm.status_code == 403
    assert by_dm.headers["content-type"] == "application/problem+json"
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"integrator", "requests_per_minute"}
