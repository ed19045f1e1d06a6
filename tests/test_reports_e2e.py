"""Issue 12's review report against the real suite (tests/conftest.py's shared suite): a case filed through /v1
shows in the DM's report of open cases by age, in its office's and its officer's row, as JSON and as an Excel file
with the same figures; another district's DM is refused."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite
from test_desk_e2e import DM, DSO, PHULWARI, Desk

from nivaran_common.timeutil import IST

PHONE = "9876510777"
URL = "/v1/reports/pending-by-age"


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


async def test_a_filed_case_counts_in_the_dms_pending_by_age_report_and_its_excel(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        citizen, dm = await desk.citizen(PHONE), await desk.officer(*DM)
        before = await http.get(URL, params={"by": "officer"}, headers=dm)
        assert before.status_code == 200, before.text
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "रीना देवी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ, पटना", "phone": PHONE},
                "description": "राशन कार्ड के लिए तीन महीने पहले आवेदन दिया, अब तक कोई सूचना नहीं मिली।",
                "category_code": "FOOD-RATION-CARD",
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**citizen, "Idempotency-Key": f"reports-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text

        after = await http.get(URL, params={"by": "officer"}, headers=dm)
        excel = await http.get(URL, params={"by": "officer", "format": "xlsx"}, headers=dm)
        elsewhere = await http.get(URL, params={"district_code": "GAY"}, headers=dm)
        daily = await http.get("/v1/reports/daily", headers=dm)
        month = datetime.now(IST).strftime("%Y-%m")
        ranking = await http.get("/v1/reports/ranking", params={"month": month, "format": "csv"}, headers=dm)
        dso = await desk.officer(*DSO)
        not_a_reviewer = await http.get(URL, headers=dso)

    def fresh(report: dict[str, Any]) -> dict[str, int]:
        return {r["position_id"]: r["days_0_10"] for r in report["rows"]}

    # The new case is in exactly one officer's row, as filed today (0-10 days); no other row moved.
    was, now = fresh(before.json()), fresh(after.json())
    moved = {p: n - was.get(p, 0) for p, n in now.items() if n != was.get(p, 0)}
    assert list(moved.values()) == [1]
    [position_id] = moved
    assert after.json()["district_code"] == "PAT"
    assert after.json()["totals"]["total"] == before.json()["totals"]["total"] + 1
    assert excel.status_code == 200
    with zipfile.ZipFile(io.BytesIO(excel.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    assert "0-10 दिन / 0-10 days" in strings
    [mine] = [r for r in after.json()["rows"] if r["position_id"] == position_id]
    assert f"{mine['position_title']['hi']} / {mine['position_title']['en']}" in strings
    assert elsewhere.status_code == 403
    # S18: today's filings in Patna include this one, under the department routing chose; M5 answers as a CSV.
    assert daily.status_code == 200, daily.text
    assert sum(row["filed"] for row in daily.json()["rows"]) >= 1
    assert "FOOD" in {row["department_code"] for row in daily.json()["rows"]}
    assert ranking.status_code == 200, ranking.text
    assert ranking.content.decode("utf-8-sig").startswith("क्रम / Rank")
    assert not_a_reviewer.status_code == 403


PUBLIC_PHONE = "9876510778"
COMPLAINANT = "सुनीता कुमारी"
ADDRESS = "ग्राम चकमुसा, फुलवारी शरीफ, पटना"


async def test_the_public_league_table_reads_offices_counts_without_a_token(suite: RunningSuite) -> None:
    """Issue 12, item 3: anyone reads the league table of Patna's offices (the gateway reads intake's counts on its own
    account); a case filed now counts in its office's row, and nothing in the answer, its CSV or the page names the
    complainant or an officer. The review routes still refuse a citizen."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        citizen = await Desk(http).citizen(PUBLIC_PHONE)
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": COMPLAINANT, "address": ADDRESS, "phone": PUBLIC_PHONE},
                "description": "जन वितरण प्रणाली की दुकान दो महीने से बंद है, राशन नहीं मिल रहा।",
                "category_code": "FOOD-PDS-SUPPLY",
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**citizen, "Idempotency-Key": f"league-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text
        league = await http.get("/v1/public/league-table", params={"district_code": "PAT"})
        this_month = datetime.now(IST).strftime("%Y-%m")
        current = await http.get("/v1/public/league-table", params={"district_code": "PAT", "month": this_month})
        comma = await http.get("/v1/public/league-table", params={"district_code": "PAT", "format": "csv"})
        missing = await http.get("/v1/public/league-table")
        page = await http.get("/app/public/league", params={"district_code": "PAT"})
        citizen_ranking = await http.get("/v1/reports/ranking", params={"month": this_month}, headers=citizen)

    assert league.status_code == 200, league.text
    body = league.json()
    assert body["district_code"] == "PAT"
    assert body["rows"], "Patna's offices with open cases are listed"
    assert current.status_code == 200, current.text
    for answer in (league, current, comma, page):
        for personal in (COMPLAINANT, ADDRESS, PUBLIC_PHONE, "position_id", "position_title"):
            assert personal not in answer.text, personal
    for row in body["rows"]:
        assert set(row) == {
            "rank", "office_id", "office_name", "ended", "within_time", "not_fixed", "score", "open_overdue",
            "open_over_30_days", "overdue",
        }  # fmt: skip
    assert comma.status_code == 200
    assert comma.content.decode("utf-8-sig").startswith("क्रम / Rank")
    assert missing.status_code == 422
    assert "district_code" in {error["field"] for error in missing.json()["errors"]}
    assert page.status_code == 200, page.text
    assert "/v1/public/league-table?district_code=PAT" in page.text
    assert citizen_ranking.status_code == 403


