"""What a case's clock does when its deadline passes: show-cause, visibility, escalation, interim order, breach, notice.

Runs inside the lifecycle workflow and is replayed with it: every side effect goes through the workflow's plumbing
(activities with idempotency keys derived from the clock's firing), and only deterministic workflow APIs are used.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow

from nivaran_sla.activities import LifecycleActivities
from nivaran_sla.deadlines import parse_duration
from nivaran_sla.domain import (
    BreachRecord,
    Case,
    CaseStatus,
    Localized,
    NoticeInput,
    NoticeResult,
    PositionRef,
    RoleInput,
    ShowCauseIssue,
    TransitionInput,
)
from nivaran_sla.lifecycle_notices import citizen_notice, officer_notice
from nivaran_sla.lifecycle_state import LifecycleCaseState
from nivaran_sla.policy import (
    Clock,
    Escalate,
    Event,
    IssueShowCause,
    MakeVisible,
    Notify,
    OrderInterimDisposal,
    RecordBreach,
    Remind,
)

# A case in one of these states is over: no one is left to act on it, so nothing escalates it.
FINISHED = frozenset({CaseStatus.DISPOSED, CaseStatus.REJECTED, CaseStatus.CLOSED})
# Histories recorded before that rule escalated a finished case; they replay as they ran.
NO_ESCALATION_WHEN_FINISHED_PATCH = "no-escalation-when-finished-v1"


class LifecyclePlumbing(Protocol):
    """The workflow's side-effect channels that deadline effects go through."""

    async def activity(self, method: Any, argument: Any) -> Any:
        """Run one lifecycle activity with the workflow's timeout and retries."""
        ...

    async def record(self, transition: TransitionInput) -> None:
        """Put a transition on intake's timeline."""
        ...

    async def send(self, notice: NoticeInput) -> NoticeResult | None:
        """Send a notice; None when notify refused it."""
        ...

    async def move(
        self,
        target: PositionRef,
        event_type: str,
        by_account_id: str,
        note: str,
        extra: dict[str, Any] | None = None,
        *,
        key: str = "",
        grant: list[str] | None = None,
    ) -> None:
        """Reassign the case to `target` and tell the target."""
        ...

    async def on_event(self, event: Event, at: datetime) -> None:
        """Feed a case event to the clocks."""
        ...


def system_transition(
    case: Case, key: str, event_type: str, summary: Localized, payload: dict[str, Any], grant: list[str] | None = None
) -> TransitionInput:
    """A timeline event the lifecycle itself causes, keyed by the clock firing that caused it."""
    return TransitionInput(
        grievance_id=case.grievance_id,
        idempotency_key=f"{key}:{event_type}",
        event_type=event_type,
        summary=summary,
        occurred_at=workflow.now(),
        payload=payload,
        grant_visibility_to_roles=grant or [],
    )


