"""The DM's review of show-cause replies (S18) and the breach records, as pages: the replies to recommend on (the DM)
and the recommendations to act on (the Divisional Commissioner), each with its form, read from the show-cause
notices of the cases in the officer's scope (`GET /v1/grievances`, then each case's notices, as the officer's own
show-cause page does); and `GET /v1/breaches`. Each act goes to its /v1 route with the form's Idempotency-Key."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_gateway.web.app import PageRoute
from nivaran_gateway.web.context import Page, Visitor
from nivaran_gateway.web.forms import PageForm, filled, read, refused, send
from nivaran_gateway.web.i18n import N_
from nivaran_gateway.web.officer_view import Choice, Input
from nivaran_gateway.web.pages_dm import (
    COMMISSIONER,
    DM,
    DM_PREFIX,
    MONITORS,
    REPLY_REVIEWERS,
    case_numbers,
    guarded,
)

router = APIRouter(prefix=DM_PREFIX, route_class=PageRoute, include_in_schema=False)

# The page reads this many of the officer's cases, nearest deadline first (as the officer's show-cause page).
CASES_READ = 100
NOT_OFFERED = N_("This notice has no act for you now.")
RULES = {
    "S8": N_("L1 did not act or forward within 3 days"),
    "S13": N_("Not finally disposed in 30 days"),
    "S18": N_("The show-cause review was late"),
}


def recommendation_form(notice: dict[str, Any]) -> PageForm:
    """S18: the DM's recommendation on the reply."""
    return PageForm(
        id=f"recommendation-{notice['id']}", title=N_("Recommend on the reply to notice %(number)s"),
        format_args={"number": notice.get("number", "")},
        action=f"{DM_PREFIX}/show-causes/{notice['registration_number']}/{notice['id']}/recommendation",
        inputs=(Input("recommendation", N_("Your recommendation"), required=True),),
        button=N_("Send the recommendation"), rule="S18", detail=notice.get("reply") or "",
        case=notice["registration_number"],
    )  # fmt: skip


def commissioner_form(notice: dict[str, Any]) -> PageForm:
    """S18: the Commissioner acts on the DM's recommendation, or forwards it."""
    return PageForm(
        id=f"commissioner-action-{notice['id']}", title=N_("Act on the DM's recommendation on notice %(number)s"),
        format_args={"number": notice.get("number", "")},
        action=f"{DM_PREFIX}/show-causes/{notice['registration_number']}/{notice['id']}/commissioner-action",
        inputs=(
            Input("decision", N_("Decision"), "select", True, choices=(
                Choice("", N_("Choose")), Choice("act", N_("Act on it")),
                Choice("forward", N_("Forward to the competent authority")),
            )),
            Input("note", N_("Note")),
        ),
        button=N_("Record the action"), rule="S18", detail=notice.get("recommendation") or "",
        case=notice["registration_number"],
    )  # fmt: skip


def forms_for(me: dict[str, Any], notice: dict[str, Any]) -> list[PageForm]:
    """The form a notice offers the officer now: the DM's recommendation on a reply not yet recommended on, the
    Commissioner's action on a recommendation. /v1 (the lifecycle) still decides whose act it is."""
    roles = set(me.get("roles") or ())
    if not notice.get("replied_at"):
        return []
    if DM in roles and not notice.get("recommended_at"):
        return [recommendation_form(notice)]
    if COMMISSIONER in roles and notice.get("recommended_at"):
        return [commissioner_form(notice)]
    return []


async def _offered(page: Page, me: dict[str, Any]) -> list[PageForm] | Response:
    listed = await page.signed_in("GET", "/v1/grievances", params={"order": "deadline", "page_size": CASES_READ})
    if not listed.ok:
        return page.problem_page(listed)
    numbers = [case["registration_number"] for case in listed.body["grievances"]]
    answers = await asyncio.gather(
        *(page.signed_in("GET", f"/v1/grievances/{number}/show-cause-notices") for number in numbers)
    )
    return [form for answer in answers if answer.ok for n in answer.body["notices"] for form in forms_for(me, n)]


