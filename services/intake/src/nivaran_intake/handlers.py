"""gRPC servicer: each RPC checks its caller's reach and calls the service; the messages at the edge are messages.py's,
and domain errors become statuses in the shared interceptor."""

from __future__ import annotations

from datetime import date

import grpc

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.auth import CLIENT
from nivaran_common.door import current_caller
from nivaran_common.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from nivaran_common.jurisdiction import GrievanceScope, PositionDirectory, grievance_scope
from nivaran_common.timeutil import from_timestamp, utcnow
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.camps import NewCamp
from nivaran_intake.inbound import InboundService
from nivaran_intake.messages import (
    ORDER_FROM_PROTO,
    PENDING_GROUPS,
    STATUS_FROM_PROTO,
    absences_to_proto,
    answer_to_proto,
    attachment_from_proto,
    attachment_to_proto,
    camp_to_proto,
    daily_to_proto,
    event_to_proto,
    filing_from_proto,
    grievance_to_proto,
    hearing_notice_to_proto,
    inbound_from_proto,
    pending_by_age_to_proto,
    period_from_proto,
    ranking_to_proto,
    transition_from_proto,
    transitions_from_proto,
)
from nivaran_intake.review_messages import long_pending_to_proto, trends_to_proto, weekly_to_proto
from nivaran_intake.service import IntakeService, SearchFilter
from nivaran_intake.service_delay import india_today
from nivaran_intake.tables import GrievanceRow
from nivaran_intake.whatsapp_chat import WhatsAppChat


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    """Intake's servicer: filings, reads, transitions, attachments and the dashboard."""

    def __init__(
        self,
        service: IntakeService,
        attachments: AttachmentService,
        directory: PositionDirectory | None = None,
        whatsapp: WhatsAppChat | None = None,
    ) -> None:
        self.service = service
        self.attachments = attachments
        # Routing's posts, to compute an officer's jurisdiction (nivaran_common.jurisdiction).
        self.directory = directory
        # WhatsApp's guided conversation when intake has its Redis (main.py); the SMS grammar otherwise.
        self.inbound = InboundService(service, whatsapp)

    async def _scope(self) -> GrievanceScope | None:
        """What the verified person (or department client) may read; None for the suite's own workloads."""
        caller = current_caller()
        if caller is None or caller.principal is None:
            return None
        if self.directory is None:
            raise Unavailable("intake cannot work out the caller's jurisdiction (no routing directory)")
        return await grievance_scope(caller.principal, self.directory)

    async def _readable(self, row: GrievanceRow) -> GrievanceRow:
        """`row` when the caller may read it; NOT_FOUND otherwise, exactly like an unknown case."""
        scope = await self._scope()
        if scope is not None and not scope.covers(
            complainant_account_id=row.complainant_account_id or "",
            complainant_phone=row.complainant_phone or "",
            district_code=row.district_code or "",
            position_id=row.position_id or "",
            department_code=row.department_code or "",
        ):
            raise NotFound(f"no grievance {row.registration_number}")
        return row

    async def _readable_id(self, grievance_id: str) -> None:
        """NOT_FOUND unless the verified caller may read the case `grievance_id` (nothing to check for a workload)."""
        caller = current_caller()
        if caller is None or caller.principal is None:
            return
        if not grievance_id:
            raise InvalidArgument.field("grievance_id", "is required")
        await self._readable(await self.service.get(grievance_id=grievance_id))

    async def FileGrievance(  # noqa: N802
        self, request: intake_pb2.FileGrievanceRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.FileGrievanceResponse:
        caller = current_caller()
        principal = caller.principal if caller is not None else None
        department = principal.department if principal is not None and principal.kind == CLIENT else ""
        filed = await self.service.file(filing_from_proto(request), within_department=department)
        return intake_pb2.FileGrievanceResponse(grievance=grievance_to_proto(filed.grievance), created=filed.created)

    async def GetGrievance(  # noqa: N802
        self, request: intake_pb2.GetGrievanceRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Grievance:
        row = await self.service.get(grievance_id=request.id, registration_number=request.registration_number)
        return grievance_to_proto(await self._readable(row))

    async def ListGrievances(  # noqa: N802
        self, request: intake_pb2.ListGrievancesRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListGrievancesResponse:
        order = ORDER_FROM_PROTO.get(request.order)
        if order is None:
            raise InvalidArgument.field("order", "unknown order")
        statuses = []
        for value in request.statuses:
            if value not in STATUS_FROM_PROTO:
                raise InvalidArgument.field("statuses", "unknown status")
            statuses.append(STATUS_FROM_PROTO[value].value)
        scope = await self._scope()
        if scope is not None and scope.is_empty:
            return intake_pb2.ListGrievancesResponse()
        rows, token = await self.service.search(
            SearchFilter(
                within=scope,
                district_code=request.district_code,
                position_ids=list(request.position_ids),
                statuses=statuses,
                tracks=[t for t in request.tracks if t],
                complainant_account_id=request.complainant_account_id,
                category_code=request.category_code,
                department_code=request.department_code,
                query=request.query,
                page_size=request.page.page_size or 50,
                page_token=request.page.page_token,
                complainant_phone=request.complainant_phone,
                registration_number=request.registration_number,
                dm_visible_only=request.dm_visible_only,
                watch_open_only=request.watch_open_only,
                district_codes=list(request.district_codes),
                order=order,
            )
        )
        return intake_pb2.ListGrievancesResponse(
            grievances=[grievance_to_proto(r) for r in rows], next_page_token=token
        )

    async def GetTimeline(  # noqa: N802
        self, request: intake_pb2.GetTimelineRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.GetTimelineResponse:
        await self._readable_id(request.grievance_id)
        rows = await self.service.timeline(request.grievance_id)
        return intake_pb2.GetTimelineResponse(events=[event_to_proto(r) for r in rows])

    async def CreateCamp(  # noqa: N802
        self, request: intake_pb2.CreateCampRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Camp:
        caller = current_caller()
        principal = caller.principal if caller is not None else None
        if principal is None:
            raise PermissionDenied("setting a camp needs the DM's verified token")
        camp = NewCamp(
            district_code=request.district_code,
            block_code=request.block_code,
            panchayat_code=request.panchayat_code,
            held_on=request.held_on,
            venue_en=request.venue.en,
            venue_hi=request.venue.hi,
            created_by_account_id=principal.account_id,
        )
        return camp_to_proto(await self.service.camps.create(camp, dm_district=principal.district, today=india_today()))

    async def ListCamps(  # noqa: N802
        self, request: intake_pb2.ListCampsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListCampsResponse:
        try:
            start = date.fromisoformat(request.from_date) if request.from_date else india_today()
        except ValueError:
            raise InvalidArgument.field("from_date", "a date, YYYY-MM-DD") from None
        camps, token = await self.service.camps.list(
            district_code=request.district_code,
            panchayat_code=request.panchayat_code,
            from_date=start,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return intake_pb2.ListCampsResponse(camps=[camp_to_proto(c) for c in camps], next_page_token=token)

    async def ListNoticeBoard(  # noqa: N802
        self, request: intake_pb2.ListNoticeBoardRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.NoticeBoard:
        rows = await self.service.hearings.notice_board(request.office_id, request.from_date, india_today())
        return intake_pb2.NoticeBoard(hearings=[hearing_notice_to_proto(r) for r in rows])

    async def ListHearingAbsences(  # noqa: N802
        self, request: intake_pb2.ListHearingAbsencesRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.HearingAbsences:
        caller = current_caller()
        principal = caller.principal if caller is not None else None
        if principal is None:
            raise PermissionDenied("the attendance report needs the DM's verified token")
        report = await self.service.hearings.absences(
            request.district_code,
            request.from_date,
            request.to_date,
            dm_district=principal.district,
            today=india_today(),
        )
        return absences_to_proto(report)

    async def GetDashboard(  # noqa: N802
        self, request: intake_pb2.GetDashboardRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Dashboard:
        board = await self.service.dashboard(request.district_code, request.department_code, request.track)
        return intake_pb2.Dashboard(
            total=board.total,
            pending=board.pending,
            disposed=board.disposed,
            overdue=board.overdue,
            closed_not_fixed=board.closed_not_fixed,
            other_share=[
                intake_pb2.OtherShare(department_code=dept, total=t, other=o, share=(o / t if t else 0.0))
                for dept, (t, o) in board.other_share.items()
            ],
        )

    async def GetPendingByAge(  # noqa: N802
        self, request: intake_pb2.GetPendingByAgeRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.PendingByAge:
        report = await self.service.reports.pending_by_age(
            district_code=request.district_code,
            department_code=_clients_own(request.department_code),
            track=request.track,
            group=PENDING_GROUPS.get(request.group_by, ""),
            now=utcnow(),
        )
        return pending_by_age_to_proto(report)

    async def GetRanking(  # noqa: N802
        self, request: intake_pb2.GetRankingRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Ranking:
        since, until = period_from_proto(request.since, request.until)
        rows = await self.service.reports.ranking(
            district_code=request.district_code,
            department_code=_clients_own(request.department_code),
            group=PENDING_GROUPS.get(request.group_by, ""),
            since=since,
            until=until,
        )
        return ranking_to_proto(rows)

    async def GetDailyReport(  # noqa: N802
        self, request: intake_pb2.GetDailyReportRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.DailyReport:
        since, until = period_from_proto(request.since, request.until)
        now = utcnow()
        rows = await self.service.reports.daily(
            district_code=request.district_code, track=request.track, since=since, until=until, now=now
        )
        department = _clients_own("")
        return daily_to_proto([r for r in rows if not department or r.department_code == department], now)

    async def GetWeeklyReport(  # noqa: N802
        self, request: intake_pb2.GetWeeklyReportRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.WeeklyReport:
        since, until = period_from_proto(request.since, request.until)
        now = utcnow()
        rows = await self.service.reports.weekly(
            district_code=request.district_code,
            department_code=_clients_own(request.department_code),
            track=request.track,
            since=since,
            until=until,
            now=now,
        )
        return weekly_to_proto(rows, now)

    async def GetLongPending(  # noqa: N802
        self, request: intake_pb2.GetLongPendingRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.LongPending:
        report = await self.service.reports.long_pending(
            district_code=request.district_code,
            department_code=_clients_own(request.department_code),
            track=request.track,
            filed_before=from_timestamp(request.filed_before),
            limit=request.case_limit,
        )
        return long_pending_to_proto(report, utcnow())

    async def GetCategoryTrends(  # noqa: N802
        self, request: intake_pb2.GetCategoryTrendsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.CategoryTrends:
        since, until = period_from_proto(request.since, request.until)
        trends = await self.service.reports.category_trends(
            department_code=_clients_own(request.department_code),
            district_code=request.district_code,
            since=since,
            until=until,
        )
        return trends_to_proto(trends)

    async def ReceiveMessage(  # noqa: N802
        self, request: intake_pb2.ReceiveMessageRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ReceiveMessageResponse:
        return answer_to_proto(await self.inbound.receive(inbound_from_proto(request)))

    async def RecordTransition(  # noqa: N802
        self, request: intake_pb2.RecordTransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.RecordTransitionResponse:
        event, duplicate = await self.service.record_transition(transition_from_proto(request))
        return intake_pb2.RecordTransitionResponse(event=event_to_proto(event), duplicate=duplicate)

    async def RecordTransitions(  # noqa: N802
        self, request: intake_pb2.RecordTransitionsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.RecordTransitionsResponse:
        recorded = await self.service.record_transitions(transitions_from_proto(request))
        return intake_pb2.RecordTransitionsResponse(
            results=[
                intake_pb2.RecordTransitionResponse(event=event_to_proto(event), duplicate=duplicate)
                for event, duplicate in recorded
            ]
        )

    async def AddAttachment(  # noqa: N802
        self, request: intake_pb2.AddAttachmentRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.Attachment:
        await self._readable_id(request.grievance_id)
        row = await self.attachments.add(attachment_from_proto(request))
        return attachment_to_proto(row)

    async def ListAttachments(  # noqa: N802
        self, request: intake_pb2.ListAttachmentsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListAttachmentsResponse:
        await self._readable_id(request.grievance_id)
        rows = await self.attachments.of_grievance(request.grievance_id)
        return intake_pb2.ListAttachmentsResponse(attachments=[attachment_to_proto(r) for r in rows])

    async def GetAttachmentContent(  # noqa: N802
        self, request: intake_pb2.GetAttachmentContentRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.AttachmentContent:
        await self._readable_id(request.grievance_id)
        stored = await self.attachments.content(request.grievance_id, request.attachment_id)
        return intake_pb2.AttachmentContent(attachment=attachment_to_proto(stored.attachment), content=stored.content)


def _clients_own(department_code: str) -> str:
    """A department client's reports are its own department's: named for it when it names none, refused for
    another; people's remit is the gateway's (review_scope.py)."""
    caller = current_caller()
    principal = caller.principal if caller is not None else None
    if principal is None or principal.kind != CLIENT:
        return department_code
    if department_code and department_code != principal.department:
        raise PermissionDenied(f"a department client reads its own department's reports ({principal.department})")
    return principal.department
