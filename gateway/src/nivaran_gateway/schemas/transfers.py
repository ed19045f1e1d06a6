"""Inter-department transfers through the DM's moderator queue (S5)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from nivaran.routing.v1 import routing_pb2
from nivaran_gateway.schemas.common import InputModel, Text, enum_label, timestamp


class TransferRequestIn(InputModel):
    """An L1's forward of a case to another department, with its reason."""

    to_department_code: Text = Field(min_length=1, max_length=64, examples=["HEALTH"])
    reason: Text = Field(min_length=1, max_length=2000)


class TransferState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"

    def to_proto(self) -> routing_pb2.TransferState.ValueType:
        """The proto enum value."""
        return routing_pb2.TransferState.Value(f"TRANSFER_STATE_{self.name}")


class TransferDecisionIn(InputModel):
    """The DM approves (naming the receiving post when routing cannot choose it) or returns with a note."""

    approve: bool
    to_position_id: Text | None = Field(default=None, max_length=128)
    note: Text = Field(default="", max_length=2000)


class TransferView(BaseModel):
    id: str
    grievance_id: str
    from_position_id: str | None = None
    to_department_code: str
    to_position_id: str | None = None
    reason: str
    state: str = Field(examples=["pending", "approved", "returned"])
    moderator_position_id: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None

    @classmethod
    def from_proto(cls, transfer: routing_pb2.TransferRequest) -> TransferView:
        """Convert from the proto."""
        return cls(
            id=transfer.id,
            grievance_id=transfer.grievance_id,
            from_position_id=transfer.from_position_id or None,
            to_department_code=transfer.to_department_code,
            to_position_id=transfer.to_position_id or None,
            reason=transfer.reason,
            state=enum_label(routing_pb2.TransferState, transfer.state, "TRANSFER_STATE_"),
            moderator_position_id=transfer.moderator_position_id or None,
            requested_at=timestamp(transfer, "requested_at"),
            decided_at=timestamp(transfer, "decided_at"),
            decision_note=transfer.decision_note or None,
        )


class TransferQueue(BaseModel):
    """One page of the moderator queue, oldest first."""

    transfers: list[TransferView]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")