class DeadlineEffects:
    """Carries out the actions of a clock that fired, on the case state the workflow holds."""

    def __init__(self, state: LifecycleCaseState, plumbing: LifecyclePlumbing) -> None:
        self._s = state
        self._p = plumbing

    async def fire(self, clock_id: str, generation: int) -> None:
        """Run every action of a due clock, if its condition still holds, in the policy's order."""
        s = self._s
        assert s.policy is not None
        assert s.engine is not None
        due_at = s.engine.clocks[clock_id].deadline
        clock, holds = s.engine.fire(s.policy, clock_id)
        if not holds:
            return
        key = f"{workflow.info().workflow_id}:{clock_id}:{generation}"
        name = Localized(en=clock.name.en, hi=clock.name.hi)
        s.firing_deadline = due_at
        try:
            await self._act(clock, name, key)
        finally:
            s.firing_deadline = None

    async def _act(self, clock: Clock, name: Localized, key: str) -> None:
        for index, action in enumerate(clock.actions):
            action_key = f"{key}:{index}"
            if isinstance(action, IssueShowCause):
                await self._issue_show_cause(action, clock.rule, name, action_key)
            elif isinstance(action, MakeVisible):
                await self._make_visible(action.role, clock.rule, name, action_key)
            elif isinstance(action, Escalate):
                await self._escalate(action.to_role, clock.rule, name, action_key)
            elif isinstance(action, OrderInterimDisposal):
                await self._order_interim(action.long_service_threshold_days, clock.rule, name, action_key)
            elif isinstance(action, RecordBreach):
                await self._breach(action, clock.rule, name, action_key)
            elif isinstance(action, Remind | Notify):
                await self._notify_role(action.to, action.template, clock.rule, name, action_key)

    async def _issue_show_cause(self, action: IssueShowCause, rule: str, name: Localized, key: str) -> None:
        s, case = self._s, self._s.case
        now = workflow.now()
        notice = await self._p.activity(
            LifecycleActivities.issue_show_cause,
            ShowCauseIssue(
                idempotency_key=key,
                grievance_id=case.grievance_id,
                registration_number=case.registration_number,
                position_id=s.position_id,
                officer_account_id=s.officer_account_id,
                number=action.number,
                issued_at=now,
                due_by=now + parse_duration(action.reply_within),
            ),
        )
        s.show_causes[notice.id] = notice
        await self._p.record(
            system_transition(
                case,
                key,
                "show_cause_issued",
                Localized(
                    en=f"Show-cause notice {action.number} issued ({rule}): {name.en}",
                    hi=f"कारण पृच्छा {action.number} निर्गत ({rule}): {name.hi}",
                ),
                {"notice_id": notice.id, "number": action.number, "due_by": notice.due_by.isoformat(), "rule": rule},
            )
        )
        await self._p.send(
            officer_notice(
                case,
                s.position_id,
                "sla_notice",
                key,
                Localized(en=f"Show-cause notice {action.number}", hi=f"कारण पृच्छा {action.number}"),
                Localized(
                    en=f"{name.en}. Reply on the portal by {notice.due_by.isoformat()}.",
                    hi=f"{name.hi}। पोर्टल पर उत्तर दें, अंतिम तिथि {notice.due_by.isoformat()}।",
                ),
                rule,
                # The notice is a document (notify renders the show-cause notice's PDF).
                kind="show_cause",
            )
        )
        await self._p.on_event(Event.SHOW_CAUSE_ISSUED, now)

    async def _make_visible(self, role: str, rule: str, name: Localized, key: str) -> None:
        case = self._s.case
        await self._p.record(
            system_transition(
                case,
                key,
                "made_visible",
                Localized(
                    en=f"Now visible to the {role} ({rule}): {name.en}", hi=f"अब {role} को दृश्य ({rule}): {name.hi}"
                ),
                {"role": role, "rule": rule},
                grant=[role],
            )
        )
        holder = await self._p.activity(LifecycleActivities.resolve_role, RoleInput(self._s.position_id, role))
        if holder is not None:
            await self._p.send(
                officer_notice(
                    case,
                    holder.position_id,
                    "sla_notice",
                    key,
                    Localized(en=f"Case pending: {name.en}", hi=f"लंबित मामला: {name.hi}"),
                    name,
                    rule,
                )
            )

    async def _escalate(self, role: str, rule: str, name: Localized, key: str) -> None:
        s = self._s
        if s.status in FINISHED and workflow.patched(NO_ESCALATION_WHEN_FINISHED_PATCH):
            return  # a clock the ending did not stop (C7's review of a report) moves no finished case
        # A role beside the chain (the department's SECRETARY, H2) is the department's own post.
        target = await self._p.activity(
            LifecycleActivities.resolve_role, RoleInput(s.position_id, role, department_code=s.department_code)
        )
        if target is not None and target.position_id == s.position_id:
            return  # already with that level (two clocks of one track may escalate to it)
        if target is None:
            await self._p.record(
                system_transition(
                    s.case,
                    key,
                    "escalation_failed",
                    Localized(en=f"No {role} above this position to escalate to", hi=f"अग्रेषण हेतु कोई {role} नहीं"),
                    {"role": role, "rule": rule},
                )
            )
            return
        s.status = CaseStatus.ESCALATED
        await self._p.move(target, "escalated", "system", name.en, {"role": role, "rule": rule}, key=key, grant=[role])
        await self._p.on_event(Event.ESCALATED, workflow.now())

    async def _order_interim(self, threshold_days: int, rule: str, name: Localized, key: str) -> None:
        case = self._s.case
        payload: dict[str, Any] = {"rule": rule, "service_time_limit_days": case.service_time_limit_days}
        en, hi = "Interim order due today", "आज अंतरिम आदेश देय"
        if case.service_time_limit_days > threshold_days and case.filed_at is not None:
            target = case.filed_at + timedelta(days=case.service_time_limit_days)
            payload["target_date"] = target.date().isoformat()
            en += f"; it must name the target date of delivery, {target.date().isoformat()}"
            hi += f"; आदेश में सेवा प्रदान करने की लक्षित तिथि {target.date().isoformat()} अंकित हो"
        await self._p.record(
            system_transition(
                case, key, "interim_order_due", Localized(en=f"{en} ({rule})", hi=f"{hi} ({rule})"), payload
            )
        )
        await self._p.send(
            officer_notice(case, self._s.position_id, "sla_notice", key, Localized(en=en, hi=hi), name, rule)
        )

    async def _breach(self, action: RecordBreach, rule: str, name: Localized, key: str) -> None:
        case = self._s.case
        details: dict[str, Any] = {"clock": name.en}
        if action.recommendation is not None:
            details["recommendation"] = {"en": action.recommendation.en, "hi": action.recommendation.hi}
        breach = await self._p.activity(
            LifecycleActivities.record_breach,
            BreachRecord(
                idempotency_key=key,
                grievance_id=case.grievance_id,
                registration_number=case.registration_number,
                position_id=self._s.position_id,
                district_code=case.district_code,
                rule=action.rule,
                recorded_at=workflow.now(),
                details=details,
            ),
        )
        await self._p.record(
            system_transition(
                case,
                key,
                "breach_recorded",
                Localized(
                    en=f"Breach of {action.rule} recorded: {name.en}", hi=f"{action.rule} का उल्लंघन दर्ज: {name.hi}"
                ),
                {"breach_id": breach.id, **details, "rule": action.rule},
            )
        )

    async def _notify_role(self, to: str, template: str, rule: str, name: Localized, key: str) -> None:
        case = self._s.case
        if to == "citizen":
            await self._p.send(citizen_notice(case, template, name, name, key))
            return
        position_id = self._s.position_id
        if to != "assignee":
            holder = await self._p.activity(LifecycleActivities.resolve_role, RoleInput(self._s.position_id, to))
            if holder is None:
                return
            position_id = holder.position_id
        await self._p.send(officer_notice(case, position_id, "sla_notice", key, name, name, rule, kind=template))
