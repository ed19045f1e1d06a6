"""A citizen reading their own case sees the notices addressed to them and the officers by post and role, never an
officer's account id or a notice meant for an officer (issue 8: "complainants see notices meant for officers, with
the DM's account id"). An officer in scope reads both as they are."""

from __future__ import annotations

from gateway_testkit import Rig

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2

CASE = "BR-PAT-2026-0300001-7"


def seed(rig: Rig) -> None:
    grievance = rig.intake.seed(
        CASE, district="PAT", position_id="pos-co-bihta", department="REVENUE", account_id="acct-citizen-a"
    )
    rig.intake.timelines[grievance.id] = [
        intake_pb2.TimelineEvent(
            id="ev-1",
            grievance_id=grievance.id,
            sequence=1,
            event_type="show_cause_replied",
            actor=common_pb2.Actor(account_id="acct-dm-a", role="DM", position_id="pos-pat-dm"),
        ),
        intake_pb2.TimelineEvent(
            id="ev-2",
            grievance_id=grievance.id,
            sequence=2,
            event_type="citizen_responded",
            actor=common_pb2.Actor(account_id="acct-citizen-a", role="citizen"),
        ),
    ]
    for notice_id, account, post in (
        ("to-citizen", "acct-citizen-a", ""),
        ("to-dm-post", "", "pos-pat-dm"),
        ("to-dm-account", "acct-dm-a", ""),
    ):
        rig.notify.deliver(
            notice_id, account_id=account, position_id=post, registration_number=CASE
        ).grievance_id = grievance.id


async def test_a_citizen_sees_their_own_notices_and_officers_by_post_only(rig: Rig) -> None:
    seed(rig)

    seen = (await rig.client.get(f"/v1/grievances/{CASE}", headers=rig.auth("citizen_a"))).json()

    assert [n["id"] for n in seen["notices"]] == ["to-citizen"]
    dm, citizen = (event["actor"] for event in seen["timeline"])
    assert (dm["account_id"], dm["role"], dm["position_id"]) == (None, "DM", "pos-pat-dm")
    assert citizen["account_id"] == "acct-citizen-a"
    assert "acct-dm-a" not in str(seen)


async def test_an_officer_in_scope_reads_the_case_as_it_is(rig: Rig) -> None:
    seed(rig)

    seen = (await rig.client.get(f"/v1/grievances/{CASE}", headers=rig.auth("dm_a"))).json()

    assert {n["id"] for n in seen["notices"]} == {"to-citizen", "to-dm-post", "to-dm-account"}
    assert seen["timeline"][0]["actor"]["account_id"] == "acct-dm-a"
