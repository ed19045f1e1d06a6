"""GrievanceLifecycle: the single writer of a case's state transitions (one workflow per grievance).

This module runs inside Temporal's sandbox and is replayed, so it imports little and does nothing but decide:
every side effect goes through an activity that carries an idempotency key.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran.common.v1 import common_pb2
    from nivaran.sla.v1 import sla_pb2
    from nivaran_common.temporal import (
        DEADLINE_ATTRIBUTE,
        DISTRICT_ATTRIBUTE,
        LIFECYCLE_WORKFLOW,
        OFFICE_LEVEL_ATTRIBUTE,
        STATUS_ATTRIBUTE,
    )
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.clocks import ClockEngine, NeedsDeadline, elapsed_deadline
    from nivaran_sla.deadlines import CalendarKind, parse_duration
    from nivaran_sla.domain import (
        QUERY_CLOCKS,
        UPDATE_CHARGE_TAKEN,
        UPDATE_MIGRATE_POLICY,
        UPDATE_RECORD_RECOMMENDATION,
        UPDATE_REPLY_SHOW_CAUSE,
        Actor,
        Assignment,
        BreachRecord,
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
        NoticeChannel,
        NoticeInput,
        NoticeResult,
        PolicyVersionInput,
        PositionRef,
        Recipient,
        RecipientKind,
        RecommendationInput,
        RecommendationRecord,
        RejectInput,
        ReplyRecord,
        ReplyShowCauseInput,
        ReportInput,
        ReviewInput,
        RoleInput,
        ShowCauseIssue,
        ShowCauseNotice,
        TransferInput,
        TransitionInput,
    )
    from nivaran_sla.policy import (
        Escalate,
        Event,
        IssueShowCause,
        MakeVisible,
        Notify,
        OrderInterimDisposal,
        Policy,
        RecordBreach,
        Remind,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
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


def _names(case: Case) -> dict[str, str]:
    return {
        "category_name_en": case.category_name.en,
        "category_name_hi": case.category_name.hi,
        "office_name_en": case.office_name.en,
        "office_name_hi": case.office_name.hi,
        "position_title_en": case.position_title.en,
        "position_title_hi": case.position_title.hi,
    }


def _filed_at(case: Case) -> dict[str, str]:
    # Notify needs an ISO 8601 instant or nothing; an empty string would be refused as a bad date.
    return {"filed_at": case.filed_at.isoformat()} if case.filed_at is not None else {}


def acknowledgement_notice(case: Case) -> NoticeInput:
    """B5: the complainant's acknowledgement, in the app and by email when they gave one."""
    channels = [NoticeChannel.IN_APP]
    if case.complainant_email:
        channels.append(NoticeChannel.EMAIL)
    return NoticeInput(
        dedupe_key=f"{case.grievance_id}:acknowledgement",
        template="acknowledgement",
        grievance_id=case.grievance_id,
        registration_number=case.registration_number,
        recipient=Recipient(
            kind=RecipientKind.CITIZEN,
            name=case.complainant_name,
            email=case.complainant_email,
            phone=case.complainant_phone,
            account_id=case.complainant_account_id,
            preferred_language=case.language,
        ),
        channels=channels,
        params={
            "registration_number": case.registration_number,
            "complainant_name": case.complainant_name,
            **_filed_at(case),
            **_names(case),
        },
    )


def case_assigned_notice(case: Case) -> NoticeInput:
    """S8: the new case lands in the L1 officer's login."""
    return NoticeInput(
        dedupe_key=f"{case.grievance_id}:case_assigned",
        template="case_assigned",
        grievance_id=case.grievance_id,
        registration_number=case.registration_number,
        recipient=Recipient(kind=RecipientKind.OFFICER, position_id=case.position_id),
        channels=[NoticeChannel.IN_APP],
        params={"registration_number": case.registration_number, **_filed_at(case), **_names(case)},
    )


TERMINAL = frozenset({CaseStatus.DISPOSED, CaseStatus.REJECTED, CaseStatus.CLOSED})
REPORT_EVENTS = {
    "action": Event.ACTION_REPORTED,
    "preliminary": Event.PRELIMINARY_REPORTED,
    "final": Event.FINAL_REPORTED,
}
REPORT_NAMES = {
    "action": Localized(en="Action-taken report", hi="कृत कार्रवाई प्रतिवेदन"),
    "preliminary": Localized(en="Preliminary report", hi="प्रारंभिक प्रतिवेदन"),
    "final": Localized(en="Final report", hi="अंतिम प्रतिवेदन"),
}


def _bilingual(en: str, hi: str) -> str:
    return f"{en} / {hi}"


