"""SlaRecords on SQLite and PostgreSQL, with the schema built by the service's migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from nivaran_common.db import create_engine, session_factory
from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.migrations import upgrade_async
from nivaran_sla import SERVICE_ROOT
from nivaran_sla.domain import ShowCauseNotice
from nivaran_sla.records import SlaRecords
from nivaran_sla.tables import BreachRow, ShowCauseNoticeRow

ISSUED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GRIEVANCE = "0b5e3c1e-0000-4000-8000-000000000001"
REPLY = "The ration card was issued on 28-11-2026; the delay was caused by a server outage at the block."


@pytest_asyncio.fixture
async def records(database_url: str) -> AsyncIterator[SlaRecords]:
    await upgrade_async(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    try:
        yield SlaRecords(session_factory(engine))
    finally:
        await engine.dispose()


async def issue(
    records: SlaRecords,
    number: int = 1,
    *,
    grievance_id: str = GRIEVANCE,
    position_id: str = "pos-bdo-phw",
    issued_at: datetime = ISSUED_AT,
) -> ShowCauseNotice:
    return await records.issue_show_cause(
        idempotency_key=f"grievance-{grievance_id}:show_cause:{number}",
        grievance_id=grievance_id,
        registration_number="BR-PAT-2026-000123",
        position_id=position_id,
        officer_account_id="acct-bdo-1",
        number=number,
        issued_at=issued_at,
        due_by=issued_at + timedelta(days=3),
    )


async def count_rows(records: SlaRecords, table: type[ShowCauseNoticeRow] | type[BreachRow]) -> int:
    async with records._sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_S9_show_cause_is_issued_once_per_key_even_when_retried_concurrently(records: SlaRecords) -> None:
    concurrent = await asyncio.gather(*(issue(records) for _ in range(6)))
    # A later retry carries a later clock reading; it must still get the first notice back.
    retried = await issue(records, issued_at=ISSUED_AT + timedelta(minutes=5))

    assert {n.id for n in concurrent} == {retried.id}
    assert retried.issued_at == ISSUED_AT
    assert retried.due_by == ISSUED_AT + timedelta(days=3)
    assert retried.number == 1
    assert retried.officer_account_id == "acct-bdo-1"
    assert await count_rows(records, ShowCauseNoticeRow) == 1
    assert await records.get_show_cause(retried.id) == retried


async def test_S11_second_notice_is_its_own_record_and_a_third_is_refused(records: SlaRecords) -> None:
    first = await issue(records, 1)
    second = await issue(records, 2, issued_at=ISSUED_AT + timedelta(days=11))

    with pytest.raises(InvalidArgument) as caught:
        await issue(records, 3)

    assert first.id != second.id
    assert [n.number for n in await records.list_show_causes(grievance_id=GRIEVANCE)] == [1, 2]
    assert [v.field for v in caught.value.violations] == ["number"]


async def test_S18_reply_then_recommendation_each_recorded_once(records: SlaRecords) -> None:
    notice = await issue(records)
    replied_at = ISSUED_AT + timedelta(days=1)
    recommended_at = replied_at + timedelta(hours=20)

    with pytest.raises(FailedPrecondition, match="not replied"):
        await records.record_recommendation(notice.id, "Warn the officer in writing.", recommended_at)
    replied = await records.record_reply(notice.id, REPLY, replied_at)
    # The same reply again (a retried activity) is harmless and keeps the first time.
    again = await records.record_reply(notice.id, REPLY, replied_at + timedelta(minutes=1))
    with pytest.raises(FailedPrecondition, match="already answered"):
        await records.record_reply(notice.id, "A different reply, sent later.", replied_at)
    recommended = await records.record_recommendation(notice.id, "Warn the officer in writing.", recommended_at)
    repeated = await records.record_recommendation(notice.id, "Warn the officer in writing.", recommended_at)
    with pytest.raises(FailedPrecondition, match="already has a recommendation"):
        await records.record_recommendation(notice.id, "Start disciplinary proceedings.", recommended_at)

    assert (replied.reply, replied.replied_at) == (REPLY, replied_at)
    assert again == replied
    assert (recommended.recommendation, recommended.recommended_at) == ("Warn the officer in writing.", recommended_at)
    assert recommended.reply == REPLY
    assert repeated == recommended
    assert await records.get_show_cause(notice.id) == recommended


async def test_S18_two_racing_different_replies_leave_exactly_one(records: SlaRecords) -> None:
    notice = await issue(records)

    outcomes = await asyncio.gather(
        records.record_reply(notice.id, REPLY, ISSUED_AT + timedelta(hours=1)),
        records.record_reply(notice.id, "Another reply from a second browser tab.", ISSUED_AT + timedelta(hours=1)),
        return_exceptions=True,
    )

    won = [o for o in outcomes if isinstance(o, ShowCauseNotice)]
    lost = [o for o in outcomes if isinstance(o, FailedPrecondition)]
    assert (len(won), len(lost)) == (1, 1)
    assert (await records.get_show_cause(notice.id)).reply == won[0].reply


async def test_unknown_notice_is_not_found(records: SlaRecords) -> None:
    with pytest.raises(NotFound):
        await records.get_show_cause("no-such-notice")
    with pytest.raises(NotFound):
        await records.record_reply("no-such-notice", REPLY, ISSUED_AT)
    with pytest.raises(NotFound):
        await records.record_recommendation("no-such-notice", "Warn the officer in writing.", ISSUED_AT)


async def test_show_causes_filter_by_case_position_and_unanswered(records: SlaRecords) -> None:
    other_case = "0b5e3c1e-0000-4000-8000-000000000002"
    answered = await issue(records, 1)
    pending = await issue(records, 2, issued_at=ISSUED_AT + timedelta(days=11))
    elsewhere = await issue(records, 1, grievance_id=other_case, position_id="pos-co-phw")
    await records.record_reply(answered.id, REPLY, ISSUED_AT + timedelta(days=1))

    by_case = await records.list_show_causes(grievance_id=GRIEVANCE)
    by_position = await records.list_show_causes(position_id="pos-co-phw")
    unanswered = await records.list_show_causes(unanswered_only=True)
    everything = await records.list_show_causes()

    assert [n.id for n in by_case] == [answered.id, pending.id]
    assert [n.id for n in by_position] == [elsewhere.id]
    assert {n.id for n in unanswered} == {pending.id, elsewhere.id}
    assert len(everything) == 3


async def test_S13_breach_is_recorded_once_per_key_even_when_retried_concurrently(records: SlaRecords) -> None:
    recorded_at = ISSUED_AT + timedelta(days=20)

    async def record(
        rule: str = "S13", key: str = "s13_final_disposal", district: str = "PAT", at: datetime = recorded_at
    ) -> object:
        return await records.record_breach(
            idempotency_key=f"grievance-{GRIEVANCE}:breach:{key}",
            grievance_id=GRIEVANCE,
            registration_number="BR-PAT-2026-000123",
            position_id="pos-bdo-phw",
            district_code=district,
            rule=rule,
            recorded_at=at,
            # Workflow code may hand over datetimes; the record keeps them as ISO text.
            details={"clock": "final_disposal", "deadline": recorded_at, "days_pending": 30},
        )

    first, *others = await asyncio.gather(*(record() for _ in range(5)))
    await record(rule="S8", key="l1_forward", district="GAY", at=recorded_at + timedelta(hours=1))

    breaches = await records.list_breaches(grievance_id=GRIEVANCE)
    assert all(o == first for o in others)
    assert await count_rows(records, BreachRow) == 2
    assert [b.rule for b in breaches] == ["S8", "S13"]  # newest first
    assert breaches[1].details == {
        "clock": "final_disposal",
        "deadline": str(recorded_at),
        "days_pending": 30,
    }
    assert breaches[1].recorded_at == recorded_at
    assert [b.rule for b in await records.list_breaches(district_code="PAT")] == ["S13"]
    assert [b.district_code for b in await records.list_breaches(rule="S8")] == ["GAY"]
    assert await records.list_breaches(grievance_id="another-case") == []


async def test_the_breach_register_reads_newest_first_a_page_after_a_key_without_skipping_ties(
    records: SlaRecords,
) -> None:
    """Keyset pages of the register: five breaches, two of them recorded at the same instant, read two at a time
    after the last one's (recorded_at, id), meet every breach once, newest first, ties by id."""
    base = ISSUED_AT + timedelta(days=5)
    times = [base, base + timedelta(hours=1), base + timedelta(hours=1), base + timedelta(hours=2), base]
    made = [
        await records.record_breach(
            idempotency_key=f"grievance-g{i}:breach:s8",
            grievance_id=f"g{i}",
            registration_number=f"BR-PAT-2026-00000{i}",
            position_id="pos-bdo-phw",
            district_code="PAT" if i != 4 else "GAY",
            rule="S8",
            recorded_at=at,
            details={},
        )
        for i, at in enumerate(times)
    ]
    expected = [b.id for b in sorted(made, key=lambda b: (b.recorded_at, b.id), reverse=True)]

    pages: list[list[str]] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = await records.list_breaches(after=after, limit=2)
        if not page:
            break
        pages.append([b.id for b in page])
        after = (page[-1].recorded_at, page[-1].id)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == expected
    in_patna = await records.list_breaches(district_code="PAT", after=(base + timedelta(hours=1), "~"), limit=10)
    assert {b.grievance_id for b in in_patna} == {"g1", "g2", "g0"}
