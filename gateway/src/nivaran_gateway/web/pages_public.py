"""Public pages, no sign-in (issue 12, item 3): a district's league table of offices (M5's fair measure, with a flag
for open cases past their deadline; GET /v1/public/league-table) and an office's Form-4 hearing notice board
(GET /v1/offices/{office_id}/notice-board). Both call /v1 without a token, whoever is signed in: what they show is
the same for everyone, offices and counts, no person."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from babel.dates import format_date, get_day_names
from fastapi import APIRouter, Path
from fastapi.responses import Response

from nivaran_gateway.web.app import PREFIX, PageRoute
from nivaran_gateway.web.context import Page, Visitor
from nivaran_gateway.web.i18n import N_, Lang, localized

router = APIRouter(prefix=PREFIX + "/public", route_class=PageRoute, include_in_schema=False)

LEAGUE_API = "/v1/public/league-table"
FORMATS = ("xlsx", "csv")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STAGES = {
    "complaint": N_("Complaint"),
    "first": N_("First appeal"),
    "second": N_("Second appeal"),
    "revision": N_("Revision"),
}
STATUSES = {"scheduled": N_("Scheduled"), "heard": N_("Heard"), "adjourned": N_("Adjourned")}
OFFICE_CODE = re.compile(r"[A-Za-z0-9_.:-]+")
OfficeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def day(value: str, lang: Lang) -> str:
    """A calendar day from /v1 (`YYYY-MM-DD`, a day in India) as the page's language writes it."""
    try:
        return format_date(date.fromisoformat(value), "EEEE, d MMMM y", locale=lang)
    except ValueError:
        return value


def weekday(name: str | None, lang: Lang) -> str:
    """An office's weekly hearing day (`wednesday`) in the page's language; "" when not fixed."""
    if name not in WEEKDAYS:
        return ""
    return str(get_day_names("wide", locale=lang)[WEEKDAYS.index(name)])


def _league_rows(body: dict[str, Any], page: Page) -> list[dict[str, Any]]:
    return [
        {
            "rank": row.get("rank"),
            "board": f"{PREFIX}/public/offices/{quote(row['office_id'], safe='')}/notice-board",
            "office": localized(row.get("office_name"), page.lang),
            "ended": row["ended"],
            "within_time": row["within_time"],
            "not_fixed": row["not_fixed"],
            "score": "" if row.get("score") is None else f"{row['score']:.2f}",
            "overdue": bool(row["overdue"]),
            "open_overdue": row["open_overdue"],
            "open_over_30_days": row["open_over_30_days"],
        }
        for row in body["rows"]
    ]


async def _districts(page: Page) -> list[dict[str, str]]:
    answer = await page.anonymous("GET", "/v1/areas", params={"level": "district"})
    if not answer.ok:
        return []
    return [{"code": a["code"], "name": localized(a.get("name"), page.lang)} for a in answer.body.get("areas", [])]


@router.get("/league")
async def league(page: Visitor, district_code: str = "", month: str = "") -> Response:
    """The league table of a district's offices for a month, the overdue flags, the downloads."""
    district, month = district_code.strip().upper(), month.strip()
    context: dict[str, Any] = {
        "districts": await _districts(page), "district_code": district, "month": month, "rows": [], "downloads": {},
        "report": None, "problem_status": 0,
    }  # fmt: skip
    if not district:
        return page.render("public/league.html", **context)
    params = {"district_code": district, **({"month": month} if month else {})}
    answer = await page.anonymous("GET", LEAGUE_API, params=params)
    if not answer.ok:
        return page.render(
            "public/league.html", status=answer.status, problem=answer.title(page.lang),
            errors=page.field_messages(answer), **{**context, "problem_status": answer.status},
        )  # fmt: skip
    report = answer.body
    chosen = {"district_code": report["district_code"], "month": report["month"]}
    context.update(
        month=report["month"],
        report=report,
        rows=_league_rows(report, page),
        downloads={f: f"{LEAGUE_API}?" + urlencode({**chosen, "format": f}) for f in FORMATS},
    )
    return page.render("public/league.html", **context)


@router.get("/notice-board")
async def find_notice_board(page: Visitor, office_id: str = "") -> Response:
    """The home page's form: to the notice board of the office named (back home when none is)."""
    office = office_id.strip()
    if not office or len(office) > 64 or not OFFICE_CODE.fullmatch(office):
        return page.redirect(PREFIX)
    return page.redirect(f"{PREFIX}/public/offices/{quote(office, safe='')}/notice-board")


@router.get("/offices/{office_id}/notice-board")
async def notice_board(page: Visitor, office_id: OfficeId) -> Response:
    """An office's Form-4 notice board: its weekly hearing day and the hearings to come, no complainant named."""
    answer = await page.anonymous("GET", f"/v1/offices/{quote(office_id, safe='')}/notice-board")
    if not answer.ok:
        return page.problem_page(answer)
    board = answer.body
    hearings = [
        {
            "registration_number": h["registration_number"],
            "day": day(h["held_on"], page.lang),
            "at": h["at"],
            "venue": localized(h.get("venue"), page.lang),
            "stage": STAGES.get(h["stage"], h["stage"]),
            "status": STATUSES.get(h["status"], h["status"]),
            "hearing_officer": localized(h.get("hearing_officer"), page.lang),
            "public_authority": localized(h.get("public_authority"), page.lang),
        }
        for h in board["hearings"]
    ]
    return page.render(
        "public/notice_board.html",
        office=localized(board["office"].get("name"), page.lang),
        hearing_day=weekday(board["office"].get("hearing_day"), page.lang),
        hearings=hearings,
    )
