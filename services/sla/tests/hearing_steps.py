"""B7 steps the lifecycle tests share: a hearing fixed on the fake offices' hearing day (fakes.HEARING_WEEKDAY), time
skipped to it, and its attendance recorded."""

from __future__ import annotations

from datetime import date, timedelta

from nivaran_common.casework import Caller
from nivaran_common.timeutil import IST
from nivaran_sla.case_inputs import HearingInput, HearingRecordInput
from nivaran_sla.domain import UPDATE_RECORD_HEARING, UPDATE_SCHEDULE_HEARING

from .fakes import HEARING_WEEKDAY
from .test_acts_rules import act
from .test_rules import Case

PROCEEDINGS = "Complainant heard with the mutation papers; the CO's register examined / दोनों पक्ष सुने गए"


async def today(case: Case) -> date:
    return (await case.env.get_current_time()).astimezone(IST).date()


async def next_hearing_day(case: Case) -> date:
    """The offices' next hearing day after today (never today, so that 'before the day' can be tested)."""
    now = await today(case)
    return now + timedelta(days=(HEARING_WEEKDAY - now.isoweekday() - 1) % 7 + 1)


def hearing(on: date, by: Caller, authority: str = "", at: str = "11:00") -> HearingInput:
    return HearingInput(
        held_on=on.isoformat(), at=at, public_authority_position_id=authority, by_account_id=by.account_id, caller=by
    )


def attendance(
    hearing_id: str, by: Caller, *, authority_present: bool = True, outcome: str = "heard"
) -> HearingRecordInput:
    return HearingRecordInput(
        hearing_id=hearing_id,
        outcome=outcome,
        complainant_present=True,
        public_authority_present=authority_present,
        proceedings=PROCEEDINGS,
        by_account_id=by.account_id,
        caller=by,
    )


async def until(case: Case, day: date) -> None:
    """Skip time to 10:00 India time on `day`."""
    now = await case.env.get_current_time()
    target = now.astimezone(IST).replace(year=day.year, month=day.month, day=day.day, hour=10, minute=0)
    if target > now:
        await case.advance(target - now)


async def heard(case: Case, by: Caller) -> str:
    """B7: `by` fixes a hearing on the next hearing day, which comes, and records it heard; returns its id."""
    day = await next_hearing_day(case)
    await act(case, UPDATE_SCHEDULE_HEARING, hearing(day, by))
    hearing_id = str(case.fake.transitions("hearing_scheduled")[-1].payload["hearing_id"])
    await until(case, day)
    await act(case, UPDATE_RECORD_HEARING, attendance(hearing_id, by))
    return hearing_id
