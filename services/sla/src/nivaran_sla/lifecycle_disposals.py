"""How a case ends by its officer's act: disposal (resolved), rejection (S15), the interim order (S12), the order
on a scheme request (S14) and closing it as a duplicate of another case (issue 10). Each refuses a second ending,
and an ending while the final report is under review (C5).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import Act
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.case_inputs import DuplicateInput
    from nivaran_sla.domain import (
        UPDATE_INTERIM_ORDER,
        UPDATE_MARK_DUPLICATE,
        UPDATE_SCHEME_ORDER,
        Actor,
        CaseStatus,
        DisposeInput,
        InterimOrderInput,
        LifecycleState,
        Localized,
        RejectInput,
        RoleInput,
        SchemeOrderInput,
        TransitionInput,
    )
    from nivaran_sla.lifecycle_base import EFFECT_FAILED, LifecycleBase
    from nivaran_sla.lifecycle_notices import (
        officer_notice,
    )
    from nivaran_sla.policy import (
        Event,
    )

REJECTION_GROUNDS = {
    "subject": Localized(en="outside the subject", hi="विषय से बाहर"),
    "area": Localized(en="outside the area", hi="क्षेत्र से बाहर"),
    "competence": Localized(en="outside the competence", hi="सक्षमता से बाहर"),
}


# Rejections on a track with appeals wait for the appeal (B4); cases rejected before ended with the rejection.
APPEAL_REJECTION_PATCH = "appeal-rejection-v1"


class DisposalActs(LifecycleBase):
    """The lifecycle's Updates that end a case."""

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
                    # A case that came back after it ended (issue 10) is disposed once more: a key per return.
                    idempotency_key=f"{workflow.info().workflow_id}:disposed"
                    + (f":{self._s.returns}" if self._s.returns else ""),
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
        except EFFECT_FAILED:
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

    @workflow.update(name=UPDATE_MARK_DUPLICATE)
    async def mark_duplicate(self, request: DuplicateInput) -> LifecycleState:
        """Close the case as a duplicate of another; the complainant is told the original's number."""
        original = request.original_registration_number
        self._s.disposal = DisposeInput(disposed_by=request.by_account_id, outcome=f"duplicate of {original}")
        await workflow.wait_condition(lambda: self._s.assigned)
        payload: dict[str, Any] = {"duplicate_of": original}
        if request.note:
            payload["note"] = request.note
        await self._transition(
            "marked_duplicate",
            Localized(en=f"Closed as a duplicate of {original}", hi=f"{original} की प्रति होने के कारण बंद"),
            request.by_account_id,
            new_status=CaseStatus.CLOSED,
            payload=payload,
            clear_visibility=True,
        )
        self._s.status = CaseStatus.CLOSED
        self._s.disposed_at = workflow.now()
        await self.on_event(Event.CLOSED, workflow.now())
        await self._tell_citizen_outcome(
            "duplicate",
            Localized(
                en=f"Your grievance is handled under {original}", hi=f"आपकी शिकायत पर {original} में कार्रवाई हो रही है"
            ),
            Localized(
                en=f"It repeats grievance {original}, which stays open with its officer. {request.note}".strip(),
                hi=f"यह शिकायत {original} की पुनरावृत्ति है, जिस पर कार्रवाई जारी है। {request.note}".strip(),
            ),
        )
        return self.state()

    @mark_duplicate.validator
    def validate_mark_duplicate(self, request: DuplicateInput) -> None:
        self._require_open()
        self._require_not_under_review(request.caller)
        if request.original_registration_number == self._s.case.registration_number:
            raise ValueError("original_registration_number: a case is not a duplicate of itself / स्वयं की प्रति नहीं")
        self._authorize(Act.MARK_DUPLICATE, request.caller)

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
        policy = self._s.policy
        if policy is not None and policy.appeals and workflow.patched(APPEAL_REJECTION_PATCH):
            # B4: a rejection is a decision the complainant may appeal; the lifecycle waits for it (recourse).
            self._s.rejection_appealable = True
            self._s.disposed_at = workflow.now()
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
