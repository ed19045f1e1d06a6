"""The citizen's recourse on their case page: answer an information request (C6), give feedback on the claimed
resolution (H3), reopen an ended case, appeal a decided one (B4). Each form is offered only in the statuses in which
the case's lifecycle accepts the act (the validators of services/sla lifecycle_reports, lifecycle_recourse and
lifecycle_appeals: a question waiting; disposed or closed; disposed, closed or rejected). The page only offers: the
lifecycle still judges the window, the returns left and the stage of appeal, and its refusal (409 naming the
case's state, or 422 naming a field) is shown on the form."""

from __future__ import annotations

from typing import Any

from nivaran_gateway.web.forms import PageForm, as_bool, yes_no
from nivaran_gateway.web.i18n import N_
from nivaran_gateway.web.officer_view import Choice, Input

ANSWER_INFO, FEEDBACK, REOPEN, APPEAL = "info-response", "feedback", "reopen", "appeal"
# Act → the statuses in which the lifecycle takes it, and its /v1 route under /v1/grievances/{n}/.
OFFERED_WHEN: dict[str, tuple[frozenset[str], str]] = {
    ANSWER_INFO: (frozenset({"awaiting_citizen"}), "info-responses"),
    FEEDBACK: (frozenset({"disposed", "closed"}), "feedback"),
    REOPEN: (frozenset({"disposed", "closed"}), "reopen"),
    APPEAL: (frozenset({"disposed", "closed", "rejected"}), "appeals"),
}
RATINGS = (
    Choice("", N_("Choose")),
    Choice("5", N_("5: very good")),
    Choice("4", N_("4: good")),
    Choice("3", N_("3: fair")),
    Choice("2", N_("2: poor")),
    Choice("1", N_("1: very poor")),
)
APPEAL_KINDS = (
    Choice("first", N_("First appeal")),
    Choice("second", N_("Second appeal")),
    Choice("revision", N_("Revision")),
)


def recourse_form(act: str, number: str) -> PageForm:
    """The form of one recourse act on the case `number`."""
    action = f"/app/grievances/{number}/recourse/{act}"
    if act == ANSWER_INFO:
        inputs: tuple[Input, ...] = (Input("response", N_("Your answer"), required=True),)
        return PageForm(ANSWER_INFO, N_("Answer the officer's question"), action, inputs, N_("Send the answer"), "C6")
    if act == FEEDBACK:
        inputs = (
            Input("rating", N_("How was the officer's work?"), "select", True, choices=RATINGS),
            yes_no("resolved", N_("Was your grievance fixed?"), N_("Yes, it is fixed"), N_("No, it is not fixed")),
            Input("comment", N_("Comment")),
        )
        return PageForm(FEEDBACK, N_("Give feedback"), action, inputs, N_("Send the feedback"), "H3")
    if act == REOPEN:
        inputs = (Input("reason", N_("Why it is not fixed"), required=True),)
        return PageForm(REOPEN, N_("Reopen the case"), action, inputs, N_("Reopen"), "")
    inputs = (
        Input("kind", N_("Appeal"), "select", True, choices=APPEAL_KINDS),
        Input("grounds", N_("Why the decision is wrong"), required=True),
    )
    return PageForm(APPEAL, N_("Appeal the decision"), action, inputs, N_("File the appeal"), "B4")


def offered(case: dict[str, Any]) -> list[PageForm]:
    """The recourse forms the case's status allows now."""
    return [
        recourse_form(act, case["registration_number"])
        for act, (statuses, _) in OFFERED_WHEN.items()
        if case.get("status") in statuses
    ]


def body_of(form: PageForm) -> dict[str, Any]:
    """The /v1 body; inputs left empty are left out, so /v1 names what is missing."""
    values: dict[str, Any] = {name: value for name, value in form.values.items() if value}
    if "rating" in values:
        values["rating"] = int(values["rating"]) if values["rating"].isdigit() else values["rating"]
    if "resolved" in values:
        resolved = as_bool(values.pop("resolved"))
        if resolved is not None:
            values["resolved"] = resolved
    return values