async def _replies(page: Page, me: dict[str, Any], *, chosen: PageForm | None = None, status: int = 200,
                   done: bool = False) -> Response:  # fmt: skip
    offered = await _offered(page, me)
    if isinstance(offered, Response):
        return offered
    forms = [chosen if chosen and chosen.id == form.id else form for form in offered]
    return page.render("officer/dm_show_causes.html", status=status, forms=forms, done=done)


@router.get("/show-causes")
async def replies(page: Visitor, done: str = "") -> Response:
    """The show-cause replies waiting for the DM's recommendation (and, for a Commissioner, the recommendations)."""
    me = await guarded(page, REPLY_REVIEWERS)
    if isinstance(me, Response):
        return me
    return await _replies(page, me, done=done == "1")


@router.post("/show-causes/{number}/{notice_id}/{act}")
async def review_reply(page: Visitor, number: str, notice_id: str, act: str) -> Response:
    """POST /v1/grievances/{n}/show-cause-notices/{id}/recommendation or …/commissioner-action."""
    me = await guarded(page, REPLY_REVIEWERS)
    if isinstance(me, Response):
        return me
    offered = await _offered(page, me)
    if isinstance(offered, Response):
        return offered
    form = next((f for f in offered if f.id == f"{act}-{notice_id}" and f.case == number), None)
    if form is None:
        # Not offered now (another's act, a reply already recommended on): /v1 is not asked.
        return page.render("error.html", status=403, message=page.gettext(NOT_OFFERED), status_code=403)
    await read(page.request, form)
    path = f"/v1/grievances/{number}/show-cause-notices/{notice_id}/{act}"
    answer = await send(page, "POST", path, filled(form), key=form.key)
    if answer.ok:
        return page.redirect(f"{DM_PREFIX}/show-causes?done=1")
    refused(page, form, answer)
    form.open = True
    return await _replies(page, me, chosen=form, status=answer.status)


@router.get("/breaches")
async def breaches(page: Visitor, district_code: str = "", rule: str = "", page_token: str = "") -> Response:
    """GET /v1/breaches: the DM's district, a secretary's posts, the state for the CS cell (a district to narrow); a
    page of 50 at a time, with a link to the older ones."""
    me = await guarded(page, MONITORS)
    if isinstance(me, Response):
        return me
    params = {name: value for name, value in (("district_code", district_code.strip().upper()),
                                               ("rule", rule.strip().upper())) if value}  # fmt: skip
    asked = {**params, **({"page_token": page_token} if page_token else {})}
    answer, numbers = await asyncio.gather(page.signed_in("GET", "/v1/breaches", params=asked), case_numbers(page))
    if not answer.ok:
        errors = page.field_messages(answer)
        return page.render(
            "officer/dm_breaches.html", status=answer.status, rows=[], problem=answer.title(page.lang),
            errors=errors, refused=answer.status, district_code=params.get("district_code", ""),
            rule=params.get("rule", ""),
        )  # fmt: skip
    rows = [
        {
            "rule": b["rule"], "what": RULES.get(b["rule"], ""), "when": b.get("recorded_at"),
            "post": b["position_id"], "case": b["grievance_id"], "number": numbers.get(b["grievance_id"], ""),
            "details": ", ".join(f"{k}: {v}" for k, v in sorted((b.get("details") or {}).items())),
        }
        for b in answer.body["breaches"]
    ]  # fmt: skip
    following = answer.body.get("next_page_token") or ""
    return page.render(
        "officer/dm_breaches.html", rows=rows, refused=0, district_code=params.get("district_code", ""),
        rule=params.get("rule", ""), next_page_token=following,
        next_query=urlencode({**params, "page_token": following}),
    )  # fmt: skip
