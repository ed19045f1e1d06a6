"""Acts on a case (docs/architecture.md, "Acts on a case"): the REST bodies and answers.

The bodies check types and lengths; what an act requires (the C4 §5.2 questions, a reason for a rejection, a target
date for a long service) is checked once, by sla, and its field violations come back named as the body's fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from nivaran.sla.v1 import sla_pb2
from nivaran_gateway.schemas.common import InputModel, Text, timestamp

LongText = Field(default="", max_length=5000)
ATTACHMENTS_DOC = "ids from POST /v1/grievances/{registration_number}/attachments"


class AssignmentIn(InputModel):
    """C3: the cell assigns a case registered with it to an office, with the time line it sets."""

    to_position_id: Text = Field(
        default="", max_length=128, description="the post to assign it to; empty: the office routing proposed"
    )
    note: Text = LongText
    report_by: datetime | None = Field(default=None, description="the time line for the office's final report")

    def to_proto(self) -> sla_pb2.AssignCase:
        """The sla message."""
        assign = sla_pb2.AssignCase(to_position_id=self.to_position_id, note=self.note)
        if self.report_by is not None:
            assign.report_by.FromDatetime(self.report_by)
        return assign


class ReportIn(InputModel):
    """C4 reports with the §5.2 content (preliminary in 24 h, final in 72 h); the S9 action-taken report and the
    S11 day-20 status update."""

    kind: Literal["preliminary", "final", "action_taken", "status_update"]
    concerns_office: bool | None = Field(default=None, description="does the grievance concern your office?")
    right_department_code: Text = Field(
        default="",
        max_length=32,
        description="when it does not: the right public authority (a transfer proposal goes to the DM's queue, S5)",
    )
    aware_before: bool | None = Field(default=None, description="were you aware of it before?")
    action_taken: Text = LongText
    resolvable_within_72h: bool | None = None
    expected_resolution_by: datetime | None = Field(default=None, description="the time line, when resolvable")
    reasons_not_resolvable: Text = LongText
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)

    def to_proto(self) -> sla_pb2.SubmitReport:
        """The sla message."""
        report = sla_pb2.SubmitReport(
            kind=REPORT_KINDS[self.kind],
            right_department_code=self.right_department_code,
            action_taken=self.action_taken,
            reasons_not_resolvable=self.reasons_not_resolvable,
            attachment_ids=self.attachment_ids,
        )
        for name in ("concerns_office", "aware_before", "resolvable_within_72h"):
            value = getattr(self, name)
            if value is not None:
                setattr(report, name, value)
        if self.expected_resolution_by is not None:
            report.expected_resolution_by.FromDatetime(self.expected_resolution_by)
        return report


REPORT_KINDS = {
    "preliminary": sla_pb2.REPORT_KIND_PRELIMINARY,
    "final": sla_pb2.REPORT_KIND_FINAL,
    "action_taken": sla_pb2.REPORT_KIND_ACTION_TAKEN,
    "status_update": sla_pb2.REPORT_KIND_STATUS_UPDATE,
}


class DisposalIn(InputModel):
    """How the case ends: resolved (with the action taken); rejected (S15: subject, area or competence, with the
    reason); an interim order (S12: a target date for a service whose limit is over 30 days); an order on a scheme
    request with a recommendation (S14, copied to the department)."""

    kind: Literal["resolved", "rejected", "interim_order", "scheme_order"]
    action_taken: Text = LongText
    ground: Literal["subject", "area", "competence", ""] = ""
    reason: Text = LongText
    order: Text = LongText
    target_date: datetime | None = None
    responsible_account_id: Text = Field(default="", max_length=64, description="S12: the officer named on the order")
    recommendation: Text = LongText
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)

    def to_request(self, request: sla_pb2.ActOnCaseRequest) -> None:
        """Set the act of `request` from this body."""
        if self.kind == "resolved":
            request.dispose.CopyFrom(
                sla_pb2.Dispose(action_taken=self.action_taken, attachment_ids=self.attachment_ids)
            )
        elif self.kind == "rejected":
            request.reject.CopyFrom(sla_pb2.Reject(ground=self.ground, reason=self.reason))
        elif self.kind == "interim_order":
            order = sla_pb2.InterimOrder(order=self.order, responsible_account_id=self.responsible_account_id)
            if self.target_date is not None:
                order.target_date.FromDatetime(self.target_date)
            request.interim_order.CopyFrom(order)
        else:
            request.scheme_order.CopyFrom(sla_pb2.SchemeOrder(order=self.order, recommendation=self.recommendation))


class ReviewIn(InputModel):
    """C5: a hop of the review chain forwards the final report, returns it for more information, or (the CS cell)
    closes the case."""

    decision: Literal["forward", "return", "close"]
    note: Text = LongText


REVIEW_DECISIONS = {
    "forward": sla_pb2.REVIEW_DECISION_FORWARD,
    "return": sla_pb2.REVIEW_DECISION_RETURN,
    "close": sla_pb2.REVIEW_DECISION_CLOSE,
}


class InfoRequestIn(InputModel):
    """C6 / B2: what the citizen is asked for; the clocks waiting on the citizen pause."""

    question: Text = LongText


class InfoResponseIn(InputModel):
    """The complainant's answer; paused clocks resume."""

    response: Text = LongText
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)


class ShowCauseReplyIn(InputModel):
    """S9 / S11: the reply to a show-cause notice."""

    reply: Text = LongText
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)


class RecommendationIn(InputModel):
    """S18: the DM's recommendation on a reply, within 1 day."""

    recommendation: Text = LongText


class CommissionerActionIn(InputModel):
    """S18: the Commissioner acts on the DM's recommendation, or forwards it, within 1 day."""

    decision: Literal["act", "forward"]
    note: Text = LongText


class ShowCauseNoticeView(BaseModel):
    """A show-cause notice, its reply and the DM's recommendation."""

    id: str
    registration_number: str
    position_id: str
    number: int
    issued_at: datetime | None
    due_by: datetime | None
    reply: str | None = None
    replied_at: datetime | None = None
    recommendation: str | None = None
    recommended_at: datetime | None = None

    @classmethod
    def from_proto(cls, notice: sla_pb2.ShowCauseNotice) -> ShowCauseNoticeView:
        """Convert from the proto."""
        return cls(
            id=notice.id,
            registration_number=notice.registration_number,
            position_id=notice.position_id,
            number=notice.number,
            issued_at=timestamp(notice, "issued_at"),
            due_by=timestamp(notice, "due_by"),
            reply=notice.reply or None,
            replied_at=timestamp(notice, "replied_at"),
            recommendation=notice.recommendation or None,
            recommended_at=timestamp(notice, "recommended_at"),
        )


class ShowCauseNoticeList(BaseModel):
    """The show-cause notices of a case, oldest first."""

    registration_number: str
    notices: list[ShowCauseNoticeView]


class ActOut(BaseModel):
    """Where the case stands after the act."""

    act: str = Field(examples=["report"])
    registration_number: str
    status: str = Field(examples=["in_progress"])
    position_id: str = Field(description="the post the case sits at")
    reviewer_position_id: str = Field(default="", description="C5: the post reviewing the final report now")
    notice: ShowCauseNoticeView | None = None


class BreachView(BaseModel):
    """A breach record (S8, S13, S18 …) for humans to act on."""

    id: str
    grievance_id: str
    position_id: str
    rule: str
    recorded_at: datetime | None
    details: dict[str, object]


class BreachList(BaseModel):
    """One page of breach records, newest first."""

    breaches: list[BreachView]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")
