"""The SlaService gRPC surface through an in-process server: the real records, policies and holiday calendars, a
fake intake servicer, and the case's lifecycle as an in-process fake, except in the C5 clocks test (the real
lifecycle) and the last test (the Temporal wiring), which run against the real time-skipping server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.json_format import MessageToDict
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.casework import PERMISSION_DENIED
from nivaran_common.db import create_engine, session_factory
from nivaran_common.errors import field_violations
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_common.migrations import upgrade_async
from nivaran_common.paging import encode_token
from nivaran_common.settings import Profile
from nivaran_common.temporal import LIFECYCLE_WORKFLOW, lifecycle_workflow_id
from nivaran_common.testing import DatabaseFactory
from nivaran_common.timeutil import IST, to_timestamp
from nivaran_sla import SERVICE_ROOT
from nivaran_sla.act_inputs import caller_from_proto
from nivaran_sla.acts import CaseActs
from nivaran_sla.clients import OPEN_STATUSES, IntakeCases, TemporalWorkflows
from nivaran_sla.domain import (
    QUERY_CLOCKS,
    UPDATE_CHARGE_TAKEN,
    UPDATE_MIGRATE_POLICY,
    UPDATE_RECORD_RECOMMENDATION,
    UPDATE_REPLY_SHOW_CAUSE,
    UPDATE_SUBMIT_REPORT,
    CaseStatus,
    ChargeTakenInput,
    ClockView,
    LifecycleState,
    Localized,
    MigratePolicyInput,
    RecommendationInput,
    ReplyRecord,
    ReplyShowCauseInput,
    ShowCauseNotice,
)
from nivaran_sla.handlers import SlaServicer
from nivaran_sla.main import bindings, load_policies
from nivaran_sla.policy import PolicyRegistry
from nivaran_sla.records import SlaRecords
from nivaran_sla.service import LifecycleClosed, LifecycleNotFound, SlaService, UpdateRejected
from nivaran_sla.settings import SlaSettings

from .fakes import assigned_by_the_cell
from .test_acts_rules import c4_report
from .test_rules import case_input, case_runner

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
HOLIDAYS = ROOT / "data" / "holidays"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ISSUED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
REPLY = "The ration card was issued on 28-11-2026; the delay was caused by a server outage at the block."
RECOMMENDATION = "Accept the explanation; no further action against the officer."
OFFICER = common_pb2.Actor(account_id="acct-bdo-1", role="officer", position_id="pos-bdo-phw")
OFFICER_CALLER = sla_pb2.Caller(account_id="acct-bdo-1", kind="officer", position_ids=["pos-bdo-phw"])
DM_CALLER = sla_pb2.Caller(account_id="acct-dm-pat", kind="officer", position_ids=["pos-dm-pat"])
COMMISSIONER_CALLER = sla_pb2.Caller(account_id="acct-comm-patna", kind="officer", position_ids=["pos-comm-patna"])


# --- collaborators -------------------------------------------------------------------------------------------------


@dataclass
class FakeWorkflows:
    """Stands in for the lifecycle workflows: records each Update, and does what the workflow's activities would."""

    records: SlaRecords
    updates: list[tuple[str, str, Any, str]] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)
    reject_with: tuple[str, str] | None = None
    clocks: dict[str, list[ClockView]] = field(default_factory=dict)

    async def execute_update(self, grievance_id: str, name: str, arg: Any, update_id: str = "") -> Any:
        if grievance_id in self.closed:
            raise LifecycleClosed("workflow execution already completed")
        if self.reject_with is not None:
            raise UpdateRejected(*self.reject_with)
        self.updates.append((grievance_id, name, arg, update_id))
        if name == UPDATE_REPLY_SHOW_CAUSE:
            return await self.records.record_reply(arg.notice_id, arg.reply, NOW)
        if name == UPDATE_RECORD_RECOMMENDATION and arg.by_role == "DM":
            return await self.records.record_recommendation(arg.notice_id, arg.recommendation, NOW)
        if name == UPDATE_MIGRATE_POLICY:
            return [_json(view) for view in self.clocks.get(grievance_id, [])]
        return {"status": "in_progress", "position_id": "pos-bdo-phw", "disposed": False}

    async def query(self, grievance_id: str, name: str) -> Any:
        if name == "state":
            return {"status": "in_progress", "position_id": "pos-bdo-phw", "disposed": False}
        assert name == QUERY_CLOCKS
        if grievance_id not in self.clocks:
            raise LifecycleNotFound(f"workflow not found for ID: grievance-{grievance_id}")
        # Temporal hands query answers over as JSON values, not dataclasses.
        return [_json(view) for view in self.clocks[grievance_id]]


def _json(view: ClockView) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "clock_id": view.clock_id,
        "rule": view.rule,
        "name": {"en": view.name.en, "hi": view.name.hi},
        "started_at": iso(view.started_at),
        "deadline": iso(view.deadline),
        "paused": view.paused,
        "remaining_seconds": view.remaining_seconds,
        "running": view.running,
        "fired": view.fired,
    }


