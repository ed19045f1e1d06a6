"""Holiday calendars and deadline computation: calendar days, working days under a state's calendar, or hours.

This is the one function every clock uses. The lifecycle workflow calls it inside an activity, so a change to a
holiday file can never make a replay take a different path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from nivaran_common.timeutil import IST, as_utc

_DURATION = TypeAdapter(timedelta)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class CalendarKind(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    HOURS = "hours"


class CalendarError(ValueError):
    """A holiday file or a duration that cannot be used, with the file and field it concerns."""


class _Holiday(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    en: str = Field(min_length=1)
    hi: str = Field(min_length=1)
    lunar: bool = False


class _HolidayFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str = Field(pattern=r"^[A-Z]{2}$")
    year: int = Field(ge=2000, le=2100)
    weekly_off: list[str] = Field(default_factory=lambda: ["sunday"])
    second_saturday_off: bool = False
    holidays: list[_Holiday] = Field(default_factory=list)


@dataclass(frozen=True)
class HolidayCalendar:
    """The non-working days of one state: weekly offs, second Saturdays where configured, and listed holidays."""

    state: str
    weekly_off: frozenset[int]
    second_saturday_off: bool
    holidays: frozenset[date]
    years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        """Whether government offices of the state work on `day`."""
        if day.weekday() in self.weekly_off or day in self.holidays:
            return False
        return not (self.second_saturday_off and day.weekday() == 5 and 8 <= day.day <= 14)

    def add_working_days(self, start: date, count: int, *, strict: bool = True) -> date:
        """The `count`-th working day after `start` (the start day itself never counts). A year without a holiday
        file raises CalendarError when `strict`; otherwise only weekly offs and second Saturdays count for it."""
        day, remaining = start, count
        while remaining > 0:
            day += timedelta(days=1)
            if strict and day.year not in self.years:
                raise CalendarError(f"no holiday calendar for {self.state} {day.year}")
            if self.is_working_day(day):
                remaining -= 1
        return day


def load_calendar(folder: Path, state: str) -> HolidayCalendar:
    """Load every `<folder>/<state>/<year>.yaml`; the error names the file and the field at fault."""
    files = sorted((folder / state).glob("*.yaml"))
    if not files:
        raise CalendarError(f"no holiday files for state {state} under {folder}")
    holidays: set[date] = set()
    years: set[int] = set()
    weekly_off: set[int] = set()
    second_saturday = False
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, ValueError) as exc:
            raise CalendarError(f"{path}: cannot parse: {exc}") from exc
        try:
            parsed = _HolidayFile.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CalendarError(f"{path}: {where}: {first['msg']}") from exc
        if parsed.state != state:
            raise CalendarError(f"{path}: state: is {parsed.state}, expected {state}")
        bad = [h.date for h in parsed.holidays if h.date.year != parsed.year]
        if bad:
            raise CalendarError(f"{path}: holidays: {bad[0]} is not in {parsed.year}")
        unknown = [d for d in parsed.weekly_off if d.lower() not in _WEEKDAYS]
        if unknown:
            raise CalendarError(f"{path}: weekly_off: unknown day {unknown[0]}")
        years.add(parsed.year)
        holidays.update(h.date for h in parsed.holidays)
        weekly_off.update(_WEEKDAYS.index(d.lower()) for d in parsed.weekly_off)
        second_saturday = second_saturday or parsed.second_saturday_off
    return HolidayCalendar(state, frozenset(weekly_off), second_saturday, frozenset(holidays), frozenset(years))


def parse_duration(text: str) -> timedelta:
    """ISO 8601 duration (`P10D`, `PT24H`, `PT5S`); months and years are refused as ambiguous."""
    if not text or text[0] != "P" or "Y" in text.split("T")[0] or "M" in text.split("T")[0]:
        raise CalendarError(f"duration {text!r}: use ISO 8601 days, hours, minutes or seconds (P10D, PT24H)")
    try:
        value = _DURATION.validate_python(text)
    except ValidationError as exc:
        raise CalendarError(f"duration {text!r} is not ISO 8601") from exc
    if value <= timedelta(0):
        raise CalendarError(f"duration {text!r} must be positive")
    return value


def compute_deadline(
    start: datetime, duration: str, kind: CalendarKind, calendar: HolidayCalendar | None, *, strict: bool = True
) -> datetime:
    """When a clock started at `start` expires.

    calendar_days and hours add the duration as elapsed time. working_days counts whole working days in
    Asia/Kolkata after the start day, and the deadline falls at the same time of day on the last of them;
    a duration with a time part (P2DT4H) adds that part after the working days.
    """
    value = parse_duration(duration)
    start = as_utc(start)
    if kind is not CalendarKind.WORKING_DAYS:
        return start + value
    if calendar is None:
        raise CalendarError("working_days needs a holiday calendar")
    local = start.astimezone(IST)
    day = calendar.add_working_days(local.date(), value.days, strict=strict)
    deadline = datetime.combine(day, local.timetz()) + (value - timedelta(days=value.days))
    return as_utc(deadline)
