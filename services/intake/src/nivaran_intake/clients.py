"""Intake's collaborators: routing over gRPC, and Temporal for starting the lifecycle workflow."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import grpc
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran.sla.v1 import sla_pb2
from nivaran_common.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
    field_violations,
)
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, lifecycle_workflow_id
from nivaran_intake.conversation import Choice, Menu
from nivaran_intake.domain import Location


@dataclass(frozen=True)
class Route:
    """Where routing sent a case (S8), with the names a person reads."""

    department_code: str
    office_id: str
    office_name_en: str
    office_name_hi: str
    position_id: str
    position_title_en: str
    position_title_hi: str
    category_name_en: str
    category_name_hi: str
    default_track: str
    rule: str
    category_is_other: bool = False
    service_time_limit_days: int = 0
    office_level: str = ""


class Router(Protocol):
    async def resolve(self, category_code: str, location: Location) -> Route: ...


class LifecycleStarter(Protocol):
    async def start(self, lifecycle: sla_pb2.LifecycleInput) -> None: ...


def _translate(error: grpc.aio.AioRpcError) -> DomainError:
    message = error.details() or "routing failed"
    if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(message, field_violations(error))
    if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
        return FailedPrecondition(message, field_violations(error))
    if error.code() == grpc.StatusCode.NOT_FOUND:
        return NotFound(message)
    return Unavailable(f"routing is unavailable: {error.code().name}")


class GrpcRouter:
    """Asks the routing service to check the location and name the L1 position."""

    def __init__(self, stub: routing_pb2_grpc.RoutingServiceStub, timeout: float = 5.0) -> None:
        self.stub = stub
        self.timeout = timeout

    async def resolve(self, category_code: str, location: Location) -> Route:
        proto_location = common_pb2.Location(
            state_code=location.state_code,
            district_code=location.district_code,
            subdivision_code=location.subdivision_code,
            block_code=location.block_code,
            panchayat_code=location.panchayat_code,
            thana_code=location.thana_code,
        )
        try:
            # One call: ResolveL1 checks the location as ValidateLocation does (every bad field at once, with the
            # category's), so a filing costs routing one round trip (issue 9).
            resolved = await self.stub.ResolveL1(
                routing_pb2.ResolveL1Request(category_code=category_code, location=proto_location),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc) from exc
        return Route(
            department_code=resolved.department.code,
            office_id=resolved.office.id,
            office_name_en=resolved.office.name.en,
            office_name_hi=resolved.office.name.hi,
            position_id=resolved.position.id,
            position_title_en=resolved.position.title.en,
            position_title_hi=resolved.position.title.hi,
            category_name_en=resolved.category.name.en,
            category_name_hi=resolved.category.name.hi,
            default_track=resolved.category.default_track,
            rule=resolved.rule,
            category_is_other=resolved.category.is_other,
            service_time_limit_days=resolved.category.service_time_limit_days,
            office_level=routing_pb2.AreaLevel.Name(resolved.office.level).removeprefix("AREA_LEVEL_").lower(),
        )


class MasterData(Protocol):
    async def menu(self) -> Menu: ...


class GrpcMasterData:
    """Routing's categories (not retired) and districts, the WhatsApp conversation's choices; cached for a while,
    and the last good copy served when routing does not answer."""

    def __init__(
        self,
        stub: routing_pb2_grpc.RoutingServiceStub,
        *,
        ttl_seconds: float = 300.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stub = stub
        self.ttl_seconds = ttl_seconds
        self.timeout = timeout
        self.clock = clock
        self._cached: tuple[float, Menu] | None = None

    async def menu(self) -> Menu:
        if self._cached is not None and self.clock() - self._cached[0] < self.ttl_seconds:
            return self._cached[1]
        try:
            categories = await self.stub.ListCategories(routing_pb2.ListCategoriesRequest(), timeout=self.timeout)
            areas = await self.stub.ListAreas(
                routing_pb2.ListAreasRequest(level=routing_pb2.AREA_LEVEL_DISTRICT), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as exc:
            if self._cached is not None:
                return self._cached[1]
            raise _translate(exc) from exc
        menu = Menu(
            categories=tuple(
                Choice(c.code, c.name.en or c.code, c.name.hi or c.name.en or c.code)
                for c in categories.categories
                if not c.retired
            ),
            districts=tuple(Choice(a.code, a.name.en or a.code, a.name.hi or a.name.en or a.code) for a in areas.areas),
        )
        self._cached = (self.clock(), menu)
        return menu


class TemporalLifecycleStarter:
    """Starts `GrievanceLifecycle` with workflow id grievance-<id>; a second start joins the first."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, lifecycle: sla_pb2.LifecycleInput) -> None:
        try:
            await self.client.start_workflow(
                LIFECYCLE_WORKFLOW,
                lifecycle,
                id=lifecycle_workflow_id(lifecycle.grievance_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A case whose lifecycle already ended must never get a second one.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return
