"""Master data from YAML or CSV files: parse, check every row against what is stored, then upsert.

Six tables: areas, departments, offices, positions, categories, l1_rules. A YAML file holds a mapping of table name
to a list of rows (or just a list, when the file is named after its table, e.g. `areas.yaml`); a CSV file holds one
table and is named after it (`areas.csv`), with a header row of column names. Each problem is reported with its file,
its line number and its column (`positions.reports_to_position_id`). Any problem rejects the whole import, so master
data is never half-applied. Loading the same data twice changes nothing; rows missing from a file are left alone
(retire a row by giving it a `valid_to`). A category that its department's secretary has changed through the taxonomy
RPCs (H4) belongs to the department from then on: a file row for it is counted unchanged and not applied. Likewise an
office's weekly hearing day (`hearing_weekday`, B7), once the office has fixed it through SetHearingDay, is kept
whatever the file says; the office's other columns still follow the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import FailedPrecondition, InvalidArgument
from nivaran_routing.domain import (
    ALLOWED_PARENT_LEVELS,
    CODE_PATTERN,
    DEVANAGARI,
    LEVEL_NAMES_HI,
    MAX_TEXT,
    ROLE_PATTERN,
    RTS_TRACK,
    TRACK_PATTERN,
    Area,
    AreaLevel,
    Category,
    Department,
    ImportReport,
    L1Rule,
    MasterRecord,
    Office,
    Position,
    RowError,
    TableCounts,
    bilingual,
    is_weekday,
    weekday_named,
)
from nivaran_routing.store import TABLES, MasterData, RoutingStore, record_key

TABLE_ORDER: tuple[str, ...] = tuple(TABLES)
FORMATS = ("csv", "yaml")
_CODE = CODE_PATTERN
_ROLE = ROLE_PATTERN
_TRACK = TRACK_PATTERN
_DEVANAGARI = DEVANAGARI
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_MAX_TEXT = MAX_TEXT


class Kind(StrEnum):
    TEXT = "text"
    CODE = "code"
    ROLE = "role"
    TRACK = "track"
    BOOL = "bool"
    INT = "int"
    DATE = "date"
    LEVEL = "level"
    # An ISO weekday, 1 = Monday ... 7 = Sunday, or an English day name ("wednesday", "Wed").
    WEEKDAY = "weekday"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False


_VALIDITY = (Column("valid_from", Kind.DATE), Column("valid_to", Kind.DATE))

SPECS: dict[str, tuple[Column, ...]] = {
    "departments": (
        Column("code", Kind.CODE, True),
        Column("name_en", Kind.TEXT, True),
        Column("name_hi", Kind.TEXT, True),
        Column("has_district_office", Kind.BOOL, True),
        *_VALIDITY,
    ),
    "areas": (
        Column("code", Kind.CODE, True),
        Column("level", Kind.LEVEL, True),
        Column("name_en", Kind.TEXT, True),
        Column("name_hi", Kind.TEXT, True),
        Column("parent_code", Kind.CODE),
        *_VALIDITY,
    ),
    "offices": (
        Column("id", Kind.CODE, True),
        Column("department_code", Kind.CODE),
        Column("name_en", Kind.TEXT, True),
        Column("name_hi", Kind.TEXT, True),
        Column("area_code", Kind.CODE, True),
        Column("level", Kind.LEVEL),
        *_VALIDITY,
        Column("hearing_weekday", Kind.WEEKDAY),
    ),
    "positions": (
        Column("id", Kind.CODE, True),
        Column("office_id", Kind.CODE, True),
        Column("department_code", Kind.CODE),
        Column("title_en", Kind.TEXT, True),
        Column("title_hi", Kind.TEXT, True),
        Column("role", Kind.ROLE, True),
        Column("reports_to_position_id", Kind.CODE),
        Column("area_code", Kind.CODE),
        Column("level", Kind.LEVEL),
        *_VALIDITY,
    ),
    "categories": (
        Column("code", Kind.CODE, True),
        Column("department_code", Kind.CODE, True),
        Column("name_en", Kind.TEXT, True),
        Column("name_hi", Kind.TEXT, True),
        Column("default_track", Kind.TRACK, True),
        Column("is_other", Kind.BOOL),
        Column("retired", Kind.BOOL),
        Column("merged_into_code", Kind.CODE),
        Column("service_time_limit_days", Kind.INT),
        *_VALIDITY,
    ),
    "l1_rules": (
        Column("department_code", Kind.CODE, True),
        Column("area_code", Kind.CODE, True),
        Column("area_level", Kind.LEVEL),
        Column("position_id", Kind.CODE, True),
        *_VALIDITY,
    ),
}


@dataclass(frozen=True)
class SourceRow:
    """One row as read from a file, before any checking."""

    table: str
    row: int
    source: str
    values: dict[str, Any]


@dataclass
class ImportPlan:
    """What an import would change, table by table, and every problem found."""

    counts: dict[str, TableCounts] = field(default_factory=lambda: {t: TableCounts() for t in TABLE_ORDER})
    inserts: dict[str, list[MasterRecord]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})
    updates: dict[str, list[MasterRecord]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})
    errors: list[RowError] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------------------------------


class _Lined(dict[Any, Any]):
    """A YAML mapping that remembers the line it starts on."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_lined(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Lined:
    mapping = _Lined(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_lined)


