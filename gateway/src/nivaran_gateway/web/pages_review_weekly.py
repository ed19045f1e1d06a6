"""The weekly review pages (issue 12), beside the review page (pages_review.py), each the face of a /v1 report:

- `/app/officer/review/weekly`: M1, the DM's weekly report (GET /v1/reports/weekly), a week chosen by its Monday;
- `/app/officer/review/long-pending`: M2, the cases pending over 60 working days (GET /v1/reports/long-pending) and,
  for a DM, the public authorities absent from hearings (GET /v1/reports/hearing-absences);
- `/app/officer/review/categories`: H4, a department's filings per category and month with a line chart of the
  trends and of the "Other" share (GET /v1/reports/category-trends; charts.py);
- `/app/officer/review/download/{report}`: any of those reports as /v1 writes it (xlsx or CSV).

/v1 decides who may read what (review_scope.py); its refusal is shown on the page."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_common.timeutil import IST
from nivaran_gateway.web.app import NOT_FOUND, PageRoute
from nivaran_gateway.web.charts import LINE_COLOURS, line_chart_spec, render_svg
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor
from nivaran_gateway.web.i18n import N_, localized

PREFIX = OFFICER_PREFIX + "/review"
router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

# The reports a page may download, by the name in its URL.
REPORTS = {
    "weekly": "/v1/reports/weekly",
    "long-pending": "/v1/reports/long-pending",
    "hearing-absences": "/v1/reports/hearing-absences",
    "category-trends": "/v1/reports/category-trends",
}
FORMATS = ("xlsx", "csv")
# The parameters a download passes on to /v1 (anything else is dropped).
PASSED_ON = ("week", "district_code", "department_code", "months")
WEEKLY_FIGURES = (
    ("received", N_("Received")),
    ("disposed", N_("Disposed")),
    ("pending", N_("Pending now")),
    ("overdue", N_("Past deadline now")),
    ("show_causes_issued", N_("Show-causes issued")),
    ("show_causes_answered", N_("Show-causes answered")),
    ("breaches", N_("Deadlines missed")),
)
TREND_X = N_("Month")
TREND_Y = N_("Filings")
TREND_LABEL = N_("Line chart of the filings per category and month; the same figures are in the table.")
OTHER_LINE = N_("“Other” categories")
# The chart draws the most filed categories and the "Other" line; the table lists them all.
CHART_CATEGORIES = len(LINE_COLOURS) - 1


def _scope(district_code: str, department_code: str) -> dict[str, str]:
    """The remit asked for; empty values are left out, so /v1 applies the caller's own."""
    asked = (("district_code", district_code.strip().upper()), ("department_code", department_code.strip().upper()))
    return {name: value for name, value in asked if value}


def _downloads(report: str, params: dict[str, str]) -> dict[str, str]:
    return {fmt: f"{PREFIX}/download/{report}?" + urlencode({**params, "format": fmt}) for fmt in FORMATS}


def _weeks(today: date, count: int = 8) -> list[tuple[str, str]]:
    """The current ISO week (so far), then the last `count` whole ones, as (YYYY-Www, its Monday as a date)."""
    weeks = []
    for back in range(count + 1):
        year, week, _ = (today - timedelta(days=7 * back)).isocalendar()
        weeks.append((f"{year}-W{week:02d}", date.fromisocalendar(year, week, 1).isoformat()))
    return weeks


def _refused(page: Page, template: str, answer: Any, **context: Any) -> Response:
    return page.render(
        template, status=answer.status, problem=answer.title(page.lang), refused=answer.status, **context
    )


@router.get("/weekly")
async def weekly(page: Visitor, week: str = "", district_code: str = "", department_code: str = "") -> Response:
    """M1: the week's figures per office, the totals last, and the downloads."""
    await page.officer()
    scope = _scope(district_code, department_code)
    weeks = _weeks(datetime.now(IST).date())
    # Unless asked for another, the last whole week: what the weekly review meeting looks at.
    week = week if week in {w for w, _ in weeks} else weeks[1][0]
    params = {**scope, "week": week}
    context: dict[str, Any] = {
        "week": week, "weeks": weeks, "figures": [label for _, label in WEEKLY_FIGURES],
        "district_code": scope.get("district_code", ""), "department_code": scope.get("department_code", ""),
        "downloads": _downloads("weekly", params),
    }  # fmt: skip
    answer = await page.signed_in("GET", REPORTS["weekly"], params=params)
    if not answer.ok:
        return _refused(page, "officer/review_weekly.html", answer, rows=[], **context)
    body = answer.body
    rows = [
        {"office": localized(r["office_name"], page.lang), "values": [r[name] for name, _ in WEEKLY_FIGURES]}
        for r in [*body["rows"], body["totals"]]
    ]
    return page.render(
        "officer/review_weekly.html", rows=rows, refused=0, as_of=body["as_of"], from_date=body["from_date"],
        to_date=body["to_date"], remit=body["district_code"] or body["department_code"], **context,
    )  # fmt: skip


