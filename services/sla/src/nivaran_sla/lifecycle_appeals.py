"""Appeals under the Act (B4): on the same registration number, the complainant files the first appeal, then the
second, then the revision, each within its policy's time of the last decision, each to its own authority (a role
above the case's post, found by routing, or the department's own post); the authority decides in Form-3's fields.

While an appeal is pending the case is `under_appeal` and the policy's appeal clock runs (bpgra v2: 30 days); its
decision ends the case again, and the next stage's time runs from it (the lifecycle waits through the recourse
window, lifecycle_recourse). Hearings, their Form-4 notice board and the attendance record (B7, M3) are not here
yet.

Runs in the sandbox and is replayed: only deterministic workflow APIs.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import Act
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.case_inputs import AppealDecisionInput, AppealInput
    from nivaran_sla.clocks import elapsed_deadline
    from nivaran_sla.domain import (
        UPDATE_APPEAL,
        UPDATE_DECIDE_APPEAL,
        CaseStatus,
        LifecycleState,
        Localized,
        PositionRef,
        RoleInput,
    )
    from nivaran_sla.lifecycle_base import EFFECT_FAILED, LifecycleBase
    from nivaran_sla.lifecycle_hearings import heard
    from nivaran_sla.lifecycle_notices import citizen_notice, officer_notice
    from nivaran_sla.policy import AppealStage, Event

KIND_WORDS = {
    "first": Localized(en="First appeal", hi="प्रथम अपील"),
    "second": Localized(en="Second appeal", hi="द्वितीय अपील"),
    "revision": Localized(en="Revision", hi="पुनरीक्षण"),
}
DECISIONS = {
    "allowed": Localized(en="allowed", hi="स्वीकृत"),
    "dismissed": Localized(en="dismissed", hi="अस्वीकृत"),
}
# The endings an appeal lies from (a rejection only where it waits for one: LifecycleCaseState.rejection_appealable).
APPEALABLE = frozenset({CaseStatus.DISPOSED, CaseStatus.CLOSED, CaseStatus.REJECTED})


class AppealActs(LifecycleBase):
    """The lifecycle's Updates for appeals."""

    def _next_stage(self) -> AppealStage | None:
        policy = self._s.policy
        done = len(self._s.appeals)
        return policy.appeals[done] if policy is not None and done < len(policy.appeals) else None

    @workflow.update(name=UPDATE_APPEAL)
    async def appeal(self, request: AppealInput) -> LifecycleState:
        """B4: the appeal goes to its authority on the same registration number; the appeal clock starts."""
        stage = self._next_stage()
        assert stage is not None
        self._s.appellate_position_id = "pending"  # a second appeal meanwhile is refused
        try:
            authority: PositionRef | None = await self.activity(
                LifecycleActivities.resolve_role,
                RoleInput(self._s.position_id, stage.authority_role, department_code=self._s.department_code),
            )
        except EFFECT_FAILED:
            authority = None
        if authority is None:
            self._s.appellate_position_id = ""
            raise ApplicationError(
                f"no {stage.authority_role} to hear the {stage.kind} appeal / अपीलीय प्राधिकार उपलब्ध नहीं",
                type="appeal.no_authority",
                non_retryable=True,
            )
        self._s.appellate_position_id = authority.position_id
        self._s.appeals.append(
            {"kind": stage.kind, "authority_position_id": authority.position_id, "filed_at": workflow.now()}
        )
        self._s.status = CaseStatus.UNDER_APPEAL
        words = KIND_WORDS[stage.kind]
        await self.on_event(Event.APPEAL_FILED, workflow.now(), sync=False)
        await self._transition(
            "appeal_filed",
            Localized(
                en=f"{words.en} filed before {authority.title.en} (B4)",
                hi=f"{authority.title.hi} के समक्ष {words.hi} (B4)",
            ),
            request.by_account_id or self._s.case.complainant_account_id,
            role="citizen",
            new_status=CaseStatus.UNDER_APPEAL,
            payload={
                "kind": stage.kind,
                "grounds": request.grounds,
                "authority_position_id": authority.position_id,
                "authority_role": stage.authority_role,
            },
        )
        await self.send(
            officer_notice(
                self._s.case,
                authority.position_id,
                "sla_notice",
                self._next_key(f"appeal_{stage.kind}_authority"),
                Localized(en=f"{words.en} to decide (B4)", hi=f"निर्णय हेतु {words.hi} (B4)"),
                Localized(en=request.grounds, hi=request.grounds),
                "B4",
                kind="appeal_filed",
            )
        )
        await self.send(
            citizen_notice(
                self._s.case,
                "appeal_filed",
                Localized(en=f"Your {words.en.lower()} is registered", hi=f"आपकी {words.hi} दर्ज की गई"),
                Localized(
                    en=f"{authority.title.en} will decide it; quote {self._s.case.registration_number}.",
                    hi=f"{authority.title.hi} निर्णय लेंगे; संख्या {self._s.case.registration_number} का उल्लेख करें।",
                ),
                self._next_key("citizen_appeal_filed"),
            )
        )
        return self.state()

    @appeal.validator
    def validate_appeal(self, request: AppealInput) -> None:
        policy = self._s.policy
        stage = self._next_stage()
        if policy is None or not policy.appeals:
            raise ValueError("this case's track has no appeals / इस ट्रैक में अपील का प्रावधान नहीं")
        if self._s.appellate_position_id:
            raise ValueError("an appeal is pending; wait for its decision / एक अपील लंबित है " + self._state_words())
        if stage is None:
            raise ValueError("every stage of appeal has been used / अपील के सभी चरण पूरे " + self._state_words())
        if request.kind != stage.kind:
            raise ValueError(f"kind: the next stage is the {stage.kind} appeal / अगला चरण: {stage.kind}")
        if self._s.status not in APPEALABLE or self._s.disposed_at is None:
            raise ValueError("only a decided case is appealed / केवल निर्णीत मामले पर अपील " + self._state_words())
        end = elapsed_deadline(self._s.disposed_at, stage.within)
        if workflow.now() > end:
            raise ValueError(
                f"the time for the {stage.kind} appeal ended on {end.isoformat()} / अपील की समय सीमा समाप्त"
            )
        self._require_text("grounds", request.grounds, 10)
        self._authorize(Act.APPEAL, request.caller)

    @workflow.update(name=UPDATE_DECIDE_APPEAL)
    async def decide_appeal(self, request: AppealDecisionInput) -> LifecycleState:
        """B4 / B7: the decision, in Form-3's fields; the case has ended again, and the next stage's time runs."""
        pending = self._s.appeals[-1]
        pending["decision"] = request.decision
        pending["decided_at"] = workflow.now()
        authority = self._s.appellate_position_id
        self._s.appellate_position_id = ""
        self._s.status = CaseStatus.DISPOSED
        self._s.disposed_at = workflow.now()
        words, verdict = KIND_WORDS[pending["kind"]], DECISIONS[request.decision]
        await self.on_event(Event.APPEAL_DECIDED, workflow.now(), sync=False)
        form3: dict[str, Any] = {
            "form": "Form-3",
            "kind": pending["kind"],
            "decision": request.decision,
            "findings": request.findings,
            "directions": request.directions,
            "decided_by_position_id": authority,
        }
        await self._transition(
            "appeal_decided",
            Localized(en=f"{words.en} {verdict.en} (Form-3)", hi=f"{words.hi} {verdict.hi} (प्रपत्र-3)"),
            request.by_account_id,
            new_status=CaseStatus.DISPOSED,
            payload=form3,
        )
        await self.send(
            citizen_notice(
                self._s.case,
                "appeal_decided",
                Localized(en=f"Your {words.en.lower()} was {verdict.en}", hi=f"आपकी {words.hi} {verdict.hi}"),
                Localized(
                    en=f"{request.findings} {request.directions}".strip(),
                    hi=f"{request.findings} {request.directions}".strip(),
                ),
                self._next_key("citizen_appeal_decided"),
            )
        )
        return self.state()

    @decide_appeal.validator
    def validate_decide_appeal(self, request: AppealDecisionInput) -> None:
        if not self._s.appellate_position_id or self._s.appellate_position_id == "pending":
            raise ValueError("no appeal awaits a decision / कोई अपील निर्णय हेतु लंबित नहीं " + self._state_words())
        if request.decision not in DECISIONS:
            raise ValueError("decision: allowed or dismissed / स्वीकृत या अस्वीकृत")
        self._require_text("findings", request.findings, 10)
        hearings = self._s.policy.hearings if self._s.policy is not None else None
        kind = self._s.appeals[-1]["kind"]
        self._authorize(Act.DECIDE_APPEAL, request.caller)
        if (
            hearings is not None
            and hearings.required_before_appeal_decision
            and not heard(self._s.hearings, kind, self._s.appellate_position_id)
        ):
            raise ValueError(
                f"the {kind} appeal is decided after it is heard (B7): fix a hearing on the office's hearing day and "
                "record it / निर्णय सुनवाई के बाद: सुनवाई निर्धारित कर उसका अभिलेख दर्ज करें"
            )
