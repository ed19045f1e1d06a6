"""The case's current deadline: set and cleared by transitions, the officer's work list nearest deadline first, the
dashboard's overdue count. On SQLite and PostgreSQL (the `intake` fixture runs on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import pytest_asyncio
from sqlalchemy import select

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import InvalidArgument, field_violations
from nivaran_common.grpc_server import build_server
from nivaran_common.timeutil import as_utc, to_timestamp, utcnow
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.domain import GrievanceOrder, Status
from nivaran_intake.main import binding
from nivaran_intake.projection import Transition
from nivaran_intake.service import SearchFilter
from nivaran_intake.tables import GrievanceRow

from .conftest import IntakeHarness
from .test_service import filing

BASE = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)


def move(grievance_id: str, key: str, **changes: object) -> Transition:
    """A transition that only changes the projection's deadline (or status)."""
    fields: dict[str, object] = {
        "grievance_id": grievance_id,
        "idempotency_key": key,
        "event_type": "clock_moved",
        "summary_en": "x",
        "summary_hi": "x",
        "actor": {},
        "payload": {},
        "occurred_at": None,
    }
    return Transition(**{**fields, **changes})  # type: ignore[arg-type]


def work_list_order(rows: Sequence[GrievanceRow]) -> list[str]:
    """The contract's order, computed here: nearest deadline first, the deadline-less last, ties newest first."""
    newest = sorted(rows, key=lambda r: (as_utc(r.filed_at), r.id), reverse=True)
    ordered = sorted(newest, key=lambda r: (r.current_deadline is None, as_utc(r.current_deadline or BASE)))
    return [r.id for r in ordered]


async def test_transition_sets_moves_and_clears_the_deadline_with_its_clock(intake: IntakeHarness) -> None:
    case = (await intake.service.file(filing())).grievance
    due = BASE + timedelta(days=10)
    first = move(case.id, "k1", current_deadline=due, deadline_clock="first_show_cause")

    await intake.service.record_transition(first)
    # A repeated key changes nothing, even after the deadline moved on.
    await intake.service.record_transition(move(case.id, "k2", current_deadline=due + timedelta(days=11),
                                                deadline_clock="second_show_cause"))  # fmt: skip
    _, duplicate = await intake.service.record_transition(first)
    row = await intake.service.get(grievance_id=case.id)
    assert duplicate
    assert (as_utc(row.current_deadline or BASE), row.deadline_clock) == (due + timedelta(days=11), "second_show_cause")

    # A transition without a deadline leaves both alone; clear_deadline wins over a deadline sent with it.
    await intake.service.record_transition(move(case.id, "k3", new_status=Status.IN_PROGRESS))
    assert (await intake.service.get(grievance_id=case.id)).deadline_clock == "second_show_cause"
    await intake.service.record_transition(move(case.id, "k4", clear_deadline=True, current_deadline=due))
    row = await intake.service.get(grievance_id=case.id)
    assert (row.current_deadline, row.deadline_clock) == (None, "")


async def test_deadline_order_pages_nearest_first_then_the_deadline_less_newest_first(intake: IntakeHarness) -> None:
    deadlines = [3, 1, None, 1, None, 2, 5]
    ids = []
    for index, days in enumerate(deadlines):
        case = (await intake.service.file(filing())).grievance
        ids.append(case.id)
        if days is not None:
            due = BASE + timedelta(days=days)
            await intake.service.record_transition(move(case.id, f"d{index}", current_deadline=due,
                                                        deadline_clock="forward"))  # fmt: skip

    pages: list[list[str]] = []
    token = ""
    while True:
        page, token = await intake.service.search(
            SearchFilter(district_code="PAT", page_size=2, page_token=token, order=GrievanceOrder.DEADLINE)
        )
        pages.append([r.id for r in page])
        if not token:
            break
    everything, _ = await intake.service.search(SearchFilter(district_code="PAT", page_size=50))

    walked = [i for page in pages for i in page]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert walked == work_list_order(everything)
    assert sorted(walked) == sorted(ids)
    with_deadline = [i for i, days in zip(ids, deadlines, strict=True) if days is not None]
    assert set(walked[:5]) == set(with_deadline)
    # The default stays newest first.
    assert [r.id for r in everything] == [
        r.id for r in sorted(everything, key=lambda r: (as_utc(r.filed_at), r.id), reverse=True)
    ]


async def test_page_tokens_belong_to_their_order(intake: IntakeHarness) -> None:
    for _ in range(3):
        await intake.service.file(filing())
    _, newest_token = await intake.service.search(SearchFilter(page_size=1))
    _, deadline_token = await intake.service.search(SearchFilter(page_size=1, order=GrievanceOrder.DEADLINE))
    assert newest_token
    assert deadline_token
    with pytest.raises(InvalidArgument):
        await intake.service.search(SearchFilter(page_size=1, page_token=newest_token, order=GrievanceOrder.DEADLINE))
    with pytest.raises(InvalidArgument):
        await intake.service.search(SearchFilter(page_size=1, page_token=deadline_token))


async def test_dashboard_overdue_counts_open_cases_past_their_deadline(intake: IntakeHarness) -> None:
    past, future = utcnow() - timedelta(hours=1), utcnow() + timedelta(days=3)
    overdue = (await intake.service.file(filing())).grievance
    on_time = (await intake.service.file(filing())).grievance
    disposed = (await intake.service.file(filing())).grievance
    await intake.service.file(filing())  # no deadline at all
    await intake.service.record_transition(move(overdue.id, "o", current_deadline=past, deadline_clock="forward"))
    await intake.service.record_transition(move(on_time.id, "t", current_deadline=future, deadline_clock="forward"))
    await intake.service.record_transition(move(disposed.id, "d", current_deadline=past, deadline_clock="forward"))
    await intake.service.record_transition(move(disposed.id, "d2", new_status=Status.DISPOSED))

    board = await intake.service.dashboard("PAT", "")

    assert (board.total, board.pending, board.disposed, board.overdue) == (4, 3, 1, 1)


