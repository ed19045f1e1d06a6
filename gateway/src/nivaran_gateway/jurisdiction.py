"""Answers for a case outside the caller's scope (computed by nivaran_common.jurisdiction): a 404, exactly like an
unknown case, so its existence does not leak."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran_common.jurisdiction import STATE_WIDE_ROLES, GrievanceScope, PositionDirectory, grievance_scope
from nivaran_gateway.problems import NOT_FOUND, ProblemError

if TYPE_CHECKING:
    from nivaran.intake.v1.intake_pb2_grpc import IntakeServiceAsyncStub

__all__ = ["STATE_WIDE_ROLES", "GrievanceScope", "PositionDirectory", "find_case", "grievance_scope", "not_found"]


def not_found(registration_number: str) -> ProblemError:
    """The one answer for an unknown case and for a case outside the caller's scope."""
    return ProblemError(NOT_FOUND, f"no grievance {registration_number}")


async def find_case(
    intake: IntakeServiceAsyncStub, scope: GrievanceScope, registration_number: str, timeout: float
) -> intake_pb2.Grievance:
    """The case with this registration number if it lies in `scope`; a 404 problem otherwise."""
    if scope.is_empty:
        raise not_found(registration_number)
    request = scope.restrict(
        intake_pb2.ListGrievancesRequest(
            registration_number=registration_number, page=common_pb2.PageRequest(page_size=1)
        )
    )
    answer = await intake.ListGrievances(request, timeout=timeout)
    found: list[intake_pb2.Grievance] = [g for g in answer.grievances if g.registration_number == registration_number]
    if not found:
        raise not_found(registration_number)
    return found[0]
