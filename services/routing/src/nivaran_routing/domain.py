"""Routing's domain: areas, departments, offices, positions, categories, L1 rules, and import reports.

Imports neither grpc nor sqlalchemy. Master-data rows carry `valid_from` / `valid_to` so history can be kept; a row
is in force on a day when `valid_from <= day < valid_to` (an empty bound is open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class AreaLevel(StrEnum):
    """Administrative and police geography, from the state down to the panchayat or thana."""

    STATE = "state"
    DIVISION = "division"
    DISTRICT = "district"
    SUBDIVISION = "subdivision"
    BLOCK = "block"
    PANCHAYAT = "panchayat"
    POLICE_DISTRICT = "police_district"
    THANA = "thana"


# Which levels an area of each level may sit under. Every parent is strictly higher, so no chain of parents can loop.
ALLOWED_PARENT_LEVELS: dict[AreaLevel, frozenset[AreaLevel]] = {
    AreaLevel.STATE: frozenset(),
    AreaLevel.DIVISION: frozenset({AreaLevel.STATE}),
    AreaLevel.DISTRICT: frozenset({AreaLevel.DIVISION, AreaLevel.STATE}),
    AreaLevel.SUBDIVISION: frozenset({AreaLevel.DISTRICT}),
    AreaLevel.BLOCK: frozenset({AreaLevel.SUBDIVISION, AreaLevel.DISTRICT}),
    AreaLevel.PANCHAYAT: frozenset({AreaLevel.BLOCK}),
    AreaLevel.POLICE_DISTRICT: frozenset({AreaLevel.DISTRICT, AreaLevel.DIVISION, AreaLevel.STATE}),
    AreaLevel.THANA: frozenset({AreaLevel.POLICE_DISTRICT}),
}

LEVEL_NAMES_HI: dict[AreaLevel, str] = {
    AreaLevel.STATE: "राज्य",
    AreaLevel.DIVISION: "प्रमंडल",
    AreaLevel.DISTRICT: "जिला",
    AreaLevel.SUBDIVISION: "अनुमंडल",
    AreaLevel.BLOCK: "प्रखंड",
    AreaLevel.PANCHAYAT: "पंचायत",
    AreaLevel.POLICE_DISTRICT: "पुलिस जिला",
    AreaLevel.THANA: "थाना",
}

# Shapes of master-data values, shared by the loader and the category use cases (H4).
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,63}$")
ROLE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
TRACK_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
MAX_TEXT = 300
RTS_TRACK = "rts_auto_appeal"

# Roles of positions that the rules name.
ROLE_DM = "DM"
ROLE_SECRETARY = "SECRETARY"

RULE_DISTRICT_L1 = "district L1 (S8)"
RULE_DEPARTMENT_LEVEL = "department level: no district office (S5)"

# ISO weekdays (B7): index + 1 is the day's number, 1 = Monday ... 7 = Sunday.
WEEKDAY_NAMES_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def bilingual(en: str, hi: str) -> str:
    """One message for a person, English then Hindi."""
    return f"{en} / {hi}"


def is_weekday(value: int) -> bool:
    """Whether `value` is an ISO weekday number (1 = Monday ... 7 = Sunday)."""
    return 1 <= value <= len(WEEKDAY_NAMES_EN)


def weekday_named(text: str) -> int | None:
    """The ISO weekday an English day name means ("wednesday", "Wed", "thurs"), or None.

    The first three letters tell the seven days apart, so any longer start of the name is accepted too.
    """
    name = text.strip().lower()
    if len(name) < 3:
        return None
    for number, full in enumerate(WEEKDAY_NAMES_EN, start=1):
        if full.lower().startswith(name):
            return number
    return None


def in_force(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    """Whether a row with these bounds applies on `day`."""
    return (valid_from is None or valid_from <= day) and (valid_to is None or day < valid_to)


@dataclass(frozen=True)
class Area:
    code: str
    level: AreaLevel
    name_en: str
    name_hi: str
    parent_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class Department:
    code: str
    name_en: str
    name_hi: str
    has_district_office: bool
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class Office:
    id: str
    department_code: str | None
    name_en: str
    name_hi: str
    level: AreaLevel
    area_code: str
    valid_from: date | None = None
    valid_to: date | None = None
    # The weekly hearing day shown on the office's notice board (B7), ISO weekday 1 = Monday ... 7 = Sunday.
    hearing_weekday: int | None = None


@dataclass(frozen=True)
class Position:
    """A post (not a person): identity's postings say who holds it from which charge date.

    The office names are read along with the post for display; they are not columns of the post, so they take no
    part in comparing a stored post with an imported one.
    """

    id: str
    office_id: str
    department_code: str | None
    title_en: str
    title_hi: str
    role: str
    reports_to_position_id: str | None
    area_code: str
    level: AreaLevel
    valid_from: date | None = None
    valid_to: date | None = None
    office_name_en: str = field(default="", compare=False)
    office_name_hi: str = field(default="", compare=False)
    office_hearing_weekday: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Category:
    code: str
    department_code: str
    name_en: str
    name_hi: str
    default_track: str
    is_other: bool = False
    retired: bool = False
    merged_into_code: str | None = None
    service_time_limit_days: int = 0
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class L1Rule:
    """For department `department_code` in area `area_code`, new cases land with `position_id` (S8)."""

    department_code: str
    area_code: str
    area_level: AreaLevel
    position_id: str
    valid_from: date | None = None
    valid_to: date | None = None


MasterRecord = Area | Department | Office | Position | Category | L1Rule


@dataclass(frozen=True)
class Location:
    """Codes of a grievance's location; empty strings mean "not given"."""

    state_code: str = ""
    district_code: str = ""
    subdivision_code: str = ""
    block_code: str = ""
    panchayat_code: str = ""
    thana_code: str = ""


