"""The lifecycle's side effects: timeline transitions in intake and notices through notify, over gRPC.

Each activity converts its domain input to the other service's proto at this edge, and turns a gRPC failure
into an ApplicationError: a request the other service refuses on its merits will never succeed, so it is not
retried; anything else (the service down, a timeout) is retried by the workflow's retry policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import grpc
from temporalio import activity
from temporalio.exceptions import ApplicationError

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.errors import DomainError, field_violations
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import to_timestamp
from nivaran_sla.deadlines import CalendarError, CalendarKind, HolidayCalendar, compute_deadline, load_calendar
from nivaran_sla.domain import (
    Actor,
    Assignment,
    Breach,
    BreachRecord,
    CaseStatus,
    DeadlineInput,
    LifecycleConfig,
    Localized,
    NoticeChannel,
    NoticeInput,
    NoticeResult,
    PolicyVersionInput,
    PositionRef,
    Recipient,
    RecommendationRecord,
    ReplyRecord,
    RoleInput,
    ShowCauseIssue,
    ShowCauseNotice,
    TransferProposal,
    TransitionInput,
    TransitionResult,
)
from nivaran_sla.policy import PolicyError, PolicyRegistry

if TYPE_CHECKING:
    from nivaran_sla.metrics import SlaMetrics

log = get_logger(__name__)
T = TypeVar("T")

RECORD_TRANSITION = "record_transition"
RECORD_TRANSITIONS = "record_transitions"
SEND_NOTICE = "send_notice"
LOAD_CONFIG = "load_config"
LOAD_POLICY_VERSION = "load_policy_version"
COMPUTE_DEADLINE = "compute_deadline"
RESOLVE_ROLE = "resolve_role"
GET_POSITION = "get_position"
ISSUE_SHOW_CAUSE = "issue_show_cause"
RECORD_SHOW_CAUSE_REPLY = "record_show_cause_reply"
RECORD_RECOMMENDATION = "record_recommendation"
RECORD_BREACH = "record_breach"
PROPOSE_TRANSFER = "propose_transfer"


class Records(Protocol):
    """The sla service's own records (nivaran_sla.records.SlaRecords)."""

    async def issue_show_cause(
        self,
        *,
        idempotency_key: str,
        grievance_id: str,
        registration_number: str,
        position_id: str,
        officer_account_id: str | None,
        number: int,
        issued_at: datetime,
        due_by: datetime,
    ) -> ShowCauseNotice: ...

    async def record_reply(self, notice_id: str, reply: str, replied_at: datetime) -> ShowCauseNotice: ...

    async def record_recommendation(
        self, notice_id: str, recommendation: str, recommended_at: datetime
    ) -> ShowCauseNotice: ...

    async def record_breach(
        self,
        *,
        idempotency_key: str,
        grievance_id: str,
        registration_number: str,
        position_id: str,
        district_code: str,
        rule: str,
        recorded_at: datetime,
        details: dict[str, Any],
    ) -> Breach: ...


# Codes by which a service refuses the request itself; repeating the same request cannot change the answer.
PERMANENT_CODES = frozenset(
    {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}
)


def rpc_failure(error: grpc.aio.AioRpcError, call: str) -> ApplicationError:
    """Turn a failed call into an ApplicationError whose type names the gRPC code; permanent codes are final."""
    code = error.code()
    violations = [{"field": v.field, "description": v.description} for v in field_violations(error)]
    return ApplicationError(
        f"{call} failed with {code.name}: {error.details() or ''}",
        *([violations] if violations else []),
        type=f"grpc.{code.name}",
        non_retryable=code in PERMANENT_CODES,
    )


def _localized(text: Localized) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(en=text.en, hi=text.hi)


def _actor(actor: Actor) -> common_pb2.Actor:
    return common_pb2.Actor(account_id=actor.account_id, role=actor.role, position_id=actor.position_id)


def _status(status: CaseStatus) -> intake_pb2.Status.ValueType:
    return intake_pb2.Status.Value(f"STATUS_{status.value.upper()}")


def _assignment(assignment: Assignment) -> intake_pb2.Assignment:
    return intake_pb2.Assignment(
        department_code=assignment.department_code,
        office_id=assignment.office_id,
        office_name=_localized(assignment.office_name),
        position_id=assignment.position_id,
        position_title=_localized(assignment.position_title),
        assigned_at=to_timestamp(assignment.assigned_at),
    )


