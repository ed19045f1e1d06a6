"""Proto <-> domain conversions of intake's gRPC edge: the messages handlers.py answers with and the requests it
turns into domain inputs. Pure functions; no I/O."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran_common.errors import InvalidArgument
from nivaran_common.timeutil import as_utc, from_timestamp, to_timestamp
from nivaran_intake.attachments import NewAttachment
from nivaran_intake.camps import window
from nivaran_intake.domain import Channel, Complainant, FilingActor, GrievanceOrder, Location, NewGrievance, Status
from nivaran_intake.hearings import AbsenceReport
from nivaran_intake.inbound import Answer, InboundMessage
from nivaran_intake.inbound_files import InboundFile
from nivaran_intake.projection import Transition
from nivaran_intake.reports import MIN_RANKED, DailyRow, PendingByAge, RankingRow
from nivaran_intake.service_delay import ServiceApplication
from nivaran_intake.tables import AttachmentRow, CampRow, GrievanceRow, HearingRow, TimelineEventRow

_PROTO_STATUS = {s: getattr(intake_pb2, f"STATUS_{s.name}") for s in Status}
STATUS_FROM_PROTO = {v: k for k, v in _PROTO_STATUS.items()}
_PROTO_CHANNEL = {c: getattr(intake_pb2, f"CHANNEL_{c.name}") for c in Channel}
_CHANNEL_FROM_PROTO = {v: k for k, v in _PROTO_CHANNEL.items()}
ORDER_FROM_PROTO = {
    intake_pb2.GRIEVANCE_ORDER_UNSPECIFIED: GrievanceOrder.NEWEST,
    intake_pb2.GRIEVANCE_ORDER_DEADLINE: GrievanceOrder.DEADLINE,
}
_DEADLINE_CLOCK = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _text(en: str | None, hi: str | None) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(en=en or "", hi=hi or "")


def grievance_to_proto(row: GrievanceRow) -> intake_pb2.Grievance:
    """The read model; the complainant's phone and Aadhaar only ever leave masked."""
    from nivaran_common.pii import mask_phone

    message = intake_pb2.Grievance(
        id=row.id,
        registration_number=row.registration_number,
        status=_PROTO_STATUS[Status(row.status)],
        track=row.track,
        channel=_PROTO_CHANNEL[Channel(row.channel)],
        category_code=row.category_code,
        category_name=_text(row.category_name_en, row.category_name_hi),
        subject=row.subject,
        description=row.description,
        expected_resolution=row.expected_resolution,
        language=row.language,
        location=common_pb2.Location(
            state_code=row.state_code,
            district_code=row.district_code,
            subdivision_code=row.subdivision_code,
            block_code=row.block_code,
            panchayat_code=row.panchayat_code,
            thana_code=row.thana_code,
        ),
        complainant=intake_pb2.Complainant(
            name=row.complainant_name,
            address=row.complainant_address,
            phone=mask_phone(row.complainant_phone) if row.complainant_phone else "",
            email=row.complainant_email or "",
            aadhaar=row.complainant_aadhaar_masked or "",
            account_id=row.complainant_account_id or "",
            preferred_language=row.preferred_language,
            preferred_channel=row.preferred_channel or "",
        ),
        filed_at=to_timestamp(as_utc(row.filed_at)),
        updated_at=to_timestamp(as_utc(row.updated_at)),
        workflow_id=row.workflow_id,
        version=row.version,
        dm_visible=row.dm_visible,
        visible_to_roles=list(row.visible_to_roles or []),
        category_is_other=row.category_is_other,
        deadline_clock=row.deadline_clock or "",
        watch_item=row.watch_item or "",
        watch_opened_at=to_timestamp(as_utc(row.watch_opened_at)) if row.watch_opened_at else None,
        returns=row.returns or 0,
        camp_received_on=row.camp_received_on.isoformat() if row.camp_received_on else "",
        # The acknowledgement's bytes are an attachment of the case, never part of the read model.
        service_application=intake_pb2.ServiceApplication(
            application_number=row.service_application.get("application_number", ""),
            applied_on=row.service_application.get("applied_on", ""),
            status=row.service_application.get("status", ""),
        )
        if row.service_application
        else None,
        possible_duplicates=[
            intake_pb2.DuplicateCandidate(registration_number=d["registration_number"], similarity=d["similarity"])
            for d in row.possible_duplicates or []
        ],
    )
    if row.position_id:
        message.assignment.CopyFrom(
            intake_pb2.Assignment(
                department_code=row.department_code or "",
                office_id=row.office_id or "",
                office_name=_text(row.office_name_en, row.office_name_hi),
                position_id=row.position_id,
                position_title=_text(row.position_title_en, row.position_title_hi),
                assigned_at=to_timestamp(as_utc(row.assigned_at)) if row.assigned_at else None,
            )
        )
    deadline = to_timestamp(row.current_deadline)
    if deadline is not None:
        message.current_deadline.CopyFrom(deadline)
    return message


