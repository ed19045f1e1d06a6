"""Sahyog camps (S1, S3): the DM sets a camp (शिविर) per panchayat, with its day and venue. Applications for a camp are
accepted from 30 days before it until the day after it (the applications taken at the camp are uploaded the same
or the next day); a filing made for a camp (by its id) runs the `sahyog_camp` track on the `camp` channel, so camp
cases and other cases stay two tracks in every list and report (S3). The track comes from the camp, never from a
field the citizen sets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import AlreadyExists, FieldViolation, InvalidArgument, PermissionDenied
from nivaran_common.paging import TOKEN_FIELD, encode_token, page_of
from nivaran_common.timeutil import utcnow
from nivaran_intake.domain import Channel, Location, ValidGrievance
from nivaran_intake.tables import CampRow

CAMP_TRACK = "sahyog_camp"
# The camps' pages (nivaran_common.paging): soonest first.
CAMPS_LISTING = "camps"
# S1: applications are accepted from this many days before the camp ...
ACCEPTED_FROM_DAYS = 30
# ... until the day after it, when the applications taken at the camp must be uploaded.
UPLOADED_BY_DAYS = 1


@dataclass(frozen=True)
class NewCamp:
    """A camp as the DM sets it."""

    district_code: str
    block_code: str
    panchayat_code: str
    held_on: str
    venue_en: str
    venue_hi: str
    created_by_account_id: str


def window(camp: CampRow) -> tuple[date, date]:
    """The days a camp's applications are accepted on, first and last."""
    return camp.held_on - timedelta(days=ACCEPTED_FROM_DAYS), camp.held_on + timedelta(days=UPLOADED_BY_DAYS)


class CampService:
    """Camps: set by the DM of the district, listed for everyone, and checked at filing."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(self, camp: NewCamp, *, dm_district: str, today: date) -> CampRow:
        """S1: the DM of the camp's district sets it; one camp per panchayat and day."""
        violations: list[FieldViolation] = []
        district = camp.district_code.strip().upper()
        panchayat = camp.panchayat_code.strip().upper()
        if not district:
            violations.append(FieldViolation("district_code", "is required / आवश्यक"))
        if not panchayat.startswith(f"{district}-"):
            violations.append(FieldViolation("panchayat_code", f"a panchayat of district {district} / पंचायत कोड"))
        held_on: date | None = None
        try:
            held_on = date.fromisoformat(camp.held_on.strip())
        except ValueError:
            violations.append(FieldViolation("held_on", "a date, YYYY-MM-DD / तिथि"))
        if held_on is not None and held_on < today:
            violations.append(FieldViolation("held_on", "is in the past / पिछली तिथि"))
        for name, value in (("venue.en", camp.venue_en), ("venue.hi", camp.venue_hi)):
            if not 3 <= len(value.strip()) <= 300:
                violations.append(FieldViolation(name, "3 to 300 characters / 3 से 300 अक्षर"))
        if violations or held_on is None:
            raise InvalidArgument.of(violations)
        if district != dm_district:
            raise PermissionDenied(f"only the DM of {district} sets its camps / केवल उस जिले के जिलाधिकारी")
        row = CampRow(
            id=str(uuid.uuid4()),
            district_code=district,
            block_code=camp.block_code.strip().upper(),
            panchayat_code=panchayat,
            held_on=held_on,
            venue_en=camp.venue_en.strip(),
            venue_hi=camp.venue_hi.strip(),
            created_by_account_id=camp.created_by_account_id,
            created_at=utcnow(),
        )
        try:
            async with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError as exc:
            raise AlreadyExists(f"panchayat {panchayat} already has a camp on {held_on.isoformat()}") from exc
        return row

    async def list(
        self,
        *,
        district_code: str,
        panchayat_code: str,
        from_date: date,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[Sequence[CampRow], str]:
        """One page of the camps from `from_date` on, soonest first (by day, then panchayat: a panchayat holds one
        camp a day), and the token of the next page ("" on the last)."""
        page = page_of(CAMPS_LISTING, page_size, page_token)
        stmt = select(CampRow).where(CampRow.held_on >= from_date).order_by(CampRow.held_on, CampRow.panchayat_code)
        if district_code:
            stmt = stmt.where(CampRow.district_code == district_code.strip().upper())
        if panchayat_code:
            stmt = stmt.where(CampRow.panchayat_code == panchayat_code.strip().upper())
        if page.after is not None:
            try:
                day = date.fromisoformat(page.after[0])
            except ValueError as exc:
                raise InvalidArgument.field(TOKEN_FIELD, f"is not a page token of {CAMPS_LISTING}") from exc
            stmt = stmt.where(
                or_(CampRow.held_on > day, and_(CampRow.held_on == day, CampRow.panchayat_code > page.after[1]))
            )
        async with self.sessions() as session:
            found = (await session.execute(stmt.limit(page.size + 1))).scalars().all()
        return page.cut(found, lambda c: encode_token(CAMPS_LISTING, c.held_on.isoformat(), c.panchayat_code))

    async def for_filing(self, valid: ValidGrievance, today: date) -> ValidGrievance:
        """S1: a filing for a camp, within the camp's window (or, uploaded from paper, taken by the camp within it), in
        its panchayat: the camp track and channel."""
        async with self.sessions() as session:
            camp = await session.get(CampRow, valid.camp_id)
        if camp is None:
            raise InvalidArgument.field("camp_id", "no such camp / ऐसा कोई शिविर नहीं")
        where = valid.location
        if where.district_code != camp.district_code or (
            where.panchayat_code and where.panchayat_code.upper() != camp.panchayat_code
        ):
            raise InvalidArgument.field(
                "location.panchayat_code", f"the camp is for panchayat {camp.panchayat_code} / शिविर की पंचायत"
            )
        first, last = window(camp)
        received = valid.camp_received_on
        if received is not None and not first <= received <= last:
            raise InvalidArgument.field(
                "camp_received_on",
                f"the camp of {camp.held_on.isoformat()} took applications from {first.isoformat()} to "
                f"{last.isoformat()} (S1) / शिविर के आवेदन {first.isoformat()} से {last.isoformat()} तक",
            )
        # A paper application the camp took is uploaded later (its lateness is sla's camp_upload breach, S1).
        if received is None and not first <= today <= last:
            raise InvalidArgument.field(
                "camp_id",
                f"the camp of {camp.held_on.isoformat()} takes applications from {first.isoformat()} to "
                f"{last.isoformat()} (S1) / शिविर के आवेदन {first.isoformat()} से {last.isoformat()} तक",
            )
        location = Location(
            state_code=where.state_code,
            district_code=camp.district_code,
            subdivision_code=where.subdivision_code,
            block_code=where.block_code or camp.block_code,
            panchayat_code=camp.panchayat_code,
            thana_code=where.thana_code,
        )
        return replace(valid, track=CAMP_TRACK, channel=Channel.CAMP, location=location)
