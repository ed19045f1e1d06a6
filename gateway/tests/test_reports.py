"""GET /v1/reports/pending-by-age (issue 12): JSON with totals, an xlsx whose headers are in Devanagari and English,
a CSV Excel reads as UTF-8, the reviewer's remit, and 422s that name the parameter. Against the gateway's fakes;
tests/test_reports_e2e.py runs it against the real services."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

URL = "/v1/reports/pending-by-age"


async def test_a_dm_reads_their_district_by_office_with_totals(rig: Any) -> None:
    response = await rig.client.get(URL, headers=rig.auth("dm_a"))

    assert response.status_code == 200
    body = response.json()
    assert (body["district_code"], body["by"], body["as_of"]) == ("PAT", "office", "2026-12-01T09:30:00+00:00")
    [row] = body["rows"]
    assert row["office_name"] == {"en": "Collectorate, PAT", "hi": "समाहरणालय, PAT"}
    assert row["position_title"] is None
    assert [row[k] for k in ("days_0_10", "days_10_20", "days_20_30", "days_over_30", "total", "overdue")] == [
        4,
        3,
        2,
        1,
        10,
        3,
    ]
    assert body["totals"]["total"] == 10


async def test_the_state_report_by_officer_sums_every_row(rig: Any) -> None:
    response = await rig.client.get(URL, params={"by": "officer"}, headers=rig.auth("osd_cs"))

    body = response.json()
    assert [r["position_id"] for r in body["rows"]] == ["POS-PAT-ADM", "POS-GAY-ADM"]
    assert body["rows"][0]["position_title"] == {"en": "ADM", "hi": "अपर समाहर्ता"}
    assert (body["totals"]["total"], body["totals"]["overdue"], body["totals"]["days_over_30"]) == (20, 6, 2)


async def test_the_xlsx_carries_bilingual_headers_and_the_figures(rig: Any) -> None:
    response = await rig.client.get(URL, params={"format": "xlsx", "by": "officer"}, headers=rig.auth("dm_a"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == (
        'attachment; filename="pending-by-age-pat-20261201-0930.xlsx"; '
        "filename*=UTF-8''pending-by-age-pat-20261201-0930.xlsx"
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        styles = book.read("xl/styles.xml").decode("utf-8")
    for text in ("30 दिन से अधिक / Over 30 days", "कार्यालय / Office", "समाहरणालय, PAT / Collectorate, PAT", "कुल / All"):
        assert text in strings
    assert "Nirmala UI" in styles  # a font with Devanagari
    assert "<v>10</v>" in sheet  # the row's total, a number the spreadsheet can sum


async def test_the_csv_is_utf8_with_a_bom_and_reads_back(rig: Any) -> None:
    response = await rig.client.get(URL, params={"format": "csv"}, headers=rig.auth("dm_a"))

    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "कार्यालय / Office"
    assert rows[1] == ["समाहरणालय, PAT / Collectorate, PAT", "4", "3", "2", "1", "10", "3"]
    assert rows[2][0] == "कुल / All"


async def test_a_dm_cannot_read_another_district(rig: Any) -> None:
    response = await rig.client.get(URL, params={"district_code": "GAY"}, headers=rig.auth("dm_a"))

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_bad_grouping_or_format_is_422_naming_the_parameter(rig: Any) -> None:
    for params, name in (({"by": "block"}, "by"), ({"format": "pdf"}, "format")):
        response = await rig.client.get(URL, params=params, headers=rig.auth("dm_a"))
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert name in response.text


async def test_M5_the_ranking_of_a_month_leaves_the_unranked_without_a_rank_or_score_order(rig: Any) -> None:
    response = await rig.client.get("/v1/reports/ranking", params={"month": "2026-11"}, headers=rig.auth("dm_a"))

    assert response.status_code == 200
    body = response.json()
    assert (body["month"], body["min_ranked"]) == ("2026-11", 5)
    assert [(r["office_id"], r["rank"]) for r in body["rows"]] == [
        ("OFF-PAT-COLLECTORATE", 1),
        ("OFF-PAT-BLOCK", None),
    ]
    excel = await rig.client.get(
        "/v1/reports/ranking", params={"month": "2026-11", "format": "xlsx"}, headers=rig.auth("dm_a")
    )
    with zipfile.ZipFile(io.BytesIO(excel.content)) as book:
        assert "बंद - समाधान नहीं / Closed - not fixed" in book.read("xl/sharedStrings.xml").decode("utf-8")


async def test_M5_a_month_that_is_not_one_is_422_naming_month(rig: Any) -> None:
    for month in ("2026-13", "November", None):
        params = {"month": month} if month else {}
        response = await rig.client.get("/v1/reports/ranking", params=params, headers=rig.auth("dm_a"))
        assert response.status_code == 422
        assert "month" in response.text


async def test_S18_the_daily_report_per_department_and_a_secretarys_own_row(rig: Any) -> None:
    dm = await rig.client.get("/v1/reports/daily", params={"date": "2026-12-01"}, headers=rig.auth("dm_a"))
    rows = list(
        csv.reader(
            io.StringIO(
                (
                    await rig.client.get(
                        "/v1/reports/daily", params={"date": "2026-12-01", "format": "csv"}, headers=rig.auth("dm_a")
                    )
                ).content.decode("utf-8-sig")
            )
        )
    )

    assert dm.status_code == 200
    assert (dm.json()["date"], dm.json()["district_code"]) == ("2026-12-01", "PAT")
    assert [(r["department_code"], r["filed"], r["ended"], r["pending"]) for r in dm.json()["rows"]] == [
        ("FOOD", 7, 5, 40),
        ("REVENUE", 3, 1, 12),
    ]
    assert rows[0][:3] == ["विभाग / Department", "उस दिन दर्ज / Filed that day", "उस दिन निष्पादित / Ended that day"]
    bad = await rig.client.get("/v1/reports/daily", params={"date": "2026-02-30"}, headers=rig.auth("dm_a"))
    assert bad.status_code == 422
    assert "date" in bad.text