def parse_yaml(
    text: str, source: str, table: str = "", *, only_table: bool = False
) -> tuple[list[SourceRow], list[RowError]]:
    """Rows of a YAML document: a mapping of table -> rows, or a list of rows of `table`.

    With `only_table`, a mapping may hold no table but `table` (an upload that names its table).
    """
    try:
        # _LineLoader is a SafeLoader: it builds plain data only, never arbitrary objects.
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return [], [RowError(line, "", bilingual(f"not valid YAML: {exc}", "मान्य YAML नहीं है"), source)]
    if document is None:
        return [], []
    if isinstance(document, list):
        if table not in SPECS:
            message = bilingual(
                "a list of rows needs its table: name the file after it (areas.yaml) or use `table: [rows]`",
                "पंक्तियों की सूची के लिए तालिका का नाम चाहिए: फ़ाइल का नाम तालिका पर रखें (areas.yaml)",
            )
            return [], [RowError(1, "", message, source)]
        document = {table: document}
    if not isinstance(document, dict):
        return [], [
            RowError(1, "", bilingual("expected a mapping of table -> rows", "तालिका -> पंक्तियाँ अपेक्षित"), source)
        ]
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    line = getattr(document, "line", 1)
    for name, items in document.items():
        if name not in SPECS:
            errors.append(RowError(line, str(name), _unknown_table(str(name)), source))
            continue
        if only_table and name != table:
            errors.append(
                RowError(
                    line, str(name), bilingual(f"expected only table {table}", f"केवल तालिका {table} अपेक्षित"), source
                )
            )
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            errors.append(
                RowError(line, str(name), bilingual("expected a list of rows", "पंक्तियों की सूची अपेक्षित"), source)
            )
            continue
        for item in items:
            if not isinstance(item, dict):
                errors.append(
                    RowError(line, str(name), bilingual("a row must be a mapping", "पंक्ति मैपिंग होनी चाहिए"), source)
                )
                continue
            rows.append(SourceRow(str(name), getattr(item, "line", line), source, {str(k): v for k, v in item.items()}))
    return rows, errors


def parse_csv(text: str, source: str, table: str) -> tuple[list[SourceRow], list[RowError]]:
    """Rows of a CSV file of one table, with a header row; `row` is the line number (the header is line 1)."""
    if table not in SPECS:
        return [], [RowError(1, "", _unknown_table(table), source)]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    known = {c.name for c in SPECS[table]}
    errors = [RowError(1, f"{table}.{h}", _unknown_column(h), source) for h in header if h not in known]
    errors += [
        RowError(1, f"{table}.{c.name}", bilingual("required column is missing", "आवश्यक कॉलम नहीं है"), source)
        for c in SPECS[table]
        if c.required and c.name not in header
    ]
    if errors:
        return [], errors
    rows: list[SourceRow] = []
    try:
        for raw in reader:
            if None in raw:
                errors.append(
                    RowError(reader.line_num, table, bilingual("more cells than columns", "कॉलम से अधिक सेल"), source)
                )
                continue
            values = {k.strip(): v for k, v in raw.items() if k is not None}
            if all(v in (None, "") for v in values.values()):
                continue
            rows.append(SourceRow(table, reader.line_num, source, values))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, table, bilingual(f"not valid CSV: {exc}", "मान्य CSV नहीं है"), source))
    return rows, errors


