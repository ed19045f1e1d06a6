"""The CS cell's page (C3): the CSPGRS cases registered with the cell and not yet assigned, nearest deadline first
(`GET /v1/grievances?track=cspgrs&status=registered&order=deadline`), each with the assignment form when the officer
holds the post the case is at (casework's table, as on the case page): the post to assign it to (empty: the office
routing proposed), a note, and the time line for the office's final report. The form goes to
`POST /v1/grievances/{n}/assignment` with its Idempotency-Key; the lifecycle decides."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_common.casework import Act, CaseParties
from nivaran_gateway.web.app import PageRoute
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor
from nivaran_gateway.web.forms import PageForm, filled, read, refused, send
from nivaran_gateway.web.i18n import N_, localized
from nivaran_gateway.web.officer_view import Input, caller_of, clock_name, countdown, may
from nivaran_gateway.web.pages_dm import CHIEF_SECRETARY, OSD_CS, guarded

PREFIX = OFFICER_PREFIX + "/cell"
router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

CELL: tuple[tuple[str, ...], tuple[str, ...]] = ((OSD_CS, CHIEF_SECRETARY), ())
KOLKATA = ZoneInfo("Asia/Kolkata")
CASES_SHOWN = 100
NOT_OFFERED = N_("This case is not waiting for your assignment.")


def assignment_form(number: str) -> PageForm:
    return PageForm(
        id=f"assign-{number}", title=N_("Assign the case"), action=f"{PREFIX}/{number}/assignment",
        inputs=(
            Input("to_position_id", N_("Post to assign it to (optional)"), "text",
                  hint=N_("Empty: the office routing proposed.")),
            Input("note", N_("Note to the office")),
            Input("report_by", N_("Final report due by (optional)"), "text",
                  hint=N_("Date and time in India, for example 2026-12-10 17:00")),
        ),
        button=N_("Assign"), rule="C3", case=number, open=True,
    )  # fmt: skip


def report_by(value: str) -> str:
    """The time line as /v1 takes it: a date and time read in India's time; anything else as typed (/v1 names it)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=KOLKATA)).isoformat()


def _row(case: dict[str, Any], page: Page, form: PageForm | None) -> dict[str, Any]:
    return {
        "number": case["registration_number"], "subject": case.get("subject") or "",
        "category": localized((case.get("category") or {}).get("name"), page.lang),
        "countdown": countdown(case.get("current_deadline"), page.gettext, page.lang),
        "clock": clock_name(case.get("deadline_clock")), "form": form,
    }  # fmt: skip


async def _queue(page: Page, me: dict[str, Any]) -> list[tuple[dict[str, Any], PageForm | None]] | Response:
    params = {"track": "cspgrs", "status": "registered", "order": "deadline", "page_size": CASES_SHOWN}
    answer = await page.signed_in("GET", "/v1/grievances", params=params)
    if not answer.ok:
        return page.problem_page(answer)
    caller = caller_of(me)
    queue = []
    for case in answer.body["grievances"]:
        post = (case.get("assignment") or {}).get("position_id") or ""
        mine = case.get("status") == "registered" and may(Act.ASSIGN, caller, CaseParties(holder_position_id=post))
        queue.append((case, assignment_form(case["registration_number"]) if mine else None))
    return queue


async def _render(page: Page, me: dict[str, Any], *, chosen: PageForm | None = None, status: int = 200,
                  done: str = "") -> Response:  # fmt: skip
    queue = await _queue(page, me)
    if isinstance(queue, Response):
        return queue
    rows = [_row(case, page, chosen if chosen and form and chosen.id == form.id else form) for case, form in queue]
    return page.render("officer/cell.html", status=status, rows=rows, done=done)


@router.get("")
async def cell(page: Visitor, done: str = "") -> Response:
    """The cell's queue of cases to assign (C3)."""
    me = await guarded(page, CELL)
    if isinstance(me, Response):
        return me
    return await _render(page, me, done=done[:64])


@router.post("/{number}/assignment")
async def assign(page: Visitor, number: str) -> Response:
    """POST /v1/grievances/{n}/assignment with the form's Idempotency-Key."""
    me = await guarded(page, CELL)
    if isinstance(me, Response):
        return me
    queue = await _queue(page, me)
    if isinstance(queue, Response):
        return queue
    form = next((f for _, f in queue if f is not None and f.case == number), None)
    if form is None:
        return page.render("error.html", status=403, message=page.gettext(NOT_OFFERED), status_code=403)
    await read(page.request, form)
    body: dict[str, Any] = filled(form)
    if "report_by" in body:
        body["report_by"] = report_by(body["report_by"])
    answer = await send(page, "POST", f"/v1/grievances/{number}/assignment", body, key=form.key)
    if answer.ok:
        return page.redirect(f"{PREFIX}?done={number}")
    refused(page, form, answer)
    return await _render(page, me, chosen=form, status=answer.status)
