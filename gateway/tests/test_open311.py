"""Open311 GeoReport v2 at /open311/v2: the documents in JSON and XML, field by field, and the spec's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from gateway_testkit import RAW_PHONE, auth

from nivaran.intake.v1 import intake_pb2

CASE = "BR-PAT-2026-0200001-7"
CLOSED_CASE = "BR-PAT-2026-0200002-7"
OTHER_DISTRICT_CASE = "BR-GAY-2026-0200003-7"
DEADLINE = datetime(2026, 3, 12, 12, 30, tzinfo=UTC)
PERSONAL = ("राम कुमार", "पटना", "मेरा आवेदन लंबित है", "दाखिल-खारिज लंबित", RAW_PHONE[-4:])


def seed(rig: Any) -> None:
    rig.intake.seed(
        CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE", account_id="acct-citizen-a",
        phone=RAW_PHONE, deadline=DEADLINE, deadline_clock="first_show_cause",
    )  # fmt: skip
    closed = rig.intake.seed(CLOSED_CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    closed.status = intake_pb2.STATUS_DISPOSED
    rig.intake.seed(OTHER_DISTRICT_CASE, district="GAY", position_id="pos-gay-l1", department="REVENUE")


def children(element: ET.Element) -> dict[str, str]:
    return {child.tag: child.text or "" for child in element}


async def test_discovery_names_the_endpoint_in_json_and_xml(rig: Any) -> None:
    as_json = await rig.client.get("/open311/v2/discovery.json")
    as_xml = await rig.client.get("/open311/v2/discovery.xml")

    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    document = as_json.json()
    [endpoint] = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://gateway.test/open311/v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    assert endpoint["type"] == "production"
    assert document["changeset"] == "2026-12-03T00:00:00Z"
    assert "निवारण" in document["contact"]
    assert "POST /v1/open311-keys" in document["key_service"]

    assert as_xml.status_code == 200
    assert as_xml.headers["content-type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(as_xml.content)
    assert root.tag == "discovery"
    assert root.findtext("changeset") == document["changeset"]
    assert root.findtext("key_service") == document["key_service"]
    [xml_endpoint] = root.findall("endpoints/endpoint")
    assert xml_endpoint.findtext("specification") == endpoint["specification"]
    assert xml_endpoint.findtext("url") == endpoint["url"]
    assert [f.text for f in xml_endpoint.findall("formats/format")] == endpoint["formats"]


async def test_services_are_routings_categories_without_the_retired(rig: Any) -> None:
    rig.routing.categories["REVENUE_OLD"].retired = True

    as_json = await rig.client.get("/open311/v2/services.json", params={"jurisdiction_id": "PAT"})
    as_xml = await rig.client.get("/open311/v2/services.xml")

    assert as_json.status_code == 200, as_json.text
    by_code = {s["service_code"]: s for s in as_json.json()}
    assert set(by_code) == {"REVENUE_MUTATION", "REVENUE_OTHER", "HEALTH_PHC"}
    assert by_code["HEALTH_PHC"] == {
        "service_code": "HEALTH_PHC",
        "service_name": "Primary health centre",
        "description": "प्राथमिक स्वास्थ्य केंद्र (HEALTH)",
        "metadata": True,
        "type": "realtime",
        "keywords": "HEALTH,HEALTH_PHC",
        "group": "HEALTH",
    }
    root = ET.fromstring(as_xml.content)
    assert root.tag == "services"
    xml_by_code = {s.findtext("service_code"): children(s) for s in root.findall("service")}
    assert set(xml_by_code) == set(by_code)
    assert xml_by_code["REVENUE_MUTATION"] == {
        "service_code": "REVENUE_MUTATION",
        "service_name": "Mutation",
        "description": "दाखिल-खारिज (REVENUE)",
        "metadata": "true",
        "type": "realtime",
        "keywords": "REVENUE,REVENUE_MUTATION",
        "group": "REVENUE",
    }


async def test_a_service_definition_asks_for_the_district_and_an_unknown_code_is_404(rig: Any) -> None:
    rig.routing.categories["REVENUE_OLD"].retired = True

    as_json = await rig.client.get("/open311/v2/services/HEALTH_PHC.json")
    as_xml = await rig.client.get("/open311/v2/services/HEALTH_PHC.xml")
    retired = await rig.client.get("/open311/v2/services/REVENUE_OLD.xml")
    unknown = await rig.client.get("/open311/v2/services/NO_SUCH.json")

    assert as_json.status_code == 200, as_json.text
    district = {
        "variable": True,
        "code": "district_code",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "A district code from the list / सूची से ज़िले का कोड",
        "order": 1,
        "description": "District where the grievance arises / ज़िला जहाँ शिकायत का विषय है",
        "values": [{"key": "GAY", "name": "Gaya / गया"}, {"key": "PAT", "name": "Patna / पटना"}],
    }
    assert as_json.json() == {"service_code": "HEALTH_PHC", "attributes": [district]}
    root = ET.fromstring(as_xml.content)
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "HEALTH_PHC"
    [attribute] = root.findall("attributes/attribute")
    assert attribute.findtext("code") == "district_code"
    assert attribute.findtext("required") == "true"
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")] == [
        ("GAY", "Gaya / गया"),
        ("PAT", "Patna / पटना"),
    ]
    assert retired.status_code == 404
    assert ET.fromstring(retired.content).findtext("error/code") == "404"
    assert unknown.status_code == 404
    assert unknown.json()[0]["description"].startswith("no service NO_SUCH")


async def test_an_unknown_open311_path_is_the_specs_404(rig: Any) -> None:
    response = await rig.client.get("/open311/v2/nothing-here.xml")

    assert response.status_code == 404
    assert ET.fromstring(response.content).findtext("error/code") == "404"


async def test_a_request_shows_the_mapped_fields_and_no_personal_data(rig: Any) -> None:
    seed(rig)

    as_json = await rig.client.get(f"/open311/v2/requests/{CASE}.json", headers=auth("citizen_a"))
    as_xml = await rig.client.get(f"/open311/v2/requests/{CASE}.xml", headers=auth("officer_a"))

    assert as_json.status_code == 200, as_json.text
    [request] = as_json.json()
    assert request == {
        "service_request_id": CASE,
        "status": "open",
        "status_notes": "Assigned to an office / कार्यालय को सौंपा गया",
        "service_name": "Land records",
        "service_code": "REVENUE_X",
        "agency_responsible": "Circle Office, Bihta / अंचल कार्यालय, बिहटा",
        "requested_datetime": "2026-03-02T10:00:00+05:30",
        "updated_datetime": "2026-03-02T10:00:00+05:30",
        "expected_datetime": "2026-03-12T18:00:00+05:30",
        "address": "District PAT",
    }
    assert as_xml.status_code == 200, as_xml.text
    root = ET.fromstring(as_xml.content)
    assert root.tag == "service_requests"
    [element] = root.findall("request")
    assert children(element) == request
    for text in (as_json.text, as_xml.text):
        for personal in PERSONAL:
            assert personal not in text


async def test_a_case_outside_the_callers_scope_is_the_specs_404(rig: Any) -> None:
    seed(rig)

    as_json = await rig.client.get(f"/open311/v2/requests/{CASE}.json", headers=auth("citizen_b"))
    as_xml = await rig.client.get(f"/open311/v2/requests/{CASE}.xml", headers=auth("officer_b"))

    assert as_json.status_code == 404
    assert as_json.headers["content-type"] == "application/json"
    [error] = as_json.json()
    assert error["code"] == 404
    assert CASE in error["description"]
    assert as_xml.status_code == 404
    root = ET.fromstring(as_xml.content)
    assert root.tag == "errors"
    [xml_error] = root.findall("error")
    assert xml_error.findtext("code") == "404"
    assert CASE in (xml_error.findtext("description") or "")


async def test_reading_requests_needs_a_token_and_says_so_in_the_specs_format(rig: Any) -> None:
    response = await rig.client.get(f"/open311/v2/requests/{CASE}.xml")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = ET.fromstring(response.content).findall("error")
    assert error.findtext("code") == "401"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/open311/v2/services.csv", 422, "fmt"),
        ("/open311/v2/requests/not-a-number.json", 400, "service_request_id"),
        ("/open311/v2/requests.json?start_date=2026-03-01T00:00:00", 400, "start_date"),
        ("/open311/v2/requests.json?start_date=2026-03-02T00:00:00Z&end_date=2026-03-01T00:00:00Z", 400, "end_date"),
        ("/open311/v2/requests.json?status=pending", 422, "status"),
    ],
)
async def test_bad_input_is_the_specs_error_naming_the_field(rig: Any, path: str, status: int, field: str) -> None:
    response = await rig.client.get(path, headers=auth("citizen_a"))

    assert response.status_code == status, response.text
    [error] = response.json()
    assert error["code"] == status
    assert error["description"].startswith(f"{field}: ")


async def test_v1_errors_stay_problem_json(rig: Any) -> None:
    response = await rig.client.get("/v1/grievances/not-a-number", headers=auth("citizen_a"))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_list_is_the_callers_scope_with_open311_filters(rig: Any) -> None:
    seed(rig)

    everything = await rig.client.get("/open311/v2/requests.json", headers=auth("dm_a"))
    closed = await rig.client.get("/open311/v2/requests.xml", params={"status": "closed"}, headers=auth("dm_a"))
    by_code = await rig.client.get(
        "/open311/v2/requests.json", params={"service_code": "HEALTH_X", "status": "open"}, headers=auth("dm_a")
    )

    assert everything.status_code == 200, everything.text
    assert [r["service_request_id"] for r in everything.json()] == [CLOSED_CASE, CASE]
    assert everything.json()[0]["status"] == "closed"
    assert everything.json()[0]["status_notes"] == "Disposed / निस्तारित"
    assert [e.findtext("service_request_id") for e in ET.fromstring(closed.content).findall("request")] == [CLOSED_CASE]
    assert by_code.json() == []
    asked = rig.intake.list_requests[-1]
    assert asked.category_code == "HEALTH_X"
    assert intake_pb2.STATUS_DISPOSED not in asked.statuses
    assert intake_pb2.STATUS_REOPENED in asked.statuses
    assert asked.district_code == "PAT" or set(asked.district_codes) == {"PAT"}


async def test_dates_filter_and_pages_follow_the_next_page_token(rig: Any) -> None:
    seed(rig)
    # CASE was filed at 04:30 UTC, CLOSED_CASE a minute later.
    after_first = {"start_date": "2026-03-02T04:30:30Z"}
    before_second = {"end_date": "2026-03-02T10:00:30+05:30"}

    later = await rig.client.get("/open311/v2/requests.json", params=after_first, headers=auth("dm_a"))
    earlier = await rig.client.get("/open311/v2/requests.json", params=before_second, headers=auth("dm_a"))
    first_page = await rig.client.get("/open311/v2/requests.json", params={"page_size": 1}, headers=auth("dm_a"))
    token = first_page.headers["x-next-page-token"]
    second_page = await rig.client.get(
        "/open311/v2/requests.json", params={"page_size": 1, "page_token": token}, headers=auth("dm_a")
    )

    assert [r["service_request_id"] for r in later.json()] == [CLOSED_CASE]
    assert [r["service_request_id"] for r in earlier.json()] == [CASE]
    assert [r["service_request_id"] for r in first_page.json()] == [CLOSED_CASE]
    assert [r["service_request_id"] for r in second_page.json()] == [CASE]
    assert "x-next-page-token" not in second_page.headers


async def test_a_start_date_past_the_page_ends_the_paging(rig: Any) -> None:
    seed(rig)

    response = await rig.client.get(
        "/open311/v2/requests.json",
        params={"page_size": 1, "start_date": "2026-03-02T04:31:00Z"},
        headers=auth("dm_a"),
    )
    next_page = await rig.client.get(
        "/open311/v2/requests.json",
        params={"page_size": 1, "page_token": "1", "start_date": "2026-03-02T04:31:00Z"},
        headers=auth("dm_a"),
    )

    assert [r["service_request_id"] for r in response.json()] == [CLOSED_CASE]
    assert "x-next-page-token" in response.headers
    assert next_page.json() == []
    assert "x-next-page-token" not in next_page.headers


async def test_openapi_documents_open311_in_both_formats(rig: Any) -> None:
    spec = (await rig.client.get("/openapi.json")).json()

    operation = spec["paths"]["/open311/v2/requests/{service_request_id}.{fmt}"]["get"]
    assert {"application/json", "text/xml"} == set(operation["responses"]["200"]["content"])
    assert operation["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Open311Errors"
    }
    assert operation["x-access"]["roles"]
    services = spec["paths"]["/open311/v2/services.{fmt}"]["get"]
    assert services["x-access"]["anonymous"] is True
    assert {"Open311Request", "Open311Service", "Open311ServiceDefinition", "Open311Discovery", "Open311Errors"} <= set(
        spec["components"]["schemas"]
    )
    assert "HTTPValidationError" not in spec["components"]["schemas"]
