"""What an officer's pages show, computed from what /v1 answered: the time left on a deadline, the clock's name, and
the act forms the officer may use now.

Which acts a caller may do is nivaran_common.casework's table, the one the case's lifecycle checks (and the gateway
with it): the page asks it with the posts the token names (`GET /v1/me`) and the posts the case's answers name (the
post the case is at, the post a show-cause notice names, the post reviewing the final report as the case's clocks
name it, C5). /v1 has no "acts allowed now" answer, so the page only offers; the lifecycle still decides, and its
refusal (403, or 409 naming the case's state) is shown on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from babel.units import format_unit

from nivaran_common.casework import Act, Caller, CaseParties, NotPermitted, check_act
from nivaran_gateway.web.i18n import N_, Lang

# Statuses in which a case has ended: its holder's acts (report, dispose, forward, ask) no longer apply.
ENDED = frozenset({"disposed", "rejected", "closed"})

# The policies' clock ids (policies/*.yaml) as the officer reads them; an unknown id is shown as it is.
CLOCK_NAMES = {
    "l1_forward": N_("L1 acts or forwards within 3 days"),
    "first_show_cause": N_("Dispose or report action within 10 days"),
    "dm_visibility": N_("Pending over 10 days shows in the DM's login"),
    "status_update": N_("Updated status after 20 days"),
    "second_show_cause": N_("Second show-cause on day 21"),
    "interim_order": N_("Final disposal by interim order on day 30"),
    "sanction": N_("Not finally disposed in 30 days"),
    "dm_review_of_reply": N_("DM reviews the show-cause reply and recommends within 1 day"),
    "commissioner_action": N_("Commissioner acts on the DM's recommendation within 1 day"),
    "camp_final_disposal": N_("Final disposal within 30 days of receipt"),
    "incomplete_information_notice": N_("Notice for missing information within 7 days"),
    "transfer_intimation": N_("Complainant told of a transfer within 7 days"),
    "decision": N_("Decision within 60 working days"),
    "appeal_decision": N_("The appellate authority decides within 30 days"),
    "register_and_assign": N_("Register and assign within 1 hour"),
    "preliminary_reminder": N_("Reminder for the preliminary report"),
    "final_report_reminder": N_("Reminder for the final report"),
    "information_reminder": N_("Reminder to the complainant for the information asked"),
    "preliminary_report": N_("Preliminary report within 24 hours"),
    "final_report": N_("Final report within 72 hours"),
    "final_review": N_("Review of the final report within 1 working day"),
    "osd_to_chief_secretary": N_("Not disposed 72 hours after reaching the OSD"),
    "forward_to_designated_officer": N_("Nodal officer forwards to the designated officer"),
    "interim_reply": N_("Call the citizen and upload an interim reply within 30 days"),
}

TIME_LEFT = N_("%(time)s left")
OVERDUE_BY = N_("overdue by %(time)s")
NO_DEADLINE = N_("no deadline running")


def clock_name(clock: str | None) -> str:
    """The untranslated name of a clock (the template translates it); "" for none."""
    if not clock:
        return ""
    return CLOCK_NAMES.get(clock, clock.replace("_", " "))


def _span(seconds: float, lang: Lang) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "duration-day"), (hours, "duration-hour")] if days else [(hours, "duration-hour")]
    if not days and not hours:
        parts = [(max(minutes, 1), "duration-minute")]
    return " ".join(format_unit(n, unit, length="long", locale=lang) for n, unit in parts if n)


@dataclass(frozen=True)
class Countdown:
    """The time to a deadline, as words in the page's language."""

    text: str
    overdue: bool
    deadline: str | None


def countdown(deadline: str | None, gettext: Any, lang: Lang, now: datetime | None = None) -> Countdown:
    """ "3 days 4 hours left" or "overdue by 2 days 1 hour", computed now (server-side)."""
    if not deadline:
        return Countdown(gettext(NO_DEADLINE), False, None)
    left = (datetime.fromisoformat(deadline) - (now or datetime.now(UTC))).total_seconds()
    if left >= 0:
        return Countdown(gettext(TIME_LEFT) % {"time": _span(left, lang)}, False, deadline)
    return Countdown(gettext(OVERDUE_BY) % {"time": _span(-left, lang)}, True, deadline)


@dataclass(frozen=True)
class Choice:
    """One option of a select: the value /v1 takes and its untranslated label."""

    value: str
    label: str


@dataclass(frozen=True)
class Input:
    """One input of an act form, named as /v1 names the field of the act's body."""

    name: str
    label: str
    kind: str = "textarea"  # textarea, text or select
    required: bool = False
    hint: str = ""
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class ActForm:
    """An act of the officer's, its /v1 route (under /v1/grievances/{n}/) and its inputs."""

    name: str
    title: str
    path: str
    act: Act
    inputs: tuple[Input, ...]
    button: str
    rule: str = ""


