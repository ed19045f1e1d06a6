"""Sahyog camps (S1, S3): the REST bodies and answers."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.schemas.common import InputModel, LocalizedText, LocalizedTextIn, Text


class CampIn(InputModel):
    """S1: a camp the DM sets for a panchayat of their district."""

    panchayat_code: Text = Field(max_length=64, examples=["PAT-SADAR-PHULWARI-GONPURA"])
    block_code: Text = Field(default="", max_length=64, examples=["PAT-SADAR-PHULWARI"])
    held_on: date
    venue: LocalizedTextIn

    def to_proto(self, district_code: str) -> intake_pb2.CreateCampRequest:
        """The intake request, for the DM's own district."""
        return intake_pb2.CreateCampRequest(
            district_code=district_code,
            block_code=self.block_code,
            panchayat_code=self.panchayat_code,
            held_on=self.held_on.isoformat(),
            venue=self.venue.to_proto(),
        )


class CampView(BaseModel):
    """A camp, and the days its applications are accepted on (S1: from 30 days before to the day after)."""

    id: str
    district_code: str
    block_code: str
    panchayat_code: str
    held_on: date
    venue: LocalizedText
    accepts_from: date
    accepts_until: date

    @classmethod
    def from_proto(cls, camp: intake_pb2.Camp) -> CampView:
        """Convert from the proto."""
        return cls(
            id=camp.id,
            district_code=camp.district_code,
            block_code=camp.block_code,
            panchayat_code=camp.panchayat_code,
            held_on=date.fromisoformat(camp.held_on),
            venue=LocalizedText.from_proto(camp.venue),
            accepts_from=date.fromisoformat(camp.accepts_from),
            accepts_until=date.fromisoformat(camp.accepts_until),
        )


class CampList(BaseModel):
    """One page of the coming camps, soonest first."""

    camps: list[CampView]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")