@workflow.defn(name=LIFECYCLE_WORKFLOW)
class GrievanceLifecycle:
    """The single writer of a case's transitions: assigns and acknowledges it, then runs the clocks of its track
    policy (updatable timers) and takes officers' and citizens' actions as Updates until the case is over."""

    @workflow.init
    def __init__(self, lifecycle: sla_pb2.LifecycleInput) -> None:
        self._case = case_from_proto(lifecycle)
        self._status = CaseStatus.REGISTERED
        self._position_id = self._case.position_id
        self._department_code = self._case.department_code
        self._officer_account_id: str | None = None
        self._assigned = False
        self._assigned_at: datetime | None = None
        # Set as soon as a disposal is accepted, before it is recorded, so a second one is refused meanwhile.
        self._disposal: DisposeInput | None = None
        self._disposed_at: datetime | None = None
        self._acknowledgement_notice_id = ""
        self._policy: Policy | None = None
        self._engine: ClockEngine | None = None
        self._upsert_search_attributes = False
        self._wake = False
        self._counters: dict[str, int] = {}
        self._show_causes: dict[str, ShowCauseNotice] = {}
        self._charges: set[tuple[str, str]] = set()
        # Actions taken before the policy was loaded; replayed into the clocks once it is.
        self._early_events: list[tuple[Event, datetime]] = []

    @workflow.run
    async def run(self, lifecycle: sla_pb2.LifecycleInput) -> LifecycleResult:
        """Run the case from assignment to closure."""
        await self._assign()
        await self._acknowledge()
        config: LifecycleConfig = await workflow.execute_activity_method(
            LifecycleActivities.load_config,
            self._case.track,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self._policy = Policy.model_validate(config.policy)
        self._engine = ClockEngine.for_policy(self._policy)
        self._upsert_search_attributes = config.upsert_search_attributes
        filed_at = self._case.filed_at or workflow.now()
        early, self._early_events = self._early_events, []
        await self._on_event(Event.REGISTERED, filed_at)
        await self._on_event(Event.ASSIGNED, self._assigned_at or workflow.now())
        for event, at in early:
            await self._on_event(event, at)
        await self._run_clocks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return LifecycleResult(grievance_id=self._case.grievance_id, status=self._status, disposed_at=self._disposed_at)

    async def _run_clocks(self) -> None:
        """The updatable timer: sleep until the earliest deadline, or until an action changes the clocks."""
        engine = self._engine
        assert engine is not None
        while True:
            due = engine.next_due()
            if due is None and self._status in TERMINAL:
                return
            self._wake = False
            if due is not None and due.deadline is not None:
                remaining = (due.deadline - workflow.now()).total_seconds()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(lambda: self._wake, timeout=remaining)
            else:
                await workflow.wait_condition(lambda: self._wake)
            for state in engine.due(workflow.now()):
                await self._fire(state.clock_id, state.generation)
            self._update_search_attributes()

    # --- queries -------------------------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> LifecycleState:
        """Where the case stands now."""
        return LifecycleState(
            status=self._status,
            position_id=self._position_id,
            disposed=self._status is CaseStatus.DISPOSED,
            acknowledgement_notice_id=self._acknowledgement_notice_id,
        )

    @workflow.query(name=QUERY_CLOCKS)
    def clocks(self) -> list[ClockView]:
        """Every clock of the case's policy with its deadline, pause and firing state."""
        if self._policy is None or self._engine is None:
            return []
        views = []
        for clock in self._policy.clocks:
            st = self._engine.clocks[clock.id]
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

    # --- updates: every action on the case ------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._disposal is not None or self._status in TERMINAL:
            raise ValueError(_bilingual("the case is already disposed", "मामले का निष्पादन पहले ही हो चुका है"))

    def _require_text(self, name: str, value: str, minimum: int = 1) -> None:
        if len(value.strip()) < minimum:
            raise ValueError(f"{name}: at least {minimum} characters / कम से कम {minimum} अक्षर आवश्यक")

    @workflow.update
    async def dispose(self, request: DisposeInput) -> LifecycleState:
        """The officer disposes of the case; recorded in intake's timeline, clocks stop, visibility ends."""
        self._disposal = request
        await workflow.wait_condition(lambda: self._assigned)
        disposed_at = request.disposed_at or workflow.now()
        outcome = request.outcome.strip()
        try:
            await self._record(
                TransitionInput(
                    grievance_id=self._case.grievance_id,
                    idempotency_key=f"{workflow.info().workflow_id}:disposed",
                    event_type="disposed",
                    summary=Localized(en=f"Disposed: {outcome}", hi=f"निष्पादित: {outcome}"),
                    occurred_at=disposed_at,
                    actor=Actor(
                        account_id=request.disposed_by,
                        role="officer",
                        position_id=request.position_id or self._position_id,
                    ),
                    new_status=CaseStatus.DISPOSED,
                    payload={"outcome": outcome, "disposed_by": request.disposed_by},
                    clear_visibility=True,
                )
            )
        except ActivityError:
            self._disposal = None
            raise
        self._disposed_at = disposed_at
        self._status = CaseStatus.DISPOSED
        await self._on_event(Event.DISPOSED, disposed_at)
        return self.state()

    @dispose.validator
    def validate_dispose(self, request: DisposeInput) -> None:
        """Refuse a disposal the case cannot take, before anything is written to history."""
        self._require_open()
        if not request.outcome.strip():
            raise ValueError("outcome: a disposal needs an outcome / निष्पादन का परिणाम लिखना आवश्यक है")
        if not request.disposed_by.strip():
            raise ValueError("disposed_by: a disposal needs the disposing officer / निष्पादन करने वाला पदाधिकारी आवश्यक")

    @workflow.update
    async def reject(self, request: RejectInput) -> LifecycleState:
        """S15: reject as outside the subject, area or competence, with the reason stated."""
        self._disposal = DisposeInput(disposed_by=request.by_account_id, outcome=request.reason)
        await workflow.wait_condition(lambda: self._assigned)
        await self._transition(
            "rejected",
            Localized(
                en=f"Rejected ({request.ground}): {request.reason}", hi=f"अस्वीकृत ({request.ground}): {request.reason}"
            ),
            request.by_account_id,
            new_status=CaseStatus.REJECTED,
            payload={"ground": request.ground, "reason": request.reason},
            clear_visibility=True,
        )
        self._status = CaseStatus.REJECTED
        await self._on_event(Event.REJECTED, workflow.now())
        return self.state()

    @reject.validator
    def validate_reject(self, request: RejectInput) -> None:
        self._require_open()
        if request.ground not in {"subject", "area", "competence"}:
            raise ValueError("ground: must be subject, area or competence / आधार: विषय, क्षेत्र या सक्षमता")
        self._require_text("reason", request.reason, 10)

    @workflow.update
    async def forward(self, request: ForwardInput) -> LifecycleState:
        """S8: the L1 forwards within the department; the disposing officer's 10-day clock starts."""
        await workflow.wait_condition(lambda: self._assigned)
        target = await self._position(request.to_position_id)
        if target.department_code and target.department_code != self._department_code:
            raise ApplicationError(
                _bilingual(
                    "forwarding stays within the department; another department needs a transfer through the DM (S5)",
                    "अग्रसारण विभाग के भीतर ही; अन्य विभाग हेतु जिला पदाधिकारी के माध्यम से अंतरण (S5)",
                ),
                type="forward.other_department",
                non_retryable=True,
            )
        await self._move(target, "forwarded", request.by_account_id, request.note)
        await self._on_event(Event.FORWARDED, workflow.now())
        return self.state()

    @forward.validator
    def validate_forward(self, request: ForwardInput) -> None:
        self._require_open()
        if not request.to_position_id.strip():
            raise ValueError("to_position_id: required / आवश्यक")
        if request.to_position_id == self._position_id:
            raise ValueError("to_position_id: the case is already there / मामला पहले से वहीं है")

    @workflow.update
    async def transfer(self, request: TransferInput) -> LifecycleState:
        """S5 (approved by the DM) or B6 (another PGRO's jurisdiction; the complainant is told, within 7 days)."""
        await workflow.wait_condition(lambda: self._assigned)
        target = await self._position(request.to_position_id)
        self._department_code = target.department_code or self._department_code
        await self._move(target, "transferred", request.by_account_id, request.reason, {"kind": request.kind})
        await self._on_event(Event.TRANSFERRED, workflow.now())
        informed = await self._send(
            self._citizen_notice(
                "transfer_intimation",
                Localized(
                    en=f"Your grievance was transferred to {target.title.en}",
                    hi=f"आपकी शिकायत {target.title.hi} को अंतरित की गई",
                ),
                Localized(en=request.reason, hi=request.reason),
            )
        )
        if informed is not None:
            await self._on_event(Event.CITIZEN_INFORMED, workflow.now())
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
        """An action-taken, preliminary (C4 24 h) or final (C4 72 h) report."""
        await workflow.wait_condition(lambda: self._assigned)
        name = REPORT_NAMES[request.kind]
        await self._transition(
            f"{request.kind}_report",
            Localized(en=f"{name.en} submitted", hi=f"{name.hi} समर्पित"),
            request.by_account_id,
            new_status=CaseStatus.IN_PROGRESS if self._status is not CaseStatus.ESCALATED else None,
            payload={"kind": request.kind, "text": request.text},
        )
        if self._status is not CaseStatus.ESCALATED:
            self._status = CaseStatus.IN_PROGRESS
        await self._on_event(REPORT_EVENTS[request.kind], workflow.now())
        return self.state()

    @submit_report.validator
    def validate_report(self, request: ReportInput) -> None:
        self._require_open()
        if request.kind not in REPORT_EVENTS:
            raise ValueError("kind: action, preliminary or final / प्रतिवेदन का प्रकार")
        self._require_text("text", request.text, 10)

    @workflow.update
    async def review_final_report(self, request: ReviewInput) -> LifecycleState:
        """C5/C7: the final report is accepted and the case closes, or it is returned for more information."""
        await self._transition(
            "final_report_reviewed" if request.accept else "final_report_returned",
            Localized(
                en="Final report accepted; case closed" if request.accept else f"Final report returned: {request.note}",
                hi="अंतिम प्रतिवेदन स्वीकृत; मामला बंद" if request.accept else f"अंतिम प्रतिवेदन लौटाया गया: {request.note}",
            ),
            request.by_account_id,
            new_status=CaseStatus.CLOSED if request.accept else None,
            payload={"accept": request.accept, "note": request.note},
            clear_visibility=request.accept,
        )
        await self._on_event(Event.FINAL_REPORT_REVIEWED, workflow.now())
        if request.accept:
            self._status = CaseStatus.CLOSED
            await self._on_event(Event.CLOSED, workflow.now())
        return self.state()

    @review_final_report.validator
    def validate_review(self, request: ReviewInput) -> None:
        self._require_open()
        if not request.accept:
            self._require_text("note", request.note, 10)

    @workflow.update
    async def request_info(self, request: InfoRequestInput) -> LifecycleState:
        """B2 / C6: ask the citizen; the clocks that wait on the citizen pause."""
        await workflow.wait_condition(lambda: self._assigned)
        await self._transition(
            "info_requested",
            Localized(en=f"Information requested: {request.question}", hi=f"सूचना माँगी गई: {request.question}"),
            request.by_account_id,
            new_status=CaseStatus.AWAITING_CITIZEN,
            payload={"question": request.question},
        )
        self._status = CaseStatus.AWAITING_CITIZEN
        await self._on_event(Event.INFO_REQUESTED, workflow.now())
        await self._send(
            self._citizen_notice(
                "information_request",
                Localized(en="More information is needed for your grievance", hi="आपकी शिकायत हेतु और सूचना आवश्यक है"),
                Localized(en=request.question, hi=request.question),
            )
        )
        return self.state()

    @request_info.validator
    def validate_request_info(self, request: InfoRequestInput) -> None:
        self._require_open()
        if self._status is CaseStatus.AWAITING_CITIZEN:
            raise ValueError("the citizen has not answered the last request yet / पिछले अनुरोध का उत्तर अपेक्षित")
        self._require_text("question", request.question, 10)

    @workflow.update
    async def citizen_responded(self, request: CitizenResponseInput) -> LifecycleState:
        """The citizen answers; paused clocks resume with the time they had left."""
        await self._transition(
            "citizen_responded",
            Localized(en="The complainant responded", hi="शिकायतकर्ता ने उत्तर दिया"),
            request.by_account_id or self._case.complainant_account_id,
            role="citizen",
            new_status=CaseStatus.IN_PROGRESS,
            payload={"response": request.response},
        )
        self._status = CaseStatus.IN_PROGRESS
        await self._on_event(Event.CITIZEN_RESPONDED, workflow.now())
        return self.state()

    @citizen_responded.validator
    def validate_citizen_responded(self, request: CitizenResponseInput) -> None:
        if self._status is not CaseStatus.AWAITING_CITIZEN:
            raise ValueError("no information was requested / कोई सूचना नहीं माँगी गई")
        self._require_text("response", request.response, 1)

    @workflow.update
    async def issue_interim_order(self, request: InterimOrderInput) -> LifecycleState:
        """S12: the interim order that finally disposes the case on day 30 (a target date for long services)."""
        payload: dict[str, Any] = {"order": request.order}
        if request.target_date is not None:
            payload["target_date"] = request.target_date.isoformat()
        await self._transition(
            "interim_order_issued",
            Localized(en=f"Interim order issued: {request.order}", hi=f"अंतरिम आदेश निर्गत: {request.order}"),
            request.by_account_id,
            new_status=CaseStatus.DISPOSED,
            payload=payload,
            clear_visibility=True,
        )
        self._status = CaseStatus.DISPOSED
        self._disposed_at = workflow.now()
        await self._on_event(Event.INTERIM_ORDER_ISSUED, workflow.now())
        await self._on_event(Event.DISPOSED, workflow.now())
        return self.state()

    @issue_interim_order.validator
    def validate_interim_order(self, request: InterimOrderInput) -> None:
        self._require_open()
        self._require_text("order", request.order, 10)
        if self._case.service_time_limit_days > 30 and request.target_date is None:
            raise ValueError(
                "target_date: a service with a limit over 30 days needs a target date (S12) / लक्षित तिथि आवश्यक"
            )

    @workflow.update(name=UPDATE_REPLY_SHOW_CAUSE)
    async def reply_show_cause(self, request: ReplyShowCauseInput) -> ShowCauseNotice:
        """The officer answers a show-cause notice; the DM's 1-day review clock starts (S18)."""
        replied_at = request.replied_at or workflow.now()
        notice: ShowCauseNotice = await self._activity(
            LifecycleActivities.record_show_cause_reply, ReplyRecord(request.notice_id, request.reply, replied_at)
        )
        self._show_causes[notice.id] = notice
        await self._transition(
            "show_cause_replied",
            Localized(
                en=f"Reply to show-cause notice {notice.number} submitted",
                hi=f"कारण पृच्छा {notice.number} का उत्तर समर्पित",
            ),
            request.replied_by,
            payload={"notice_id": notice.id, "number": notice.number},
            key_suffix=notice.id,
        )
        await self._on_event(Event.SHOW_CAUSE_REPLIED, replied_at)
        return notice

    @reply_show_cause.validator
    def validate_reply_show_cause(self, request: ReplyShowCauseInput) -> None:
        notice = self._show_causes.get(request.notice_id)
        if notice is None:
            raise ValueError("notice_id: no such show-cause notice on this case / इस मामले में ऐसी कारण पृच्छा नहीं")
        if notice.replied_at is not None:
            raise ValueError("the notice is already answered / कारण पृच्छा का उत्तर दिया जा चुका है")
        self._require_text("reply", request.reply, 10)

    @workflow.update(name=UPDATE_RECORD_RECOMMENDATION)
    async def record_recommendation(self, request: RecommendationInput) -> ShowCauseNotice:
        """S18: the DM recommends action on a reply within 1 day; the Commissioner acts or forwards within 1 day."""
        notice = self._show_causes[request.notice_id]
        if request.by_role == "DM":
            notice = await self._activity(
                LifecycleActivities.record_recommendation,
                RecommendationRecord(request.notice_id, request.recommendation, workflow.now()),
            )
            self._show_causes[notice.id] = notice
        event = Event.RECOMMENDED if request.by_role == "DM" else Event.COMMISSIONER_ACTED
        await self._transition(
            event.value,
            Localized(
                en=f"{request.by_role}: {request.recommendation}", hi=f"{request.by_role}: {request.recommendation}"
            ),
            request.by_account_id,
            role=request.by_role,
            payload={"notice_id": notice.id, "recommendation": request.recommendation},
            key_suffix=notice.id,
        )
        await self._on_event(event, workflow.now())
        return notice

    @record_recommendation.validator
    def validate_recommendation(self, request: RecommendationInput) -> None:
        notice = self._show_causes.get(request.notice_id)
        if notice is None:
            raise ValueError("notice_id: no such show-cause notice on this case")
        if request.by_role not in {"DM", "COMMISSIONER"}:
            raise ValueError("by_role: DM or COMMISSIONER")
        if notice.replied_at is None:
            raise ValueError("the officer has not replied yet / पदाधिकारी का उत्तर अपेक्षित")
        if request.by_role == "DM" and notice.recommended_at is not None:
            raise ValueError("the DM already recommended / अनुशंसा पहले ही की जा चुकी है")
        self._require_text("recommendation", request.recommendation, 10)

    @workflow.update(name=UPDATE_CHARGE_TAKEN)
    async def charge_taken(self, request: ChargeTakenInput) -> LifecycleState:
        """S7: a new officer took charge of the position; personal clocks run from the charge date."""
        key = (request.account_id, request.charge_from.isoformat())
        if key in self._charges or request.position_id != self._position_id:
            return self.state()
        self._charges.add(key)
        self._officer_account_id = request.account_id
        await self._transition(
            "charge_taken",
            Localized(en="A new officer took charge of the position", hi="पद का प्रभार नये पदाधिकारी ने ग्रहण किया"),
            request.account_id,
            payload={"account_id": request.account_id, "charge_from": request.charge_from.isoformat()},
            key_suffix=f"{request.account_id}:{request.charge_from.isoformat()}",
        )
        await self._on_event(Event.CHARGE_TAKEN, max(request.charge_from, workflow.now()))
        return self.state()

    @workflow.update(name=UPDATE_MIGRATE_POLICY)
    async def migrate_policy(self, request: MigratePolicyInput) -> list[ClockView]:
        """Move the case to another version of its track's policy, on an operator's explicit, reasoned act; the
        running clocks keep their starts and take the new durations (see ClockEngine.migrate)."""
        assert self._policy is not None
        assert self._engine is not None
        old = self._policy
        try:
            config: LifecycleConfig = await self._activity(
                LifecycleActivities.load_policy_version, PolicyVersionInput(track=old.track, version=request.version)
            )
        except ActivityError as exc:
            raise ApplicationError(
                f"no policy {old.track}@v{request.version} / यह नीति संस्करण उपलब्ध नहीं", type="policy.unknown_version"
            ) from exc
        new = Policy.model_validate(config.policy)
        if self._policy.key != old.key:  # another migration finished while this one loaded its policy
            raise ApplicationError(
                f"the case moved to {self._policy.key} meanwhile / प्रकरण इस बीच {self._policy.key} पर चला गया",
                type="policy.migrated_meanwhile",
            )
        self._policy = new
        for need in self._engine.migrate(new):
            self._engine.set_deadline(need.clock_id, need.generation, await self._deadline(need))
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
        self._wake = True
        self._update_search_attributes()
        return self.clocks()

    @migrate_policy.validator
    def _check_migrate_policy(self, request: MigratePolicyInput) -> None:
        self._require_open()
        if self._policy is None:
            raise ValueError("the case's policy is not loaded yet; try again / नीति अभी लोड नहीं हुई")
        if request.version < 1:
            raise ValueError("version must be 1 or more / संस्करण 1 या अधिक हो")
        if request.version == self._policy.version:
            raise ValueError(f"the case already runs {self._policy.key} / प्रकरण पहले से इसी नीति पर है")
        if not request.by_account_id.strip():
            raise ValueError("by_account_id is required / आवश्यक है")
        self._require_text("reason", request.reason, 10)

    # --- clocks ----------------------------------------------------------------------------------------------------

    async def _on_event(self, event: Event, at: datetime) -> None:
        """Tell the clock engine; compute new deadlines (working days in an activity); wake the timer loop."""
        if self._engine is None or self._policy is None:
            self._early_events.append((event, at))
            return
        for need in self._engine.on_event(self._policy, event, at):
            self._engine.set_deadline(need.clock_id, need.generation, await self._deadline(need))
        self._wake = True
        self._update_search_attributes()

    async def _deadline(self, need: NeedsDeadline) -> datetime:
        if need.calendar is not CalendarKind.WORKING_DAYS:
            return elapsed_deadline(need.start, need.duration)
        deadline: datetime = await self._activity(
            LifecycleActivities.compute_deadline,
            DeadlineInput(need.start, need.duration, need.calendar.value, self._case.state_code),
        )
        return deadline

    async def _fire(self, clock_id: str, generation: int) -> None:
        assert self._policy is not None
        assert self._engine is not None
        clock, holds = self._engine.fire(self._policy, clock_id)
        if not holds:
            return
        key = f"{workflow.info().workflow_id}:{clock_id}:{generation}"
        name = Localized(en=clock.name.en, hi=clock.name.hi)
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
        now = workflow.now()
        notice = await self._activity(
            LifecycleActivities.issue_show_cause,
            ShowCauseIssue(
                idempotency_key=key,
                grievance_id=self._case.grievance_id,
                registration_number=self._case.registration_number,
                position_id=self._position_id,
                officer_account_id=self._officer_account_id,
                number=action.number,
                issued_at=now,
                due_by=now + parse_duration(action.reply_within),
            ),
        )
        self._show_causes[notice.id] = notice
        await self._record(
            self._system_transition(
                key,
                "show_cause_issued",
                Localized(
                    en=f"Show-cause notice {action.number} issued ({rule}): {name.en}",
                    hi=f"कारण पृच्छा {action.number} निर्गत ({rule}): {name.hi}",
                ),
                {"notice_id": notice.id, "number": action.number, "due_by": notice.due_by.isoformat(), "rule": rule},
            )
        )
        await self._send(
            self._officer_notice(
                self._position_id,
                "sla_notice",
                key,
                Localized(en=f"Show-cause notice {action.number}", hi=f"कारण पृच्छा {action.number}"),
                Localized(
                    en=f"{name.en}. Reply on the portal by {notice.due_by.isoformat()}.",
                    hi=f"{name.hi}। पोर्टल पर उत्तर दें, अंतिम तिथि {notice.due_by.isoformat()}।",
                ),
                rule,
            )
        )
        await self._on_event(Event.SHOW_CAUSE_ISSUED, now)

    async def _make_visible(self, role: str, rule: str, name: Localized, key: str) -> None:
        await self._record(
            self._system_transition(
                key,
                "made_visible",
                Localized(
                    en=f"Now visible to the {role} ({rule}): {name.en}", hi=f"अब {role} को दृश्य ({rule}): {name.hi}"
                ),
                {"role": role, "rule": rule},
                grant=[role],
            )
        )
        holder = await self._activity(LifecycleActivities.resolve_role, RoleInput(self._position_id, role))
        if holder is not None:
            await self._send(
                self._officer_notice(
                    holder.position_id,
                    "sla_notice",
                    key,
                    Localized(en=f"Case pending: {name.en}", hi=f"लंबित मामला: {name.hi}"),
                    name,
                    rule,
                )
            )

    async def _escalate(self, role: str, rule: str, name: Localized, key: str) -> None:
        target = await self._activity(LifecycleActivities.resolve_role, RoleInput(self._position_id, role))
        if target is not None and target.position_id == self._position_id:
            return  # already with that level (two clocks of one track may escalate to it)
        if target is None:
            await self._record(
                self._system_transition(
                    key,
                    "escalation_failed",
                    Localized(en=f"No {role} above this position to escalate to", hi=f"अग्रेषण हेतु कोई {role} नहीं"),
                    {"role": role, "rule": rule},
                )
            )
            return
        self._status = CaseStatus.ESCALATED
        await self._move(target, "escalated", "system", name.en, {"role": role, "rule": rule}, key=key, grant=[role])
        await self._on_event(Event.ESCALATED, workflow.now())

    async def _order_interim(self, threshold_days: int, rule: str, name: Localized, key: str) -> None:
        payload: dict[str, Any] = {"rule": rule, "service_time_limit_days": self._case.service_time_limit_days}
        en, hi = "Interim order due today", "आज अंतरिम आदेश देय"
        if self._case.service_time_limit_days > threshold_days and self._case.filed_at is not None:
            target = self._case.filed_at + timedelta(days=self._case.service_time_limit_days)
            payload["target_date"] = target.date().isoformat()
            en += f"; it must name the target date of delivery, {target.date().isoformat()}"
            hi += f"; आदेश में सेवा प्रदान करने की लक्षित तिथि {target.date().isoformat()} अंकित हो"
        await self._record(
            self._system_transition(
                key, "interim_order_due", Localized(en=f"{en} ({rule})", hi=f"{hi} ({rule})"), payload
            )
        )
        await self._send(
            self._officer_notice(self._position_id, "sla_notice", key, Localized(en=en, hi=hi), name, rule)
        )

    async def _breach(self, action: RecordBreach, rule: str, name: Localized, key: str) -> None:
        details: dict[str, Any] = {"clock": name.en}
        if action.recommendation is not None:
            details["recommendation"] = {"en": action.recommendation.en, "hi": action.recommendation.hi}
        breach = await self._activity(
            LifecycleActivities.record_breach,
            BreachRecord(
                idempotency_key=key,
                grievance_id=self._case.grievance_id,
                registration_number=self._case.registration_number,
                position_id=self._position_id,
                district_code=self._case.district_code,
                rule=action.rule,
                recorded_at=workflow.now(),
                details=details,
            ),
        )
        await self._record(
            self._system_transition(
                key,
                "breach_recorded",
                Localized(
                    en=f"Breach of {action.rule} recorded: {name.en}", hi=f"{action.rule} का उल्लंघन दर्ज: {name.hi}"
                ),
                {"breach_id": breach.id, **details, "rule": action.rule},
            )
        )

    async def _notify_role(self, to: str, template: str, rule: str, name: Localized, key: str) -> None:
        if to == "citizen":
            await self._send(self._citizen_notice(template, name, name, dedupe=key))
            return
        position_id = self._position_id
        if to != "assignee":
            holder = await self._activity(LifecycleActivities.resolve_role, RoleInput(self._position_id, to))
            if holder is None:
                return
            position_id = holder.position_id
        await self._send(self._officer_notice(position_id, "sla_notice", key, name, name, rule, kind=template))

    # --- plumbing --------------------------------------------------------------------------------------------------

    def _next_key(self, event_type: str, suffix: str = "") -> str:
        if suffix:
            return f"{workflow.info().workflow_id}:{event_type}:{suffix}"
        count = self._counters.get(event_type, 0) + 1
        self._counters[event_type] = count
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
        await self._record(
            TransitionInput(
                grievance_id=self._case.grievance_id,
                idempotency_key=self._next_key(event_type, key_suffix),
                event_type=event_type,
                summary=summary,
                occurred_at=workflow.now(),
                actor=Actor(
                    account_id=account_id, role=role, position_id=self._position_id if role == "officer" else ""
                ),
                new_status=new_status,
                payload=payload or {},
                clear_visibility=clear_visibility,
            )
        )

    def _system_transition(
        self, key: str, event_type: str, summary: Localized, payload: dict[str, Any], grant: list[str] | None = None
    ) -> TransitionInput:
        return TransitionInput(
            grievance_id=self._case.grievance_id,
            idempotency_key=f"{key}:{event_type}",
            event_type=event_type,
            summary=summary,
            occurred_at=workflow.now(),
            payload=payload,
            grant_visibility_to_roles=grant or [],
        )

    async def _position(self, position_id: str) -> PositionRef:
        position: PositionRef = await self._activity(LifecycleActivities.get_position, position_id)
        return position

    async def _move(
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
        await self._record(
            TransitionInput(
                grievance_id=self._case.grievance_id,
                idempotency_key=idempotency_key,
                event_type=event_type,
                summary=Localized(
                    en=f"Moved to {target.title.en}: {note}".rstrip(": "),
                    hi=f"{target.title.hi} को भेजा गया: {note}".rstrip(": "),
                ),
                occurred_at=now,
                actor=Actor(account_id=by_account_id, role="system" if by_account_id == "system" else "officer"),
                new_status=self._status if self._status is CaseStatus.ESCALATED else CaseStatus.ASSIGNED,
                new_assignment=Assignment(
                    department_code=target.department_code or self._department_code,
                    office_id=target.office_id,
                    office_name=target.office_name,
                    position_id=target.position_id,
                    position_title=target.title,
                    assigned_at=now,
                ),
                payload={"from_position_id": self._position_id, "to_position_id": target.position_id, **(extra or {})},
                grant_visibility_to_roles=grant or [],
            )
        )
        self._position_id = target.position_id
        self._officer_account_id = None
        names = {
            **_names(self._case),
            "office_name_en": target.office_name.en,
            "office_name_hi": target.office_name.hi,
            "position_title_en": target.title.en,
            "position_title_hi": target.title.hi,
        }
        await self._send(
            self._officer_notice(
                target.position_id,
                "case_assigned",
                idempotency_key,
                Localized(en="New case", hi="नया मामला"),
                Localized(en=note, hi=note),
                "",
                names=names,
            )
        )

    def _officer_notice(
        self,
        position_id: str,
        template: str,
        key: str,
        headline: Localized,
        detail: Localized,
        rule: str,
        kind: str = "",
        names: dict[str, str] | None = None,
    ) -> NoticeInput:
        params = {"registration_number": self._case.registration_number, **(names or _names(self._case))}
        if template == "sla_notice":
            params.update(
                {
                    "headline_en": headline.en,
                    "headline_hi": headline.hi,
                    "detail_en": detail.en,
                    "detail_hi": detail.hi,
                    "rule": rule,
                    "kind": kind or rule,
                }
            )
        elif self._case.filed_at is not None:
            params.update(_filed_at(self._case))
        return NoticeInput(
            dedupe_key=f"{key}:{position_id}:{template}",
            template=template,
            grievance_id=self._case.grievance_id,
            registration_number=self._case.registration_number,
            recipient=Recipient(kind=RecipientKind.OFFICER, position_id=position_id),
            channels=[NoticeChannel.IN_APP],
            params=params,
        )

    def _citizen_notice(self, kind: str, headline: Localized, detail: Localized, dedupe: str = "") -> NoticeInput:
        case = self._case
        channels = [NoticeChannel.IN_APP] + ([NoticeChannel.EMAIL] if case.complainant_email else [])
        return NoticeInput(
            dedupe_key=dedupe or self._next_key(f"citizen_{kind}"),
            template="sla_notice",
            grievance_id=case.grievance_id,
            registration_number=case.registration_number,
            recipient=Recipient(
                kind=RecipientKind.CITIZEN,
                name=case.complainant_name,
                email=case.complainant_email,
                phone=case.complainant_phone,
                account_id=case.complainant_account_id,
                preferred_language=case.language,
            ),
            channels=channels,
            params={
                "registration_number": case.registration_number,
                "headline_en": headline.en,
                "headline_hi": headline.hi,
                "detail_en": detail.en,
                "detail_hi": detail.hi,
                "rule": "",
                "kind": kind,
                **_names(case),
            },
        )

    async def _activity(self, method: Any, argument: Any) -> Any:
        return await workflow.execute_activity_method(
            method, argument, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    def _update_search_attributes(self) -> None:
        if not self._upsert_search_attributes or self._engine is None:
            return
        due = self._engine.next_due()
        updates: list[SearchAttributeUpdate[Any]] = [
            STATUS_ATTRIBUTE.value_set(self._status.value),
            DISTRICT_ATTRIBUTE.value_set(self._case.district_code),
            OFFICE_LEVEL_ATTRIBUTE.value_set(self._case.office_level or "district"),
            DEADLINE_ATTRIBUTE.value_set(due.deadline)
            if due is not None and due.deadline
            else DEADLINE_ATTRIBUTE.value_unset(),
        ]
        workflow.upsert_search_attributes(updates)

    async def _record(self, transition: TransitionInput) -> None:
        await workflow.execute_activity_method(
            LifecycleActivities.record_transition,
            transition,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def _send(self, notice: NoticeInput) -> NoticeResult | None:
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
        case = self._case
        await self._record(
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
        self._assigned = True
        self._assigned_at = workflow.now()
        self._status = CaseStatus.ASSIGNED

    async def _acknowledge(self) -> None:
        """B5: acknowledge to the complainant, tell the officer, and put the acknowledgement on the timeline."""
        acknowledgement = await self._send(acknowledgement_notice(self._case))
        await self._send(case_assigned_notice(self._case))
        if acknowledgement is None:
            return
        self._acknowledgement_notice_id = acknowledgement.notice_id
        await self._record(
            TransitionInput(
                grievance_id=self._case.grievance_id,
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
