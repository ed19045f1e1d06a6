"""gRPC servicer: proto to domain and back."""

from __future__ import annotations

import re
from typing import Any

import grpc
from google.protobuf import json_format

from nivaran.common.v1 import common_pb2
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.auth import CLIENT
from nivaran_common.door import current_caller
from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied
from nivaran_common.timeutil import from_timestamp, to_timestamp, utcnow
from nivaran_notify.documents.messages import document_to_proto, reader, verification_to_proto
from nivaran_notify.documents.service import DocumentService
from nivaran_notify.domain import (
    Channel,
    Delivery,
    DeliveryReceipt,
    DeliveryState,
    FailedDelivery,
    Language,
    LocalizedText,
    Notice,
    NoticeFilter,
    Reader,
    Recipient,
    RecipientKind,
    SendCommand,
)
from nivaran_notify.service import NotifyService

_CHANNEL_FROM_PROTO = {
    notify_pb2.DELIVERY_CHANNEL_IN_APP: Channel.IN_APP,
    notify_pb2.DELIVERY_CHANNEL_EMAIL: Channel.EMAIL,
    notify_pb2.DELIVERY_CHANNEL_SMS: Channel.SMS,
    notify_pb2.DELIVERY_CHANNEL_WHATSAPP: Channel.WHATSAPP,
}
_CHANNEL_TO_PROTO = {channel: number for number, channel in _CHANNEL_FROM_PROTO.items()}
_STATE_TO_PROTO = {
    DeliveryState.PENDING: notify_pb2.DELIVERY_STATE_PENDING,
    DeliveryState.SENT: notify_pb2.DELIVERY_STATE_SENT,
    DeliveryState.DELIVERED: notify_pb2.DELIVERY_STATE_DELIVERED,
    DeliveryState.READ: notify_pb2.DELIVERY_STATE_READ,
    DeliveryState.FAILED: notify_pb2.DELIVERY_STATE_FAILED,
}


def send_command_from_proto(request: notify_pb2.SendRequest) -> SendCommand:
    """Convert a SendRequest; enum-like fields that cannot be read are reported together."""
    violations: list[FieldViolation] = []
    recipient = request.recipient
    language = Language.HI
    if recipient.preferred_language:
        try:
            # "hi-IN" and "en_IN" name the same languages as "hi" and "en".
            language = Language(re.split(r"[-_]", recipient.preferred_language.strip().lower())[0])
        except ValueError:
            violations.append(FieldViolation("recipient.preferred_language", "must be 'hi' or 'en'"))
    kind: RecipientKind | None = None
    if recipient.kind:
        try:
            kind = RecipientKind(recipient.kind.strip().lower())
        except ValueError:
            violations.append(FieldViolation("recipient.kind", "must be 'citizen' or 'officer'"))
    channels: list[Channel] = []
    for index, number in enumerate(request.channels):
        channel = _CHANNEL_FROM_PROTO.get(number)
        if channel is None:
            violations.append(FieldViolation(f"channels[{index}]", "must be IN_APP, EMAIL, SMS or WHATSAPP"))
        else:
            channels.append(channel)
    if violations:
        raise InvalidArgument.of(violations)
    params: dict[str, Any] = json_format.MessageToDict(request.params) if request.HasField("params") else {}
    return SendCommand(
        dedupe_key=request.dedupe_key,
        template=request.template.strip(),
        recipient=Recipient(
            account_id=recipient.account_id.strip(),
            position_id=recipient.position_id.strip(),
            name=recipient.name.strip(),
            email=recipient.email,
            phone=recipient.phone,
            preferred_language=language,
            kind=kind,
        ),
        channels=tuple(channels),
        params=params,
        grievance_id=request.grievance_id.strip(),
        registration_number=request.registration_number.strip(),
    )


def _text(text: LocalizedText) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(en=text.en, hi=text.hi)


def delivery_to_proto(delivery: Delivery) -> notify_pb2.Delivery:
    """Convert a delivery; its address is already masked."""
    message = notify_pb2.Delivery(
        id=delivery.id,
        notice_id=delivery.notice_id,
        channel=_CHANNEL_TO_PROTO[delivery.channel],
        state=_STATE_TO_PROTO[delivery.state],
        address=delivery.address,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
    )
    for field, value in (
        ("sent_at", delivery.sent_at),
        ("delivered_at", delivery.delivered_at),
        ("read_at", delivery.read_at),
    ):
        timestamp = to_timestamp(value)
        if timestamp is not None:
            getattr(message, field).CopyFrom(timestamp)
    return message


