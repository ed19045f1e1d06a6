"""ActOnCase requests to the lifecycle's Update inputs: each `act` of the oneof to its domain input, with every bad
or missing field named by its path in the request (for example `report.concerns_office`).

Checks here are about the request alone (required fields, lengths, enums). What depends on the case (its state,
which post may act, which notice exists) is the lifecycle's to check, in its validators.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from nivaran.sla.v1 import sla_pb2
from nivaran_common.casework import CITIZEN_KIND, OFFICER_KIND, OPERATOR_KIND, Act, Caller
from nivaran_common.errors import FieldViolation
from nivaran_sla.case_inputs import (
    AppealDecisionInput,
    AppealInput,
    AtrAcceptanceInput,
    CallOutcome,
    DuplicateInput,
    FeedbackInput,
    FeedbackSource,
    HearingInput,
    HearingRecordInput,
    InterimReplyInput,
    ReopenInput,
    WatchInput,
    WatchReportInput,
)
from nivaran_sla.domain import (
    AssignInput,
    CitizenResponseInput,
    DisposeInput,
    InfoRequestInput,
    InterimOrderInput,
    RecommendationInput,
    RejectInput,
    ReplyShowCauseInput,
    ReportInput,
    ReviewInput,
    SchemeOrderInput,
)

# B4's registration number (the same shape as intake's), checked before sla asks intake for the case.
REGISTRATION_NUMBER = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,6}-\d{4}-\d{7}-\d$")
TEXT_MIN = 10
TEXT_MAX = 5000
ATTACHMENTS_MAX = 10
KEY_MIN, KEY_MAX = 8, 128

REPORT_KINDS = {
    sla_pb2.REPORT_KIND_PRELIMINARY: "preliminary",
    sla_pb2.REPORT_KIND_FINAL: "final",
    sla_pb2.REPORT_KIND_ACTION_TAKEN: "action",
    sla_pb2.REPORT_KIND_STATUS_UPDATE: "status_update",
}
REVIEW_DECISIONS = {
    sla_pb2.REVIEW_DECISION_FORWARD: "forward",
    sla_pb2.REVIEW_DECISION_RETURN: "return",
    sla_pb2.REVIEW_DECISION_CLOSE: "close",
}
REJECTION_GROUNDS = ("subject", "area", "competence")
CALL_OUTCOMES = {
    sla_pb2.CALL_OUTCOME_SATISFIED: CallOutcome.SATISFIED,
    sla_pb2.CALL_OUTCOME_NOT_SATISFIED: CallOutcome.NOT_SATISFIED,
    sla_pb2.CALL_OUTCOME_NOT_REACHABLE: CallOutcome.NOT_REACHABLE,
}
RECORDING_REF_MAX = 200
APPEAL_KINDS = ("first", "second", "revision")
APPEAL_DECISIONS = ("allowed", "dismissed")
HEARING_OUTCOMES = ("heard", "adjourned")
COMMISSIONER_DECISIONS = ("act", "forward")


@dataclass(frozen=True)
class ActInput:
    """One act as the lifecycle takes it: which act, and the Update's input."""

    act: Act
    arg: Any
    notice_id: str = ""


