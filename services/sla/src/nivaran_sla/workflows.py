"""GrievanceLifecycle: the single writer of a case's state transitions (one workflow per grievance).

This module runs inside Temporal's sandbox and is replayed, so it imports little and does nothing but decide:
every side effect goes through an activity that carries an idempotency key.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran.common.v1 import common_pb2
    from nivaran.sla.v1 import sla_pb2
    from nivaran_common.casework import PERMISSION_DENIED, Act, Caller, CaseParties, NotPermitted, check_act
    from nivaran_common.temporal import (
        DEADLINE_ATTRIBUTE,
        DISTRICT_ATTRIBUTE,
        LIFECYCLE_WORKFLOW,
        OFFICE_LEVEL_ATTRIBUTE,
        STATUS_ATTRIBUTE,
    )
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.clocks import ClockEngine, NeedsDeadline, elapsed_deadline
    from nivaran_sla.deadlines import CalendarKind
    from nivaran_sla.domain import (
        QUERY_CLOCKS,
        UPDATE_ASSIGN,
        UPDATE_CHARGE_TAKEN,
        UPDATE_CITIZEN_RESPONDED,
        UPDATE_INTERIM_ORDER,
        UPDATE_MIGRATE_POLICY,
        UPDATE_RECORD_RECOMMENDATION,
        UPDATE_REPLY_SHOW_CAUSE,
        UPDATE_REQUEST_INFO,
        UPDATE_REVIEW_REPORT,
        UPDATE_SCHEME_ORDER,
        Actor,
        AssignInput,
        Assignment,
        Case,
        CaseStatus,
        ChargeTakenInput,
        CitizenResponseInput,
        ClockView,
        DeadlineInput,
        DisposeInput,
        ForwardInput,
        InfoRequestInput,
        InterimOrderInput,
        LifecycleConfig,
        LifecycleResult,
        LifecycleState,
        Localized,
        MigratePolicyInput,
        NoticeInput,
        NoticeResult,
        PolicyVersionInput,
        PositionRef,
        RecommendationInput,
        RecommendationRecord,
        RejectInput,
        ReplyRecord,
        ReplyShowCauseInput,
        ReportInput,
        ReviewInput,
        RoleInput,
        SchemeOrderInput,
        ShowCauseNotice,
        TransferInput,
        TransferProposal,
        TransitionInput,
    )
    from nivaran_sla.lifecycle_effects import DeadlineEffects
    from nivaran_sla.lifecycle_notices import (
        acknowledgement_notice,
        case_assigned_notice,
        citizen_notice,
        officer_notice,
        reassigned_names,
    )
    from nivaran_sla.lifecycle_state import LifecycleCaseState
    from nivaran_sla.policy import (
        Event,
        Policy,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Histories recorded before the lifecycle kept intake's nearest deadline in step replay without the extra records.
DEADLINE_SYNC_PATCH = "deadline-sync-v1"
# Histories recorded before C3 (the cell assigns CSPGRS cases) loaded the policy after assigning the case.
CELL_ASSIGNMENT_PATCH = "cell-assignment-v1"
# No attempt limit: a side effect the case needs is retried until the service is back; a refusal on the merits
# comes back non-retryable from the activity and ends the retries at once.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)


def case_from_proto(lifecycle: sla_pb2.LifecycleInput) -> Case:
    """Take what the lifecycle needs from intake's start request."""

    def text(value: common_pb2.LocalizedText) -> Localized:
        # A name missing in one language still has to show something to that language's reader.
        return Localized(en=value.en or value.hi, hi=value.hi or value.en)

    return Case(
        grievance_id=lifecycle.grievance_id,
        registration_number=lifecycle.registration_number,
        track=lifecycle.track,
        language=lifecycle.language,
        category_code=lifecycle.category_code,
        department_code=lifecycle.department_code,
        office_id=lifecycle.office_id,
        position_id=lifecycle.position_id,
        filed_at=lifecycle.filed_at.ToDatetime(tzinfo=UTC) if lifecycle.HasField("filed_at") else None,
        complainant_name=lifecycle.complainant_name,
        complainant_email=lifecycle.complainant_email,
        complainant_phone=lifecycle.complainant_phone,
        complainant_account_id=lifecycle.complainant_account_id,
        category_name=text(lifecycle.category_name),
        office_name=text(lifecycle.office_name),
        position_title=text(lifecycle.position_title),
        state_code=lifecycle.location.state_code or "BR",
        district_code=lifecycle.location.district_code,
        service_time_limit_days=lifecycle.service_time_limit_days,
        office_level=lifecycle.office_level,
    )


TERMINAL = frozenset({CaseStatus.DISPOSED, CaseStatus.REJECTED, CaseStatus.CLOSED})
REPORT_EVENTS = {
    "action": Event.ACTION_REPORTED,
    "preliminary": Event.PRELIMINARY_REPORTED,
    "final": Event.FINAL_REPORTED,
    # S11: the day-20 status update is an action report of another kind.
    "status_update": Event.ACTION_REPORTED,
}
REPORT_NAMES = {
    "action": Localized(en="Action-taken report", hi="कृत कार्रवाई प्रतिवेदन"),
    "preliminary": Localized(en="Preliminary report", hi="प्रारंभिक प्रतिवेदन"),
    "final": Localized(en="Final report", hi="अंतिम प्रतिवेदन"),
    "status_update": Localized(en="Status update", hi="अद्यतन स्थिति प्रतिवेदन"),
}
REJECTION_GROUNDS = {
    "subject": Localized(en="outside the subject", hi="विषय से बाहर"),
    "area": Localized(en="outside the area", hi="क्षेत्र से बाहर"),
    "competence": Localized(en="outside the competence", hi="सक्षमता से बाहर"),
}


def report_content(report: ReportInput) -> dict[str, Any]:
    """C4 §5.2: the structured answers of a report, as they go on the timeline."""
    content: dict[str, Any] = {"action_taken": report.action_taken}
    for name in ("concerns_office", "aware_before", "resolvable_within_72h"):
        value = getattr(report, name)
        if value is not None:
            content[name] = value
    if report.right_department_code:
        content["right_department_code"] = report.right_department_code
    if report.expected_resolution_by is not None:
        content["expected_resolution_by"] = report.expected_resolution_by.isoformat()
    if report.reasons_not_resolvable:
        content["reasons_not_resolvable"] = report.reasons_not_resolvable
    if report.attachment_ids:
        content["attachment_ids"] = list(report.attachment_ids)
    return content


def _bilingual(en: str, hi: str) -> str:
    return f"{en} / {hi}"