def transition_request(transition: TransitionInput) -> intake_pb2.RecordTransitionRequest:
    """The RecordTransition request for one lifecycle event."""
    request = intake_pb2.RecordTransitionRequest(
        grievance_id=transition.grievance_id,
        idempotency_key=transition.idempotency_key,
        event_type=transition.event_type,
        summary=_localized(transition.summary),
        actor=_actor(transition.actor),
        occurred_at=to_timestamp(transition.occurred_at),
    )
    if transition.new_status is not None:
        request.new_status = _status(transition.new_status)
    if transition.new_assignment is not None:
        request.new_assignment.CopyFrom(_assignment(transition.new_assignment))
    if transition.payload:
        request.payload.update(transition.payload)
    request.grant_visibility_to_roles.extend(transition.grant_visibility_to_roles)
    request.clear_visibility = transition.clear_visibility
    if transition.clear_deadline:
        request.clear_deadline = True
    elif (deadline := to_timestamp(transition.current_deadline)) is not None:
        request.current_deadline.CopyFrom(deadline)
        request.deadline_clock = transition.deadline_clock
    return request


def _channel(channel: NoticeChannel) -> notify_pb2.DeliveryChannel.ValueType:
    return notify_pb2.DeliveryChannel.Value(f"DELIVERY_CHANNEL_{channel.value.upper()}")


def _channels_from_proto(deliveries: Sequence[notify_pb2.Delivery]) -> list[NoticeChannel]:
    known = {c.value for c in NoticeChannel}
    names = [notify_pb2.DeliveryChannel.Name(d.channel).removeprefix("DELIVERY_CHANNEL_").lower() for d in deliveries]
    return [NoticeChannel(name) for name in names if name in known]


def _recipient(recipient: Recipient) -> notify_pb2.Recipient:
    return notify_pb2.Recipient(
        account_id=recipient.account_id,
        position_id=recipient.position_id,
        name=recipient.name,
        email=recipient.email,
        phone=recipient.phone,
        preferred_language=recipient.preferred_language,
        kind=recipient.kind.value,
    )


def send_request(notice: NoticeInput) -> notify_pb2.SendRequest:
    """The Send request for one notice."""
    request = notify_pb2.SendRequest(
        dedupe_key=notice.dedupe_key,
        template=notice.template,
        recipient=_recipient(notice.recipient),
        channels=[_channel(c) for c in notice.channels],
        grievance_id=notice.grievance_id,
        registration_number=notice.registration_number,
    )
    if notice.params:
        request.params.update(notice.params)
    return request


