"""The weekly review pages (M1, M2, H4): each shows its /v1 report as a table in the visitor's language, with its
downloads (as /v1 writes them); H4's trends as a server-drawn line chart; /v1's refusal on the page."""

from __future__ import annotations

import io
import re
import zipfile

from gateway_testkit import Rig
from test_web_pages import sign_in_as


async def test_M1_the_weekly_page_lists_each_office_and_the_totals(rig: Rig) -> None:
    sign_in_as(rig.client, "dm_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")

    page = await rig.client.get("/app/officer/review/weekly", params={"week": "not-a-week"})

    assert page.status_code == 200
    rows = re.findall(r"<tr(?: class=\"totals\")?>\s*<th scope=\"row\">([^<]+)</th>\s*((?:<td>\d+</td>)+)", page.text)
    assert [(office, re.findall(r"\d+", cells)) for office, cells in rows] == [
        ("Collectorate, PAT", ["6", "4", "9", "2", "3", "1", "1"]),
        ("All", ["6", "4", "9", "2", "3", "1", "1"]),
    ]
    # An unknown week falls back to the last whole one, which /v1 was asked for and the downloads name.
    week = rig.intake.weekly_requests[-1]
    assert week.HasField("since")
    [chosen] = re.findall(r'<option value="(\d{4}-W\d{2})"[^>]* selected>', page.text)
    assert f'href="/app/officer/review/download/weekly?week={chosen}&amp;format=xlsx"' in page.text
    assert "Show-causes issued" in page.text


async def test_M1_the_weekly_page_in_hindi(rig: Rig) -> None:
    sign_in_as(rig.client, "dm_a")

    page = await rig.client.get("/app/officer/review/weekly")

    assert "साप्ताहिक प्रतिवेदन" in page.text
    assert "समाहरणालय, PAT" in page.text


async def test_M2_the_long_pending_page_lists_the_oldest_and_the_dms_absences(rig: Rig) -> None:
    sign_in_as(rig.client, "dm_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")

    page = await rig.client.get("/app/officer/review/long-pending")

    assert page.status_code == 200
    assert "BR-PAT-2026-0000042-1" in page.text
    assert "Land records" in page.text
    assert "Public authorities absent from hearings" in page.text
    assert re.search(r"<th scope=\"row\">L1</th><td>2</td><td>1</td>", page.text)
    assert 'href="/app/officer/review/download/hearing-absences?format=csv"' in page.text


async def test_M2_a_secretary_without_a_department_sees_v1s_refusal(rig: Rig) -> None:
    sign_in_as(rig.client, "secretary")

    page = await rig.client.get("/app/officer/review/long-pending")

    assert page.status_code == 403
    assert 'data-status="403"' in page.text
    assert "BR-PAT-2026-0000042-1" not in page.text


async def test_H4_the_categories_page_draws_the_trends_and_the_other_share(rig: Rig) -> None:
    sign_in_as(rig.client, "secretary")
    rig.client.cookies.set("lang", "en", domain="gateway.test")

    form = await rig.client.get("/app/officer/review/categories")
    page = await rig.client.get("/app/officer/review/categories", params={"department_code": "revenue", "months": 3})

    assert form.status_code == 200
    assert "<svg" not in form.text
    assert page.status_code == 200
    svg = page.text.split('<figure class="chart">', 1)[1].split("</figure>", 1)[0]
    assert svg.strip().startswith('<svg role="img" aria-label="Line chart of the filings per category and month')
    assert re.search(r"<text[^>]*>Mutation</text>", svg)
    assert re.search(r"<text[^>]*>“Other” categories</text>", svg)
    assert "<script" not in svg
    assert " style=" not in page.text
    assert "<td>43%</td><td>33%</td><td>20%</td>" in page.text
    download = await rig.client.get(
        "/app/officer/review/download/category-trends", params={"department_code": "REVENUE", "format": "xlsx"}
    )
    assert download.headers["content-disposition"].startswith('attachment; filename="category-trends-revenue-')
    with zipfile.ZipFile(io.BytesIO(download.content)) as book:
        assert "दाखिल-खारिज / Mutation" in book.read("xl/sharedStrings.xml").decode()


async def test_an_unknown_report_is_a_404_page(rig: Rig) -> None:
    sign_in_as(rig.client, "dm_a")

    page = await rig.client.get("/app/officer/review/download/salaries")

    assert page.status_code == 404
    assert 'data-status="404"' in page.text
