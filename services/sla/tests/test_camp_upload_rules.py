"""S1: a paper application a Sahyog camp took is uploaded the same or the next working day (the policy's
camp_upload, on the real holiday calendar), or the upload is a breach of S1 with the DM told; and its 30 days run
from its receipt at the camp, not from its upload. Through the real lifecycle workflow on the time-skipping Temporal
server with the shipped sahyog_camp v2 policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from nivaran_common.timeutil import IST
from nivaran_sla.deadlines import CalendarKind, compute_deadline, load_calendar
from nivaran_sla.lifecycle_camp import end_of_day

from .fakes import HOLIDAYS
from .test_rules import Case, case_input, case_runner, time_skipping_server

CALENDAR = load_calendar(HOLIDAYS, "BR")


@pytest_asyncio.fixture(scope="module")
async def camp_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture
async def run_case(camp_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    async with case_runner(camp_env) as go:
        yield go


def upload_due(received_on: date) -> datetime:
    """The end of the next working day after the day of receipt (sahyog_camp v2: P1D on working days)."""
    return compute_deadline(end_of_day(received_on.isoformat()), "P1D", CalendarKind.WORKING_DAYS, CALENDAR)


def last_late_day(now: datetime) -> date:
    """The latest day of receipt whose upload would be late if uploaded `now`."""
    day = now.astimezone(IST).date()
    while upload_due(day) >= now:
        day -= timedelta(days=1)
    return day


async def camp_case(run_case: Any, received_on: date) -> Case:
    lifecycle = case_input(track="sahyog_camp")
    lifecycle.camp_received_on = received_on.isoformat()
    case: Case = await run_case(lifecycle)
    return case


def s1_breaches(case: Case) -> list[Any]:
    return [b for b in case.fake.breaches.values() if b.rule == "S1"]


async def test_S1_a_camp_application_uploaded_by_the_next_working_day_is_on_time(
    run_case: Any, camp_env: WorkflowEnvironment
) -> None:
    now = await camp_env.get_current_time()
    late = last_late_day(now)
    # The day after the last late one: its upload is due at or after now (a holiday in between only moves it on).
    case = await camp_case(run_case, late + timedelta(days=1))
    assert s1_breaches(case) == []
    assert case.count("breach_recorded") == 0
    # Received today and uploaded today: on time, of course.
    today = await camp_case(run_case, now.astimezone(IST).date())
    assert s1_breaches(today) == []


async def test_S1_an_upload_after_the_next_working_day_is_a_breach_and_the_DM_is_told(
    run_case: Any, camp_env: WorkflowEnvironment
) -> None:
    now = await camp_env.get_current_time()
    late = last_late_day(now)
    case = await camp_case(run_case, late)
    [breach] = s1_breaches(case)
    assert breach.details["received_on"] == late.isoformat()
    assert breach.details["due_by"] == upload_due(late).isoformat()
    [record] = case.fake.transitions("breach_recorded")
    assert record.payload["rule"] == "S1"
    assert "Uploaded late" in record.summary.en
    assert "विलंब से अपलोड" in record.summary.hi
    assert [n.recipient.position_id for n in case.notices("camp_upload_late")] == ["pos-dm-pat"]
    # The case runs on: it is with its officer, its clocks running.
    assert (await case.clock("camp_final_disposal")).running


async def test_S1_the_thirty_days_run_from_the_camps_receipt_not_the_upload(
    run_case: Any, camp_env: WorkflowEnvironment
) -> None:
    now = await camp_env.get_current_time()
    received = now.astimezone(IST).date() - timedelta(days=3)
    case = await camp_case(run_case, received)
    clock = await case.clock("camp_final_disposal")
    assert clock.deadline is not None
    assert clock.deadline == end_of_day(received.isoformat()) + timedelta(days=30)
    # A filing the camp did not take runs from its filing, as before.
    plain: Case = await run_case(case_input(track="sahyog_camp"))
    plain_clock = await plain.clock("camp_final_disposal")
    assert plain_clock.deadline is not None
    assert plain_clock.deadline - now >= timedelta(days=30) - timedelta(minutes=5)
    assert s1_breaches(plain) == []
