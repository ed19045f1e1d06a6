"""GET /v1/breaches a page at a time (issue 12, item 5): newest first, `next_page_token` to the next page, the rule
filter asked of sla, and a 4xx problem naming the parameter for a bad one. Against the gateway's fakes (which page as
sla does, with its tokens); tests/test_make_run.py pages the register of the real suite."""

from __future__ import annotations

from gateway_testkit import Rig

from nivaran_common.paging import encode_token
from nivaran_common.testing import every_page

CASES = [f"BR-PAT-2026-03000{i:02d}-7" for i in range(5)]


def seed(rig: Rig) -> None:
    for number in CASES:
        rig.intake.seed(number, district="PAT", position_id="pos-co-bihta", department="REVENUE")
    rig.intake.seed("BR-GAY-2026-0300099-7", district="GAY", position_id="pos-gay-l1", department="REVENUE")
    for i, number in enumerate(CASES):
        rig.sla.seed_breach(number, "S13" if i % 2 else "S8", "pos-co-bihta")
    rig.sla.seed_breach("BR-GAY-2026-0300099-7", "S8", "pos-gay-l1")


async def test_the_DM_reads_the_district_register_two_at_a_time_meeting_each_breach_once(rig: Rig) -> None:
    seed(rig)
    dm = rig.auth("dm_a")
    read = await every_page(rig.client, "/v1/breaches", params={"page_size": 2}, headers=dm)
    pages = [[b["id"] for b in page["breaches"]] for page in read]

    of_patna = {b.id for b in rig.sla.breaches if b.grievance_id != rig.intake.by_number["BR-GAY-2026-0300099-7"].id}
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(i for page in pages for i in page) == sorted(of_patna)
    assert [r.page.page_size for r in rig.sla.breach_requests] == [2, 2, 2]


async def test_the_rule_filter_is_asked_of_sla_and_each_page_holds_only_that_rule(rig: Rig) -> None:
    seed(rig)

    response = await rig.client.get("/v1/breaches", params={"rule": "S13"}, headers=rig.auth("dm_a"))

    assert response.status_code == 200
    assert [b["rule"] for b in response.json()["breaches"]] == ["S13", "S13"]
    assert response.json()["next_page_token"] is None
    assert rig.sla.breach_requests[-1].rule == "S13"


async def test_a_bad_page_size_or_token_is_a_problem_naming_it(rig: Rig) -> None:
    seed(rig)
    dm = rig.auth("dm_a")

    too_big = await rig.client.get("/v1/breaches", params={"page_size": 500}, headers=dm)
    foreign = await rig.client.get(
        "/v1/breaches", params={"page_token": encode_token("grievances", "a", "b")}, headers=dm
    )

    assert too_big.status_code == 422
    assert too_big.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in too_big.json()["errors"]] == ["page_size"]
    assert foreign.status_code in (400, 422)
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in foreign.json()["errors"]] == ["page.page_token"]
