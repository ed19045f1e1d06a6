"""Every query of the routing service. The store reads and writes inside the caller's transaction; it never commits."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CTE, ColumnElement, Row, Select, and_, func, insert, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from nivaran_common.paging import after_time_key
from nivaran_common.timeutil import as_utc
from nivaran_routing.domain import (
    Area,
    AreaLevel,
    Category,
    CategoryChange,
    CategoryVersion,
    Department,
    L1Rule,
    MasterRecord,
    Office,
    Position,
    Transfer,
    TransferState,
)
from nivaran_routing.tables import (
    AreaRow,
    CategoryRow,
    CategoryVersionRow,
    DepartmentRow,
    L1RuleRow,
    OfficeRow,
    PositionRow,
    TransferRow,
)

RowModel = (
    type[AreaRow] | type[DepartmentRow] | type[OfficeRow] | type[PositionRow] | type[CategoryRow] | type[L1RuleRow]
)

# Table name -> (model, primary-key columns). The loader writes tables in this order, so references resolve.
TABLES: dict[str, tuple[RowModel, tuple[str, ...]]] = {
    "departments": (DepartmentRow, ("code",)),
    "areas": (AreaRow, ("code",)),
    "offices": (OfficeRow, ("id",)),
    "positions": (PositionRow, ("id",)),
    "categories": (CategoryRow, ("code",)),
    "l1_rules": (L1RuleRow, ("department_code", "area_code")),
}


# Far deeper than the area tree (state, division, district, sub-division, block, panchayat).
MAX_AREA_DEPTH = 16


def _in_force(model: Any, day: date) -> ColumnElement[bool]:
    return and_(
        or_(model.valid_from.is_(None), model.valid_from <= day),
        or_(model.valid_to.is_(None), model.valid_to > day),
    )


def _area(row: AreaRow) -> Area:
    return Area(row.code, AreaLevel(row.level), row.name_en, row.name_hi, row.parent_code, row.valid_from, row.valid_to)


def _department(row: DepartmentRow) -> Department:
    return Department(row.code, row.name_en, row.name_hi, row.has_district_office, row.valid_from, row.valid_to)


def _office(row: OfficeRow) -> Office:
    return Office(
        row.id,
        row.department_code,
        row.name_en,
        row.name_hi,
        AreaLevel(row.level),
        row.area_code,
        row.valid_from,
        row.valid_to,
        row.hearing_weekday,
    )


def _position(
    row: PositionRow, office_name_en: str = "", office_name_hi: str = "", office_hearing_weekday: int | None = None
) -> Position:
    return Position(
        id=row.id,
        office_id=row.office_id,
        department_code=row.department_code,
        title_en=row.title_en,
        title_hi=row.title_hi,
        role=row.role,
        reports_to_position_id=row.reports_to_position_id,
        area_code=row.area_code,
        level=AreaLevel(row.level),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        office_name_en=office_name_en,
        office_name_hi=office_name_hi,
        office_hearing_weekday=office_hearing_weekday,
    )


def _positions_with_offices() -> Select[PositionRow, str, str, int | None]:
    return select(PositionRow, OfficeRow.name_en, OfficeRow.name_hi, OfficeRow.hearing_weekday).join(
        OfficeRow, OfficeRow.id == PositionRow.office_id
    )


def _position_with_office(found: Row[PositionRow, str, str, int | None]) -> Position:
    return _position(found[0], found[1], found[2], found[3])


def _area_subtree(code: str, day: date) -> CTE:
    """The codes of an area and of every area in force below it.

    UNION (not UNION ALL) drops rows already found, so even a parent loop made by a bad manual edit ends.
    """
    subtree = select(AreaRow.code).where(AreaRow.code == code).cte("area_subtree", recursive=True)
    child = aliased(AreaRow)
    return subtree.union(
        select(child.code).join(subtree, child.parent_code == subtree.c.code).where(_in_force(child, day))
    )


def _category_version(row: CategoryVersionRow) -> CategoryVersion:
    return CategoryVersion(
        code=row.code,
        version=row.version,
        department_code=row.department_code,
        name_en=row.name_en,
        name_hi=row.name_hi,
        default_track=row.default_track,
        is_other=row.is_other,
        retired=row.retired,
        merged_into_code=row.merged_into_code,
        service_time_limit_days=row.service_time_limit_days,
        change=CategoryChange(row.change),
        valid_from=as_utc(row.valid_from) if row.valid_from is not None else None,
        valid_to=as_utc(row.valid_to) if row.valid_to is not None else None,
        changed_by_account_id=row.changed_by_account_id,
        changed_by_position_id=row.changed_by_position_id,
    )


def _transfer(row: TransferRow) -> Transfer:
    return Transfer(
        id=row.id,
        grievance_id=row.grievance_id,
        from_position_id=row.from_position_id,
        from_department_code=row.from_department_code,
        to_department_code=row.to_department_code,
        reason=row.reason,
        state=TransferState(row.state),
        moderator_position_id=row.moderator_position_id,
        district_code=row.district_code,
        requested_at=as_utc(row.requested_at),
        requested_by_account_id=row.requested_by_account_id,
        requested_by_position_id=row.requested_by_position_id,
        to_position_id=row.to_position_id,
        decided_at=as_utc(row.decided_at) if row.decided_at is not None else None,
        decided_by_account_id=row.decided_by_account_id,
        decision_note=row.decision_note,
    )


def _category(row: CategoryRow) -> Category:
    return Category(
        code=row.code,
        department_code=row.department_code,
        name_en=row.name_en,
        name_hi=row.name_hi,
        default_track=row.default_track,
        is_other=row.is_other,
        retired=row.retired,
        merged_into_code=row.merged_into_code,
        service_time_limit_days=row.service_time_limit_days,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def _rule(row: L1RuleRow) -> L1Rule:
    return L1Rule(
        row.department_code, row.area_code, AreaLevel(row.area_level), row.position_id, row.valid_from, row.valid_to
    )


def record_key(table: str, record: MasterRecord) -> tuple[str, ...]:
    """The primary key of a record of `table`."""
    return tuple(str(getattr(record, name)) for name in TABLES[table][1])


@dataclass
class MasterData:
    """Every master-data row, keyed by primary key: what an import is checked against."""

    departments: dict[tuple[str, ...], Department] = field(default_factory=dict)
    areas: dict[tuple[str, ...], Area] = field(default_factory=dict)
    offices: dict[tuple[str, ...], Office] = field(default_factory=dict)
    positions: dict[tuple[str, ...], Position] = field(default_factory=dict)
    categories: dict[tuple[str, ...], Category] = field(default_factory=dict)
    l1_rules: dict[tuple[str, ...], L1Rule] = field(default_factory=dict)
    # Categories changed through the taxonomy RPCs since they were loaded: their department owns them now (H4).
    department_owned_categories: set[str] = field(default_factory=set)
    # Offices whose hearing day was fixed through SetHearingDay: the office owns the day from then on (B7).
    offices_owning_hearing_day: set[str] = field(default_factory=set)

    def table(self, name: str) -> dict[tuple[str, ...], Any]:
        """The rows of one table by name."""
        rows: dict[tuple[str, ...], Any] = getattr(self, name)
        return rows


class RoutingStore:
    """Queries over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_area(self, code: str, day: date) -> Area | None:
        """The area with `code`, when it is in force on `day`."""
        row = await self.session.scalar(select(AreaRow).where(AreaRow.code == code, _in_force(AreaRow, day)))
        return _area(row) if row is not None else None

    async def list_areas(self, parent_code: str | None, level: AreaLevel | None, day: date) -> list[Area]:
        """Areas in force on `day`, optionally under one parent and/or of one level."""
        query = select(AreaRow).where(_in_force(AreaRow, day))
        if parent_code:
            query = query.where(AreaRow.parent_code == parent_code)
        if level is not None:
            query = query.where(AreaRow.level == level.value)
        rows = await self.session.scalars(query.order_by(AreaRow.code))
        return [_area(r) for r in rows]

    async def get_department(self, code: str, day: date) -> Department | None:
        """The department with `code`, when in force on `day`."""
        row = await self.session.scalar(
            select(DepartmentRow).where(DepartmentRow.code == code, _in_force(DepartmentRow, day))
        )
        return _department(row) if row is not None else None

    async def list_departments(self, day: date) -> list[Department]:
        """Departments in force on `day`, by code."""
        rows = await self.session.scalars(
            select(DepartmentRow).where(_in_force(DepartmentRow, day)).order_by(DepartmentRow.code)
        )
        return [_department(r) for r in rows]

    async def get_category(self, code: str) -> Category | None:
        """The category with `code`, retired or not: old cases still name it."""
        row = await self.session.get(CategoryRow, code)
        return _category(row) if row is not None else None

    async def list_categories(self, department_code: str | None, include_retired: bool, day: date) -> list[Category]:
        """Categories in force on `day`, optionally of one department; retired ones only when asked."""
        query = select(CategoryRow).where(_in_force(CategoryRow, day))
        if department_code:
            query = query.where(CategoryRow.department_code == department_code)
        if not include_retired:
            query = query.where(CategoryRow.retired.is_(False))
        rows = await self.session.scalars(query.order_by(CategoryRow.department_code, CategoryRow.code))
        return [_category(r) for r in rows]

    async def get_office(self, office_id: str) -> Office | None:
        """The office with `office_id`."""
        row = await self.session.get(OfficeRow, office_id)
        return _office(row) if row is not None else None

    async def set_hearing_weekday(self, office_id: str, weekday: int, account_id: str, at: datetime) -> bool:
        """Fix an office's weekly hearing day (B7), recording who did and when; False when there is no such office."""
        result = await self.session.execute(
            update(OfficeRow)
            .where(OfficeRow.id == office_id)
            .values(hearing_weekday=weekday, hearing_weekday_set_by=account_id, hearing_weekday_set_at=at)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def district_of(self, area_code: str, day: date) -> Area | None:
        """The district an area is or lies in, following parents in force on `day`; None above district level."""
        path = (
            select(AreaRow.code, AreaRow.parent_code, literal(0).label("depth"))
            .where(AreaRow.code == area_code, _in_force(AreaRow, day))
            .cte("area_path", recursive=True)
        )
        parent = aliased(AreaRow)
        # The depth bound ends the walk even on a parent loop made by a bad manual edit.
        path = path.union_all(
            select(parent.code, parent.parent_code, path.c.depth + 1)
            .join(path, parent.code == path.c.parent_code)
            .where(_in_force(parent, day), path.c.depth < MAX_AREA_DEPTH)
        )
        row = await self.session.scalar(
            select(AreaRow)
            .join(path, AreaRow.code == path.c.code)
            .where(AreaRow.level == AreaLevel.DISTRICT.value)
            .order_by(path.c.depth)
            .limit(1)
        )
        return _area(row) if row is not None else None

    async def get_position(self, position_id: str) -> Position | None:
        """The position with `position_id`, whatever its dates: cases keep pointing at old posts."""
        found = (await self.session.execute(_positions_with_offices().where(PositionRow.id == position_id))).first()
        return _position_with_office(found) if found is not None else None

    async def list_reporting_to(self, position_ids: Sequence[str]) -> list[Position]:
        """Positions whose direct superior is one of `position_ids`, whatever their dates."""
        if not position_ids:
            return []
        result = await self.session.execute(
            _positions_with_offices()
            .where(PositionRow.reports_to_position_id.in_(list(position_ids)))
            .order_by(PositionRow.id)
        )
        return [_position_with_office(found) for found in result]

    async def list_positions(
        self, role: str | None, within_area_code: str | None, department_code: str | None, day: date
    ) -> list[Position]:
        """Positions in force on `day`, optionally of one role, in an area or below it, of one department."""
        query = _positions_with_offices().where(_in_force(PositionRow, day))
        if role:
            query = query.where(PositionRow.role == role)
        if within_area_code:
            subtree = _area_subtree(within_area_code, day)
            query = query.where(PositionRow.area_code.in_(select(subtree.c.code)))
        if department_code:
            query = query.where(PositionRow.department_code == department_code)
        result = await self.session.execute(query.order_by(PositionRow.id))
        return [_position_with_office(found) for found in result]

    # --- categories (H4) ---------------------------------------------------------------------------------------

    async def insert_category(self, category: Category) -> None:
        """Add a new category."""
        await self.session.execute(insert(CategoryRow), [_columns(category, CategoryRow)])

    async def save_category(self, category: Category) -> None:
        """Overwrite a category's current state."""
        await self.session.execute(update(CategoryRow), [_columns(category, CategoryRow)])

    async def categories_merged_into(self, code: str) -> list[Category]:
        """Retired categories whose cases were sent to `code`."""
        rows = await self.session.scalars(
            select(CategoryRow).where(CategoryRow.merged_into_code == code).order_by(CategoryRow.code)
        )
        return [_category(r) for r in rows]

    async def find_category_named(
        self, department_code: str, name_en: str, name_hi: str, except_code: str = ""
    ) -> Category | None:
        """A live category of the department already called `name_en` or `name_hi` (ignoring case)."""
        row = await self.session.scalar(
            select(CategoryRow)
            .where(
                CategoryRow.department_code == department_code,
                CategoryRow.retired.is_(False),
                CategoryRow.code != except_code,
                or_(func.lower(CategoryRow.name_en) == name_en.lower(), CategoryRow.name_hi == name_hi),
            )
            .limit(1)
        )
        return _category(row) if row is not None else None

    async def other_category(self, department_code: str) -> Category | None:
        """The department's live "Other" category."""
        row = await self.session.scalar(
            select(CategoryRow)
            .where(
                CategoryRow.department_code == department_code,
                CategoryRow.is_other.is_(True),
                CategoryRow.retired.is_(False),
            )
            .limit(1)
        )
        return _category(row) if row is not None else None

    async def category_versions(self, code: str) -> list[CategoryVersion]:
        """Every version of a category, oldest first."""
        rows = await self.session.scalars(
            select(CategoryVersionRow).where(CategoryVersionRow.code == code).order_by(CategoryVersionRow.version)
        )
        return [_category_version(r) for r in rows]

    async def close_category_version(self, code: str, version: int, at: datetime) -> None:
        """End a version: it was in force until `at`."""
        await self.session.execute(
            update(CategoryVersionRow)
            .where(CategoryVersionRow.code == code, CategoryVersionRow.version == version)
            .values(valid_to=at)
        )

    async def insert_category_version(self, version: CategoryVersion) -> None:
        """Record one version of a category."""
        await self.session.execute(insert(CategoryVersionRow), [_columns(version, CategoryVersionRow)])

    # --- moderator queue (S5) ----------------------------------------------------------------------------------

    async def insert_transfer(self, transfer: Transfer) -> None:
        """Queue a new transfer request."""
        await self.session.execute(insert(TransferRow), [_columns(transfer, TransferRow)])

    async def record_decision(self, transfer: Transfer) -> bool:
        """Write the DM's decision, only if the transfer is still pending; False when another decision came first."""
        values = _columns(transfer, TransferRow)
        del values["id"]
        result = await self.session.execute(
            update(TransferRow)
            .where(TransferRow.id == transfer.id, TransferRow.state == TransferState.PENDING.value)
            .values(**values)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def get_transfer(self, transfer_id: str) -> Transfer | None:
        """One transfer request by id."""
        row = await self.session.get(TransferRow, transfer_id)
        return _transfer(row) if row is not None else None

    async def pending_transfer(self, grievance_id: str) -> Transfer | None:
        """The case's transfer still waiting for the DM, if any."""
        row = await self.session.scalar(
            select(TransferRow).where(
                TransferRow.grievance_id == grievance_id, TransferRow.state == TransferState.PENDING.value
            )
        )
        return _transfer(row) if row is not None else None

    async def list_transfers(
        self,
        district_code: str | None,
        state: TransferState | None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Transfer]:
        """Transfer requests, oldest first (then by id), optionally of one district and/or in one state, those after
        the request whose (requested_at, id) is `after` in that order, at most `limit`."""
        query = select(TransferRow)
        if district_code:
            query = query.where(TransferRow.district_code == district_code)
        if state is not None:
            query = query.where(TransferRow.state == state.value)
        if after is not None:
            query = query.where(after_time_key(TransferRow.requested_at, TransferRow.id, after, newest_first=False))
        query = query.order_by(TransferRow.requested_at, TransferRow.id)
        rows = await self.session.scalars(query.limit(limit) if limit is not None else query)
        return [_transfer(r) for r in rows]

    async def find_l1_rule(self, department_code: str, area_codes: Sequence[str], day: date) -> L1Rule | None:
        """The rule in force for the department in the first of `area_codes` that has one (nearest area first)."""
        if not area_codes:
            return None
        rows = await self.session.scalars(
            select(L1RuleRow).where(
                L1RuleRow.department_code == department_code,
                L1RuleRow.area_code.in_(list(area_codes)),
                _in_force(L1RuleRow, day),
            )
        )
        by_area = {r.area_code: r for r in rows}
        for code in area_codes:
            if code in by_area:
                return _rule(by_area[code])
        return None

    async def snapshot(self) -> MasterData:
        """Every row of every master-data table (the whole state's master data fits in memory comfortably)."""
        data = MasterData()
        for row in await self.session.scalars(select(DepartmentRow)):
            data.departments[(row.code,)] = _department(row)
        for area_row in await self.session.scalars(select(AreaRow)):
            data.areas[(area_row.code,)] = _area(area_row)
        for office_row in await self.session.scalars(select(OfficeRow)):
            data.offices[(office_row.id,)] = _office(office_row)
        for position_row in await self.session.scalars(select(PositionRow)):
            data.positions[(position_row.id,)] = _position(position_row)
        for category_row in await self.session.scalars(select(CategoryRow)):
            data.categories[(category_row.code,)] = _category(category_row)
        for rule_row in await self.session.scalars(select(L1RuleRow)):
            data.l1_rules[(rule_row.department_code, rule_row.area_code)] = _rule(rule_row)
        data.department_owned_categories = set(await self.session.scalars(select(CategoryVersionRow.code).distinct()))
        data.offices_owning_hearing_day = set(
            await self.session.scalars(select(OfficeRow.id).where(OfficeRow.hearing_weekday_set_at.is_not(None)))
        )
        return data

    async def insert_records(self, table: str, records: Sequence[MasterRecord]) -> None:
        """Insert new rows, in the order given (parents before children)."""
        if records:
            model, _ = TABLES[table]
            # A Core executemany keeps this order; the ORM unit of work would reorder the rows of one table.
            await self.session.execute(insert(model), [_columns(r, model) for r in records])

    async def update_records(self, table: str, records: Sequence[MasterRecord]) -> None:
        """Overwrite existing rows, matched by primary key."""
        if records:
            model, _ = TABLES[table]
            await self.session.execute(update(model), [_columns(r, model) for r in records])


def _columns(record: Any, model: Any) -> dict[str, Any]:
    """The column values of a domain record; fields that are not columns of the table (office names) are left out."""
    columns = set(model.__table__.columns.keys())
    values = {name: value for name, value in dataclasses.asdict(record).items() if name in columns}
    for name, value in values.items():
        if isinstance(value, StrEnum):
            values[name] = value.value
    return values
