"""Hearings under the Act (B7, M3, M2): the REST bodies and answers: a hearing fixed and recorded (acts on the case),
an office's hearing day and notice board (Form-4), and the public authorities' absences for the DM's weekly report."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_gateway.schemas.acts import LongText
from nivaran_gateway.schemas.common import InputModel, LocalizedText, LocalizedTextIn, Text

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def weekday_name(iso: int) -> Weekday | None:
    """An ISO weekday's name; None for 0 (no day fixed)."""
    return WEEKDAYS[iso - 1] if 1 <= iso <= 7 else None  # type: ignore[return-value]


class HearingIn(InputModel):
    """B7: the hearing officer fixes a hearing on the office's hearing day."""

    held_on: date
    at: time = Field(description="HH:MM, India time")
    venue: LocalizedTextIn | None = Field(default=None, description="the office's name when left out")
    public_authority_position_id: Text = Field(
        default="",
        max_length=64,
        description="the post of the public servant whose records are examined: required at the complaint's own "
        "hearing; at an appeal's, the post whose decision is appealed when left out",
    )

    def to_proto(self) -> sla_pb2.ScheduleHearing:
        """The sla act."""
        act = sla_pb2.ScheduleHearing(
            held_on=self.held_on.isoformat(),
            at=self.at.strftime("%H:%M"),
            public_authority_position_id=self.public_authority_position_id,
        )
        if self.venue is not None:
            act.venue.CopyFrom(self.venue.to_proto())
        return act


class AttendanceIn(InputModel):
    """B7 / M3: what happened at the hearing, recorded on or after its day."""

    outcome: Literal["heard", "adjourned"]
    complainant_present: bool
    public_authority_present: bool
    represented_by: Text = Field(default="", max_length=200, description="who appeared for the public authority")
    proceedings: Text = LongText

    def to_proto(self, hearing_id: str) -> sla_pb2.RecordHearing:
        """The sla act."""
        return sla_pb2.RecordHearing(
            hearing_id=hearing_id,
            outcome=self.outcome,
            complainant_present=self.complainant_present,
            public_authority_present=self.public_authority_present,
            represented_by=self.represented_by,
            proceedings=self.proceedings,
        )


class HearingDayIn(InputModel):
    """B7 (rule 6): the office's weekly hearing day, fixed by its officers."""

    weekday: Weekday

    def to_proto(self, office_id: str) -> routing_pb2.SetHearingDayRequest:
        """The routing request."""
        return routing_pb2.SetHearingDayRequest(office_id=office_id, weekday=WEEKDAYS.index(self.weekday) + 1)


class OfficeView(BaseModel):
    """An office and its weekly hearing day (None: not fixed)."""

    id: str
    name: LocalizedText
    department_code: str
    hearing_day: Weekday | None

    @classmethod
    def from_proto(cls, office: routing_pb2.Office) -> OfficeView:
        """From routing's Office."""
        return cls(
            id=office.id,
            name=LocalizedText.from_proto(office.name),
            department_code=office.department_code,
            hearing_day=weekday_name(office.hearing_weekday),
        )


class HearingNoticeView(BaseModel):
    """One entry of the notice board (Form-4). No complainant's name or grievance text: the board is public, and the
    registration number tells the complainant which entry is theirs."""

    hearing_id: str
    registration_number: str
    stage: Literal["complaint", "first", "second", "revision"]
    held_on: date
    at: str
    venue: LocalizedText
    hearing_officer: LocalizedText
    public_authority: LocalizedText
    status: Literal["scheduled", "heard", "adjourned"]

    @classmethod
    def from_proto(cls, notice: intake_pb2.HearingNotice) -> HearingNoticeView:
        """From intake's HearingNotice."""
        return cls(
            hearing_id=notice.hearing_id,
            registration_number=notice.registration_number,
            stage=notice.stage,
            held_on=date.fromisoformat(notice.held_on),
            at=notice.at,
            venue=LocalizedText.from_proto(notice.venue),
            hearing_officer=LocalizedText.from_proto(notice.hearing_officer_title),
            public_authority=LocalizedText.from_proto(notice.public_authority_title),
            status=notice.status,
        )


class NoticeBoardView(BaseModel):
    """B7 / rule 8: an office's notice board (Form-4): its hearing day and the hearings from `from_date` on."""

    form: Literal["Form-4"] = "Form-4"
    office: OfficeView
    hearings: list[HearingNoticeView]


class AuthorityAttendanceView(BaseModel):
    """M3: one public authority's attendance at the hearings held in the period."""

    position_id: str
    title: LocalizedText
    hearings: int
    absences: int


class AbsencesView(BaseModel):
    """M2 / M3: the public authorities absent from hearings, for the DM's weekly report; most absences first."""

    district_code: str
    from_date: date
    to_date: date
    total_hearings: int
    total_absences: int
    authorities: list[AuthorityAttendanceView]

    @classmethod
    def from_proto(cls, answer: intake_pb2.HearingAbsences) -> AbsencesView:
        """From intake's HearingAbsences."""
        return cls(
            district_code=answer.district_code,
            from_date=date.fromisoformat(answer.from_date),
            to_date=date.fromisoformat(answer.to_date),
            total_hearings=answer.total_hearings,
            total_absences=answer.total_absences,
            authorities=[
                AuthorityAttendanceView(
                    position_id=a.position_id,
                    title=LocalizedText.from_proto(a.title),
                    hearings=a.hearings,
                    absences=a.absences,
                )
                for a in answer.public_authorities
            ],
        )
