"""The lifecycle's shared ground: the case's state, the plumbing every act and deadline goes through (activities,
timeline records with the nearest deadline, notices, moves, clock events), the queries, and the checks every act
makes (the case still open, the caller's post: nivaran_common.casework).

GrievanceLifecycle (workflows.py) is built from this base and the acts' mixins (lifecycle_disposals,
lifecycle_reports, lifecycle_show_cause); Temporal collects the inherited Updates and Queries. Runs in the sandbox
and is replayed: only deterministic workflow APIs.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import PERMISSION_DENIED, Act, Caller, CaseParties, NotPermitted, check_act
    from nivaran_common.temporal import (
        DEADLINE_ATTRIBUTE,
        DISTRICT_ATTRIBUTE,
        OFFICE_LEVEL_ATTRIBUTE,
        STATUS_ATTRIBUTE,
    )
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.clocks import NeedsDeadline, elapsed_deadline
    from nivaran_sla.deadlines import CalendarKind
    from nivaran_sla.domain import (
        QUERY_CLOCKS,
        Actor,
        Assignment,
        CaseStatus,
        ClockView,
        DeadlineInput,
        LifecycleState,
        Localized,
        NoticeInput,
        NoticeResult,
        PositionRef,
        TransitionInput,
    )
    from nivaran_sla.lifecycle_effects import DeadlineEffects
    from nivaran_sla.lifecycle_notices import (
        citizen_notice,
        officer_notice,
        reassigned_names,
    )
    from nivaran_sla.lifecycle_state import LifecycleCaseState
    from nivaran_sla.policy import (
        Event,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Histories recorded before the lifecycle kept intake's nearest deadline in step replay without the extra records.
DEADLINE_SYNC_PATCH = "deadline-sync-v1"
# No attempt limit: a side effect the case needs is retried until the service is back; a refusal on the merits
# comes back non-retryable from the activity and ends the retries at once.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)
TERMINAL = frozenset({CaseStatus.DISPOSED, CaseStatus.REJECTED, CaseStatus.CLOSED})
# Cases started before this ran each side effect as an activity of its own, one workflow task each, and wrote all
# four search attributes at every step; they replay as they ran. Newer cases run their side effects as local
# activities (a deadline's effects then cost one workflow task, and one replay when the case is not cached) and
# write only the search attributes that changed.
LOCAL_EFFECTS_PATCH = "local-effects-v1"
# What a side effect that failed for good raises in the workflow: an activity task's failure comes wrapped in an
# ActivityError, a local activity's as the ApplicationError the activity raised.
EFFECT_FAILED = (ActivityError, ApplicationError)
# See LifecycleBase._fresh_time.
FRESH_TIME = timedelta(milliseconds=1)


def bilingual(en: str, hi: str) -> str:
    """One message for both readers."""
    return f"{en} / {hi}"


class LifecycleBase:
    """The state and plumbing of one case's lifecycle (see the module docstring)."""

    _s: LifecycleCaseState
    _effects: DeadlineEffects

    @workflow.query
    def state(self) -> LifecycleState:
        """Where the case stands now."""
        return LifecycleState(
            status=self._s.status,
            position_id=self._s.position_id,
            disposed=self._s.status is CaseStatus.DISPOSED,
            acknowledgement_notice_id=self._s.acknowledgement_notice_id,
            reviewer_position_id=self._s.reviewer_position_id,
        )

    @workflow.query(name=QUERY_CLOCKS)
    def clocks(self) -> list[ClockView]:
        """Every clock of the case's policy with its deadline, pause and firing state."""
        if self._s.policy is None or self._s.engine is None:
            return []
        views = []
        for clock in self._s.policy.clocks:
            st = self._s.engine.clocks[clock.id]
            views.append(
                ClockView(
                    clock_id=clock.id,
                    rule=clock.rule,
                    name=Localized(en=clock.name.en, hi=clock.name.hi),
                    started_at=st.started_at,
                    deadline=st.deadline,
                    paused=st.paused_remaining is not None,
                    remaining_seconds=st.paused_remaining.total_seconds() if st.paused_remaining is not None else None,
                    running=st.running,
                    fired=st.fired,
                )
            )
        return views

    def _state_words(self) -> str:
        return f"(the case is {self._s.status.value} / मामले की स्थिति: {self._s.status.value})"

    def _require_open(self) -> None:
        if self._s.disposal is not None or self._s.status in TERMINAL:
            raise ValueError(
                bilingual("the case is already disposed", "मामले का निष्पादन पहले ही हो चुका है") + f" {self._state_words()}"
            )

    def _require_text(self, name: str, value: str, minimum: int = 1) -> None:
        if len(value.strip()) < minimum:
            raise ValueError(f"{name}: at least {minimum} characters / कम से कम {minimum} अक्षर आवश्यक")

    def _parties(self, notice_id: str = "") -> CaseParties:
        notice = self._s.show_causes.get(notice_id)
        return CaseParties(
            holder_position_id=self._s.position_id,
            complainant_account_id=self._s.case.complainant_account_id,
            complainant_phone=self._s.case.complainant_phone,
            reviewer_position_id=self._s.reviewer_position_id,
            notice_position_id=notice.position_id if notice is not None else "",
            dm_position_id=self._s.dm_position_id,
            commissioner_position_id=self._s.commissioner_position_id,
            district_code=self._s.case.district_code,
            appellate_position_id=self._s.appellate_position_id,
            hearing_position_id=self._hearing_position_id(),
            senior_position_id=self._s.senior_position_id,
        )

    def _appeal_pending(self) -> bool:
        return bool(self._s.appellate_position_id) and self._s.appellate_position_id != "pending"

    def _hearing_position_id(self) -> str:
        """B7: who hears the case now: the appellate authority while an appeal is pending, else the case's post."""
        return self._s.appellate_position_id if self._appeal_pending() else self._s.position_id

    def _authorize(self, act: Act, caller: Caller | None, notice_id: str = "") -> None:
        """Refuse an act the caller's posts do not allow. Every public door (sla's ActOnCase) names the caller;
        only the lifecycle's own acts and in-process harnesses come without one."""
        if caller is None:
            return
        try:
            check_act(act, caller, self._parties(notice_id))
        except NotPermitted as exc:
            raise ApplicationError(str(exc), type=PERMISSION_DENIED, non_retryable=True) from None

    def _require_not_under_review(self, caller: Caller | None) -> None:
        """C5: once a final report is under review the chain ends the case; its officer no longer disposes of it."""
        if caller is not None and self._s.reviewer_position_id:
            raise ValueError(
                "the final report is under review; the review chain closes the case or returns it (C5) / "
                f"अंतिम प्रतिवेदन समीक्षाधीन है {self._state_words()}"
            )

    async def _tell_citizen_outcome(self, kind: str, headline: Localized, detail: Localized) -> None:
        """The complainant hears how the case ended (C7: within the hour; here, at once)."""
        informed = await self.send(
            citizen_notice(self._s.case, kind, headline, detail, self._next_key(f"citizen_{kind}"))
        )
        if informed is not None:
            await self._transition(
                "citizen_informed",
                Localized(en="The complainant was told the outcome", hi="शिकायतकर्ता को परिणाम की सूचना दी गई"),
                "system",
                role="system",
                payload={"notice_id": informed.notice_id, "kind": kind},
            )
            await self.on_event(Event.CITIZEN_INFORMED, workflow.now())

    async def on_event(self, event: Event, at: datetime, *, sync: bool = True) -> None:
        """Tell the clock engine; compute new deadlines (working days in an activity); wake the timer loop."""
        if self._s.engine is None or self._s.policy is None:
            self._s.early_events.append((event, at))
            return
        for need in self._s.engine.on_event(self._s.policy, event, at):
            self._s.engine.set_deadline(need.clock_id, need.generation, await self._deadline(need))
        self._s.wake = True
        self._update_search_attributes()
        if sync:
            await self._sync_deadline()

    async def _deadline(self, need: NeedsDeadline) -> datetime:
        return await self._due(need.start, need.duration, need.calendar)

    async def _due(self, start: datetime, duration: str, calendar: CalendarKind) -> datetime:
        """`duration` after `start` on `calendar`: elapsed time here, working days in an activity (the holidays)."""
        if calendar is not CalendarKind.WORKING_DAYS:
            return elapsed_deadline(start, duration)
        deadline: datetime = await self.activity(
            LifecycleActivities.compute_deadline,
            DeadlineInput(start, duration, calendar.value, self._s.case.state_code),
        )
        return deadline

    def _next_key(self, event_type: str, suffix: str = "") -> str:
        if suffix:
            return f"{workflow.info().workflow_id}:{event_type}:{suffix}"
        count = self._s.counters.get(event_type, 0) + 1
        self._s.counters[event_type] = count
        return f"{workflow.info().workflow_id}:{event_type}:{count}"

    async def _transition(
        self,
        event_type: str,
        summary: Localized,
        account_id: str,
        *,
        role: str = "officer",
        new_status: CaseStatus | None = None,
        payload: dict[str, Any] | None = None,
        clear_visibility: bool = False,
        key_suffix: str = "",
    ) -> None:
        await self.record(
            TransitionInput(
                grievance_id=self._s.case.grievance_id,
                idempotency_key=self._next_key(event_type, key_suffix),
                event_type=event_type,
                summary=summary,
                occurred_at=workflow.now(),
                actor=Actor(
                    account_id=account_id, role=role, position_id=self._s.position_id if role == "officer" else ""
                ),
                new_status=new_status,
                payload=payload or {},
                clear_visibility=clear_visibility,
            )
        )

    async def _position(self, position_id: str) -> PositionRef:
        position: PositionRef = await self.activity(LifecycleActivities.get_position, position_id)
        return position

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
        """Reassign the case to `target`: a timeline event with the new assignment, and a notice to the target."""
        now = workflow.now()
        idempotency_key = f"{key}:{event_type}" if key else self._next_key(event_type)
        await self.record(
            TransitionInput(
                grievance_id=self._s.case.grievance_id,
                idempotency_key=idempotency_key,
                event_type=event_type,
                summary=Localized(
                    en=f"Moved to {target.title.en}: {note}".rstrip(": "),
                    hi=f"{target.title.hi} को भेजा गया: {note}".rstrip(": "),
                ),
                occurred_at=now,
                actor=Actor(account_id=by_account_id, role="system" if by_account_id == "system" else "officer"),
                new_status=self._s.status if self._s.status is CaseStatus.ESCALATED else CaseStatus.ASSIGNED,
                new_assignment=Assignment(
                    department_code=target.department_code or self._s.department_code,
                    office_id=target.office_id,
                    office_name=target.office_name,
                    position_id=target.position_id,
                    position_title=target.title,
                    assigned_at=now,
                ),
                payload={
                    "from_position_id": self._s.position_id,
                    "to_position_id": target.position_id,
                    **(extra or {}),
                },
                grant_visibility_to_roles=grant or [],
            )
        )
        self._s.position_id = target.position_id
        self._s.officer_account_id = None
        await self.send(
            officer_notice(
                self._s.case,
                target.position_id,
                "case_assigned",
                idempotency_key,
                Localized(en="New case", hi="नया मामला"),
                Localized(en=note, hi=note),
                "",
                names=reassigned_names(self._s.case, target),
            )
        )

    async def activity(self, method: Any, argument: Any) -> Any:
        """Run one lifecycle activity with the lifecycle's timeout and retries: as a local activity (in this worker,
        within the current workflow task) or, in cases started before LOCAL_EFFECTS_PATCH, as an activity task.

        Every activity carries its own idempotency key, so the re-run a local activity gets when the worker dies
        before its workflow task completes changes nothing. A failure that lasts is retried with backoff, by timers
        once the backoff passes a minute, as long as it lasts."""
        if workflow.patched(LOCAL_EFFECTS_PATCH):
            self._s.effects_in_task = workflow.info().get_current_history_length()
            return await workflow.execute_local_activity_method(
                method, argument, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
            )
        return await workflow.execute_activity_method(
            method, argument, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    async def _fresh_time(self) -> bool:
        """Before a timer is armed: if local activities ran in this workflow task, wait for a new task.

        `workflow.now()` is (about) the time the current workflow task began, and the server starts a timer when
        the task completes, after its local activities. A timer armed for `deadline - now()` in a task whose side
        effects took 0.7 s fired 0.7 s late (measured with bench/deadlines.py); a timer armed in a fresh task, with
        no side effects before it, fires on time. The cost is one short timer wherever side effects precede the
        next sleep. (The history's length at the task's start tells one task from the next, deterministically.)

        True when it waited: the caller looks at the clocks again."""
        if self._s.effects_in_task != workflow.info().get_current_history_length():
            return False
        await workflow.sleep(FRESH_TIME)
        return True

    def _update_search_attributes(self) -> None:
        if not self._s.upsert_search_attributes or self._s.engine is None:
            return
        due = self._s.engine.next_due()
        values: dict[str, Any] = {
            STATUS_ATTRIBUTE.name: self._s.status.value,
            DISTRICT_ATTRIBUTE.name: self._s.case.district_code,
            OFFICE_LEVEL_ATTRIBUTE.name: self._s.case.office_level or "district",
            DEADLINE_ATTRIBUTE.name: due.deadline if due is not None and due.deadline else None,
        }
        if workflow.patched(LOCAL_EFFECTS_PATCH):
            changed = {name for name, value in values.items() if self._s.search_attributes.get(name, ...) != value}
        else:
            changed = set(values)
        if not changed:
            return
        updates: list[SearchAttributeUpdate[Any]] = []
        for key in (STATUS_ATTRIBUTE, DISTRICT_ATTRIBUTE, OFFICE_LEVEL_ATTRIBUTE, DEADLINE_ATTRIBUTE):
            if key.name in changed:
                value = values[key.name]
                updates.append(key.value_unset() if value is None else key.value_set(value))
        workflow.upsert_search_attributes(updates)
        self._s.search_attributes = values

    async def record(self, transition: TransitionInput) -> None:
        """Put a transition on intake's timeline, with the case's nearest deadline as the clocks stand now."""
        transition = self._with_deadline(transition)
        await self.activity(LifecycleActivities.record_transition, transition)
        self._s.synced_deadline = (transition.current_deadline, transition.deadline_clock)

    async def record_all(self, transitions: list[TransitionInput]) -> None:
        """Put several transitions on intake's timeline in one call (one transaction), each with the case's nearest
        deadline as the clocks stand now."""
        with_deadline = [self._with_deadline(t) for t in transitions]
        await self.activity(LifecycleActivities.record_transitions, with_deadline)
        last = with_deadline[-1]
        self._s.synced_deadline = (last.current_deadline, last.deadline_clock)

    def _nearest_deadline(self) -> tuple[datetime | None, str]:
        due = self._s.engine.next_due() if self._s.engine is not None else None
        if self._s.status in TERMINAL or due is None or due.deadline is None:
            return None, ""
        return due.deadline, due.clock_id

    def _with_deadline(self, transition: TransitionInput) -> TransitionInput:
        if self._s.firing_deadline is not None:
            transition = dataclasses.replace(transition, fired_deadline=self._s.firing_deadline)
        if self._s.engine is None:
            return transition
        if transition.new_status in TERMINAL:
            return dataclasses.replace(transition, clear_deadline=True)
        deadline, clock = self._nearest_deadline()
        if deadline is None:
            return dataclasses.replace(transition, clear_deadline=True)
        return dataclasses.replace(transition, current_deadline=deadline, deadline_clock=clock)

    async def _sync_deadline(self) -> None:
        """Tell intake when the nearest deadline moved without a timeline event of its own carrying it (a clock
        started, paused or resumed by the event just recorded)."""
        if self._s.engine is None:
            return
        nearest = self._nearest_deadline()
        if nearest == self._s.synced_deadline or not workflow.patched(DEADLINE_SYNC_PATCH):
            return
        deadline, clock = nearest
        name = next((c.name for c in self._s.policy.clocks if c.id == clock), None) if self._s.policy else None
        summary = (
            Localized(
                en=f"Next deadline: {name.en}, by {deadline.isoformat()}",
                hi=f"अगली समय-सीमा: {name.hi}, {deadline.isoformat()} तक",
            )
            if deadline is not None and name is not None
            else Localized(en="No deadline runs now", hi="अभी कोई समय-सीमा नहीं चल रही")
        )
        await self.record(
            TransitionInput(
                grievance_id=self._s.case.grievance_id,
                idempotency_key=self._next_key("deadline_set"),
                event_type="deadline_set",
                summary=summary,
                occurred_at=workflow.now(),
                payload={"clock": clock, "deadline": deadline.isoformat() if deadline else None},
            )
        )

    async def send(self, notice: NoticeInput) -> NoticeResult | None:
        """Send a notice; None when notify refused it."""
        try:
            result: NoticeResult = await self.activity(LifecycleActivities.send_notice, notice)
            return result
        except EFFECT_FAILED as exc:
            # A notice notify refuses must not stop the case's clocks; the failure stays in history and the log.
            workflow.logger.warning(
                "notice refused", extra={"template": notice.template, "error": str(exc.cause or exc)}
            )
            return None
