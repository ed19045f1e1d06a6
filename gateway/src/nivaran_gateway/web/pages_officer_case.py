"""An officer's case page: the case, its clocks and timeline, who reviews its final report now (C5), and a form for
every act the officer may take now (officer_view: casework's table asked with what /v1 answered). Each form posts here
with the Idempotency-Key made when it was rendered; the page sends the act to its /v1 route, and a refusal comes back
next to the fields it names."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from nivaran_gateway.web.app import PageRoute
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor
from nivaran_gateway.web.forms import IN_FLIGHT
from nivaran_gateway.web.i18n import N_, localized
from nivaran_gateway.web.officer_view import (
    SHOW_CAUSE_REPLY,
    ActForm,
    OfferedAct,
    caller_of,
    case_forms,
    clock_name,
    countdown,
    notices_to_answer,
)
from nivaran_gateway.web.pages_auth import form_text
from nivaran_gateway.web.pages_citizen import status_label

router = APIRouter(prefix=OFFICER_PREFIX + "/grievances", route_class=PageRoute, include_in_schema=False)

NO_SUCH_CASE = N_("We found no case with this number among those you may see.")
NOT_OFFERED = N_("This act is not yours to take on this case now.")
DONE = N_("Done: the act is recorded on the case's timeline.")
KEY = re.compile(r"[0-9a-f]{32}")


def _key(values: dict[str, str]) -> str:
    key = values.get("idempotency_key", "")
    return key if KEY.fullmatch(key) else uuid.uuid4().hex


@dataclass(frozen=True)
class CaseFacts:
    """What /v1 answered for the page: the officer, the case, its show-cause notices and its C5 reviewer."""

    me: dict[str, Any]
    case: dict[str, Any]
    notices: list[dict[str, Any]]
    # The post reviewing the final report now, as the case's clocks name it ("" when none, or when they did not answer).
    reviewer_position_id: str = ""


async def _facts(page: Page, number: str) -> CaseFacts | Response:
    """GET /v1/me, the case, its show-cause notices and its clocks; the 404 page for a case outside the officer's
    scope. Notices or clocks that do not answer only take their forms away."""
    me = await page.officer()
    case, notices, clocks = await asyncio.gather(
        page.signed_in("GET", f"/v1/grievances/{number}"),
        page.signed_in("GET", f"/v1/grievances/{number}/show-cause-notices"),
        page.signed_in("GET", f"/v1/grievances/{number}/clocks"),
    )
    if case.status in (400, 404):
        return page.render("error.html", status=404, message=page.gettext(NO_SUCH_CASE), status_code=404)
    if not case.ok:
        return page.problem_page(case)
    return CaseFacts(
        me,
        case.body,
        list(notices.body["notices"]) if notices.ok else [],
        str(clocks.body.get("reviewer_position_id") or "") if clocks.ok else "",
    )


def offered_acts(facts: CaseFacts) -> list[OfferedAct]:
    """Every act form the officer may use now, each with a fresh Idempotency-Key."""
    caller = caller_of(facts.me)
    forms = case_forms(facts.case, caller, facts.reviewer_position_id)
    offered = [OfferedAct(form, uuid.uuid4().hex) for form in forms]
    offered += [
        OfferedAct(SHOW_CAUSE_REPLY, uuid.uuid4().hex, notice) for notice in notices_to_answer(facts.notices, caller)
    ]
    return offered


def _render(
    page: Page,
    facts: CaseFacts,
    acts: list[OfferedAct],
    *,
    status: int = 200,
    done: bool = False,
) -> Response:
    case = facts.case
    assignment = case.get("assignment") or {}
    timeline = [
        {
            "when": event.get("occurred_at"),
            "text": localized(event.get("summary"), page.lang) or event["event_type"].replace("_", " "),
            "kind": event["event_type"],
        }
        for event in case.get("timeline", [])
    ]
    return page.render(
        "officer/case.html", status=status, done=done, number=case["registration_number"],
        subject=case.get("subject") or "", description=case.get("description", ""),
        category=localized(case["category"].get("name"), page.lang) or case["category"]["code"],
        status_label=status_label(case["status"]), filed_at=case.get("filed_at"),
        countdown=countdown(case.get("current_deadline"), page.gettext, page.lang),
        clock=clock_name(case.get("deadline_clock")),
        post=localized(assignment.get("position_title"), page.lang),
        office=localized(assignment.get("office_name"), page.lang),
        reviewer=facts.reviewer_position_id,
        timeline=timeline, notices=facts.notices, acts=acts,
    )  # fmt: skip


@router.get("/{number}")
async def case_page(page: Visitor, number: str, done: str = "") -> Response:
    """The case, its timeline, and a form per act the officer may take now."""
    facts = await _facts(page, number)
    if isinstance(facts, Response):
        return facts
    return _render(page, facts, offered_acts(facts), done=done == "1")


def act_body(form: ActForm, values: dict[str, str]) -> dict[str, Any]:
    """The /v1 body of an act from its form; an input left empty is left out, so /v1 names what is missing."""
    return {item.name: values[item.name] for item in form.inputs if values.get(item.name)}


async def _send(page: Page, number: str, path: str, body: dict[str, Any], key: str) -> Any:
    # A second submit of the same form while the first is still running waits for it, then answers the same.
    for _ in range(20):
        answer = await page.signed_in(
            "POST", f"/v1/grievances/{number}/{path}", json=body, headers={"Idempotency-Key": f"web-{key}"}
        )
        if answer.problem_type != IN_FLIGHT:
            return answer
        await asyncio.sleep(0.25)
    return answer


def _values(form: ActForm, posted: FormData) -> dict[str, str]:
    return {name: form_text(posted, name) for name in (*(i.name for i in form.inputs), "idempotency_key")}


@router.post("/{number}/acts/{act}")
async def take_act(page: Visitor, number: str, act: str, notice: str = "") -> Response:
    """Send one act to /v1 with the form's Idempotency-Key; back to the case, or the form with /v1's errors."""
    facts = await _facts(page, number)
    if isinstance(facts, Response):
        return facts
    offered = offered_acts(facts)
    chosen = next((o for o in offered if o.form.name == act and (o.notice.get("id", "") == notice)), None)
    if chosen is None:
        # Not offered on this page now (another's act, an ended case, a notice already answered): /v1 is not asked.
        return page.render("error.html", status=403, message=page.gettext(NOT_OFFERED), status_code=403)
    posted = await page.request.form()
    values = _values(chosen.form, posted)
    key = _key(values)
    path = chosen.form.path.format(notice=notice)
    answer = await _send(page, number, path, act_body(chosen.form, values), key)
    if answer.ok:
        return page.redirect(f"{OFFICER_PREFIX}/grievances/{number}?done=1")
    errors = page.field_messages(answer)
    chosen.key, chosen.values, chosen.errors = key, values, errors
    chosen.problem = answer.title(page.lang)
    detail = str(answer.body.get("detail", "")) if answer.is_problem else ""
    if detail and not errors:
        chosen.problem = f"{chosen.problem} ({detail})" if chosen.problem else detail
    return _render(page, facts, offered, status=answer.status)
