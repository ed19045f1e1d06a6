"""The DM's pages (issue 12): the district's page of links, the moderator queue of transfers (S5) with approve and
return, the officers' registration requests (S6) with approve and reject, and delegation to the Sahyog-cell nodal
officer (S17). Each reads and acts through /v1 (GET and POST /v1/transfer-queue, /v1/officers/registrations,
GET, POST and DELETE /v1/delegations). A page is shown to those whose token (GET /v1/me) names the role or the delegated
power its /v1 route admits; /v1 still decides, and its refusal comes back on the form. The show-cause replies and
the breach records are pages_dm_review.py's."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_gateway.web.app import PageRoute
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor
from nivaran_gateway.web.forms import PageForm, decision_body, filled, has_any, read, refused, send, yes_no
from nivaran_gateway.web.i18n import N_
from nivaran_gateway.web.officer_view import Choice, Input
from nivaran_gateway.web.pages_auth import form_text

DM_PREFIX = OFFICER_PREFIX + "/dm"
# The cases whose numbers the queue and the breach records can show (GET /v1/grievances' largest page).
CASES_NAMED = 200
router = APIRouter(prefix=DM_PREFIX, route_class=PageRoute, include_in_schema=False)

NOT_YOURS = N_("This page is for the officers who hold its powers: the DM, or those the DM delegated them to.")
NO_SUCH_ITEM = N_("We found nothing with this id that you may decide.")
DONE = N_("Done: the decision is recorded.")

# Who sees which page (the roles and delegated powers its /v1 route admits, nivaran_common.auth's names).
DM, SECRETARY, COMMISSIONER, OSD_CS, CHIEF_SECRETARY = "DM", "SECRETARY", "COMMISSIONER", "OSD_CS", "CHIEF_SECRETARY"
MODERATE, DECIDE_REGISTRATIONS, READ_DISTRICT = "transfers.decide", "registrations.decide", "grievances.read_district"
MODERATORS = ((DM,), (MODERATE,))
REGULATORS = ((DM,), (DECIDE_REGISTRATIONS,))
DELEGATORS: tuple[tuple[str, ...], tuple[str, ...]] = ((DM, SECRETARY), ())
REPLY_REVIEWERS: tuple[tuple[str, ...], tuple[str, ...]] = ((DM, COMMISSIONER), ())
MONITORS: tuple[tuple[str, ...], tuple[str, ...]] = ((DM, SECRETARY, OSD_CS, CHIEF_SECRETARY), ())
# The district's page: its links, each shown to whom its page admits.
LINKS = (
    ("transfers", N_("Transfer requests (moderator queue)"), MODERATORS),
    ("registrations", N_("Officer registration requests"), REGULATORS),
    ("delegations", N_("Delegation to the nodal officer"), DELEGATORS),
    ("show-causes", N_("Show-cause replies to review"), REPLY_REVIEWERS),
    ("breaches", N_("Breach records"), MONITORS),
)
POWERS = (
    Choice(DECIDE_REGISTRATIONS, N_("Decide officer registrations (S6)")),
    Choice(MODERATE, N_("Decide transfer requests (S5)")),
    Choice(READ_DISTRICT, N_("Read the district's cases")),
)


async def case_numbers(page: Page) -> dict[str, str]:
    """Case id → registration number for the cases of the officer's scope (the first 200, nearest deadline first):
    the transfer queue and the breach records name a case by its id. A case not among them is shown by its id."""
    listed = await page.signed_in("GET", "/v1/grievances", params={"order": "deadline", "page_size": CASES_NAMED})
    return {case["id"]: case["registration_number"] for case in listed.body["grievances"]} if listed.ok else {}


async def guarded(page: Page, who: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, Any] | Response:
    """GET /v1/me; a 403 page without asking /v1 further when the token names none of the page's roles or powers."""
    me = await page.officer()
    if not has_any(me, *who):
        return page.render("error.html", status=403, message=page.gettext(NOT_YOURS), status_code=403)
    return me


@router.get("")
async def district(page: Visitor) -> Response:
    """Links to the DM's pages the officer may open, and to the review dashboard."""
    me = await guarded(page, ((DM, SECRETARY, COMMISSIONER, OSD_CS, CHIEF_SECRETARY), (MODERATE, DECIDE_REGISTRATIONS)))
    if isinstance(me, Response):
        return me
    links = [(f"{DM_PREFIX}/{path}", label) for path, label, who in LINKS if has_any(me, *who)]
    return page.render("officer/dm.html", links=links)


# --- transfers (S5) -------------------------------------------------------------------------------------------------


