"""The citizen's recourse after a case ends (issue 10): reopening, the H3 feedback loop, and the M4 watch.

A track whose policy has a `recourse` section keeps the case's lifecycle after the case is disposed or closed, for
the policy's window. Meanwhile:
- the senior officer (the DM above the case) is told at once that the officer claims the grievance resolved, and
  the call centre sees the case in its call-back list (H3);
- the complainant may rate the disposal, and the call centre records its call (outcome, the recording's
  reference, comments): the `feedback` act. Feedback that says the grievance was not fixed marks the case
  **unresolved**;
- the complainant may **reopen** the case, with a reason: the `reopen` act.
Either way the case returns to the post it ended at, on the same registration number, with every clock that starts
on assignment started afresh (show-cause clocks included), the officer told, and the return on the timeline;
at most `max_returns` times (after that, feedback is still recorded within the window, and the complainant is
pointed to an appeal). Intake counts such a case as "closed — not fixed", apart from the resolved ones.

The officer may also put the ended case under **watch** (M4: an encroachment case is registered, its removal is
pending): the lifecycle then stays open past the window, reminding the officer at the policy's interval, until the
officer's report ends the watch; intake keeps the open item, which the DM lists.

Runs in the sandbox and is replayed: only deterministic workflow APIs.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import Act
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.case_inputs import (
        AtrAcceptanceInput,
        CallOutcome,
        FeedbackInput,
        FeedbackSource,
        ReopenInput,
        WatchInput,
        WatchReportInput,
    )
    from nivaran_sla.clocks import elapsed_deadline
    from nivaran_sla.domain import (
        UPDATE_ACCEPT_ATR,
        UPDATE_CLOSE_WATCH,
        UPDATE_FEEDBACK,
        UPDATE_OPEN_WATCH,
        UPDATE_REOPEN,
        CaseStatus,
        LifecycleState,
        Localized,
        RoleInput,
    )
    from nivaran_sla.lifecycle_base import EFFECT_FAILED, TERMINAL, LifecycleBase
    from nivaran_sla.lifecycle_notices import citizen_notice, officer_notice

# Cases whose lifecycle ended with the case replay that way; newer ones wait out the policy's recourse window.
RECOURSE_PATCH = "recourse-v1"
# The endings a complainant may contest; a rejection (S15) is answered by appeal, not by reopening.
CONTESTABLE = frozenset({CaseStatus.DISPOSED, CaseStatus.CLOSED})
SENIOR_ROLE = "DM"


class RecourseActs(LifecycleBase):
    """The lifecycle's Updates after a case ends, and the wait for them."""

    async def _recourse(self) -> bool:
        """After the case ended: tell the senior officer (H3), then wait out the recourse window and any open watch
        item (M4, reminding its officer at the policy's interval). True when the clocks need the timer loop again
        (the case came back to its officer, or an act after the ending started a clock, such as the DM's review of a
        late show-cause reply), False when the window is over and no watch is open."""
        end = self._window_end()
        if end is None and not self._s.watch_item:
            return False
        claimed = self._s.status is not CaseStatus.REJECTED  # a rejection claims no resolution (H3)
        if end is not None and claimed and self._s.announced_returns != self._s.returns:
            self._s.announced_returns = self._s.returns
            await self._tell_senior_officer()
        engine = self._s.engine
        while True:
            if self._s.status not in TERMINAL or (engine is not None and engine.next_due() is not None):
                return True
            now = workflow.now()
            wakes = [end] if end is not None and now < end else []
            if self._s.watch_item and self._s.watch_next_reminder is not None:
                if self._s.watch_next_reminder <= now:
                    await self._remind_watch()
                    continue
                wakes.append(self._s.watch_next_reminder)
            if not wakes:
                return False
            self._s.wake = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._s.wake or self._s.status not in TERMINAL,
                    timeout=(min(wakes) - now).total_seconds(),
                )

    def _window_end(self) -> datetime | None:
        """When the complainant's recourse after the ending runs out: the policy's window after a disposal or
        closure, and (B4) after a rejection on a track with appeals, which is appealed but not reopened."""
        policy = self._s.policy
        if policy is None or policy.recourse is None or self._s.disposed_at is None:
            return None
        rejected = self._s.status is CaseStatus.REJECTED and self._s.rejection_appealable
        if self._s.status not in CONTESTABLE and not rejected:
            return None
        return elapsed_deadline(self._s.disposed_at, policy.recourse.window)

    def _returns_left(self) -> int:
        policy = self._s.policy
        return 0 if policy is None or policy.recourse is None else policy.recourse.max_returns - self._s.returns

    async def _tell_senior_officer(self) -> None:
        """H3: the officer's claim of resolution goes at once to the senior officer, who sees the feedback come in."""
        case = self._s.case
        try:
            senior = await self.activity(LifecycleActivities.resolve_role, RoleInput(self._s.position_id, SENIOR_ROLE))
        except EFFECT_FAILED:
            senior = None
        if senior is None:
            return
        self._s.senior_position_id = senior.position_id
        round_key = f"{workflow.info().workflow_id}:resolution_claimed:{self._s.returns}"
        await self.send(
            officer_notice(
                case,
                senior.position_id,
                "sla_notice",
                round_key,
                Localized(
                    en="An officer reports a grievance resolved (H3)", hi="पदाधिकारी ने शिकायत का निवारण बताया (H3)"
                ),
                Localized(
                    en="The complainant's rating and the call centre's call show on the case as they come in; "
                    "accept the action-taken report when satisfied.",
                    hi="शिकायतकर्ता की रेटिंग और कॉल सेंटर की कॉल का विवरण आते ही मामले पर दिखेगा; संतुष्ट होने पर "
                    "कृत प्रतिवेदन स्वीकार करें।",
                ),
                "H3",
                kind="resolution_claimed",
            )
        )

    # -- reopen -------------------------------------------------------------------------------------------------

    @workflow.update(name=UPDATE_REOPEN)
    async def reopen(self, request: ReopenInput) -> LifecycleState:
        """The complainant reopens the ended case, with a reason: it returns to its officer with fresh clocks."""
        payload: dict[str, Any] = {"reason": request.reason.strip(), "return": self._s.returns + 1}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        await self._return_to_officer(
            "reopened",
            CaseStatus.REOPENED,
            Localized(en="Reopened by the complainant", hi="शिकायतकर्ता द्वारा पुनः खोला गया"),
            Localized(en=request.reason.strip(), hi=request.reason.strip()),
            request.by_account_id or self._s.case.complainant_account_id,
            "citizen",
            payload,
        )
        return self.state()

    @reopen.validator
    def validate_reopen(self, request: ReopenInput) -> None:
        self._require_contestable("reopen")
        self._require_text("reason", request.reason, 10)
        if self._returns_left() <= 0:
            raise ValueError(
                "the case has come back as often as the policy allows; appeal instead / "
                "नीति के अनुसार अधिकतम बार पुनः खोला जा चुका है; अपील करें"
            )
        self._authorize(Act.REOPEN, request.caller)

    # -- feedback (H3) ------------------------------------------------------------------------------------------

    @workflow.update(name=UPDATE_FEEDBACK)
    async def feedback(self, request: FeedbackInput) -> LifecycleState:
        """H3: record the complainant's rating or the call centre's call; if it says the grievance was not fixed,
        the case is unresolved and returns to its officer with fresh clocks."""
        self._s.feedback_given.add(request.source.value)
        by_call = request.source is FeedbackSource.CALL_CENTRE
        payload: dict[str, Any] = {"source": request.source.value, "resolved": request.resolved}
        if request.rating:
            payload["rating"] = request.rating
        if request.comment.strip():
            payload["comment"] = request.comment.strip()
        if request.call_outcome is not None:
            payload["call_outcome"] = request.call_outcome.value
        if request.recording_ref.strip():
            payload["recording_ref"] = request.recording_ref.strip()
        contradicts = request.resolved is False and self._returns_left() > 0
        payload["returns_the_case"] = contradicts
        actor = request.by_account_id or ("" if by_call else self._s.case.complainant_account_id)
        role = "operator" if by_call else "citizen"
        await self._transition(
            "feedback_recorded",
            _feedback_summary(request),
            actor,
            role=role,
            payload=payload,
        )
        if contradicts:
            await self._return_to_officer(
                "unresolved",
                CaseStatus.UNRESOLVED,
                Localized(
                    en="Unresolved: the feedback contradicts the claimed resolution (H3)",
                    hi="अनिवारित: प्रतिक्रिया दावा किए गए निवारण के विपरीत है (H3)",
                ),
                Localized(en=request.comment.strip() or "-", hi=request.comment.strip() or "-"),
                actor,
                role,
                {"source": request.source.value, "return": self._s.returns + 1},
            )
        return self.state()

    @feedback.validator
    def validate_feedback(self, request: FeedbackInput) -> None:
        self._require_contestable("feedback")
        if request.source is FeedbackSource.CITIZEN:
            if request.source.value in self._s.feedback_given:
                raise ValueError(
                    "the complainant has already rated this disposal / इस निष्पादन की रेटिंग पहले ही दी जा चुकी है "
                    + self._state_words()
                )
            if not 1 <= request.rating <= 5:
                raise ValueError("rating: 1 to 5 / 1 से 5")
            if request.resolved is None:
                raise ValueError("resolved: say whether the grievance was fixed / निवारण हुआ या नहीं, बताएँ")
        else:
            if request.call_outcome is None:
                raise ValueError("call_outcome: satisfied, not_satisfied or not_reachable / कॉल का परिणाम")
            if request.call_outcome is not CallOutcome.NOT_REACHABLE and not request.recording_ref.strip():
                raise ValueError("recording_ref: the call's recording reference / कॉल रिकॉर्डिंग का संदर्भ")
        self._authorize(Act.FEEDBACK, request.caller)

    @workflow.update(name=UPDATE_ACCEPT_ATR)
    async def accept_atr(self, request: AtrAcceptanceInput) -> LifecycleState:
        """H3: the senior officer accepts the action-taken report, with the feedback before them; the case is
        closed (the complainant may still contest it within the window)."""
        self._s.atr_accepted_returns = self._s.returns
        self._s.status = CaseStatus.CLOSED
        seen = sorted(self._s.feedback_given)
        await self._transition(
            "atr_accepted",
            Localized(
                en="The senior officer accepted the action-taken report; the case is closed (H3)",
                hi="वरीय पदाधिकारी ने कृत प्रतिवेदन स्वीकार किया; मामला बंद (H3)",
            ),
            request.by_account_id,
            new_status=CaseStatus.CLOSED,
            payload={"note": request.note.strip(), "feedback_seen": seen, "by_position_id": self._s.senior_position_id},
        )
        end = self._window_end()
        until = end.date().isoformat() if end is not None else "-"
        await self.send(
            citizen_notice(
                self._s.case,
                "atr_accepted",
                Localized(en="Your grievance is closed", hi="आपकी शिकायत बंद की गई"),
                Localized(
                    en=f"The senior officer accepted the action taken. If it is not fixed, reopen it by {until}.",
                    hi=f"वरीय पदाधिकारी ने की गई कार्रवाई स्वीकार की। निवारण न हुआ हो तो {until} तक पुनः खोलें।",
                ),
                self._next_key("citizen_atr_accepted"),
            )
        )
        return self.state()

    @accept_atr.validator
    def validate_accept_atr(self, request: AtrAcceptanceInput) -> None:
        self._require_contestable("acceptance of the action-taken report")
        if self._s.status is not CaseStatus.DISPOSED:
            raise ValueError(
                "the action-taken report is accepted once, on a disposed case / कृत प्रतिवेदन एक बार, निष्पादित मामले पर "
                + self._state_words()
            )
        if self._s.atr_accepted_returns == self._s.returns:
            raise ValueError("the action-taken report is already accepted / कृत प्रतिवेदन पहले ही स्वीकार")
        self._authorize(Act.ACCEPT_ATR, request.caller)

    # -- post-closure watch (M4) --------------------------------------------------------------------------------

    @workflow.update(name=UPDATE_OPEN_WATCH)
    async def open_watch(self, request: WatchInput) -> LifecycleState:
        """M4: the disposed case stays under watch for what remains; its officer is reminded until the report."""
        policy = self._s.policy
        assert policy is not None
        assert policy.recourse is not None
        item = request.item.strip()
        self._s.watch_item, self._s.watch_opened_at = item, workflow.now()
        self._s.watch_next_reminder = elapsed_deadline(workflow.now(), policy.recourse.watch_reminder_every)
        await self._transition(
            "watch_opened",
            Localized(en=f"Under watch (M4): {item}", hi=f"निगरानी में (M4): {item}"),
            request.by_account_id,
            payload={"item": item, "remind_every": policy.recourse.watch_reminder_every},
        )
        self._s.wake = True
        return self.state()

    @open_watch.validator
    def validate_open_watch(self, request: WatchInput) -> None:
        self._require_contestable("watch")
        if self._s.watch_item:
            raise ValueError(f"the case is already under watch: {self._s.watch_item} / मामला पहले से निगरानी में है")
        self._require_text("item", request.item, 10)
        self._authorize(Act.OPEN_WATCH, request.caller)

    @workflow.update(name=UPDATE_CLOSE_WATCH)
    async def close_watch(self, request: WatchReportInput) -> LifecycleState:
        """M4: the report (the removal report) ends the watch; the DM's list no longer shows it."""
        item = self._s.watch_item
        payload: dict[str, Any] = {"item": item, "report": request.report.strip()}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        self._s.watch_item, self._s.watch_next_reminder = "", None
        await self._transition(
            "watch_closed",
            Localized(en=f"Watch closed with the report (M4): {item}", hi=f"प्रतिवेदन सहित निगरानी समाप्त (M4): {item}"),
            request.by_account_id,
            payload=payload,
        )
        self._s.wake = True
        return self.state()

    @close_watch.validator
    def validate_close_watch(self, request: WatchReportInput) -> None:
        if not self._s.watch_item:
            raise ValueError("no watch is open on this case / इस मामले पर कोई निगरानी नहीं " + self._state_words())
        self._require_text("report", request.report, 10)
        self._authorize(Act.WATCH_REPORT, request.caller)

    async def _remind_watch(self) -> None:
        policy = self._s.policy
        assert policy is not None
        assert policy.recourse is not None
        self._s.watch_reminders += 1
        self._s.watch_next_reminder = elapsed_deadline(workflow.now(), policy.recourse.watch_reminder_every)
        opened = self._s.watch_opened_at.date().isoformat() if self._s.watch_opened_at else "-"
        await self.send(
            officer_notice(
                self._s.case,
                self._s.position_id,
                "sla_notice",
                f"{workflow.info().workflow_id}:watch_reminder:{self._s.watch_reminders}",
                Localized(
                    en="A disposed case under watch awaits your report (M4)",
                    hi="निगरानी में रखे निष्पादित मामले पर आपका प्रतिवेदन अपेक्षित है (M4)",
                ),
                Localized(
                    en=f"{self._s.watch_item} (under watch since {opened})",
                    hi=f"{self._s.watch_item} ({opened} से निगरानी में)",
                ),
                "M4",
                kind="watch_reminder",
            )
        )

    # -- shared -------------------------------------------------------------------------------------------------

    def _require_contestable(self, act: str) -> None:
        policy = self._s.policy
        if policy is None or policy.recourse is None:
            raise ValueError(
                f"this case's policy ({policy.key if policy else self._s.case.track}) allows no {act} after the case "
                f"ends / इस मामले की नीति में यह अनुमत नहीं"
            )
        if self._s.status not in CONTESTABLE or self._s.disposed_at is None:
            raise ValueError(
                f"only a disposed or closed case takes a {act} / केवल निष्पादित या बंद मामले पर {self._state_words()}"
            )
        end = self._window_end()
        if end is not None and workflow.now() > end:
            raise ValueError(
                f"the time for a {act} ended on {end.isoformat()} / समय सीमा {end.date().isoformat()} को समाप्त"
            )

    async def _return_to_officer(
        self,
        event_type: str,
        status: CaseStatus,
        summary: Localized,
        detail: Localized,
        account_id: str,
        role: str,
        payload: dict[str, Any],
    ) -> None:
        """The ended case comes back to the post it ended at: fresh clocks first (so the record carries the new
        nearest deadline), then the timeline, then the officer and the complainant are told."""
        policy, engine = self._s.policy, self._s.engine
        assert policy is not None
        assert engine is not None
        self._s.returns += 1
        self._s.feedback_given = set()
        self._s.disposal, self._s.disposed_at = None, None
        self._s.reviewer_position_id, self._s.review_hop = "", 0
        self._s.awaiting_info = False
        self._s.status = status
        for need in engine.restart(policy, workflow.now()):
            engine.set_deadline(need.clock_id, need.generation, await self._deadline(need))
        self._s.wake = True
        await self._transition(event_type, summary, account_id, role=role, new_status=status, payload=payload)
        self._update_search_attributes()
        await self.send(
            officer_notice(
                self._s.case,
                self._s.position_id,
                "sla_notice",
                self._next_key(f"{event_type}_officer"),
                Localized(en=f"A case came back to you: {summary.en}", hi=f"मामला आपके पास लौटा: {summary.hi}"),
                detail,
                "H3" if status is CaseStatus.UNRESOLVED else "",
                kind=event_type,
            )
        )
        await self.send(
            citizen_notice(
                self._s.case,
                event_type,
                Localized(
                    en="Your grievance is open again with its officer",
                    hi="आपकी शिकायत पुनः संबंधित पदाधिकारी के समक्ष खुली है",
                ),
                summary,
                self._next_key(f"citizen_{event_type}"),
            )
        )


def _feedback_summary(request: FeedbackInput) -> Localized:
    if request.source is FeedbackSource.CITIZEN:
        verdict = {True: ("fixed", "निवारित"), False: ("not fixed", "अनिवारित"), None: ("-", "-")}[request.resolved]
        return Localized(
            en=f"The complainant rated the disposal {request.rating}/5: {verdict[0]}",
            hi=f"शिकायतकर्ता ने निष्पादन को {request.rating}/5 रेटिंग दी: {verdict[1]}",
        )
    outcome = request.call_outcome.value if request.call_outcome else "-"
    words = {
        "satisfied": ("satisfied", "संतुष्ट"),
        "not_satisfied": ("not satisfied", "असंतुष्ट"),
        "not_reachable": ("not reachable", "संपर्क नहीं हो सका"),
    }.get(outcome, (outcome, outcome))
    return Localized(
        en=f"The call centre called the complainant: {words[0]}", hi=f"कॉल सेंटर ने शिकायतकर्ता से बात की: {words[1]}"
    )
