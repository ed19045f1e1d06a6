"""The clock engine: which clocks of a track run, pause, stop or re-base as case events arrive, and which one is
due next. Pure and deterministic (no I/O, no wall clock), so the lifecycle workflow can hold it as its state and
replay it safely; deadlines that need the holiday calendar are computed by the caller (an activity) and handed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from nivaran_sla.deadlines import CalendarKind, parse_duration
from nivaran_sla.policy import Clock, Condition, Event, Policy


class ClockState(BaseModel):
    """One running (or finished) clock of a case. `generation` counts (re)starts, for idempotency keys."""

    clock_id: str
    generation: int = 0
    started_at: datetime | None = None
    deadline: datetime | None = None
    paused_remaining: timedelta | None = None
    running: bool = False
    fired: bool = False
    # How many times the clock started again after firing (Clock.repeat).
    repeats: int = 0


class CaseFacts(BaseModel):
    """What conditions are checked against."""

    disposed: bool = False
    last_action_report_at: datetime | None = None
    last_final_report_at: datetime | None = None
    last_info_received_at: datetime | None = None


class NeedsDeadline(BaseModel):
    """A clock (re)started and needs its deadline computed from `start` on its calendar."""

    clock_id: str
    generation: int
    start: datetime
    duration: str
    calendar: CalendarKind


class ClockEngine(BaseModel):
    """All clocks of one case under one policy version."""

    policy_key: str
    clocks: dict[str, ClockState] = Field(default_factory=dict)
    facts: CaseFacts = Field(default_factory=CaseFacts)

    @classmethod
    def for_policy(cls, policy: Policy) -> ClockEngine:
        return cls(policy_key=policy.key, clocks={c.id: ClockState(clock_id=c.id) for c in policy.clocks})

    def on_event(self, policy: Policy, event: Event, at: datetime) -> list[NeedsDeadline]:
        """Apply one case event; returns the clocks whose deadline must now be computed."""
        self._note_fact(event, at)
        needs: list[NeedsDeadline] = []
        for clock in policy.clocks:
            state = self.clocks.setdefault(clock.id, ClockState(clock_id=clock.id))
            if event in clock.stop and state.running:
                state.running, state.deadline, state.paused_remaining = False, None, None
            elif event in clock.pause and state.running and state.paused_remaining is None and state.deadline:
                state.paused_remaining = max(state.deadline - at, timedelta(0))
                state.deadline = None
            elif event in clock.resume and state.running and state.paused_remaining is not None:
                state.deadline = at + state.paused_remaining
                state.paused_remaining = None
            elif (event in clock.rebase and (state.running or state.fired)) or (
                event in clock.start and not state.running and not state.fired
            ):
                state.repeats = 0
                needs.append(self._start(clock, state, at))
        return needs

    def _start(self, clock: Clock, state: ClockState, at: datetime) -> NeedsDeadline:
        state.generation += 1
        state.started_at, state.running, state.fired = at, True, False
        state.deadline, state.paused_remaining = None, None
        return NeedsDeadline(
            clock_id=clock.id, generation=state.generation, start=at, duration=clock.duration, calendar=clock.calendar
        )

    def migrate(self, new: Policy) -> list[NeedsDeadline]:
        """Carry the clocks over to another version of the policy (an explicit migration, never a file reload).

        A clock the new version keeps (by id) keeps its start, its pause and whether it fired; if it is running
        and not paused, its deadline is recomputed from its original start under the new duration and calendar,
        so a deadline that is already past under the new duration falls due at once. A paused clock keeps the
        time it had left. A clock the new version drops is discarded; one it adds waits for its start event.
        """
        needs: list[NeedsDeadline] = []
        carried: dict[str, ClockState] = {}
        for clock in new.clocks:
            state = self.clocks.get(clock.id) or ClockState(clock_id=clock.id)
            if state.running and state.paused_remaining is None and state.started_at is not None:
                state.generation += 1
                state.deadline = None
                needs.append(
                    NeedsDeadline(
                        clock_id=clock.id,
                        generation=state.generation,
                        start=state.started_at,
                        duration=clock.duration,
                        calendar=clock.calendar,
                    )
                )
            carried[clock.id] = state
        self.clocks = carried
        self.policy_key = new.key
        return needs

    def restart(self, policy: Policy, at: datetime) -> list[NeedsDeadline]:
        """Start the case's clocks afresh at `at`, as on its assignment: the case came back to its officer after it
        ended (reopened, or found unresolved, H3). Every clock stops, fired ones included, the facts conditions look
        at are forgotten, and the clocks that start on assignment start again (show-cause clocks too), as do those
        that list the `returned` event (a decision clock that runs from registration); generations keep counting, so
        the new run's effects get idempotency keys of their own."""
        self.facts = CaseFacts()
        for state in self.clocks.values():
            state.running, state.fired, state.repeats = False, False, 0
            state.deadline, state.paused_remaining = None, None
        return [*self.on_event(policy, Event.ASSIGNED, at), *self.on_event(policy, Event.RETURNED, at)]

    def set_deadline(self, clock_id: str, generation: int, deadline: datetime) -> None:
        """Record a computed deadline, unless the clock moved on (stopped or re-based) meanwhile."""
        state = self.clocks[clock_id]
        if state.generation == generation and state.running and state.paused_remaining is None:
            state.deadline = deadline

    def next_due(self) -> ClockState | None:
        """The running clock with the earliest deadline (ties broken by policy order of ids)."""
        running = [s for s in self.clocks.values() if s.running and s.deadline is not None]
        return min(running, key=lambda s: (s.deadline, s.clock_id)) if running else None

    def due(self, now: datetime) -> list[ClockState]:
        """Every running clock whose deadline has passed, earliest first."""
        return sorted(
            (s for s in self.clocks.values() if s.running and s.deadline is not None and s.deadline <= now),
            key=lambda s: (s.deadline, s.clock_id),
        )

    def fire(self, policy: Policy, clock_id: str) -> tuple[Clock, bool]:
        """Mark a due clock fired; returns its definition and whether its condition holds (act only then)."""
        clock = next(c for c in policy.clocks if c.id == clock_id)
        state = self.clocks[clock_id]
        state.running, state.fired = False, True
        return clock, self._holds(clock.condition, state)

    def rearm(self, policy: Policy, clock_id: str, at: datetime) -> NeedsDeadline | None:
        """Start a fired clock again from `at` if its policy repeats it and repeats are left (C6 reminders)."""
        clock = next(c for c in policy.clocks if c.id == clock_id)
        state = self.clocks[clock_id]
        if state.running or not state.fired or state.repeats >= clock.repeat:
            return None
        state.repeats += 1
        return self._start(clock, state, at)

    def _holds(self, condition: Condition, state: ClockState) -> bool:
        facts, since = self.facts, state.started_at
        if condition is Condition.ALWAYS:
            return True
        if condition is Condition.NOT_DISPOSED:
            return not facts.disposed
        if condition is Condition.NO_ACTION_REPORT_SINCE_START:
            return facts.last_action_report_at is None or (since is not None and facts.last_action_report_at < since)
        if condition is Condition.NO_FINAL_REPORT:
            return facts.last_final_report_at is None or (since is not None and facts.last_final_report_at < since)
        return facts.last_info_received_at is None or (since is not None and facts.last_info_received_at < since)

    def _note_fact(self, event: Event, at: datetime) -> None:
        if event in (Event.DISPOSED, Event.REJECTED, Event.CLOSED):
            self.facts.disposed = True
        elif event in (Event.ACTION_REPORTED, Event.PRELIMINARY_REPORTED, Event.FINAL_REPORTED):
            self.facts.last_action_report_at = at
            if event is Event.FINAL_REPORTED:
                self.facts.last_final_report_at = at
        elif event is Event.CITIZEN_RESPONDED:
            self.facts.last_info_received_at = at


def elapsed_deadline(start: datetime, duration: str) -> datetime:
    """Deadline of a calendar_days or hours clock: pure arithmetic, safe inside a workflow."""
    return start + parse_duration(duration)
