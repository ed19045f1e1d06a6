"""Scoping from the token: who a filing belongs to (B1, S2), and which cases a read may reach (S10 for the DM)."""

from __future__ import annotations

from typing import Any

from gateway_testkit import PERSONAS, RAW_PHONE, bearer, mint

from nivaran.intake.v1 import intake_pb2

Filing = Any


async def test_B1_anonymous_filing_names_no_account(rig: Any, make_filing: Filing) -> None:
    response = await rig.client.post("/v1/grievances", json=make_filing())

    assert response.status_code == 201
    [sent] = rig.intake.requests
    assert sent.complainant.account_id == ""
    assert not sent.HasField("filed_by")


async def test_citizen_filing_takes_the_account_from_the_token(rig: Any, make_filing: Filing) -> None:
    response = await rig.client.post("/v1/grievances", json=make_filing(), headers=rig.auth("citizen_b"))

    assert response.status_code == 201
    [sent] = rig.intake.requests
    assert sent.complainant.account_id == "acct-citizen-b"
    assert not sent.HasField("filed_by")


async def test_the_body_cannot_name_the_complainant_account(rig: Any, make_filing: Filing) -> None:
    body = make_filing()
    body["complainant"]["account_id"] = "acct-citizen-a"

    response = await rig.client.post("/v1/grievances", json=body, headers=rig.auth("citizen_b"))

    assert response.status_code == 422
    assert "complainant.account_id" in [e["field"] for e in response.json()["errors"]]
    assert rig.intake.requests == []


async def test_S2_officer_filing_on_a_citizens_behalf_sets_filed_by(rig: Any, make_filing: Filing) -> None:
    response = await rig.client.post(
        "/v1/grievances", json=make_filing(channel="counter"), headers=rig.auth("officer_a")
    )

    assert response.status_code == 201
    [sent] = rig.intake.requests
    assert sent.complainant.account_id == ""
    assert (sent.filed_by.account_id, sent.filed_by.role, sent.filed_by.position_id) == (
        "acct-officer-a",
        "L1",
        "pos-pat-l1",
    )
    assert sent.channel == intake_pb2.CHANNEL_COUNTER


