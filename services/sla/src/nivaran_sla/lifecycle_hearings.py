"""Hearings under the Act (B7, M3): the officer who hears the case now (the PGRO while the complaint is pending, the
appellate authority while an appeal is) fixes a hearing on the office's weekly hearing day (routing's master data,
which the office's officers may change), and records after it who attended: the complainant, and the public
authority whose records are examined (M3; absences feed the M2 weekly report). The hearing goes on the office's
notice board (Form-4) through intake's projection of `hearing_scheduled`; the decision follows in Form-3 (the
appeal's decision in lifecycle_appeals, which the policy may make wait for a hearing).

Runs in the sandbox and is replayed: only deterministic workflow APIs.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from nivaran_common.casework import Act
    from nivaran_common.timeutil import IST
    from nivaran_sla.case_inputs import HearingInput, HearingRecordInput
    from nivaran_sla.deadlines import parse_duration
    from nivaran_sla.domain import (
        UPDATE_RECORD_HEARING,
        UPDATE_SCHEDULE_HEARING,
        LifecycleState,
        Localized,
        PositionRef,
    )
    from nivaran_sla.lifecycle_base import EFFECT_FAILED, TERMINAL, LifecycleBase
    from nivaran_sla.lifecycle_notices import citizen_notice, officer_notice

SCHEDULED, HEARD, ADJOURNED = "scheduled", "heard", "adjourned"
OUTCOMES = {HEARD: Localized(en="heard", hi="सुनवाई पूर्ण"), ADJOURNED: Localized(en="adjourned", hi="स्थगित")}
COMPLAINT = "complaint"
WEEKDAYS = {
    1: Localized(en="Monday", hi="सोमवार"),
    2: Localized(en="Tuesday", hi="मंगलवार"),
    3: Localized(en="Wednesday", hi="बुधवार"),
    4: Localized(en="Thursday", hi="गुरुवार"),
    5: Localized(en="Friday", hi="शुक्रवार"),
    6: Localized(en="Saturday", hi="शनिवार"),
    7: Localized(en="Sunday", hi="रविवार"),
}


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: a date, YYYY-MM-DD / तिथि YYYY-MM-DD प्रारूप में") from None


def heard(hearings: list[dict[str, Any]], stage: str, position_id: str) -> bool:
    """A hearing of `stage` before `position_id` was held (recorded heard, not adjourned)."""
    return any(
        h["stage"] == stage and h["hearing_officer_position_id"] == position_id and h["status"] == HEARD
        for h in hearings
    )


def next_hearing_day(after: date, weekday: int) -> date:
    """The first day on or after `after` that falls on ISO `weekday`."""
    return after + timedelta(days=(weekday - after.isoweekday()) % 7)


class HearingActs(LifecycleBase):
    """The lifecycle's Updates for hearings."""

    def _today(self) -> date:
        return workflow.now().astimezone(IST).date()

    def _stage(self) -> str:
        """The stage heard now: the pending appeal's kind, or the complaint itself while it is open."""
        if self._appeal_pending():
            return str(self._s.appeals[-1]["kind"])
        if self._s.disposal is None and self._s.status not in TERMINAL and not self._s.awaiting_cell:
            return COMPLAINT
        return ""

    def _pending_hearing(self, stage: str) -> dict[str, Any] | None:
        return next((h for h in self._s.hearings if h["stage"] == stage and h["status"] == SCHEDULED), None)

    @workflow.update(name=UPDATE_SCHEDULE_HEARING)
    async def schedule_hearing(self, request: HearingInput) -> LifecycleState:
        """B7: a hearing on the office's hearing day; the notice board (Form-4), the complainant and the public
        authority are told."""
        stage = self._stage()
        hearer_post = self._hearing_position_id()
        authority_post = request.public_authority_position_id or self._s.position_id
        hearer = await self._hearing_post(hearer_post, "hearing officer")
        authority = await self._hearing_post(authority_post, "public_authority_position_id")
        held_on = _date(request.held_on, "held_on")
        weekday = hearer.office_hearing_weekday
        if weekday not in WEEKDAYS:
            raise ApplicationError(
                f"{hearer.office_name.en} has fixed no weekly hearing day; its officers set one first "
                f"(PUT /v1/offices/{hearer.office_id}/hearing-day) / {hearer.office_name.hi} का सुनवाई दिवस निश्चित नहीं",
                type="hearing.no_hearing_day",
                non_retryable=True,
            )
        if held_on.isoweekday() != weekday:
            day, upcoming = WEEKDAYS[weekday], next_hearing_day(self._today(), weekday)
            raise ApplicationError(
                f"held_on: {hearer.office_name.en} hears cases on {day.en}s; the next is {upcoming.isoformat()} / "
                f"{hearer.office_name.hi} में सुनवाई {day.hi} को होती है; अगली तिथि {upcoming.isoformat()}",
                type="hearing.not_hearing_day",
                non_retryable=True,
            )
        if self._stage() != stage or self._pending_hearing(stage) is not None:
            # The case moved, or another hearing was fixed, while the posts were looked up.
            changed = "the case changed meanwhile; look again / मामला इस बीच बदल गया"
            raise ApplicationError(changed, type="hearing.stale", non_retryable=True)
        venue = Localized(en=request.venue_en or hearer.office_name.en, hi=request.venue_hi or hearer.office_name.hi)
        hearing_id = f"H{len(self._s.hearings) + 1}"
        self._s.hearings.append(
            {
                "hearing_id": hearing_id,
                "stage": stage,
                "held_on": held_on.isoformat(),
                "at": request.at,
                "hearing_officer_position_id": hearer.position_id,
                "public_authority_position_id": authority.position_id,
                "status": SCHEDULED,
            }
        )
        when = f"{held_on.isoformat()} {request.at}"
        await self._transition(
            "hearing_scheduled",
            Localized(
                en=f"Hearing {hearing_id} fixed for {when} at {venue.en} (B7, Form-4)",
                hi=f"सुनवाई {hearing_id} {when} को {venue.hi} में निर्धारित (B7, प्रपत्र-4)",
            ),
            request.by_account_id,
            payload={
                "hearing_id": hearing_id,
                "stage": stage,
                "held_on": held_on.isoformat(),
                "at": request.at,
                "venue_en": venue.en,
                "venue_hi": venue.hi,
                "office_id": hearer.office_id,
                "office_name_en": hearer.office_name.en,
                "office_name_hi": hearer.office_name.hi,
                "hearing_officer_position_id": hearer.position_id,
                "hearing_officer_title_en": hearer.title.en,
                "hearing_officer_title_hi": hearer.title.hi,
                "public_authority_position_id": authority.position_id,
                "public_authority_title_en": authority.title.en,
                "public_authority_title_hi": authority.title.hi,
            },
        )
        await self.send(
            citizen_notice(
                self._s.case,
                "hearing_scheduled",
                Localized(en=f"Your hearing is on {when}", hi=f"आपकी सुनवाई {when} को है"),
                Localized(
                    en=f"Before {hearer.title.en}, at {venue.en}. Bring your documents; quote "
                    f"{self._s.case.registration_number}.",
                    hi=f"{hearer.title.hi} के समक्ष, {venue.hi} में। अपने दस्तावेज़ साथ लाएँ; संख्या "
                    f"{self._s.case.registration_number} का उल्लेख करें।",
                ),
                self._next_key("citizen_hearing", hearing_id),
            )
        )
        await self.send(
            officer_notice(
                self._s.case,
                authority.position_id,
                "sla_notice",
                self._next_key("public_authority_hearing", hearing_id),
                Localized(en=f"Attend the hearing on {when} (B7, M3)", hi=f"{when} को सुनवाई में उपस्थित हों (B7, M3)"),
                Localized(
                    en=f"Before {hearer.title.en} at {venue.en}, with the case's records; attendance is recorded.",
                    hi=f"{hearer.title.hi} के समक्ष {venue.hi} में, अभिलेखों सहित; उपस्थिति दर्ज की जाएगी।",
                ),
                "B7",
                kind="hearing_scheduled",
            )
        )
        return self.state()

    async def _hearing_post(self, position_id: str, name: str) -> PositionRef:
        try:
            return await self._position(position_id)
        except EFFECT_FAILED:
            raise ApplicationError(
                f"{name}: no post {position_id} / ऐसा कोई पद नहीं", type="hearing.no_post", non_retryable=True
            ) from None

    @schedule_hearing.validator
    def validate_schedule_hearing(self, request: HearingInput) -> None:
        policy = self._s.policy
        if policy is None or policy.hearings is None:
            raise ValueError("this case's track holds no hearings / इस ट्रैक में सुनवाई का प्रावधान नहीं")
        stage = self._stage()
        if not stage:
            raise ValueError(
                "a hearing is fixed while the complaint or an appeal of it is pending / सुनवाई केवल लंबित परिवाद या "
                f"अपील की {self._state_words()}"
            )
        pending = self._pending_hearing(stage)
        if pending is not None:
            raise ValueError(
                f"hearing {pending['hearing_id']} of {pending['held_on']} is still to be recorded / "
                f"सुनवाई {pending['hearing_id']} का अभिलेख शेष"
            )
        held_on, today = _date(request.held_on, "held_on"), self._today()
        if held_on < today:
            raise ValueError(f"held_on: not before today ({today.isoformat()}) / आज से पहले की तिथि नहीं")
        latest = today + parse_duration(policy.hearings.max_ahead)
        if held_on > latest:
            raise ValueError(f"held_on: at the latest {latest.isoformat()} / अधिकतम {latest.isoformat()} तक")
        try:
            time.fromisoformat(request.at)
        except ValueError:
            raise ValueError("at: a time, HH:MM / समय HH:MM प्रारूप में") from None
        if stage == COMPLAINT and not request.public_authority_position_id:
            raise ValueError(
                "public_authority_position_id: the post of the public servant whose records are examined (rule 7) / "
                "जिस लोक सेवक के अभिलेख देखे जाएँगे उनका पद"
            )
        self._authorize(Act.SCHEDULE_HEARING, request.caller)

    @workflow.update(name=UPDATE_RECORD_HEARING)
    async def record_hearing(self, request: HearingRecordInput) -> LifecycleState:
        """B7 / M3: who attended; heard, or adjourned for another day."""
        hearing = self._hearing(request.hearing_id)
        hearing.update(
            status=request.outcome,
            complainant_present=request.complainant_present,
            public_authority_present=request.public_authority_present,
        )
        outcome = OUTCOMES[request.outcome]
        absent = "" if request.public_authority_present else " (public authority absent)"
        absent_hi = "" if request.public_authority_present else " (लोक प्राधिकार अनुपस्थित)"
        await self._transition(
            "hearing_held",
            Localized(
                en=f"Hearing {request.hearing_id} {outcome.en}{absent} (B7, M3)",
                hi=f"सुनवाई {request.hearing_id} {outcome.hi}{absent_hi} (B7, M3)",
            ),
            request.by_account_id,
            payload={
                "hearing_id": request.hearing_id,
                "outcome": request.outcome,
                "complainant_present": request.complainant_present,
                "public_authority_present": request.public_authority_present,
                "represented_by": request.represented_by,
                "proceedings": request.proceedings,
            },
        )
        if request.outcome == ADJOURNED:
            await self.send(
                citizen_notice(
                    self._s.case,
                    "hearing_adjourned",
                    Localized(en="Your hearing was adjourned", hi="आपकी सुनवाई स्थगित हुई"),
                    Localized(
                        en="A new date will be fixed and told to you.", hi="नई तिथि निर्धारित कर आपको सूचित की जाएगी।"
                    ),
                    self._next_key("citizen_hearing_adjourned", request.hearing_id),
                )
            )
        return self.state()

    def _hearing(self, hearing_id: str) -> dict[str, Any]:
        found = next((h for h in self._s.hearings if h["hearing_id"] == hearing_id), None)
        if found is None:
            raise ValueError(f"hearing_id: no hearing {hearing_id} on this case / इस मामले में ऐसी सुनवाई नहीं")
        return found

    @record_hearing.validator
    def validate_record_hearing(self, request: HearingRecordInput) -> None:
        hearing = self._hearing(request.hearing_id)
        if hearing["status"] != SCHEDULED:
            raise ValueError(f"hearing {request.hearing_id} is already recorded / इस सुनवाई का अभिलेख हो चुका है")
        if hearing["hearing_officer_position_id"] != self._hearing_position_id():
            raise ValueError(
                f"hearing {request.hearing_id} belongs to a stage that has ended / यह सुनवाई समाप्त चरण की है"
            )
        if date.fromisoformat(hearing["held_on"]) > self._today():
            raise ValueError(
                f"attendance is recorded on or after the hearing day ({hearing['held_on']}) / "
                "उपस्थिति सुनवाई के दिन या उसके बाद दर्ज होती है"
            )
        if request.outcome not in OUTCOMES:
            raise ValueError("outcome: heard or adjourned / सुनवाई पूर्ण या स्थगित")
        self._require_text("proceedings", request.proceedings, 10)
        self._authorize(Act.RECORD_HEARING, request.caller)
