"""Open311 GeoReport v2 end to end, on the real suite (tests/conftest.py's shared suite): a real Open311 client from
PyPI (`georeport`) reads the services from routing's categories, and a case filed through /v1 reads as a service
request with the mapped fields and none of the complainant's personal data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
import pytest_asyncio
import requests
from _suite import RunningSuite
from georeport import GeoReport

from nivaran_common.testing import eventually

DEV_FIXED_OTP = "123456"
PHONE = "9876510451"
NAME = "गीता कुमारी"
ADDRESS = "मकान 12, गोनपुरा, फुलवारी शरीफ"
DESCRIPTION = "मेरा राशन कार्ड आठ महीने से नहीं बना; मेरा मोबाइल 9876510451 है।"
CATEGORY = "FOOD-RATION-CARD"


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


@pytest.mark.parametrize("output_format", ["json", "xml"])
async def test_a_georeport_client_lists_routings_categories_as_services(
    suite: RunningSuite, output_format: str
) -> None:
    client = GeoReport(f"{suite.base_url}/open311/v2", jurisdiction="BR", output_format=output_format)

    services: list[dict[str, Any]] = await asyncio.to_thread(client.get_service_list)

    by_code = {s["service_code"]: s for s in services}
    ration = by_code[CATEGORY]
    assert ration["service_name"]
    assert ration["group"] == "FOOD"
    assert str(ration["metadata"]).lower() == "true"
    assert ration["type"] == "realtime"
    definition: dict[str, Any] = await asyncio.to_thread(client.get_service_definition, CATEGORY)
    assert definition["service_code"] == CATEGORY
    assert "PAT" in str(definition["attributes"])
    # Reading a request needs a Nivaran token, which this client cannot send: the spec's 401, not a crash.
    with pytest.raises(requests.HTTPError) as refused:
        await asyncio.to_thread(client.get_service_request, "BR-PAT-2026-0000001-7")
    assert refused.value.response.status_code == 401


async def _citizen(http: httpx.AsyncClient) -> dict[str, str]:
    asked = await http.post("/v1/auth/otp", json={"phone": PHONE})
    assert asked.status_code == 202, asked.text
    verified = await http.post("/v1/auth/otp/verify", json={"phone": PHONE, "otp": DEV_FIXED_OTP})
    assert verified.status_code == 200, verified.text
    return {"Authorization": f"Bearer {verified.json()['access_token']}"}


async def test_a_case_filed_through_v1_reads_as_a_request_without_personal_data(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": NAME, "address": ADDRESS, "phone": PHONE, "email": "geeta@example.in"},
                "description": DESCRIPTION,
                "category_code": CATEGORY,
                "location": {"district_code": "PAT"},
            },
            headers={"Idempotency-Key": f"open311-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text
        case = filed.json()
        number = case["registration_number"]
        headers = await _citizen(http)
        found: dict[str, Any] = {}

        async def deadline_recorded() -> bool:
            answer = await http.get(f"/open311/v2/requests/{number}.json", headers=headers)
            assert answer.status_code == 200, answer.text
            [found["request"]] = answer.json()
            return "expected_datetime" in found["request"]

        await eventually(deadline_recorded, timeout=30)
        as_xml = await http.get(f"/open311/v2/requests/{number}.xml", headers=headers)
        listed = await http.get("/open311/v2/requests.json", params={"status": "open"}, headers=headers)
        v1 = (await http.get(f"/v1/grievances/{number}", headers=headers)).json()

    request = found["request"]
    assert request["service_request_id"] == number
    assert request["status"] == "open"
    assert request["service_code"] == CATEGORY
    assert request["service_name"] == case["category"]["name"]["en"]
    assert request["address"] == "District PAT"
    assert request["agency_responsible"].startswith(v1["assignment"]["office_name"]["en"])
    # W3C datetimes to the second, in India's time zone.
    for open311_name, v1_name in (("expected_datetime", "current_deadline"), ("requested_datetime", "filed_at")):
        v1_moment = datetime.fromisoformat(v1[v1_name]).replace(microsecond=0)
        assert datetime.fromisoformat(request[open311_name]) == v1_moment
    assert request["requested_datetime"].endswith("+05:30")
    [element] = ET.fromstring(as_xml.content).findall("request")
    assert {child.tag: child.text for child in element} == request
    assert number in {r["service_request_id"] for r in listed.json()}
    for text in (str(request), as_xml.text, listed.text):
        for personal in (NAME, ADDRESS, "गोनपुरा", PHONE, "XXXXXX", "geeta", "राशन कार्ड आठ महीने"):
            assert personal not in text


INTEGRATOR_PHONE = "9876510452"
INTEGRATOR_NAME = ("सुनीता", "देवी")
INTEGRATOR_DESCRIPTION = "राशन दुकान बंद रहती है; सुनीता देवी, मोबाइल 9876510452 (Open311 test)"


async def _state_admin(http: httpx.AsyncClient) -> dict[str, str]:
    signed_in = await http.post("/v1/auth/login", json={"username": "state.admin", "password": "dev-state-admin-2026"})
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


async def test_an_integrator_files_with_an_issued_key_and_a_revoked_key_is_refused(suite: RunningSuite) -> None:
    """Issue 12: a state admin issues an Open311 key; an integrator files with it (form-encoded, as the spec sends
    it) and gets the registration number at once; the case is an ordinary one in /v1 with its deadline; the
    servicerequestupdates extension shows its assignment in public words; once revoked, the key is refused on the
    very next request."""
    form = {
        "service_code": CATEGORY,
        "lat": "25.5941",
        "long": "85.1376",
        "address_string": "वार्ड 4, फुलवारी शरीफ, पटना",
        "first_name": INTEGRATOR_NAME[0],
        "last_name": INTEGRATOR_NAME[1],
        "phone": INTEGRATOR_PHONE,
        "description": INTEGRATOR_DESCRIPTION,
        "attribute[district_code]": "PAT",
    }
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        admin = await _state_admin(http)
        issued = await http.post(
            "/v1/open311-keys", json={"integrator": "FixMyStreet Patna (e2e)", "requests_per_minute": 30}, headers=admin
        )
        assert issued.status_code == 201, issued.text
        api_key, key_id = issued.json()["api_key"], issued.json()["key"]["id"]

        filed = await http.post(
            "/open311/v2/requests.json",
            data={**form, "api_key": api_key},
            headers={"Idempotency-Key": f"open311-e2e-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text
        [answer] = filed.json()
        number = answer["service_request_id"]
        resolved = await http.get(f"/open311/v2/tokens/{answer['token']}.xml")
        assert ET.fromstring(resolved.content).findtext("request/service_request_id") == number

        asked = await http.post("/v1/auth/otp", json={"phone": INTEGRATOR_PHONE})
        assert asked.status_code == 202, asked.text
        verified = await http.post("/v1/auth/otp/verify", json={"phone": INTEGRATOR_PHONE, "otp": DEV_FIXED_OTP})
        citizen = {"Authorization": f"Bearer {verified.json()['access_token']}"}
        found: dict[str, Any] = {}

        async def assigned_with_a_deadline() -> bool:
            case = await http.get(f"/v1/grievances/{number}", headers=citizen)
            assert case.status_code == 200, case.text
            found["v1"] = case.json()
            updates = await http.get(
                "/open311/v2/servicerequestupdates.json", params={"service_request_id": number}, headers=citizen
            )
            assert updates.status_code == 200, updates.text
            found["updates"] = updates
            kinds = {u["external_status_code"] for u in updates.json()}
            return bool(found["v1"].get("current_deadline")) and "assigned" in kinds

        await eventually(assigned_with_a_deadline, timeout=60)
        [request] = (await http.get(f"/open311/v2/requests/{number}.json", headers=citizen)).json()

        async def unchanged_read_is_304() -> bool:
            # Issue 12 (item 5): a case read carries an ETag; sent back while the case is quiet, 304 and no body.
            read = await http.get(f"/v1/grievances/{number}", headers=citizen)
            again = await http.get(
                f"/v1/grievances/{number}", headers={**citizen, "If-None-Match": read.headers["etag"]}
            )
            found["not_modified"] = again
            return again.status_code == 304

        await eventually(unchanged_read_is_304, timeout=30)
        assert found["not_modified"].content == b""

        revoked = await http.post(f"/v1/open311-keys/{key_id}/revoke", headers=admin)
        assert revoked.status_code == 200, revoked.text
        refused = await http.post("/open311/v2/requests.xml", data={**form, "api_key": api_key})

    v1 = found["v1"]
    assert v1["registration_number"] == number
    assert v1["category"]["code"] == CATEGORY
    assert v1["complainant"]["name"] == " ".join(INTEGRATOR_NAME)
    assert v1["description"].startswith(INTEGRATOR_DESCRIPTION)
    assert datetime.fromisoformat(request["expected_datetime"]) == datetime.fromisoformat(
        v1["current_deadline"]
    ).replace(microsecond=0)
    assert request["agency_responsible"].startswith(v1["assignment"]["office_name"]["en"])
    updates = found["updates"]
    [assignment] = [u for u in updates.json() if u["external_status_code"] == "assigned"]
    assert assignment["status"] == "OPEN"
    assert assignment["service_request_id"] == number
    assert v1["assignment"]["office_name"]["en"] in assignment["description"]
    for personal in (*INTEGRATOR_NAME, INTEGRATOR_PHONE, "राशन दुकान बंद", "वार्ड 4"):
        assert personal not in updates.text
    assert refused.status_code == 403
    assert ET.fromstring(refused.content).findtext("error/code") == "403"
