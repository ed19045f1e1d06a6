"""The citizen's recourse acts from their case page (recourse_forms): each form posts here with the Idempotency-Key
made when it was rendered, and goes to its /v1 route (`POST /v1/grievances/{n}/info-responses`, `/feedback`,
`/reopen`, `/appeals`); back to the case with a notice, or the case page with /v1's errors next to the fields."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from nivaran_gateway.web import recourse_forms
from nivaran_gateway.web.app import PREFIX, PageRoute
from nivaran_gateway.web.context import Visitor
from nivaran_gateway.web.forms import read, refused, send
from nivaran_gateway.web.i18n import N_
from nivaran_gateway.web.pages_citizen import read_case, render_case

router = APIRouter(prefix=PREFIX + "/grievances", route_class=PageRoute, include_in_schema=False)

NOT_NOW = N_("Your case does not take this step now.")


@router.post("/{number}/recourse/{act}")
async def recourse(page: Visitor, number: str, act: str) -> Response:
    """One recourse act, if the case's status offers it now; /v1 (the case's lifecycle) decides."""
    view = await read_case(page, number)
    if isinstance(view, Response):
        return view
    forms = recourse_forms.offered(view)
    form = next((f for f in forms if f.id == act), None)
    if form is None:
        # Not offered now (the case is open, or the question was answered): /v1 is not asked.
        return page.render("error.html", status=409, message=page.gettext(NOT_NOW), status_code=409)
    await read(page.request, form)
    _, path = recourse_forms.OFFERED_WHEN[act]
    answer = await send(page, "POST", f"/v1/grievances/{number}/{path}", recourse_forms.body_of(form), key=form.key)
    if answer.ok:
        return page.redirect(f"{PREFIX}/grievances/{number}?done=1")
    refused(page, form, answer)
    form.open = True
    return render_case(page, view, [form if f.id == form.id else f for f in forms], status=answer.status)
