"""The review page of a DM, a department's secretary or the CS cell (issue 12): the figures of GET /v1/dashboard, the
table of GET /v1/reports/pending-by-age by office or by officer, its Excel and CSV downloads, and a bar chart of the
age buckets (charts.py). /v1 decides who may read what (review_scope.py); its refusal is shown on the page."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_gateway.web.app import PageRoute
from nivaran_gateway.web.charts import bar_chart_spec, render_svg
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor
from nivaran_gateway.web.i18n import N_, localized

router = APIRouter(prefix=OFFICER_PREFIX + "/review", route_class=PageRoute, include_in_schema=False)

GROUPINGS = ("office", "officer")
FORMATS = {"xlsx", "csv"}
BUCKETS = (
    ("days_0_10", N_("0-10 days")),
    ("days_10_20", N_("10-20 days")),
    ("days_20_30", N_("20-30 days")),
    ("days_over_30", N_("Over 30 days")),
)
FIGURES = (
    ("total", N_("All cases")),
    ("pending", N_("Pending")),
    ("disposed", N_("Disposed")),
    ("overdue", N_("Past their deadline")),
    ("closed_not_fixed", N_("Closed, not fixed (came back)")),
)
CHART_X = N_("Age since filing")
CHART_Y = N_("Open cases")
CHART_LABEL = N_("Bar chart of the open cases by age since filing; the same figures are in the table.")
NOTHING_OPEN = N_("No case is open.")


def _scope(district_code: str, department_code: str) -> dict[str, str]:
    """The remit asked for; empty values are left out, so /v1 applies the caller's own."""
    return {
        name: value for name, value in (("district_code", district_code), ("department_code", department_code)) if value
    }


def _rows(report: dict[str, Any], page: Page) -> list[dict[str, Any]]:
    rows = []
    for row in [*report["rows"], report["totals"]]:
        rows.append(
            {
                "office": localized(row.get("office_name"), page.lang),
                "officer": localized(row.get("position_title"), page.lang),
                "buckets": [row[name] for name, _ in BUCKETS],
                "total": row["total"],
                "overdue": row["overdue"],
            }
        )
    return rows


@router.get("")
async def review(page: Visitor, by: str = "office", district_code: str = "", department_code: str = "") -> Response:
    """The review meeting's page: figures, pending by age (by office or by officer), downloads, the chart."""
    await page.officer()
    by = by if by in GROUPINGS else "office"
    scope = _scope(district_code.strip().upper(), department_code.strip().upper())
    board, report = await asyncio.gather(
        page.signed_in("GET", "/v1/dashboard", params=scope),
        page.signed_in("GET", "/v1/reports/pending-by-age", params={**scope, "by": by}),
    )
    context: dict[str, Any] = {
        "by": by, "district_code": scope.get("district_code", ""), "department_code": scope.get("department_code", ""),
        "switch": {g: "?" + urlencode({**scope, "by": g}) for g in GROUPINGS},
        "downloads": {
            f: f"{OFFICER_PREFIX}/review/pending-by-age?" + urlencode({**scope, "by": by, "format": f}) for f in FORMATS
        },
        "buckets": [label for _, label in BUCKETS],
    }  # fmt: skip
    refused = next((answer for answer in (board, report) if not answer.ok), None)
    if refused is not None:
        return page.render(
            "officer/review.html", status=refused.status, problem=refused.title(page.lang), refused=refused.status,
            figures=[], rows=[], chart="", **context,
        )  # fmt: skip
    figures = [(label, board.body.get(name, 0)) for name, label in FIGURES]
    totals = report.body["totals"]
    chart = ""
    if totals["total"]:
        bars = [(page.gettext(label), int(totals[name])) for name, label in BUCKETS]
        spec = bar_chart_spec(
            bars, x_title=page.gettext(CHART_X), y_title=page.gettext(CHART_Y), description=page.gettext(CHART_LABEL)
        )
        chart = await render_svg(spec, page.gettext(CHART_LABEL))
    return page.render(
        "officer/review.html", figures=figures, rows=_rows(report.body, page), chart=chart, refused=0,
        as_of=report.body.get("as_of"), remit=board.body.get("district_code") or board.body.get("department_code"),
        **context,
    )  # fmt: skip


@router.get("/pending-by-age")
async def download(
    page: Visitor,
    by: str = "office",
    format: str = "xlsx",  # noqa: A002 - the query parameter's name, as /v1 names it
    district_code: str = "",
    department_code: str = "",
) -> Response:
    """The report as /v1 writes it (xlsx or CSV), passed on with its file name."""
    await page.officer()
    params = {
        **_scope(district_code.strip().upper(), department_code.strip().upper()),
        "by": by if by in GROUPINGS else "office",
        "format": format if format in FORMATS else "xlsx",
    }
    answer = await page.signed_in("GET", "/v1/reports/pending-by-age", params=params)
    if not answer.ok:
        return page.problem_page(answer)
    headers = {name: answer.headers[name] for name in ("content-disposition",) if name in answer.headers}
    return page.cookies.apply(Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers))
