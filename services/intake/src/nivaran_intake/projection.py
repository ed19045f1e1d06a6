"""The case projection intake keeps from the lifecycle's transitions: each transition is one timeline record, and the
changes to the case row that go with it (status, assignment, nearest deadline, visibility grants, and the returns
and watch items of issue 10). IntakeService.record_transition applies both in one transaction, with the hearings'
rows (hearings.project: B7, M3)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nivaran_intake.domain import CLOSED_STATUSES, RETURN_EVENTS, WATCH_CLOSED, WATCH_OPENED, Status
from nivaran_intake.tables import GrievanceRow, TimelineEventRow

# The lifecycle's record of a missed deadline (S13): a case with one was not disposed within time (M5).
BREACH_RECORDED = "breach_recorded"
ENDED = frozenset(s.value for s in CLOSED_STATUSES)


@dataclass(frozen=True)
class Transition:
    """One event for the timeline, and the projection changes that go with it (None leaves a field alone)."""

    grievance_id: str
    idempotency_key: str
    event_type: str
    summary_en: str
    summary_hi: str
    actor: dict[str, str]
    payload: dict[str, Any]
    occurred_at: datetime | None
    new_status: Status | None = None
    assignment: dict[str, Any] | None = None
    current_deadline: datetime | None = None
    # The clock owning current_deadline; set with it, or alone when non-empty (see RecordTransitionRequest).
    deadline_clock: str = ""
    # No clock runs any more: clears current_deadline and deadline_clock, whatever else is sent.
    clear_deadline: bool = False
    grant_visibility_to_roles: Sequence[str] = ()
    clear_visibility: bool = False


def apply(row: GrievanceRow, transition: Transition, now: datetime) -> None:
    """The case projection after `transition`: status, assignment, nearest deadline, visibility, returns, watch."""
    if transition.event_type in RETURN_EVENTS:
        row.returns = (row.returns or 0) + 1
    elif transition.event_type == WATCH_OPENED:
        row.watch_item = str(transition.payload.get("item", ""))[:500]
        row.watch_opened_at = transition.occurred_at or now
    elif transition.event_type == WATCH_CLOSED:
        row.watch_item, row.watch_opened_at = "", None
    elif transition.event_type == BREACH_RECORDED:
        row.breaches = (row.breaches or 0) + 1
    if transition.new_status is not None:
        ended = transition.new_status.value in ENDED
        if ended and row.status not in ENDED:
            row.disposed_at = transition.occurred_at or now  # M5 / S18: when the case ended (last, if it came back)
        row.status = transition.new_status.value
    if transition.assignment is not None:
        a = transition.assignment
        row.department_code = a["department_code"]
        row.office_id = a["office_id"]
        row.office_name_en = a["office_name_en"]
        row.office_name_hi = a["office_name_hi"]
        row.position_id = a["position_id"]
        row.position_title_en = a["position_title_en"]
        row.position_title_hi = a["position_title_hi"]
        row.assigned_at = a["assigned_at"] or now
    if transition.clear_deadline:
        row.current_deadline, row.deadline_clock = None, ""
    elif transition.current_deadline is not None:
        row.current_deadline, row.deadline_clock = transition.current_deadline, transition.deadline_clock
    elif transition.deadline_clock:
        row.deadline_clock = transition.deadline_clock
    if transition.clear_visibility:
        row.visible_to_roles, row.dm_visible = [], False
    if transition.grant_visibility_to_roles:
        row.visible_to_roles = sorted({*(row.visible_to_roles or []), *transition.grant_visibility_to_roles})
        row.dm_visible = row.dm_visible or "DM" in transition.grant_visibility_to_roles
    row.updated_at = now
    row.version += 1


def timeline_event(
    grievance_id: str,
    sequence: int,
    idempotency_key: str,
    event_type: str,
    summary_en: str,
    summary_hi: str,
    actor: dict[str, str],
    payload: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
) -> TimelineEventRow:
    """One append-only timeline record."""
    return TimelineEventRow(
        id=str(uuid.uuid4()),
        grievance_id=grievance_id,
        sequence=sequence,
        idempotency_key=idempotency_key,
        event_type=event_type,
        summary_en=summary_en,
        summary_hi=summary_hi,
        actor_account_id=actor.get("account_id", ""),
        actor_role=actor.get("role", ""),
        actor_position_id=actor.get("position_id", ""),
        actor_on_behalf_of=actor.get("on_behalf_of", ""),
        actor_display_name=actor.get("display_name", ""),
        payload=payload,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
    )
