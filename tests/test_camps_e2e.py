"""Sahyog camps end to end (S1, S3), through the gateway's /v1 only, against the real suite (tests/conftest.py's
shared suite): the DM of Patna sets a camp for Gonpura; a citizen files for it by its id and the case runs the
sahyog_camp track on the camp channel; a camp too far ahead takes no applications yet; the DM's list and figures
keep camp cases apart (S3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite
from test_desk_e2e import DM, Desk

from nivaran_common.testing import eventually, every_page

GONPURA = {"district_code": "PAT", "block_code": "PAT-SADAR-PHULWARI", "panchayat_code": "PAT-SADAR-PHULWARI-GONPURA"}


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


async def test_S1_S3_a_camp_filing_runs_the_camp_track_and_stays_apart(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        dm = await Desk(http).officer(*DM)
        today = datetime.now(UTC).date()

        async def set_camp(days_ahead: int, panchayat: str) -> dict[str, Any]:
            made = await http.post(
                "/v1/camps",
                json={
                    "panchayat_code": panchayat,
                    "block_code": "PAT-SADAR-PHULWARI",
                    "held_on": (today + timedelta(days=days_ahead)).isoformat(),
                    "venue": {"en": "Panchayat Bhawan", "hi": "पंचायत भवन"},
                },
                headers=dm,
            )
            assert made.status_code == 201, made.text
            return dict(made.json())

        near = await set_camp(12, "PAT-SADAR-PHULWARI-GONPURA")
        far = await set_camp(45, "PAT-SADAR-PHULWARI-BHUSAULA")
        assert near["accepts_from"] == (today + timedelta(days=12 - 30)).isoformat()
        listed = await http.get("/v1/camps", params={"district_code": "PAT"})  # public: no token
        assert listed.status_code == 200, listed.text
        assert {near["id"], far["id"]} <= {c["id"] for c in listed.json()["camps"]}
        # Issue 12, item 5: the camps a page at a time, soonest first, each once, as in one page.
        read = await every_page(http, "/v1/camps", params={"district_code": "PAT", "page_size": 1})
        one_by_one = [c["id"] for page in read for c in page["camps"]]
        assert one_by_one == [c["id"] for c in listed.json()["camps"]]
        assert one_by_one.index(near["id"]) < one_by_one.index(far["id"])

        async def file(camp_id: str, panchayat: str) -> httpx.Response:
            return await http.post(
                "/v1/grievances",
                json={
                    "complainant": {"name": "शांति देवी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ"},
                    "description": "राशन कार्ड में परिवार के सदस्यों के नाम जोड़ने का आवेदन, शिविर में दिया गया।",
                    "category_code": "FOOD-RATION-CARD",
                    "location": {**GONPURA, "panchayat_code": panchayat},
                    "camp_id": camp_id,
                },
                headers={"Idempotency-Key": f"camp-{datetime.now(UTC).timestamp()}"},
            )

        early = await file(far["id"], "PAT-SADAR-PHULWARI-BHUSAULA")
        assert early.status_code == 422, early.text
        assert [e["field"] for e in early.json()["errors"]] == ["camp_id"]
        filed = await file(near["id"], "PAT-SADAR-PHULWARI-GONPURA")
        assert filed.status_code == 201, filed.text
        case = filed.json()
        assert (case["track"], case["channel"]) == ("sahyog_camp", "camp")
        number = case["registration_number"]

        async def in_the_camp_list() -> bool:
            camp_cases = await http.get("/v1/grievances", params={"track": "sahyog_camp"}, headers=dm)
            return number in [g["registration_number"] for g in camp_cases.json()["grievances"]]

        await eventually(in_the_camp_list)
        others = await http.get("/v1/grievances", params={"track": "sahyog"}, headers=dm)
        assert number not in [g["registration_number"] for g in others.json()["grievances"]]
        figures = await http.get("/v1/dashboard", params={"track": "sahyog_camp"}, headers=dm)
        assert figures.status_code == 200, figures.text
        assert figures.json()["track"] == "sahyog_camp"
        assert figures.json()["total"] >= 1

        # S1: the camp's staff (here the DM, an officer filing on the applicant's behalf) upload a paper application
        # the camp took today, naming the day; an applicant cannot name it.
        paper = {
            "complainant": {"name": "रीना कुमारी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ"},
            "description": "वृद्धावस्था पेंशन का आवेदन शिविर में कागज़ पर दिया गया, अपलोड हेतु।",
            "category_code": "FOOD-RATION-CARD",
            "location": GONPURA,
            "camp_id": near["id"],
            "camp_received_on": today.isoformat(),
        }
        by_applicant = await http.post(
            "/v1/grievances", json=paper, headers={"Idempotency-Key": f"paper-{datetime.now(UTC).timestamp()}"}
        )
        assert by_applicant.status_code == 422, by_applicant.text
        assert [e["field"] for e in by_applicant.json()["errors"]] == ["camp_received_on"]
        uploaded = await http.post(
            "/v1/grievances",
            json=paper,
            headers={**dm, "Idempotency-Key": f"paper-{datetime.now(UTC).timestamp()}"},
        )
        assert uploaded.status_code == 201, uploaded.text
        assert (uploaded.json()["track"], uploaded.json()["camp_received_on"]) == ("sahyog_camp", today.isoformat())
