"""The lifecycle's domain objects: workflow state, activity inputs and results, show-cause notices.

These are plain dataclasses so the pydantic data converter can carry them through Temporal, and the workflow
sandbox can import them without pulling in grpc or sqlalchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from nivaran_common.casework import Caller


class CaseStatus(StrEnum):
    """Where a case stands; the values mirror intake's Status enum without its STATUS_ prefix."""

    REGISTERED = "registered"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_CITIZEN = "awaiting_citizen"
    ESCALATED = "escalated"
    DISPOSED = "disposed"
    REJECTED = "rejected"
    CLOSED = "closed"
    REOPENED = "reopened"
    # H3: the complainant's feedback (or the call centre's call) contradicted the claimed resolution.
    UNRESOLVED = "unresolved"
    UNDER_APPEAL = "under_appeal"
    PENDING_TRANSFER = "pending_transfer"


class NoticeChannel(StrEnum):
    """How a notice reaches its recipient; the values mirror notify's DeliveryChannel."""

    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class RecipientKind(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"


@dataclass(frozen=True)
class Localized:
    """Text a person reads, in English and Hindi."""

    en: str
    hi: str


@dataclass(frozen=True)
class Case:
    """What the lifecycle knows about its grievance, taken once from the workflow input."""

    grievance_id: str
    registration_number: str
    track: str
    language: str
    category_code: str
    department_code: str
    office_id: str
    position_id: str
    filed_at: datetime | None
    complainant_name: str
    complainant_email: str
    complainant_phone: str
    complainant_account_id: str
    category_name: Localized
    office_name: Localized
    position_title: Localized
    state_code: str = "BR"
    district_code: str = ""
    service_time_limit_days: int = 0
    office_level: str = ""
    # S1: the day (YYYY-MM-DD, India) a camp took the application on paper; "" for any other filing.
    camp_received_on: str = ""
    # B5: the channel the case was filed by (intake's Channel value: web, whatsapp, sms, email, ...), "" when unknown.
    channel: str = ""
    # C2: the complainant's preferred channel besides the app (sms, whatsapp, email); "" for every contact given.
    preferred_channel: str = ""


@dataclass(frozen=True)
class Actor:
    """Who caused a transition; the lifecycle itself acts as the system."""

    account_id: str = ""
    role: str = "system"
    position_id: str = ""


@dataclass(frozen=True)
class Assignment:
    """The office and position a case now sits with."""

    department_code: str
    office_id: str
    office_name: Localized
    position_id: str
    position_title: Localized
    assigned_at: datetime


@dataclass(frozen=True)
class TransitionInput:
    """One event for intake's timeline, with the projection changes it brings."""

    grievance_id: str
    idempotency_key: str
    event_type: str
    summary: Localized
    occurred_at: datetime
    actor: Actor = field(default_factory=Actor)
    new_status: CaseStatus | None = None
    new_assignment: Assignment | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    grant_visibility_to_roles: list[str] = field(default_factory=list)
    clear_visibility: bool = False
    # The case's nearest deadline and the clock that owns it, as the clocks stand once this event has been applied
    # (the officer's work list sorts on it); `clear_deadline` when no clock runs any more.
    current_deadline: datetime | None = None
    deadline_clock: str = ""
    clear_deadline: bool = False
    # On the events a clock's firing records: the deadline that clock was due at. Not sent to intake; the activity
    # observes the deadline lag from it (nivaran_sla.metrics), since workflow code replays and must not count.
    fired_deadline: datetime | None = None


@dataclass(frozen=True)
class TransitionResult:
    event_id: str
    duplicate: bool


@dataclass(frozen=True)
class Recipient:
    """Who a notice is for: a citizen by account and addresses, or an officer by position."""

    kind: RecipientKind
    name: str = ""
    email: str = ""
    phone: str = ""
    account_id: str = ""
    position_id: str = ""
    preferred_language: str = ""


@dataclass(frozen=True)
class NoticeInput:
    """One notice to send through notify; `dedupe_key` makes a repeat harmless."""

    dedupe_key: str
    template: str
    grievance_id: str
    registration_number: str
    recipient: Recipient
    channels: list[NoticeChannel]
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NoticeResult:
    notice_id: str
    channels: list[NoticeChannel]
    duplicate: bool


@dataclass(frozen=True)
class DisposeInput:
    """An officer disposes of the case (the `dispose` update)."""

    disposed_by: str
    outcome: str
    disposed_at: datetime | None = None
    position_id: str = ""
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


@dataclass(frozen=True)
class LifecycleState:
    """What the `state` query answers."""

    status: CaseStatus
    position_id: str
    disposed: bool
    acknowledgement_notice_id: str = ""
    # C5: the post that reviews the final report now ("" when no report is under review).
    reviewer_position_id: str = ""


@dataclass(frozen=True)
class LifecycleResult:
    """What a finished lifecycle returns."""

    grievance_id: str
    status: CaseStatus
    disposed_at: datetime | None


@dataclass(frozen=True)
class ShowCauseNotice:
    """A show-cause notice (S9 day 10, S11 day 21), its reply and the reviewer's recommendation (S18)."""

    id: str
    grievance_id: str
    registration_number: str
    officer_account_id: str
    position_id: str
    number: int
    issued_at: datetime
    due_by: datetime
    reply: str | None = None
    replied_at: datetime | None = None
    recommendation: str | None = None
    recommended_at: datetime | None = None


@dataclass(frozen=True)
class Breach:
    """A recorded breach of a rule (S8, S13, S18, M2, H2 …) for humans to act on; Nivaran never sanctions."""

    id: str
    grievance_id: str
    registration_number: str
    position_id: str
    district_code: str
    rule: str
    recorded_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


# The lifecycle's Updates and Queries, by name; the sla gRPC server and identity reach a running case through these.
UPDATE_ASSIGN = "assign"
UPDATE_DISPOSE = "dispose"
UPDATE_REJECT = "reject"
UPDATE_SUBMIT_REPORT = "submit_report"
UPDATE_REVIEW_REPORT = "review_final_report"
UPDATE_REQUEST_INFO = "request_info"
UPDATE_CITIZEN_RESPONDED = "citizen_responded"
UPDATE_INTERIM_ORDER = "issue_interim_order"
UPDATE_SCHEME_ORDER = "issue_scheme_order"
UPDATE_REPLY_SHOW_CAUSE = "reply_show_cause"
UPDATE_RECORD_RECOMMENDATION = "record_recommendation"
UPDATE_CHARGE_TAKEN = "charge_taken"
UPDATE_MIGRATE_POLICY = "migrate_policy"
UPDATE_REOPEN = "reopen"
UPDATE_FEEDBACK = "feedback"
UPDATE_OPEN_WATCH = "open_watch"
UPDATE_CLOSE_WATCH = "close_watch"
UPDATE_MARK_DUPLICATE = "mark_duplicate"
UPDATE_INTERIM_REPLY = "interim_reply"
UPDATE_APPEAL = "appeal"
UPDATE_DECIDE_APPEAL = "decide_appeal"
UPDATE_SCHEDULE_HEARING = "schedule_hearing"
UPDATE_RECORD_HEARING = "record_hearing"
UPDATE_ACCEPT_ATR = "accept_atr"
QUERY_CLOCKS = "clocks"
QUERY_STATE = "state"


@dataclass(frozen=True)
class ReplyShowCauseInput:
    """The officer answers a show-cause notice on the portal (S9, S11)."""

    notice_id: str
    reply: str
    replied_by: str
    replied_at: datetime | None = None
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


@dataclass(frozen=True)
class RecommendationInput:
    """S18: the DM reviews a reply and recommends action (by_role "DM"), or the Commissioner acts or forwards it
    (by_role "COMMISSIONER"); each within 1 day."""

    notice_id: str
    recommendation: str
    by_account_id: str
    by_role: str = "DM"
    # For the Commissioner (S18): "act" on the recommendation, or "forward" it to the competent authority.
    decision: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class ChargeTakenInput:
    """S7: a new officer took charge of the case's position; personal clocks run from `charge_from`."""

    position_id: str
    account_id: str
    charge_from: datetime


@dataclass(frozen=True)
class MigratePolicyInput:
    """Move a running case to another version of its track's policy. Loading a new policy file never does this by
    itself: a case keeps the version it started under until someone with the authority migrates it, with a reason."""

    version: int
    by_account_id: str
    reason: str


@dataclass(frozen=True)
class ClockView:
    """One clock of a running case, as the `clocks` query reports it."""

    clock_id: str
    rule: str
    name: Localized
    started_at: datetime | None
    deadline: datetime | None
    paused: bool
    remaining_seconds: float | None
    running: bool
    fired: bool


# --- Officer and citizen actions (Updates), each validated before anything is written ---------------------------


@dataclass(frozen=True)
class ForwardInput:
    """S8: the L1 forwards the case within the department to a subordinate position."""

    to_position_id: str
    by_account_id: str
    note: str = ""


@dataclass(frozen=True)
class TransferInput:
    """S5 (another department, after the DM approved it in the moderator queue) or B6 (another PGRO)."""

    to_position_id: str
    by_account_id: str
    reason: str
    kind: str = "department"  # "department" (S5) or "jurisdiction" (B6)
    transfer_id: str = ""


@dataclass(frozen=True)
class ReportInput:
    """An action-taken, preliminary (C4, 24 h) or final (C4, 72 h) report."""

    kind: str  # "action", "preliminary", "final" or "status_update"
    text: str
    by_account_id: str
    # C4 §5.2, as structured fields (None: not answered).
    concerns_office: bool | None = None
    right_department_code: str = ""
    aware_before: bool | None = None
    action_taken: str = ""
    resolvable_within_72h: bool | None = None
    expected_resolution_by: datetime | None = None
    reasons_not_resolvable: str = ""
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


@dataclass(frozen=True)
class RejectInput:
    """S15: rejection as outside the subject, area or competence needs a stated reason."""

    ground: str  # "subject", "area" or "competence"
    reason: str
    by_account_id: str
    caller: Caller | None = None


@dataclass(frozen=True)
class InfoRequestInput:
    """B2 / C6: ask the citizen for missing information; the decision clock pauses meanwhile."""

    question: str
    by_account_id: str
    caller: Caller | None = None


@dataclass(frozen=True)
class CitizenResponseInput:
    """The citizen answers an information request; paused clocks resume."""

    response: str
    by_account_id: str = ""
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


@dataclass(frozen=True)
class InterimOrderInput:
    """S12: the officer issues the interim order on day 30 (with a target date for services over 30 days)."""

    order: str
    by_account_id: str
    target_date: datetime | None = None
    # S12: the officer named on the order, personally responsible for delivery by the target date.
    responsible_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class AssignInput:
    """C3: the cell assigns a case registered with it to an office (default: the one routing proposed)."""

    by_account_id: str
    to_position_id: str = ""
    note: str = ""
    # The time line the cell sets for the office's final report (on the timeline; the statutory clocks still run).
    report_by: datetime | None = None
    caller: Caller | None = None


@dataclass(frozen=True)
class SchemeOrderInput:
    """S14: an order on a scheme request with a recommendation; it disposes the case, and the department gets a
    copy."""

    order: str
    recommendation: str
    by_account_id: str
    caller: Caller | None = None


@dataclass(frozen=True)
class ReviewInput:
    """C5/C7: the final report is accepted (the case closes) or returned for more information."""

    accept: bool
    note: str
    by_account_id: str
    # C5: "forward" to the next hop, "return" to the officer, or "close" (the CS cell); "" reads `accept`.
    decision: str = ""
    caller: Caller | None = None


# --- Activity inputs and results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LifecycleConfig:
    """What the workflow reads once at start: its track's policy (so history keeps the version it started under)."""

    policy: dict[str, Any]
    upsert_search_attributes: bool = False


@dataclass(frozen=True)
class PolicyVersionInput:
    """One stored version of a track's policy."""

    track: str
    version: int


@dataclass(frozen=True)
class DeadlineInput:
    start: datetime
    duration: str
    calendar: str
    state_code: str


@dataclass(frozen=True)
class RoleInput:
    """Find the position holding `role` above `position_id` in its reporting chain (escalation, S10)."""

    position_id: str
    role: str
    # Where the chain has no such post (a department's secretary sits beside it, C5/S14): the department's own.
    department_code: str = ""


@dataclass(frozen=True)
class TransferProposal:
    """C4: the reporting officer says the grievance is not their office's; a transfer proposal goes to the DM's
    moderator queue (S5)."""

    grievance_id: str
    from_position_id: str
    to_department_code: str
    reason: str
    by_account_id: str
    state_code: str
    district_code: str


@dataclass(frozen=True)
class PositionRef:
    position_id: str
    office_id: str
    department_code: str
    title: Localized
    office_name: Localized
    role: str = ""
    # B7: the office's weekly hearing day (ISO weekday, 1 = Monday); 0 when the office has fixed none.
    office_hearing_weekday: int = 0


@dataclass(frozen=True)
class ShowCauseIssue:
    idempotency_key: str
    grievance_id: str
    registration_number: str
    position_id: str
    officer_account_id: str | None
    number: int
    issued_at: datetime
    due_by: datetime


@dataclass(frozen=True)
class ReplyRecord:
    notice_id: str
    reply: str
    replied_at: datetime


@dataclass(frozen=True)
class RecommendationRecord:
    notice_id: str
    recommendation: str
    recommended_at: datetime


@dataclass(frozen=True)
class BreachRecord:
    idempotency_key: str
    grievance_id: str
    registration_number: str
    position_id: str
    district_code: str
    rule: str
    recorded_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