WEEKLY_PHONE = "9876510779"


async def test_M1_M2_H4_the_weekly_reports_and_category_trends_against_the_real_suite(suite: RunningSuite) -> None:
    """M1: a case filed today is received in its office's row of the DM's report for today; M2: the cutoff comes
    from sla's holiday calendar (more than 60 calendar days back) and the new case is not long pending; H4: it
    counts in its category's current month. Each answers as a file too, and another district's DM is refused."""
    today = datetime.now(IST).date().isoformat()
    period = {"from_date": today, "to_date": today}
    trends_params = {"department_code": "FOOD", "months": 2}
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        citizen, dm = await desk.citizen(WEEKLY_PHONE), await desk.officer(*DM)
        before = await http.get("/v1/reports/weekly", params=period, headers=dm)
        trends_before = await http.get("/v1/reports/category-trends", params=trends_params, headers=dm)
        assert before.status_code == 200, before.text
        assert trends_before.status_code == 200, trends_before.text
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {
                    "name": "मीना कुमारी",
                    "address": "ग्राम कुरकुरी, फुलवारी शरीफ, पटना",
                    "phone": WEEKLY_PHONE,
                },
                "description": "राशन कार्ड में परिवार के सदस्यों के नाम जोड़ने का आवेदन दो महीने से लंबित है।",
                "category_code": "FOOD-RATION-CARD",
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**citizen, "Idempotency-Key": f"weekly-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text
        after = await http.get("/v1/reports/weekly", params=period, headers=dm)
        weekly_csv = await http.get("/v1/reports/weekly", params={**period, "format": "csv"}, headers=dm)
        long_pending = await http.get("/v1/reports/long-pending", headers=dm)
        long_xlsx = await http.get("/v1/reports/long-pending", params={"format": "xlsx"}, headers=dm)
        trends_after = await http.get("/v1/reports/category-trends", params=trends_params, headers=dm)
        elsewhere = await http.get("/v1/reports/weekly", params={"district_code": "GAY"}, headers=dm)

    assert after.status_code == 200, after.text
    assert after.json()["totals"]["received"] == before.json()["totals"]["received"] + 1
    assert after.json()["totals"]["pending"] >= 1
    assert weekly_csv.content.decode("utf-8-sig").startswith("कार्यालय / Office")
    assert long_pending.status_code == 200, long_pending.text
    body = long_pending.json()
    cutoff = datetime.fromisoformat(body["filed_before"]).date()
    assert (datetime.now(IST).date() - cutoff).days > 60  # Sundays and holidays are not working days
    number = filed.json()["registration_number"]
    assert number not in {case["registration_number"] for case in body["cases"]}
    assert long_xlsx.status_code == 200
    assert long_xlsx.content.startswith(b"PK")

    def ration_cards(answer: httpx.Response) -> int:
        rows = [c for c in answer.json()["categories"] if c["category_code"] == "FOOD-RATION-CARD"]
        return rows[0]["monthly"][-1] if rows else 0

    assert trends_after.json()["months"] == trends_before.json()["months"]
    assert ration_cards(trends_after) == ration_cards(trends_before) + 1
    assert elsewhere.status_code == 403
