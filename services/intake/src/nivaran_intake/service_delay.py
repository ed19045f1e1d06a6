"""Service-delay complaints (S4, H1): a complaint that a service notified under the Right to Service Act was not
delivered in time. It is allowed only for a notified service (its category carries the statutory limit, and the
`rts_auto_appeal` track) whose limit has passed since the application: the service application's number, date and
status are required, and a complaint made while the limit runs is refused with the day it ends.

The application's acknowledgement (a PDF) is required too: it is checked like any attachment (attachments.py, by
its magic bytes and the size limit) and stored as a `filing` attachment of the new case, in the transaction that
registers it (IntakeService._register), so a case never lacks it and a retried filing never stores it twice.

The complaint then runs the `rts_auto_appeal` policy: the department's nodal officer forwards it to the designated
officer (H1), who within 30 days calls the citizen, helps them apply through the proper channel and uploads an
interim reply with that application's details (H2, sla's `interim_reply` act).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from nivaran_common.errors import FieldViolation, InvalidArgument
from nivaran_common.timeutil import IST

RTS_TRACK = "rts_auto_appeal"
FIELD = "service_application"
ACKNOWLEDGEMENT_FIELD = f"{FIELD}.acknowledgement_pdf"
ACKNOWLEDGEMENT_NAME = "service-acknowledgement.pdf"


def india_today() -> date:
    """The date in India now: service limits run in the state's days."""
    return datetime.now(UTC).astimezone(IST).date()


@dataclass(frozen=True)
class ServiceApplication:
    """The service application the complaint is about, as filed (applied_on: YYYY-MM-DD)."""

    application_number: str
    applied_on: str
    status: str
    # The application's acknowledgement, a PDF; required.
    acknowledgement_pdf: bytes = b""
    acknowledgement_file_name: str = ""


@dataclass(frozen=True)
class ValidServiceApplication:
    application_number: str
    applied_on: date
    status: str
    # Present, and checked as a file when it is stored (AttachmentService.stage); never part of the record.
    acknowledgement_pdf: bytes = b""
    acknowledgement_file_name: str = ""

    def as_record(self) -> dict[str, str]:
        return {"application_number": self.application_number, "applied_on": self.applied_on.isoformat(),
                "status": self.status}  # fmt: skip


def check_fields(
    application: ServiceApplication | None, today: date, violations: list[FieldViolation]
) -> ValidServiceApplication | None:
    """The application's fields, each checked on its own (the track and the limit come with routing's answer)."""
    if application is None:
        return None
    number = application.application_number.strip()
    status = application.status.strip()
    if not 3 <= len(number) <= 64:
        violations.append(FieldViolation(f"{FIELD}.application_number", "3 to 64 characters / 3 से 64 अक्षर"))
    if not 2 <= len(status) <= 200:
        violations.append(FieldViolation(f"{FIELD}.status", "the application's status, 2 to 200 characters"))
    applied: date | None = None
    try:
        applied = date.fromisoformat(application.applied_on.strip())
    except ValueError:
        violations.append(FieldViolation(f"{FIELD}.applied_on", "a date, YYYY-MM-DD / तिथि"))
    if applied is not None and applied > today:
        violations.append(FieldViolation(f"{FIELD}.applied_on", "is in the future / भविष्य की तिथि"))
        applied = None
    if not application.acknowledgement_pdf:
        violations.append(
            FieldViolation(
                ACKNOWLEDGEMENT_FIELD,
                "the service application's acknowledgement (PDF) is required (S4) / सेवा आवेदन की पावती (PDF) आवश्यक",
            )
        )
    if len(application.acknowledgement_file_name) > 1000:
        violations.append(FieldViolation(f"{FIELD}.acknowledgement_file_name", "at most 1000 characters / बहुत लंबा"))
    if any(v.field.startswith(f"{FIELD}.") for v in violations) or applied is None:
        return None
    return ValidServiceApplication(
        number, applied, status, application.acknowledgement_pdf, application.acknowledgement_file_name
    )


def check_delay(track: str, limit_days: int, application: ValidServiceApplication | None, today: date) -> None:
    """S4: refuse a service-delay complaint that is not one, naming the field and why."""
    if track != RTS_TRACK:
        if application is not None:
            raise InvalidArgument.field(
                FIELD, "only a complaint about a notified service's delay carries one / केवल अधिसूचित सेवा के विलंब पर"
            )
        return
    if limit_days <= 0:
        raise InvalidArgument.field(
            "category_code", "is not a service notified under the Right to Service Act / अधिसूचित सेवा नहीं (S4)"
        )
    if application is None:
        raise InvalidArgument.field(
            FIELD,
            "the service application's number, date, status and acknowledgement are required (S4) / "
            "सेवा आवेदन का विवरण आवश्यक",
        )
    ends = application.applied_on + timedelta(days=limit_days)
    if today <= ends:
        raise InvalidArgument.field(
            f"{FIELD}.applied_on",
            f"the service's time limit of {limit_days} days runs until {ends.isoformat()}: a delay can be complained "
            f"of from {(ends + timedelta(days=1)).isoformat()} (S4) / सेवा की समय सीमा {ends.isoformat()} तक है",
        )
