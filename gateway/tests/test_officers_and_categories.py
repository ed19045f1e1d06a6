"""Officer onboarding (S6), charge handover (S7), delegation (S17), transfers (S5) and categories (H4)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_testkit import PERSONAS, RAW_PHONE, bearer, mint

from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import PermissionDenied

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
