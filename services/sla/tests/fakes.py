"""In-process stand-ins for the services behind the lifecycle's activities, registered under the real activity
names so the workflow under test is exactly what the worker runs. The policy and the deadline arithmetic are the
real ones (the shipped policy files and holiday calendars)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nivaran_sla.activities import (
    COMPUTE_DEADLINE,
    GET_POSITION,
    ISSUE_SHOW_CAUSE,
    LOAD_CONFIG,
    LOAD_POLICY_VERSION,
    PROPOSE_TRANSFER,
    RECORD_BREACH,
    RECORD_RECOMMENDATION,
    RECORD_SHOW_CAUSE_REPLY,
    RECORD_TRANSITION,
    RECORD_TRANSITIONS,
    RESOLVE_ROLE,
    SEND_NOTICE,
)
from nivaran_sla.deadlines import CalendarKind, compute_deadline, load_calendar
from nivaran_sla.domain import (
    Breach,
    BreachRecord,
    DeadlineInput,
    LifecycleConfig,
    Localized,
    NoticeInput,
    NoticeResult,
    PolicyVersionInput,
    PositionRef,
    RecommendationRecord,
    ReplyRecord,
    RoleInput,
    ShowCauseIssue,
    ShowCauseNotice,
    TransferProposal,
    TransitionInput,
    TransitionResult,
)
from nivaran_sla.policy import PolicyError, PolicyRegistry

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
HOLIDAYS = ROOT / "data" / "holidays"


def policies_without_recourse() -> PolicyRegistry:
    """The shipped v1 policies: the lifecycle ends with the case (v2 waits out a 30-day recourse window after it,
    which only a time-skipping server gets through at once)."""
    return PolicyRegistry([p for p in PolicyRegistry.from_folder(POLICIES).all() if p.recourse is None])


# A small reporting chain: block officer -> L1 (district) -> DM -> Commissioner -> OSD to CS -> Chief Secretary.
POSITIONS = {
    "pos-bdo-phw": ("BDO", "FOOD", "Block Development Officer", "प्रखंड विकास पदाधिकारी"),
    "pos-mo-phw": ("DISPOSING", "FOOD", "Marketing Officer, Phulwari", "विपणन पदाधिकारी, फुलवारी"),
    "pos-dso-pat": ("L1", "FOOD", "District Supply Officer", "जिला आपूर्ति पदाधिकारी"),
    "pos-dm-pat": ("DM", "", "District Magistrate, Patna", "जिला पदाधिकारी, पटना"),
    "pos-comm-patna": ("COMMISSIONER", "", "Divisional Commissioner, Patna", "प्रमंडलीय आयुक्त, पटना"),
    "pos-osd-cs": ("OSD_CS", "", "OSD to the Chief Secretary", "मुख्य सचिव के विशेष कार्य पदाधिकारी"),
    "pos-cs": ("CHIEF_SECRETARY", "", "Chief Secretary", "मुख्य सचिव"),
    "pos-sec-food": ("SECRETARY", "FOOD", "Secretary, Food Department", "सचिव, खाद्य विभाग"),
    "pos-rev-co": ("CO", "REV", "Circle Officer", "अंचल अधिकारी"),
}
CHAIN = ["pos-dso-pat", "pos-dm-pat", "pos-comm-patna", "pos-osd-cs", "pos-cs"]
# The departments routing knows (a transfer proposal to any other is refused).
DEPARTMENTS = frozenset(department for _, department, _, _ in POSITIONS.values() if department)


# B7: every office hears cases on Wednesdays, but the Circle Officer's has fixed no hearing day.
HEARING_WEEKDAY = 3
NO_HEARING_DAY = frozenset({"pos-rev-co"})


def position_ref(position_id: str) -> PositionRef:
    role, department, en, hi = POSITIONS[position_id]
    weekday = 0 if position_id in NO_HEARING_DAY else HEARING_WEEKDAY
    return PositionRef(
        position_id, f"office-of-{position_id}", department, Localized(en, hi), Localized(en, hi), role, weekday
    )


@dataclass
class FakeServices:
    """Stands in for intake, notify, routing and the sla records, and records every call in order."""

    calls: list[Any] = field(default_factory=list)
    refused_templates: set[str] = field(default_factory=set)
    # When set, the `gated_event` transition ("disposed" unless told) waits for it, so a test can act while a
    # disposal (or another act that ends the case) is in flight.
    disposal_gate: asyncio.Event | None = None
    gated_event: str = "disposed"
    show_causes: dict[str, ShowCauseNotice] = field(default_factory=dict)
    breaches: dict[str, Breach] = field(default_factory=dict)
    activity_attempts: dict[str, int] = field(default_factory=dict)
    # The event types of each record_transitions call (a batch), in order.
    batches: list[list[str]] = field(default_factory=list)
    # Fail the first attempt of these activities after doing their work (a crash before the result was reported).
    fail_first_attempt: set[str] = field(default_factory=set)
    policies: PolicyRegistry = field(default_factory=lambda: PolicyRegistry.from_folder(POLICIES))
    # What the worker's NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES hands the workflow (only for servers that have them).
    upsert_search_attributes: bool = False

    def _flaky(self, name: str) -> None:
        self.activity_attempts[name] = self.activity_attempts.get(name, 0) + 1
        if name in self.fail_first_attempt and activity.info().attempt == 1:
            raise RuntimeError(f"{name}: worker lost before reporting")

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name=RECORD_TRANSITION)
        async def record_transition(transition: TransitionInput) -> TransitionResult:
            duplicate = any(
                isinstance(c, TransitionInput) and c.idempotency_key == transition.idempotency_key for c in self.calls
            )
            if not duplicate:
                self.calls.append(transition)
            if transition.event_type == self.gated_event and self.disposal_gate is not None:
                await self.disposal_gate.wait()
            return TransitionResult(event_id=f"event-{len(self.calls)}", duplicate=duplicate)

        @activity.defn(name=RECORD_TRANSITIONS)
        async def record_transitions(transitions: list[TransitionInput]) -> list[TransitionResult]:
            self.batches.append([t.event_type for t in transitions])
            return [await record_transition(transition) for transition in transitions]

        @activity.defn(name=SEND_NOTICE)
        async def send_notice(notice: NoticeInput) -> NoticeResult:
            duplicate = any(isinstance(c, NoticeInput) and c.dedupe_key == notice.dedupe_key for c in self.calls)
            if not duplicate:
                self.calls.append(notice)
            self._flaky(SEND_NOTICE)
            if notice.template in self.refused_templates:
                raise ApplicationError("template refused", type="grpc.INVALID_ARGUMENT", non_retryable=True)
            return NoticeResult(notice_id=f"notice-{notice.template}", channels=notice.channels, duplicate=duplicate)

        @activity.defn(name=LOAD_CONFIG)
        async def load_config(track: str) -> LifecycleConfig:
            return LifecycleConfig(
                policy=self.policies.latest(track).model_dump(mode="json"),
                upsert_search_attributes=self.upsert_search_attributes,
            )

        @activity.defn(name=LOAD_POLICY_VERSION)
        async def load_policy_version(request: PolicyVersionInput) -> LifecycleConfig:
            try:
                policy = self.policies.get(f"{request.track}@v{request.version}")
            except PolicyError as exc:
                raise ApplicationError(str(exc), type="policy.unknown_version", non_retryable=True) from exc
            return LifecycleConfig(policy=policy.model_dump(mode="json"))

        @activity.defn(name=COMPUTE_DEADLINE)
        async def compute(request: DeadlineInput) -> datetime:
            calendar = load_calendar(HOLIDAYS, request.state_code)
            return compute_deadline(
                request.start, request.duration, CalendarKind(request.calendar), calendar, strict=False
            )

        @activity.defn(name=RESOLVE_ROLE)
        async def resolve_role(request: RoleInput) -> PositionRef | None:
            start = CHAIN.index(request.position_id) if request.position_id in CHAIN else 0
            for position_id in [request.position_id, *CHAIN[start:]]:
                if POSITIONS[position_id][0] == request.role:
                    return position_ref(position_id)
            if request.department_code:
                # A post beside the chain: the department's own (its SECRETARY, C5/S14).
                for position_id, (role, department, _, _) in POSITIONS.items():
                    if role == request.role and department == request.department_code:
                        return position_ref(position_id)
            return None

        @activity.defn(name=PROPOSE_TRANSFER)
        async def propose_transfer(request: TransferProposal) -> str:
            if request.to_department_code not in DEPARTMENTS:
                raise ApplicationError(
                    f"no department {request.to_department_code!r}", type="grpc.INVALID_ARGUMENT", non_retryable=True
                )
            if request not in self.calls:  # a retried attempt proposes nothing twice
                self.calls.append(request)
            return f"transfer-{self.transfer_proposals().index(request) + 1}"

        @activity.defn(name=GET_POSITION)
        async def get_position(position_id: str) -> PositionRef:
            if position_id not in POSITIONS:
                raise ApplicationError("no such position", type="grpc.NOT_FOUND", non_retryable=True)
            return position_ref(position_id)

        @activity.defn(name=ISSUE_SHOW_CAUSE)
        async def issue_show_cause(request: ShowCauseIssue) -> ShowCauseNotice:
            if request.idempotency_key not in self.show_causes:
                self.show_causes[request.idempotency_key] = ShowCauseNotice(
                    id=str(uuid.uuid4()),
                    grievance_id=request.grievance_id,
                    registration_number=request.registration_number,
                    officer_account_id=request.officer_account_id or "",
                    position_id=request.position_id,
                    number=request.number,
                    issued_at=request.issued_at,
                    due_by=request.due_by,
                )
            self._flaky(ISSUE_SHOW_CAUSE)
            return self.show_causes[request.idempotency_key]

        def _notice(notice_id: str) -> tuple[str, ShowCauseNotice]:
            return next((k, n) for k, n in self.show_causes.items() if n.id == notice_id)

        @activity.defn(name=RECORD_SHOW_CAUSE_REPLY)
        async def record_reply(request: ReplyRecord) -> ShowCauseNotice:
            key, notice = _notice(request.notice_id)
            self.show_causes[key] = ShowCauseNotice(
                **{**notice.__dict__, "reply": request.reply, "replied_at": request.replied_at}
            )
            return self.show_causes[key]

        @activity.defn(name=RECORD_RECOMMENDATION)
        async def record_recommendation(request: RecommendationRecord) -> ShowCauseNotice:
            key, notice = _notice(request.notice_id)
            self.show_causes[key] = ShowCauseNotice(
                **{
                    **notice.__dict__,
                    "recommendation": request.recommendation,
                    "recommended_at": request.recommended_at,
                }
            )
            return self.show_causes[key]

        @activity.defn(name=RECORD_BREACH)
        async def record_breach(request: BreachRecord) -> Breach:
            if request.idempotency_key not in self.breaches:
                self.breaches[request.idempotency_key] = Breach(
                    id=str(uuid.uuid4()),
                    grievance_id=request.grievance_id,
                    registration_number=request.registration_number,
                    position_id=request.position_id,
                    district_code=request.district_code,
                    rule=request.rule,
                    recorded_at=request.recorded_at,
                    details=request.details,
                )
            return self.breaches[request.idempotency_key]

        return [
            record_transition,
            record_transitions,
            send_notice,
            load_config,
            load_policy_version,
            compute,
            resolve_role,
            propose_transfer,
            get_position,
            issue_show_cause,
            record_reply,
            record_recommendation,
            record_breach,
        ]

    def transitions(self, event_type: str) -> list[TransitionInput]:
        return [c for c in self.calls if isinstance(c, TransitionInput) and c.event_type == event_type]

    def events(self) -> list[str]:
        return [c.event_type for c in self.calls if isinstance(c, TransitionInput)]

    def transfer_proposals(self) -> list[TransferProposal]:
        return [c for c in self.calls if isinstance(c, TransferProposal)]

    def steps(self) -> list[str]:
        return [
            c.event_type
            if isinstance(c, TransitionInput)
            else f"transfer:{c.to_department_code}"
            if isinstance(c, TransferProposal)
            else f"notice:{c.template}"
            for c in self.calls
        ]


async def assigned_by_the_cell(case: Any, to_position_id: str = "") -> None:
    """C3: the cell assigns a CSPGRS case registered with it (to the proposed office unless told otherwise); the
    office's report clocks start now. `case` is a test module's running Case (handle, settle)."""
    from nivaran_sla.domain import UPDATE_ASSIGN, AssignInput

    await case.handle.execute_update(
        UPDATE_ASSIGN, AssignInput(by_account_id="acct-osd-cs", to_position_id=to_position_id)
    )
    await case.settle()
