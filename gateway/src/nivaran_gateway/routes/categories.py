"""REST categories (H4): anyone reads them; a department's secretary owns its taxonomy and watches "Other"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import SECRETARY, Principal
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.jurisdiction import STATE_WIDE_ROLES, PositionDirectory
from nivaran_gateway.problems import FORBIDDEN, ProblemError, problem_responses
from nivaran_gateway.schemas.categories import (
    CategoryIn,
    CategoryList,
    CategoryOut,
    CategoryPatch,
    MergeIn,
    OtherShareView,
)

router = APIRouter(prefix="/v1", tags=["categories"], route_class=JsonBodyRoute)

Reader = Annotated[Principal | None, Depends(public("public_read"))]
Secretary = Annotated[Principal, Depends(requires(SECRETARY))]
Analyst = Annotated[Principal, Depends(requires(SECRETARY, *STATE_WIDE_ROLES))]

Code = Annotated[str, Path(min_length=1, max_length=64)]


async def secretary_of(principal: Principal, department_code: str, directory: PositionDirectory) -> common_pb2.Actor:
    """The caller as the secretary of `department_code`; 403 unless they hold that department's secretary post."""
    post = await directory.held_post(principal, SECRETARY, department_code)
    if post is None:
        raise ProblemError(FORBIDDEN, f"only the secretary of department {department_code} may do this")
    return principal.actor(role=SECRETARY, position_id=post)


@router.get(
    "/categories",
    response_model=CategoryList,
    summary="Categories a filing may use",
    responses=problem_responses(401, 422, 429, 500, 502, 503),
)
async def list_categories(
    _caller: Reader,
    clients: Clients,
    settings: Settings,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    include_retired: bool = False,
) -> CategoryList:
    """Every category, or one department's."""
    answer = await clients.routing.ListCategories(
        routing_pb2.ListCategoriesRequest(department_code=department_code or "", include_retired=include_retired),
        timeout=settings.grpc_timeout_seconds,
    )
    return CategoryList(categories=[CategoryOut.from_proto(c) for c in answer.categories])


@router.post(
    "/categories",
    status_code=201,
    response_model=CategoryOut,
    summary="Add a category to the secretary's department (H4)",
    responses=problem_responses(400, 401, 403, 409, 415, 422, 429, 500, 502, 503),
)
async def create_category(
    body: CategoryIn, principal: Secretary, clients: Clients, settings: Settings, directory: Directory
) -> CategoryOut:
    """Only into the department whose secretary post the caller holds."""
    actor = await secretary_of(principal, body.department_code, directory)
    created = await clients.routing.CreateCategory(
        routing_pb2.CreateCategoryRequest(category=body.to_proto(), actor=actor), timeout=settings.grpc_timeout_seconds
    )
    return CategoryOut.from_proto(created)


async def _owned(
    code: str, principal: Principal, clients: Clients, settings: Settings, directory: PositionDirectory
) -> common_pb2.Actor:
    category = await clients.routing.GetCategory(
        routing_pb2.GetCategoryRequest(code=code), timeout=settings.grpc_timeout_seconds
    )
    return await secretary_of(principal, category.department_code, directory)


@router.patch(
    "/categories/{code}",
    response_model=CategoryOut,
    summary="Rename or retire a category (H4)",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def change_category(
    code: Code, body: CategoryPatch, principal: Secretary, clients: Clients, settings: Settings, directory: Directory
) -> CategoryOut:
    """Earlier names stay in the category's history; a retired category keeps its old cases."""
    actor = await _owned(code, principal, clients, settings, directory)
    timeout = settings.grpc_timeout_seconds
    changed: routing_pb2.Category | None = None
    if body.name is not None:
        changed = await clients.routing.RenameCategory(
            routing_pb2.RenameCategoryRequest(code=code, name=body.name.to_proto(), actor=actor), timeout=timeout
        )
    if body.retired:
        changed = await clients.routing.RetireCategory(
            routing_pb2.RetireCategoryRequest(code=code, actor=actor), timeout=timeout
        )
    assert changed is not None  # the schema requires name or retired
    return CategoryOut.from_proto(changed)


@router.post(
    "/categories/{code}/merge",
    response_model=CategoryOut,
    summary="Merge categories into this one (H4)",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def merge_categories(
    code: Code, body: MergeIn, principal: Secretary, clients: Clients, settings: Settings, directory: Directory
) -> CategoryOut:
    """The sources are retired into the target; routing refuses sources of another department."""
    actor = await _owned(code, principal, clients, settings, directory)
    merged = await clients.routing.MergeCategories(
        routing_pb2.MergeCategoriesRequest(source_codes=body.source_codes, target_code=code, actor=actor),
        timeout=settings.grpc_timeout_seconds,
    )
    return CategoryOut.from_proto(merged)


@router.get(
    "/departments/{code}/other-share",
    response_model=OtherShareView,
    summary='The share of a department\'s filings in its "Other" category (H4)',
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def other_share(
    code: Code, principal: Analyst, clients: Clients, settings: Settings, directory: Directory
) -> OtherShareView:
    """Its own department for a secretary; any department for the OSD to the CS and the Chief Secretary."""
    if not principal.has_any(STATE_WIDE_ROLES):
        await secretary_of(principal, code, directory)
    board = await clients.intake.GetDashboard(
        intake_pb2.GetDashboardRequest(department_code=code), timeout=settings.grpc_timeout_seconds
    )
    return OtherShareView.from_proto(code, list(board.other_share))
