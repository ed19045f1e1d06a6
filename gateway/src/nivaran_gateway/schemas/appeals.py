"""Appeals under the Act (B4): the REST bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nivaran.sla.v1 import sla_pb2
from nivaran_gateway.schemas.acts import LongText
from nivaran_gateway.schemas.common import InputModel, Text


class AppealIn(InputModel):
    """B4: the complainant's appeal of the decided case: first, then second, then revision."""

    kind: Literal["first", "second", "revision"]
    grounds: Text = Field(default="", max_length=5000, description="why the decision is wrong (10+ characters)")

    def to_proto(self) -> sla_pb2.FileAppeal:
        """The sla act."""
        return sla_pb2.FileAppeal(kind=self.kind, grounds=self.grounds)


class AppealDecisionIn(InputModel):
    """B4 / B7: the appellate authority's decision, in Form-3's fields."""

    decision: Literal["allowed", "dismissed"]
    findings: Text = LongText
    directions: Text = LongText

    def to_proto(self) -> sla_pb2.DecideAppeal:
        """The sla act."""
        return sla_pb2.DecideAppeal(decision=self.decision, findings=self.findings, directions=self.directions)