def transfer_form(transfer: dict[str, Any]) -> PageForm:
    """Approve (naming the receiving post when routing cannot choose it) or return, with a note."""
    return PageForm(
        id=f"transfer-{transfer['id']}",
        title=N_("Transfer to department %(department)s"),
        format_args={"department": transfer["to_department_code"]},
        action=f"{DM_PREFIX}/transfers/{transfer['id']}/decision",
        inputs=(
            yes_no("approve", N_("Decision"), N_("Approve the transfer"), N_("Return it to the officer")),
            Input("to_position_id", N_("Receiving post (optional)"), "text",
                  hint=N_("Empty: the other department's post that routing chooses.")),
            Input("note", N_("Note")),
        ),
        button=N_("Record the decision"), rule="S5", detail=transfer.get("reason") or "", open=True,
    )  # fmt: skip


async def _transfers(
    page: Page, *, chosen: PageForm | None = None, status: int = 200, done: bool = False, page_token: str = ""
) -> Response:
    asked = {"state": "pending", **({"page_token": page_token} if page_token else {})}
    answer, numbers = await asyncio.gather(
        page.signed_in("GET", "/v1/transfer-queue", params=asked), case_numbers(page)
    )
    if not answer.ok:
        return page.problem_page(answer)
    rows = []
    for transfer in answer.body["transfers"]:
        form = transfer_form(transfer)
        number = numbers.get(transfer["grievance_id"], "")
        shown = chosen if chosen and chosen.id == form.id else form
        rows.append({"transfer": transfer, "number": number, "form": shown})
    return page.render(
        "officer/dm_transfers.html", status=status, rows=rows, done=done,
        next_page_token=answer.body.get("next_page_token") or "",
    )  # fmt: skip


@router.get("/transfers")
async def transfers(page: Visitor, done: str = "", page_token: str = "") -> Response:
    """The district's pending transfer requests, oldest first, 50 to a page, each with its decision form."""
    me = await guarded(page, MODERATORS)
    if isinstance(me, Response):
        return me
    return await _transfers(page, done=done == "1", page_token=page_token)


@router.post("/transfers/{transfer_id}/decision")
async def decide_transfer(page: Visitor, transfer_id: str) -> Response:
    """POST /v1/transfer-queue/{id}/decision; an approval moves the case (once per transfer, however often sent)."""
    me = await guarded(page, MODERATORS)
    if isinstance(me, Response):
        return me
    form = transfer_form({"id": transfer_id, "to_department_code": "", "reason": ""})
    await read(page.request, form)
    body = decision_body(form)
    answer = await send(page, "POST", f"/v1/transfer-queue/{transfer_id}/decision", body)
    if answer.ok:
        return page.redirect(f"{DM_PREFIX}/transfers?done=1")
    if answer.status == 404:
        return page.render("error.html", status=404, message=page.gettext(NO_SUCH_ITEM), status_code=404)
    refused(page, form, answer)
    return await _transfers(page, chosen=form, status=answer.status)


# --- registrations (S6) ---------------------------------------------------------------------------------------------


def registration_form(registration: dict[str, Any]) -> PageForm:
    """Approve or reject an officer's registration request, with a note."""
    return PageForm(
        id=f"registration-{registration['id']}",
        title=N_("Registration of %(name)s"),
        format_args={"name": registration.get("name") or ""},
        action=f"{DM_PREFIX}/registrations/{registration['id']}/decision",
        inputs=(
            yes_no("approve", N_("Decision"), N_("Approve the login"), N_("Reject the request")),
            Input("note", N_("Note")),
        ),
        button=N_("Record the decision"), rule="S6", open=True,
    )  # fmt: skip


async def _registrations(
    page: Page, *, chosen: PageForm | None = None, status: int = 200, done: bool = False, page_token: str = ""
) -> Response:
    asked = {"state": "pending", **({"page_token": page_token} if page_token else {})}
    answer = await page.signed_in("GET", "/v1/officers/registrations", params=asked)
    if not answer.ok:
        return page.problem_page(answer)
    rows = []
    for registration in answer.body["registrations"]:
        form = registration_form(registration)
        rows.append({"registration": registration, "form": chosen if chosen and chosen.id == form.id else form})
    return page.render(
        "officer/dm_registrations.html", status=status, rows=rows, done=done,
        next_page_token=answer.body.get("next_page_token") or "",
    )  # fmt: skip


@router.get("/registrations")
async def registrations(page: Visitor, done: str = "", page_token: str = "") -> Response:
    """The district's pending registration requests, oldest first, 50 to a page, each with its decision form."""
    me = await guarded(page, REGULATORS)
    if isinstance(me, Response):
        return me
    return await _registrations(page, done=done == "1", page_token=page_token)


