"""Grievance API schemas. JSON field names are the proto field names, so field paths in errors line up."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from google.protobuf.json_format import MessageToDict
from pydantic import Base64Bytes, BaseModel, Field

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_gateway.schemas.common import (
    ActorView,
    InputModel,
    LocalizedText,
    LocationView,
    Text,
    enum_label,
    masked_aadhaar,
    masked_address,
    masked_email,
    masked_phone,
    timestamp,
)

Language = Literal["hi", "en"]


class Channel(StrEnum):
    """How a grievance reached Nivaran (C1, B3)."""

    WEB = "web"
    MOBILE = "mobile"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    CALL_CENTRE = "call_centre"
    POST = "post"
    COUNTER = "counter"
    CAMP = "camp"
    IN_PERSON = "in_person"
    SMS = "sms"
    DEPARTMENT_SYSTEM = "department_system"

    def to_proto(self) -> intake_pb2.Channel.ValueType:
        """The proto enum value."""
        return intake_pb2.Channel.Value(f"CHANNEL_{self.name}")


_Input = InputModel


class ComplainantIn(_Input):
    """Who complains (B1): name and address required; phone, email and Aadhaar optional."""

    name: Text = Field(examples=["राम कुमार"])
    address: Text = Field(examples=["ग्राम बिहटा, पटना"])
    phone: Text | None = Field(default=None, examples=["+919876543210"])
    email: Text | None = None
    aadhaar: Text | None = Field(default=None, description="12 digits; stored and shown only masked")
    preferred_language: Language | None = None
    preferred_channel: Literal["sms", "whatsapp", "email"] | None = Field(
        default=None,
        description="C2: the channel to be told on besides the app (sms and whatsapp need the phone, email the "
        "email); unset: every contact given, and the channel filed by",
    )

    def to_proto(self) -> intake_pb2.Complainant:
        """The proto message (absent optionals become empty strings)."""
        return intake_pb2.Complainant(
            name=self.name,
            address=self.address,
            phone=self.phone or "",
            email=self.email or "",
            aadhaar=self.aadhaar or "",
            preferred_language=self.preferred_language or "",
            preferred_channel=self.preferred_channel or "",
        )


class LocationIn(_Input):
    """Where the grievance arises, by master-data codes."""

    state_code: Text | None = None
    district_code: Text = Field(examples=["PAT"])
    subdivision_code: Text | None = None
    block_code: Text | None = None
    panchayat_code: Text | None = None
    thana_code: Text | None = None

    def to_proto(self) -> common_pb2.Location:
        """The proto message."""
        return common_pb2.Location(
            state_code=self.state_code or "",
            district_code=self.district_code,
            subdivision_code=self.subdivision_code or "",
            block_code=self.block_code or "",
            panchayat_code=self.panchayat_code or "",
            thana_code=self.thana_code or "",
        )


class ServiceApplicationIn(_Input):
    """S4: the service application a service-delay complaint is about."""

    application_number: Text = Field(max_length=64, examples=["RTPS/PAT/2026/004471"])
    applied_on: date = Field(description="the day the service was applied for")
    status: Text = Field(max_length=200, examples=["pending at the circle office"])

    def to_proto(self) -> intake_pb2.ServiceApplication:
        """The proto message."""
        return intake_pb2.ServiceApplication(
            application_number=self.application_number, applied_on=self.applied_on.isoformat(), status=self.status
        )


class ServiceDelayApplicationIn(ServiceApplicationIn):
    """S4: the service application of a service-delay complaint, with its acknowledgement PDF."""

    acknowledgement_pdf: Base64Bytes | None = Field(
        default=None,
        description="S4: the application's acknowledgement, a PDF, base64-encoded (required; intake checks that it "
        "is a PDF within the attachment size limit and keeps it as the case's attachment)",
    )
    acknowledgement_file_name: Text = Field(default="acknowledgement.pdf", max_length=200)

    def to_proto(self) -> intake_pb2.ServiceApplication:
        """The proto message, with the PDF."""
        application = super().to_proto()
        application.acknowledgement_pdf = self.acknowledgement_pdf or b""
        application.acknowledgement_file_name = self.acknowledgement_file_name
        return application


class ServiceApplicationView(BaseModel):
    application_number: str
    applied_on: str
    status: str


class GrievanceFiling(_Input):
    """A new grievance (Form-1 or its electronic equivalent)."""

    complainant: ComplainantIn
    subject: Text | None = None
    description: Text
    expected_resolution: Text | None = None
    category_code: Text = Field(examples=["FOOD-RATION-CARD"], description="a category code (GET /v1/categories)")
    location: LocationIn
    channel: Channel = Channel.WEB
    language: Language | None = Field(default=None, description="detected from the text when absent")
    camp_id: Text | None = Field(
        default=None,
        max_length=36,
        description="S1: the camp this application is for (GET /v1/camps); the case then runs the sahyog_camp track",
    )
    camp_received_on: date | None = Field(
        default=None,
        description="S1: with `camp_id`, for the camp's staff (an officer or operator filing on the applicant's "
        "behalf): the day the camp took the paper application. Its upload is due the same or the next working day "
        "(a late upload is an S1 breach), and its 30 days run from then",
    )
    service_application: ServiceDelayApplicationIn | None = Field(
        default=None,
        description="S4: required for a complaint that a notified service was not delivered in time (a category on "
        "the rts_auto_appeal track), once its time limit has passed since `applied_on`, with the application's "
        "acknowledgement PDF (`acknowledgement_pdf`, base64); refused elsewhere",
    )

    def to_proto(self, idempotency_key: str) -> intake_pb2.FileGrievanceRequest:
        """The intake request."""
        return intake_pb2.FileGrievanceRequest(
            service_application=self.service_application.to_proto() if self.service_application else None,
            camp_id=self.camp_id or "",
            camp_received_on=self.camp_received_on.isoformat() if self.camp_received_on else "",
            idempotency_key=idempotency_key,
            complainant=self.complainant.to_proto(),
            subject=self.subject or "",
            description=self.description,
            expected_resolution=self.expected_resolution or "",
            category_code=self.category_code,
            location=self.location.to_proto(),
            channel=self.channel.to_proto(),
            language=self.language or "",
        )


class CategoryView(BaseModel):
    code: str
    name: LocalizedText | None = None


class AssignmentView(BaseModel):
    """Who must act on the case now."""

    department_code: str | None = None
    department_name: LocalizedText | None = None
    office_id: str | None = None
    office_name: LocalizedText | None = None
    position_id: str | None = None
    position_title: LocalizedText | None = None
    assigned_at: datetime | None = None

    @classmethod
    def from_proto(cls, grievance: intake_pb2.Grievance) -> AssignmentView | None:
        """The assignment of a case, or None before routing."""
        if not grievance.HasField("assignment"):
            return None
        a = grievance.assignment
        if not (a.department_code or a.office_id or a.position_id):
            return None
        return cls(
            department_code=a.department_code or None,
            department_name=LocalizedText.maybe(a, "department_name"),
            office_id=a.office_id or None,
            office_name=LocalizedText.maybe(a, "office_name"),
            position_id=a.position_id or None,
            position_title=LocalizedText.maybe(a, "position_title"),
            assigned_at=timestamp(a, "assigned_at"),
        )


class ComplainantView(BaseModel):
    """The complainant as a read shows them: phone, email and Aadhaar only ever masked."""

    name: str
    address: str | None = None
    phone: str | None = Field(default=None, examples=["+91XXXXXX3210"])
    email: str | None = Field(default=None, examples=["r***@example.in"])
    aadhaar: str | None = Field(default=None, examples=["XXXX-XXXX-1234"])
    preferred_language: str | None = None

    @classmethod
    def from_proto(cls, complainant: intake_pb2.Complainant) -> ComplainantView:
        """Convert, masking again whatever the service sent: the gateway never shows raw PII."""
        return cls(
            name=complainant.name,
            address=complainant.address or None,
            phone=masked_phone(complainant.phone),
            email=masked_email(complainant.email),
            aadhaar=masked_aadhaar(complainant.aadhaar),
            preferred_language=complainant.preferred_language or None,
        )


# The events whose recorded details a reader of the case sees, and which of them: H3 asks that the feedback (the
# rating, the call's outcome, the recording's reference, the comments) be visible to the senior officer.
DETAILED_EVENTS: dict[str, tuple[str, ...]] = {
    "feedback_recorded": (
        "source", "rating", "resolved", "comment", "call_outcome", "recording_ref", "returns_the_case",
    ),
    "reopened": ("reason", "return"),
    "unresolved": ("source", "return"),
    "watch_opened": ("item", "remind_every"),
    "watch_closed": ("item", "report", "attachment_ids"),
    "marked_duplicate": ("duplicate_of", "note"),
    # The complainant's reply by email (C1, B3): what they wrote, and the files that came with it.
    "citizen_message": ("channel", "subject", "text", "attachment_ids"),
}  # fmt: skip


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class TimelineEventView(BaseModel):
    sequence: int
    event_type: str
    summary: LocalizedText | None = None
    occurred_at: datetime | None = None
    actor: ActorView | None = None
    details: dict[str, Any] | None = Field(
        default=None, description="what was recorded with the event, for " + ", ".join(DETAILED_EVENTS)
    )

    @classmethod
    def from_proto(cls, event: intake_pb2.TimelineEvent) -> TimelineEventView:
        """Convert from the proto."""
        shown = DETAILED_EVENTS.get(event.event_type)
        details = None
        if shown is not None and event.HasField("payload"):
            payload = MessageToDict(event.payload)
            # Struct numbers are floats; a rating of 2 reads 2, not 2.0.
            details = {key: _whole(payload[key]) for key in shown if key in payload}
        return cls(
            sequence=event.sequence,
            event_type=event.event_type,
            summary=LocalizedText.maybe(event, "summary"),
            occurred_at=timestamp(event, "occurred_at"),
            actor=ActorView.from_proto(event.actor) if event.HasField("actor") else None,
            details=details,
        )


class DeliveryView(BaseModel):
    channel: str = Field(examples=["in_app", "sms", "email", "whatsapp"])
    state: str = Field(examples=["pending", "sent", "delivered", "read", "failed"])
    address: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None

    @classmethod
    def from_proto(cls, delivery: notify_pb2.Delivery) -> DeliveryView:
        """Convert from the proto, masking the address."""
        return cls(
            channel=enum_label(notify_pb2.DeliveryChannel, delivery.channel, "DELIVERY_CHANNEL_"),
            state=enum_label(notify_pb2.DeliveryState, delivery.state, "DELIVERY_STATE_"),
            address=masked_address(delivery.address),
            sent_at=timestamp(delivery, "sent_at"),
            delivered_at=timestamp(delivery, "delivered_at"),
            read_at=timestamp(delivery, "read_at"),
        )


class NoticeView(BaseModel):
    id: str
    template: str
    subject: LocalizedText | None = None
    created_at: datetime | None = None
    deliveries: list[DeliveryView]

    @classmethod
    def from_proto(cls, notice: notify_pb2.Notice) -> NoticeView:
        """Convert from the proto."""
        return cls(
            id=notice.id,
            template=notice.template,
            subject=LocalizedText.maybe(notice, "subject"),
            created_at=timestamp(notice, "created_at"),
            deliveries=[DeliveryView.from_proto(d) for d in notice.deliveries],
        )


class ReadWarning(BaseModel):
    """Part of a read could not be filled in; the rest is still correct."""

    field: str
    detail: str
    detail_hi: str


class DuplicateView(BaseModel):
    """An earlier case this one may repeat."""

    registration_number: str
    similarity: int = Field(description="0-100: how alike the two descriptions are (RapidFuzz token-set ratio)")


class _GrievanceBase(BaseModel):
    id: str
    registration_number: str = Field(examples=["BR-PAT-2026-0000001-7"])
    status: str = Field(examples=["assigned"])
    track: str | None = Field(default=None, examples=["sahyog"])
    channel: str = Field(examples=["web"])
    language: str | None = None
    category: CategoryView
    location: LocationView
    assignment: AssignmentView | None = None
    filed_at: datetime | None = None
    current_deadline: datetime | None = Field(
        default=None, description="when the running clock expires; null when no clock runs (or none has started yet)"
    )
    deadline_clock: str | None = Field(
        default=None, description="the clock that owns current_deadline", examples=["first_show_cause"]
    )
    returns: int = Field(
        default=0, description="how often the ended case came back to its officer (reopened, or unresolved on feedback)"
    )
    watch_item: str | None = Field(
        default=None, description="M4: what the disposed case is still watched for, until the officer's report"
    )
    watch_opened_at: datetime | None = None
    service_application: ServiceApplicationView | None = Field(
        default=None, description="S4: the service application a service-delay complaint is about"
    )
    camp_received_on: date | None = Field(default=None, description="S1: the day a camp took the paper application")
    possible_duplicates: list[DuplicateView] = Field(
        default_factory=list,
        description="earlier cases of the same complainant, place and a similar text, found at filing (a suggestion)",
    )


def _base_fields(grievance: intake_pb2.Grievance) -> dict[str, object]:
    return {
        "id": grievance.id,
        "registration_number": grievance.registration_number,
        "status": enum_label(intake_pb2.Status, grievance.status, "STATUS_"),
        "track": grievance.track or None,
        "channel": enum_label(intake_pb2.Channel, grievance.channel, "CHANNEL_"),
        "language": grievance.language or None,
        "category": CategoryView(code=grievance.category_code, name=LocalizedText.maybe(grievance, "category_name")),
        "location": LocationView.from_proto(grievance.location),
        "assignment": AssignmentView.from_proto(grievance),
        "filed_at": timestamp(grievance, "filed_at"),
        "current_deadline": timestamp(grievance, "current_deadline"),
        "deadline_clock": grievance.deadline_clock or None,
        "returns": grievance.returns,
        "watch_item": grievance.watch_item or None,
        "watch_opened_at": timestamp(grievance, "watch_opened_at"),
        "service_application": ServiceApplicationView(
            application_number=grievance.service_application.application_number,
            applied_on=grievance.service_application.applied_on,
            status=grievance.service_application.status,
        )
        if grievance.HasField("service_application")
        else None,
        "camp_received_on": grievance.camp_received_on or None,
        "possible_duplicates": [
            DuplicateView(registration_number=d.registration_number, similarity=d.similarity)
            for d in grievance.possible_duplicates
        ],
    }


class FiledGrievance(_GrievanceBase):
    """The answer to a filing: the registration number (B4) and the acknowledgement (B5)."""

    acknowledgement: LocalizedText

    @classmethod
    def from_proto(cls, grievance: intake_pb2.Grievance) -> FiledGrievance:
        """Convert from the proto."""
        number = grievance.registration_number
        return cls.model_validate(
            {
                **_base_fields(grievance),
                "acknowledgement": LocalizedText(
                    en=f"Your grievance is registered with number {number}. Quote it at every stage.",
                    hi=f"आपकी शिकायत पंजीकरण संख्या {number} से दर्ज कर ली गई है। हर चरण में इसी संख्या का उल्लेख करें।",
                ),
            }
        )


class GrievanceView(_GrievanceBase):
    """A case as its tracking page shows it: projection, timeline and notices."""

    subject: str | None = None
    description: str
    expected_resolution: Text | None = None
    updated_at: datetime | None = None
    complainant: ComplainantView | None = None
    timeline: list[TimelineEventView]
    notices: list[NoticeView] | None = Field(description="null when the notify service could not be reached")
    warnings: list[ReadWarning] = Field(default_factory=list)

    @classmethod
    def from_proto(
        cls,
        grievance: intake_pb2.Grievance,
        events: list[intake_pb2.TimelineEvent],
        notices: list[notify_pb2.Notice] | None,
        warnings: list[ReadWarning],
    ) -> GrievanceView:
        """Assemble the view from intake's case and timeline and notify's notices."""
        return cls.model_validate(
            {
                **_base_fields(grievance),
                "subject": grievance.subject or None,
                "description": grievance.description,
                "expected_resolution": grievance.expected_resolution or None,
                "updated_at": timestamp(grievance, "updated_at"),
                "complainant": (
                    ComplainantView.from_proto(grievance.complainant) if grievance.HasField("complainant") else None
                ),
                "timeline": [TimelineEventView.from_proto(e) for e in sorted(events, key=lambda e: e.sequence)],
                "notices": None if notices is None else [NoticeView.from_proto(n) for n in notices],
                "warnings": warnings,
            }
        )


class GrievanceSummary(_GrievanceBase):
    """A case as a list shows it (no complainant details)."""

    subject: str | None = None
    updated_at: datetime | None = None
    dm_visible: bool = Field(default=False, description="S10: pending over 10 days, so shown to the DM")

    @classmethod
    def from_proto(cls, grievance: intake_pb2.Grievance) -> GrievanceSummary:
        """Convert from the proto."""
        return cls.model_validate(
            {
                **_base_fields(grievance),
                "subject": grievance.subject or None,
                "updated_at": timestamp(grievance, "updated_at"),
                "dm_visible": grievance.dm_visible,
            }
        )


class GrievanceList(BaseModel):
    """One page of the cases the caller may see, in the order asked for."""

    grievances: list[GrievanceSummary]
    next_page_token: str | None = Field(default=None, description="pass as `page_token` for the next page")


class GrievanceOrder(StrEnum):
    """How a list is sorted: `deadline` (nearest current deadline first, cases without one last) or `newest`."""

    DEADLINE = "deadline"
    NEWEST = "newest"

    def to_proto(self) -> intake_pb2.GrievanceOrder.ValueType:
        """The proto enum value."""
        if self is GrievanceOrder.DEADLINE:
            return intake_pb2.GRIEVANCE_ORDER_DEADLINE
        return intake_pb2.GRIEVANCE_ORDER_UNSPECIFIED


class Status(StrEnum):
    """A case's status, as a list filter."""

    REGISTERED = "registered"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_CITIZEN = "awaiting_citizen"
    ESCALATED = "escalated"
    DISPOSED = "disposed"
    REJECTED = "rejected"
    CLOSED = "closed"
    REOPENED = "reopened"
    UNDER_APPEAL = "under_appeal"
    PENDING_TRANSFER = "pending_transfer"
    UNRESOLVED = "unresolved"

    def to_proto(self) -> intake_pb2.Status.ValueType:
        """The proto enum value."""
        return intake_pb2.Status.Value(f"STATUS_{self.name}")