def event_to_proto(row: TimelineEventRow) -> intake_pb2.TimelineEvent:
    payload = struct_pb2.Struct()
    payload.update(row.payload or {})
    return intake_pb2.TimelineEvent(
        id=row.id,
        grievance_id=row.grievance_id,
        sequence=row.sequence,
        event_type=row.event_type,
        summary=_text(row.summary_en, row.summary_hi),
        actor=common_pb2.Actor(
            account_id=row.actor_account_id,
            role=row.actor_role,
            position_id=row.actor_position_id,
            on_behalf_of_account_id=row.actor_on_behalf_of,
            display_name=row.actor_display_name,
        ),
        payload=payload,
        occurred_at=to_timestamp(as_utc(row.occurred_at)),
        recorded_at=to_timestamp(as_utc(row.recorded_at)),
    )


def attachment_to_proto(row: AttachmentRow) -> intake_pb2.Attachment:
    """Attachment metadata; never the storage key."""
    return intake_pb2.Attachment(
        id=row.id,
        grievance_id=row.grievance_id,
        file_name=row.file_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        purpose=row.purpose,
        uploaded_by=common_pb2.Actor(
            account_id=row.uploaded_by_account_id,
            role=row.uploaded_by_role,
            position_id=row.uploaded_by_position_id,
            on_behalf_of_account_id=row.uploaded_by_on_behalf_of,
            display_name=row.uploaded_by_display_name,
        ),
        created_at=to_timestamp(as_utc(row.created_at)),
    )


def attachment_from_proto(request: intake_pb2.AddAttachmentRequest) -> NewAttachment:
    a = request.actor
    return NewAttachment(
        grievance_id=request.grievance_id,
        file_name=request.file_name,
        content_type=request.content_type,
        content=request.content,
        purpose=request.purpose,
        actor={
            "account_id": a.account_id,
            "role": a.role,
            "position_id": a.position_id,
            "on_behalf_of": a.on_behalf_of_account_id,
            "display_name": a.display_name,
        },
        idempotency_key=request.idempotency_key,
    )


def filing_from_proto(request: intake_pb2.FileGrievanceRequest) -> NewGrievance:
    c = request.complainant
    loc = request.location
    channel = _CHANNEL_FROM_PROTO.get(request.channel)
    if request.channel not in _CHANNEL_FROM_PROTO and request.channel != intake_pb2.CHANNEL_UNSPECIFIED:
        raise InvalidArgument.field("channel", "unknown channel")
    filed_by = (
        FilingActor(account_id=request.filed_by.account_id, role=request.filed_by.role)
        if request.HasField("filed_by") and request.filed_by.account_id
        else None
    )
    return NewGrievance(
        complainant=Complainant(
            name=c.name,
            address=c.address,
            phone=c.phone or None,
            email=c.email or None,
            aadhaar=c.aadhaar or None,
            account_id=c.account_id or None,
            preferred_language=c.preferred_language,
            preferred_channel=c.preferred_channel,
        ),
        subject=request.subject,
        description=request.description,
        expected_resolution=request.expected_resolution,
        category_code=request.category_code,
        location=Location(
            state_code=loc.state_code,
            district_code=loc.district_code,
            subdivision_code=loc.subdivision_code,
            block_code=loc.block_code,
            panchayat_code=loc.panchayat_code,
            thana_code=loc.thana_code,
        ),
        channel=channel,
        language=request.language,
        idempotency_key=request.idempotency_key or None,
        filed_by=filed_by,
        service_application=ServiceApplication(
            application_number=request.service_application.application_number,
            applied_on=request.service_application.applied_on,
            status=request.service_application.status,
            acknowledgement_pdf=request.service_application.acknowledgement_pdf,
            acknowledgement_file_name=request.service_application.acknowledgement_file_name,
        )
        if request.HasField("service_application")
        else None,
        camp_id=request.camp_id,
        camp_received_on=request.camp_received_on,
    )