def delivery_view_to_proto(delivery: Delivery) -> notify_pb2.DeliveryView:
    """Convert a delivery for an operator or a receipt's answer."""
    message = notify_pb2.DeliveryView(
        delivery_id=delivery.id,
        notice_id=delivery.notice_id,
        channel=_CHANNEL_TO_PROTO[delivery.channel],
        state=_STATE_TO_PROTO[delivery.state],
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        provider_message_id=delivery.provider_message_id,
    )
    for field, value in (
        ("sent_at", delivery.sent_at),
        ("delivered_at", delivery.delivered_at),
        ("next_attempt_at", delivery.next_attempt_at if delivery.state is DeliveryState.PENDING else None),
    ):
        timestamp = to_timestamp(value)
        if timestamp is not None:
            getattr(message, field).CopyFrom(timestamp)
    return message


def failed_delivery_to_proto(failed: FailedDelivery) -> notify_pb2.FailedDelivery:
    """Convert a dead letter; its recipient and error are already masked."""
    message = notify_pb2.FailedDelivery(
        delivery_id=failed.delivery_id,
        notice_id=failed.notice_id,
        dedupe_key=failed.dedupe_key,
        grievance_id=failed.grievance_id,
        registration_number=failed.registration_number,
        channel=failed.channel.value,
        recipient=failed.recipient,
        template=failed.template,
        attempts=failed.attempts,
        last_error=failed.last_error,
    )
    failed_at = to_timestamp(failed.failed_at)
    if failed_at is not None:
        message.failed_at.CopyFrom(failed_at)
    return message


def _operator_account_id() -> str:
    caller = current_caller()
    principal = caller.principal if caller is not None else None
    if principal is None or principal.kind == CLIENT:
        raise PermissionDenied(
            "retrying a delivery needs the operator's verified token / "
            "वितरण दोबारा भेजने के लिए संचालक का सत्यापित टोकन आवश्यक है"
        )
    return principal.account_id


def notice_to_proto(notice: Notice) -> notify_pb2.Notice:
    """Convert a notice with its deliveries."""
    message = notify_pb2.Notice(
        id=notice.id,
        dedupe_key=notice.dedupe_key,
        template=notice.template,
        grievance_id=notice.grievance_id,
        registration_number=notice.registration_number,
        recipient_account_id=notice.recipient_account_id,
        recipient_position_id=notice.recipient_position_id,
        subject=_text(notice.subject),
        body=_text(notice.body),
        deliveries=[delivery_to_proto(d) for d in notice.deliveries],
    )
    created_at = to_timestamp(notice.created_at)
    if created_at is not None:
        message.created_at.CopyFrom(created_at)
    return message


