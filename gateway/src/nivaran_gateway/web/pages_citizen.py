"""A citizen's pages: my cases, file a grievance, and one case with its timeline. Each reads and writes through /v1."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from nivaran_gateway.web import recourse_forms
from nivaran_gateway.web.app import PREFIX, PageRoute
from nivaran_gateway.web.context import Page, Visitor
from nivaran_gateway.web.forms import IN_FLIGHT, PageForm
from nivaran_gateway.web.i18n import N_, Lang, localized
from nivaran_gateway.web.pages_auth import form_text

router = APIRouter(prefix=PREFIX + "/grievances", route_class=PageRoute, include_in_schema=False)

NO_SUCH_CASE = N_("We found no case with this number among yours.")
KEY = re.compile(r"[0-9a-f]{32}")

STATUS_LABELS = {
    "registered": N_("Registered"),
    "assigned": N_("With the officer"),
    "in_progress": N_("Being acted on"),
    "awaiting_citizen": N_("Waiting for you"),
    "escalated": N_("Escalated to a senior officer"),
    "disposed": N_("Disposed"),
    "rejected": N_("Rejected"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "under_appeal": N_("Under appeal"),
    "pending_transfer": N_("Being transferred"),
    "unresolved": N_("Unresolved"),
}
COMPLAINANT_FIELDS = ("name", "address", "phone", "email")
LOCATION_FIELDS = ("district_code", "subdivision_code", "block_code")
# The inputs of the filing form, named as /v1 names the fields, so that a problem's `field` finds its input.
FORM_FIELDS = (
    *(f"complainant.{name}" for name in COMPLAINANT_FIELDS),
    "subject",
    "description",
    "category_code",
    *(f"location.{name}" for name in LOCATION_FIELDS),
    "file",
)


def status_label(status: str) -> str:
    """The untranslated label of a status (the template translates it)."""
    return STATUS_LABELS.get(status, status.replace("_", " "))


def _summary(case: dict[str, Any], lang: Lang) -> dict[str, Any]:
    return {
        "number": case["registration_number"],
        "category": localized(case["category"].get("name"), lang) or case["category"]["code"],
        "status": status_label(case["status"]),
        "deadline": case.get("current_deadline"),
    }


@router.get("")
async def my_cases(page: Visitor) -> Response:
    """The citizen's cases, newest first: number, category, status and the next deadline."""
    await page.citizen()
    answer = await page.signed_in("GET", "/v1/grievances", params={"page_size": 50})
    if not answer.ok:
        return page.problem_page(answer)
    cases = [_summary(case, page.lang) for case in answer.body["grievances"]]
    return page.render("grievances.html", cases=cases)