def parse_content(
    fmt: str, table: str, content: bytes, source: str = "request"
) -> tuple[list[SourceRow], list[RowError]]:
    """Rows of one uploaded document (ImportMasterData); a bad format, table or encoding is InvalidArgument."""
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise InvalidArgument.field("format", bilingual("format must be csv or yaml", "प्रारूप csv या yaml होना चाहिए"))
    if fmt == "csv" and not table:
        raise InvalidArgument.field("table", bilingual("a CSV import names its table", "CSV आयात में तालिका का नाम दें"))
    if table and table not in SPECS:
        raise InvalidArgument.field("table", _unknown_table(table))
    if not content:
        raise InvalidArgument.field("content", bilingual("content is empty", "सामग्री खाली है"))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument.field("content", bilingual("content must be UTF-8", "सामग्री UTF-8 में होनी चाहिए")) from exc
    if fmt == "csv":
        return parse_csv(text, source, table)
    return parse_yaml(text, source, table, only_table=bool(table))


def read_folder(folder: Path) -> tuple[list[SourceRow], list[RowError]]:
    """Rows of every *.yaml, *.yml and *.csv file in `folder` (other files, such as a README, are ignored)."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in {".yaml", ".yml", ".csv"})
    if not files:
        return [], [
            RowError(0, "", bilingual("no .yaml or .csv files found", "कोई .yaml या .csv फ़ाइल नहीं मिली"), str(folder))
        ]
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".csv":
            found, problems = parse_csv(text, path.name, path.stem)
        else:
            found, problems = parse_yaml(text, path.name, path.stem if path.stem in SPECS else "")
        rows += found
        errors += problems
    return rows, errors


# --- checking --------------------------------------------------------------------------------------------------------


def _unknown_table(name: str) -> str:
    return bilingual(f"unknown table {name!r} (known: {', '.join(TABLE_ORDER)})", f"अज्ञात तालिका {name!r}")


def _unknown_column(name: str) -> str:
    return bilingual(f"unknown column {name!r}", f"अज्ञात कॉलम {name!r}")


def _coerce(column: Column, value: Any) -> Any:
    """The typed value of one cell; raises ValueError with a message for a person."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.kind in (Kind.TEXT, Kind.CODE, Kind.ROLE, Kind.TRACK):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(bilingual("expected text", "पाठ अपेक्षित"))
        text = str(value).strip()
        if column.kind is Kind.TEXT:
            if len(text) > _MAX_TEXT:
                raise ValueError(bilingual(f"longer than {_MAX_TEXT} characters", f"{_MAX_TEXT} अक्षरों से लंबा"))
            if column.name.endswith("_hi") and not _DEVANAGARI.search(text):
                raise ValueError(bilingual("the Hindi name must be in Devanagari", "हिंदी नाम देवनागरी में होना चाहिए"))
            return text
        pattern, shape = {
            Kind.CODE: (_CODE, "capitals, digits, '-' or '_', e.g. PAT-SADAR"),
            Kind.ROLE: (_ROLE, "capitals, digits or '_', e.g. L1, DISPOSING, DM"),
            Kind.TRACK: (_TRACK, "lower case, digits or '_', e.g. sahyog"),
        }[column.kind]
        if not pattern.match(text):
            raise ValueError(bilingual(f"{text!r} is not a valid value: use {shape}", f"{text!r} मान्य मान नहीं है"))
        return text
    if column.kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str) and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
        raise ValueError(bilingual("expected true or false", "true या false अपेक्षित"))
    if column.kind is Kind.INT:
        if isinstance(value, bool):
            raise ValueError(bilingual("expected a whole number", "पूर्ण संख्या अपेक्षित"))
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value.strip())
        raise ValueError(bilingual("expected a whole number", "पूर्ण संख्या अपेक्षित"))
    if column.kind is Kind.DATE:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(bilingual("expected a date as YYYY-MM-DD", "तिथि YYYY-MM-DD रूप में अपेक्षित"))
    if column.kind is Kind.WEEKDAY:
        return _weekday(value)
    if isinstance(value, str):
        try:
            return AreaLevel(value.strip().lower())
        except ValueError:
            pass
    known = ", ".join(level.value for level in AreaLevel)
    raise ValueError(bilingual(f"unknown level {value!r} (known: {known})", f"अज्ञात स्तर {value!r}"))


