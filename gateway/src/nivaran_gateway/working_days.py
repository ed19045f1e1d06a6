"""M2's cutoff in working days, from the holiday calendar sla keeps (DESIGN §2: a clock's calendar is sla's).

The gateway does not read holiday files: it asks sla's ComputeDeadline (`P<n>D` on the working-days calendar of the
state) when a filing day's n-th working day falls, and searches for the last filing day whose n-th working day had
ended before today. ComputeDeadline is monotonic in its start, so a binary search over the days between a safe lower
bound and `today - n` takes about seven calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from nivaran.sla.v1 import sla_pb2
from nivaran_common.timeutil import IST, to_timestamp

if TYPE_CHECKING:
    from nivaran.sla.v1.sla_pb2_grpc import SlaServiceAsyncStub


async def nth_working_day(sla: SlaServiceAsyncStub, day: date, days: int, timeout: float) -> date:
    """The `days`-th working day after `day` (the day itself never counts), on the state's holiday calendar."""
    start = datetime(day.year, day.month, day.day, tzinfo=IST)
    answer = await sla.ComputeDeadline(
        sla_pb2.ComputeDeadlineRequest(
            start=to_timestamp(start), duration=f"P{days}D", calendar=sla_pb2.CALENDAR_KIND_WORKING_DAYS
        ),
        timeout=timeout,
    )
    deadline: datetime = answer.deadline.ToDatetime(tzinfo=UTC)
    return deadline.astimezone(IST).date()


async def filed_before_cutoff(sla: SlaServiceAsyncStub, today: date, days: int, timeout: float) -> date:
    """The first filing day NOT yet pending over `days` working days today: a case filed before it has had its
    `days` working days after the filing day end before today (today is not counted)."""
    # Invariant: lo's n-th working day ended before today; hi's did not. Weekly offs and holidays never take more
    # than the same number of days again, plus a month of holidays.
    hi = today - timedelta(days=days)
    lo = today - timedelta(days=2 * days + 30)
    for _ in range(3):
        if await nth_working_day(sla, lo, days, timeout) < today:
            break
        lo -= timedelta(days=days)
    while (hi - lo).days > 1:
        middle = lo + timedelta(days=(hi - lo).days // 2)
        if await nth_working_day(sla, middle, days, timeout) < today:
            lo = middle
        else:
            hi = middle
    return hi