async def test_idempotency_keys_are_per_account(rig: Any, make_filing: Filing) -> None:
    headers = {"Idempotency-Key": "shared-key-0001"}

    first = await rig.client.post("/v1/grievances", json=make_filing(), headers={**headers, **rig.auth("citizen_a")})
    second = await rig.client.post("/v1/grievances", json=make_filing(), headers={**headers, **rig.auth("citizen_b")})
    replay = await rig.client.post("/v1/grievances", json=make_filing(), headers={**headers, **rig.auth("citizen_b")})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["registration_number"] != second.json()["registration_number"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == second.json()
    keys = [r.idempotency_key for r in rig.intake.requests]
    assert len(set(keys)) == 2
    assert all(len(key) <= 128 for key in keys)


async def test_list_sends_only_the_tokens_owner_filters_to_intake(rig: Any) -> None:
    response = await rig.client.get(
        "/v1/grievances",
        params={"complainant_phone": "+919000000000", "complainant_account_id": "acct-citizen-b", "status": "assigned"},
        headers=rig.auth("citizen_a"),
    )

    assert response.status_code == 200, response.text
    [asked] = rig.intake.list_requests
    assert (asked.complainant_account_id, asked.complainant_phone) == ("acct-citizen-a", RAW_PHONE)
    assert list(asked.position_ids) == []
    assert list(asked.district_codes) == []
    assert list(asked.statuses) == [intake_pb2.STATUS_ASSIGNED]


async def test_officer_list_covers_held_and_subordinate_posts_cached_briefly(rig: Any) -> None:
    first = await rig.client.get("/v1/grievances", headers=rig.auth("officer_a"))
    second = await rig.client.get("/v1/grievances", params={"q": "दाखिल"}, headers=rig.auth("officer_a"))

    assert (first.status_code, second.status_code) == (200, 200)
    for asked in rig.intake.list_requests:
        assert set(asked.position_ids) == {"pos-pat-l1", "pos-co-bihta"}
        assert (asked.complainant_account_id, asked.complainant_phone) == ("", "")
    assert rig.intake.list_requests[-1].query == "दाखिल"
    assert rig.routing.subordinate_calls == ["pos-pat-l1"], "the reporting chain came from the cache the second time"


async def test_S10_dm_list_is_the_district_and_may_narrow_to_dm_visible_cases(rig: Any) -> None:
    rig.intake.seed("BR-PAT-2026-0200001-7", district="PAT", position_id="pos-co-bihta", department="REVENUE")
    rig.intake.seed(
        "BR-PAT-2026-0200002-7", district="PAT", position_id="pos-co-bihta", department="REVENUE", dm_visible=True
    )
    rig.intake.seed(
        "BR-GAY-2026-0200003-7", district="GAY", position_id="pos-gay-co", department="REVENUE", dm_visible=True
    )

    everything = await rig.client.get("/v1/grievances", headers=rig.auth("dm_a"))
    overdue = await rig.client.get("/v1/grievances", params={"dm_visible_only": "true"}, headers=rig.auth("dm_a"))

    # No case has a deadline, so the DM's default (deadline) order falls back to newest first, as intake's does.
    assert [g["registration_number"] for g in everything.json()["grievances"]] == [
        "BR-PAT-2026-0200002-7",
        "BR-PAT-2026-0200001-7",
    ]
    assert [g["registration_number"] for g in overdue.json()["grievances"]] == ["BR-PAT-2026-0200002-7"]
    assert overdue.json()["grievances"][0]["dm_visible"] is True
    assert [list(r.district_codes) for r in rig.intake.list_requests] == [["PAT"], ["PAT"]]


async def test_officer_without_posts_sees_nothing_and_intake_is_not_asked(rig: Any) -> None:
    headers = bearer(mint({"sub": "acct-new-officer", "kind": "officer", "roles": ["officer"]}))

    listed = await rig.client.get("/v1/grievances", headers=headers)
    read = await rig.client.get("/v1/grievances/BR-PAT-2026-0000001-7", headers=headers)

    assert listed.status_code == 200
    assert listed.json() == {"grievances": [], "next_page_token": None}
    assert read.status_code == 404
    assert rig.intake.list_requests == []


async def test_a_post_routing_no_longer_knows_still_scopes_to_itself(rig: Any) -> None:
    headers = bearer(mint({**PERSONAS["officer_a"].claims, "positions": ["pos-abolished"]}))

    response = await rig.client.get("/v1/grievances", headers=headers)

    assert response.status_code == 200
    assert list(rig.intake.list_requests[-1].position_ids) == ["pos-abolished"]


async def test_routing_unreachable_makes_an_officer_read_503(make_rig: Any, unused_tcp_port_target: str) -> None:
    rig = await make_rig(routing_target=unused_tcp_port_target, grpc_timeout_seconds=1.0)

    response = await rig.client.get("/v1/grievances", headers=rig.auth("officer_a"))

    assert response.status_code == 503
    assert rig.intake.list_requests == []


async def test_operator_may_file_but_not_read(rig: Any, make_filing: Filing) -> None:
    headers = bearer(mint({"sub": "acct-cell-1", "kind": "operator", "roles": ["operator"], "district": "PAT"}))

    filed = await rig.client.post("/v1/grievances", json=make_filing(channel="call_centre"), headers=headers)
    listed = await rig.client.get("/v1/grievances", headers=headers)

    assert filed.status_code == 201
    assert rig.intake.requests[-1].filed_by.role == "operator"
    assert listed.status_code == 403


async def test_S17_nodal_operator_reads_the_delegating_dms_district(rig: Any) -> None:
    nodal = {"sub": "acct-nodal-pat", "kind": "operator", "roles": ["SAHYOG_NODAL"], "district": "PAT"}
    delegated = bearer(mint(nodal, acting_for="acct-dm-a", powers=["grievances.read_district"]))
    undelegated = bearer(mint(nodal))

    allowed = await rig.client.get("/v1/grievances", headers=delegated)
    refused = await rig.client.get("/v1/grievances", headers=undelegated)

    assert allowed.status_code == 200, allowed.text
    assert list(rig.intake.list_requests[-1].district_codes) == ["PAT"]
    assert refused.status_code == 403


async def test_page_size_out_of_range_is_422_naming_it(rig: Any) -> None:
    response = await rig.client.get("/v1/grievances", params={"page_size": 0}, headers=rig.auth("citizen_a"))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["page_size"]
