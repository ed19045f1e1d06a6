"""GrievanceLifecycle: the single writer of a case's state transitions (one workflow per grievance).

This module runs inside Temporal's sandbox and is replayed, so it imports little and does nothing but decide:
every side effect goes through an activity that carries an idempotency key.

It is assembled from the acts' mixins (lifecycle_disposals, lifecycle_reports, lifecycle_show_cause,
lifecycle_recourse, lifecycle_appeals, lifecycle_hearings) on the shared
base (lifecycle_base); this module keeps the state machine itself: the case's start (C3 cell or direct
assignment, acknowledgement), the clock loop, and the acts that move a case (forward, transfer, assign, charge,
policy migration).
"""

from __future__ import annotations

import contextlib
from datetime import UTC
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran.common.v1 import common_pb2
    from nivaran.sla.v1 import sla_pb2
    from nivaran_common.casework import Act
    from nivaran_common.temporal import (
        LIFECYCLE_WORKFLOW,
    )
    from nivaran_sla.activities import LifecycleActivities
    from nivaran_sla.clocks import ClockEngine
    from nivaran_sla.domain import (
        UPDATE_ASSIGN,
        UPDATE_CHARGE_TAKEN,
        UPDATE_MIGRATE_POLICY,
        AssignInput,
        Assignment,
        Case,
        CaseStatus,
        ChargeTakenInput,
        ClockView,
        ForwardInput,
        LifecycleConfig,
        LifecycleResult,
        LifecycleState,
        Localized,
        MigratePolicyInput,
        NoticeResult,
        PolicyVersionInput,
        RoleInput,
        TransferInput,
        TransitionInput,
    )
    from nivaran_sla.lifecycle_appeals import AppealActs
    from nivaran_sla.lifecycle_base import (
        EFFECT_FAILED,
        TERMINAL,
        LifecycleBase,
        bilingual,
    )
    from nivaran_sla.lifecycle_camp import CampUploadCheck
    from nivaran_sla.lifecycle_disposals import DisposalActs
    from nivaran_sla.lifecycle_effects import DeadlineEffects
    from nivaran_sla.lifecycle_hearings import HearingActs
    from nivaran_sla.lifecycle_notices import (
        acknowledgement_notice,
        case_assigned_notice,
        citizen_notice,
        officer_notice,
    )
    from nivaran_sla.lifecycle_recourse import RECOURSE_PATCH, RecourseActs
    from nivaran_sla.lifecycle_reports import ReportActs
    from nivaran_sla.lifecycle_show_cause import ShowCauseActs
    from nivaran_sla.lifecycle_state import LifecycleCaseState
    from nivaran_sla.policy import (
        Event,
        Policy,
    )

# Histories recorded before C3 (the cell assigns CSPGRS cases) loaded the policy after assigning the case.
CELL_ASSIGNMENT_PATCH = "cell-assignment-v1"
# Histories recorded before issue 9's one start write wrote a case's start to intake in three calls (the assignment,
# the acknowledgement after the notices, then the first deadline); since, the notices go first and one call writes it.
ONE_START_WRITE_PATCH = "one-start-write-v1"


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
        camp_received_on=lifecycle.camp_received_on,
        channel=lifecycle.channel,
        preferred_channel=lifecycle.preferred_channel,
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