@dataclass
class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Answers ListGrievances from a fixed list of (id, position, status), `page_size` at a time."""

    cases: list[tuple[str, str, int]] = field(default_factory=list)
    requests: list[intake_pb2.ListGrievancesRequest] = field(default_factory=list)

    async def ListGrievances(
        self, request: intake_pb2.ListGrievancesRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListGrievancesResponse:
        self.requests.append(request)
        matching = [
            intake_pb2.Grievance(id=gid, status=status)
            for gid, position, status in self.cases
            if position in request.position_ids and status in request.statuses
        ]
        start = int(request.page.page_token or 0)
        end = start + request.page.page_size
        return intake_pb2.ListGrievancesResponse(
            grievances=matching[start:end], next_page_token=str(end) if end < len(matching) else ""
        )


@dataclass
class Surface:
    stub: sla_pb2_grpc.SlaServiceStub
    records: SlaRecords
    workflows: FakeWorkflows
    intake: FakeIntake


@asynccontextmanager
async def serving(*bindings_: ServiceBinding) -> AsyncIterator[grpc.aio.Channel]:
    server, port, _ = await build_server(bindings_, "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(None)


def intake_binding(servicer: FakeIntake) -> ServiceBinding:
    return ServiceBinding(
        intake_pb2_grpc.add_IntakeServiceServicer_to_server,
        servicer,
        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,
    )


@asynccontextmanager
async def sla_surface(url: str) -> AsyncIterator[Surface]:
    await upgrade_async(SERVICE_ROOT, url)
    engine = create_engine(url)
    records = SlaRecords(session_factory(engine))
    workflows = FakeWorkflows(records)
    intake = FakeIntake()
    try:
        async with serving(intake_binding(intake)) as intake_channel:
            service = SlaService(
                records,
                PolicyRegistry.from_folder(POLICIES),
                HOLIDAYS,
                workflows,
                # A small page, so a handover has to follow next_page_token.
                IntakeCases(intake_pb2_grpc.IntakeServiceStub(intake_channel), page_size=2),
                clock=lambda: NOW,
            )
            async with serving(*bindings(SlaServicer(service, CaseActs(workflows, records)))) as channel:
                yield Surface(sla_pb2_grpc.SlaServiceStub(channel), records, workflows, intake)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def surface(make_database: DatabaseFactory) -> AsyncIterator[Surface]:
    # The records run on both databases in test_records.py; the surface needs only one.
    async with sla_surface(make_database("sqlite")) as running:
        yield running


async def issue(records: SlaRecords, grievance_id: str = "g-1", number: int = 1) -> ShowCauseNotice:
    return await records.issue_show_cause(
        idempotency_key=f"grievance-{grievance_id}:show_cause:{number}",
        grievance_id=grievance_id,
        registration_number="BR-PAT-2026-000123",
        position_id="pos-bdo-phw",
        officer_account_id="acct-bdo-1",
        number=number,
        issued_at=ISSUED_AT,
        due_by=ISSUED_AT + timedelta(days=3),
    )


async def rpc_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def fields(error: grpc.aio.AioRpcError) -> list[str]:
    return [v.field for v in field_violations(error)]


# --- policies and deadlines ----------------------------------------------------------------------------------------


async def test_list_policies_returns_the_five_tracks_with_their_documents(surface: Surface) -> None:
    response = await surface.stub.ListPolicies(sla_pb2.ListPoliciesRequest())

    assert {p.track for p in response.policies} == {"cspgrs", "sahyog", "sahyog_camp", "bpgra", "rts_auto_appeal"}
    sahyog = next(p for p in response.policies if p.track == "sahyog")
    document = MessageToDict(sahyog.document)
    assert sahyog.version == "1"
    assert sahyog.name.en
    assert sahyog.name.hi
    assert document["track"] == "sahyog"
    assert {c["rule"] for c in document["clocks"]} >= {"S9", "S11"}


async def test_get_policy_latest_by_version_and_unknown(surface: Surface) -> None:
    latest = await surface.stub.GetPolicy(sla_pb2.GetPolicyRequest(track="cspgrs"))
    pinned = await surface.stub.GetPolicy(sla_pb2.GetPolicyRequest(track="cspgrs", version="v1"))
    unknown_track = await rpc_error(surface.stub.GetPolicy(sla_pb2.GetPolicyRequest(track="no_such_track")))
    unknown_version = await rpc_error(surface.stub.GetPolicy(sla_pb2.GetPolicyRequest(track="cspgrs", version="9")))
    bad_version = await rpc_error(surface.stub.GetPolicy(sla_pb2.GetPolicyRequest(track="cspgrs", version="latest")))
    no_track = await rpc_error(surface.stub.GetPolicy(sla_pb2.GetPolicyRequest()))

    assert (latest.track, latest.version) == ("cspgrs", "2")
    assert (pinned.track, pinned.version) == ("cspgrs", "1")
    # v2 adds the recourse window after a case ends (issue 10); v1 has none.
    assert latest.document["recourse"]["window"] == "P30D"
    assert pinned.document["recourse"] is None
    assert unknown_track.code() == grpc.StatusCode.NOT_FOUND
    assert unknown_version.code() == grpc.StatusCode.NOT_FOUND
    assert (bad_version.code(), fields(bad_version)) == (grpc.StatusCode.INVALID_ARGUMENT, ["version"])
    assert (no_track.code(), fields(no_track)) == (grpc.StatusCode.INVALID_ARGUMENT, ["track"])


async def test_compute_deadline_counts_working_days_across_diwali_2026(surface: Surface) -> None:
    start = datetime(2026, 11, 6, 10, 0, tzinfo=IST)  # a Friday; Diwali (8th, Sunday) and Bhai Dooj (11th) are off

    working = await surface.stub.ComputeDeadline(
        sla_pb2.ComputeDeadlineRequest(
            start=to_timestamp(start), duration="P5D", calendar=sla_pb2.CALENDAR_KIND_WORKING_DAYS, state_code="BR"
        )
    )
    calendar = await surface.stub.ComputeDeadline(
        sla_pb2.ComputeDeadlineRequest(
            start=to_timestamp(start), duration="P5D", calendar=sla_pb2.CALENDAR_KIND_CALENDAR_DAYS
        )
    )
    hours = await surface.stub.ComputeDeadline(
        sla_pb2.ComputeDeadlineRequest(
            start=to_timestamp(start), duration="PT72H", calendar=sla_pb2.CALENDAR_KIND_HOURS
        )
    )

    assert working.deadline.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 13, 10, 0, tzinfo=IST)
    assert calendar.deadline.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 11, 10, 0, tzinfo=IST)
    assert hours.deadline.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 9, 10, 0, tzinfo=IST)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            sla_pb2.ComputeDeadlineRequest(
                start=to_timestamp(NOW), duration="5 days", calendar=sla_pb2.CALENDAR_KIND_WORKING_DAYS
            ),
            ["duration"],
        ),
        (sla_pb2.ComputeDeadlineRequest(start=to_timestamp(NOW), duration="P5D"), ["calendar"]),
        (
            sla_pb2.ComputeDeadlineRequest(
                start=to_timestamp(NOW), duration="P5D", calendar=sla_pb2.CALENDAR_KIND_WORKING_DAYS, state_code="XX"
            ),
            ["state_code"],
        ),
        (
            sla_pb2.ComputeDeadlineRequest(
                start=to_timestamp(NOW), duration="P5D", calendar=sla_pb2.CALENDAR_KIND_HOURS, state_code="../BR"
            ),
            ["state_code"],
        ),
        (sla_pb2.ComputeDeadlineRequest(), ["start", "duration", "calendar"]),
    ],
    ids=["duration", "calendar", "unknown-state", "bad-state", "empty"],
)
async def test_compute_deadline_names_each_bad_field(
    surface: Surface, request_: sla_pb2.ComputeDeadlineRequest, expected: list[str]
) -> None:
    error = await rpc_error(surface.stub.ComputeDeadline(request_))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fields(error) == expected


async def test_compute_deadline_past_the_calendar_years_is_a_failed_precondition(surface: Surface) -> None:
    error = await rpc_error(
        surface.stub.ComputeDeadline(
            sla_pb2.ComputeDeadlineRequest(
                start=to_timestamp(datetime(2027, 12, 20, tzinfo=UTC)),
                duration="P30D",
                calendar=sla_pb2.CALENDAR_KIND_WORKING_DAYS,
            )
        )
    )

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "2028" in (error.details() or "")


# --- show-cause notices --------------------------------------------------------------------------------------------


def act_request(grievance_id: str, key: str, caller: sla_pb2.Caller, **act: Any) -> sla_pb2.ActOnCaseRequest:
    return sla_pb2.ActOnCaseRequest(grievance_id=grievance_id, idempotency_key=key, caller=caller, **act)


async def test_S9_reply_through_act_on_case_reaches_the_lifecycle_once_per_key(surface: Surface) -> None:
    notice = await issue(surface.records, "g-1")
    reply = sla_pb2.ShowCauseReply(notice_id=notice.id, reply=f"  {REPLY}  ")

    replied = await surface.stub.ActOnCase(act_request("g-1", "reply-key-0001", OFFICER_CALLER, show_cause_reply=reply))

    [(grievance_id, name, arg, update_id)] = surface.workflows.updates
    assert (grievance_id, name, update_id) == ("g-1", UPDATE_REPLY_SHOW_CAUSE, "show_cause_reply:reply-key-0001")
    assert arg == ReplyShowCauseInput(
        notice_id=notice.id, reply=REPLY, replied_by="acct-bdo-1", caller=caller_from_proto(OFFICER_CALLER, [])
    )
    assert replied.act == "show_cause_reply"
    assert (replied.notice.id, replied.notice.reply, replied.notice.number) == (notice.id, REPLY, 1)
    assert replied.notice.replied_at.ToDatetime(tzinfo=UTC) == NOW
    assert replied.state.status == "in_progress"


async def test_act_on_case_names_every_bad_field(surface: Surface) -> None:
    notice = await issue(surface.records)

    short = await rpc_error(
        surface.stub.ActOnCase(
            act_request(
                "g-1",
                "reply-key-0002",
                OFFICER_CALLER,
                show_cause_reply=sla_pb2.ShowCauseReply(notice_id=notice.id, reply="ok"),
            )
        )
    )
    empty = await rpc_error(surface.stub.ActOnCase(sla_pb2.ActOnCaseRequest()))
    report = await rpc_error(
        surface.stub.ActOnCase(
            act_request(
                "g-1",
                "report-key-0001",
                OFFICER_CALLER,
                report=sla_pb2.SubmitReport(kind=sla_pb2.REPORT_KIND_PRELIMINARY, action_taken="Site visit planned."),
            )
        )
    )
    elsewhere = await rpc_error(
        surface.stub.ActOnCase(
            act_request(
                "g-1",
                "report-key-0002",
                OFFICER_CALLER,
                report=sla_pb2.SubmitReport(kind=sla_pb2.REPORT_KIND_FINAL, concerns_office=False),
            )
        )
    )
    reject = await rpc_error(
        surface.stub.ActOnCase(
            act_request("g-1", "reject-key-0001", OFFICER_CALLER, reject=sla_pb2.Reject(ground="mood", reason=""))
        )
    )
    unknown = await rpc_error(
        surface.stub.ActOnCase(
            act_request(
                "g-1",
                "reply-key-0003",
                OFFICER_CALLER,
                show_cause_reply=sla_pb2.ShowCauseReply(notice_id="no-such-notice", reply=REPLY),
            )
        )
    )
    other_case = await rpc_error(
        surface.stub.ActOnCase(
            act_request(
                "g-2",
                "reply-key-0004",
                OFFICER_CALLER,
                show_cause_reply=sla_pb2.ShowCauseReply(notice_id=notice.id, reply=REPLY),
            )
        )
    )

    assert (short.code(), fields(short)) == (grpc.StatusCode.INVALID_ARGUMENT, ["show_cause_reply.reply"])
    assert fields(empty) == ["grievance_id", "idempotency_key", "caller.account_id", "caller.kind", "act"]
    # C4 §5.2: each unanswered question of a preliminary report is named.
    assert fields(report) == ["report.concerns_office", "report.aware_before", "report.resolvable_within_72h"]
    assert fields(elsewhere) == ["report.right_department_code"]
    assert fields(reject) == ["reject.ground", "reject.reason"]
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert other_case.code() == grpc.StatusCode.NOT_FOUND
    assert surface.workflows.updates == []


async def test_an_act_the_lifecycle_refuses_is_a_failed_precondition_or_permission_denied(surface: Surface) -> None:
    dispose = sla_pb2.Dispose(action_taken="Ration card issued on 28-11-2026.")
    surface.workflows.closed.add("g-closed")
    closed = await rpc_error(
        surface.stub.ActOnCase(act_request("g-closed", "dispose-0001", OFFICER_CALLER, dispose=dispose))
    )
    surface.workflows.reject_with = ("the case is already disposed (the case is disposed)", "")
    twice = await rpc_error(surface.stub.ActOnCase(act_request("g-1", "dispose-0002", OFFICER_CALLER, dispose=dispose)))
    surface.workflows.reject_with = ("only the officer holding the post the case is at may do this", PERMISSION_DENIED)
    stranger = await rpc_error(
        surface.stub.ActOnCase(act_request("g-1", "dispose-0003", OFFICER_CALLER, dispose=dispose))
    )

    # The lifecycle has ended: the answer names the state it ended in.
    assert (closed.code(), "its lifecycle has ended" in (closed.details() or "")) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        True,
    )
    assert (twice.code(), twice.details()) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "the case is already disposed (the case is disposed)",
    )
    assert stranger.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_S18_dm_recommendation_and_commissioner_action_go_to_the_lifecycle(surface: Surface) -> None:
    notice = await issue(surface.records, "g-1")
    await surface.records.record_reply(notice.id, REPLY, ISSUED_AT + timedelta(days=1))
    forwarded = "Forwarded to the department for disciplinary proceedings."

    recommended = await surface.stub.ActOnCase(
        act_request(
            "g-1",
            "recommend-0001",
            DM_CALLER,
            recommendation=sla_pb2.Recommendation(notice_id=notice.id, recommendation=RECOMMENDATION),
        )
    )
    acted = await surface.stub.ActOnCase(
        act_request(
            "g-1",
            "commissioner-0001",
            COMMISSIONER_CALLER,
            commissioner_action=sla_pb2.CommissionerAction(notice_id=notice.id, decision="forward", note=forwarded),
        )
    )
    bad = await rpc_error(
        surface.stub.ActOnCase(
            act_request(
                "g-1",
                "commissioner-0002",
                COMMISSIONER_CALLER,
                commissioner_action=sla_pb2.CommissionerAction(notice_id=notice.id, decision="sack", note="x"),
            )
        )
    )

    dm, commissioner = (u[2] for u in surface.workflows.updates)
    assert (dm.by_role, dm.recommendation, dm.by_account_id) == ("DM", RECOMMENDATION, "acct-dm-pat")
    assert (commissioner.by_role, commissioner.decision, commissioner.recommendation) == (
        "COMMISSIONER",
        "forward",
        forwarded,
    )
    assert all(u[1] == UPDATE_RECORD_RECOMMENDATION for u in surface.workflows.updates)
    assert (recommended.notice.recommendation, acted.act) == (RECOMMENDATION, "commissioner_action")
    assert fields(bad) == ["commissioner_action.decision", "commissioner_action.note"]


async def test_list_show_cause_notices_and_breaches(surface: Surface) -> None:
    first = await issue(surface.records, "g-1", 1)
    second = await issue(surface.records, "g-1", 2)
    await surface.records.record_reply(first.id, REPLY, ISSUED_AT + timedelta(days=1))
    await surface.records.record_breach(
        idempotency_key="grievance-g-1:breach:s13",
        grievance_id="g-1",
        registration_number="BR-PAT-2026-000123",
        position_id="pos-bdo-phw",
        district_code="PAT",
        rule="S13",
        recorded_at=NOW,
        details={"clock": "final_disposal", "days_pending": 30},
    )

    by_case = await surface.stub.ListShowCauseNotices(sla_pb2.ListShowCauseNoticesRequest(grievance_id="g-1"))
    unanswered = await surface.stub.ListShowCauseNotices(sla_pb2.ListShowCauseNoticesRequest(unanswered_only=True))
    in_patna = await surface.stub.ListBreaches(sla_pb2.ListBreachesRequest(district_code="pat"))
    in_gaya = await surface.stub.ListBreaches(sla_pb2.ListBreachesRequest(district_code="GAY"))

    assert [n.id for n in by_case.notices] == [first.id, second.id]
    assert by_case.notices[0].reply == REPLY
    assert not by_case.notices[1].HasField("replied_at")
    assert [n.id for n in unanswered.notices] == [second.id]
    assert [(b.grievance_id, b.rule, b.position_id) for b in in_patna.breaches] == [("g-1", "S13", "pos-bdo-phw")]
    assert MessageToDict(in_patna.breaches[0].details) == {"clock": "final_disposal", "days_pending": 30}
    assert list(in_gaya.breaches) == []


async def test_the_breach_register_pages_over_grpc_with_its_token_and_refuses_a_foreign_one(surface: Surface) -> None:
    for i in range(5):
        await surface.records.record_breach(
            idempotency_key=f"grievance-g-{i}:breach:s8",
            grievance_id=f"g-{i}",
            registration_number=f"BR-PAT-2026-00012{i}",
            position_id="pos-bdo-phw",
            district_code="PAT",
            rule="S8" if i % 2 else "S13",
            recorded_at=NOW + timedelta(minutes=i),
            details={},
        )

    seen: list[str] = []
    token = ""
    for _ in range(5):
        page = await surface.stub.ListBreaches(
            sla_pb2.ListBreachesRequest(district_code="PAT", page=common_pb2.PageRequest(page_size=2, page_token=token))
        )
        seen += [b.grievance_id for b in page.breaches]
        token = page.next_page_token
        if not token:
            break
    only_s8 = await surface.stub.ListBreaches(sla_pb2.ListBreachesRequest(rule="s8"))

    assert seen == ["g-4", "g-3", "g-2", "g-1", "g-0"]
    assert [b.grievance_id for b in only_s8.breaches] == ["g-3", "g-1"]
    assert only_s8.next_page_token == ""
    for page, field_name in [
        (common_pb2.PageRequest(page_token="not-a-token"), "page.page_token"),
        (common_pb2.PageRequest(page_token=encode_token("grievances", "x", "y")), "page.page_token"),
        (common_pb2.PageRequest(page_token=encode_token("breaches", "yesterday", "y")), "page.page_token"),
        (common_pb2.PageRequest(page_size=201), "page.page_size"),
    ]:
        error = await rpc_error(surface.stub.ListBreaches(sla_pb2.ListBreachesRequest(page=page)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert fields(error) == [field_name]


# --- clocks --------------------------------------------------------------------------------------------------------


async def test_get_case_clocks_reports_deadlines_and_time_left(surface: Surface) -> None:
    started = NOW - timedelta(days=4)
    surface.workflows.clocks["g-1"] = [
        ClockView(
            "show_cause_1", "S9", Localized("Show-cause at day 10", "दसवें दिन कारण पृच्छा"), started,
            started + timedelta(days=10), paused=False, remaining_seconds=None, running=True, fired=False,
        ),
        ClockView(
            "citizen_info", "B2", Localized("Information from the citizen", "नागरिक से सूचना"), started,
            None, paused=True, remaining_seconds=3600.0, running=True, fired=False,
        ),
        ClockView(
            "l1_forward", "S8", Localized("L1 forward", "एल1 अग्रसारण"), started,
            started + timedelta(days=3), paused=False, remaining_seconds=None, running=False, fired=True,
        ),
    ]  # fmt: skip

    response = await surface.stub.GetCaseClocks(sla_pb2.GetCaseClocksRequest(grievance_id="g-1"))
    unknown = await rpc_error(surface.stub.GetCaseClocks(sla_pb2.GetCaseClocksRequest(grievance_id="g-none")))
    empty = await rpc_error(surface.stub.GetCaseClocks(sla_pb2.GetCaseClocksRequest()))

    show_cause, paused, fired = response.clocks
    assert [c.name for c in response.clocks] == ["show_cause_1", "citizen_info", "l1_forward"]
    assert show_cause.deadline.ToDatetime(tzinfo=UTC) == started + timedelta(days=10)
    assert show_cause.remaining.ToTimedelta() == timedelta(days=6)
    assert (paused.paused, paused.remaining.ToTimedelta()) == (True, timedelta(hours=1))
    assert not paused.HasField("deadline")
    assert fired.fired
    assert not fired.HasField("remaining")
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert (empty.code(), fields(empty)) == (grpc.StatusCode.INVALID_ARGUMENT, ["grievance_id"])


async def test_C5_get_case_clocks_names_the_post_reviewing_the_final_report_and_none_otherwise(
    time_skipping_env: WorkflowEnvironment, make_database: DatabaseFactory
) -> None:
    # The real lifecycle of a CSPGRS case (the shipped policy, the chain DM -> secretary -> CS cell), read through
    # the real Temporal wiring; the review hop is taken through ActOnCase as the gateway sends it.
    url = make_database("sqlite")
    await upgrade_async(SERVICE_ROOT, url)
    engine = create_engine(url)
    records = SlaRecords(session_factory(engine))
    workflows = TemporalWorkflows(time_skipping_env.client)
    service = SlaService(records, PolicyRegistry.from_folder(POLICIES), HOLIDAYS, workflows, NoOpenCases())
    lifecycle = case_input(track="cspgrs")
    grievance_id = lifecycle.grievance_id
    dm = sla_pb2.Caller(account_id="acct-dm", kind="officer", position_ids=["pos-dm-pat"], district_code="PAT")
    forward = sla_pb2.ReviewReport(decision=sla_pb2.REVIEW_DECISION_FORWARD, note="Forwarded to the Food department.")

    async def clocks() -> sla_pb2.GetCaseClocksResponse:
        return await stub.GetCaseClocks(sla_pb2.GetCaseClocksRequest(grievance_id=grievance_id))

    try:
        async with (
            case_runner(time_skipping_env) as run_case,
            serving(*bindings(SlaServicer(service, CaseActs(workflows, records)))) as channel,
        ):
            stub = sla_pb2_grpc.SlaServiceStub(channel)
            case = await run_case(lifecycle)
            at_the_cell = await clocks()
            await assigned_by_the_cell(case)
            await case.handle.execute_update(UPDATE_SUBMIT_REPORT, c4_report("preliminary"))
            await case.settle()
            before_the_final_report = await clocks()
            await case.handle.execute_update(UPDATE_SUBMIT_REPORT, c4_report("final"))
            await case.settle()
            with_the_dm = await clocks()
            await stub.ActOnCase(act_request(grievance_id, "review-forward-01", dm, review=forward))
            await case.settle()
            with_the_secretary = await clocks()
    finally:
        await engine.dispose()

    assert at_the_cell.clocks
    assert at_the_cell.reviewer_position_id == ""
    assert before_the_final_report.reviewer_position_id == ""
    assert with_the_dm.reviewer_position_id == "pos-dm-pat"
    assert "final_review" in [c.name for c in with_the_dm.clocks]
    assert with_the_secretary.reviewer_position_id == "pos-sec-food"


async def test_migrate_case_policy_runs_the_update_and_names_bad_fields(surface: Surface) -> None:
    started = NOW - timedelta(days=4)
    surface.workflows.clocks["g-1"] = [
        ClockView(
            "first_show_cause", "S9", Localized("Show-cause at day 6", "छठे दिन कारण पृच्छा"), started,
            started + timedelta(days=6), paused=False, remaining_seconds=None, running=True, fired=False,
        ),
    ]  # fmt: skip
    reason = "Government order 12/2026 shortens S9 to 6 days"
    operator = common_pb2.Actor(account_id="it.admin", role="state_admin")

    answer = await surface.stub.MigrateCasePolicy(
        sla_pb2.MigrateCasePolicyRequest(grievance_id="g-1", version=2, reason=reason, actor=operator)
    )
    bad = await rpc_error(surface.stub.MigrateCasePolicy(sla_pb2.MigrateCasePolicyRequest(reason="short")))
    surface.workflows.reject_with = ("the case already runs sahyog@v2", "")
    refused = await rpc_error(
        surface.stub.MigrateCasePolicy(
            sla_pb2.MigrateCasePolicyRequest(grievance_id="g-1", version=2, reason=reason, actor=operator)
        )
    )

    assert surface.workflows.updates == [
        ("g-1", UPDATE_MIGRATE_POLICY, MigratePolicyInput(version=2, by_account_id="it.admin", reason=reason), "")
    ]
    [clock] = answer.clocks
    assert clock.deadline.ToDatetime(tzinfo=UTC) == started + timedelta(days=6)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields(bad)) == {"grievance_id", "actor.account_id", "version", "reason"}
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "sahyog@v2" in (refused.details() or "")


# --- S7 charge handover --------------------------------------------------------------------------------------------


async def test_S7_charge_handover_rebases_every_open_case_of_the_position(surface: Surface) -> None:
    surface.intake.cases = [
        ("g-registered", "pos-bdo-phw", intake_pb2.STATUS_REGISTERED),
        ("g-progress", "pos-bdo-phw", intake_pb2.STATUS_IN_PROGRESS),
        ("g-waiting", "pos-bdo-phw", intake_pb2.STATUS_AWAITING_CITIZEN),
        ("g-escalated", "pos-bdo-phw", intake_pb2.STATUS_ESCALATED),
        ("g-just-closed", "pos-bdo-phw", intake_pb2.STATUS_ASSIGNED),
        ("g-disposed", "pos-bdo-phw", intake_pb2.STATUS_DISPOSED),
        ("g-other-post", "pos-co-phw", intake_pb2.STATUS_IN_PROGRESS),
    ]
    # Intake still lists it as open, but its lifecycle ended meanwhile: nothing to re-base.
    surface.workflows.closed.add("g-just-closed")
    charge_from = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)

    response = await surface.stub.ApplyChargeHandover(
        sla_pb2.ApplyChargeHandoverRequest(
            position_id="pos-bdo-phw", account_id="acct-bdo-2", charge_from=to_timestamp(charge_from)
        )
    )

    charge = ChargeTakenInput(position_id="pos-bdo-phw", account_id="acct-bdo-2", charge_from=charge_from)
    assert response.cases_rebased == 4
    assert sorted(surface.workflows.updates, key=lambda u: u[0]) == [
        (gid, UPDATE_CHARGE_TAKEN, charge, "") for gid in ["g-escalated", "g-progress", "g-registered", "g-waiting"]
    ]
    # Three pages of two: the handover followed next_page_token, asking only for this position's open cases.
    assert [r.page.page_token for r in surface.intake.requests] == ["", "2", "4"]
    assert all(list(r.position_ids) == ["pos-bdo-phw"] for r in surface.intake.requests)
    assert set(surface.intake.requests[0].statuses) == set(OPEN_STATUSES)
    assert intake_pb2.STATUS_DISPOSED not in surface.intake.requests[0].statuses


async def test_S7_charge_handover_names_missing_fields(surface: Surface) -> None:
    error = await rpc_error(surface.stub.ApplyChargeHandover(sla_pb2.ApplyChargeHandoverRequest()))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fields(error) == ["position_id", "account_id", "charge_from"]
    assert surface.intake.requests == []


# --- the Temporal wiring, on the real time-skipping server ---------------------------------------------------------

RECORD_REPLY_ACTIVITY = "surface_test_record_reply"


class NoOpenCases:
    async def open_case_ids(self, position_id: str) -> list[str]:
        return []


@workflow.defn(name=LIFECYCLE_WORKFLOW)
class MiniLifecycle:
    """Just enough of the lifecycle to prove the wiring: the two show-cause Updates (with validators that refuse
    like the real ones), the clocks Query, and a signal that ends the case."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.replied: set[str] = set()
        self.ended = False

    @workflow.run
    async def run(self, grievance_id: str) -> None:
        await workflow.wait_condition(lambda: self.ended and workflow.all_handlers_finished())

    @workflow.signal
    def end(self) -> None:
        self.ended = True

    @workflow.update(name=UPDATE_REPLY_SHOW_CAUSE)
    async def reply_show_cause(self, request: ReplyShowCauseInput) -> None:
        self.received.append(type(request).__name__)
        await workflow.execute_activity(
            RECORD_REPLY_ACTIVITY,
            ReplyRecord(request.notice_id, request.reply, workflow.now()),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        self.replied.add(request.notice_id)

    @reply_show_cause.validator
    def validate_reply_show_cause(self, request: ReplyShowCauseInput) -> None:
        if request.notice_id in self.replied:
            raise ValueError("the notice is already answered / कारण पृच्छा का उत्तर दिया जा चुका है")

    @workflow.update(name=UPDATE_RECORD_RECOMMENDATION)
    async def record_recommendation(self, request: RecommendationInput) -> None:
        self.received.append(type(request).__name__)

    @record_recommendation.validator
    def validate_recommendation(self, request: RecommendationInput) -> None:
        if request.notice_id not in self.replied:
            raise ValueError("the officer has not replied yet / पदाधिकारी का उत्तर अपेक्षित")

    @workflow.query(name=QUERY_CLOCKS)
    def clocks(self) -> list[ClockView]:
        return [
            ClockView(
                clock_id="show_cause_1",
                rule="S9",
                name=Localized("Show-cause at day 10", "दसवें दिन कारण पृच्छा"),
                started_at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
                deadline=datetime(2026, 11, 30, 10, 30, tzinfo=UTC),
                paused=False,
                remaining_seconds=None,
                running=not self.replied,
                fired=bool(self.replied),
            )
        ]

    @workflow.query
    def received_types(self) -> list[str]:
        return self.received

    @workflow.query
    def state(self) -> LifecycleState:
        return LifecycleState(status=CaseStatus.IN_PROGRESS, position_id="pos-bdo-phw", disposed=False)


async def test_temporal_wiring_update_by_name_with_a_dataclass_and_clocks_on_a_closed_case(
    time_skipping_env: WorkflowEnvironment, make_database: DatabaseFactory
) -> None:
    url = make_database("sqlite")
    await upgrade_async(SERVICE_ROOT, url)
    engine = create_engine(url)
    records = SlaRecords(session_factory(engine))
    client = time_skipping_env.client

    @activity.defn(name=RECORD_REPLY_ACTIVITY)
    async def record_reply(request: ReplyRecord) -> ShowCauseNotice:
        return await records.record_reply(request.notice_id, request.reply, request.replied_at)

    grievance_id = str(uuid.uuid4())
    notice = await issue(records, grievance_id)

    def recommend(key: str) -> sla_pb2.ActOnCaseRequest:
        recommendation = sla_pb2.Recommendation(notice_id=notice.id, recommendation=RECOMMENDATION)
        return act_request(grievance_id, key, DM_CALLER, recommendation=recommendation)

    task_queue = str(uuid.uuid4())
    temporal_workflows = TemporalWorkflows(client)
    service = SlaService(
        records,
        PolicyRegistry.from_folder(POLICIES),
        HOLIDAYS,
        temporal_workflows,
        NoOpenCases(),
    )
    try:
        async with (
            Worker(
                client,
                task_queue=task_queue,
                workflows=[MiniLifecycle],
                activities=[record_reply],
                # A test double defined in a test module; the sandbox is not what this test is about.
                workflow_runner=UnsandboxedWorkflowRunner(),
            ),
            serving(*bindings(SlaServicer(service, CaseActs(temporal_workflows, records)))) as channel,
        ):
            stub = sla_pb2_grpc.SlaServiceStub(channel)
            handle = await client.start_workflow(
                LIFECYCLE_WORKFLOW, grievance_id, id=lifecycle_workflow_id(grievance_id), task_queue=task_queue
            )
            early = await rpc_error(stub.ActOnCase(recommend("recommend-early-01")))
            replied = (
                await stub.ActOnCase(
                    act_request(
                        grievance_id,
                        "reply-00000001",
                        OFFICER_CALLER,
                        show_cause_reply=sla_pb2.ShowCauseReply(notice_id=notice.id, reply=REPLY),
                    )
                )
            ).notice
            recommended = (await stub.ActOnCase(recommend("recommend-0000001"))).notice
            received = await handle.query("received_types", result_type=list[str])
            await handle.signal(MiniLifecycle.end)
            await handle.result()
            clocks_when_closed = await stub.GetCaseClocks(sla_pb2.GetCaseClocksRequest(grievance_id=grievance_id))
            after_close = await rpc_error(stub.ActOnCase(recommend("recommend-late-001")))
            never_started = await rpc_error(stub.GetCaseClocks(sla_pb2.GetCaseClocksRequest(grievance_id="no-case")))
    finally:
        await engine.dispose()

    assert early.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert early.details() == "the officer has not replied yet / पदाधिकारी का उत्तर अपेक्षित"
    # The Update reached the workflow by name and arrived as the dataclass, through the pydantic converter.
    assert received == ["ReplyShowCauseInput", "RecommendationInput"]
    assert (replied.reply, replied.HasField("replied_at")) == (REPLY, True)
    # The mini lifecycle records only the reply; the recommendation's Update ran and the notice came back fresh.
    assert recommended.reply == REPLY
    assert [(c.name, c.fired) for c in clocks_when_closed.clocks] == [("show_cause_1", True)]
    assert clocks_when_closed.clocks[0].deadline.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    assert after_close.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "the case is in_progress; its lifecycle has ended" in (after_close.details() or "")
    assert never_started.code() == grpc.StatusCode.NOT_FOUND


def test_a_broken_policy_file_stops_the_service_naming_the_file_and_field(tmp_path: Path) -> None:
    for source in POLICIES.glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "sahyog.v1.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("version: 1", "version: 0", 1), encoding="utf-8")

    with pytest.raises(SystemExit) as stopped:
        load_policies(SlaSettings(profile=Profile.TEST, policy_folder=tmp_path))

    assert "sahyog.v1.yaml: version:" in str(stopped.value.code)
