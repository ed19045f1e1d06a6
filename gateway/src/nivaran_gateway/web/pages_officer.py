"""An officer's pages: sign-in by password (and the authenticator's code when the login has one), the inbox of cases
nearest deadline first, the show-cause notices to answer, and the in-app notices. Each reads and writes through /v1.
The case page and its acts are pages_officer_case.py's."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_gateway.web.app import PageRoute
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor, local_path
from nivaran_gateway.web.i18n import N_, localized
from nivaran_gateway.web.officer_view import caller_of, clock_name, countdown, notices_to_answer
from nivaran_gateway.web.pages_auth import form_text
from nivaran_gateway.web.pages_citizen import status_label

router = APIRouter(prefix=OFFICER_PREFIX, route_class=PageRoute, include_in_schema=False)

WRONG_LOGIN = N_("The username or password is wrong.")
CODE_NEEDED = N_("Your login needs the code from your authenticator app.")
WRONG_CODE = N_("The code is wrong or was used already. Wait for the next one.")
TOTP_REQUIRED = "totp_required"
TOTP_INVALID = "totp_invalid"
# The inbox and the show-cause list read this many of the officer's cases, nearest deadline first.
CASES_SHOWN = 100


@router.get("/signin")
async def signin_form(page: Visitor, next: str = "") -> Response:  # noqa: A002
    """Username, password and, when the login has one, the authenticator's code."""
    return page.render("officer/signin.html", username="", next=local_path(next, OFFICER_PREFIX))


@router.post("/signin")
async def sign_in(page: Visitor) -> Response:
    """POST /v1/auth/login; the tokens go into the same HttpOnly cookies as a citizen's, with a fresh session id."""
    form = await page.request.form()
    username, back = form_text(form, "username"), local_path(form_text(form, "next"), OFFICER_PREFIX)
    body: dict[str, Any] = {"username": username, "password": form_text(form, "password")}
    if totp := form_text(form, "totp"):
        body["totp"] = totp
    answer = await page.anonymous("POST", "/v1/auth/login", json=body)
    if not answer.ok:
        errors = page.field_messages(answer)
        detail = str((answer.body or {}).get("detail", "")) if answer.is_problem else ""
        if answer.status == 401 and TOTP_REQUIRED in detail:
            errors["totp"] = page.gettext(CODE_NEEDED)
        elif answer.status == 401 and TOTP_INVALID in detail:
            errors["totp"] = page.gettext(WRONG_CODE)
        elif answer.status == 401:
            errors["password"] = page.gettext(WRONG_LOGIN)
        return page.render(
            "officer/signin.html", status=answer.status, username=username, next=back, errors=errors,
            problem=answer.title(page.lang),
        )  # fmt: skip
    page.cookies.keep_tokens(
        answer.body["access_token"], answer.body["refresh_token"], answer.body.get("access_expires_at")
    )
    page.cookies.new_sid()
    return page.redirect(back)


def case_row(case: dict[str, Any], page: Page) -> dict[str, Any]:
    """A case of the inbox: number, category, status, the countdown to its deadline and the clock's name."""
    assignment = case.get("assignment") or {}
    return {
        "number": case["registration_number"],
        "subject": case.get("subject") or "",
        "category": localized(case["category"].get("name"), page.lang) or case["category"]["code"],
        "status": status_label(case["status"]),
        "countdown": countdown(case.get("current_deadline"), page.gettext, page.lang),
        "clock": clock_name(case.get("deadline_clock")),
        "post": localized(assignment.get("position_title"), page.lang),
    }


async def my_cases(page: Page) -> list[dict[str, Any]] | Response:
    """The officer's cases nearest deadline first (GET /v1/grievances?order=deadline), or the problem page."""
    params = {"order": "deadline", "page_size": CASES_SHOWN}
    answer = await page.signed_in("GET", "/v1/grievances", params=params)
    if not answer.ok:
        return page.problem_page(answer)
    return list(answer.body["grievances"])


@router.get("")
async def inbox(page: Visitor) -> Response:
    """The officer's cases, nearest deadline first, each with the time left (or overdue) and the clock's rule."""
    await page.officer()
    cases = await my_cases(page)
    if isinstance(cases, Response):
        return cases
    return page.render("officer/inbox.html", cases=[case_row(case, page) for case in cases])


@router.get("/show-causes")
async def show_causes(page: Visitor) -> Response:
    """The show-cause notices naming a post the officer holds, not yet answered: each case's notices from /v1."""
    me = await page.officer()
    cases = await my_cases(page)
    if isinstance(cases, Response):
        return cases
    numbers = [case["registration_number"] for case in cases]
    answers = await asyncio.gather(
        *(page.signed_in("GET", f"/v1/grievances/{number}/show-cause-notices") for number in numbers)
    )
    caller = caller_of(me)
    notices = [
        notice for answer in answers if answer.ok for notice in notices_to_answer(answer.body["notices"], caller)
    ]
    notices.sort(key=lambda n: n.get("due_by") or "")
    shown = [{**notice, "countdown": countdown(notice.get("due_by"), page.gettext, page.lang)} for notice in notices]
    return page.render("officer/show_causes.html", notices=shown)


@router.get("/notices")
async def notices(page: Visitor) -> Response:
    """The officer's in-app notices, newest first, read or unread (S16)."""
    await page.officer()
    answer = await page.signed_in("GET", "/v1/me/notices", params={"page_size": CASES_SHOWN})
    if not answer.ok:
        return page.problem_page(answer)
    shown = [
        {
            "id": notice["id"],
            "number": notice.get("registration_number") or "",
            "subject": localized(notice.get("subject"), page.lang),
            "body": localized(notice.get("body"), page.lang),
            "created_at": notice.get("created_at"),
            "read_at": notice.get("read_at"),
        }
        for notice in answer.body["notices"]
    ]
    return page.render("officer/notices.html", notices=shown)


@router.post("/notices/{notice_id}/read")
async def mark_read(page: Visitor, notice_id: str) -> Response:
    """POST /v1/me/notices/{id}/read (S16: the read is recorded), then back to the notices."""
    await page.officer()
    answer = await page.signed_in("POST", f"/v1/me/notices/{notice_id}/read")
    if not answer.ok:
        return page.problem_page(answer)
    return page.redirect(f"{OFFICER_PREFIX}/notices")