async def _choices(page: Page, values: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    """The categories and the location pickers' options (children of what is already chosen)."""
    # With the citizen's token these public reads count per account, not per (often shared, carrier-NAT) address.
    token = page.cookies.access
    categories = await page.api.call("GET", "/v1/categories", token=token)
    queries = {"district_code": {"level": "district"}}
    if values.get("location.district_code"):
        queries["subdivision_code"] = {"parent_code": values["location.district_code"]}
    if values.get("location.subdivision_code"):
        queries["block_code"] = {"parent_code": values["location.subdivision_code"]}
    answers = await asyncio.gather(
        *(page.api.call("GET", "/v1/areas", params=q, token=token) for q in queries.values())
    )
    options: dict[str, list[dict[str, str]]] = {name: [] for name in LOCATION_FIELDS}
    for name, answer in zip(queries, answers, strict=True):
        if answer.ok:
            areas = answer.body["areas"]
            options[name] = [{"code": a["code"], "name": localized(a.get("name"), page.lang)} for a in areas]
    options["category_code"] = [
        {"code": c["code"], "name": localized(c.get("name"), page.lang) or c["code"]}
        for c in (categories.body or {}).get("categories", [])
        if categories.ok and not c.get("retired")
    ]
    return options


async def _form(
    page: Page, values: dict[str, str], errors: dict[str, str], *, status: int = 200, problem: str = ""
) -> Response:
    key = values.get("idempotency_key") or uuid.uuid4().hex
    shown_elsewhere = {name: message for name, message in errors.items() if name not in FORM_FIELDS}
    return page.render(
        "file.html", status=status, values=values, errors=errors, other_errors=shown_elsewhere,
        options=await _choices(page, values), idempotency_key=key, problem=problem,
    )  # fmt: skip


@router.get("/new")
async def new_grievance(page: Visitor) -> Response:
    """The filing form; its Idempotency-Key is made now, so that submitting it twice files once."""
    await page.citizen()
    return await _form(page, {}, {})


def filing_body(form: FormData, lang: Lang) -> dict[str, Any]:
    """The /v1 filing from the form; empty inputs are left out, so /v1 names what is missing."""
    complainant: dict[str, Any] = {
        name: value for name in COMPLAINANT_FIELDS if (value := form_text(form, f"complainant.{name}"))
    }
    complainant["preferred_language"] = lang
    body: dict[str, Any] = {
        "complainant": complainant,
        "location": {name: value for name in LOCATION_FIELDS if (value := form_text(form, f"location.{name}"))},
        "channel": "web",
    }
    for name in ("subject", "description", "category_code"):
        if value := form_text(form, name):
            body[name] = value
    return body


async def _file(page: Page, body: dict[str, Any], key: str) -> Any:
    # A second submit of the same form while the first is still being filed waits for it, then shows the same case.
    for _ in range(20):
        answer = await page.signed_in("POST", "/v1/grievances", json=body, headers={"Idempotency-Key": f"web-{key}"})
        if answer.problem_type != IN_FLIGHT:
            return answer
        await asyncio.sleep(0.25)
    return answer


@router.post("/new")
async def file_grievance(page: Visitor) -> Response:
    """File through /v1 (with the form's Idempotency-Key), attach the file if one was chosen, then show the case."""
    await page.citizen()
    form = await page.request.form()
    values = {name: form_text(form, name) for name in (*FORM_FIELDS, "idempotency_key") if name != "file"}
    key = values["idempotency_key"] if KEY.fullmatch(values["idempotency_key"]) else uuid.uuid4().hex
    values["idempotency_key"] = key
    answer = await _file(page, filing_body(form, page.lang), key)
    if not answer.ok:
        errors = page.field_messages(answer)
        return await _form(page, values, errors, status=answer.status, problem=answer.title(page.lang))
    number = answer.body["registration_number"]
    upload = form.get("file")
    attached = ""
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        if content:
            sent = await page.signed_in(
                "POST", f"/v1/grievances/{number}/attachments",
                files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
                data={"purpose": "filing"}, headers={"Idempotency-Key": f"web-{key}-file"},
            )  # fmt: skip
            attached = "&attachment=" + ("ok" if sent.ok else "failed")
    return page.redirect(f"{PREFIX}/grievances/{number}?filed=1{attached}")


async def read_case(page: Page, number: str) -> dict[str, Any] | Response:
    """GET /v1/grievances/{n} as the signed-in citizen; the 404 page for a case that is not theirs."""
    await page.citizen()
    answer = await page.signed_in("GET", f"/v1/grievances/{number}")
    if answer.status in (400, 404):
        return page.render("error.html", status=404, message=page.gettext(NO_SUCH_CASE), status_code=404)
    if not answer.ok:
        return page.problem_page(answer)
    view: dict[str, Any] = answer.body
    return view


def render_case(
    page: Page, view: dict[str, Any], forms: list[PageForm], *, status: int = 200, **shown: Any
) -> Response:
    """The case page: status, next deadline, the timeline, and the recourse forms its status allows."""
    timeline = [
        {
            "when": event.get("occurred_at"),
            "text": localized(event.get("summary"), page.lang) or event["event_type"].replace("_", " "),
            "kind": event["event_type"],
        }
        for event in view.get("timeline", [])
    ]
    assignment = view.get("assignment") or {}
    context = {"just_filed": False, "attachment": "", "done": False, **shown}
    return page.render(
        "case.html", status=status, case=_summary(view, page.lang), subject=view.get("subject") or "",
        description=view.get("description", ""), filed_at=view.get("filed_at"),
        officer=localized(assignment.get("position_title"), page.lang),
        office=localized(assignment.get("office_name"), page.lang),
        timeline=timeline, forms=forms, **context,
    )  # fmt: skip


@router.get("/{number}")
async def case(page: Visitor, number: str, filed: str = "", attachment: str = "", done: str = "") -> Response:
    """One case: status, next deadline and the timeline in plain words, in the page's language; the recourse its
    status allows (recourse_forms)."""
    view = await read_case(page, number)
    if isinstance(view, Response):
        return view
    return render_case(
        page, view, recourse_forms.offered(view), just_filed=filed == "1", attachment=attachment, done=done == "1"
    )
