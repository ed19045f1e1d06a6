"""GET /v1/camps a page at a time (issue 12, item 5): public, soonest first by day then panchayat, `next_page_token`
to the next page, a problem naming a bad token. Against the gateway's fakes (which page as intake does);
tests/test_camps_e2e.py pages the real list."""

from __future__ import annotations

from gateway_testkit import Rig

from nivaran.intake.v1 import intake_pb2


async def test_S1_the_coming_camps_come_soonest_first_a_page_at_a_time_without_signing_in(rig: Rig) -> None:
    for day, panchayat in [("2026-12-20", "PAT-A"), ("2026-12-10", "PAT-B"), ("2026-12-10", "PAT-A")]:
        rig.intake.camps.append(
            intake_pb2.Camp(
                id=f"camp-{day}-{panchayat}",
                district_code="PAT",
                panchayat_code=panchayat,
                held_on=day,
                accepts_from=day,
                accepts_until=day,
            )
        )

    first = await rig.client.get("/v1/camps", params={"district_code": "PAT", "page_size": 2})
    second = await rig.client.get(
        "/v1/camps", params={"district_code": "PAT", "page_size": 2, "page_token": first.json()["next_page_token"]}
    )
    foreign = await rig.client.get("/v1/camps", params={"page_token": "e30"})

    assert first.status_code == second.status_code == 200
    assert [c["id"] for c in first.json()["camps"]] == ["camp-2026-12-10-PAT-A", "camp-2026-12-10-PAT-B"]
    assert [c["id"] for c in second.json()["camps"]] == ["camp-2026-12-20-PAT-A"]
    assert second.json()["next_page_token"] is None
    assert foreign.status_code in (400, 422)
    assert [e["field"] for e in foreign.json()["errors"]] == ["page.page_token"]
