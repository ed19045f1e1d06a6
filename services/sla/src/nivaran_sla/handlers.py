"""gRPC servicer: proto to domain and back; the use cases in service.py do the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2

from nivaran.common.v1 import common_pb2
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.door import current_caller
from nivaran_common.errors import PermissionDenied
from nivaran_common.timeutil import to_timestamp
from nivaran_sla.act_inputs import act_from_proto
from nivaran_sla.acts import CaseActs, require_act
from nivaran_sla.deadlines import CalendarKind
from nivaran_sla.domain import Actor, Breach, LifecycleState, ShowCauseNotice
from nivaran_sla.policy import Policy
from nivaran_sla.service import ClockState, SlaService

_CALENDAR_FROM_PROTO = {
    sla_pb2.CALENDAR_KIND_CALENDAR_DAYS: CalendarKind.CALENDAR_DAYS,
    sla_pb2.CALENDAR_KIND_WORKING_DAYS: CalendarKind.WORKING_DAYS,
    sla_pb2.CALENDAR_KIND_HOURS: CalendarKind.HOURS,
}


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(values, struct_pb2.Struct())


def _time(request: Any, field: str) -> datetime | None:
    """A Timestamp field of a request, or None when the caller left it unset."""
    return getattr(request, field).ToDatetime(tzinfo=UTC) if request.HasField(field) else None


def actor_from_proto(actor: common_pb2.Actor) -> Actor:
    """The acting person as the use cases know them."""
    return Actor(account_id=actor.account_id.strip(), role=actor.role.strip(), position_id=actor.position_id.strip())


def policy_to_proto(policy: Policy) -> sla_pb2.Policy:
    """A policy with its validated document."""
    return sla_pb2.Policy(
        track=policy.track,
        version=str(policy.version),
        name=common_pb2.LocalizedText(en=policy.name.en, hi=policy.name.hi),
        document=_struct(policy.model_dump(mode="json")),
    )


def notice_to_proto(notice: ShowCauseNotice) -> sla_pb2.ShowCauseNotice:
    """A show-cause notice; an absent reply or recommendation stays unset."""
    return sla_pb2.ShowCauseNotice(
        id=notice.id,
        grievance_id=notice.grievance_id,
        registration_number=notice.registration_number,
        officer_account_id=notice.officer_account_id or "",
        position_id=notice.position_id,
        number=notice.number,
        issued_at=to_timestamp(notice.issued_at),
        due_by=to_timestamp(notice.due_by),
        reply=notice.reply or "",
        replied_at=to_timestamp(notice.replied_at),
        recommendation=notice.recommendation or "",
        recommended_at=to_timestamp(notice.recommended_at),
    )


def breach_to_proto(breach: Breach) -> sla_pb2.Breach:
    """A breach record."""
    return sla_pb2.Breach(
        id=breach.id,
        grievance_id=breach.grievance_id,
        position_id=breach.position_id,
        rule=breach.rule,
        recorded_at=to_timestamp(breach.recorded_at),
        details=_struct(breach.details),
    )


def clock_to_proto(state: ClockState) -> sla_pb2.Clock:
    """One clock; `name` carries the policy's clock id, which names it across versions."""
    view = state.view
    remaining = None
    if state.remaining is not None:
        remaining = duration_pb2.Duration()
        remaining.FromTimedelta(state.remaining)
    return sla_pb2.Clock(
        name=view.clock_id,
        started_at=to_timestamp(view.started_at),
        deadline=to_timestamp(view.deadline),
        paused=view.paused,
        remaining=remaining,
        fired=view.fired,
    )


def case_state_to_proto(grievance_id: str, state: LifecycleState) -> sla_pb2.CaseState:
    """Where the case stands after an action."""
    return sla_pb2.CaseState(
        grievance_id=grievance_id,
        status=state.status.value,
        position_id=state.position_id,
        reviewer_position_id=state.reviewer_position_id,
    )


def bind_caller(claimed: sla_pb2.Caller) -> None:
    """ActOnCase's caller is the verified token's (nivaran_common.door), never the request's word: fields left
    empty are filled from the token; a field that names anything else is refused."""
    found = current_caller()
    if found is None:
        return  # a server without a door: only a unit test of the handlers builds one (grpc_server.build_server)
    principal = found.principal
    if principal is None:
        raise PermissionDenied("acting on a case needs the acting person's verified token")
    verified = {
        "account_id": principal.account_id,
        "kind": principal.kind,
        "district_code": principal.district,
        "phone": principal.phone,
        "acting_for_account_id": principal.acting_for,
    }
    for name, value in verified.items():
        sent = getattr(claimed, name)
        if sent and sent != value:
            raise PermissionDenied(f"caller.{name} is not the verified caller's")
        setattr(claimed, name, value)
    if set(claimed.position_ids) - set(principal.positions):
        raise PermissionDenied("caller.position_ids names a post the verified caller does not hold")
    del claimed.position_ids[:]
    claimed.position_ids.extend(principal.positions)
    if set(claimed.roles) - set(principal.roles):
        raise PermissionDenied("caller.roles names a role the verified caller does not hold")
    del claimed.roles[:]
    claimed.roles.extend(principal.roles)


