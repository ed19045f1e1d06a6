"""Officer onboarding (S6), charge handover (S7), delegation (S17), transfers (S5) and categories (H4)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_testkit import PERSONAS, RAW_PHONE, bearer, mint

from nivaran.identity.v1 import identity_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.errors import PermissionDenied
from nivaran_common.testing import every_page

CASE = "BR-PAT-2026-0300001-7"


def _requests_of(rig: Any, kind: type) -> list[Any]:
    return [r for r in rig.identity.requests if isinstance(r, kind)]


async def test_S6_registration_request_goes_to_identity_and_shows_masked(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/officers/registrations",
        json={"name": "सुनील कुमार", "username": "co.bihta.2", "password": "a long pass phrase", "phone": RAW_PHONE,
              "email": "sunil@example.in", "position_id": "pos-co-bihta", "charge_from": "2026-04-01T10:00:00+05:30"},
    )  # fmt: skip

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["state"], body["district_code"], body["phone"]) == ("pending", "PAT", "+91XXXXXX3210")
    assert "password" not in body
    assert "a long pass phrase" not in response.text
    [sent] = _requests_of(rig, identity_pb2.RegisterOfficerRequest)
    assert (sent.username, sent.password, sent.position_id) == ("co.bihta.2", "a long pass phrase", "pos-co-bihta")
    assert sent.charge_from.ToDatetime().isoformat() == "2026-04-01T04:30:00"


async def test_S6_dm_lists_only_the_district_in_the_token(rig: Any) -> None:
    response = await rig.client.get(
        "/v1/officers/registrations", params={"district_code": "GAY", "state": "pending"}, headers=rig.auth("dm_a")
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["registrations"]] == ["reg-pat-1"]
    [asked] = _requests_of(rig, identity_pb2.ListRegistrationsRequest)
    assert (asked.district_code, asked.state) == ("PAT", identity_pb2.REGISTRATION_STATE_PENDING)


async def test_S6_dm_decision_carries_the_dm_as_actor(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/officers/registrations/reg-pat-1/decision",
        json={"approve": False, "note": "पद संख्या गलत है / wrong post"},
        headers=rig.auth("dm_a"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "rejected"
    [decided] = _requests_of(rig, identity_pb2.DecideRegistrationRequest)
    assert (decided.actor.account_id, decided.actor.role, decided.actor.position_id) == (
        "acct-dm-a",
        "DM",
        "pos-pat-dm",
    )
    assert decided.note == "पद संख्या गलत है / wrong post"
    # The gateway asked identity for that one request of the DM's district, not for the whole list.
    [looked_up] = _requests_of(rig, identity_pb2.ListRegistrationsRequest)
    assert (looked_up.district_code, looked_up.registration_id) == ("PAT", "reg-pat-1")


async def test_S6_registrations_come_oldest_first_a_page_at_a_time(rig: Any) -> None:
    first = rig.identity.registrations["reg-pat-1"]
    for i in range(1, 4):
        later = identity_pb2.OfficerRegistration()
        later.CopyFrom(first)
        later.id, later.username = f"reg-pat-{i + 1}", f"co.bihta.{i}"
        later.requested_at.seconds += 60 * i
        rig.identity.registrations[later.id] = later
    dm = rig.auth("dm_a")

    first_page = await rig.client.get("/v1/officers/registrations", params={"page_size": 3}, headers=dm)
    token = first_page.json()["next_page_token"]
    second_page = await rig.client.get(
        "/v1/officers/registrations", params={"page_size": 3, "page_token": token}, headers=dm
    )

    assert [r["id"] for r in first_page.json()["registrations"]] == ["reg-pat-1", "reg-pat-2", "reg-pat-3"]
    assert [r["id"] for r in second_page.json()["registrations"]] == ["reg-pat-4"]
    assert second_page.json()["next_page_token"] is None


async def test_S6_dm_cannot_decide_another_districts_request(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/officers/registrations/reg-gay-1/decision", json={"approve": True}, headers=rig.auth("dm_a")
    )

    assert response.status_code == 404
    assert _requests_of(rig, identity_pb2.DecideRegistrationRequest) == []


RELINQUISH = {
    "position_id": "pos-pat-l1",
    "relinquish_at": "2026-04-01T10:00:00+05:30",
    "transfer_order_number": "GAD/TR/2026/114",
    "transfer_order_date": "2026-03-28T00:00:00+05:30",
}


async def test_S7_relinquish_cites_the_transfer_order(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/officers/acct-officer-a/relinquish", json=RELINQUISH, headers=rig.auth("officer_a")
    )

    assert response.status_code == 200, response.text
    assert response.json()["transfer_order_number"] == "GAD/TR/2026/114"
    [sent] = _requests_of(rig, identity_pb2.RelinquishChargeRequest)
    assert (sent.account_id, sent.position_id, sent.actor.position_id) == ("acct-officer-a", "pos-pat-l1", "pos-pat-l1")


async def test_S7_relinquishing_a_post_not_held_is_403_naming_it(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/officers/acct-officer-a/relinquish",
        json={**RELINQUISH, "position_id": "pos-pat-dm"},
        headers=rig.auth("officer_a"),
    )

    assert response.status_code == 403
    assert [e["field"] for e in response.json()["errors"]] == ["position_id"]
    assert _requests_of(rig, identity_pb2.RelinquishChargeRequest) == []


async def test_S7_naive_times_are_refused(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/officers/acct-officer-a/take-charge",
        json={"position_id": "pos-pat-l1", "charge_from": "2026-04-02T10:00:00"},
        headers=rig.auth("officer_a"),
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["charge_from"]


async def test_S17_delegation_names_the_delegator_and_cannot_be_passed_on(rig: Any) -> None:
    body = {"delegate_account_id": "acct-nodal-pat", "powers": ["registrations.decide"]}
    acting = bearer(mint({**PERSONAS["dm_a"].claims, "sub": "acct-nodal-pat"}, acting_for="acct-dm-a",
                         powers=["registrations.decide"]))  # fmt: skip

    granted = await rig.client.post("/v1/delegations", json=body, headers=rig.auth("secretary"))
    passed_on = await rig.client.post("/v1/delegations", json=body, headers=acting)

    assert granted.status_code == 201, granted.text
    assert granted.json()["delegator_account_id"] == "acct-secretary-revenue"
    [sent] = _requests_of(rig, identity_pb2.CreateDelegationRequest)
    assert (sent.actor.role, sent.actor.position_id) == ("SECRETARY", "pos-sec-revenue")
    assert passed_on.status_code == 403


async def test_S5_transfer_request_carries_the_case_and_its_post(rig: Any) -> None:
    case = rig.intake.seed(CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE")

    response = await rig.client.post(
        f"/v1/grievances/{CASE}/transfer-requests",
        json={"to_department_code": "HEALTH", "reason": "यह स्वास्थ्य विभाग का विषय है"},
        headers=rig.auth("officer_a"),
    )

    assert response.status_code == 201, response.text
    assert response.json()["state"] == "pending"
    [sent] = rig.routing.transfer_requests
    assert (sent.grievance_id, sent.from_position_id, sent.to_department_code) == (case.id, "pos-pat-l1", "HEALTH")
    assert sent.location.district_code == "PAT"
    assert (sent.actor.account_id, sent.actor.position_id) == ("acct-officer-a", "pos-pat-l1")


async def test_S5_transfer_request_without_a_reason_is_422(rig: Any) -> None:
    rig.intake.seed(CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE")

    response = await rig.client.post(
        f"/v1/grievances/{CASE}/transfer-requests",
        json={"to_department_code": "HEALTH", "reason": ""},
        headers=rig.auth("officer_a"),
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert rig.routing.transfer_requests == []


async def test_S5_dm_decides_as_the_moderating_post(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/transfer-queue/tr-pat-1/decision",
        json={"approve": True, "to_position_id": "pos-pat-health"},
        headers=rig.auth("dm_a"),
    )
    elsewhere = await rig.client.post(
        "/v1/transfer-queue/tr-gay-1/decision", json={"approve": True}, headers=rig.auth("dm_a")
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "approved"
    [decided] = rig.routing.transfer_decisions
    assert (decided.actor.position_id, decided.actor.role, decided.to_position_id) == (
        "pos-pat-dm",
        "DM",
        "pos-pat-health",
    )
    assert elsewhere.status_code == 404


async def test_S5_the_moderator_queue_comes_oldest_first_a_page_at_a_time(rig: Any) -> None:
    """Routing pages the queue (the fake as routing does); the gateway passes page_size and page_token through."""
    _, first = rig.routing.transfers["tr-pat-1"]
    for i in range(1, 4):
        later = routing_pb2.TransferRequest()
        later.CopyFrom(first)
        later.id, later.grievance_id = f"tr-pat-{i + 1}", f"g-later-{i}"
        later.requested_at.seconds += 60 * i
        rig.routing.transfers[later.id] = ("PAT", later)
    dm = rig.auth("dm_a")

    read = await every_page(rig.client, "/v1/transfer-queue", params={"page_size": 3}, headers=dm)
    pages = [[t["id"] for t in page["transfers"]] for page in read]
    foreign = await rig.client.get("/v1/transfer-queue", params={"page_token": "e30"}, headers=dm)

    assert pages == [["tr-pat-1", "tr-pat-2", "tr-pat-3"], ["tr-pat-4"]]
    assert [r.page.page_size for r in rig.routing.queue_requests[:2]] == [3, 3]
    assert foreign.status_code in (400, 422)
    assert [e["field"] for e in foreign.json()["errors"]] == ["page.page_token"]


async def test_categories_are_public_and_filter_by_department(rig: Any) -> None:
    response = await rig.client.get("/v1/categories", params={"department_code": "HEALTH"})

    assert response.status_code == 200
    assert response.json()["categories"] == [
        {
            "code": "HEALTH_PHC",
            "department_code": "HEALTH",
            "name": {"en": "Primary health centre", "hi": "प्राथमिक स्वास्थ्य केंद्र"},
            "default_track": "sahyog",
            "is_other": False,
            "retired": False,
            "merged_into_code": None,
            "service_time_limit_days": 0,
        }
    ]


async def test_H4_secretary_creates_a_category_only_in_their_department(rig: Any) -> None:
    body = {"code": "X_NEW", "name": {"en": "New", "hi": "नई"}, "default_track": "sahyog"}

    own = await rig.client.post(
        "/v1/categories", json={**body, "department_code": "REVENUE"}, headers=rig.auth("secretary")
    )
    other = await rig.client.post(
        "/v1/categories", json={**body, "department_code": "HEALTH"}, headers=rig.auth("secretary")
    )

    assert own.status_code == 201, own.text
    assert own.json()["name"] == {"en": "New", "hi": "नई"}
    assert other.status_code == 403
    [actor] = rig.routing.category_actors
    assert (actor.role, actor.position_id) == ("SECRETARY", "pos-sec-revenue")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="nothing-to-change"),
        pytest.param({"retired": False}, id="unretire"),
        pytest.param({"name": {"en": "Only English"}}, id="name-without-hindi"),
    ],
)
async def test_H4_bad_category_patch_is_422(rig: Any, body: dict[str, Any]) -> None:
    response = await rig.client.patch("/v1/categories/REVENUE_OLD", json=body, headers=rig.auth("secretary"))

    assert response.status_code == 422
    assert rig.routing.category_actors == []


async def test_H4_secretary_renames_retires_and_merges(rig: Any) -> None:
    renamed = await rig.client.patch(
        "/v1/categories/REVENUE_OLD",
        json={"name": {"en": "Survey", "hi": "सर्वेक्षण"}},
        headers=rig.auth("secretary"),
    )
    retired = await rig.client.patch(
        "/v1/categories/REVENUE_OLD", json={"retired": True}, headers=rig.auth("secretary")
    )
    merged = await rig.client.post(
        "/v1/categories/REVENUE_MUTATION/merge", json={"source_codes": ["REVENUE_OLD"]}, headers=rig.auth("secretary")
    )
    foreign = await rig.client.patch("/v1/categories/HEALTH_PHC", json={"retired": True}, headers=rig.auth("secretary"))

    assert renamed.json()["name"] == {"en": "Survey", "hi": "सर्वेक्षण"}
    assert retired.json()["retired"] is True
    assert merged.json()["code"] == "REVENUE_MUTATION"
    assert rig.routing.categories["REVENUE_OLD"].merged_into_code == "REVENUE_MUTATION"
    assert foreign.status_code == 403


async def test_H4_other_share_for_the_secretarys_department(rig: Any) -> None:
    own = await rig.client.get("/v1/departments/REVENUE/other-share", headers=rig.auth("secretary"))
    foreign = await rig.client.get("/v1/departments/HEALTH/other-share", headers=rig.auth("secretary"))
    by_osd = await rig.client.get("/v1/departments/HEALTH/other-share", headers=rig.auth("osd_cs"))
    unknown = await rig.client.get("/v1/departments/EDUCATION/other-share", headers=rig.auth("osd_cs"))

    assert own.json() == {"department_code": "REVENUE", "total": 40, "other": 6, "share": 0.15}
    assert foreign.status_code == 403
    assert by_osd.json()["share"] == 0.5
    assert unknown.json() == {"department_code": "EDUCATION", "total": 0, "other": 0, "share": 0.0}


async def test_routing_refusal_reaches_the_caller_as_403(rig: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway checks the post first; routing checks again, and its refusal is passed on.
    def refuse(actor: Any, department: str) -> None:
        raise PermissionDenied("only the secretary of Revenue may change its categories")

    monkeypatch.setattr(rig.routing, "_require_secretary", refuse)

    response = await rig.client.patch(
        "/v1/categories/REVENUE_OLD", json={"retired": True}, headers=rig.auth("secretary")
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "only the secretary of Revenue may change its categories"


async def test_S5_approval_moves_the_case_through_the_lifecycle_once_per_transfer(rig: Any) -> None:
    """The DM's approval runs sla's TransferCase with the transfer id, which sla runs once however often it comes."""
    approve = {"approve": True, "to_position_id": "pos-pat-health"}

    first = await rig.client.post("/v1/transfer-queue/tr-pat-1/decision", json=approve, headers=rig.auth("dm_a"))
    again = await rig.client.post("/v1/transfer-queue/tr-pat-1/decision", json=approve, headers=rig.auth("dm_a"))

    assert (first.status_code, again.status_code) == (200, 200), first.text
    moves = [(t.grievance_id, t.transfer_id, t.to_position_id, t.kind) for t in rig.sla.transfers]
    assert moves == [("g-a", "tr-pat-1", "pos-pat-health", "department")] * 2
    assert rig.sla.transfers[0].reason == "स्वास्थ्य विभाग का विषय / a health matter"
    assert (rig.sla.transfers[0].actor.account_id, rig.sla.transfers[0].actor.position_id) == (
        "acct-dm-a",
        "pos-pat-dm",
    )


async def test_S5_a_returned_transfer_does_not_move_the_case(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/transfer-queue/tr-pat-1/decision",
        json={"approve": False, "note": "राजस्व विभाग का ही विषय / stays with revenue"},
        headers=rig.auth("dm_a"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "returned"
    assert rig.sla.transfers == []


async def test_S17_nodal_officer_moderates_in_the_dm_post_audited_for_the_dm(rig: Any) -> None:
    nodal = {"sub": "acct-nodal-pat", "kind": "operator", "roles": ["operator", "SAHYOG_NODAL"], "positions": [],
             "district": "PAT"}  # fmt: skip
    delegated = bearer(mint(nodal, acting_for="acct-dm-a", powers=["transfers.decide"]))
    other_power = bearer(mint(nodal, acting_for="acct-dm-a", powers=["registrations.decide"]))

    refused = await rig.client.post("/v1/transfer-queue/tr-pat-1/decision", json={"approve": True}, headers=other_power)
    response = await rig.client.post("/v1/transfer-queue/tr-pat-1/decision", json={"approve": True}, headers=delegated)

    assert refused.status_code == 403
    assert response.status_code == 200, response.text
    [decided] = rig.routing.transfer_decisions
    actor = decided.actor
    assert (actor.account_id, actor.on_behalf_of_account_id, actor.role, actor.position_id) == (
        "acct-nodal-pat",
        "acct-dm-a",
        "DM",
        "pos-pat-dm",
    )
    [moved] = rig.sla.transfers
    assert moved.actor.on_behalf_of_account_id == "acct-dm-a"


async def test_S17_delegations_are_listed_to_who_gave_them_and_to_who_holds_them(rig: Any) -> None:
    given = await rig.client.get("/v1/delegations", headers=rig.auth("dm_a"))
    assert given.status_code == 200, given.text
    assert [d["id"] for d in given.json()["delegations"]] == ["del-dm-a"]
    nodal = {"sub": "acct-nodal-pat", "kind": "operator", "roles": ["operator", "SAHYOG_NODAL"], "positions": [],
             "district": "PAT"}  # fmt: skip
    held = await rig.client.get(
        "/v1/delegations", params={"received": "true"}, headers=bearer(mint(nodal, acting_for="acct-dm-a"))
    )
    assert held.status_code == 200, held.text
    assert [(d["id"], d["delegator_account_id"]) for d in held.json()["delegations"]] == [("del-dm-a", "acct-dm-a")]
    # Another DM lists none of it; a citizen may not list at all.
    assert (await rig.client.get("/v1/delegations", headers=rig.auth("dm_b"))).json()["delegations"] == []
    assert (await rig.client.get("/v1/delegations", headers=rig.auth("citizen_a"))).status_code == 403
    bad = await rig.client.get("/v1/delegations", params={"page_token": "nope"}, headers=rig.auth("dm_a"))
    assert bad.status_code == 422
    assert "page.page_token" in {e["field"] for e in bad.json()["errors"]}


async def test_S17_only_powers_a_route_checks_can_be_delegated(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/delegations",
        json={"delegate_account_id": "acct-nodal-pat", "powers": ["transfers.decide", "grievance.remind"]},
        headers=rig.auth("dm_a"),
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["powers[1]"]
    assert _requests_of(rig, identity_pb2.CreateDelegationRequest) == []


async def test_S8_l1_forwards_to_a_post_below_through_the_lifecycle(rig: Any) -> None:
    case = rig.intake.seed(CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE")

    response = await rig.client.post(
        f"/v1/grievances/{CASE}/forward",
        json={"to_position_id": "pos-co-bihta", "note": "स्थल जाँच करें / inspect the site"},
        headers=rig.auth("officer_a"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["assignment"]["position_id"] == "pos-co-bihta"
    [sent] = rig.sla.forwards
    assert (sent.grievance_id, sent.to_position_id, sent.actor.account_id, sent.actor.position_id) == (
        case.id,
        "pos-co-bihta",
        "acct-officer-a",
        "pos-pat-l1",
    )


@pytest.mark.parametrize("target", ["pos-pat-health", "pos-pat-dm", "pos-gay-co"])
async def test_S8_forward_only_down_the_reporting_chain(rig: Any, target: str) -> None:
    rig.intake.seed(CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE")

    response = await rig.client.post(
        f"/v1/grievances/{CASE}/forward", json={"to_position_id": target}, headers=rig.auth("officer_a")
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["to_position_id"]
    assert rig.sla.forwards == []


async def test_S7_dm_puts_an_approved_officer_in_charge_and_the_dm_of_another_district_cannot(rig: Any) -> None:
    body = {"position_id": "pos-pat-l1", "charge_from": "2026-04-02T10:00:00+05:30"}

    by_dm = await rig.client.post("/v1/officers/acct-new-officer/take-charge", json=body, headers=rig.auth("dm_a"))
    by_other_dm = await rig.client.post(
        "/v1/officers/acct-new-officer/take-charge", json=body, headers=rig.auth("dm_b")
    )
    by_peer = await rig.client.post(
        "/v1/officers/acct-new-officer/take-charge", json=body, headers=rig.auth("officer_a")
    )

    assert by_dm.status_code == 200, by_dm.text
    assert by_dm.json()["account_id"] == "acct-new-officer"
    assert (by_other_dm.status_code, by_peer.status_code) == (403, 403)
    sent = _requests_of(rig, identity_pb2.TakeChargeRequest)
    assert [(r.account_id, r.actor.account_id, r.actor.position_id) for r in sent] == [
        ("acct-new-officer", "acct-dm-a", "pos-pat-dm"),
        ("acct-new-officer", "acct-dm-b", "pos-gay-dm"),
    ]


async def test_S7_case_clocks_show_through_the_case_scope(rig: Any) -> None:
    case = rig.intake.seed(CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE")

    mine = await rig.client.get(f"/v1/grievances/{CASE}/clocks", headers=rig.auth("officer_a"))
    elsewhere = await rig.client.get(f"/v1/grievances/{CASE}/clocks", headers=rig.auth("officer_b"))

    assert mine.status_code == 200, mine.text
    assert mine.json()["clocks"][0]["name"] == "first_show_cause"
    assert mine.json()["clocks"][0]["deadline"] == "2026-03-12T04:30:00Z"
    assert elsewhere.status_code == 404
    assert rig.sla.clock_requests == [case.id]
