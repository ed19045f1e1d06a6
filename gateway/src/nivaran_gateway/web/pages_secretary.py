"""A department secretary's page (H4): the department's categories, retired ones included, with forms to create,
rename, merge and retire them, and the share of the department's filings that went to its "Other" category. Reads
`GET /v1/categories?department_code=&include_retired=true` and `GET /v1/departments/{code}/other-share`; acts
through `POST /v1/categories`, `PATCH /v1/categories/{code}` and `POST /v1/categories/{code}/merge`. The secretary
names the department (as on the review page); /v1 refuses anyone but that department's secretary."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_gateway.web.app import NOT_FOUND, PageRoute
from nivaran_gateway.web.context import OFFICER_PREFIX, Page, Visitor
from nivaran_gateway.web.forms import PageForm, as_bool, read, refused, send, yes_no
from nivaran_gateway.web.i18n import N_, localized
from nivaran_gateway.web.officer_view import Choice, Input
from nivaran_gateway.web.pages_dm import CHIEF_SECRETARY, OSD_CS, SECRETARY, guarded

PREFIX = OFFICER_PREFIX + "/categories"
router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

ANALYSTS: tuple[tuple[str, ...], tuple[str, ...]] = ((SECRETARY, OSD_CS, CHIEF_SECRETARY), ())
CODE = re.compile(r"[A-Z0-9_-]{1,64}")
TRACKS = (
    Choice("", N_("Choose")),
    Choice("sahyog", N_("Sahyog (district)")),
    Choice("cspgrs", N_("CSPGRS (the CS cell)")),
    Choice("bpgra", N_("Bihar Public Grievance Redressal Act")),
    Choice("rts_auto_appeal", N_("Right to Service (automatic appeal)")),
    Choice("sahyog_camp", N_("Sahyog camp")),
)
NAME_INPUTS = (
    Input("name.hi", N_("Name in Hindi"), "text", True),
    Input("name.en", N_("Name in English"), "text", True),
)


def _department(value: str) -> str:
    value = value.strip().upper()
    return value if CODE.fullmatch(value) else ""


def _action(path: str, department: str) -> str:
    return f"{PREFIX}{path}?" + urlencode({"department_code": department})


def create_form(department: str) -> PageForm:
    return PageForm(
        id="create", title=N_("Add a category"), action=_action("/new", department),
        inputs=(
            Input("code", N_("Code"), "text", True,
                  hint=N_("Capital letters, digits and dashes, e.g. REVENUE-MUTATION-DELAY")),
            *NAME_INPUTS,
            Input("default_track", N_("Track"), "select", True, choices=TRACKS),
            yes_no("is_other", N_("Is this the department's \"Other\" category?"), N_("Yes"), N_("No"), required=False),
            Input("service_time_limit_days", N_("Service time limit in days (0: none)"), "text"),
        ),
        button=N_("Add the category"), rule="H4",
    )  # fmt: skip


def category_forms(
    category: dict[str, Any], others: list[dict[str, Any]], department: str, lang: Any
) -> list[PageForm]:
    """Rename, merge others into it, and retire: for a category not retired."""
    if category.get("retired"):
        return []
    code, name = category["code"], category.get("name") or {}
    rename = PageForm(
        id=f"rename-{code}", title=N_("Rename"), action=_action(f"/{code}/rename", department), inputs=NAME_INPUTS,
        button=N_("Rename"), rule="H4", values={"name.hi": name.get("hi", ""), "name.en": name.get("en", "")},
    )  # fmt: skip
    sources = tuple(Choice(o["code"], f"{o['code']}: {localized(o.get('name'), lang)}") for o in others)
    forms = [rename]
    if sources:
        merge = Input("source_codes", N_("Category to merge into this one"), "select", True,
                      choices=(Choice("", N_("Choose")), *sources))  # fmt: skip
        forms.append(PageForm(
            id=f"merge-{code}", title=N_("Merge another category into this one"),
            action=_action(f"/{code}/merge", department), inputs=(merge,), button=N_("Merge"), rule="H4",
        ))  # fmt: skip
    forms.append(PageForm(
        id=f"retire-{code}", title=N_("Retire"), action=_action(f"/{code}/retire", department), inputs=(),
        button=N_("Retire this category"), rule="H4",
        detail=N_("Old cases keep it; new filings can no longer choose it."),
    ))  # fmt: skip
    return forms


async def _render(page: Page, department: str, *, chosen: PageForm | None = None, status: int = 200,
                  done: bool = False) -> Response:  # fmt: skip
    me = page.me
    if not department:
        return page.render("officer/categories.html", status=status, department="", rows=[], forms=[], share=None,
                           refused=0, done=False)  # fmt: skip
    listed, share = await asyncio.gather(
        page.signed_in("GET", "/v1/categories", params={"department_code": department, "include_retired": "true"}),
        page.signed_in("GET", f"/v1/departments/{department}/other-share"),
    )
    if not listed.ok:
        return page.problem_page(listed)
    categories = listed.body["categories"]
    may_change = SECRETARY in (me.get("roles") or ()) and share.ok

    def pick(form: PageForm) -> PageForm:
        return chosen if chosen is not None and chosen.id == form.id else form

    rows = []
    for category in categories:
        others = [c for c in categories if c["code"] != category["code"] and not c.get("retired")]
        forms = [pick(f) for f in category_forms(category, others, department, page.lang)] if may_change else []
        rows.append({"category": category, "name": localized(category.get("name"), page.lang), "forms": forms})
    return page.render(
        "officer/categories.html", status=status, department=department, rows=rows, done=done,
        forms=[pick(create_form(department))] if may_change else [], share=share.body if share.ok else None,
        refused=0 if share.ok else share.status, problem="" if share.ok else share.title(page.lang),
    )  # fmt: skip


@router.get("")
async def categories(page: Visitor, department_code: str = "", done: str = "") -> Response:
    """The department's categories and its "Other" share; the forms for its secretary."""
    me = await guarded(page, ANALYSTS)
    if isinstance(me, Response):
        return me
    return await _render(page, _department(department_code), done=done == "1")