class SlaServicer(sla_pb2_grpc.SlaServiceServicer):
    """The SlaService RPCs over SlaService use cases."""

    def __init__(self, service: SlaService, acts: CaseActs) -> None:
        self._service = service
        self._acts = acts

    async def ListPolicies(
        self, request: sla_pb2.ListPoliciesRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ListPoliciesResponse:
        return sla_pb2.ListPoliciesResponse(policies=[policy_to_proto(p) for p in self._service.list_policies()])

    async def GetPolicy(self, request: sla_pb2.GetPolicyRequest, context: grpc.aio.ServicerContext) -> sla_pb2.Policy:
        return policy_to_proto(self._service.get_policy(request.track, request.version))

    async def ComputeDeadline(
        self, request: sla_pb2.ComputeDeadlineRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ComputeDeadlineResponse:
        deadline = self._service.compute_deadline(
            _time(request, "start"),
            request.duration,
            _CALENDAR_FROM_PROTO.get(request.calendar),
            request.state_code,
        )
        return sla_pb2.ComputeDeadlineResponse(deadline=to_timestamp(deadline))

    async def GetCaseClocks(
        self, request: sla_pb2.GetCaseClocksRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.GetCaseClocksResponse:
        case = await self._service.case_clocks(request.grievance_id)
        return sla_pb2.GetCaseClocksResponse(
            clocks=[clock_to_proto(c) for c in case.clocks], reviewer_position_id=case.reviewer_position_id
        )

    async def ListShowCauseNotices(
        self, request: sla_pb2.ListShowCauseNoticesRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ListShowCauseNoticesResponse:
        notices = await self._service.list_show_causes(
            grievance_id=request.grievance_id, position_id=request.position_id, unanswered_only=request.unanswered_only
        )
        return sla_pb2.ListShowCauseNoticesResponse(notices=[notice_to_proto(n) for n in notices])

    async def ActOnCase(
        self, request: sla_pb2.ActOnCaseRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ActOnCaseResponse:
        bind_caller(request.caller)
        act, caller, violations = act_from_proto(request)
        outcome = await self._acts.act(
            request.grievance_id, request.idempotency_key, caller, require_act(act, violations)
        )
        response = sla_pb2.ActOnCaseResponse(
            act=outcome.act.value, state=case_state_to_proto(request.grievance_id.strip(), outcome.state)
        )
        if outcome.notice is not None:
            response.notice.CopyFrom(notice_to_proto(outcome.notice))
        return response

    async def ListBreaches(
        self, request: sla_pb2.ListBreachesRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ListBreachesResponse:
        breaches, token = await self._service.list_breaches(
            grievance_id=request.grievance_id,
            district_code=request.district_code,
            rule=request.rule,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return sla_pb2.ListBreachesResponse(breaches=[breach_to_proto(b) for b in breaches], next_page_token=token)

    async def ApplyChargeHandover(
        self, request: sla_pb2.ApplyChargeHandoverRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.ApplyChargeHandoverResponse:
        rebased = await self._service.apply_charge_handover(
            request.position_id,
            request.account_id,
            _time(request, "charge_from"),
        )
        return sla_pb2.ApplyChargeHandoverResponse(cases_rebased=rebased)

    async def ForwardCase(
        self, request: sla_pb2.ForwardCaseRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.CaseState:
        state = await self._service.forward_case(
            request.grievance_id, request.to_position_id, request.note, actor_from_proto(request.actor)
        )
        return case_state_to_proto(request.grievance_id.strip(), state)

    async def MigrateCasePolicy(
        self, request: sla_pb2.MigrateCasePolicyRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.GetCaseClocksResponse:
        clocks = await self._service.migrate_case_policy(
            request.grievance_id, request.version, request.reason, actor_from_proto(request.actor)
        )
        return sla_pb2.GetCaseClocksResponse(clocks=[clock_to_proto(c) for c in clocks])

    async def TransferCase(
        self, request: sla_pb2.TransferCaseRequest, context: grpc.aio.ServicerContext
    ) -> sla_pb2.CaseState:
        state = await self._service.transfer_case(
            request.grievance_id,
            request.transfer_id,
            request.to_position_id,
            request.reason,
            request.kind,
            actor_from_proto(request.actor),
        )
        return case_state_to_proto(request.grievance_id.strip(), state)
