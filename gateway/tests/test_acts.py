"""Acts on a case through /v1 (the gateway's half): the caller comes from the token, the body's fields reach sla's
ActOnCase, sla's field violations come back named as the body's fields, and the post checks of the lifecycle's own
rule (nivaran_common.casework, run by the fake sla as by the workflow) hold for a new holder after a charge
handover, a delegate and the Commissioner. The same acts run against the real suite in tests/test_desk_e2e.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from gateway_testkit import Rig, auth, build_rig, drop_keys, start_backends

from nivaran.sla.v1 import sla_pb2
from nivaran_common.testing import REDIS_URL

CASE = "BR-PAT-2026-0200001-7"
NOTICE = "scn-acts-1"


@pytest_asyncio.fixture(scope="module")
async def rig() -> AsyncIterator[Rig]:
    backends, stop = await start_backends()
    backends.intake.seed(
        CASE, district="PAT", position_id="pos-pat-l1", department="REVENUE", account_id="acct-citizen-a"
    )
    backends.sla.seed_notice(CASE, NOTICE, "pos-pat-l1", replied=True)
    prefix = f"nivaran-test:acts-{uuid.uuid4().hex[:8]}:"
    built = await build_rig(backends, REDIS_URL, prefix, rate_limits_enabled=False)
    try:
        yield built
    finally:
        for close in built.closers:
            await close()
        await drop_keys(REDIS_URL, prefix)
        await stop()


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"acts-{uuid.uuid4().hex}"}


async def test_C4_report_reaches_sla_as_structured_fields_with_the_caller_from_the_token(rig: Rig) -> None:
    body = {
        "kind": "final",
        "concerns_office": True,
        "aware_before": True,
        "action_taken": "खाता सुधार आदेश पारित / the mutation order was passed",
        "resolvable_within_72h": False,
        "reasons_not_resolvable": "अंचल से अभिलेख अपेक्षित / records awaited from the circle",
        "attachment_ids": ["0b1e4f3c-5d6a-4b7c-8d9e-0f1a2b3c4d5e"],
    }
    headers = {**auth("officer_a"), "Idempotency-Key": "acts-report-0001"}

    response = await rig.client.post(f"/v1/grievances/{CASE}/reports", json=body, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["act"] == "report"
    sent = rig.sla.acts[-1]
    assert (sent.idempotency_key, sent.caller.account_id, list(sent.caller.position_ids)) == (
        "acts-report-0001",
        "acct-officer-a",
        ["pos-pat-l1"],
    )
    assert sent.report.kind == sla_pb2.REPORT_KIND_FINAL
    assert (sent.report.concerns_office, sent.report.aware_before, sent.report.resolvable_within_72h) == (
        True,
        True,
        False,
    )
    assert sent.report.reasons_not_resolvable.startswith("अंचल")
    assert list(sent.report.attachment_ids) == body["attachment_ids"]


async def test_C4_missing_answers_are_422_naming_the_body_fields(rig: Rig) -> None:
    response = await rig.client.post(
        f"/v1/grievances/{CASE}/reports",
        json={"kind": "preliminary", "action_taken": "स्थल निरीक्षण किया गया / site visit made"},
        headers={**auth("officer_a"), **key()},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [
        "concerns_office",
        "aware_before",
        "resolvable_within_72h",
    ]


async def test_S15_rejection_without_a_reason_names_it_and_an_act_without_a_key_is_400(rig: Rig) -> None:
    no_reason = await rig.client.post(
        f"/v1/grievances/{CASE}/disposal",
        json={"kind": "rejected", "ground": "area"},
        headers={**auth("officer_a"), **key()},
    )
    no_key = await rig.client.post(
        f"/v1/grievances/{CASE}/disposal",
        json={"kind": "rejected", "ground": "area", "reason": "यह मामला दूसरे जिले का है / another district's"},
        headers=auth("officer_a"),
    )
    unknown_kind = await rig.client.post(
        f"/v1/grievances/{CASE}/disposal", json={"kind": "vanished"}, headers={**auth("officer_a"), **key()}
    )

    assert (no_reason.status_code, [e["field"] for e in no_reason.json()["errors"]]) == (422, ["reason"])
    assert no_key.status_code == 400
    assert [e["field"] for e in no_key.json()["errors"]] == ["Idempotency-Key"]
    assert (unknown_kind.status_code, unknown_kind.json()["errors"][0]["field"]) == (422, "kind")


async def test_S7_the_new_holder_of_the_post_acts_after_a_charge_handover(rig: Rig) -> None:
    successor = auth("officer_a", sub="acct-officer-a-successor")

    response = await rig.client.post(
        f"/v1/grievances/{CASE}/show-cause-notices/{NOTICE}/reply",
        json={"reply": "प्रभार ग्रहण के बाद उत्तर / the reply after taking charge of the post"},
        headers={**successor, **key()},
    )

    assert response.status_code == 200, response.text
    assert response.json()["notice"]["id"] == NOTICE
    assert rig.sla.acts[-1].caller.account_id == "acct-officer-a-successor"


async def test_S17_a_delegate_may_not_act_on_a_case(rig: Rig) -> None:
    delegate = auth("officer_a", acting_for="acct-dm-a", powers=["grievances.read_district"])

    response = await rig.client.post(
        f"/v1/grievances/{CASE}/disposal",
        json={"kind": "resolved", "action_taken": "खाता सुधार कर दिया गया / the record was corrected"},
        headers={**delegate, **key()},
    )

    assert response.status_code == 403
    assert "delegate" in response.json()["detail"]


async def test_S18_the_commissioner_above_the_dm_acts_on_the_recommendation(rig: Rig) -> None:
    commissioner = auth(
        "dm_a",
        sub="acct-commissioner-patna",
        positions=["pos-patna-commissioner"],
        roles=["officer", "COMMISSIONER"],
        district="",
    )

    acted = await rig.client.post(
        f"/v1/grievances/{CASE}/show-cause-notices/{NOTICE}/commissioner-action",
        json={"decision": "forward", "note": "विभागीय कार्यवाही हेतु / for departmental proceedings"},
        headers={**commissioner, **key()},
    )

    assert acted.status_code == 200, acted.text
    assert rig.sla.acts[-1].commissioner_action.decision == "forward"


async def test_C5_the_clocks_name_the_post_reviewing_the_final_report_and_empty_when_none(rig: Rig) -> None:
    grievance_id = rig.intake.by_number[CASE].id

    before = await rig.client.get(f"/v1/grievances/{CASE}/clocks", headers=auth("officer_a"))
    rig.sla.reviewers[grievance_id] = "pos-pat-dm"
    try:
        under_review = await rig.client.get(f"/v1/grievances/{CASE}/clocks", headers=auth("dm_a"))
    finally:
        del rig.sla.reviewers[grievance_id]

    assert before.status_code == under_review.status_code == 200, (before.text, under_review.text)
    assert before.json()["reviewer_position_id"] == ""
    assert under_review.json()["reviewer_position_id"] == "pos-pat-dm"
    assert under_review.json()["clocks"][0]["name"] == "first_show_cause"