ACT_FORMS: dict[str, ActForm] = {
    form.name: form
    for form in (
        ActForm(
            "report", N_("Report on the case"), "reports", Act.REPORT,
            (
                Input("kind", N_("Kind of report"), "select", True, choices=(
                    Choice("action_taken", N_("Action-taken report (S9)")),
                    Choice("status_update", N_("Status update (S11)")),
                    Choice("preliminary", N_("Preliminary report (C4)")),
                    Choice("final", N_("Final report (C4)")),
                )),
                Input("action_taken", N_("Action taken"), required=True),
            ),
            N_("Submit the report"), "S9",
        ),
        ActForm(
            "disposal", N_("Dispose of the case"), "disposal", Act.DISPOSE,
            (
                Input("kind", N_("How it ends"), "select", True, choices=(
                    Choice("resolved", N_("Resolved")),
                    Choice("rejected", N_("Rejected (S15)")),
                )),
                Input("action_taken", N_("Action taken (when resolved)")),
                Input("ground", N_("Ground (when rejected)"), "select", choices=(
                    Choice("", N_("Choose")),
                    Choice("subject", N_("Not this office's subject")),
                    Choice("area", N_("Outside this office's area")),
                    Choice("competence", N_("Beyond this office's competence")),
                )),
                Input("reason", N_("Reason (when rejected)")),
            ),
            N_("Dispose of the case"), "S15",
        ),
        ActForm(
            "info-request", N_("Ask the complainant for information"), "info-requests", Act.REQUEST_INFORMATION,
            (Input("question", N_("Your question"), required=True),),
            N_("Send the question"), "C6",
        ),
        ActForm(
            "forward", N_("Forward to a post below yours"), "forward", Act.REPORT,
            (
                Input("to_position_id", N_("Post to forward to"), "text", True,
                      hint=N_("The post's id, for example POS-FOOD-PAT-SADAR-PHULWARI-BSO")),
                Input("note", N_("Note")),
            ),
            N_("Forward the case"), "S8",
        ),
        # The rule is shown after the title, so the heading reads "Review the final report (C5)".
        ActForm(
            "review", N_("Review the final report"), "reviews", Act.REVIEW,
            (
                Input("decision", N_("Decision"), "select", True, choices=(
                    Choice("forward", N_("Forward to the next reviewer")),
                    Choice("return", N_("Return for more information")),
                    Choice("close", N_("Accept and close the case (CS cell)")),
                )),
                Input("note", N_("Note"), hint=N_("Say why when you forward or return the report")),
            ),
            N_("Send the review"), "C5",
        ),
    )
}  # fmt: skip
SHOW_CAUSE_REPLY = ActForm(
    "show-cause-reply", N_("Reply to show-cause notice %(number)s"), "show-cause-notices/{notice}/reply",
    Act.SHOW_CAUSE_REPLY, (Input("reply", N_("Your reply"), required=True),), N_("Send the reply"), "S9",
)  # fmt: skip


@dataclass
class OfferedAct:
    """An act form on the case page: which act, for which notice, with its Idempotency-Key made at render."""

    form: ActForm
    key: str
    notice: dict[str, Any] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str = ""

    @property
    def id(self) -> str:
        """The form's id on the page (a notice's reply form per notice)."""
        return f"{self.form.name}-{self.notice['id']}" if self.notice else self.form.name

    @property
    def action(self) -> str:
        """Where the form posts (the page's own route; it calls /v1)."""
        suffix = f"?notice={self.notice['id']}" if self.notice else ""
        return f"acts/{self.form.name}{suffix}"


def caller_of(me: dict[str, Any]) -> Caller:
    """The caller as `GET /v1/me` names them (from the verified token)."""
    return Caller(
        account_id=str(me.get("account_id") or ""),
        kind=str(me.get("kind") or ""),
        position_ids=tuple(me.get("positions") or ()),
        district_code=str(me.get("district") or ""),
        acting_for_account_id=str(me.get("acting_for") or ""),
        roles=tuple(me.get("roles") or ()),
    )


def may(act: Act, caller: Caller, parties: CaseParties) -> bool:
    """True when casework's table lets `caller` do `act` on the case."""
    try:
        check_act(act, caller, parties)
    except NotPermitted:
        return False
    return True


def case_forms(case: dict[str, Any], caller: Caller, reviewer_position_id: str = "") -> list[ActForm]:
    """The act forms the caller may use on the case now: the holder's when they hold the post the case is at, the
    review (C5) when they hold the post reviewing its final report; none once the case has ended."""
    if case.get("status") in ENDED:
        return []
    post = (case.get("assignment") or {}).get("position_id") or ""
    parties = CaseParties(holder_position_id=post, reviewer_position_id=reviewer_position_id)
    return [form for form in ACT_FORMS.values() if may(form.act, caller, parties)]


def notices_to_answer(notices: list[dict[str, Any]], caller: Caller) -> list[dict[str, Any]]:
    """The show-cause notices without a reply that name a post the caller holds."""
    return [
        notice
        for notice in notices
        if not notice.get("replied_at")
        and may(Act.SHOW_CAUSE_REPLY, caller, CaseParties("", notice_position_id=notice["position_id"]))
    ]
