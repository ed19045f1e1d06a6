"""REST /v1/areas: the public geography a filing names its location by (district, sub-division, block, …)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import Principal
from nivaran_gateway.access import public
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.schemas.areas import AreaLevel, AreaList, AreaView

router = APIRouter(prefix="/v1", tags=["areas"])

Reader = Annotated[Principal | None, Depends(public("public_read"))]


@router.get(
    "/areas",
    response_model=AreaList,
    summary="Areas a filing's location may name",
    responses=problem_responses(401, 422, 429, 500, 502, 503),
)
async def list_areas(
    _caller: Reader,
    clients: Clients,
    settings: Settings,
    level: AreaLevel | None = None,
    parent_code: Annotated[str | None, Query(max_length=64, description="only the areas right under this one")] = None,
) -> AreaList:
    """Areas of one level, or the children of one area (both filters narrow)."""
    answer = await clients.routing.ListAreas(
        routing_pb2.ListAreasRequest(
            parent_code=parent_code or "",
            level=level.to_proto() if level is not None else routing_pb2.AREA_LEVEL_UNSPECIFIED,
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return AreaList(areas=[AreaView.from_proto(a) for a in answer.areas])
