"""Identity's collaborators over gRPC: routing (what a post is, and its district) and sla (charge handovers, S7)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import grpc

from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.errors import Unavailable
from nivaran_common.timeutil import to_timestamp
from nivaran_identity.domain import PositionInfo, bilingual


class PositionNotFound(Exception):
    """Routing knows no such position."""


class HandoverFailed(Exception):
    """sla did not take the handover; the caller keeps it and offers it again."""


class PositionDirectory(Protocol):
    async def describe(self, position_id: str) -> PositionInfo:
        """The post's role, department and district; PositionNotFound or Unavailable otherwise."""
        ...


class ChargeHandovers(Protocol):
    async def apply(self, position_id: str, account_id: str, charge_from: datetime) -> int:
        """Tell sla that `account_id` holds `position_id` from `charge_from`; the number of cases re-based."""
        ...


class GrpcPositionDirectory:
    """Asks routing. A post's district is the area of the first district-level post in its reporting chain, itself
    first: a block officer's is the district of the L1 above them, an SSP's (police district) the DM's. Posts whose
    chain reaches no district (secretaries, a department-level nodal officer, commissioners) have none."""

    def __init__(self, stub: routing_pb2_grpc.RoutingServiceStub, timeout: float = 10.0) -> None:
        self._stub = stub
        self._timeout = timeout

    async def describe(self, position_id: str) -> PositionInfo:
        """Describe one post from routing's master data."""
        try:
            position = await self._stub.GetPosition(
                routing_pb2.GetPositionRequest(position_id=position_id), timeout=self._timeout
            )
            chain = await self._stub.GetReportingChain(
                routing_pb2.GetReportingChainRequest(position_id=position_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise PositionNotFound(position_id) from exc
            raise Unavailable(
                bilingual("routing is unavailable; try again", "रूटिंग सेवा उपलब्ध नहीं है; पुनः प्रयास करें")
            ) from exc
        district = next(
            (p.area_code for p in chain.chain if p.level == routing_pb2.AREA_LEVEL_DISTRICT and p.area_code), ""
        )
        if not district and position.level == routing_pb2.AREA_LEVEL_DISTRICT:
            district = position.area_code
        return PositionInfo(
            id=position.id,
            role=position.role,
            department_code=position.department_code,
            district_code=district,
        )


class GrpcChargeHandovers:
    """SlaService.ApplyChargeHandover; idempotent on sla's side (a case ignores a charge it has already taken)."""

    def __init__(self, stub: sla_pb2_grpc.SlaServiceStub, timeout: float = 30.0) -> None:
        self._stub = stub
        self._timeout = timeout

    async def apply(self, position_id: str, account_id: str, charge_from: datetime) -> int:
        """Ask sla to re-base the position's open cases to `charge_from`."""
        try:
            response = await self._stub.ApplyChargeHandover(
                sla_pb2.ApplyChargeHandoverRequest(
                    position_id=position_id, account_id=account_id, charge_from=to_timestamp(charge_from)
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise HandoverFailed(f"{exc.code().name}: {exc.details() or ''}".strip()) from exc
        return int(response.cases_rebased)
