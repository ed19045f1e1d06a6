"""gRPC servicer: proto <-> domain at the edge; domain errors become statuses in the shared interceptor."""

from __future__ import annotations

from typing import Any

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.auth import CLIENT
from nivaran_common.door import current_caller
from nivaran_common.errors import PermissionDenied
from nivaran_common.timeutil import to_timestamp
from nivaran_routing.domain import (
    Actor,
    Area,
    AreaLevel,
    Category,
    Department,
    Location,
    NewTransfer,
    Office,
    OfficeEditor,
    Position,
    Transfer,
    TransferState,
    bilingual,
)
from nivaran_routing.offices import OfficeService
from nivaran_routing.service import RoutingService

_PROTO_LEVEL = {level: getattr(routing_pb2, f"AREA_LEVEL_{level.name}") for level in AreaLevel}
_LEVEL_FROM_PROTO = {value: level for level, value in _PROTO_LEVEL.items()}
_PROTO_STATE = {state: getattr(routing_pb2, f"TRANSFER_STATE_{state.name}") for state in TransferState}
_STATE_FROM_PROTO = {value: state for state, value in _PROTO_STATE.items()}


def _text(en: str, hi: str) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(en=en, hi=hi)


def location_from_proto(location: common_pb2.Location) -> Location:
    """The domain location; codes are trimmed, since people paste them."""
    return Location(
        state_code=location.state_code.strip(),
        district_code=location.district_code.strip(),
        subdivision_code=location.subdivision_code.strip(),
        block_code=location.block_code.strip(),
        panchayat_code=location.panchayat_code.strip(),
        thana_code=location.thana_code.strip(),
    )


def area_to_proto(area: Area) -> routing_pb2.Area:
    """Proto form of an area."""
    return routing_pb2.Area(
        code=area.code,
        level=_PROTO_LEVEL[area.level],
        name=_text(area.name_en, area.name_hi),
        parent_code=area.parent_code or "",
    )


def department_to_proto(department: Department) -> routing_pb2.Department:
    """Proto form of a department."""
    return routing_pb2.Department(
        code=department.code,
        name=_text(department.name_en, department.name_hi),
        has_district_office=department.has_district_office,
    )


def office_to_proto(office: Office) -> routing_pb2.Office:
    """Proto form of an office."""
    return routing_pb2.Office(
        id=office.id,
        department_code=office.department_code or "",
        name=_text(office.name_en, office.name_hi),
        level=_PROTO_LEVEL[office.level],
        area_code=office.area_code,
        hearing_weekday=office.hearing_weekday or 0,
    )


def position_to_proto(position: Position) -> routing_pb2.Position:
    """Proto form of a position."""
    return routing_pb2.Position(
        id=position.id,
        office_id=position.office_id,
        department_code=position.department_code or "",
        title=_text(position.title_en, position.title_hi),
        role=position.role,
        reports_to_position_id=position.reports_to_position_id or "",
        area_code=position.area_code,
        level=_PROTO_LEVEL[position.level],
        office_name=_text(position.office_name_en, position.office_name_hi),
        office_hearing_weekday=position.office_hearing_weekday or 0,
    )


def category_to_proto(category: Category) -> routing_pb2.Category:
    """Proto form of a category."""
    return routing_pb2.Category(
        code=category.code,
        department_code=category.department_code,
        name=_text(category.name_en, category.name_hi),
        default_track=category.default_track,
        is_other=category.is_other,
        retired=category.retired,
        merged_into_code=category.merged_into_code or "",
        service_time_limit_days=category.service_time_limit_days,
    )


def actor_from_proto(actor: common_pb2.Actor) -> Actor:
    """The domain actor; roles compare in capitals (DM, SECRETARY)."""
    return Actor(
        account_id=actor.account_id.strip(),
        role=actor.role.strip().upper(),
        position_id=actor.position_id.strip(),
        on_behalf_of_account_id=actor.on_behalf_of_account_id.strip(),
    )


def category_from_proto(category: routing_pb2.Category) -> Category:
    """The domain category a secretary proposes; names are trimmed."""
    return Category(
        code=category.code.strip(),
        department_code=category.department_code.strip(),
        name_en=category.name.en.strip(),
        name_hi=category.name.hi.strip(),
        default_track=category.default_track.strip(),
        is_other=category.is_other,
        retired=category.retired,
        merged_into_code=category.merged_into_code.strip() or None,
        service_time_limit_days=category.service_time_limit_days,
    )


