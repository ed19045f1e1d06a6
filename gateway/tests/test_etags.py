"""ETags on case reads (issue 12, item 5): GET /v1/grievances/{n} and GET /open311/v2/requests/{id} carry a weak
ETag of what the reader sees; If-None-Match with it answers 304 without a body, and any change gives a new tag."""

from __future__ import annotations

from typing import Any

from gateway_testkit import auth

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.etags import matches

CASE = "BR-PAT-2026-0400001-7"


def seed(rig: Any) -> intake_pb2.Grievance:
    grievance: intake_pb2.Grievance = rig.intake.seed(
        CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE", account_id="acct-citizen-a"
    )
    return grievance


async def test_a_case_read_answers_304_while_it_is_unchanged_and_a_new_tag_after(rig: Any) -> None:
    grievance = seed(rig)
    path = f"/v1/grievances/{CASE}"

    first = await rig.client.get(path, headers=auth("citizen_a"))
    tag = first.headers["etag"]
    unchanged = await rig.client.get(path, headers={**auth("citizen_a"), "If-None-Match": tag})
    listed = await rig.client.get(path, headers={**auth("citizen_a"), "If-None-Match": f'"other", {tag}'})
    stale = await rig.client.get(path, headers={**auth("citizen_a"), "If-None-Match": 'W/"not-this-one"'})
    grievance.status = intake_pb2.STATUS_DISPOSED
    changed = await rig.client.get(path, headers={**auth("citizen_a"), "If-None-Match": tag})

    assert first.status_code == 200, first.text
    assert tag.startswith('W/"')
    assert first.headers["cache-control"] == "private, no-cache"
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == tag
    assert listed.status_code == 304
    assert stale.status_code == 200
    assert stale.json() == first.json()
    assert changed.status_code == 200
    assert changed.json()["status"] == "disposed"
    assert changed.headers["etag"] != tag


async def test_if_none_match_star_does_not_reveal_a_case_outside_the_scope(rig: Any) -> None:
    seed(rig)

    other = await rig.client.get(f"/v1/grievances/{CASE}", headers={**auth("citizen_b"), "If-None-Match": "*"})
    unknown = await rig.client.get(
        "/v1/grievances/BR-PAT-2026-0499999-7", headers={**auth("citizen_a"), "If-None-Match": "*"}
    )

    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == f"no grievance {CASE}"


async def test_an_open311_request_read_has_its_own_tag_per_format(rig: Any) -> None:
    seed(rig)

    as_json = await rig.client.get(f"/open311/v2/requests/{CASE}.json", headers=auth("citizen_a"))
    again = await rig.client.get(
        f"/open311/v2/requests/{CASE}.json", headers={**auth("citizen_a"), "If-None-Match": as_json.headers["etag"]}
    )
    as_xml = await rig.client.get(
        f"/open311/v2/requests/{CASE}.xml", headers={**auth("citizen_a"), "If-None-Match": as_json.headers["etag"]}
    )

    assert as_json.status_code == 200
    assert as_json.json()[0]["service_request_id"] == CASE
    assert again.status_code == 304
    assert as_xml.status_code == 200
    assert as_xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert as_xml.headers["etag"] != as_json.headers["etag"]


def test_if_none_match_compares_weakly_and_accepts_a_star() -> None:
    assert matches('"abc"', 'W/"abc"')
    assert matches('W/"x", W/"abc"', 'W/"abc"')
    assert matches("*", 'W/"abc"')
    assert not matches(None, 'W/"abc"')
    assert not matches('W/"abd"', 'W/"abc"')