def _weekday(value: Any) -> int:
    """An ISO weekday from 1-7 or an English day name; raises ValueError with a message for a person."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        number = int(text) if re.fullmatch(r"\d{1,2}", text) else weekday_named(text)
    if number is None or not is_weekday(number):
        raise ValueError(
            bilingual(
                f"{value!r} is not a weekday: use 1-7 (1 = Monday, 7 = Sunday) or a day name such as wednesday; "
                "leave it empty when no day is fixed",
                f"{value!r} सप्ताह का दिन नहीं है: 1-7 (1 = सोमवार, 7 = रविवार) या दिन का नाम (जैसे wednesday) दें",
            )
        )
    return number


class _Planner:
    """Checks rows against the stored master data overlaid with the import itself, then plans the writes."""

    def __init__(self, existing: MasterData) -> None:
        self.existing = existing
        # What the tables will hold once the import is applied.
        self.final = MasterData(department_owned_categories=existing.department_owned_categories)
        for table in TABLE_ORDER:
            self.final.table(table).update(existing.table(table))
        self.plan = ImportPlan()
        self.entries: dict[str, list[tuple[SourceRow, MasterRecord]]] = {t: [] for t in TABLE_ORDER}

    def error(self, row: SourceRow, column: str, en: str, hi: str) -> None:
        self.plan.errors.append(
            RowError(row.row, f"{row.table}.{column}" if column else row.table, bilingual(en, hi), row.source)
        )

    def run(self, rows: Sequence[SourceRow]) -> ImportPlan:
        by_table: dict[str, list[SourceRow]] = {t: [] for t in TABLE_ORDER}
        for row in rows:
            by_table[row.table].append(row)
        builders: dict[str, Callable[[SourceRow, dict[str, Any]], MasterRecord | None]] = {
            "departments": self.department,
            "areas": self.area,
            "offices": self.office,
            "positions": self.position,
            "categories": self.category,
            "l1_rules": self.l1_rule,
        }
        # Tables refer only to earlier tables or to themselves, so one pass in this order sees every reference.
        for table in TABLE_ORDER:
            seen: dict[tuple[str, ...], SourceRow] = {}
            for row in by_table[table]:
                values = self.coerce(row)
                if values is None:
                    continue
                record = builders[table](row, values)
                if record is None:
                    continue
                key = record_key(table, record)
                if key in seen:
                    first = seen[key]
                    self.error(
                        row,
                        "",
                        f"duplicate of {first.source} line {first.row} ({'/'.join(key)})",
                        f"{first.source} पंक्ति {first.row} की दोहराई गई प्रविष्टि",
                    )
                    continue
                seen[key] = row
                if table == "categories" and key[0] in self.existing.department_owned_categories:
                    # The department's secretary has changed it since it was loaded (H4): a re-load of the same
                    # files (at every start with a seed folder) must not undo that, so the stored row stands.
                    self.plan.counts[table].unchanged += 1
                    continue
                if isinstance(record, Office) and record.id in self.existing.offices_owning_hearing_day:
                    # The office fixed its hearing day through SetHearingDay (B7): a re-load keeps that day.
                    record = replace(record, hearing_weekday=self.existing.offices[key].hearing_weekday)
                self.final.table(table)[key] = record
                self.entries[table].append((row, record))
            self.check_self_references(table)
        self.count_and_order()
        return self.plan

    def coerce(self, row: SourceRow) -> dict[str, Any] | None:
        spec = {c.name: c for c in SPECS[row.table]}
        values: dict[str, Any] = {}
        ok = True
        for name in row.values:
            if name not in spec:
                self.plan.errors.append(RowError(row.row, f"{row.table}.{name}", _unknown_column(name), row.source))
                ok = False
        for column in spec.values():
            try:
                values[column.name] = _coerce(column, row.values.get(column.name))
            except ValueError as exc:
                self.plan.errors.append(RowError(row.row, f"{row.table}.{column.name}", str(exc), row.source))
                ok = False
                continue
            if column.required and values[column.name] is None:
                self.error(row, column.name, "required", "आवश्यक है")
                ok = False
        start, end = values.get("valid_from"), values.get("valid_to")
        if start is not None and end is not None and end <= start:
            self.error(row, "valid_to", "valid_to must be after valid_from", "valid_to, valid_from के बाद होनी चाहिए")
            ok = False
        return values if ok else None

    def _known(self, table: str, code: str | None) -> Any:
        return self.final.table(table).get((code,)) if code else None

    def _need(self, row: SourceRow, column: str, table: str, code: str, what_en: str, what_hi: str) -> Any:
        found = self._known(table, code)
        if found is None:
            self.error(row, column, f"unknown {what_en} {code!r}", f"अज्ञात {what_hi} {code!r}")
        return found

    def _level(self, row: SourceRow, column: str, given: AreaLevel | None, area: Area) -> AreaLevel | None:
        if given is not None and given is not area.level:
            self.error(
                row,
                column,
                f"level {given.value} does not match area {area.code}, which is a {area.level.value}",
                f"स्तर {given.value} क्षेत्र {area.code} ({area.level.value}) से मेल नहीं खाता",
            )
            return None
        return area.level

    def department(self, row: SourceRow, v: dict[str, Any]) -> MasterRecord | None:
        return Department(
            v["code"], v["name_en"], v["name_hi"], v["has_district_office"], v["valid_from"], v["valid_to"]
        )

    def area(self, row: SourceRow, v: dict[str, Any]) -> MasterRecord | None:
        level: AreaLevel = v["level"]
        if level is AreaLevel.STATE and v["parent_code"]:
            self.error(row, "parent_code", "a state has no parent", "राज्य का कोई मूल क्षेत्र नहीं होता")
            return None
        if level is not AreaLevel.STATE and not v["parent_code"]:
            self.error(row, "parent_code", f"a {level.value} needs its parent area", "मूल क्षेत्र आवश्यक है")
            return None
        return Area(v["code"], level, v["name_en"], v["name_hi"], v["parent_code"], v["valid_from"], v["valid_to"])

    def office(self, row: SourceRow, v: dict[str, Any]) -> MasterRecord | None:
        department_known = v["department_code"] is None or (
            self._need(row, "department_code", "departments", v["department_code"], "department", "विभाग") is not None
        )
        area = self._need(row, "area_code", "areas", v["area_code"], "area", "क्षेत्र")
        level = self._level(row, "level", v["level"], area) if area is not None else None
        if not department_known or level is None:
            return None
        return Office(
            v["id"],
            v["department_code"],
            v["name_en"],
            v["name_hi"],
            level,
            v["area_code"],
            v["valid_from"],
            v["valid_to"],
            v["hearing_weekday"],
        )

    def position(self, row: SourceRow, v: dict[str, Any]) -> MasterRecord | None:
        office: Office | None = self._need(row, "office_id", "offices", v["office_id"], "office", "कार्यालय")
        if office is None:
            return None
        department = v["department_code"] or office.department_code
        if v["department_code"] and office.department_code and v["department_code"] != office.department_code:
            self.error(
                row,
                "department_code",
                f"office {office.id} belongs to department {office.department_code}",
                f"कार्यालय {office.id} विभाग {office.department_code} का है",
            )
            return None
        if department and self._need(row, "department_code", "departments", department, "department", "विभाग") is None:
            return None
        area_code = v["area_code"] or office.area_code
        area = self._need(row, "area_code", "areas", area_code, "area", "क्षेत्र")
        level = self._level(row, "level", v["level"], area) if area is not None else None
        if level is None:
            return None
        return Position(
            id=v["id"],
            office_id=office.id,
            department_code=department,
            title_en=v["title_en"],
            title_hi=v["title_hi"],
            role=v["role"],
            reports_to_position_id=v["reports_to_position_id"],
            area_code=area_code,
            level=level,
            valid_from=v["valid_from"],
            valid_to=v["valid_to"],
        )

    def category(self, row: SourceRow, v: dict[str, Any]) -> MasterRecord | None:
        if self._need(row, "department_code", "departments", v["department_code"], "department", "विभाग") is None:
            return None
        limit = v["service_time_limit_days"] or 0
        if limit < 0:
            self.error(row, "service_time_limit_days", "cannot be negative", "ऋणात्मक नहीं हो सकता")
            return None
        if v["default_track"] == RTS_TRACK and limit == 0:
            self.error(
                row,
                "service_time_limit_days",
                "a notified service (rts_auto_appeal) needs its statutory time limit in days",
                "अधिसूचित सेवा के लिए वैधानिक समय-सीमा (दिन) आवश्यक है",
            )
            return None
        retired = bool(v["retired"])
        if v["merged_into_code"] and not retired:
            self.error(row, "retired", "a merged category must be retired", "विलय की गई श्रेणी सेवानिवृत्त होनी चाहिए")
            return None
        return Category(
            code=v["code"],
            department_code=v["department_code"],
            name_en=v["name_en"],
            name_hi=v["name_hi"],
            default_track=v["default_track"],
            is_other=bool(v["is_other"]),
            retired=retired,
            merged_into_code=v["merged_into_code"],
            service_time_limit_days=limit,
            valid_from=v["valid_from"],
            valid_to=v["valid_to"],
        )

    def l1_rule(self, row: SourceRow, v: dict[str, Any]) -> MasterRecord | None:
        department = self._need(row, "department_code", "departments", v["department_code"], "department", "विभाग")
        area = self._need(row, "area_code", "areas", v["area_code"], "area", "क्षेत्र")
        position: Position | None = self._need(row, "position_id", "positions", v["position_id"], "position", "पद")
        level = self._level(row, "area_level", v["area_level"], area) if area is not None else None
        if department is None or level is None or position is None:
            return None
        if position.department_code != v["department_code"]:
            self.error(
                row,
                "position_id",
                f"position {position.id} belongs to department {position.department_code or '(none)'}",
                f"पद {position.id} विभाग {position.department_code or '(कोई नहीं)'} का है",
            )
            return None
        return L1Rule(v["department_code"], v["area_code"], level, v["position_id"], v["valid_from"], v["valid_to"])

    def check_self_references(self, table: str) -> None:
        """Parents, superiors and merge targets: checked once the whole table is known."""
        for row, record in self.entries[table]:
            if isinstance(record, Area) and record.parent_code:
                parent: Area | None = self._need(
                    row, "parent_code", "areas", record.parent_code, "parent area", "मूल क्षेत्र"
                )
                allowed = ALLOWED_PARENT_LEVELS[record.level]
                if parent is not None and parent.level not in allowed:
                    names = " or ".join(sorted(level.value for level in allowed))
                    names_hi = " या ".join(sorted(LEVEL_NAMES_HI[level] for level in allowed))
                    self.error(
                        row,
                        "parent_code",
                        f"a {record.level.value} must sit under a {names}, not a {parent.level.value}",
                        f"{LEVEL_NAMES_HI[record.level]} का मूल क्षेत्र {names_hi} होना चाहिए, "
                        f"{LEVEL_NAMES_HI[parent.level]} नहीं",
                    )
            elif isinstance(record, Position) and record.reports_to_position_id:
                if record.reports_to_position_id == record.id:
                    self.error(
                        row,
                        "reports_to_position_id",
                        "a position cannot report to itself",
                        "पद स्वयं को रिपोर्ट नहीं कर सकता",
                    )
                elif self._need(
                    row, "reports_to_position_id", "positions", record.reports_to_position_id, "position", "पद"
                ):
                    self._check_cycle(row, record)
            elif isinstance(record, Category) and record.merged_into_code:
                target: Category | None = self._need(
                    row, "merged_into_code", "categories", record.merged_into_code, "category", "श्रेणी"
                )
                if target is not None and (target.retired or target.code == record.code):
                    self.error(
                        row,
                        "merged_into_code",
                        f"cannot merge into {target.code}: it is retired",
                        f"{target.code} में विलय नहीं हो सकता: वह सेवानिवृत्त है",
                    )

    def _check_cycle(self, row: SourceRow, start: Position) -> None:
        seen = {start.id}
        current: Position | None = start
        while current is not None and current.reports_to_position_id:
            if current.reports_to_position_id in seen:
                self.error(
                    row,
                    "reports_to_position_id",
                    f"reporting chain of {start.id} loops back at {current.reports_to_position_id}",
                    f"{start.id} की रिपोर्टिंग शृंखला {current.reports_to_position_id} पर लौट आती है",
                )
                return
            seen.add(current.reports_to_position_id)
            current = self._known("positions", current.reports_to_position_id)

    def count_and_order(self) -> None:
        for table in TABLE_ORDER:
            counts = self.plan.counts[table]
            new: list[MasterRecord] = []
            for _, record in self.entries[table]:
                stored = self.existing.table(table).get(record_key(table, record))
                if stored is None:
                    counts.inserted += 1
                    new.append(record)
                elif stored != record:
                    counts.updated += 1
                    self.plan.updates[table].append(record)
                else:
                    counts.unchanged += 1
            self.plan.inserts[table] = _parents_first(table, new)


def _parent_key(record: MasterRecord) -> str | None:
    if isinstance(record, Area):
        return record.parent_code
    if isinstance(record, Position):
        return record.reports_to_position_id
    if isinstance(record, Category):
        return record.merged_into_code
    return None


def _parents_first(table: str, records: Iterable[MasterRecord]) -> list[MasterRecord]:
    """New rows ordered so a row's parent (area parent, superior, merge target) is inserted before it."""
    if table not in {"areas", "positions", "categories"}:
        return list(records)
    pending = {record_key(table, r)[0]: r for r in records}
    ordered: list[MasterRecord] = []
    done: set[str] = set()

    def visit(key: str, path: set[str]) -> None:
        if key in done or key not in pending or key in path:
            return
        parent = _parent_key(pending[key])
        if parent is not None:
            visit(parent, path | {key})
        done.add(key)
        ordered.append(pending[key])

    for key in list(pending):
        visit(key, set())
    return ordered