@dataclass(frozen=True)
class L1Resolution:
    position: Position
    office: Office
    department: Department
    category: Category
    rule: str


@dataclass(frozen=True)
class RowError:
    """One problem in imported master data: `row` counts as a person reading the file would (CSV: line number)."""

    row: int
    field: str
    message: str
    source: str = ""


@dataclass
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Rows of this table in the import."""
        return self.inserted + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do). Any row error rejects the whole import."""

    counts: dict[str, TableCounts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows_accepted(self) -> int:
        """Rows written (or that a dry run would write, changed or not); 0 when the import was rejected."""
        if self.errors:
            return 0
        return sum(c.total for c in self.counts.values())


@dataclass(frozen=True)
class Actor:
    """Who asks for a change, as the gateway authenticated them; positions are checked against master data."""

    account_id: str = ""
    role: str = ""
    position_id: str = ""
    on_behalf_of_account_id: str = ""


@dataclass(frozen=True)
class OfficeEditor:
    """A verified person who asks to change an office (B7): the posts they hold, their roles and their district."""

    account_id: str
    positions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    district: str = ""


class CategoryChange(StrEnum):
    """Why a category version began (H4)."""

    IMPORTED = "imported"
    CREATED = "created"
    RENAMED = "renamed"
    MERGED = "merged"
    RETIRED = "retired"
    # A category merged earlier into one that is now merged in turn follows it to the new target.
    REPOINTED = "repointed"


@dataclass(frozen=True)
class CategoryVersion:
    """One state of a category, in force from `valid_from` until `valid_to` (open while current)."""

    code: str
    version: int
    department_code: str
    name_en: str
    name_hi: str
    default_track: str
    is_other: bool
    retired: bool
    merged_into_code: str | None
    service_time_limit_days: int
    change: CategoryChange
    valid_from: datetime | None
    valid_to: datetime | None
    changed_by_account_id: str = ""
    changed_by_position_id: str = ""


class TransferState(StrEnum):
    """Where an inter-department transfer stands in the DM's moderator queue (S5)."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    RETURNED = "RETURNED"


@dataclass(frozen=True)
class NewTransfer:
    """An L1's request to move a case to another department, which the district's DM moderates (S5)."""

    grievance_id: str
    from_position_id: str
    to_department_code: str
    reason: str
    location: Location
    actor: Actor


@dataclass(frozen=True)
class Transfer:
    """A transfer request in the moderator queue (S5)."""

    id: str
    grievance_id: str
    from_position_id: str
    from_department_code: str | None
    to_department_code: str
    reason: str
    state: TransferState
    moderator_position_id: str
    district_code: str
    requested_at: datetime
    requested_by_account_id: str = ""
    requested_by_position_id: str = ""
    to_position_id: str | None = None
    decided_at: datetime | None = None
    decided_by_account_id: str = ""
    decision_note: str = ""


@dataclass(frozen=True)
class TransferPage:
    """One page of the moderator queue, oldest first, and the token of the next page ("" on the last)."""

    transfers: list[Transfer]
    next_page_token: str