class NotifyServicer(notify_pb2_grpc.NotifyServiceServicer):
    """NotifyService over gRPC; DomainErrors become statuses in the shared interceptor."""

    def __init__(self, service: NotifyService) -> None:
        self._service = service

    async def Send(  # noqa: N802
        self, request: notify_pb2.SendRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.SendResponse:
        """Send a notice (idempotent on dedupe_key)."""
        result = await self._service.send(send_command_from_proto(request))
        return notify_pb2.SendResponse(notice=notice_to_proto(result.notice), duplicate=result.duplicate)

    async def GetDeliveryStatus(  # noqa: N802
        self, request: notify_pb2.GetDeliveryStatusRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.GetDeliveryStatusResponse:
        """The notice sent under a dedupe key, with its deliveries."""
        notice = await self._service.get_delivery_status(request.dedupe_key)
        return notify_pb2.GetDeliveryStatusResponse(notice=notice_to_proto(notice))

    async def ListNotices(  # noqa: N802
        self, request: notify_pb2.ListNoticesRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.ListNoticesResponse:
        """Notices of a grievance and/or of a recipient."""
        page = await self._service.list_notices(
            NoticeFilter(
                grievance_id=request.grievance_id.strip(),
                recipient_account_id=request.recipient_account_id.strip(),
                recipient_position_id=request.recipient_position_id.strip(),
                unread_only=request.unread_only,
                recipient_position_ids=tuple(p.strip() for p in request.recipient_position_ids if p.strip()),
                in_app_only=request.in_app_only,
                notice_id=request.notice_id.strip(),
            ),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return notify_pb2.ListNoticesResponse(
            notices=[notice_to_proto(n) for n in page.notices], next_page_token=page.next_page_token
        )

    async def MarkNoticeRead(  # noqa: N802
        self, request: notify_pb2.MarkNoticeReadRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.Notice:
        """Record when an in-app notice was read (S16)."""
        actor = request.actor
        reader = Reader(
            account_id=actor.account_id,
            position_id=actor.position_id,
            on_behalf_of_account_id=actor.on_behalf_of_account_id,
        )
        return notice_to_proto(await self._service.mark_read(request.notice_id.strip(), reader))

    async def ListTemplates(  # noqa: N802
        self, request: notify_pb2.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.ListTemplatesResponse:
        """The registered templates."""
        return notify_pb2.ListTemplatesResponse(
            templates=[
                notify_pb2.Template(
                    code=t.code,
                    channels=[_CHANNEL_TO_PROTO[c] for c in t.channels],
                    subject=_text(t.title),
                    dlt_template_id=t.dlt_template_id,
                )
                for t in self._service.list_templates()
            ]
        )

    async def ListFailedDeliveries(  # noqa: N802
        self, request: notify_pb2.ListFailedDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.ListFailedDeliveriesResponse:
        """The dead letters, newest failure first (C2)."""
        page = await self._service.list_failed_deliveries(
            request.channel, request.limit, page_size=request.page.page_size, page_token=request.page.page_token
        )
        return notify_pb2.ListFailedDeliveriesResponse(
            deliveries=[failed_delivery_to_proto(f) for f in page.deliveries], next_page_token=page.next_page_token
        )

    async def RetryDelivery(  # noqa: N802
        self, request: notify_pb2.RetryDeliveryRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.DeliveryView:
        """Retry one failed delivery at once (C2), as the verified operator."""
        operator = _operator_account_id()
        return delivery_view_to_proto(await self._service.retry_delivery(request.delivery_id, operator))

    async def RecordDeliveryReceipt(  # noqa: N802
        self, request: notify_pb2.RecordDeliveryReceiptRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.DeliveryView:
        """Apply a provider's delivery receipt (C2)."""
        receipt = DeliveryReceipt(
            channel=request.channel,
            provider_message_id=request.provider_message_id,
            status=request.status,
            at=from_timestamp(request.at) if request.HasField("at") else None,
            error=request.error,
        )
        return delivery_view_to_proto(await self._service.record_receipt(receipt))

    # Documents (documents/).

    async def ListDocuments(  # noqa: N802
        self, request: notify_pb2.ListDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.ListDocumentsResponse:
        """A case's documents, for one who may read the case."""
        documents = self._documents()
        found = await documents.of_case(request.registration_number, reader())
        return notify_pb2.ListDocumentsResponse(
            documents=[document_to_proto(d, documents.verification_url(d.id)) for d in found]
        )

    async def GetDocumentContent(  # noqa: N802
        self, request: notify_pb2.GetDocumentContentRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.DocumentContent:
        """One document's PDF."""
        documents = self._documents()
        document, pdf = await documents.content(request.document_id, reader(), request.registration_number)
        return notify_pb2.DocumentContent(
            document=document_to_proto(document, documents.verification_url(document.id)),
            content=pdf,
            filename=document.filename,
        )

    async def VerifyDocument(  # noqa: N802
        self, request: notify_pb2.VerifyDocumentRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.DocumentVerification:
        """Public: was this document issued, and is this file its PDF."""
        verification = await self._documents().verify(request.document_id, request.content or None)
        return verification_to_proto(verification)

    async def RenderPdf(  # noqa: N802
        self, request: notify_pb2.RenderPdfRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.DocumentContent:
        """A template version rendered with the given facts, for review (stored nowhere)."""
        params: dict[str, Any] = json_format.MessageToDict(request.params) if request.HasField("params") else {}
        pdf = await self._documents().preview(request.kind, request.language.strip().lower(), params, utcnow())
        return notify_pb2.DocumentContent(content=pdf, filename=f"preview-{request.kind.strip()}.pdf")

    def _documents(self) -> DocumentService:
        if self._service.documents is None:
            raise FailedPrecondition("documents are not enabled here / यहाँ दस्तावेज़ सक्षम नहीं हैं")
        return self._service.documents