def plan_import(rows: Sequence[SourceRow], existing: MasterData) -> ImportPlan:
    """Check `rows` against `existing` and plan the inserts and updates, without writing anything."""
    return _Planner(existing).run(rows)


class MasterDataLoader:
    """Loads master data into the routing database; each load is one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def load_folder(self, folder: Path, *, dry_run: bool = False) -> ImportReport:
        """Load every YAML and CSV file of `folder`."""
        rows, errors = read_folder(folder)
        return await self.load_rows(rows, errors, dry_run=dry_run)

    async def load_content(self, fmt: str, table: str, content: bytes, *, dry_run: bool = False) -> ImportReport:
        """Load one uploaded document (the ImportMasterData RPC)."""
        rows, errors = parse_content(fmt, table, content)
        return await self.load_rows(rows, errors, dry_run=dry_run)

    async def load_rows(self, rows: Sequence[SourceRow], errors: Sequence[RowError], *, dry_run: bool) -> ImportReport:
        """Check and, unless this is a dry run or any row is wrong, write the rows in one transaction."""
        try:
            async with self.sessions() as session, session.begin():
                store = RoutingStore(session)
                plan = plan_import(rows, await store.snapshot())
                problems = sorted([*errors, *plan.errors], key=lambda e: (e.source, e.row))
                report = ImportReport(counts=plan.counts, errors=problems, dry_run=dry_run)
                if report.errors or dry_run:
                    return report
                for table in TABLE_ORDER:
                    await store.insert_records(table, plan.inserts[table])
                    await store.update_records(table, plan.updates[table])
        except IntegrityError as exc:
            # Only a concurrent import can get here: every reference was checked against the snapshot.
            raise FailedPrecondition(
                bilingual(
                    "master data changed while importing; run the import again",
                    "आयात के दौरान मास्टर डेटा बदल गया; आयात फिर से चलाएँ",
                )
            ) from exc
        return report