@router.get("/long-pending")
async def long_pending(page: Visitor, district_code: str = "", department_code: str = "") -> Response:
    """M2: the cases pending over 60 working days and, for a DM, the authorities absent from hearings."""
    user = await page.officer()
    scope = _scope(district_code, department_code)
    is_dm = "DM" in (user.get("roles") or [])
    calls = [page.signed_in("GET", REPORTS["long-pending"], params=scope)]
    if is_dm:
        calls.append(page.signed_in("GET", REPORTS["hearing-absences"]))
    answers = await asyncio.gather(*calls)
    report, absences = answers[0], (answers[1] if is_dm else None)
    context: dict[str, Any] = {
        "district_code": scope.get("district_code", ""), "department_code": scope.get("department_code", ""),
        "downloads": _downloads("long-pending", scope), "absence_downloads": _downloads("hearing-absences", {}),
    }  # fmt: skip
    if not report.ok:
        return _refused(
            page, "officer/review_long_pending.html", report, offices=[], cases=[], authorities=None, **context
        )
    body = report.body
    cases = [
        {
            "number": c["registration_number"],
            "office": localized(c["office_name"], page.lang),
            "officer": localized(c["position_title"], page.lang),
            "category": localized(c["category_name"], page.lang),
            "filed_at": c["filed_at"],
        }
        for c in body["cases"]
    ]
    authorities = None
    if absences is not None and absences.ok:
        authorities = [
            {"title": localized(a["title"], page.lang), "hearings": a["hearings"], "absences": a["absences"]}
            for a in absences.body["authorities"]
        ]
    return page.render(
        "officer/review_long_pending.html", refused=0, total=body["total"], working_days=body["working_days"],
        filed_before=body["filed_before"], remit=body["district_code"] or body["department_code"],
        offices=[(localized(o["office_name"], page.lang), o["cases"]) for o in body["offices"]], cases=cases,
        authorities=authorities, absence_period=absences.body if absences is not None and absences.ok else None,
        **context,
    )  # fmt: skip


async def _trend_chart(page: Page, body: dict[str, Any]) -> str:
    """The most filed categories' lines and the "Other" line, as an inline SVG; "" when nothing was filed."""
    if not any(body["monthly_total"]):
        return ""
    top = [c for c in body["categories"] if not c["is_other"]][:CHART_CATEGORIES]
    series = [(localized(c["category_name"], page.lang) or c["category_code"], c["monthly"]) for c in top]
    series.append((page.gettext(OTHER_LINE), body["monthly_other"]))
    spec = line_chart_spec(
        series,
        body["months"],
        x_title=page.gettext(TREND_X),
        y_title=page.gettext(TREND_Y),
        description=page.gettext(TREND_LABEL),
    )
    return await render_svg(spec, page.gettext(TREND_LABEL))


@router.get("/categories")
async def categories(page: Visitor, department_code: str = "", district_code: str = "", months: int = 12) -> Response:
    """H4: a department's filings per category and month, the "Other" share, and the trend chart."""
    await page.officer()
    scope = _scope(district_code, department_code)
    months = months if 1 <= months <= 24 else 12
    params = {**scope, "months": str(months)}
    context: dict[str, Any] = {
        "district_code": scope.get("district_code", ""), "department_code": scope.get("department_code", ""),
        "months_asked": months, "downloads": _downloads("category-trends", params),
    }  # fmt: skip
    if "department_code" not in scope:
        return page.render("officer/review_categories.html", refused=0, asked=False, **context)
    answer = await page.signed_in("GET", REPORTS["category-trends"], params=params)
    if not answer.ok:
        return _refused(page, "officer/review_categories.html", answer, asked=True, **context)
    body = answer.body
    rows = [
        {
            "code": c["category_code"],
            "name": localized(c["category_name"], page.lang),
            "other": c["is_other"],
            "monthly": c["monthly"],
            "total": c["total"],
        }
        for c in body["categories"]
    ]
    shares = ["" if share is None else f"{share:.0%}" for share in body["other_share"]]
    return page.render(
        "officer/review_categories.html", refused=0, asked=True, months=body["months"], rows=rows,
        monthly_total=body["monthly_total"], monthly_other=body["monthly_other"], shares=shares,
        chart=await _trend_chart(page, body), **context,
    )  # fmt: skip


@router.get("/download/{report}")
async def download(page: Visitor, report: str, format: str = "xlsx") -> Response:  # noqa: A002 - /v1's name
    """The report as /v1 writes it (xlsx or CSV), passed on with its file name."""
    await page.officer()
    if report not in REPORTS:
        return page.render("error.html", status=404, message=page.gettext(NOT_FOUND), status_code=404)
    query = page.request.query_params
    params = {name: query[name] for name in PASSED_ON if query.get(name)}
    params["format"] = format if format in FORMATS else "xlsx"
    answer = await page.signed_in("GET", REPORTS[report], params=params)
    if not answer.ok:
        return page.problem_page(answer)
    headers = {name: answer.headers[name] for name in ("content-disposition",) if name in answer.headers}
    return page.cookies.apply(Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers))
