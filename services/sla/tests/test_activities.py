"""LifecycleActivities against real in-process gRPC servers standing in for intake and notify."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
import pytest
import pytest_asyncio
from google.protobuf.json_format import MessageToDict
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_sla.activities import LifecycleActivities
from nivaran_sla.domain import (
    Actor,
    Assignment,
    CaseStatus,
    Localized,
    NoticeChannel,
    NoticeInput,
    Recipient,
    RecipientKind,
    TransitionInput,
)

ASSIGNED_AT = datetime(2026, 11, 20, 10, 31, tzinfo=UTC)
OFFICE = Localized(en="Block Office Phulwari", hi="प्रखंड कार्यालय फुलवारी")
POSITION = Localized(en="Block Development Officer", hi="प्रखंड विकास पदाधिकारी")


@dataclass
class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Records RecordTransition requests; answers with `failure` when one is set."""

    requests: list[intake_pb2.RecordTransitionRequest] = field(default_factory=list)
    failure: DomainError | None = None

    async def RecordTransition(  # noqa: N802
        self, request: intake_pb2.RecordTransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.RecordTransitionResponse:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        return intake_pb2.RecordTransitionResponse(
            event=intake_pb2.TimelineEvent(id="event-7", grievance_id=request.grievance_id), duplicate=False
        )


@dataclass
class FakeNotify(notify_pb2_grpc.NotifyServiceServicer):
    """Records Send requests and answers with one delivery per requested channel."""

    requests: list[notify_pb2.SendRequest] = field(default_factory=list)
    failure: DomainError | None = None

    async def Send(  # noqa: N802
        self, request: notify_pb2.SendRequest, context: grpc.aio.ServicerContext
    ) -> notify_pb2.SendResponse:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        deliveries = [notify_pb2.Delivery(id=f"d-{c}", channel=c) for c in request.channels]
        return notify_pb2.SendResponse(
            notice=notify_pb2.Notice(id="notice-1", dedupe_key=request.dedupe_key, deliveries=deliveries),
            duplicate=True,
        )


@dataclass
class Services:
    intake: FakeIntake
    notify: FakeNotify
    activities: LifecycleActivities


@pytest_asyncio.fixture
async def services() -> AsyncIterator[Services]:
    intake, notify = FakeIntake(), FakeNotify()
    server, port, _ = await build_server(
        [
            ServiceBinding(
                intake_pb2_grpc.add_IntakeServiceServicer_to_server,
                intake,
                intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,
            ),
            ServiceBinding(
                notify_pb2_grpc.add_NotifyServiceServicer_to_server,
                notify,
                notify_pb2.DESCRIPTOR.services_by_name["NotifyService"].full_name,
            ),
        ],
        "127.0.0.1",
        0,
    )
    channel = open_channel(f"127.0.0.1:{port}", None)
    try:
        yield Services(
            intake,
            notify,
            LifecycleActivities(
                intake_pb2_grpc.IntakeServiceStub(channel), notify_pb2_grpc.NotifyServiceStub(channel), 5.0
            ),
        )
    finally:
        await channel.close()
        await server.stop(None)


def assigned_transition() -> TransitionInput:
    return TransitionInput(
        grievance_id="g-1",
        idempotency_key="grievance-g-1:assigned",
        event_type="assigned",
        summary=Localized(
            en="Assigned to Block Development Officer, Block Office Phulwari",
            hi="प्रखंड विकास पदाधिकारी, प्रखंड कार्यालय फुलवारी को सौंपा गया",
        ),
        occurred_at=ASSIGNED_AT,
        new_status=CaseStatus.ASSIGNED,
        new_assignment=Assignment(
            department_code="FOOD",
            office_id="office-phw",
            office_name=OFFICE,
            position_id="pos-bdo-phw",
            position_title=POSITION,
            assigned_at=ASSIGNED_AT,
        ),
        payload={"notice_id": "n-1", "channels": ["in_app", "email"]},
    )


def acknowledgement() -> NoticeInput:
    return NoticeInput(
        dedupe_key="g-1:acknowledgement",
        template="acknowledgement",
        grievance_id="g-1",
        registration_number="BR-PAT-2026-000123",
        recipient=Recipient(
            kind=RecipientKind.CITIZEN,
            name="Asha Devi",
            email="asha@example.org",
            phone="+919876543210",
            account_id="acct-citizen-1",
            preferred_language="hi",
        ),
        channels=[NoticeChannel.IN_APP, NoticeChannel.EMAIL],
        params={"registration_number": "BR-PAT-2026-000123", "office_name_hi": OFFICE.hi},
    )


async def test_record_transition_sends_the_event_and_the_projection_change(services: Services) -> None:
    result = await ActivityEnvironment().run(services.activities.record_transition, assigned_transition())

    [request] = services.intake.requests
    assert request.grievance_id == "g-1"
    assert request.idempotency_key == "grievance-g-1:assigned"
    assert request.event_type == "assigned"
    assert request.summary.en == "Assigned to Block Development Officer, Block Office Phulwari"
    assert request.summary.hi == "प्रखंड विकास पदाधिकारी, प्रखंड कार्यालय फुलवारी को सौंपा गया"
    assert request.actor.role == "system"
    assert request.occurred_at.ToDatetime(tzinfo=UTC) == ASSIGNED_AT
    assert request.new_status == intake_pb2.STATUS_ASSIGNED
    assert request.new_assignment.department_code == "FOOD"
    assert request.new_assignment.office_id == "office-phw"
    assert request.new_assignment.office_name.hi == OFFICE.hi
    assert request.new_assignment.position_id == "pos-bdo-phw"
    assert request.new_assignment.position_title.en == POSITION.en
    assert request.new_assignment.assigned_at.ToDatetime(tzinfo=UTC) == ASSIGNED_AT
    assert MessageToDict(request.payload) == {"notice_id": "n-1", "channels": ["in_app", "email"]}
    assert result.event_id == "event-7"
    assert result.duplicate is False


async def test_record_transition_leaves_status_and_assignment_unset_when_unchanged(services: Services) -> None:
    transition = TransitionInput(
        grievance_id="g-1",
        idempotency_key="grievance-g-1:disposed",
        event_type="disposed",
        summary=Localized(en="Disposed: done", hi="निपटारा किया गया: done"),
        occurred_at=ASSIGNED_AT,
        actor=Actor(account_id="acct-bdo-1", role="officer", position_id="pos-bdo-phw"),
    )

    await ActivityEnvironment().run(services.activities.record_transition, transition)

    [request] = services.intake.requests
    assert request.new_status == intake_pb2.STATUS_UNSPECIFIED
    assert not request.HasField("new_assignment")
    assert not request.HasField("payload")
    assert (request.actor.account_id, request.actor.role, request.actor.position_id) == (
        "acct-bdo-1",
        "officer",
        "pos-bdo-phw",
    )


async def test_send_notice_sends_recipient_channels_and_params(services: Services) -> None:
    result = await ActivityEnvironment().run(services.activities.send_notice, acknowledgement())

    [request] = services.notify.requests
    assert request.dedupe_key == "g-1:acknowledgement"
    assert request.template == "acknowledgement"
    assert request.grievance_id == "g-1"
    assert request.registration_number == "BR-PAT-2026-000123"
    assert request.recipient == notify_pb2.Recipient(
        account_id="acct-citizen-1",
        name="Asha Devi",
        email="asha@example.org",
        phone="+919876543210",
        preferred_language="hi",
        kind="citizen",
    )
    assert list(request.channels) == [notify_pb2.DELIVERY_CHANNEL_IN_APP, notify_pb2.DELIVERY_CHANNEL_EMAIL]
    assert MessageToDict(request.params) == {"registration_number": "BR-PAT-2026-000123", "office_name_hi": OFFICE.hi}
    assert result.notice_id == "notice-1"
    assert result.channels == [NoticeChannel.IN_APP, NoticeChannel.EMAIL]
    assert result.duplicate is True


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (InvalidArgument.field("event_type", "unknown event"), "INVALID_ARGUMENT"),
        (FailedPrecondition("grievance is closed"), "FAILED_PRECONDITION"),
        (NotFound("no grievance g-1"), "NOT_FOUND"),
    ],
)
async def test_refusal_on_the_merits_becomes_a_non_retryable_application_error(
    services: Services, failure: DomainError, code: str
) -> None:
    services.intake.failure = failure

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(services.activities.record_transition, assigned_transition())

    assert raised.value.non_retryable is True
    assert raised.value.type == f"grpc.{code}"
    assert "IntakeService.RecordTransition" in raised.value.message
    assert len(services.intake.requests) == 1


async def test_invalid_argument_carries_the_field_violations(services: Services) -> None:
    services.notify.failure = InvalidArgument.field("recipient.email", "is not an email address")

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(services.activities.send_notice, acknowledgement())

    assert raised.value.non_retryable is True
    assert raised.value.type == "grpc.INVALID_ARGUMENT"
    assert raised.value.details == ([{"field": "recipient.email", "description": "is not an email address"}],)


async def test_unavailable_service_stays_retryable(services: Services) -> None:
    services.notify.failure = Unavailable("smtp relay down")

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(services.activities.send_notice, acknowledgement())

    assert raised.value.non_retryable is False
    assert raised.value.type == "grpc.UNAVAILABLE"