def transfer_to_proto(transfer: Transfer) -> routing_pb2.TransferRequest:
    """Proto form of a transfer request."""
    return routing_pb2.TransferRequest(
        id=transfer.id,
        grievance_id=transfer.grievance_id,
        from_position_id=transfer.from_position_id,
        to_department_code=transfer.to_department_code,
        to_position_id=transfer.to_position_id or "",
        reason=transfer.reason,
        state=_PROTO_STATE[transfer.state],
        moderator_position_id=transfer.moderator_position_id,
        requested_at=to_timestamp(transfer.requested_at),
        decided_at=to_timestamp(transfer.decided_at),
        decision_note=transfer.decision_note,
    )


def verified_editor() -> OfficeEditor:
    """The verified person of this call (nivaran_common.door), as who asks to change an office; PERMISSION_DENIED
    without one (a server without a door, or a department system)."""
    caller = current_caller()
    principal = caller.principal if caller is not None else None
    if principal is None or principal.kind == CLIENT:
        raise PermissionDenied(
            bilingual(
                "changing an office needs the signed-in officer's verified token",
                "कार्यालय में परिवर्तन के लिए साइन-इन किए पदाधिकारी का सत्यापित टोकन आवश्यक है",
            )
        )
    return OfficeEditor(
        account_id=principal.account_id,
        positions=tuple(principal.positions),
        roles=tuple(principal.roles),
        district=principal.district,
    )


