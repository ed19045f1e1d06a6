"""GET /v1/reports/weekly (M1), /v1/reports/long-pending and hearing-absences' files (M2), and
/v1/reports/category-trends (H4): JSON with totals, xlsx and CSV downloads, the reviewer's remit, M2's cutoff on the
holiday calendar, and 422s that name the parameter. Against the gateway's fakes (the fake sla computes deadlines with
sla's own code on the repository's Bihar calendar); tests/test_reports_e2e.py runs them against the real services."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from nivaran_common.timeutil import IST
from nivaran_gateway.routes.reports_weekly import last_week
from nivaran_sla.deadlines import load_calendar

WEEKLY = "/v1/reports/weekly"
LONG = "/v1/reports/long-pending"
TRENDS = "/v1/reports/category-trends"
HOLIDAYS = Path(__file__).resolve().parents[2] / "data" / "holidays"
FIGURES = ("received", "disposed", "pending", "overdue", "show_causes_issued", "show_causes_answered", "breaches")


def _strings(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return book.read("xl/sharedStrings.xml").decode("utf-8")


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def test_M1_a_dm_reads_their_districts_week_per_office_with_totals(rig: Any) -> None:
    response = await rig.client.get(WEEKLY, params={"week": "2026-W48"}, headers=rig.auth("dm_a"))

    assert response.status_code == 200
    body = response.json()
    assert (body["district_code"], body["week"], body["from_date"], body["to_date"]) == (
        "PAT",
        "2026-W48",
        "2026-11-23",
        "2026-11-29",
    )
    [row] = body["rows"]
    assert row["office_name"] == {"en": "Collectorate, PAT", "hi": "समाहरणालय, PAT"}
    assert [row[f] for f in FIGURES] == [6, 4, 9, 2, 3, 1, 1]
    [asked] = rig.intake.weekly_requests[-1:]
    # The week is India's: Monday 00:00 IST to the next Monday 00:00 IST.
    assert asked.since.ToDatetime().isoformat() == "2026-11-22T18:30:00"
    assert asked.until.ToDatetime().isoformat() == "2026-11-29T18:30:00"


async def test_M1_the_state_week_sums_every_office_and_its_files_say_the_same(rig: Any) -> None:
    params = {"from_date": "2026-11-23", "to_date": "2026-11-29"}
    body = (await rig.client.get(WEEKLY, params=params, headers=rig.auth("osd_cs"))).json()
    excel = await rig.client.get(WEEKLY, params={**params, "format": "xlsx"}, headers=rig.auth("osd_cs"))
    text = await rig.client.get(WEEKLY, params={**params, "format": "csv"}, headers=rig.auth("osd_cs"))

    assert [body["totals"][f] for f in FIGURES] == [12, 8, 18, 4, 6, 2, 2]
    assert body["week"] == ""
    assert excel.headers["content-type"].startswith("application/vnd.openxmlformats")
    strings = _strings(excel.content)
    for header in ("कारण पृच्छा जारी / Show-causes issued", "समय-सीमा उल्लंघन / Deadlines missed", "कुल / All"):
        assert header in strings
    rows = _csv(text.content)
    assert rows[0][0] == "कार्यालय / Office"
    for line, office in zip(rows[1:], [*body["rows"], body["totals"]], strict=True):
        assert line == [f"{office['office_name']['hi']} / {office['office_name']['en']}"] + [
            str(office[f]) for f in FIGURES
        ]


async def test_M1_the_default_week_is_the_last_whole_one() -> None:
    assert last_week(date(2026, 12, 3)) == "2026-W48"
    assert last_week(date(2026, 1, 5)) == "2026-W01"


async def test_M1_a_bad_period_is_422_naming_the_parameter(rig: Any) -> None:
    cases = [
        ({"week": "2026-48"}, "week"),
        ({"week": "2026-W60"}, "week"),
        ({"from_date": "2026-11-23"}, "to_date"),
        ({"from_date": "2026-11-23", "to_date": "2026-11-01"}, "to_date"),
        ({"from_date": "2026-10-01", "to_date": "2026-11-29"}, "to_date"),
        ({"week": "2026-W48", "from_date": "2026-11-23", "to_date": "2026-11-29"}, "week"),
        ({"from_date": "2026-02-30", "to_date": "2026-03-02"}, "from_date"),
    ]
    for params, name in cases:
        response = await rig.client.get(WEEKLY, params=params, headers=rig.auth("dm_a"))
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert name in [error["field"].split(".")[-1] for error in response.json()["errors"]], params


async def test_M1_a_dm_cannot_read_another_districts_week(rig: Any) -> None:
    response = await rig.client.get(WEEKLY, params={"district_code": "GAY"}, headers=rig.auth("dm_a"))

    assert response.status_code == 403


async def test_M2_the_cutoff_counts_60_working_days_on_the_holiday_calendar(rig: Any) -> None:
    response = await rig.client.get(LONG, headers=rig.auth("dm_a"))

    assert response.status_code == 200
    body = response.json()
    cutoff = date.fromisoformat(body["filed_before"])
    # Proved with the calendar itself: the day before the cutoff has had its 60 working days end before today; the
    # cutoff day itself has not.
    calendar = load_calendar(HOLIDAYS, "BR")
    today = datetime.now(IST).date()
    assert calendar.add_working_days(cutoff - timedelta(days=1), 60) < today <= calendar.add_working_days(cutoff, 60)
    assert (today - cutoff).days > 60  # weekly offs and holidays do not count
    [asked] = rig.intake.long_pending_requests[-1:]
    assert asked.filed_before.ToDatetime().date() == cutoff - timedelta(days=1)  # 00:00 IST is 18:30 UTC before
    assert (body["working_days"], body["total"], body["district_code"]) == (60, 1, "PAT")
    [case] = body["cases"]
    assert set(case) == {
        "registration_number", "office_id", "office_name", "position_title", "department_code", "category_name",
        "status", "track", "filed_at",
    }  # fmt: skip
    assert (case["status"], case["category_name"]["hi"]) == ("assigned", "भूमि अभिलेख")


async def test_M2_the_long_pending_list_as_files(rig: Any) -> None:
    excel = await rig.client.get(LONG, params={"format": "xlsx"}, headers=rig.auth("dm_a"))
    text = await rig.client.get(LONG, params={"format": "csv", "limit": 5}, headers=rig.auth("dm_a"))

    assert "निबंधन संख्या / Registration number" in _strings(excel.content)
    rows = _csv(text.content)
    assert rows[1][:2] == ["BR-PAT-2026-0000042-1", "समाहरणालय, PAT / Collectorate, PAT"]
    assert rows[1][-1] == "2026-05-04"
    assert rig.intake.long_pending_requests[-1].case_limit == 5


async def test_M2_bad_parameters_are_422_naming_them(rig: Any) -> None:
    for params, name in (
        ({"working_days": 0}, "working_days"),
        ({"limit": 5000}, "limit"),
        ({"format": "pdf"}, "format"),
    ):
        response = await rig.client.get(LONG, params=params, headers=rig.auth("dm_a"))
        assert response.status_code == 422
        assert name in response.text


async def test_M2_the_absences_from_hearings_as_files(rig: Any) -> None:
    response = await rig.client.get("/v1/reports/hearing-absences", params={"format": "csv"}, headers=rig.auth("dm_a"))

    rows = _csv(response.content)
    assert rows[0] == ["लोक प्राधिकार (पद) / Public authority (post)", "सुनवाइयाँ / Hearings", "अनुपस्थिति / Absences"]
    assert rows[1:] == [["L1 / L1", "2", "1"], ["कुल / All", "2", "1"]]


async def test_H4_category_trends_of_a_department_month_by_month_with_the_other_share(rig: Any) -> None:
    response = await rig.client.get(
        TRENDS, params={"department_code": "REVENUE", "months": 3}, headers=rig.auth("secretary")
    )

    assert response.status_code == 200
    body = response.json()
    now = datetime.now(IST)
    assert body["months"][-1] == f"{now.year}-{now.month:02d}"
    assert len(body["months"]) == 3
    assert [(c["category_code"], c["is_other"], c["monthly"]) for c in body["categories"]] == [
        ("REVENUE_MUTATION", False, [4, 4, 4]),
        ("REVENUE_OTHER", True, [3, 2, 1]),
    ]
    assert body["other_share"] == [3 / 7, 2 / 6, 1 / 5]
    rows = _csv(
        (
            await rig.client.get(
                TRENDS,
                params={"department_code": "REVENUE", "months": 3, "format": "csv"},
                headers=rig.auth("secretary"),
            )
        ).content
    )
    assert rows[0][3:] == [f"{m} / {m}" for m in body["months"]] + ["कुल / Total"]
    assert rows[-1][1:] == ["अन्य / Other", "✓", "3", "2", "1", "6"]


async def test_H4_category_trends_need_a_department_in_the_readers_remit(rig: Any) -> None:
    missing = await rig.client.get(TRENDS, headers=rig.auth("dm_a"))
    foreign = await rig.client.get(TRENDS, params={"department_code": "HEALTH"}, headers=rig.auth("secretary"))
    too_many = await rig.client.get(
        TRENDS, params={"department_code": "REVENUE", "months": 30}, headers=rig.auth("osd_cs")
    )

    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "department_code")
    assert foreign.status_code == 403
    assert too_many.status_code == 422
    assert "months" in too_many.text


async def test_H4_an_export_whose_scope_is_not_ascii_is_named_for_every_client_not_a_500(rig: Any) -> None:
    """The fuzzer's find: a department code outside ASCII went into the file name, which a header cannot carry.
    The name now has an ASCII fallback and the RFC 5987 UTF-8 form."""
    response = await rig.client.get(
        TRENDS, params={"department_code": "राजस्व", "format": "csv"}, headers=rig.auth("osd_cs")
    )

    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="category-trends-______-')
    assert "filename*=UTF-8''category-trends-%E0%A4%B0" in disposition
