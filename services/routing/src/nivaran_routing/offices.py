"""Office use cases: reading an office, and fixing its weekly hearing day (B7). Each opens its own transaction.

B7 (Bihar Public Grievance Redressal Rules 2018, §6): every PGRO fixes at least one day a week for hearings and shows
it on the office's notice board. The day is master data of the office; the office itself, or the DM of its
district, may change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.timeutil import utcnow
from nivaran_routing.domain import (
    ROLE_DM,
    Office,
    OfficeEditor,
    bilingual,
    in_force,
    is_weekday,
)
from nivaran_routing.service import today_in_india
from nivaran_routing.store import RoutingStore


class OfficeService:
    """Use cases over one office at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        today: Callable[[], date] = today_in_india,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.today = today
        self.now = now

    async def get_office(self, office_id: str) -> Office:
        """One office by id, whatever its dates (positions and cases keep pointing at old offices)."""
        if not office_id:
            raise InvalidArgument.of([_required("office_id")])
        async with self.sessions() as session, session.begin():
            office = await RoutingStore(session).get_office(office_id)
        if office is None:
            raise _unknown_office(office_id)
        return office

    async def set_hearing_day(self, office_id: str, weekday: int, editor: OfficeEditor) -> Office:
        """Fix the office's weekly hearing day (B7); only its own officers or the DM of its district may."""
        violations: list[FieldViolation] = [] if office_id else [_required("office_id")]
        if not is_weekday(weekday):
            violations.append(
                FieldViolation(
                    "weekday",
                    bilingual(
                        f"{weekday} is not a weekday: use 1 (Monday) to 7 (Sunday)",
                        f"{weekday} सप्ताह का दिन नहीं है: 1 (सोमवार) से 7 (रविवार) दें",
                    ),
                )
            )
        if violations:
            raise InvalidArgument.of(violations)
        day, now = self.today(), self.now()
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            office = await store.get_office(office_id)
            if office is None:
                raise _unknown_office(office_id)
            await _require_editor(store, office, editor, day)
            if not in_force(office.valid_from, office.valid_to, day):
                raise FailedPrecondition(
                    bilingual(
                        f"office {office.id} is not in force on {day.isoformat()}; its hearing day cannot be fixed",
                        f"कार्यालय {office.id} {day.isoformat()} को प्रभावी नहीं है; सुनवाई का दिन तय नहीं हो सकता",
                    )
                )
            # Written even when the day is unchanged: the office now owns it, and a master-data reload keeps it.
            await store.set_hearing_weekday(office.id, weekday, editor.account_id, now)
        return replace(office, hearing_weekday=weekday)


async def _require_editor(store: RoutingStore, office: Office, editor: OfficeEditor, day: date) -> None:
    """PERMISSION_DENIED unless `editor` holds a post of `office` in force on `day`, or is the DM of its district."""
    for position_id in editor.positions:
        position = await store.get_position(position_id)
        if (
            position is not None
            and position.office_id == office.id
            and in_force(position.valid_from, position.valid_to, day)
        ):
            return
    if ROLE_DM in editor.roles and editor.district:
        district = await store.district_of(office.area_code, day)
        if district is not None and district.code == editor.district:
            return
    raise PermissionDenied(
        bilingual(
            f"only an officer holding a post of office {office.id}, or the DM of its district, may fix its hearing day",
            f"कार्यालय {office.id} का सुनवाई दिवस केवल उसके पदधारी पदाधिकारी या उसके जिले के जिलाधिकारी तय कर सकते हैं",
        )
    )


def _required(name: str) -> FieldViolation:
    return FieldViolation(name, bilingual(f"{name} is required", f"{name} आवश्यक है"))


def _unknown_office(office_id: str) -> NotFound:
    return NotFound(bilingual(f"no office {office_id!r}", f"कार्यालय {office_id!r} नहीं मिला"))