@workflow.defn(name=LIFECYCLE_WORKFLOW)
class GrievanceLifecycle(  # noqa: PLR0904
    DisposalActs, ReportActs, ShowCauseActs, RecourseActs, AppealActs, HearingActs, CampUploadCheck, LifecycleBase
):
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
            elif workflow.patched(ONE_START_WRITE_PATCH):
                await self._start_assigned()
            else:
                await self._assign()
                await self._acknowledge()
                await self._start_clocks(assigned=True)
        await self._run_clocks()
        # Issue 10: on a track with recourse the case may come back (reopened, or unresolved, H3) until its window
        # ends; histories recorded before that ended with the case.
        while workflow.patched(RECOURSE_PATCH) and await self._recourse():
            await self._run_clocks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return LifecycleResult(
            grievance_id=self._s.case.grievance_id, status=self._s.status, disposed_at=self._s.disposed_at
        )

    async def _load_config(self) -> None:
        config: LifecycleConfig = await self.activity(LifecycleActivities.load_config, self._s.case.track)
        self._s.policy = Policy.model_validate(config.policy)
        self._s.engine = ClockEngine.for_policy(self._s.policy)
        self._s.upsert_search_attributes = config.upsert_search_attributes

    async def _start_clocks(self, *, assigned: bool, sync: bool = True) -> None:
        """Feed the case's first events (and any act that came before the policy was loaded) to the clocks; with
        `sync`, tell intake the first deadline (else the caller's next record carries it)."""
        filed_at = self._s.case.filed_at or workflow.now()
        early, self._s.early_events = self._s.early_events, []
        await self.on_event(Event.REGISTERED, self._receipt(filed_at), sync=False)
        if assigned:
            await self.on_event(Event.ASSIGNED, self._s.assigned_at or workflow.now(), sync=False)
        for event, at in early:
            await self.on_event(event, at, sync=False)
        await self._check_camp_upload(filed_at)
        if sync:
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
                if await self._fresh_time():
                    continue  # a new workflow task: acts may have come in meanwhile, so look at the clocks again
                remaining = (due.deadline - workflow.now()).total_seconds()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(lambda: self._s.wake, timeout=remaining)
            else:
                await workflow.wait_condition(lambda: self._s.wake)
            for state in engine.due(workflow.now()):
                await self._effects.fire(state.clock_id, state.generation)
                assert self._s.policy is not None
                again = engine.rearm(self._s.policy, state.clock_id, workflow.now())
                if again is not None:  # a repeating reminder (C6) starts again from now
                    engine.set_deadline(again.clock_id, again.generation, await self._deadline(again))
            self._update_search_attributes()
            await self._sync_deadline()

    @workflow.update
    async def forward(self, request: ForwardInput) -> LifecycleState:
        """S8: the L1 forwards within the department; the disposing officer's 10-day clock starts."""
        await workflow.wait_condition(lambda: self._s.assigned)
        target = await self._position(request.to_position_id)
        if target.department_code and target.department_code != self._s.department_code:
            raise ApplicationError(
                bilingual(
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
        except EFFECT_FAILED as exc:
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

    async def _assign(self) -> None:
        """S8: record that the case sits with the routed L1 position."""
        await self.record(self._assignment_record())
        self._s.assigned = True
        self._s.assigned_at = workflow.now()
        self._s.status = CaseStatus.ASSIGNED

    async def _start_assigned(self) -> None:
        """S8 and B5 in one write to intake: the case sits with the routed L1 and its clocks start; the complainant
        is acknowledged and the officer told; then one call records the assignment and the acknowledgement, both
        carrying the first deadline. Acts wait until that call is done, so that nothing lands on the timeline before
        the assignment (while notify is down, that is until the notices are sent)."""
        self._s.assigned_at = workflow.now()
        self._s.status = CaseStatus.ASSIGNED
        await self._start_clocks(assigned=True, sync=False)
        acknowledgement = await self.send(acknowledgement_notice(self._s.case))
        await self.send(case_assigned_notice(self._s.case))
        records = [self._assignment_record()]
        if acknowledgement is not None:
            self._s.acknowledgement_notice_id = acknowledgement.notice_id
            records.append(self._acknowledgement_record(acknowledgement))
        await self.record_all(records)
        self._s.assigned = True

    def _assignment_record(self) -> TransitionInput:
        case = self._s.case
        return TransitionInput(
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
        await self.record(self._acknowledgement_record(acknowledgement))

    def _acknowledgement_record(self, acknowledgement: NoticeResult) -> TransitionInput:
        return TransitionInput(
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