def _name(values: dict[str, str]) -> dict[str, str]:
    return {lang: values[f"name.{lang}"] for lang in ("hi", "en") if values.get(f"name.{lang}")}


async def _act(page: Page, department: str, form: PageForm, method: str, path: str, body: Any) -> Response:
    answer = await send(page, method, path, body)
    if answer.ok:
        return page.redirect(f"{PREFIX}?" + urlencode({"department_code": department, "done": "1"}))
    refused(page, form, answer)
    form.open = True
    return await _render(page, department, chosen=form, status=answer.status)


@router.post("/new")
async def create(page: Visitor, department_code: str = "") -> Response:
    """POST /v1/categories."""
    me = await guarded(page, ANALYSTS)
    if isinstance(me, Response):
        return me
    department = _department(department_code)
    form = create_form(department)
    await read(page.request, form)
    values = form.values
    body: dict[str, Any] = {"department_code": department, "name": _name(values)}
    if values.get("code"):
        body["code"] = values["code"]
    if values.get("default_track"):
        body["default_track"] = values["default_track"]
    if (is_other := as_bool(values.get("is_other", ""))) is not None:
        body["is_other"] = is_other
    if days := values.get("service_time_limit_days"):
        body["service_time_limit_days"] = int(days) if days.isdigit() else days
    return await _act(page, department, form, "POST", "/v1/categories", body)


@router.post("/{code}/{change}")
async def change(page: Visitor, code: str, change: str, department_code: str = "") -> Response:
    """rename and retire: PATCH /v1/categories/{code}; merge: POST /v1/categories/{code}/merge."""
    me = await guarded(page, ANALYSTS)
    if isinstance(me, Response):
        return me
    department = _department(department_code)
    listed = await page.signed_in("GET", "/v1/categories", params={"department_code": department})
    known = listed.body["categories"] if listed.ok else []
    category = next((c for c in known if c["code"] == code), None)
    forms = category_forms(category, [c for c in known if c["code"] != code], department, page.lang) if category else []
    form = next((f for f in forms if f.id == f"{change}-{code}"), None)
    if form is None:
        return page.render("error.html", status=404, message=page.gettext(NOT_FOUND),
                           status_code=404)  # fmt: skip
    await read(page.request, form)
    if change == "merge":
        sources = [form.values["source_codes"]] if form.values.get("source_codes") else []
        return await _act(page, department, form, "POST", f"/v1/categories/{code}/merge", {"source_codes": sources})
    body: dict[str, Any] = {"retired": True} if change == "retire" else {"name": _name(form.values)}
    return await _act(page, department, form, "PATCH", f"/v1/categories/{code}", body)