class RoutingServicer(routing_pb2_grpc.RoutingServiceServicer):
    """Routing's servicer over the use cases of RoutingService and OfficeService."""

    def __init__(self, service: RoutingService, offices: OfficeService) -> None:
        self.service = service
        self.offices = offices

    async def ResolveL1(self, request: routing_pb2.ResolveL1Request, context: Any) -> routing_pb2.ResolveL1Response:
        resolved = await self.service.resolve_l1(request.category_code.strip(), location_from_proto(request.location))
        return routing_pb2.ResolveL1Response(
            position=position_to_proto(resolved.position),
            office=office_to_proto(resolved.office),
            department=department_to_proto(resolved.department),
            category=category_to_proto(resolved.category),
            rule=resolved.rule,
        )

    async def ValidateLocation(
        self, request: routing_pb2.ValidateLocationRequest, context: Any
    ) -> routing_pb2.ValidateLocationResponse:
        areas = await self.service.validate_location(location_from_proto(request.location))
        return routing_pb2.ValidateLocationResponse(areas=[area_to_proto(a) for a in areas])

    async def GetReportingChain(
        self, request: routing_pb2.GetReportingChainRequest, context: Any
    ) -> routing_pb2.GetReportingChainResponse:
        chain = await self.service.reporting_chain(request.position_id.strip())
        return routing_pb2.GetReportingChainResponse(chain=[position_to_proto(p) for p in chain])

    async def GetPosition(self, request: routing_pb2.GetPositionRequest, context: Any) -> routing_pb2.Position:
        return position_to_proto(await self.service.get_position(request.position_id.strip()))

    async def ListSubordinatePositions(
        self, request: routing_pb2.ListSubordinatePositionsRequest, context: Any
    ) -> routing_pb2.ListSubordinatePositionsResponse:
        positions = await self.service.subordinate_positions(request.position_id.strip())
        return routing_pb2.ListSubordinatePositionsResponse(positions=[position_to_proto(p) for p in positions])

    async def ListPositions(
        self, request: routing_pb2.ListPositionsRequest, context: Any
    ) -> routing_pb2.ListPositionsResponse:
        positions = await self.service.list_positions(
            request.role, request.area_code.strip(), request.department_code.strip()
        )
        return routing_pb2.ListPositionsResponse(positions=[position_to_proto(p) for p in positions])

    async def ListDepartments(
        self, request: routing_pb2.ListDepartmentsRequest, context: Any
    ) -> routing_pb2.ListDepartmentsResponse:
        departments = await self.service.list_departments()
        return routing_pb2.ListDepartmentsResponse(departments=[department_to_proto(d) for d in departments])

    async def ListCategories(
        self, request: routing_pb2.ListCategoriesRequest, context: Any
    ) -> routing_pb2.ListCategoriesResponse:
        categories = await self.service.list_categories(request.department_code.strip(), request.include_retired)
        return routing_pb2.ListCategoriesResponse(categories=[category_to_proto(c) for c in categories])

    async def GetCategory(self, request: routing_pb2.GetCategoryRequest, context: Any) -> routing_pb2.Category:
        return category_to_proto(await self.service.get_category(request.code.strip()))

    async def ListAreas(self, request: routing_pb2.ListAreasRequest, context: Any) -> routing_pb2.ListAreasResponse:
        level = _LEVEL_FROM_PROTO.get(request.level)
        areas = await self.service.list_areas(request.parent_code.strip(), level)
        return routing_pb2.ListAreasResponse(areas=[area_to_proto(a) for a in areas])

    async def ImportMasterData(
        self, request: routing_pb2.ImportMasterDataRequest, context: Any
    ) -> routing_pb2.ImportMasterDataResponse:
        report = await self.service.import_master_data(
            request.format, request.table.strip(), request.content, dry_run=request.dry_run
        )
        return routing_pb2.ImportMasterDataResponse(
            rows_accepted=report.rows_accepted,
            errors=[
                routing_pb2.RowError(
                    row=e.row,
                    field=e.field,
                    message=f"{e.source}: {e.message}" if e.source and e.source != "request" else e.message,
                )
                for e in report.errors
            ],
        )

    async def CreateCategory(self, request: routing_pb2.CreateCategoryRequest, context: Any) -> routing_pb2.Category:
        category = await self.service.create_category(
            category_from_proto(request.category), actor_from_proto(request.actor)
        )
        return category_to_proto(category)

    async def RenameCategory(self, request: routing_pb2.RenameCategoryRequest, context: Any) -> routing_pb2.Category:
        category = await self.service.rename_category(
            request.code.strip(), request.name.en.strip(), request.name.hi.strip(), actor_from_proto(request.actor)
        )
        return category_to_proto(category)

    async def MergeCategories(self, request: routing_pb2.MergeCategoriesRequest, context: Any) -> routing_pb2.Category:
        category = await self.service.merge_categories(
            [code.strip() for code in request.source_codes],
            request.target_code.strip(),
            actor_from_proto(request.actor),
        )
        return category_to_proto(category)

    async def RetireCategory(self, request: routing_pb2.RetireCategoryRequest, context: Any) -> routing_pb2.Category:
        category = await self.service.retire_category(request.code.strip(), actor_from_proto(request.actor))
        return category_to_proto(category)

    async def RequestTransfer(
        self, request: routing_pb2.RequestTransferRequest, context: Any
    ) -> routing_pb2.TransferRequest:
        transfer = await self.service.request_transfer(
            NewTransfer(
                grievance_id=request.grievance_id.strip(),
                from_position_id=request.from_position_id.strip(),
                to_department_code=request.to_department_code.strip(),
                reason=request.reason,
                location=location_from_proto(request.location),
                actor=actor_from_proto(request.actor),
            )
        )
        return transfer_to_proto(transfer)

    async def DecideTransfer(
        self, request: routing_pb2.DecideTransferRequest, context: Any
    ) -> routing_pb2.TransferRequest:
        transfer = await self.service.decide_transfer(
            request.transfer_id.strip(),
            request.approve,
            request.to_position_id.strip(),
            request.note,
            actor_from_proto(request.actor),
        )
        return transfer_to_proto(transfer)

    async def ListTransferQueue(
        self, request: routing_pb2.ListTransferQueueRequest, context: Any
    ) -> routing_pb2.ListTransferQueueResponse:
        page = await self.service.list_transfer_queue(
            request.district_code.strip(),
            _STATE_FROM_PROTO.get(request.state),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return routing_pb2.ListTransferQueueResponse(
            transfers=[transfer_to_proto(t) for t in page.transfers], next_page_token=page.next_page_token
        )

    async def GetOffice(self, request: routing_pb2.GetOfficeRequest, context: Any) -> routing_pb2.Office:
        return office_to_proto(await self.offices.get_office(request.office_id.strip()))

    async def SetHearingDay(self, request: routing_pb2.SetHearingDayRequest, context: Any) -> routing_pb2.Office:
        office = await self.offices.set_hearing_day(request.office_id.strip(), request.weekday, verified_editor())
        return office_to_proto(office)