@workflow.defn(name=LIFECYCLE_WORKFLOW)
class GrievanceLifecycle:
    """The single writer of a case's transitions: assigns and acknowledges it, then runs the clocks of its track
    policy (updatable timers) and takes officers' and citizens' actions as Updates until the case is over."""

    @workflow.init
    def __init__(self, lifecycle: sla_pb2.LifecycleInput) -> None:
        self._s = LifecycleCaseState.registered(case_from_proto(lifecycle))
        self._effects = DeadlineEffects(self._s, self)

    @workflow.run
    async def run(self, lifecycle: sla_pb2.LifecycleInput) -> LifecycleResult:
        """Run the case from assignment to closure."""
        if not workflow.patched(CELL_ASSIGNMENT_PATCH):
            # Histories recorded before C3: assigned at once, then the policy loaded.
            await self._assign()
            await self._acknowledge()
            await self._load_config()
            await self._start_clocks(assigned=True)
        else:
            await self._load_config()
            assert self._s.policy is not None
            if self._s.policy.assigned_by:
                # C3: the cell registers the case and assigns it to a department or district; until it does, the
                # case sits with the cell, and its one hour to assign runs (C7).
                await self._register_at_cell(self._s.policy.assigned_by)
                await self._acknowledge(tell_the_officer=False)
                await self._start_clocks(assigned=False)
            else:
                await self._assign()
                await self._acknowledge()
                await self._start_clocks(assigned=True)
        await self._run_clocks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return LifecycleResult(
            grievance_id=self._s.case.grievance_id, status=self._s.status, disposed_at=self._s.disposed_at
        )

    async def _load_config(self) -> None:
        config: LifecycleConfig = await workflow.execute_activity_method(
            LifecycleActivities.load_config,
            self._s.case.track,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self._s.policy = Policy.model_validate(config.policy)
        self._s.engine = ClockEngine.for_policy(self._s.policy)
        self._s.upsert_search_attributes = config.upsert_search_attributes

    async def _start_clocks(self, *, assigned: bool) -> None:
        """Feed the case's first events (and any act that came before the policy was loaded) to the clocks."""
        filed_at = self._s.case.filed_at or workflow.now()
        early, self._s.early_events = self._s.early_events, []
        await self.on_event(Event.REGISTERED, filed_at, sync=False)
        if assigned:
            await self.on_event(Event.ASSIGNED, self._s.assigned_at or workflow.now(), sync=False)
        for event, at in early:
            await self.on_event(event, at, sync=False)
        await self._sync_deadline()

    async def _run_clocks(self) -> None:
        """The updatable timer: sleep until the earliest deadline, or until an action changes the clocks."""
        engine = self._s.engine
        assert engine is not None
        while True:
            due = engine.next_due()
            if due is None and self._s.status in TERMINAL:
                return
            self._s.wake = False
            if due is not None and due.deadline is not None:
                remaining = (due.deadline - workflow.now()).total_seconds()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(lambda: self._s.wake, timeout=remaining)
            else:
                await workflow.wait_condition(lambda: self._s.wake)
            for state in engine.due(workflow.now()):
                await self._effects.fire(state.clock_id, state.generation)
            self._update_search_attributes()
            await self._sync_deadline()

    # --- queries -------------------------------------------------------------------------------------------------

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

    # --- updates: every act on the case (docs/architecture.md, "Acts on a case") ------------------------------------
    #
    # Each act's validator refuses what the case's state or the caller's posts do not allow, before anything is
    # written to history; the handler then does its side effects in an order that leaves nothing half-applied when
    # one of them is refused (a refusal on the merits comes before the first timeline write).

    def _state_words(self) -> str:
        return f"(the case is {self._s.status.value} / मामले की स्थिति: {self._s.status.value})"

    def _require_open(self) -> None:
        if self._s.disposal is not None or self._s.status in TERMINAL:
            raise ValueError(
                _bilingual("the case is already disposed", "मामले का निष्पादन पहले ही हो चुका है")
                + f" {self._state_words()}"
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
        )

    def _authorize(self, act: Act, caller: Caller | None, notice_id: str = "") -> None:
        """Refuse an act the caller's posts do not allow. Every public door (sla's ActOnCase) names the caller;
        only the lifecycle's own acts and in-process harnesses come without one."""
        if caller is None:
            return
        try:
            check_act(act, caller, self._parties(notice_id))
        except NotPermitted as exc:
            raise ApplicationError(str(exc), type=PERMISSION_DENIED, non_retryable=True) from None

    def _acting_position(self, caller: Caller | None, fallback: str = "") -> str:
        return self._s.position_id if caller is not None else (fallback or self._s.position_id)

    @workflow.update
    async def dispose(self, request: DisposeInput) -> LifecycleState:
        """The officer disposes of the case with the action taken; clocks stop, visibility ends."""
        self._s.disposal = request
        await workflow.wait_condition(lambda: self._s.assigned)
        disposed_at = request.disposed_at or workflow.now()
        outcome = request.outcome.strip()
        payload: dict[str, Any] = {"outcome": outcome, "disposed_by": request.disposed_by}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        try:
            await self.record(
                TransitionInput(
                    grievance_id=self._s.case.grievance_id,
                    idempotency_key=f"{workflow.info().workflow_id}:disposed",
                    event_type="disposed",
                    summary=Localized(en=f"Disposed: {outcome}", hi=f"निष्पादित: {outcome}"),
                    occurred_at=disposed_at,
                    actor=Actor(
                        account_id=request.disposed_by,
                        role="officer",
                        position_id=request.position_id or self._s.position_id,
                    ),
                    new_status=CaseStatus.DISPOSED,
                    payload=payload,
                    clear_visibility=True,
                )
            )
        except ActivityError:
            self._s.disposal = None
            raise
        self._s.disposed_at = disposed_at
        self._s.status = CaseStatus.DISPOSED
        await self.on_event(Event.DISPOSED, disposed_at)
        if request.caller is not None:
            await self._tell_citizen_outcome(
                "disposal",
                Localized(en="Your grievance has been disposed of", hi="आपकी शिकायत का निष्पादन कर दिया गया है"),
                Localized(en=outcome, hi=outcome),
            )
        return self.state()

    def _require_not_under_review(self, caller: Caller | None) -> None:
        """C5: once a final report is under review the chain ends the case; its officer no longer disposes of it."""
        if caller is not None and self._s.reviewer_position_id:
            raise ValueError(
                "the final report is under review; the review chain closes the case or returns it (C5) / "
                f"अंतिम प्रतिवेदन समीक्षाधीन है {self._state_words()}"
            )

    @dispose.validator
    def validate_dispose(self, request: DisposeInput) -> None:
        """Refuse a disposal the case cannot take, before anything is written to history."""
        self._require_open()
        self._require_not_under_review(request.caller)
        if not request.outcome.strip():
            raise ValueError("outcome: a disposal needs an outcome / निष्पादन का परिणाम लिखना आवश्यक है")
        if not request.disposed_by.strip():
            raise ValueError("disposed_by: a disposal needs the disposing officer / निष्पादन करने वाला पदाधिकारी आवश्यक")
        self._authorize(Act.DISPOSE, request.caller)

    @workflow.update
    async def reject(self, request: RejectInput) -> LifecycleState:
        """S15: reject as outside the subject, area or competence, with the reason stated."""
        self._s.disposal = DisposeInput(disposed_by=request.by_account_id, outcome=request.reason)
        await workflow.wait_condition(lambda: self._s.assigned)
        ground = REJECTION_GROUNDS[request.ground]
        await self._transition(
            "rejected",
            Localized(en=f"Rejected ({ground.en}): {request.reason}", hi=f"अस्वीकृत ({ground.hi}): {request.reason}"),
            request.by_account_id,
            new_status=CaseStatus.REJECTED,
            payload={"ground": request.ground, "reason": request.reason},
            clear_visibility=True,
        )
        self._s.status = CaseStatus.REJECTED
        await self.on_event(Event.REJECTED, workflow.now())
        if request.caller is not None:
            await self._tell_citizen_outcome(
                "rejection",
                Localized(
                    en=f"Your grievance was rejected ({ground.en})", hi=f"आपकी शिकायत अस्वीकृत की गई ({ground.hi})"
                ),
                Localized(en=request.reason, hi=request.reason),
            )
        return self.state()

    @reject.validator
    def validate_reject(self, request: RejectInput) -> None:
        self._require_open()
        self._require_not_under_review(request.caller)
        if request.ground not in REJECTION_GROUNDS:
            raise ValueError("ground: must be subject, area or competence / आधार: विषय, क्षेत्र या सक्षमता")
        self._require_text("reason", request.reason, 10)
        self._authorize(Act.REJECT, request.caller)

    @workflow.update
    async def forward(self, request: ForwardInput) -> LifecycleState:
        """S8: the L1 forwards within the department; the disposing officer's 10-day clock starts."""
        await workflow.wait_condition(lambda: self._s.assigned)
        target = await self._position(request.to_position_id)
        if target.department_code and target.department_code != self._s.department_code:
            raise ApplicationError(
                _bilingual(
                    "forwarding stays within the department; another department needs a transfer through the DM (S5)",
                    "अग्रसारण विभाग के भीतर ही; अन्य विभाग हेतु जिला पदाधिकारी के माध्यम से अंतरण (S5)",
                ),
                type="forward.other_department",
                non_retryable=True,
            )
        await self.move(target, "forwarded", request.by_account_id, request.note)
        await self.on_event(Event.FORWARDED, workflow.now())
        return self.state()

    @forward.validator
    def validate_forward(self, request: ForwardInput) -> None:
        self._require_open()
        if not request.to_position_id.strip():
            raise ValueError("to_position_id: required / आवश्यक")
        if request.to_position_id == self._s.position_id:
            raise ValueError("to_position_id: the case is already there / मामला पहले से वहीं है")

    @workflow.update
    async def transfer(self, request: TransferInput) -> LifecycleState:
        """S5 (approved by the DM) or B6 (another PGRO's jurisdiction; the complainant is told, within 7 days)."""
        await workflow.wait_condition(lambda: self._s.assigned)
        target = await self._position(request.to_position_id)
        self._s.department_code = target.department_code or self._s.department_code
        await self.move(target, "transferred", request.by_account_id, request.reason, {"kind": request.kind})
        await self.on_event(Event.TRANSFERRED, workflow.now())
        informed = await self.send(
            citizen_notice(
                self._s.case,
                "transfer_intimation",
                Localized(
                    en=f"Your grievance was transferred to {target.title.en}",
                    hi=f"आपकी शिकायत {target.title.hi} को अंतरित की गई",
                ),
                Localized(en=request.reason, hi=request.reason),
                self._next_key("citizen_transfer_intimation"),
            )
        )
        if informed is not None:
            await self.on_event(Event.CITIZEN_INFORMED, workflow.now())
        return self.state()

    @transfer.validator
    def validate_transfer(self, request: TransferInput) -> None:
        self._require_open()
        if request.kind not in {"department", "jurisdiction"}:
            raise ValueError("kind: department or jurisdiction / विभाग या क्षेत्राधिकार")
        if request.kind == "department" and not request.transfer_id:
            raise ValueError(
                "transfer_id: a department transfer needs the DM's approval (S5) / जिला पदाधिकारी की स्वीकृति आवश्यक"
            )
        self._require_text("reason", request.reason, 10)
        if not request.to_position_id.strip():
            raise ValueError("to_position_id: required / आवश्यक")

    @workflow.update
    async def submit_report(self, request: ReportInput) -> LifecycleState:
        """C4 preliminary (24 h) and final (72 h) reports with the §5.2 content; the S9/S11 action-taken report and
        the day-20 status update. A report saying the case is not this office's proposes a transfer (S5)."""
        await workflow.wait_condition(lambda: self._s.assigned)
        name = REPORT_NAMES[request.kind]
        payload: dict[str, Any] = {"kind": request.kind, "text": request.text}
        if request.caller is not None:
            payload.update(report_content(request))
        if request.concerns_office is False:
            # Before any write: routing may refuse the department, and then nothing of the report is recorded.
            payload["transfer_id"] = await self._propose_transfer(request)
        await self._transition(
            f"{request.kind}_report",
            Localized(en=f"{name.en} submitted", hi=f"{name.hi} समर्पित"),
            request.by_account_id,
            new_status=CaseStatus.IN_PROGRESS if self._s.status is not CaseStatus.ESCALATED else None,
            payload=payload,
        )
        if self._s.status is not CaseStatus.ESCALATED:
            self._s.status = CaseStatus.IN_PROGRESS
        await self.on_event(REPORT_EVENTS[request.kind], workflow.now())
        if request.kind == "final" and self._s.policy is not None and self._s.policy.review_chain:
            await self._start_review(0, request.by_account_id)
        return self.state()

    @submit_report.validator
    def validate_report(self, request: ReportInput) -> None:
        self._require_open()
        if request.kind not in REPORT_EVENTS:
            raise ValueError("kind: preliminary, final, action or status_update / प्रतिवेदन का प्रकार")
        if request.caller is None:
            self._require_text("text", request.text, 10)
        if request.kind == "final" and self._s.reviewer_position_id:
            raise ValueError(
                "the final report is under review; wait for the reviewer / अंतिम प्रतिवेदन समीक्षाधीन है "
                f"{self._state_words()}"
            )
        self._authorize(Act.REPORT, request.caller)

    async def _propose_transfer(self, request: ReportInput) -> str:
        transfer_id: str = await self.activity(
            LifecycleActivities.propose_transfer,
            TransferProposal(
                grievance_id=self._s.case.grievance_id,
                from_position_id=self._s.position_id,
                to_department_code=request.right_department_code,
                reason=request.text or request.action_taken or "C4 report: not this office's grievance",
                by_account_id=request.by_account_id,
                state_code=self._s.case.state_code,
                district_code=self._s.case.district_code,
            ),
        )
        return transfer_id

    async def _start_review(self, hop: int, by_account_id: str) -> bool:
        """C5: hand the final report to the first post of the review chain from `hop` on that can be found."""
        assert self._s.policy is not None
        chain = self._s.policy.review_chain
        for index in range(hop, len(chain)):
            reviewer = await self.activity(
                LifecycleActivities.resolve_role,
                RoleInput(self._s.position_id, chain[index], department_code=self._s.department_code),
            )
            if reviewer is None:
                continue
            self._s.review_hop, self._s.reviewer_position_id = index, reviewer.position_id
            await self.send(
                officer_notice(
                    self._s.case,
                    reviewer.position_id,
                    "sla_notice",
                    self._next_key(f"review_request_{index}"),
                    Localized(en="A final report awaits your review", hi="अंतिम प्रतिवेदन आपकी समीक्षा हेतु"),
                    Localized(
                        en="Forward it, return it for more information, or close the case (C5), within 1 working day.",
                        hi="1 कार्य दिवस में अग्रसारित करें, अधिक सूचना हेतु लौटाएँ, या मामला बंद करें (C5)।",
                    ),
                    "C5",
                    kind="review_request",
                ),
            )
            return True
        return False

    @workflow.update(name=UPDATE_REVIEW_REPORT)
    async def review_final_report(self, request: ReviewInput) -> LifecycleState:
        """C5 / C7: a hop of the review chain forwards the final report, returns it for more information, or (the
        CS cell, the chain's last hop) closes the case, and the citizen is told."""
        decision = request.decision or ("close" if request.accept else "return")
        hop = self._s.review_hop
        if decision == "forward":
            reviewed_by = self._s.reviewer_position_id
            moved = await self._start_review(hop + 1, request.by_account_id)
            if not moved:
                raise ApplicationError(
                    "no further post to review the report / समीक्षा हेतु आगे कोई पद नहीं", type="review.no_next_hop"
                )
            await self._transition(
                "final_report_forwarded",
                Localized(
                    en=f"Final report forwarded for review: {request.note}".rstrip(": "),
                    hi=f"अंतिम प्रतिवेदन समीक्षा हेतु अग्रसारित: {request.note}".rstrip(": "),
                ),
                request.by_account_id,
                payload={
                    "note": request.note,
                    "from_position_id": reviewed_by,
                    "to_position_id": self._s.reviewer_position_id,
                },
            )
            await self.on_event(Event.REVIEW_FORWARDED, workflow.now())
            return self.state()
        accept = decision == "close"
        if accept:  # the closure ends the case: a disposal arriving while it is being recorded is refused
            self._s.disposal = DisposeInput(disposed_by=request.by_account_id, outcome=request.note or "closed")
        await self._transition(
            "final_report_reviewed" if accept else "final_report_returned",
            Localized(
                en="Final report accepted; case closed" if accept else f"Final report returned: {request.note}",
                hi="अंतिम प्रतिवेदन स्वीकृत; मामला बंद" if accept else f"अंतिम प्रतिवेदन लौटाया गया: {request.note}",
            ),
            request.by_account_id,
            new_status=CaseStatus.CLOSED if accept else None,
            payload={"accept": accept, "note": request.note, "decision": decision},
            clear_visibility=accept,
        )
        self._s.reviewer_position_id, self._s.review_hop = "", 0
        if request.decision:
            await self.on_event(Event.REVIEW_RETURNED if not accept else Event.FINAL_REPORT_REVIEWED, workflow.now())
        else:
            await self.on_event(Event.FINAL_REPORT_REVIEWED, workflow.now())
        if accept:
            self._s.status = CaseStatus.CLOSED
            await self.on_event(Event.CLOSED, workflow.now())
            if request.caller is not None:
                await self._tell_citizen_outcome(
                    "closure",
                    Localized(
                        en="Your grievance has been redressed and closed",
                        hi="आपकी शिकायत का निवारण कर मामला बंद किया गया",
                    ),
                    Localized(en=request.note or "Closed after review", hi=request.note or "समीक्षा के बाद बंद"),
                )
        elif request.caller is not None:
            await self.send(
                officer_notice(
                    self._s.case,
                    self._s.position_id,
                    "sla_notice",
                    self._next_key("review_returned"),
                    Localized(
                        en="Final report returned for more information", hi="अंतिम प्रतिवेदन अधिक सूचना हेतु लौटाया गया"
                    ),
                    Localized(en=request.note, hi=request.note),
                    "C5",
                    kind="review_returned",
                )
            )
        return self.state()

    @review_final_report.validator
    def validate_review(self, request: ReviewInput) -> None:
        self._require_open()
        decision = request.decision or ("close" if request.accept else "return")
        if decision not in {"forward", "return", "close"}:
            raise ValueError("decision: forward, return or close / अग्रसारित, वापस या बंद")
        if decision != "close":
            self._require_text("note", request.note, 10)
        if request.caller is None:
            return
        if not self._s.reviewer_position_id:
            raise ValueError("no final report is under review / कोई अंतिम प्रतिवेदन समीक्षाधीन नहीं " + self._state_words())
        # Whose hop it is comes first: someone else learns nothing about the chain from the answer.
        self._authorize(Act.REVIEW, request.caller)
        assert self._s.policy is not None
        last = self._s.review_hop >= len(self._s.policy.review_chain) - 1
        if decision == "close" and not last:
            raise ValueError(
                "only the last hop of the review chain (the CS cell) closes the case; forward or return it (C5) / "
                "मामला केवल समीक्षा की अंतिम कड़ी (मुख्य सचिव कोषांग) बंद करती है"
            )
        if decision == "forward" and last:
            raise ValueError("the last hop closes or returns the report (C5) / अंतिम कड़ी बंद करती है या लौटाती है")

    @workflow.update(name=UPDATE_REQUEST_INFO)
    async def request_info(self, request: InfoRequestInput) -> LifecycleState:
        """B2 / C6: ask the citizen; the clocks that wait on the citizen pause."""
        await workflow.wait_condition(lambda: self._s.assigned)
        await self._transition(
            "info_requested",
            Localized(en=f"Information requested: {request.question}", hi=f"सूचना माँगी गई: {request.question}"),
            request.by_account_id,
            new_status=CaseStatus.AWAITING_CITIZEN,
            payload={"question": request.question},
        )
        self._s.status = CaseStatus.AWAITING_CITIZEN
        await self.on_event(Event.INFO_REQUESTED, workflow.now())
        await self.send(
            citizen_notice(
                self._s.case,
                "information_request",
                Localized(en="More information is needed for your grievance", hi="आपकी शिकायत हेतु और सूचना आवश्यक है"),
                Localized(en=request.question, hi=request.question),
                self._next_key("citizen_information_request"),
            )
        )
        return self.state()

    @request_info.validator
    def validate_request_info(self, request: InfoRequestInput) -> None:
        self._require_open()
        if self._s.status is CaseStatus.AWAITING_CITIZEN:
            raise ValueError(
                "the citizen has not answered the last request yet / पिछले अनुरोध का उत्तर अपेक्षित " + self._state_words()
            )
        self._require_text("question", request.question, 10)
        self._authorize(Act.REQUEST_INFORMATION, request.caller)

    @workflow.update(name=UPDATE_CITIZEN_RESPONDED)
    async def citizen_responded(self, request: CitizenResponseInput) -> LifecycleState:
        """The citizen answers; paused clocks resume with the time they had left, and the officer is told."""
        payload: dict[str, Any] = {"response": request.response}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        await self._transition(
            "citizen_responded",
            Localized(en="The complainant responded", hi="शिकायतकर्ता ने उत्तर दिया"),
            request.by_account_id or self._s.case.complainant_account_id,
            role="citizen",
            new_status=CaseStatus.IN_PROGRESS,
            payload=payload,
        )
        self._s.status = CaseStatus.IN_PROGRESS
        await self.on_event(Event.CITIZEN_RESPONDED, workflow.now())
        if request.caller is not None:
            await self.send(
                officer_notice(
                    self._s.case,
                    self._s.position_id,
                    "sla_notice",
                    self._next_key("citizen_response_received"),
                    Localized(en="The complainant answered your request", hi="शिकायतकर्ता ने आपके अनुरोध का उत्तर दिया"),
                    Localized(en=request.response, hi=request.response),
                    "C6",
                    kind="citizen_response",
                )
            )
        return self.state()

    @citizen_responded.validator
    def validate_citizen_responded(self, request: CitizenResponseInput) -> None:
        if self._s.status is not CaseStatus.AWAITING_CITIZEN:
            raise ValueError("no information was requested / कोई सूचना नहीं माँगी गई " + self._state_words())
        self._require_text("response", request.response, 1)
        self._authorize(Act.CITIZEN_RESPONSE, request.caller)

    @workflow.update(name=UPDATE_INTERIM_ORDER)
    async def issue_interim_order(self, request: InterimOrderInput) -> LifecycleState:
        """S12: the interim order that finally disposes the case on day 30; a service with a statutory limit over
        30 days gets the target date of delivery, and the officer named on the order answers for it."""
        # The order ends the case: a disposal arriving while it is being recorded is refused (as for a rejection).
        self._s.disposal = DisposeInput(disposed_by=request.by_account_id, outcome=request.order)
        payload: dict[str, Any] = {"order": request.order}
        if request.target_date is not None:
            payload["target_date"] = request.target_date.isoformat()
        if request.responsible_account_id:
            payload["responsible_account_id"] = request.responsible_account_id
        await self._transition(
            "interim_order_issued",
            Localized(en=f"Interim order issued: {request.order}", hi=f"अंतरिम आदेश निर्गत: {request.order}"),
            request.by_account_id,
            new_status=CaseStatus.DISPOSED,
            payload=payload,
            clear_visibility=True,
        )
        self._s.status = CaseStatus.DISPOSED
        self._s.disposed_at = workflow.now()
        await self.on_event(Event.INTERIM_ORDER_ISSUED, workflow.now())
        await self.on_event(Event.DISPOSED, workflow.now())
        if request.caller is not None:
            target = f" {request.target_date.date().isoformat()}" if request.target_date is not None else ""
            await self._tell_citizen_outcome(
                "interim_order",
                Localized(
                    en=f"An interim order was issued on your grievance{target}",
                    hi=f"आपकी शिकायत पर अंतरिम आदेश निर्गत{target}",
                ),
                Localized(en=request.order, hi=request.order),
            )
        return self.state()

    @issue_interim_order.validator
    def validate_interim_order(self, request: InterimOrderInput) -> None:
        self._require_open()
        self._require_not_under_review(request.caller)
        self._require_text("order", request.order, 10)
        limit = self._s.case.service_time_limit_days
        if limit > 30 and request.target_date is None:
            raise ValueError(
                "target_date: a service with a limit over 30 days needs a target date (S12) / लक्षित तिथि आवश्यक"
            )
        if request.caller is not None:
            if 0 < limit <= 30:
                raise ValueError(
                    f"the service's limit is {limit} days: it needs a final disposal, not an interim order (S12) / "
                    f"सेवा की समय-सीमा {limit} दिन है: अंतिम निष्पादन आवश्यक, अंतरिम आदेश नहीं"
                )
            if request.target_date is not None and request.target_date <= workflow.now():
                raise ValueError("target_date: must be in the future / भविष्य की तिथि हो")
        self._authorize(Act.INTERIM_ORDER, request.caller)

    @workflow.update(name=UPDATE_SCHEME_ORDER)
    async def issue_scheme_order(self, request: SchemeOrderInput) -> LifecycleState:
        """S14: an order with a recommendation on a scheme request disposes the case; the department gets a copy."""
        self._s.disposal = DisposeInput(disposed_by=request.by_account_id, outcome=request.order)
        await workflow.wait_condition(lambda: self._s.assigned)
        department = await self.activity(
            LifecycleActivities.resolve_role,
            RoleInput(self._s.position_id, "SECRETARY", department_code=self._s.department_code),
        )
        await self._transition(
            "scheme_order_issued",
            Localized(en=f"Order on the scheme request: {request.order}", hi=f"योजना अनुरोध पर आदेश: {request.order}"),
            request.by_account_id,
            new_status=CaseStatus.DISPOSED,
            payload={
                "order": request.order,
                "recommendation": request.recommendation,
                "copied_to_position_id": department.position_id if department is not None else "",
            },
            clear_visibility=True,
        )
        self._s.status = CaseStatus.DISPOSED
        self._s.disposed_at = workflow.now()
        await self.on_event(Event.DISPOSED, workflow.now())
        if department is not None:
            await self.send(
                officer_notice(
                    self._s.case,
                    department.position_id,
                    "sla_notice",
                    self._next_key("scheme_order_copy"),
                    Localized(en="Copy: order on a scheme request (S14)", hi="प्रतिलिपि: योजना अनुरोध पर आदेश (S14)"),
                    Localized(
                        en=f"{request.order} Recommendation: {request.recommendation}",
                        hi=f"{request.order} अनुशंसा: {request.recommendation}",
                    ),
                    "S14",
                    kind="scheme_order_copy",
                )
            )
        await self._tell_citizen_outcome(
            "scheme_order",
            Localized(en="An order was issued on your scheme request", hi="आपके योजना अनुरोध पर आदेश निर्गत"),
            Localized(en=request.order, hi=request.order),
        )
        return self.state()

    @issue_scheme_order.validator
    def validate_scheme_order(self, request: SchemeOrderInput) -> None:
        self._require_open()
        self._require_not_under_review(request.caller)
        self._require_text("order", request.order, 10)
        self._require_text("recommendation", request.recommendation, 10)
        self._authorize(Act.SCHEME_ORDER, request.caller)

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

    @workflow.update(name=UPDATE_REPLY_SHOW_CAUSE)
    async def reply_show_cause(self, request: ReplyShowCauseInput) -> ShowCauseNotice:
        """S9 / S11: the officer answers a show-cause notice; the DM's 1-day review clock starts (S18)."""
        replied_at = request.replied_at or workflow.now()
        if request.caller is not None:
            await self._resolve_reviewers()
        notice: ShowCauseNotice = await self.activity(
            LifecycleActivities.record_show_cause_reply, ReplyRecord(request.notice_id, request.reply, replied_at)
        )
        self._s.show_causes[notice.id] = notice
        payload: dict[str, Any] = {"notice_id": notice.id, "number": notice.number}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        await self._transition(
            "show_cause_replied",
            Localized(
                en=f"Reply to show-cause notice {notice.number} submitted",
                hi=f"कारण पृच्छा {notice.number} का उत्तर समर्पित",
            ),
            request.replied_by,
            payload=payload,
            key_suffix=notice.id,
        )
        await self.on_event(Event.SHOW_CAUSE_REPLIED, replied_at)
        if request.caller is not None and self._s.dm_position_id:
            await self.send(
                officer_notice(
                    self._s.case,
                    self._s.dm_position_id,
                    "sla_notice",
                    f"{notice.id}:replied",
                    Localized(
                        en=f"Reply to show-cause notice {notice.number}", hi=f"कारण पृच्छा {notice.number} का उत्तर"
                    ),
                    Localized(
                        en="Review it and recommend action within 1 day (S18).",
                        hi="1 दिन में समीक्षा कर कार्रवाई की अनुशंसा करें (S18)।",
                    ),
                    "S18",
                    kind="show_cause_reply",
                )
            )
        return notice

    @reply_show_cause.validator
    def validate_reply_show_cause(self, request: ReplyShowCauseInput) -> None:
        notice = self._s.show_causes.get(request.notice_id)
        if notice is None:
            raise ValueError("notice_id: no such show-cause notice on this case / इस मामले में ऐसी कारण पृच्छा नहीं")
        if notice.replied_at is not None:
            raise ValueError("the notice is already answered / कारण पृच्छा का उत्तर दिया जा चुका है")
        self._require_text("reply", request.reply, 10)
        self._authorize(Act.SHOW_CAUSE_REPLY, request.caller, request.notice_id)

    async def _resolve_reviewers(self) -> None:
        """S18: the DM above the case and the Commissioner above the DM, who review a show-cause reply."""
        if self._s.dm_position_id:
            return
        dm = await self.activity(LifecycleActivities.resolve_role, RoleInput(self._s.position_id, "DM"))
        commissioner = await self.activity(
            LifecycleActivities.resolve_role, RoleInput(dm.position_id if dm else self._s.position_id, "COMMISSIONER")
        )
        self._s.dm_position_id = dm.position_id if dm is not None else ""
        self._s.commissioner_position_id = commissioner.position_id if commissioner is not None else ""

    @workflow.update(name=UPDATE_RECORD_RECOMMENDATION)
    async def record_recommendation(self, request: RecommendationInput) -> ShowCauseNotice:
        """S18: the DM recommends action on a reply within 1 day; the Commissioner acts or forwards within 1 day."""
        if request.caller is not None:
            await self._resolve_reviewers()
            act = Act.RECOMMENDATION if request.by_role == "DM" else Act.COMMISSIONER_ACTION
            self._authorize(act, request.caller, request.notice_id)
        notice = self._s.show_causes[request.notice_id]
        if request.by_role == "DM":
            notice = await self.activity(
                LifecycleActivities.record_recommendation,
                RecommendationRecord(request.notice_id, request.recommendation, workflow.now()),
            )
            self._s.show_causes[notice.id] = notice
        event = Event.RECOMMENDED if request.by_role == "DM" else Event.COMMISSIONER_ACTED
        payload: dict[str, Any] = {"notice_id": notice.id, "recommendation": request.recommendation}
        if request.decision:
            payload["decision"] = request.decision
        await self._transition(
            event.value,
            Localized(
                en=f"{request.by_role}: {request.recommendation}", hi=f"{request.by_role}: {request.recommendation}"
            ),
            request.by_account_id,
            role=request.by_role,
            payload=payload,
            key_suffix=notice.id,
        )
        await self.on_event(event, workflow.now())
        if request.caller is not None and request.by_role == "DM" and self._s.commissioner_position_id:
            await self.send(
                officer_notice(
                    self._s.case,
                    self._s.commissioner_position_id,
                    "sla_notice",
                    f"{notice.id}:recommended",
                    Localized(
                        en="The DM's recommendation on a show-cause reply", hi="कारण पृच्छा के उत्तर पर जिलाधिकारी की अनुशंसा"
                    ),
                    Localized(en=request.recommendation, hi=request.recommendation),
                    "S18",
                    kind="recommendation",
                )
            )
        if request.by_role == "COMMISSIONER":
            self._s.commissioner_acted.add(notice.id)
        return notice

    @record_recommendation.validator
    def validate_recommendation(self, request: RecommendationInput) -> None:
        notice = self._s.show_causes.get(request.notice_id)
        if notice is None:
            raise ValueError("notice_id: no such show-cause notice on this case")
        if request.by_role not in {"DM", "COMMISSIONER"}:
            raise ValueError("by_role: DM or COMMISSIONER")
        if notice.replied_at is None:
            raise ValueError("the officer has not replied yet / पदाधिकारी का उत्तर अपेक्षित")
        if request.by_role == "DM" and notice.recommended_at is not None:
            raise ValueError("the DM already recommended / अनुशंसा पहले ही की जा चुकी है")
        if request.caller is not None and request.by_role == "COMMISSIONER":
            if notice.recommended_at is None:
                raise ValueError("the DM has not recommended yet (S18) / जिलाधिकारी की अनुशंसा अपेक्षित")
            if notice.id in self._s.commissioner_acted:
                raise ValueError("the Commissioner already acted on it / आयुक्त पहले ही कार्रवाई कर चुके हैं")
            if request.decision not in {"act", "forward"}:
                raise ValueError("decision: act or forward / कार्रवाई या अग्रसारण")
        if request.caller is not None and request.caller.kind != "officer":
            raise ApplicationError(
                "only an officer may do this / केवल पदाधिकारी", type=PERMISSION_DENIED, non_retryable=True
            )
        self._require_text("recommendation", request.recommendation, 10)

    @workflow.update(name=UPDATE_CHARGE_TAKEN)
    async def charge_taken(self, request: ChargeTakenInput) -> LifecycleState:
        """S7: a new officer took charge of the position; personal clocks run from the charge date."""
        key = (request.account_id, request.charge_from.isoformat())
        if key in self._s.charges or request.position_id != self._s.position_id:
            return self.state()
        self._s.charges.add(key)
        self._s.officer_account_id = request.account_id
        await self._transition(
            "charge_taken",
            Localized(en="A new officer took charge of the position", hi="पद का प्रभार नये पदाधिकारी ने ग्रहण किया"),
            request.account_id,
            payload={"account_id": request.account_id, "charge_from": request.charge_from.isoformat()},
            key_suffix=f"{request.account_id}:{request.charge_from.isoformat()}",
        )
        await self.on_event(Event.CHARGE_TAKEN, max(request.charge_from, workflow.now()))
        return self.state()

    @workflow.update(name=UPDATE_MIGRATE_POLICY)
    async def migrate_policy(self, request: MigratePolicyInput) -> list[ClockView]:
        """Move the case to another version of its track's policy, on an operator's explicit, reasoned act; the
        running clocks keep their starts and take the new durations (see ClockEngine.migrate)."""
        assert self._s.policy is not None
        assert self._s.engine is not None
        old = self._s.policy
        try:
            config: LifecycleConfig = await self.activity(
                LifecycleActivities.load_policy_version, PolicyVersionInput(track=old.track, version=request.version)
            )
        except ActivityError as exc:
            raise ApplicationError(
                f"no policy {old.track}@v{request.version} / यह नीति संस्करण उपलब्ध नहीं", type="policy.unknown_version"
            ) from exc
        new = Policy.model_validate(config.policy)
        if self._s.policy.key != old.key:  # another migration finished while this one loaded its policy
            raise ApplicationError(
                f"the case moved to {self._s.policy.key} meanwhile / प्रकरण इस बीच {self._s.policy.key} पर चला गया",
                type="policy.migrated_meanwhile",
            )
        self._s.policy = new
        for need in self._s.engine.migrate(new):
            self._s.engine.set_deadline(need.clock_id, need.generation, await self._deadline(need))
        await self._transition(
            "policy_migrated",
            Localized(
                en=f"The case moved from policy {old.key} to {new.key}",
                hi=f"प्रकरण नीति {old.key} से {new.key} पर स्थानांतरित किया गया",
            ),
            request.by_account_id,
            role="operator",
            payload={"from": old.key, "to": new.key, "reason": request.reason},
            key_suffix=new.key,
        )
        self._s.wake = True
        self._update_search_attributes()
        return self.clocks()

    @migrate_policy.validator
    def _check_migrate_policy(self, request: MigratePolicyInput) -> None:
        self._require_open()
        if self._s.policy is None:
            raise ValueError("the case's policy is not loaded yet; try again / नीति अभी लोड नहीं हुई")
        if request.version < 1:
            raise ValueError("version must be 1 or more / संस्करण 1 या अधिक हो")
        if request.version == self._s.policy.version:
            raise ValueError(f"the case already runs {self._s.policy.key} / प्रकरण पहले से इसी नीति पर है")
        if not request.by_account_id.strip():
            raise ValueError("by_account_id is required / आवश्यक है")
        self._require_text("reason", request.reason, 10)

    # --- clocks ----------------------------------------------------------------------------------------------------

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
        if need.calendar is not CalendarKind.WORKING_DAYS:
            return elapsed_deadline(need.start, need.duration)
        deadline: datetime = await self.activity(
            LifecycleActivities.compute_deadline,
            DeadlineInput(need.start, need.duration, need.calendar.value, self._s.case.state_code),
        )
        return deadline

    # --- plumbing: activity, record, send, move (and on_event above) are the LifecyclePlumbing of DeadlineEffects -

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
        """Run one lifecycle activity with the lifecycle's timeout and retries."""
        return await workflow.execute_activity_method(
            method, argument, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    def _update_search_attributes(self) -> None:
        if not self._s.upsert_search_attributes or self._s.engine is None:
            return
        due = self._s.engine.next_due()
        updates: list[SearchAttributeUpdate[Any]] = [
            STATUS_ATTRIBUTE.value_set(self._s.status.value),
            DISTRICT_ATTRIBUTE.value_set(self._s.case.district_code),
            OFFICE_LEVEL_ATTRIBUTE.value_set(self._s.case.office_level or "district"),
            DEADLINE_ATTRIBUTE.value_set(due.deadline)
            if due is not None and due.deadline
            else DEADLINE_ATTRIBUTE.value_unset(),
        ]
        workflow.upsert_search_attributes(updates)

    async def record(self, transition: TransitionInput) -> None:
        """Put a transition on intake's timeline, with the case's nearest deadline as the clocks stand now."""
        transition = self._with_deadline(transition)
        await workflow.execute_activity_method(
            LifecycleActivities.record_transition,
            transition,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self._s.synced_deadline = (transition.current_deadline, transition.deadline_clock)

    def _nearest_deadline(self) -> tuple[datetime | None, str]:
        due = self._s.engine.next_due() if self._s.engine is not None else None
        if self._s.status in TERMINAL or due is None or due.deadline is None:
            return None, ""
        return due.deadline, due.clock_id

    def _with_deadline(self, transition: TransitionInput) -> TransitionInput:
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
        if self._s.engine is None or self._nearest_deadline() == self._s.synced_deadline:
            return
        if not workflow.patched(DEADLINE_SYNC_PATCH):
            return
        deadline, clock = self._nearest_deadline()
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
            return await workflow.execute_activity_method(
                LifecycleActivities.send_notice,
                notice,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        except ActivityError as exc:
            # A notice notify refuses must not stop the case's clocks; the failure stays in history and the log.
            workflow.logger.warning("notice refused", extra={"template": notice.template, "error": str(exc.cause)})
            return None

    async def _assign(self) -> None:
        """S8: record that the case sits with the routed L1 position."""
        case = self._s.case
        await self.record(
            TransitionInput(
                grievance_id=case.grievance_id,
                idempotency_key=f"{workflow.info().workflow_id}:assigned",
                event_type="assigned",
                summary=Localized(
                    en=f"Assigned to {case.position_title.en}, {case.office_name.en}",
                    hi=f"{case.position_title.hi}, {case.office_name.hi} को सौंपा गया",
                ),
                occurred_at=workflow.now(),
                new_status=CaseStatus.ASSIGNED,
                new_assignment=Assignment(
                    department_code=case.department_code,
                    office_id=case.office_id,
                    office_name=case.office_name,
                    position_id=case.position_id,
                    position_title=case.position_title,
                    assigned_at=workflow.now(),
                ),
            )
        )
        self._s.assigned = True
        self._s.assigned_at = workflow.now()
        self._s.status = CaseStatus.ASSIGNED

    async def _register_at_cell(self, role: str) -> None:
        """C3: the case is registered with the cell (the post of `role` above the routed office) to be assigned."""
        case = self._s.case
        cell = await self.activity(LifecycleActivities.resolve_role, RoleInput(case.position_id, role))
        if cell is None:
            # No cell above the routed office: nobody could assign it, so it goes where routing sent it.
            await self._assign()
            self._s.awaiting_cell = False
            await self.send(case_assigned_notice(case))
            return
        await self.record(
            TransitionInput(
                grievance_id=case.grievance_id,
                idempotency_key=f"{workflow.info().workflow_id}:registered_at_cell",
                event_type="registered_at_cell",
                summary=Localized(
                    en=f"Registered with {cell.title.en}, to be assigned (C3); proposed: {case.position_title.en}",
                    hi=f"{cell.title.hi} के पास पंजीकृत, आवंटन हेतु (C3); प्रस्तावित: {case.position_title.hi}",
                ),
                occurred_at=workflow.now(),
                new_status=CaseStatus.REGISTERED,
                new_assignment=Assignment(
                    department_code=case.department_code,
                    office_id=cell.office_id,
                    office_name=cell.office_name,
                    position_id=cell.position_id,
                    position_title=cell.title,
                    assigned_at=workflow.now(),
                ),
                payload={"cell_position_id": cell.position_id, "proposed_position_id": case.position_id},
            )
        )
        self._s.position_id = cell.position_id
        self._s.awaiting_cell = True
        self._s.assigned = True  # the case sits with the cell, which acts on it; acts need not wait
        await self.send(
            officer_notice(
                case,
                cell.position_id,
                "sla_notice",
                f"{workflow.info().workflow_id}:registered_at_cell",
                Localized(en="A new grievance to assign (C3)", hi="आवंटन हेतु नई शिकायत (C3)"),
                Localized(
                    en=f"Assign it within 1 hour; routing proposes {case.position_title.en}.",
                    hi=f"1 घंटे में आवंटित करें; प्रस्तावित: {case.position_title.hi}।",
                ),
                "C3",
                kind="assignment_due",
            )
        )

    @workflow.update(name=UPDATE_ASSIGN)
    async def assign(self, request: AssignInput) -> LifecycleState:
        """C3: the cell assigns the case to an office (by default the one routing proposed), with the time line it
        sets; the office's report clocks start now (C4), and the cell's hour stops (C7)."""
        target = await self._position(request.to_position_id or self._s.case.position_id)
        self._s.awaiting_cell = False
        self._s.department_code = target.department_code or self._s.department_code
        note = request.note or "Assigned by the cell / प्रकोष्ठ द्वारा आवंटित"
        extra: dict[str, Any] = {"rule": "C3"}
        if request.report_by is not None:
            extra["report_by"] = request.report_by.isoformat()
        self._s.assigned_at = workflow.now()
        await self.move(target, "assigned", request.by_account_id, note, extra)
        self._s.status = CaseStatus.ASSIGNED
        await self.on_event(Event.ASSIGNED, workflow.now())
        return self.state()

    @assign.validator
    def validate_assign(self, request: AssignInput) -> None:
        self._require_open()
        if not self._s.awaiting_cell:
            raise ValueError("the case is already assigned / मामला पहले ही आवंटित है " + self._state_words())
        if request.report_by is not None and request.report_by <= workflow.now():
            raise ValueError("report_by: must be in the future / भविष्य की तिथि हो")
        self._authorize(Act.ASSIGN, request.caller)

    async def _acknowledge(self, *, tell_the_officer: bool = True) -> None:
        """B5: acknowledge to the complainant, tell the officer, and put the acknowledgement on the timeline."""
        acknowledgement = await self.send(acknowledgement_notice(self._s.case))
        if tell_the_officer:
            await self.send(case_assigned_notice(self._s.case))
        if acknowledgement is None:
            return
        self._s.acknowledgement_notice_id = acknowledgement.notice_id
        await self.record(
            TransitionInput(
                grievance_id=self._s.case.grievance_id,
                idempotency_key=f"{workflow.info().workflow_id}:acknowledgement_sent",
                event_type="acknowledgement_sent",
                summary=Localized(en="Acknowledgement sent to the complainant", hi="शिकायतकर्ता को पावती भेजी गई"),
                occurred_at=workflow.now(),
                payload={
                    "notice_id": acknowledgement.notice_id,
                    "channels": [c.value for c in acknowledgement.channels],
                },
            )
        )