class Violations:
    """Collects the field violations of one request, each under its path."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.found: list[FieldViolation] = []

    def add(self, name: str, description: str) -> None:
        self.found.append(FieldViolation(f"{self.prefix}.{name}" if self.prefix else name, description))

    def text(self, name: str, value: str, minimum: int = TEXT_MIN, *, required: bool = True) -> str:
        value = value.strip()
        if not value and not required:
            return value
        if not value:
            self.add(name, "is required / आवश्यक है")
        elif len(value) < minimum or len(value) > TEXT_MAX:
            self.add(name, f"must be {minimum} to {TEXT_MAX} characters / {minimum} से {TEXT_MAX} अक्षर")
        return value

    def attachments(self, name: str, values: Any) -> tuple[str, ...]:
        ids = tuple(v.strip() for v in values)
        if len(ids) > ATTACHMENTS_MAX or any(not v for v in ids):
            self.add(name, f"up to {ATTACHMENTS_MAX} attachment ids from AddAttachment / अधिकतम {ATTACHMENTS_MAX}")
        return ids


def _time(message: Any, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=UTC) if message.HasField(name) else None


def caller_from_proto(caller: sla_pb2.Caller, violations: list[FieldViolation]) -> Caller:
    """The caller as the gateway (or a department's system) proved it; a missing one is named."""
    if not caller.account_id.strip():
        violations.append(FieldViolation("caller.account_id", "is required / आवश्यक है"))
    if caller.kind not in (CITIZEN_KIND, OFFICER_KIND, OPERATOR_KIND):
        violations.append(
            FieldViolation("caller.kind", "must be citizen, officer or operator / नागरिक, पदाधिकारी या ऑपरेटर")
        )
    return Caller(
        account_id=caller.account_id.strip(),
        kind=caller.kind,
        position_ids=tuple(p.strip() for p in caller.position_ids if p.strip()),
        district_code=caller.district_code.strip().upper(),
        phone=caller.phone.strip(),
        acting_for_account_id=caller.acting_for_account_id.strip(),
        roles=tuple(r.strip() for r in caller.roles if r.strip()),
    )


def _report(m: sla_pb2.SubmitReport, caller: Caller, v: Violations) -> ActInput:
    kind = REPORT_KINDS.get(m.kind)
    if kind is None:
        v.add("kind", "must be PRELIMINARY, FINAL, ACTION_TAKEN or STATUS_UPDATE / प्रतिवेदन का प्रकार")
    c4 = kind in {"preliminary", "final"}
    concerns = m.concerns_office if m.HasField("concerns_office") else None
    aware = m.aware_before if m.HasField("aware_before") else None
    resolvable = m.resolvable_within_72h if m.HasField("resolvable_within_72h") else None
    expected = _time(m, "expected_resolution_by")
    department = m.right_department_code.strip().upper()
    reasons = m.reasons_not_resolvable.strip()
    action_taken = m.action_taken.strip()
    if c4 and concerns is None:
        v.add("concerns_office", "is required: does the grievance concern your office? (C4 §5.2)")
    if concerns is False:
        if not department:
            v.add("right_department_code", "is required when the grievance is not your office's (C4 §5.2)")
        v.text("action_taken", action_taken, required=False)
    else:
        action_taken = v.text("action_taken", action_taken)
        if c4 and aware is None:
            v.add("aware_before", "is required: were you aware of it before? (C4 §5.2)")
        if c4 and resolvable is None:
            v.add("resolvable_within_72h", "is required: can it be resolved within 72 hours? (C4 §5.2)")
        if resolvable is True and expected is None:
            v.add("expected_resolution_by", "is required when it can be resolved within 72 hours: the time line")
        if resolvable is False:
            reasons = v.text("reasons_not_resolvable", reasons)
    return ActInput(
        Act.REPORT,
        ReportInput(
            kind=kind or "",
            text=action_taken or reasons,
            by_account_id=caller.account_id,
            concerns_office=concerns,
            right_department_code=department,
            aware_before=aware,
            action_taken=action_taken,
            resolvable_within_72h=resolvable,
            expected_resolution_by=expected,
            reasons_not_resolvable=reasons,
            attachment_ids=v.attachments("attachment_ids", m.attachment_ids),
            caller=caller,
        ),
    )


def _dispose(m: sla_pb2.Dispose, caller: Caller, v: Violations) -> ActInput:
    outcome = v.text("action_taken", m.action_taken)
    attachments = v.attachments("attachment_ids", m.attachment_ids)
    arg = DisposeInput(disposed_by=caller.account_id, outcome=outcome, attachment_ids=attachments, caller=caller)
    return ActInput(Act.DISPOSE, arg)


def _reject(m: sla_pb2.Reject, caller: Caller, v: Violations) -> ActInput:
    ground = m.ground.strip().lower()
    if ground not in REJECTION_GROUNDS:
        v.add("ground", "must be subject, area or competence (S15) / विषय, क्षेत्र या सक्षमता")
    reason = v.text("reason", m.reason)
    arg = RejectInput(ground=ground, reason=reason, by_account_id=caller.account_id, caller=caller)
    return ActInput(Act.REJECT, arg)


def _interim_order(m: sla_pb2.InterimOrder, caller: Caller, v: Violations) -> ActInput:
    order = v.text("order", m.order)
    arg = InterimOrderInput(
        order=order,
        by_account_id=caller.account_id,
        target_date=_time(m, "target_date"),
        responsible_account_id=m.responsible_account_id.strip() or caller.account_id,
        caller=caller,
    )
    return ActInput(Act.INTERIM_ORDER, arg)


def _scheme_order(m: sla_pb2.SchemeOrder, caller: Caller, v: Violations) -> ActInput:
    order = v.text("order", m.order)
    recommendation = v.text("recommendation", m.recommendation)
    arg = SchemeOrderInput(order=order, recommendation=recommendation, by_account_id=caller.account_id, caller=caller)
    return ActInput(Act.SCHEME_ORDER, arg)


def _review(m: sla_pb2.ReviewReport, caller: Caller, v: Violations) -> ActInput:
    decision = REVIEW_DECISIONS.get(m.decision)
    if decision is None:
        v.add("decision", "must be FORWARD, RETURN or CLOSE (C5) / अग्रसारित, वापस या बंद")
    # Closing needs no reasons (a word of satisfaction will do); forwarding and returning say why, in full.
    note = v.text("note", m.note, TEXT_MIN if decision != "close" else 2, required=decision != "close")
    arg = ReviewInput(
        accept=decision == "close", note=note, by_account_id=caller.account_id, decision=decision or "", caller=caller
    )
    return ActInput(Act.REVIEW, arg)


def _request_information(m: sla_pb2.RequestInformation, caller: Caller, v: Violations) -> ActInput:
    question = v.text("question", m.question)
    return ActInput(
        Act.REQUEST_INFORMATION, InfoRequestInput(question=question, by_account_id=caller.account_id, caller=caller)
    )


def _citizen_response(m: sla_pb2.CitizenResponse, caller: Caller, v: Violations) -> ActInput:
    response = v.text("response", m.response, 2)
    arg = CitizenResponseInput(
        response=response,
        by_account_id=caller.account_id,
        attachment_ids=v.attachments("attachment_ids", m.attachment_ids),
        caller=caller,
    )
    return ActInput(Act.CITIZEN_RESPONSE, arg)


def _notice_id(value: str, v: Violations) -> str:
    value = value.strip()
    if not value:
        v.add("notice_id", "is required / आवश्यक है")
    return value


def _show_cause_reply(m: sla_pb2.ShowCauseReply, caller: Caller, v: Violations) -> ActInput:
    notice_id = _notice_id(m.notice_id, v)
    reply = v.text("reply", m.reply)
    arg = ReplyShowCauseInput(
        notice_id=notice_id,
        reply=reply,
        replied_by=caller.account_id,
        attachment_ids=v.attachments("attachment_ids", m.attachment_ids),
        caller=caller,
    )
    return ActInput(Act.SHOW_CAUSE_REPLY, arg, notice_id)


def _recommendation(m: sla_pb2.Recommendation, caller: Caller, v: Violations) -> ActInput:
    notice_id = _notice_id(m.notice_id, v)
    text = v.text("recommendation", m.recommendation)
    arg = RecommendationInput(
        notice_id=notice_id, recommendation=text, by_account_id=caller.account_id, by_role="DM", caller=caller
    )
    return ActInput(Act.RECOMMENDATION, arg, notice_id)


def _commissioner_action(m: sla_pb2.CommissionerAction, caller: Caller, v: Violations) -> ActInput:
    notice_id = _notice_id(m.notice_id, v)
    decision = m.decision.strip().lower()
    if decision not in COMMISSIONER_DECISIONS:
        v.add("decision", "must be act or forward (S18) / कार्रवाई या अग्रसारण")
    note = v.text("note", m.note)
    arg = RecommendationInput(
        notice_id=notice_id,
        recommendation=note,
        by_account_id=caller.account_id,
        by_role="COMMISSIONER",
        decision=decision,
        caller=caller,
    )
    return ActInput(Act.COMMISSIONER_ACTION, arg, notice_id)


def _assign(m: sla_pb2.AssignCase, caller: Caller, v: Violations) -> ActInput:
    note = v.text("note", m.note, required=False)
    arg = AssignInput(
        by_account_id=caller.account_id,
        to_position_id=m.to_position_id.strip(),
        note=note,
        report_by=_time(m, "report_by"),
        caller=caller,
    )
    return ActInput(Act.ASSIGN, arg)


def _reopen(m: sla_pb2.Reopen, caller: Caller, v: Violations) -> ActInput:
    reason = v.text("reason", m.reason)
    arg = ReopenInput(
        reason=reason,
        by_account_id=caller.account_id,
        attachment_ids=v.attachments("attachment_ids", m.attachment_ids),
        caller=caller,
    )
    return ActInput(Act.REOPEN, arg)


def _feedback(m: sla_pb2.Feedback, caller: Caller, v: Violations) -> ActInput:
    """H3: a citizen's rating (rating, resolved) or an operator's call record (call_outcome, recording_ref)."""
    comment = v.text("comment", m.comment, 1, required=False)
    if caller.kind == OPERATOR_KIND:
        outcome = CALL_OUTCOMES.get(m.call_outcome)
        if outcome is None:
            v.add("call_outcome", "must be SATISFIED, NOT_SATISFIED or NOT_REACHABLE / कॉल का परिणाम")
        recording = m.recording_ref.strip()
        if outcome is not None and outcome is not CallOutcome.NOT_REACHABLE and not recording:
            v.add("recording_ref", "is required for a call that took place / कॉल रिकॉर्डिंग का संदर्भ आवश्यक")
        if len(recording) > RECORDING_REF_MAX:
            v.add("recording_ref", f"at most {RECORDING_REF_MAX} characters / अधिकतम {RECORDING_REF_MAX} अक्षर")
        if m.rating or m.HasField("resolved"):
            v.add("rating", "the call centre records the call, not a rating / कॉल सेंटर रेटिंग नहीं देता")
        resolved = {CallOutcome.SATISFIED: True, CallOutcome.NOT_SATISFIED: False}.get(outcome) if outcome else None
        arg = FeedbackInput(
            source=FeedbackSource.CALL_CENTRE,
            resolved=resolved,
            comment=comment,
            call_outcome=outcome,
            recording_ref=recording,
            by_account_id=caller.account_id,
            caller=caller,
        )
        return ActInput(Act.FEEDBACK, arg)
    if not 1 <= m.rating <= 5:
        v.add("rating", "must be 1 to 5 / 1 से 5")
    if not m.HasField("resolved"):
        v.add("resolved", "is required: was the grievance fixed? / आवश्यक: क्या शिकायत का निवारण हुआ?")
    if m.call_outcome or m.recording_ref.strip():
        v.add("call_outcome", "only the call centre records a call / केवल कॉल सेंटर")
    arg = FeedbackInput(
        source=FeedbackSource.CITIZEN,
        resolved=m.resolved if m.HasField("resolved") else None,
        rating=m.rating,
        comment=comment,
        by_account_id=caller.account_id,
        caller=caller,
    )
    return ActInput(Act.FEEDBACK, arg)


def _open_watch(m: sla_pb2.OpenWatch, caller: Caller, v: Violations) -> ActInput:
    item = v.text("item", m.item)
    return ActInput(Act.OPEN_WATCH, WatchInput(item=item, by_account_id=caller.account_id, caller=caller))


def _watch_report(m: sla_pb2.WatchReport, caller: Caller, v: Violations) -> ActInput:
    report = v.text("report", m.report)
    arg = WatchReportInput(
        report=report,
        by_account_id=caller.account_id,
        attachment_ids=v.attachments("attachment_ids", m.attachment_ids),
        caller=caller,
    )
    return ActInput(Act.WATCH_REPORT, arg)


def _mark_duplicate(m: sla_pb2.MarkDuplicate, caller: Caller, v: Violations) -> ActInput:
    number = m.original_registration_number.strip().upper()
    if not REGISTRATION_NUMBER.match(number):
        v.add("original_registration_number", "a registration number such as BR-PAT-2026-0000001-7 / पंजीकरण संख्या")
    note = v.text("note", m.note, required=False)
    arg = DuplicateInput(original_registration_number=number, note=note, by_account_id=caller.account_id, caller=caller)
    return ActInput(Act.MARK_DUPLICATE, arg)


def _date(name: str, value: str, v: Violations) -> str:
    value = value.strip()
    try:
        date.fromisoformat(value)
    except ValueError:
        v.add(name, "a date, YYYY-MM-DD / तिथि")
    return value


def _interim_reply(m: sla_pb2.InterimReply, caller: Caller, v: Violations) -> ActInput:
    reply = v.text("reply", m.reply)
    number = v.text("application_number", m.application_number, 3)
    status = v.text("application_status", m.application_status, 2)
    arg = InterimReplyInput(
        reply=reply,
        called_on=_date("called_on", m.called_on, v),
        application_number=number,
        applied_on=_date("applied_on", m.applied_on, v),
        application_status=status,
        by_account_id=caller.account_id,
        attachment_ids=v.attachments("attachment_ids", m.attachment_ids),
        caller=caller,
    )
    return ActInput(Act.INTERIM_REPLY, arg)


def _appeal(m: sla_pb2.FileAppeal, caller: Caller, v: Violations) -> ActInput:
    kind = m.kind.strip().lower()
    if kind not in APPEAL_KINDS:
        v.add("kind", "first, second or revision / प्रथम, द्वितीय या पुनरीक्षण")
    grounds = v.text("grounds", m.grounds)
    return ActInput(Act.APPEAL, AppealInput(kind=kind, grounds=grounds, by_account_id=caller.account_id, caller=caller))


def _decide_appeal(m: sla_pb2.DecideAppeal, caller: Caller, v: Violations) -> ActInput:
    decision = m.decision.strip().lower()
    if decision not in APPEAL_DECISIONS:
        v.add("decision", "allowed or dismissed / स्वीकृत या अस्वीकृत")
    arg = AppealDecisionInput(
        decision=decision,
        findings=v.text("findings", m.findings),
        directions=v.text("directions", m.directions, required=False),
        by_account_id=caller.account_id,
        caller=caller,
    )
    return ActInput(Act.DECIDE_APPEAL, arg)


def _schedule_hearing(m: sla_pb2.ScheduleHearing, caller: Caller, v: Violations) -> ActInput:
    held_on, at = m.held_on.strip(), m.at.strip()
    try:
        date.fromisoformat(held_on)
    except ValueError:
        v.add("held_on", "a date, YYYY-MM-DD / तिथि YYYY-MM-DD")
    try:
        time.fromisoformat(at)
    except ValueError:
        v.add("at", "a time, HH:MM / समय HH:MM")
    arg = HearingInput(
        held_on=held_on,
        at=at[:5],
        venue_en=v.text("venue.en", m.venue.en, 2, required=False),
        venue_hi=v.text("venue.hi", m.venue.hi, 2, required=False),
        public_authority_position_id=m.public_authority_position_id.strip(),
        by_account_id=caller.account_id,
        caller=caller,
    )
    return ActInput(Act.SCHEDULE_HEARING, arg)


def _record_hearing(m: sla_pb2.RecordHearing, caller: Caller, v: Violations) -> ActInput:
    outcome = m.outcome.strip().lower()
    if outcome not in HEARING_OUTCOMES:
        v.add("outcome", "heard or adjourned / सुनवाई पूर्ण या स्थगित")
    if not m.hearing_id.strip():
        v.add("hearing_id", "is required / आवश्यक है")
    arg = HearingRecordInput(
        hearing_id=m.hearing_id.strip(),
        outcome=outcome,
        complainant_present=m.complainant_present,
        public_authority_present=m.public_authority_present,
        proceedings=v.text("proceedings", m.proceedings),
        represented_by=v.text("represented_by", m.represented_by, 2, required=False),
        by_account_id=caller.account_id,
        caller=caller,
    )
    return ActInput(Act.RECORD_HEARING, arg)


def _accept_atr(m: sla_pb2.AcceptAtr, caller: Caller, v: Violations) -> ActInput:
    note = v.text("note", m.note, 2, required=False)
    return ActInput(Act.ACCEPT_ATR, AtrAcceptanceInput(note=note, by_account_id=caller.account_id, caller=caller))


# The `act` oneof's field name → its converter. Adding an act: one message, one row here, one row in acts.ACTS.
CONVERTERS: dict[str, Callable[[Any, Caller, Violations], ActInput]] = {
    "assign": _assign,
    "reopen": _reopen,
    "feedback": _feedback,
    "open_watch": _open_watch,
    "watch_report": _watch_report,
    "mark_duplicate": _mark_duplicate,
    "interim_reply": _interim_reply,
    "appeal": _appeal,
    "decide_appeal": _decide_appeal,
    "schedule_hearing": _schedule_hearing,
    "record_hearing": _record_hearing,
    "accept_atr": _accept_atr,
    "report": _report,
    "dispose": _dispose,
    "reject": _reject,
    "interim_order": _interim_order,
    "scheme_order": _scheme_order,
    "review": _review,
    "request_information": _request_information,
    "citizen_response": _citizen_response,
    "show_cause_reply": _show_cause_reply,
    "recommendation": _recommendation,
    "commissioner_action": _commissioner_action,
}


def act_from_proto(request: sla_pb2.ActOnCaseRequest) -> tuple[ActInput | None, Caller, list[FieldViolation]]:
    """The act of a request with every violation found in it (the request's own fields first)."""
    violations: list[FieldViolation] = []
    if not request.grievance_id.strip():
        violations.append(FieldViolation("grievance_id", "is required / आवश्यक है"))
    key = request.idempotency_key.strip()
    if not KEY_MIN <= len(key) <= KEY_MAX:
        violations.append(
            FieldViolation("idempotency_key", f"must be {KEY_MIN} to {KEY_MAX} characters / {KEY_MIN}–{KEY_MAX} अक्षर")
        )
    caller = caller_from_proto(request.caller, violations)
    which = request.WhichOneof("act")
    if which is None:
        violations.append(FieldViolation("act", f"one of: {', '.join(CONVERTERS)} / कोई एक कार्य आवश्यक"))
        return None, caller, violations
    v = Violations(which)
    act = CONVERTERS[which](getattr(request, which), caller, v)
    return act, caller, violations + v.found
