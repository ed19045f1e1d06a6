"""Whose figures a reviewer may read (the dashboard and the review reports): a DM their own district; a department's
secretary their department (in any district, or one named); the OSD to the Chief Secretary and the Chief Secretary
any district or department, or the state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from nivaran_common.auth import CHIEF_SECRETARY, DM, OSD_CS, SECRETARY, Principal
from nivaran_common.jurisdiction import STATE_WIDE_ROLES, PositionDirectory
from nivaran_gateway.access import requires
from nivaran_gateway.problems import FORBIDDEN, ProblemError
from nivaran_gateway.routes.categories import secretary_of

Reviewer = Annotated[Principal, Depends(requires(DM, SECRETARY, OSD_CS, CHIEF_SECRETARY))]


async def review_remit(
    principal: Principal, district_code: str | None, department_code: str | None, directory: PositionDirectory
) -> tuple[str, str]:
    """The (district, department) the caller may read, from what they asked; 403 outside their remit."""
    district, department = (district_code or "").upper(), department_code or ""
    if principal.has_any(STATE_WIDE_ROLES):
        return district, department
    if principal.has_any((DM,)) and principal.district:
        if district and district != principal.district:
            raise ProblemError(FORBIDDEN, f"a DM reads the figures of their own district ({principal.district})")
        return principal.district, department
    if department:
        await secretary_of(principal, department, directory)
        return district, department
    raise ProblemError.field(FORBIDDEN, "department_code", "a secretary names their department")