@router.post("/registrations/{registration_id}/decision")
async def decide_registration(page: Visitor, registration_id: str) -> Response:
    """POST /v1/officers/registrations/{id}/decision."""
    me = await guarded(page, REGULATORS)
    if isinstance(me, Response):
        return me
    form = registration_form({"id": registration_id})
    await read(page.request, form)
    body = decision_body(form)
    answer = await send(page, "POST", f"/v1/officers/registrations/{registration_id}/decision", body)
    if answer.ok:
        return page.redirect(f"{DM_PREFIX}/registrations?done=1")
    if answer.status == 404:
        return page.render("error.html", status=404, message=page.gettext(NO_SUCH_ITEM), status_code=404)
    refused(page, form, answer)
    return await _registrations(page, chosen=form, status=answer.status)


# --- delegations (S17) ----------------------------------------------------------------------------------------------


def delegate_form() -> PageForm:
    """Delegate one power to the Sahyog-cell nodal officer's account (one form per power keeps it simple)."""
    return PageForm(
        id="delegate", title=N_("Delegate a power to the nodal officer"), action=f"{DM_PREFIX}/delegations",
        inputs=(
            Input("delegate_account_id", N_("The nodal officer's account id"), "text", True),
            Input("powers", N_("Power"), "select", True, choices=POWERS),
        ),
        button=N_("Delegate"), rule="S17", open=True,
    )  # fmt: skip


REVOKE_WHICH = N_("Please give the delegation's id.")


async def _delegations(
    page: Page,
    form: PageForm | None = None,
    *,
    status: int = 200,
    problem: str = "",
    page_token: str = "",
    **shown: Any,
) -> Response:
    """The delegation form and the delegations the officer gave, newest first, in force or revoked (GET
    /v1/delegations?include_revoked=true), each in force with its revoke button."""
    asked = {"include_revoked": "true", **({"page_token": page_token} if page_token else {})}
    answer = await page.signed_in("GET", "/v1/delegations", params=asked)
    if not answer.ok:
        return page.problem_page(answer)
    labels = {choice.value: choice.label for choice in POWERS}
    rows = [
        {**delegation, "power_labels": [labels.get(p, p) for p in delegation["powers"]]}
        for delegation in answer.body["delegations"]
    ]
    return page.render(
        "officer/dm_delegations.html", status=status, forms=[form or delegate_form()], delegations=rows,
        problem=problem, next_page_token=answer.body.get("next_page_token") or "", **shown,
    )  # fmt: skip


@router.get("/delegations")
async def delegations(page: Visitor, created: str = "", revoked: str = "", page_token: str = "") -> Response:
    """Delegate a power (S17); the delegations given, each in force with a button to revoke it."""
    me = await guarded(page, DELEGATORS)
    if isinstance(me, Response):
        return me
    return await _delegations(page, created=created[:128], revoked=revoked[:128], page_token=page_token[:512])


@router.post("/delegations")
async def delegate(page: Visitor) -> Response:
    """POST /v1/delegations; the new delegation's id is shown, for revoking it later."""
    me = await guarded(page, DELEGATORS)
    if isinstance(me, Response):
        return me
    form = delegate_form()
    await read(page.request, form)
    body: dict[str, Any] = filled(form)
    if "powers" in body:
        body["powers"] = [body["powers"]]
    answer = await send(page, "POST", "/v1/delegations", body)
    if answer.ok:
        return page.redirect(f"{DM_PREFIX}/delegations?created={answer.body['id']}")
    refused(page, form, answer)
    return await _delegations(page, form, status=answer.status, created="", revoked="")


@router.post("/delegations/revoke")
async def revoke(page: Visitor) -> Response:
    """DELETE /v1/delegations/{id} for the row's button; identity checks that the officer gave it."""
    me = await guarded(page, DELEGATORS)
    if isinstance(me, Response):
        return me
    delegation_id = form_text(await page.request.form(), "delegation_id")
    if not delegation_id:
        return await _delegations(page, status=422, problem=page.gettext(REVOKE_WHICH), created="", revoked="")
    answer = await send(page, "DELETE", f"/v1/delegations/{quote(delegation_id, safe='')}", None)
    if answer.ok:
        return page.redirect(f"{DM_PREFIX}/delegations?revoked={quote(delegation_id, safe='')}")
    detail = str(answer.body.get("detail", "")) if answer.is_problem else ""
    problem = " ".join(part for part in (answer.title(page.lang), f"({detail})" if detail else "") if part)
    return await _delegations(page, status=answer.status, problem=problem, created="", revoked="")
