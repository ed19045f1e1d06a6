"""RecordTransitions: a case's few events at one moment written in one call and one transaction (issue 9: the
lifecycle's start, the assignment and the acknowledgement with the first deadline, is one write). On SQLite and
PostgreSQL (the `intake` fixture runs on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import pytest_asyncio

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import InvalidArgument, NotFound, field_violations
from nivaran_common.grpc_server import build_server
from nivaran_common.timeutil import as_utc, to_timestamp
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.domain import Status
from nivaran_intake.main import binding
from nivaran_intake.projection import Transition

from .conftest import IntakeHarness
from .test_service import filing

DUE = datetime(2026, 3, 5, 4, 30, tzinfo=UTC)
ASSIGNMENT = {
    "department_code": "FOOD",
    "office_id": "OFF-FOOD-PAT",
    "office_name_en": "District Supply Office, Patna",
    "office_name_hi": "जिला आपूर्ति कार्यालय, पटना",
    "position_id": "POS-DSO-PAT",
    "position_title_en": "District Supply Officer",
    "position_title_hi": "जिला आपूर्ति पदाधिकारी",
    "assigned_at": DUE - timedelta(days=3),
}


def event(grievance_id: str, key: str, event_type: str, **changes: object) -> Transition:
    fields: dict[str, object] = {
        "grievance_id": grievance_id,
        "idempotency_key": key,
        "event_type": event_type,
        "summary_en": event_type,
        "summary_hi": event_type,
        "actor": {},
        "payload": {},
        "occurred_at": None,
        "current_deadline": DUE,
        "deadline_clock": "l1_forward",
    }
    return Transition(**{**fields, **changes})  # type: ignore[arg-type]


def start_of(grievance_id: str) -> list[Transition]:
    """What the lifecycle writes at a case's start (S8, B5)."""
    return [
        event(grievance_id, f"{grievance_id}:assigned", "assigned", new_status=Status.ASSIGNED, assignment=ASSIGNMENT),
        event(
            grievance_id, f"{grievance_id}:acknowledgement_sent", "acknowledgement_sent", payload={"notice_id": "n1"}
        ),
    ]


async def test_S8_B5_the_start_is_written_in_one_call_in_order_with_the_first_deadline(intake: IntakeHarness) -> None:
    case = (await intake.service.file(filing())).grievance
    before = [e.event_type for e in await intake.service.timeline(case.id)]

    recorded = await intake.service.record_transitions(start_of(case.id))

    assert [(e.event_type, duplicate) for e, duplicate in recorded] == [
        ("assigned", False),
        ("acknowledgement_sent", False),
    ]
    timeline = await intake.service.timeline(case.id)
    assert [e.event_type for e in timeline] == [*before, "assigned", "acknowledgement_sent"]
    assert [e.sequence for e in timeline] == list(range(1, len(timeline) + 1))
    row = await intake.service.get(grievance_id=case.id)
    assert row.status == Status.ASSIGNED.value
    assert row.position_id == "POS-DSO-PAT"
    assert (as_utc(row.current_deadline), row.deadline_clock) == (DUE, "l1_forward")


async def test_a_retried_batch_writes_nothing_twice_and_a_partly_new_one_writes_only_the_new(
    intake: IntakeHarness,
) -> None:
    case = (await intake.service.file(filing())).grievance
    first = await intake.service.record_transitions(start_of(case.id))
    count = len(await intake.service.timeline(case.id))

    again = await intake.service.record_transitions(start_of(case.id))
    assert [(e.id, duplicate) for e, duplicate in again] == [(e.id, True) for e, _ in first]
    assert len(await intake.service.timeline(case.id)) == count

    later = event(case.id, f"{case.id}:deadline_set", "deadline_set", current_deadline=DUE + timedelta(days=7))
    mixed = await intake.service.record_transitions([start_of(case.id)[1], later])
    assert [duplicate for _, duplicate in mixed] == [True, False]
    timeline = await intake.service.timeline(case.id)
    assert [e.event_type for e in timeline][-2:] == ["acknowledgement_sent", "deadline_set"]
    assert as_utc((await intake.service.get(grievance_id=case.id)).current_deadline) == DUE + timedelta(days=7)


async def test_a_bad_batch_writes_nothing_and_names_each_bad_transition(intake: IntakeHarness) -> None:
    case = (await intake.service.file(filing())).grievance
    other = (await intake.service.file(filing())).grievance
    count = len(await intake.service.timeline(case.id))
    good, second = start_of(case.id)

    with pytest.raises(InvalidArgument) as bad:
        await intake.service.record_transitions(
            [good, replace(second, event_type=""), replace(second, idempotency_key=good.idempotency_key)]
        )
    assert [v.field for v in bad.value.violations] == ["transitions[1].event_type", "transitions[2].idempotency_key"]
    with pytest.raises(InvalidArgument) as mixed_cases:
        await intake.service.record_transitions([good, replace(second, grievance_id=other.id)])
    assert [v.field for v in mixed_cases.value.violations] == ["transitions[1].grievance_id"]
    with pytest.raises(InvalidArgument) as empty:
        await intake.service.record_transitions([])
    assert [v.field for v in empty.value.violations] == ["transitions"]
    with pytest.raises(NotFound):
        await intake.service.record_transitions(start_of("no-such-case"))

    assert len(await intake.service.timeline(case.id)) == count
    assert (await intake.service.get(grievance_id=case.id)).status == Status.REGISTERED.value


@pytest_asyncio.fixture
async def stub(
    intake: IntakeHarness, attachments: AttachmentService
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


def request(grievance_id: str, key: str, event_type: str, **fields: object) -> intake_pb2.RecordTransitionRequest:
    return intake_pb2.RecordTransitionRequest(
        grievance_id=grievance_id,
        idempotency_key=key,
        event_type=event_type,
        summary=common_pb2.LocalizedText(en=event_type, hi=event_type),
        **fields,  # type: ignore[arg-type]
    )


async def test_record_transitions_over_grpc_answers_each_in_order_and_names_bad_fields(
    intake: IntakeHarness, stub: intake_pb2_grpc.IntakeServiceStub
) -> None:
    case = (await intake.service.file(filing())).grievance
    batch = intake_pb2.RecordTransitionsRequest(
        transitions=[
            request(case.id, "g-assigned", "assigned", new_status=intake_pb2.STATUS_ASSIGNED),
            request(
                case.id,
                "g-ack",
                "acknowledgement_sent",
                current_deadline=to_timestamp(DUE),
                deadline_clock="l1_forward",
            ),
        ]
    )

    answer = await stub.RecordTransitions(batch)
    again = await stub.RecordTransitions(batch)

    assert [(r.event.event_type, r.duplicate) for r in answer.results] == [
        ("assigned", False),
        ("acknowledgement_sent", False),
    ]
    assert [(r.event.id, r.duplicate) for r in again.results] == [(r.event.id, True) for r in answer.results]
    got = await stub.GetGrievance(intake_pb2.GetGrievanceRequest(id=case.id))
    assert got.status == intake_pb2.STATUS_ASSIGNED
    assert (got.current_deadline.ToDatetime(tzinfo=UTC), got.deadline_clock) == (DUE, "l1_forward")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RecordTransitions(
            intake_pb2.RecordTransitionsRequest(
                transitions=[request(case.id, "g-x", "x"), request(case.id, "g-y", "y", deadline_clock="no spaces")]
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["transitions[1].deadline_clock"]