class LifecycleActivities:
    """The activities of GrievanceLifecycle, built once per worker with the stubs they call."""

    def __init__(
        self,
        intake: intake_pb2_grpc.IntakeServiceStub,
        notify: notify_pb2_grpc.NotifyServiceStub,
        rpc_timeout_seconds: float = 10.0,
        *,
        routing: routing_pb2_grpc.RoutingServiceStub | None = None,
        records: Records | None = None,
        policies: PolicyRegistry | None = None,
        holidays_folder: Path | None = None,
        upsert_search_attributes: bool = False,
        metrics: SlaMetrics | None = None,
    ) -> None:
        self.intake = intake
        self.notify = notify
        self.rpc_timeout_seconds = rpc_timeout_seconds
        self.routing = routing
        self.records = records
        self.policies = policies
        self.holidays_folder = holidays_folder
        self.upsert_search_attributes = upsert_search_attributes
        # Counted here, in activities, never in the workflow: workflow code replays, activities run once per act.
        self.metrics = metrics
        self._calendars: dict[str, HolidayCalendar] = {}

    def all(self) -> Sequence[Callable[..., Any]]:
        """Every activity, ready to register with a worker."""
        return [
            self.record_transition,
            self.record_transitions,
            self.send_notice,
            self.load_config,
            self.load_policy_version,
            self.compute_deadline,
            self.resolve_role,
            self.get_position,
            self.issue_show_cause,
            self.record_show_cause_reply,
            self.record_recommendation,
            self.record_breach,
            self.propose_transfer,
        ]

    @activity.defn(name=LOAD_CONFIG)
    async def load_config(self, track: str) -> LifecycleConfig:
        """The latest policy of the case's track; recorded in history, so the case keeps this version."""
        assert self.policies is not None
        try:
            policy = self.policies.latest(track)
        except PolicyError as exc:
            raise ApplicationError(str(exc), type="policy.unknown_track", non_retryable=True) from exc
        return LifecycleConfig(
            policy=policy.model_dump(mode="json"), upsert_search_attributes=self.upsert_search_attributes
        )

    @activity.defn(name=LOAD_POLICY_VERSION)
    async def load_policy_version(self, request: PolicyVersionInput) -> LifecycleConfig:
        """One named version of a track's policy, for an explicit migration of a running case."""
        assert self.policies is not None
        try:
            policy = self.policies.get(f"{request.track}@v{request.version}")
        except PolicyError as exc:
            raise ApplicationError(str(exc), type="policy.unknown_version", non_retryable=True) from exc
        return LifecycleConfig(
            policy=policy.model_dump(mode="json"), upsert_search_attributes=self.upsert_search_attributes
        )

    @activity.defn(name=COMPUTE_DEADLINE)
    async def compute_deadline(self, request: DeadlineInput) -> datetime:
        """A clock's deadline on its calendar; working days read the state's holiday files here, not in the
        workflow, so a calendar change never alters a replay."""
        kind = CalendarKind(request.calendar)
        calendar = None
        if kind is CalendarKind.WORKING_DAYS:
            assert self.holidays_folder is not None
            if request.state_code not in self._calendars:
                self._calendars[request.state_code] = load_calendar(self.holidays_folder, request.state_code)
            calendar = self._calendars[request.state_code]
        try:
            return compute_deadline(request.start, request.duration, kind, calendar)
        except CalendarError as exc:
            if calendar is None or "no holiday calendar" not in str(exc):
                raise ApplicationError(str(exc), type="calendar.error", non_retryable=True) from exc
            # A case must never stall for want of next year's holiday file: count weekly offs only, and say so.
            log.warning("holiday calendar missing; counting weekly offs only", error=str(exc))
            return compute_deadline(request.start, request.duration, kind, calendar, strict=False)

    @activity.defn(name=RESOLVE_ROLE)
    async def resolve_role(self, request: RoleInput) -> PositionRef | None:
        """The nearest position above (or at) `position_id` whose role is `role`; None when the chain has none."""
        assert self.routing is not None
        try:
            chain = await self.routing.GetReportingChain(
                routing_pb2.GetReportingChainRequest(position_id=request.position_id),
                timeout=self.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "RoutingService.GetReportingChain") from exc
        for position in chain.chain:
            if position.role.upper() == request.role.upper():
                return await self._position_ref(position)
        if not request.department_code:
            return None
        # A department's secretary sits beside the district chain, not above it (C5, S14).
        try:
            found = await self.routing.ListPositions(
                routing_pb2.ListPositionsRequest(role=request.role, department_code=request.department_code),
                timeout=self.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "RoutingService.ListPositions") from exc
        return await self._position_ref(found.positions[0]) if found.positions else None

    @activity.defn(name=PROPOSE_TRANSFER)
    async def propose_transfer(self, request: TransferProposal) -> str:
        """C4: the reporting officer names the right department; the proposal waits in the DM's queue (S5)."""
        assert self.routing is not None
        try:
            proposal = await self.routing.RequestTransfer(
                routing_pb2.RequestTransferRequest(
                    grievance_id=request.grievance_id,
                    from_position_id=request.from_position_id,
                    to_department_code=request.to_department_code,
                    reason=request.reason,
                    actor=common_pb2.Actor(
                        account_id=request.by_account_id, role="officer", position_id=request.from_position_id
                    ),
                    location=common_pb2.Location(state_code=request.state_code, district_code=request.district_code),
                ),
                timeout=self.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "RoutingService.RequestTransfer") from exc
        return str(proposal.id)

    @activity.defn(name=GET_POSITION)
    async def get_position(self, position_id: str) -> PositionRef:
        """A position with its office, to move a case there."""
        assert self.routing is not None
        try:
            position = await self.routing.GetPosition(
                routing_pb2.GetPositionRequest(position_id=position_id), timeout=self.rpc_timeout_seconds
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "RoutingService.GetPosition") from exc
        return await self._position_ref(position)

    async def _position_ref(self, position: routing_pb2.Position) -> PositionRef:
        return PositionRef(
            position_id=position.id,
            office_id=position.office_id,
            department_code=position.department_code,
            title=Localized(en=position.title.en, hi=position.title.hi),
            office_name=Localized(
                en=position.office_name.en or position.office_id, hi=position.office_name.hi or position.office_id
            ),
            role=position.role,
            office_hearing_weekday=position.office_hearing_weekday,
        )

    @activity.defn(name=ISSUE_SHOW_CAUSE)
    async def issue_show_cause(self, request: ShowCauseIssue) -> ShowCauseNotice:
        """S9 / S11: record a show-cause notice; the idempotency key makes a retried activity find the first one."""
        assert self.records is not None
        notice = await self.records.issue_show_cause(**request.__dict__)
        if self.metrics is not None:
            self.metrics.show_causes.labels(str(request.number)).inc()
        return notice

    @activity.defn(name=RECORD_SHOW_CAUSE_REPLY)
    async def record_show_cause_reply(self, request: ReplyRecord) -> ShowCauseNotice:
        assert self.records is not None
        return await self._domain(self.records.record_reply(request.notice_id, request.reply, request.replied_at))

    @activity.defn(name=RECORD_RECOMMENDATION)
    async def record_recommendation(self, request: RecommendationRecord) -> ShowCauseNotice:
        assert self.records is not None
        return await self._domain(
            self.records.record_recommendation(request.notice_id, request.recommendation, request.recommended_at)
        )

    @activity.defn(name=RECORD_BREACH)
    async def record_breach(self, request: BreachRecord) -> Breach:
        """S13 and friends: a breach record for the humans who decide on sanctions."""
        assert self.records is not None
        breach = await self.records.record_breach(**request.__dict__)
        if self.metrics is not None:
            self.metrics.breaches.labels(request.rule).inc()
        return breach

    @staticmethod
    async def _domain(call: Awaitable[T]) -> T:
        try:
            return await call
        except DomainError as exc:
            raise ApplicationError(exc.message, type=f"domain.{exc.code.name}", non_retryable=True) from exc

    @activity.defn(name=RECORD_TRANSITION)
    async def record_transition(self, transition: TransitionInput) -> TransitionResult:
        """Append one event to intake's timeline; intake ignores a repeated idempotency key."""
        try:
            response = await self.intake.RecordTransition(
                transition_request(transition), timeout=self.rpc_timeout_seconds
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "IntakeService.RecordTransition") from exc
        log.info(
            "transition recorded",
            workflow_id=activity.info().workflow_id,
            event_type=transition.event_type,
            duplicate=response.duplicate,
        )
        result = TransitionResult(event_id=response.event.id, duplicate=response.duplicate)
        if self.metrics is not None:
            self.metrics.observe_fired([transition], [result])
        return result

    @activity.defn(name=RECORD_TRANSITIONS)
    async def record_transitions(self, transitions: list[TransitionInput]) -> list[TransitionResult]:
        """Append several events of one case to intake's timeline in one call and one transaction (the case's
        start); intake ignores each repeated idempotency key."""
        request = intake_pb2.RecordTransitionsRequest(transitions=[transition_request(t) for t in transitions])
        try:
            response = await self.intake.RecordTransitions(request, timeout=self.rpc_timeout_seconds)
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "IntakeService.RecordTransitions") from exc
        log.info(
            "transitions recorded",
            workflow_id=activity.info().workflow_id,
            event_types=[t.event_type for t in transitions],
            duplicates=sum(r.duplicate for r in response.results),
        )
        results = [TransitionResult(event_id=r.event.id, duplicate=r.duplicate) for r in response.results]
        if self.metrics is not None:
            self.metrics.observe_fired(transitions, results)
        return results

    @activity.defn(name=SEND_NOTICE)
    async def send_notice(self, notice: NoticeInput) -> NoticeResult:
        """Send one notice through notify; notify ignores a repeated dedupe key."""
        try:
            response = await self.notify.Send(send_request(notice), timeout=self.rpc_timeout_seconds)
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure(exc, "NotifyService.Send") from exc
        log.info(
            "notice sent",
            workflow_id=activity.info().workflow_id,
            template=notice.template,
            duplicate=response.duplicate,
        )
        return NoticeResult(
            notice_id=response.notice.id,
            channels=_channels_from_proto(response.notice.deliveries),
            duplicate=response.duplicate,
        )
