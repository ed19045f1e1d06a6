"""Routing's own tables: master data, each row with valid_from / valid_to for history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from nivaran_common.db import Base

CODE = 64
NAME = 300
ACCOUNT = 128
NOTE = 2000


class RoutingBase(Base):
    __abstract__ = True
    # Routing's own metadata, so its tables never share a namespace with another service's in one process, and
    # constraints get stable names (SQLite batch migrations need them).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class AreaRow(RoutingBase):
    __tablename__ = "areas"
    __table_args__ = (Index("ix_areas_parent_level", "parent_code", "level"),)

    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    level: Mapped[str] = mapped_column(String(24), index=True)
    name_en: Mapped[str] = mapped_column(String(NAME))
    name_hi: Mapped[str] = mapped_column(String(NAME))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class DepartmentRow(RoutingBase):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(NAME))
    name_hi: Mapped[str] = mapped_column(String(NAME))
    has_district_office: Mapped[bool] = mapped_column(Boolean)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class OfficeRow(RoutingBase):
    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    # Empty for general-administration offices (the Collectorate, the Chief Secretary's office).
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), index=True)
    name_en: Mapped[str] = mapped_column(String(NAME))
    name_hi: Mapped[str] = mapped_column(String(NAME))
    level: Mapped[str] = mapped_column(String(24))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # ISO weekday of the weekly hearings (B7), 1 = Monday ... 7 = Sunday; NULL while not fixed.
    hearing_weekday: Mapped[int | None] = mapped_column(Integer)
    # Who fixed the day through SetHearingDay, and when. Once set, the office owns its day: a reload of the master
    # data files (at every start with a seed folder) leaves it alone.
    hearing_weekday_set_by: Mapped[str | None] = mapped_column(String(ACCOUNT))
    hearing_weekday_set_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PositionRow(RoutingBase):
    __tablename__ = "positions"

    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), index=True)
    title_en: Mapped[str] = mapped_column(String(NAME))
    title_hi: Mapped[str] = mapped_column(String(NAME))
    role: Mapped[str] = mapped_column(String(32), index=True)
    reports_to_position_id: Mapped[str | None] = mapped_column(ForeignKey("positions.id"), index=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    level: Mapped[str] = mapped_column(String(24))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class CategoryRow(RoutingBase):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    name_en: Mapped[str] = mapped_column(String(NAME))
    name_hi: Mapped[str] = mapped_column(String(NAME))
    default_track: Mapped[str] = mapped_column(String(32))
    is_other: Mapped[bool] = mapped_column(Boolean)
    retired: Mapped[bool] = mapped_column(Boolean)
    merged_into_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    service_time_limit_days: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class L1RuleRow(RoutingBase):
    """For a department in an area (a district, or the state for departments without district offices): the L1."""

    __tablename__ = "l1_rules"

    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)
    area_level: Mapped[str] = mapped_column(String(24))
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class CategoryVersionRow(RoutingBase):
    """Every state a category has had (H4): a change closes the open version and opens the next."""

    __tablename__ = "category_versions"
    # Two concurrent changes of one category would both write the same next version; the loser rolls back.
    __table_args__ = (UniqueConstraint("code", "version", name="uq_category_versions_code_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    department_code: Mapped[str] = mapped_column(String(CODE))
    name_en: Mapped[str] = mapped_column(String(NAME))
    name_hi: Mapped[str] = mapped_column(String(NAME))
    default_track: Mapped[str] = mapped_column(String(32))
    is_other: Mapped[bool] = mapped_column(Boolean)
    retired: Mapped[bool] = mapped_column(Boolean)
    merged_into_code: Mapped[str | None] = mapped_column(String(CODE))
    service_time_limit_days: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    changed_by_account_id: Mapped[str] = mapped_column(String(ACCOUNT))
    changed_by_position_id: Mapped[str] = mapped_column(String(CODE))


class TransferRow(RoutingBase):
    """An inter-department transfer waiting for, or decided by, the district's DM (S5)."""

    __tablename__ = "transfer_requests"
    __table_args__ = (
        # At most one pending transfer per case, even when two requests race.
        Index(
            "uq_transfer_requests_pending_grievance",
            "grievance_id",
            unique=True,
            sqlite_where=text("state = 'PENDING'"),
            postgresql_where=text("state = 'PENDING'"),
        ),
        Index("ix_transfer_requests_queue", "district_code", "state", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grievance_id: Mapped[str] = mapped_column(String(CODE), index=True)
    from_position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    from_department_code: Mapped[str | None] = mapped_column(String(CODE))
    to_department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    to_position_id: Mapped[str | None] = mapped_column(ForeignKey("positions.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    moderator_position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by_account_id: Mapped[str] = mapped_column(String(ACCOUNT))
    requested_by_position_id: Mapped[str] = mapped_column(String(CODE))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_account_id: Mapped[str] = mapped_column(String(ACCOUNT))
    decision_note: Mapped[str] = mapped_column(Text)
