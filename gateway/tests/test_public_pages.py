"""Issue 12, item 3, against the gateway's fakes: GET /v1/public/league-table (M5 per office of a district with an
overdue flag, JSON, xlsx and CSV, 422s naming the parameter, no personal field, no token sent on to intake) and the
public pages /app/public/league and /app/public/offices/{office_id}/notice-board in both languages, without a
session. tests/test_reports_e2e.py reads the route against the real services."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from gateway_testkit import Rig, token_for

from nivaran.intake.v1 import intake_pb2
from nivaran_common.timeutil import IST
from nivaran_gateway.routes.league import league_rows, previous_month

URL = "/v1/public/league-table"


def no_personal_field(body: dict[str, Any]) -> None:
    for row in body["rows"]:
        assert set(row) == {
            "rank", "office_id", "office_name", "ended", "within_time", "not_fixed", "score", "open_overdue",
            "open_over_30_days", "overdue",
        }  # fmt: skip


async def test_the_league_table_of_a_district_needs_no_token_and_names_offices_only(rig: Rig) -> None:
    response = await rig.client.get(URL, params={"district_code": "PAT", "month": "2026-11"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["district_code"], body["month"], body["min_ranked"]) == ("PAT", "2026-11", 5)
    assert body["as_of"] == "2026-12-01T09:30:00+00:00"
    ranked, unranked = body["rows"]
    assert (ranked["office_id"], ranked["rank"], ranked["score"], ranked["overdue"]) == (
        "OFF-PAT-COLLECTORATE",
        1,
        0.7,
        True,
    )
    assert (ranked["open_overdue"], ranked["open_over_30_days"]) == (3, 1)
    assert (unranked["office_id"], unranked["rank"], unranked["overdue"], unranked["open_overdue"]) == (
        "OFF-PAT-BLOCK",
        None,
        False,
        0,
    )
    no_personal_field(body)
    # Intake was asked for the district's offices and the month in India's time, on the gateway's own account.
    asked = rig.intake.ranking_requests[-1]
    assert (asked.district_code, asked.group_by) == ("PAT", intake_pb2.PENDING_GROUP_OFFICE)
    assert asked.since.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 1, tzinfo=IST)
    assert asked.until.ToDatetime(tzinfo=UTC) == datetime(2026, 12, 1, tzinfo=IST)
    assert rig.intake.report_calls[-2:] == [("GetRanking", ""), ("GetPendingByAge", "")]


async def test_a_signed_in_visitors_token_does_not_travel_to_intake(rig: Rig) -> None:
    response = await rig.client.get(URL, params={"district_code": "PAT"}, headers=rig.auth("citizen_a"))

    assert response.status_code == 200
    assert rig.intake.report_calls[-2:] == [("GetRanking", ""), ("GetPendingByAge", "")]
    # The review routes stay the reviewers': the citizen's token is still refused there.
    refused = await rig.client.get("/v1/reports/ranking", params={"month": "2026-11"}, headers=rig.auth("citizen_a"))
    assert refused.status_code == 403


async def test_the_month_defaults_to_the_last_full_month_in_india(rig: Rig) -> None:
    response = await rig.client.get(URL, params={"district_code": "PAT"})

    assert response.json()["month"] == previous_month()
    # 1 January 00:30 in India is still 31 December in UTC; the last full month is India's December.
    assert previous_month(datetime(2026, 12, 31, 19, 0, tzinfo=UTC)) == "2026-12"
    assert previous_month(datetime(2027, 1, 15, tzinfo=UTC)) == "2026-12"
    assert previous_month(datetime(2026, 3, 31, 18, 29, tzinfo=UTC)) == "2026-02"


def test_an_office_with_open_cases_and_nothing_ended_is_listed_unranked() -> None:
    office = {"en": "Block office", "hi": "प्रखंड कार्यालय"}
    ranking = intake_pb2.Ranking(
        rows=[intake_pb2.RankingRow(office_id="A", office_name=office, ended=6, within_time=6, score=1.0, rank=1)]
    )
    pending = intake_pb2.PendingByAge(
        rows=[
            intake_pb2.PendingAgeRow(office_id="B", office_name=office, total=4, overdue=2, days_over_30=1),
            intake_pb2.PendingAgeRow(office_id="A", office_name=office, total=1, overdue=0),
        ]
    )

    rows = league_rows(ranking, pending)

    assert [(r.office_id, r.rank, r.overdue, r.open_overdue, r.score) for r in rows] == [
        ("A", 1, False, 0, 1.0),
        ("B", None, True, 2, None),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "district_code"),
        ({"district_code": "pat"}, "district_code"),
        ({"district_code": "PAT; DROP"}, "district_code"),
        ({"district_code": "PAT", "month": "November"}, "month"),
        ({"district_code": "PAT", "month": "2026-13"}, "month"),
        ({"district_code": "PAT", "format": "pdf"}, "format"),
    ],
)
async def test_a_bad_parameter_is_422_naming_it(rig: Rig, params: dict[str, str], field: str) -> None:
    response = await rig.client.get(URL, params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


async def test_the_league_table_as_excel_and_csv(rig: Rig) -> None:
    excel = await rig.client.get(URL, params={"district_code": "PAT", "month": "2026-11", "format": "xlsx"})
    comma = await rig.client.get(URL, params={"district_code": "PAT", "month": "2026-11", "format": "csv"})

    assert excel.status_code == 200
    assert excel.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "league-table-pat-2026-11" in excel.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(excel.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    for text in ("कार्यालय / Office", "समाहरणालय, PAT / Collectorate, PAT", "हाँ / yes", "अंक / Score"):
        assert text in strings
    assert comma.status_code == 200
    assert comma.headers["content-type"].startswith("text/csv")
    assert comma.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(comma.content.decode("utf-8-sig"))))
    header = lines[0]
    assert header[0] == "क्रम / Rank"
    assert "समय-सीमा पार / Overdue" in header
    assert any(line[:2] == ["1", "समाहरणालय, PAT / Collectorate, PAT"] for line in lines)


async def test_the_route_is_rate_limited_like_the_other_public_reads(make_rig: Any) -> None:
    limited = await make_rig(rate_limits={"public_read": {"limit": 2, "window_seconds": 60}})
    answers = [(await limited.client.get(URL, params={"district_code": "PAT"})).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


# --- the pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "title", "measure", "office", "flag"),
    [
        ("hi", "कार्यालयों की तालिका", "यह माप कैसे काम करता है", "समाहरणालय, PAT", "हाँ: 3 लंबित, समय-सीमा पार"),
        ("en", "Offices' league table", "How the measure works", "Collectorate, PAT", "Yes: 3 open past deadline"),
    ],
)
async def test_the_league_page_in_both_languages_without_a_session(
    rig: Rig, lang: str, title: str, measure: str, office: str, flag: str
) -> None:
    rig.client.cookies.set("lang", lang, domain="gateway.test")

    page = await rig.client.get("/app/public/league", params={"district_code": "PAT", "month": "2026-11"})

    assert page.status_code == 200, page.text
    assert f'<html lang="{lang}">' in page.text
    for text in (title, measure, office, flag):
        assert text in page.text
    assert "/v1/public/league-table?district_code=PAT&amp;month=2026-11&amp;format=xlsx" in page.text
    assert "/v1/public/league-table?district_code=PAT&amp;month=2026-11&amp;format=csv" in page.text
    assert "/app/public/offices/OFF-PAT-COLLECTORATE/notice-board" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "<script>" not in page.text
    assert "style=" not in page.text


async def test_the_league_page_without_a_district_offers_the_choice(rig: Rig) -> None:
    page = await rig.client.get("/app/public/league")

    assert page.status_code == 200
    assert 'name="district_code"' in page.text
    assert '<table class="report">' not in page.text


async def test_the_league_page_shows_v1s_422_next_to_the_month(rig: Rig) -> None:
    rig.client.cookies.set("lang", "en", domain="gateway.test")

    page = await rig.client.get("/app/public/league", params={"district_code": "PAT", "month": "2026-13"})

    assert page.status_code == 422
    assert 'data-field="month"' in page.text
    assert 'data-status="422"' in page.text


async def test_a_signed_in_citizen_reads_the_same_public_page(rig: Rig) -> None:
    rig.client.cookies.set("nv_access", token_for("citizen_a"), domain="gateway.test")

    page = await rig.client.get("/app/public/league", params={"district_code": "PAT", "month": "2026-11"})

    assert page.status_code == 200
    assert rig.intake.report_calls[-2:] == [("GetRanking", ""), ("GetPendingByAge", "")]


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("hi", ("सुनवाई सूचना-पट", "बुधवार, 9 दिसंबर 2026", "प्रथम अपील", "निर्धारित")),
        ("en", ("Hearing notice board", "Wednesday, 9 December 2026", "First appeal", "Scheduled")),
    ],
)
async def test_the_notice_board_page_in_both_languages(rig: Rig, lang: str, texts: tuple[str, ...]) -> None:
    rig.client.cookies.set("lang", lang, domain="gateway.test")

    page = await rig.client.get("/app/public/offices/OFF-PAT-COLLECTORATE/notice-board")

    assert page.status_code == 200, page.text
    for text in (*texts, "BR-PAT-2026-0100001-7", "11:00"):
        assert text in page.text
    assert "complainant" not in page.text.lower().replace("each complainant", "")


async def test_an_unknown_office_is_the_404_page(rig: Rig) -> None:
    page = await rig.client.get("/app/public/offices/OFF-NOWHERE/notice-board")

    assert page.status_code == 404
    assert 'data-status="404"' in page.text


async def test_the_home_page_links_both_public_pages(rig: Rig) -> None:
    home = await rig.client.get("/app")
    found = await rig.client.get("/app/public/notice-board", params={"office_id": "OFF-PAT-COLLECTORATE"})
    nothing = await rig.client.get("/app/public/notice-board", params={"office_id": "../../v1"})

    assert 'href="/app/public/league"' in home.text
    assert 'action="/app/public/notice-board"' in home.text
    assert (found.status_code, found.headers["location"]) == (
        303,
        "/app/public/offices/OFF-PAT-COLLECTORATE/notice-board",
    )
    assert (nothing.status_code, nothing.headers["location"]) == (303, "/app")
