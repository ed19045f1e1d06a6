"""Category taxonomies owned by department secretaries (H4), and the share of "Other"."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_gateway.schemas.common import InputModel, LocalizedText, LocalizedTextIn, Text

TRACKS = Literal["cspgrs", "sahyog", "sahyog_camp", "bpgra", "rts_auto_appeal"]


class CategoryIn(InputModel):
    """A new category in the secretary's department."""

    code: Text = Field(min_length=1, max_length=64, examples=["REVENUE-MUTATION-DELAY"])
    department_code: Text = Field(min_length=1, max_length=64, examples=["REVENUE"])
    name: LocalizedTextIn
    # Required, as routing requires it: a department has no track of its own, each category names one.
    default_track: TRACKS = Field(examples=["sahyog"])
    is_other: bool = False
    service_time_limit_days: int = Field(default=0, ge=0, le=3650)

    def to_proto(self) -> routing_pb2.Category:
        """The proto message."""
        return routing_pb2.Category(
            code=self.code,
            department_code=self.department_code,
            name=self.name.to_proto(),
            default_track=self.default_track,
            is_other=self.is_other,
            service_time_limit_days=self.service_time_limit_days,
        )


class CategoryPatch(InputModel):
    """Rename a category, or retire it (old cases keep it; new ones cannot use it)."""

    name: LocalizedTextIn | None = None
    retired: Literal[True] | None = Field(default=None, description="only `true`: a retired category stays retired")

    @model_validator(mode="after")
    def _something_to_change(self) -> CategoryPatch:
        if self.name is None and self.retired is None:
            raise ValueError("give `name` or `retired`")
        return self


class MergeIn(InputModel):
    """Retire these categories into the one named in the path."""

    source_codes: list[Text] = Field(min_length=1, max_length=100)


class CategoryOut(BaseModel):
    code: str
    department_code: str
    name: LocalizedText | None = None
    default_track: str | None = None
    is_other: bool
    retired: bool
    merged_into_code: str | None = None
    service_time_limit_days: int

    @classmethod
    def from_proto(cls, category: routing_pb2.Category) -> CategoryOut:
        """Convert from the proto."""
        return cls(
            code=category.code,
            department_code=category.department_code,
            name=LocalizedText.maybe(category, "name"),
            default_track=category.default_track or None,
            is_other=category.is_other,
            retired=category.retired,
            merged_into_code=category.merged_into_code or None,
            service_time_limit_days=category.service_time_limit_days,
        )


class CategoryList(BaseModel):
    categories: list[CategoryOut]


class OtherShareView(BaseModel):
    """H4: how many of a department's filings went to its "Other" category; the share should tend to zero."""

    department_code: str
    total: int
    other: int
    share: float

    @classmethod
    def from_proto(cls, department_code: str, shares: list[intake_pb2.OtherShare]) -> OtherShareView:
        """The department's entry of a dashboard (zeros when it has no filings yet)."""
        for entry in shares:
            if entry.department_code == department_code:
                return cls(department_code=department_code, total=entry.total, other=entry.other, share=entry.share)
        return cls(department_code=department_code, total=0, other=0, share=0.0)
