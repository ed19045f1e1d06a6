"""An officer's actions on a case (S8 forward) and the case's statutory clocks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from nivaran.sla.v1 import sla_pb2
from nivaran_gateway.schemas.common import InputModel, Text, timestamp


class ForwardIn(InputModel):
    """S8: the L1 forwards the case to a post below theirs in the same department, within 3 days."""

    to_position_id: Text = Field(min_length=1, max_length=128, examples=["POS-FOOD-PAT-SADAR-PHULWARI-BSO"])
    note: Text = Field(default="", max_length=2000)


class ClockView(BaseModel):
    """One statutory clock of a case: when it (re)started and when it runs out."""

    name: str = Field(description="the policy's clock id", examples=["first_show_cause"])
    started_at: datetime | None = None
    deadline: datetime | None = None
    paused: bool = False
    remaining_seconds: float | None = Field(default=None, description="time left now (null once fired or stopped)")
    fired: bool = False

    @classmethod
    def from_proto(cls, clock: sla_pb2.Clock) -> ClockView:
        """Convert from the proto."""
        return cls(
            name=clock.name,
            started_at=timestamp(clock, "started_at"),
            deadline=timestamp(clock, "deadline"),
            paused=clock.paused,
            remaining_seconds=clock.remaining.ToTimedelta().total_seconds() if clock.HasField("remaining") else None,
            fired=clock.fired,
        )


class CaseClocks(BaseModel):
    """Every clock of the case's track policy (S7: re-based when a new officer takes charge), and who reviews its
    final report now (C5)."""

    registration_number: str
    clocks: list[ClockView]
    reviewer_position_id: str = Field(
        default="",
        description='C5: the post reviewing the final report now; "" (never null) when no report is under review',
        examples=["POS-PAT-DM"],
    )
