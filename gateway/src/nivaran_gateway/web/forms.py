"""The forms of the DM's, the secretary's, the CS cell's and the citizen's recourse pages: each names its inputs as
/v1 names the fields of the body, carries the Idempotency-Key made when it was rendered (kept when it comes back
with /v1's errors), and is sent to /v1 as it is; /v1 decides."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from nivaran_gateway.web.client import ApiAnswer
from nivaran_gateway.web.context import Page
from nivaran_gateway.web.i18n import N_
from nivaran_gateway.web.officer_view import Choice, Input
from nivaran_gateway.web.pages_auth import form_text

# /v1's answer while the first request with the same Idempotency-Key is still running.
IN_FLIGHT = "urn:nivaran:problem:idempotency-request-in-flight"
KEY = re.compile(r"[0-9a-f]{32}")
YES, NO = "yes", "no"
CHOOSE = N_("Choose")


@dataclass
class PageForm:
    """One form on a page: where it posts, its inputs, and what came back from /v1 when it was sent."""

    id: str
    title: str
    action: str
    inputs: tuple[Input, ...]
    button: str
    rule: str = ""
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    # Words shown under the title (what the form is about: a transfer's reason, a reply's text).
    detail: str = ""
    format_args: dict[str, Any] = field(default_factory=dict)
    # The case the form acts on, when it is about one (its registration number).
    case: str = ""
    # Shown unfolded (the page's only form, or the one the visitor came for).
    open: bool = False

    @property
    def names(self) -> list[str]:
        """The names of the inputs."""
        return [item.name for item in self.inputs]


def yes_no(name: str, label: str, yes: str, no: str, *, required: bool = True) -> Input:
    """A select of two answers, sent to /v1 as true or false (`as_bool`); nothing is chosen until the visitor does."""
    return Input(name, label, "select", required, choices=(Choice("", CHOOSE), Choice(YES, yes), Choice(NO, no)))


def as_bool(value: str) -> bool | None:
    """A yes/no select's answer; None when nothing was chosen (so /v1 names the field)."""
    return {YES: True, NO: False}.get(value)


async def read(request: Request, form: PageForm) -> None:
    """Put the posted values of the form's inputs and its Idempotency-Key into `form`."""
    posted = await request.form()
    form.values = {name: form_text(posted, name) for name in form.names}
    key = form_text(posted, "idempotency_key")
    form.key = key if KEY.fullmatch(key) else uuid.uuid4().hex


def filled(form: PageForm) -> dict[str, str]:
    """The inputs that are not empty; an empty one is left out, so that /v1 says what is missing."""
    return {name: value for name, value in form.values.items() if value}


def decision_body(form: PageForm) -> dict[str, Any]:
    """A decision form's /v1 body: the filled inputs, with the yes/no `approve` as a boolean (left out when not
    chosen, so that /v1 names it)."""
    body: dict[str, Any] = {name: value for name, value in filled(form).items() if name != "approve"}
    if (approve := as_bool(form.values.get("approve", ""))) is not None:
        body["approve"] = approve
    return body


async def send(page: Page, method: str, path: str, body: Any, *, key: str = "") -> ApiAnswer:
    """The act to /v1 (with `Idempotency-Key: web-<key>` when it takes one); a second submit of the same form while
    the first is still running waits for it, then answers the same."""
    headers = {"Idempotency-Key": f"web-{key}"} if key else {}
    answer = await page.signed_in(method, path, json=body, headers=headers)
    for _ in range(20):
        if answer.problem_type != IN_FLIGHT:
            break
        await asyncio.sleep(0.25)
        answer = await page.signed_in(method, path, json=body, headers=headers)
    return answer


def refused(page: Page, form: PageForm, answer: ApiAnswer) -> None:
    """/v1's refusal on the form: each named field next to its input, the rest (title and detail) on top."""
    form.errors = page.field_messages(answer)
    form.problem = answer.title(page.lang)
    detail = str(answer.body.get("detail", "")) if answer.is_problem else ""
    if detail and not form.errors:
        form.problem = f"{form.problem} ({detail})" if form.problem else detail


def has_any(me: dict[str, Any], roles: tuple[str, ...] = (), powers: tuple[str, ...] = ()) -> bool:
    """True when `GET /v1/me` names one of `roles`, or a delegated power among `powers` (S17)."""
    return bool(set(me.get("roles") or ()) & set(roles)) or bool(set(me.get("powers") or ()) & set(powers))