def transitions_from_proto(request: intake_pb2.RecordTransitionsRequest) -> list[Transition]:
    """The batch's transitions; a bad field is named `transitions[i].<field>`."""
    return [transition_from_proto(t, prefix=f"transitions[{i}].") for i, t in enumerate(request.transitions)]


def transition_from_proto(request: intake_pb2.RecordTransitionRequest, *, prefix: str = "") -> Transition:
    assignment: dict[str, Any] | None = None
    if request.HasField("new_assignment"):
        a = request.new_assignment
        if not a.position_id:
            raise InvalidArgument.field(f"{prefix}new_assignment.position_id", "is required")
        assignment = {
            "department_code": a.department_code,
            "office_id": a.office_id,
            "office_name_en": a.office_name.en,
            "office_name_hi": a.office_name.hi,
            "position_id": a.position_id,
            "position_title_en": a.position_title.en,
            "position_title_hi": a.position_title.hi,
            "assigned_at": from_timestamp(a.assigned_at),
        }
    new_status = None
    if request.new_status != intake_pb2.STATUS_UNSPECIFIED:
        if request.new_status not in STATUS_FROM_PROTO:
            raise InvalidArgument.field(f"{prefix}new_status", "unknown status")
        new_status = STATUS_FROM_PROTO[request.new_status]
    clock = request.deadline_clock.strip()
    if clock and not _DEADLINE_CLOCK.fullmatch(clock):
        raise InvalidArgument.field(f"{prefix}deadline_clock", "must be a clock id (1-64 of A-Z a-z 0-9 _ . : -)")
    return Transition(
        grievance_id=request.grievance_id,
        idempotency_key=request.idempotency_key,
        event_type=request.event_type,
        summary_en=request.summary.en,
        summary_hi=request.summary.hi,
        actor={
            "account_id": request.actor.account_id or "system",
            "role": request.actor.role or "system",
            "position_id": request.actor.position_id,
            "on_behalf_of": request.actor.on_behalf_of_account_id,
            "display_name": request.actor.display_name,
        },
        payload=json_format.MessageToDict(request.payload),
        occurred_at=from_timestamp(request.occurred_at),
        new_status=new_status,
        assignment=assignment,
        current_deadline=from_timestamp(request.current_deadline),
        deadline_clock=clock,
        clear_deadline=request.clear_deadline,
        grant_visibility_to_roles=list(request.grant_visibility_to_roles),
        clear_visibility=request.clear_visibility,
    )


def camp_to_proto(row: CampRow) -> intake_pb2.Camp:
    first, last = window(row)
    return intake_pb2.Camp(
        id=row.id,
        district_code=row.district_code,
        block_code=row.block_code,
        panchayat_code=row.panchayat_code,
        held_on=row.held_on.isoformat(),
        venue=common_pb2.LocalizedText(en=row.venue_en, hi=row.venue_hi),
        accepts_from=first.isoformat(),
        accepts_until=last.isoformat(),
    )


def hearing_notice_to_proto(row: HearingRow) -> intake_pb2.HearingNotice:
    """B7: a notice board row; nothing of the complainant but the case's registration number."""
    return intake_pb2.HearingNotice(
        hearing_id=row.hearing_id,
        registration_number=row.registration_number,
        stage=row.stage,
        held_on=row.held_on.isoformat(),
        at=row.at,
        venue=_text(row.venue_en, row.venue_hi),
        office_id=row.office_id,
        office_name=_text(row.office_name_en, row.office_name_hi),
        hearing_officer_title=_text(row.hearing_officer_title_en, row.hearing_officer_title_hi),
        public_authority_title=_text(row.public_authority_title_en, row.public_authority_title_hi),
        status=row.status,
    )