async def test_H3_a_case_that_came_back_after_it_ended_counts_as_closed_not_fixed(intake: IntakeHarness) -> None:
    fixed = (await intake.service.file(filing())).grievance
    back = (await intake.service.file(filing())).grievance
    still_back = (await intake.service.file(filing())).grievance
    await intake.service.record_transition(move(fixed.id, "f1", event_type="disposed", new_status=Status.DISPOSED))
    for case, name in ((back, "b"), (still_back, "s")):
        await intake.service.record_transition(
            move(case.id, f"{name}1", event_type="disposed", new_status=Status.DISPOSED)
        )
        await intake.service.record_transition(
            move(case.id, f"{name}2", event_type="unresolved", new_status=Status.UNRESOLVED)
        )
    await intake.service.record_transition(move(back.id, "b3", event_type="disposed", new_status=Status.DISPOSED))
    await intake.service.record_transition(move(back.id, "b4", event_type="reopened", new_status=Status.REOPENED))
    await intake.service.record_transition(move(back.id, "b5", event_type="disposed", new_status=Status.DISPOSED))
    # A retried record of a return is not a second return.
    await intake.service.record_transition(move(back.id, "b4", event_type="reopened", new_status=Status.REOPENED))

    board = await intake.service.dashboard("PAT", "")

    # Ended and stayed ended: 1; ended after coming back: 1 ("closed — not fixed"); back and open now: pending.
    assert (board.total, board.pending, board.disposed, board.closed_not_fixed) == (3, 1, 1, 1)
    async with intake.service.sessions() as session:
        rows = {r.id: r.returns for r in (await session.execute(select(GrievanceRow))).scalars()}
    assert (rows[fixed.id], rows[back.id], rows[still_back.id]) == (0, 2, 1)


async def test_M4_the_open_watch_item_is_kept_and_listed_until_its_report(intake: IntakeHarness) -> None:
    watched = (await intake.service.file(filing())).grievance
    other = (await intake.service.file(filing())).grievance
    item = "Encroachment case 14/2026 registered; removal pending"
    await intake.service.record_transition(move(watched.id, "w1", event_type="disposed", new_status=Status.DISPOSED))
    await intake.service.record_transition(move(other.id, "o1", event_type="disposed", new_status=Status.DISPOSED))
    opened_at = BASE + timedelta(days=2)
    await intake.service.record_transition(
        move(watched.id, "w2", event_type="watch_opened", payload={"item": item}, occurred_at=opened_at)
    )

    listed, _ = await intake.service.search(SearchFilter(watch_open_only=True, district_code="PAT"))
    assert [(r.id, r.watch_item, as_utc(r.watch_opened_at)) for r in listed] == [(watched.id, item, opened_at)]

    await intake.service.record_transition(
        move(watched.id, "w3", event_type="watch_closed", payload={"item": item, "report": "removed"})
    )
    listed, _ = await intake.service.search(SearchFilter(watch_open_only=True, district_code="PAT"))
    assert listed == []
    row = await intake.service.get(grievance_id=watched.id)
    assert (row.watch_item, row.watch_opened_at, row.status) == ("", None, "disposed")


# --- over gRPC ----------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def stub(
    intake: IntakeHarness, attachments: AttachmentService
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


async def test_record_transition_and_list_carry_the_deadline_clock_over_grpc(
    intake: IntakeHarness, stub: intake_pb2_grpc.IntakeServiceStub
) -> None:
    later = (await intake.service.file(filing())).grievance
    sooner = (await intake.service.file(replace(filing(), subject="दूसरा"))).grievance
    none = (await intake.service.file(filing())).grievance
    for case, days in ((later, 9), (sooner, 2)):
        await stub.RecordTransition(
            intake_pb2.RecordTransitionRequest(
                grievance_id=case.id,
                idempotency_key=f"grpc-{case.id}",
                event_type="assigned",
                summary=common_pb2.LocalizedText(en="x", hi="x"),
                current_deadline=to_timestamp(BASE + timedelta(days=days)),
                deadline_clock="forward_within_3_days",
            )
        )

    listed = await stub.ListGrievances(
        intake_pb2.ListGrievancesRequest(district_code="PAT", order=intake_pb2.GRIEVANCE_ORDER_DEADLINE)
    )

    assert [g.id for g in listed.grievances] == [sooner.id, later.id, none.id]
    first = listed.grievances[0]
    assert first.deadline_clock == "forward_within_3_days"
    assert first.current_deadline.ToDatetime(tzinfo=UTC) == BASE + timedelta(days=2)
    assert not listed.grievances[2].HasField("current_deadline")
    assert listed.grievances[2].deadline_clock == ""

    await stub.RecordTransition(
        intake_pb2.RecordTransitionRequest(
            grievance_id=sooner.id, idempotency_key="grpc-clear", event_type="disposed", clear_deadline=True
        )
    )
    got = await stub.GetGrievance(intake_pb2.GetGrievanceRequest(id=sooner.id))
    assert (got.HasField("current_deadline"), got.deadline_clock) == (False, "")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RecordTransition(
            intake_pb2.RecordTransitionRequest(
                grievance_id=later.id, idempotency_key="grpc-bad", event_type="x", deadline_clock="no spaces please"
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["deadline_clock"]
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.ListGrievances(intake_pb2.ListGrievancesRequest(order=99))  # type: ignore[arg-type]
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
