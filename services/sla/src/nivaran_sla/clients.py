"""Adapters the use cases get injected: the case's lifecycle workflow over Temporal, and intake's open cases over
gRPC. Each turns its transport's failures into the exceptions service.py understands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import Unavailable
from nivaran_common.temporal import lifecycle_workflow_id
from nivaran_sla.service import LifecycleClosed, LifecycleNotFound, LifecycleUnavailable, UpdateRejected

# Cases whose lifecycle still runs clocks; the rest (disposed, rejected, closed, under appeal) have none to re-base.
OPEN_STATUSES = (
    intake_pb2.STATUS_REGISTERED,
    intake_pb2.STATUS_ASSIGNED,
    intake_pb2.STATUS_IN_PROGRESS,
    intake_pb2.STATUS_AWAITING_CITIZEN,
    intake_pb2.STATUS_ESCALATED,
    intake_pb2.STATUS_REOPENED,
    intake_pb2.STATUS_UNRESOLVED,
    intake_pb2.STATUS_PENDING_TRANSFER,
)
_TRANSIENT = {RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.CANCELLED}


def _failure(error: WorkflowUpdateFailedError) -> UpdateRejected:
    """The lifecycle's refusal: its message, and the failure's type (an ApplicationError's `type`)."""
    cause = error.cause
    kind = (cause.type or "") if isinstance(cause, ApplicationError) else ""
    if isinstance(cause, FailureError) and cause.message:
        return UpdateRejected(cause.message, kind)
    return UpdateRejected(str(cause or error), kind)


class TemporalWorkflows:
    """The lifecycle workflow of a case (`grievance-<id>`), reached by Update and Query name."""

    def __init__(self, client: Client, timeout_seconds: float = 30.0) -> None:
        self._client = client
        # An Update runs activities (the record, the timeline event) before it answers, so it gets more than one RPC.
        self._timeout = timedelta(seconds=timeout_seconds)

    async def execute_update(self, grievance_id: str, name: str, arg: Any, update_id: str = "") -> Any:
        """Run the Update `name` and wait for its result; a refusal raises UpdateRejected with the reason.

        With `update_id`, Temporal runs the Update once per workflow run: a retry with the same id gets the first
        outcome instead of acting again.
        """
        handle = self._client.get_workflow_handle(lifecycle_workflow_id(grievance_id))
        try:
            return await handle.execute_update(name, arg, id=update_id or None, rpc_timeout=self._timeout)
        except WorkflowUpdateFailedError as exc:
            raise _failure(exc) from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise LifecycleUnavailable(str(exc)) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                # Temporal answers NOT_FOUND both for an unknown workflow and for one already completed.
                raise LifecycleClosed(exc.message) from exc
            if exc.status in _TRANSIENT:
                raise LifecycleUnavailable(exc.message) from exc
            raise

    async def query(self, grievance_id: str, name: str) -> Any:
        """Run the Query `name`; Temporal answers it for a closed workflow too, by replaying its history."""
        handle = self._client.get_workflow_handle(lifecycle_workflow_id(grievance_id))
        try:
            return await handle.query(name, rpc_timeout=self._timeout)
        except WorkflowQueryFailedError as exc:
            raise LifecycleClosed(exc.message) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise LifecycleNotFound(exc.message) from exc
            if exc.status in _TRANSIENT:
                raise LifecycleUnavailable(exc.message) from exc
            raise


class IntakeCases:
    """Intake's open cases of a position, read page by page through ListGrievances."""

    def __init__(
        self, intake: intake_pb2_grpc.IntakeServiceStub, timeout_seconds: float = 10.0, page_size: int = 200
    ) -> None:
        self._intake = intake
        self._timeout = timeout_seconds
        self._page_size = page_size

    async def grievance_id_of(self, registration_number: str) -> str | None:
        """The id of the case with this registration number, or None when intake has none."""
        request = intake_pb2.ListGrievancesRequest(
            page=common_pb2.PageRequest(page_size=1), registration_number=registration_number
        )
        try:
            response = await self._intake.ListGrievances(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}:
                raise Unavailable(f"intake did not answer ({exc.code().name}); try again") from exc
            raise
        found = [g.id for g in response.grievances if g.registration_number == registration_number]
        return found[0] if found else None

    async def open_case_ids(self, position_id: str) -> list[str]:
        """Ids of every open case sitting with `position_id`, across all pages."""
        found: list[str] = []
        seen: set[str] = set()
        token = ""
        while True:
            request = intake_pb2.ListGrievancesRequest(
                page=common_pb2.PageRequest(page_size=self._page_size, page_token=token),
                position_ids=[position_id],
                statuses=OPEN_STATUSES,
            )
            try:
                response = await self._intake.ListGrievances(request, timeout=self._timeout)
            except grpc.aio.AioRpcError as exc:
                if exc.code() in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}:
                    raise Unavailable(f"intake did not answer ({exc.code().name}); try again") from exc
                raise
            for grievance in response.grievances:
                # A case that changed while paging may show up on two pages.
                if grievance.id not in seen:
                    seen.add(grievance.id)
                    found.append(grievance.id)
            token = response.next_page_token
            if not token:
                return found