PENDING_GROUPS = {
    intake_pb2.PENDING_GROUP_UNSPECIFIED: "office",
    intake_pb2.PENDING_GROUP_OFFICE: "office",
    intake_pb2.PENDING_GROUP_POSITION: "position",
}


def pending_by_age_to_proto(report: PendingByAge) -> intake_pb2.PendingByAge:
    return intake_pb2.PendingByAge(
        rows=[
            intake_pb2.PendingAgeRow(
                office_id=r.office_id,
                office_name=_text(r.office_name_en, r.office_name_hi),
                position_id=r.position_id,
                position_title=_text(r.position_title_en, r.position_title_hi),
                days_0_10=r.buckets[0],
                days_10_20=r.buckets[1],
                days_20_30=r.buckets[2],
                days_over_30=r.buckets[3],
                total=r.total,
                overdue=r.overdue,
            )
            for r in report.rows
        ],
        as_of=to_timestamp(report.as_of),
    )


def period_from_proto(since: timestamp_pb2.Timestamp, until: timestamp_pb2.Timestamp) -> tuple[datetime, datetime]:
    start, end = from_timestamp(since), from_timestamp(until)
    if start is None:
        raise InvalidArgument.field("since", "is required")
    if end is None:
        raise InvalidArgument.field("until", "is required")
    return start, end


def ranking_to_proto(rows: list[RankingRow]) -> intake_pb2.Ranking:
    return intake_pb2.Ranking(
        rows=[
            intake_pb2.RankingRow(
                office_id=r.office_id,
                office_name=_text(r.office_name_en, r.office_name_hi),
                position_id=r.position_id,
                position_title=_text(r.position_title_en, r.position_title_hi),
                ended=r.ended,
                within_time=r.within_time,
                not_fixed=r.not_fixed,
                score=r.score or 0.0,
                rank=r.rank or 0,
            )
            for r in rows
        ],
        min_ranked=MIN_RANKED,
    )


def daily_to_proto(rows: list[DailyRow], now: datetime) -> intake_pb2.DailyReport:
    return intake_pb2.DailyReport(
        rows=[
            intake_pb2.DailyRow(
                department_code=r.department_code, filed=r.filed, ended=r.ended, pending=r.pending, overdue=r.overdue
            )
            for r in rows
        ],
        as_of=to_timestamp(now),
    )


def absences_to_proto(report: AbsenceReport) -> intake_pb2.HearingAbsences:
    return intake_pb2.HearingAbsences(
        public_authorities=[
            intake_pb2.PublicAuthorityAttendance(
                position_id=r.position_id, title=_text(r.title_en, r.title_hi), hearings=r.hearings, absences=r.absences
            )
            for r in report.rows
        ],
        total_hearings=report.total_hearings,
        total_absences=report.total_absences,
        district_code=report.district_code,
        from_date=report.from_date.isoformat(),
        to_date=report.to_date.isoformat(),
    )


def inbound_from_proto(request: intake_pb2.ReceiveMessageRequest) -> InboundMessage:
    """A message as the gateway passed it on (C2 / B3)."""
    return InboundMessage(
        channel=request.channel,
        sender=request.sender,
        text=request.text,
        provider_message_id=request.provider_message_id,
        received_at=from_timestamp(request.received_at) if request.HasField("received_at") else None,
        subject=request.subject,
        recipient=request.recipient,
        sender_name=request.sender_name,
        files=tuple(InboundFile(f.filename, f.content_type, f.content) for f in request.files),
        automatic=request.automatic,
        file_problem=request.file_problem,
    )


def answer_to_proto(answer: Answer) -> intake_pb2.ReceiveMessageResponse:
    """The answer to an inbound message: the outcome and the reply to send back."""
    return intake_pb2.ReceiveMessageResponse(
        message_id=answer.message_id,
        outcome=answer.outcome.value,
        reply=_text(answer.reply_en, answer.reply_hi),
        registration_number=answer.registration_number,
        duplicate=answer.duplicate,
        language=answer.language,
        position_id=answer.position_id,
    )
