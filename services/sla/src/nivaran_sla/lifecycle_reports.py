"""Reports and the exchange with the citizen: C4 reports with the §5.2 answers (and the S9/S11 action and status
reports), the C5 review chain of a final report, and C6/B2 information requests and answers.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import Act
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.case_inputs import InterimReplyInput
    from nivaran_sla.domain import (
        UPDATE_CITIZEN_RESPONDED,
        UPDATE_INTERIM_REPLY,
        UPDATE_REQUEST_INFO,
        UPDATE_REVIEW_REPORT,
        CaseStatus,
        CitizenResponseInput,
        DisposeInput,
        InfoRequestInput,
        LifecycleState,
        Localized,
        ReportInput,
        ReviewInput,
        RoleInput,
        TransferProposal,
    )
    from nivaran_sla.lifecycle_base import LifecycleBase
    from nivaran_sla.lifecycle_notices import (
        citizen_notice,
        officer_notice,
    )
    from nivaran_sla.policy import (
        Event,
    )

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


class ReportActs(LifecycleBase):
    """The lifecycle's Updates for reports, their review and the citizen's information."""

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
            self._s.disposed_at = workflow.now()  # the recourse window runs from the closure (issue 10)
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

    def _waiting_for_citizen(self) -> bool:
        # An escalation while the citizen is asked changes the status, not the question (C6, C8).
        return self._s.awaiting_info or self._s.status is CaseStatus.AWAITING_CITIZEN

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
        self._s.awaiting_info = True
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
        if self._waiting_for_citizen():
            raise ValueError(
                "the citizen has not answered the last request yet / पिछले अनुरोध का उत्तर अपेक्षित " + self._state_words()
            )
        self._require_text("question", request.question, 10)
        self._authorize(Act.REQUEST_INFORMATION, request.caller)

    @workflow.update(name=UPDATE_INTERIM_REPLY)
    async def interim_reply(self, request: InterimReplyInput) -> LifecycleState:
        """H2: the interim reply, with the details of the application made through the proper channel; the 30-day
        clock stops, and the complainant is told."""
        payload: dict[str, Any] = {
            "reply": request.reply,
            "called_on": request.called_on,
            "application": {
                "application_number": request.application_number,
                "applied_on": request.applied_on,
                "status": request.application_status,
            },
        }
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        if self._s.status is not CaseStatus.ESCALATED:
            self._s.status = CaseStatus.IN_PROGRESS
        await self._transition(
            "interim_reply_uploaded",
            Localized(
                en=f"Interim reply (H2): applied through the proper channel, application {request.application_number}",
                hi=f"अंतरिम उत्तर (H2): उचित माध्यम से आवेदन, आवेदन संख्या {request.application_number}",
            ),
            request.by_account_id,
            new_status=self._s.status,
            payload=payload,
        )
        self._s.interim_replied = True
        await self.on_event(Event.INTERIM_REPLY_UPLOADED, workflow.now())
        await self.send(
            citizen_notice(
                self._s.case,
                "interim_reply",
                Localized(en="An interim reply to your complaint", hi="आपकी शिकायत पर अंतरिम उत्तर"),
                Localized(
                    en=f"{request.reply} Application {request.application_number} of {request.applied_on}: "
                    f"{request.application_status}.",
                    hi=f"{request.reply} आवेदन {request.application_number} ({request.applied_on}): "
                    f"{request.application_status}।",
                ),
                self._next_key("citizen_interim_reply"),
            )
        )
        return self.state()

    @interim_reply.validator
    def validate_interim_reply(self, request: InterimReplyInput) -> None:
        self._require_open()
        policy = self._s.policy
        if policy is None or not any(Event.INTERIM_REPLY_UPLOADED in c.stop for c in policy.clocks):
            raise ValueError(
                "this case's track takes no interim reply (H2 is the auto-appeal track's) / इस ट्रैक में अंतरिम उत्तर नहीं"
            )
        if self._s.interim_replied:
            raise ValueError("the interim reply is already uploaded / अंतरिम उत्तर पहले ही दिया जा चुका है")
        self._authorize(Act.INTERIM_REPLY, request.caller)

    @workflow.update(name=UPDATE_CITIZEN_RESPONDED)
    async def citizen_responded(self, request: CitizenResponseInput) -> LifecycleState:
        """The citizen answers; paused clocks resume with the time they had left, and the officer is told."""
        escalated = self._s.status is CaseStatus.ESCALATED
        payload: dict[str, Any] = {"response": request.response}
        if request.attachment_ids:
            payload["attachment_ids"] = list(request.attachment_ids)
        await self._transition(
            "citizen_responded",
            Localized(en="The complainant responded", hi="शिकायतकर्ता ने उत्तर दिया"),
            request.by_account_id or self._s.case.complainant_account_id,
            role="citizen",
            # An escalation while the citizen was asked keeps the case escalated; otherwise work resumes.
            new_status=None if escalated else CaseStatus.IN_PROGRESS,
            payload=payload,
        )
        self._s.awaiting_info = False
        if not escalated:
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
        if not self._waiting_for_citizen():
            raise ValueError("no information was requested / कोई सूचना नहीं माँगी गई " + self._state_words())
        self._require_text("response", request.response, 1)
        self._authorize(Act.CITIZEN_RESPONSE, request.caller)
