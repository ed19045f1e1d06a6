"""The citizen's recourse after a case ends (issue 10): the REST bodies of reopening and of H3 feedback.

Types and lengths are checked here; what depends on the case (ended, within the policy's window, returns left, who
may speak) is checked once, by the case's lifecycle, and comes back as a problem naming the field or the state.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from nivaran.sla.v1 import sla_pb2
from nivaran_gateway.schemas.acts import ATTACHMENTS_DOC, LongText
from nivaran_gateway.schemas.common import InputModel, Text


class ReopenIn(InputModel):
    """The complainant reopens an ended case within its policy's window, saying why it is not fixed."""

    reason: Text = Field(default="", max_length=5000, description="why the grievance is not fixed (10+ characters)")
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)

    def to_proto(self) -> sla_pb2.Reopen:
        """The sla act."""
        return sla_pb2.Reopen(reason=self.reason, attachment_ids=self.attachment_ids)


class WatchIn(InputModel):
    """M4: what the disposed case stays under watch for (e.g. "encroachment case registered; removal pending")."""

    item: Text = Field(default="", max_length=500, description="the outstanding work (10+ characters)")

    def to_proto(self) -> sla_pb2.OpenWatch:
        """The sla act."""
        return sla_pb2.OpenWatch(item=self.item)


class WatchReportIn(InputModel):
    """M4: the report that ends the watch (the removal report), with its documents."""

    report: Text = LongText
    attachment_ids: list[Text] = Field(default_factory=list, max_length=10, description=ATTACHMENTS_DOC)

    def to_proto(self) -> sla_pb2.WatchReport:
        """The sla act."""
        return sla_pb2.WatchReport(report=self.report, attachment_ids=self.attachment_ids)


class DuplicateIn(InputModel):
    """The officer closes the case as a duplicate of another; the complainant is told the original's number."""

    original_registration_number: Text = Field(max_length=32, examples=["BR-PAT-2026-0000001-7"])
    note: Text = LongText

    def to_proto(self) -> sla_pb2.MarkDuplicate:
        """The sla act."""
        return sla_pb2.MarkDuplicate(original_registration_number=self.original_registration_number, note=self.note)


class CallOutcome(StrEnum):
    """H3: how the call centre's call to the complainant went."""

    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    NOT_REACHABLE = "not_reachable"


class FeedbackIn(InputModel):
    """H3: the complainant rates the disposal (`rating`, `resolved`, `comment`), or a call-centre operator records the
    call (`call_outcome`, `recording_ref`, `comment`). "Not fixed" (or `not_satisfied`) makes the case unresolved:
    it returns to its officer with fresh clocks."""

    rating: int | None = Field(default=None, ge=1, le=5, description="the complainant: 1 (poor) to 5 (good)")
    resolved: bool | None = Field(default=None, description="the complainant: was the grievance fixed?")
    comment: Text = LongText
    call_outcome: CallOutcome | None = Field(default=None, description="the call centre: how the call went")
    recording_ref: Text = Field(
        default="", max_length=200, description="the call centre: the call recording's reference"
    )

    def to_proto(self) -> sla_pb2.Feedback:
        """The sla act."""
        message = sla_pb2.Feedback(rating=self.rating or 0, comment=self.comment, recording_ref=self.recording_ref)
        if self.resolved is not None:
            message.resolved = self.resolved
        if self.call_outcome is not None:
            message.call_outcome = sla_pb2.CallOutcome.Value(f"CALL_OUTCOME_{self.call_outcome.name}")
        return message


class AtrAcceptanceIn(InputModel):
    """H3: the senior officer accepts the action-taken report, with the feedback before them."""

    note: Text = Field(default="", max_length=2000, description="optional remark")

    def to_proto(self) -> sla_pb2.AcceptAtr:
        """The sla act."""
        return sla_pb2.AcceptAtr(note=self.note)
