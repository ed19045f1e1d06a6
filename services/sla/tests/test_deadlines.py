"""Deadline computation: calendar days, hours, and working days under Bihar's holiday calendar."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from nivaran_common.timeutil import IST
from nivaran_sla.deadlines import CalendarError, CalendarKind, compute_deadline, load_calendar, parse_duration

HOLIDAYS = Path(__file__).resolve().parents[3] / "data" / "holidays"


@pytest.fixture(scope="module")
def bihar():  # type: ignore[no-untyped-def]
    return load_calendar(HOLIDAYS, "BR")


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


def test_S9_ten_calendar_days_count_sundays_and_holidays() -> None:
    start = ist(2026, 11, 5, 11, 0)
    deadline = compute_deadline(start, "P10D", CalendarKind.CALENDAR_DAYS, None)
    assert deadline == start.astimezone(UTC) + timedelta(days=10)


def test_C4_hours_are_elapsed_time() -> None:
    start = ist(2026, 11, 7, 23, 30)
    assert compute_deadline(start, "PT24H", CalendarKind.HOURS, None) == start.astimezone(UTC) + timedelta(hours=24)


def test_working_days_skip_a_weekend_a_second_saturday_and_holidays(bihar) -> None:  # type: ignore[no-untyped-def]
    # Fri 6 Nov 2026 -> Sat 7 (working), Sun 8 (Diwali and Sunday), Mon 9, Tue 10, Wed 11 (Bhai Dooj),
    # Thu 12, Fri 13, Sat 14 (second Saturday).
    assert bihar.is_working_day(date(2026, 11, 7))
    assert not bihar.is_working_day(date(2026, 11, 8))
    assert not bihar.is_working_day(date(2026, 11, 11))
    assert not bihar.is_working_day(date(2026, 11, 14))
    start = ist(2026, 11, 6, 10, 0)
    deadline = compute_deadline(start, "P5D", CalendarKind.WORKING_DAYS, bihar).astimezone(IST)
    # working days after the 6th: 7, 9, 10, 12, 13 -> the fifth is Friday 13 November, same time of day.
    assert deadline == ist(2026, 11, 13, 10, 0)


def test_C7_one_working_day_review_over_chhath(bihar) -> None:  # type: ignore[no-untyped-def]
    # Final report on Saturday 14 Nov (second Saturday); 15 Sun + Chhath, 16 Chhath -> due Tuesday 17th.
    deadline = compute_deadline(ist(2026, 11, 14, 16, 0), "P1D", CalendarKind.WORKING_DAYS, bihar)
    assert deadline.astimezone(IST) == ist(2026, 11, 17, 16, 0)


def test_M2_sixty_working_days_is_longer_than_sixty_days(bihar) -> None:  # type: ignore[no-untyped-def]
    start = ist(2026, 9, 1, 12, 0)
    working = compute_deadline(start, "P60D", CalendarKind.WORKING_DAYS, bihar)
    calendar = compute_deadline(start, "P60D", CalendarKind.CALENDAR_DAYS, None)
    assert working > calendar + timedelta(days=15)
    day = working.astimezone(IST).date()
    assert bihar.is_working_day(day)


def test_working_days_refuse_a_year_without_a_calendar(bihar) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CalendarError, match="2028"):
        compute_deadline(ist(2027, 12, 20, 10, 0), "P30D", CalendarKind.WORKING_DAYS, bihar)


@pytest.mark.parametrize("bad", ["10D", "P1M", "P1Y", "PT0S", "P-1D", ""])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(CalendarError):
        parse_duration(bad)


def test_bad_holiday_file_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "BR").mkdir()
    (tmp_path / "BR" / "2026.yaml").write_text("state: BR\nyear: 2026\nholidays:\n  - {date: someday, en: X, hi: Y}\n")
    with pytest.raises(CalendarError, match=r"2026.yaml: holidays.0.date"):
        load_calendar(tmp_path, "BR")
    (tmp_path / "BR" / "2026.yaml").write_text(
        "state: BR\nyear: 2026\nholidays:\n  - {date: 2026-13-01, en: X, hi: Y}\n"
    )
    with pytest.raises(CalendarError, match=r"2026.yaml: cannot parse"):
        load_calendar(tmp_path, "BR")


def test_a_year_without_a_holiday_file_counts_weekly_offs_only_when_not_strict(bihar) -> None:  # type: ignore[no-untyped-def]
    deadline = compute_deadline(ist(2028, 3, 1, 10, 0), "P6D", CalendarKind.WORKING_DAYS, bihar, strict=False)
    # Wed 1 Mar 2028: Thu 2, Fri 3, Sat 4, Mon 6, Tue 7, Wed 8 (Sunday 5 is off).
    assert deadline.astimezone(IST) == ist(2028, 3, 8, 10, 0)
