"""The mutable state of one GrievanceLifecycle run, kept in one place so the workflow and its deadline effects
share it without reaching into each other. Plain data: safe to import into Temporal's sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nivaran_sla.clocks import ClockEngine
from nivaran_sla.domain import Case, CaseStatus, DisposeInput, ShowCauseNotice
from nivaran_sla.policy import Event, Policy


@dataclass
class LifecycleCaseState:
    """Where one case stands inside its workflow: status, assignment, clocks and the notices it has issued."""

    case: Case
    status: CaseStatus = CaseStatus.REGISTERED
    position_id: str = ""
    department_code: str = ""
    officer_account_id: str | None = None
    assigned: bool = False
    # C6 / B2: the citizen was asked for information and has not answered yet (whatever the status says since).
    awaiting_info: bool = False
    # C3: registered with the cell, which has not assigned it to an office yet.
    awaiting_cell: bool = False
    assigned_at: datetime | None = None
    # Set as soon as a disposal is accepted, before it is recorded, so a second one is refused meanwhile.
    disposal: DisposeInput | None = None
    disposed_at: datetime | None = None
    acknowledgement_notice_id: str = ""
    policy: Policy | None = None
    engine: ClockEngine | None = None
    upsert_search_attributes: bool = False
    # The history's length when the last local activity ran (it tells its workflow task); see _fresh_time.
    effects_in_task: int = -1
    # The search attributes as last written (name -> value, None when unset).
    search_attributes: dict[str, Any] = field(default_factory=dict)
    wake: bool = False
    # While a fired clock's effects run: the deadline it was due at (carried on the events they record).
    firing_deadline: datetime | None = None
    counters: dict[str, int] = field(default_factory=dict)
    show_causes: dict[str, ShowCauseNotice] = field(default_factory=dict)
    charges: set[tuple[str, str]] = field(default_factory=set)
    # C5: the hop of the policy's review chain the final report is at, and the post reviewing it ("" when none).
    review_hop: int = 0
    reviewer_position_id: str = ""
    # S18: the DM above the case and the Commissioner above the DM, found when a show-cause reply comes in.
    dm_position_id: str = ""
    commissioner_position_id: str = ""
    commissioner_acted: set[str] = field(default_factory=set)
    # The nearest deadline as intake last recorded it (the officer's work list sorts on it).
    synced_deadline: tuple[datetime | None, str] = (None, "")
    # Issue 10: how often the ended case came back to its officer (reopened, or found unresolved, H3), and which
    # feedback sources spoke since it last ended (a complainant rates each ending once).
    returns: int = 0
    # B4: the appeals filed, in order ({kind, authority_position_id, filed_at, decision}), and the post of the
    # authority the pending one went to ("" when none is pending).
    appeals: list[dict[str, Any]] = field(default_factory=list)
    appellate_position_id: str = ""
    # B4: the case was rejected on a track with appeals, so the rejection is appealed like a decision.
    rejection_appealable: bool = False
    # B7 / M3: the hearings fixed, in order ({hearing_id, stage, held_on, at, hearing_officer_position_id,
    # public_authority_position_id, status: scheduled | heard | adjourned}).
    hearings: list[dict[str, Any]] = field(default_factory=list)
    # H2: the interim reply of a service-delay complaint was uploaded.
    interim_replied: bool = False
    # The return count at which the senior officer was last told of a claimed resolution (H3), the post told, and
    # the return count whose action-taken report that officer accepted.
    announced_returns: int = -1
    senior_position_id: str = ""
    atr_accepted_returns: int = -1
    # M4: the open watch item of the ended case ("" when none), when it opened, the next reminder and how many went.
    watch_item: str = ""
    watch_opened_at: datetime | None = None
    watch_next_reminder: datetime | None = None
    watch_reminders: int = 0
    feedback_given: set[str] = field(default_factory=set)
    # Actions taken before the policy was loaded; replayed into the clocks once it is.
    early_events: list[tuple[Event, datetime]] = field(default_factory=list)

    @classmethod
    def registered(cls, case: Case) -> LifecycleCaseState:
        """A freshly registered case, sitting with the position routing chose."""
        return cls(case=case, position_id=case.position_id, department_code=case.department_code)
