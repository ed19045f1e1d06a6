"""Routing use cases: who must act on a case (S8, S5), where a location is, who is above whom. Owns transactions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from nivaran_common.paging import page_of, time_key, time_token
from nivaran_common.timeutil import IST, utcnow
from nivaran_routing.domain import (
    CODE_PATTERN,
    DEVANAGARI,
    LEVEL_NAMES_HI,
    MAX_TEXT,
    ROLE_DM,
    ROLE_PATTERN,
    ROLE_SECRETARY,
    RTS_TRACK,
    RULE_DEPARTMENT_LEVEL,
    RULE_DISTRICT_L1,
    TRACK_PATTERN,
    Actor,
    Area,
    AreaLevel,
    Category,
    CategoryChange,
    CategoryVersion,
    Department,
    ImportReport,
    L1Resolution,
    L1Rule,
    Location,
    NewTransfer,
    Position,
    Transfer,
    TransferPage,
    TransferState,
    bilingual,
    in_force,
)
from nivaran_routing.loader import MasterDataLoader
from nivaran_routing.store import RoutingStore

# Far deeper than any real hierarchy (block officer to Chief Secretary is about seven steps).
MAX_CHAIN = 32
# The moderator queue's pages (nivaran_common.paging): oldest first.
TRANSFERS_LISTING = "transfers"
# A transfer's reason must say something a DM can decide on; "wrong dept" is not enough.
MIN_REASON = 10
MAX_NOTE = 2000
MAX_ID = 64


def today_in_india() -> date:
    """Today's date in Asia/Kolkata: master data takes effect by Indian calendar days."""
    return datetime.now(IST).date()


def _level_en(level: AreaLevel) -> str:
    return level.value.replace("_", " ")


@dataclass
class _CheckedLocation:
    areas: list[Area] = field(default_factory=list)
    violations: list[FieldViolation] = field(default_factory=list)
    district: Area | None = None


class RoutingService:
    """Read-mostly use cases over master data; imports go through the loader."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        today: Callable[[], date] = today_in_india,
        now: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.sessions = sessions
        self.today = today
        self.now = now
        self.new_id = new_id
        self.loader = MasterDataLoader(sessions)

    async def resolve_l1(self, category_code: str, location: Location) -> L1Resolution:
        """The L1 position for a new case (S8); department level when the department has no district office (S5)."""
        day = self.today()
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            violations: list[FieldViolation] = []
            category = await self._routable_category(store, category_code, day, violations)
            checked = await self._check_location(store, location, day)
            violations += checked.violations
            if violations:
                raise InvalidArgument.of(violations)
            # No violations means both were found.
            assert category is not None
            assert checked.district is not None
            district = checked.district
            department = await store.get_department(category.department_code, day)
            if department is None:
                raise FailedPrecondition(
                    bilingual(
                        f"department {category.department_code} of category {category.code} is not in force",
                        f"श्रेणी {category.code} का विभाग {category.department_code} प्रभावी नहीं है",
                    )
                )
            rule, reason = await self._l1_rule(store, department, district, day)
            position = await self._l1_position(store, rule, department, day)
            office = await store.get_office(position.office_id)
            assert office is not None  # a foreign key guarantees it
            return L1Resolution(position, office, department, category, reason)

    async def validate_location(self, location: Location) -> list[Area]:
        """The areas a location names, after checking each exists and sits inside the one above it."""
        async with self.sessions() as session, session.begin():
            checked = await self._check_location(RoutingStore(session), location, self.today())
        if checked.violations:
            raise InvalidArgument.of(checked.violations)
        return checked.areas

    async def reporting_chain(self, position_id: str) -> list[Position]:
        """The position, then each superior in turn up to the top (the Chief Secretary)."""
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            current = await self._position(store, position_id)
            chain: list[Position] = []
            seen: set[str] = set()
            while True:
                if current.id in seen or len(chain) >= MAX_CHAIN:
                    raise FailedPrecondition(
                        bilingual(
                            f"the reporting chain of {position_id} loops back at {current.id}; fix reports_to in "
                            "the positions master data",
                            f"{position_id} की रिपोर्टिंग शृंखला {current.id} पर लौट आती है; पद मास्टर डेटा ठीक करें",
                        )
                    )
                seen.add(current.id)
                chain.append(current)
                if not current.reports_to_position_id:
                    return chain
                superior = await store.get_position(current.reports_to_position_id)
                if superior is None:
                    raise FailedPrecondition(
                        bilingual(
                            f"{current.id} reports to unknown position {current.reports_to_position_id}",
                            f"{current.id} अज्ञात पद {current.reports_to_position_id} को रिपोर्ट करता है",
                        )
                    )
                current = superior

    async def get_position(self, position_id: str) -> Position:
        """One position by id."""
        async with self.sessions() as session, session.begin():
            return await self._position(RoutingStore(session), position_id)

    async def list_departments(self) -> list[Department]:
        """Departments in force today."""
        async with self.sessions() as session, session.begin():
            return await RoutingStore(session).list_departments(self.today())

    async def list_categories(self, department_code: str, include_retired: bool) -> list[Category]:
        """Categories in force today, of one department or all."""
        day = self.today()
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            if department_code and await store.get_department(department_code, day) is None:
                raise InvalidArgument.field(
                    "department_code",
                    bilingual(f"unknown department {department_code!r}", f"अज्ञात विभाग {department_code!r}"),
                )
            return await store.list_categories(department_code or None, include_retired, day)

    async def get_category(self, code: str) -> Category:
        """One category by code, retired ones included (old cases still name them)."""
        if not code:
            raise InvalidArgument.field("code", bilingual("category code is required", "श्रेणी कोड आवश्यक है"))
        async with self.sessions() as session, session.begin():
            category = await RoutingStore(session).get_category(code)
        if category is None:
            raise NotFound(bilingual(f"no category {code!r}", f"श्रेणी {code!r} नहीं मिली"))
        return category

    async def list_areas(self, parent_code: str, level: AreaLevel | None) -> list[Area]:
        """Areas in force today, under a parent and/or of a level."""
        day = self.today()
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            if parent_code and await store.get_area(parent_code, day) is None:
                raise InvalidArgument.field(
                    "parent_code", bilingual(f"unknown area {parent_code!r}", f"अज्ञात क्षेत्र {parent_code!r}")
                )
            return await store.list_areas(parent_code or None, level, day)

    async def subordinate_positions(self, position_id: str) -> list[Position]:
        """Every position below this one in the reporting chain (its jurisdiction), nearest first.

        Posts out of force are included: cases keep pointing at old posts, and they stay in their superior's view.
        """
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            root = await self._position(store, position_id)
            found: list[Position] = []
            seen = {root.id}
            frontier = [root.id]
            # A reporting loop (a bad manual edit) cannot run forever: each post is visited once.
            for _ in range(MAX_CHAIN):
                below = [p for p in await store.list_reporting_to(frontier) if p.id not in seen]
                if not below:
                    break
                seen.update(p.id for p in below)
                found += below
                frontier = [p.id for p in below]
            return found

    async def list_positions(self, role: str, area_code: str, department_code: str) -> list[Position]:
        """Positions in force today, by role, in an area or any area below it, and of a department."""
        day = self.today()
        role = role.strip().upper()
        violations: list[FieldViolation] = []
        if role and not ROLE_PATTERN.match(role):
            violations.append(
                FieldViolation("role", bilingual(f"{role!r} is not a role, e.g. L1, DM", f"{role!r} भूमिका नहीं है"))
            )
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            if area_code and await store.get_area(area_code, day) is None:
                violations.append(
                    FieldViolation("area_code", bilingual(f"unknown area {area_code!r}", f"अज्ञात क्षेत्र {area_code!r}"))
                )
            if department_code and await store.get_department(department_code, day) is None:
                violations.append(_unknown_department("department_code", department_code))
            if violations:
                raise InvalidArgument.of(violations)
            return await store.list_positions(role or None, area_code or None, department_code or None, day)

    # --- categories (H4) ---------------------------------------------------------------------------------------

    async def create_category(self, proposed: Category, actor: Actor) -> Category:
        """A department secretary adds a category to their department's taxonomy (H4)."""
        day, now = self.today(), self.now()
        violations = _category_violations(proposed)
        try:
            async with self.sessions() as session, session.begin():
                store = RoutingStore(session)
                department = None
                if proposed.department_code:
                    department = await store.get_department(proposed.department_code, day)
                    if department is None:
                        violations.append(_unknown_department("category.department_code", proposed.department_code))
                if violations:
                    raise InvalidArgument.of(violations)
                assert department is not None  # no violations means it was found
                await self._require_secretary(store, actor, department, day)
                if await store.get_category(proposed.code) is not None:
                    raise AlreadyExists(
                        bilingual(f"category {proposed.code} already exists", f"श्रेणी {proposed.code} पहले से है")
                    )
                await self._refuse_name_clash(store, department.code, proposed.name_en, proposed.name_hi, "")
                if proposed.is_other:
                    other = await store.other_category(department.code)
                    if other is not None:
                        raise AlreadyExists(
                            bilingual(
                                f"department {department.code} already has its Other category {other.code}",
                                f"विभाग {department.code} की 'अन्य' श्रेणी {other.code} पहले से है",
                            )
                        )
                category = replace(proposed, retired=False, merged_into_code=None, valid_from=day, valid_to=None)
                await store.insert_category(category)
                await self._record_change(store, None, category, CategoryChange.CREATED, actor, now)
        except IntegrityError as exc:
            raise _changed_concurrently() from exc
        return category

    async def rename_category(self, code: str, name_en: str, name_hi: str, actor: Actor) -> Category:
        """A department secretary renames a category; earlier names stay in its history (H4)."""
        day, now = self.today(), self.now()
        violations = [] if code else [_required("code")]
        violations += _name_violations("name", name_en, name_hi)
        if violations:
            raise InvalidArgument.of(violations)
        try:
            async with self.sessions() as session, session.begin():
                store = RoutingStore(session)
                category = await self._category(store, code)
                await self._require_secretary_of(store, actor, category.department_code, day)
                if category.retired:
                    raise FailedPrecondition(_retired_message(category))
                if (category.name_en, category.name_hi) == (name_en, name_hi):
                    return category
                await self._refuse_name_clash(store, category.department_code, name_en, name_hi, category.code)
                renamed = replace(category, name_en=name_en, name_hi=name_hi)
                await store.save_category(renamed)
                await self._record_change(store, category, renamed, CategoryChange.RENAMED, actor, now)
        except IntegrityError as exc:
            raise _changed_concurrently() from exc
        return renamed

    async def merge_categories(self, source_codes: Sequence[str], target_code: str, actor: Actor) -> Category:
        """Retire the sources into the target of the same department; new cases must use the target (H4)."""
        day, now = self.today(), self.now()
        violations: list[FieldViolation] = []
        if not target_code:
            violations.append(_required("target_code"))
        if not source_codes:
            violations.append(
                FieldViolation("source_codes", bilingual("name the categories to merge", "विलय की जाने वाली श्रेणियाँ दें"))
            )
        for index, code in enumerate(source_codes):
            if not code:
                violations.append(_required(f"source_codes[{index}]"))
            elif code == target_code:
                violations.append(
                    FieldViolation(
                        f"source_codes[{index}]",
                        bilingual("a category cannot be merged into itself", "श्रेणी का विलय स्वयं में नहीं हो सकता"),
                    )
                )
        if violations:
            raise InvalidArgument.of(violations)
        try:
            async with self.sessions() as session, session.begin():
                store = RoutingStore(session)
                target = await self._category(store, target_code)
                await self._require_secretary_of(store, actor, target.department_code, day)
                if target.retired:
                    raise FailedPrecondition(_retired_message(target))
                sources: list[Category] = []
                seen: set[str] = set()
                for index, code in enumerate(source_codes):
                    if code in seen:
                        continue
                    seen.add(code)
                    source = await store.get_category(code)
                    if source is None:
                        violations.append(
                            FieldViolation(
                                f"source_codes[{index}]",
                                bilingual(f"unknown category {code!r}", f"अज्ञात श्रेणी {code!r}"),
                            )
                        )
                    elif source.department_code != target.department_code:
                        violations.append(
                            FieldViolation(
                                f"source_codes[{index}]",
                                bilingual(
                                    f"category {code} belongs to department {source.department_code}, not "
                                    f"{target.department_code}; categories merge only within one department",
                                    f"श्रेणी {code} विभाग {source.department_code} की है; विलय एक ही विभाग में होता है",
                                ),
                            )
                        )
                    else:
                        sources.append(source)
                if violations:
                    raise InvalidArgument.of(violations)
                for source in sources:
                    if source.retired and source.merged_into_code == target.code:
                        continue  # merged already: a retried request changes nothing
                    if source.retired:
                        raise FailedPrecondition(_retired_message(source))
                    if source.is_other:
                        raise FailedPrecondition(_other_message(source))
                    merged = replace(source, retired=True, merged_into_code=target.code)
                    await store.save_category(merged)
                    await self._record_change(store, source, merged, CategoryChange.MERGED, actor, now)
                    # Categories merged into this one earlier follow it, so a refusal always names a live category.
                    for earlier in await store.categories_merged_into(source.code):
                        repointed = replace(earlier, merged_into_code=target.code)
                        await store.save_category(repointed)
                        await self._record_change(store, earlier, repointed, CategoryChange.REPOINTED, actor, now)
        except IntegrityError as exc:
            raise _changed_concurrently() from exc
        return target

    async def retire_category(self, code: str, actor: Actor) -> Category:
        """Retire a category: old cases keep it, new ones cannot use it; "Other" stays (H4)."""
        day, now = self.today(), self.now()
        if not code:
            raise InvalidArgument.of([_required("code")])
        try:
            async with self.sessions() as session, session.begin():
                store = RoutingStore(session)
                category = await self._category(store, code)
                await self._require_secretary_of(store, actor, category.department_code, day)
                if category.is_other:
                    raise FailedPrecondition(_other_message(category))
                if category.retired:
                    return category
                retired = replace(category, retired=True)
                await store.save_category(retired)
                await self._record_change(store, category, retired, CategoryChange.RETIRED, actor, now)
        except IntegrityError as exc:
            raise _changed_concurrently() from exc
        return retired

    async def category_history(self, code: str) -> list[CategoryVersion]:
        """Every version of a category, oldest first (empty until it is first changed through H4)."""
        async with self.sessions() as session, session.begin():
            return await RoutingStore(session).category_versions(code)

    async def _category(self, store: RoutingStore, code: str) -> Category:
        category = await store.get_category(code)
        if category is None:
            raise NotFound(bilingual(f"no category {code!r}", f"श्रेणी {code!r} नहीं मिली"))
        return category

    async def _require_secretary_of(self, store: RoutingStore, actor: Actor, department_code: str, day: date) -> None:
        department = await store.get_department(department_code, day)
        if department is None:
            raise FailedPrecondition(
                bilingual(f"department {department_code} is not in force", f"विभाग {department_code} प्रभावी नहीं है")
            )
        await self._require_secretary(store, actor, department, day)

    async def _require_secretary(self, store: RoutingStore, actor: Actor, department: Department, day: date) -> None:
        """Only the department's secretary owns its taxonomy (H4): both the actor's role and their post must say so."""
        position = await store.get_position(actor.position_id) if actor.position_id else None
        if (
            actor.role != ROLE_SECRETARY
            or position is None
            or position.role != ROLE_SECRETARY
            or position.department_code != department.code
            or not in_force(position.valid_from, position.valid_to, day)
        ):
            raise PermissionDenied(
                bilingual(
                    f"only the secretary of the {department.name_en} ({department.code}) may change its categories",
                    f"केवल {department.name_hi} के सचिव इसकी श्रेणियाँ बदल सकते हैं",
                )
            )

    async def _refuse_name_clash(
        self, store: RoutingStore, department_code: str, name_en: str, name_hi: str, except_code: str
    ) -> None:
        clash = await store.find_category_named(department_code, name_en, name_hi, except_code)
        if clash is not None:
            raise AlreadyExists(
                bilingual(
                    f"category {clash.code} of department {department_code} is already called "
                    f"{clash.name_en!r} / {clash.name_hi!r}",
                    f"विभाग {department_code} की श्रेणी {clash.code} का यही नाम है",
                )
            )

    async def _record_change(
        self,
        store: RoutingStore,
        before: Category | None,
        after: Category,
        change: CategoryChange,
        actor: Actor,
        now: datetime,
    ) -> None:
        """Close the category's open version and open the next, so no earlier state is lost."""
        versions = await store.category_versions(after.code)
        if versions:
            last = versions[-1]
            if last.valid_to is None:
                await store.close_category_version(after.code, last.version, now)
            number = last.version + 1
        elif before is not None:
            # Loaded from master data before its first change: keep that state as version 1.
            start = datetime.combine(before.valid_from, time(), IST) if before.valid_from else None
            await store.insert_category_version(_version(before, 1, CategoryChange.IMPORTED, start, now, Actor()))
            number = 2
        else:
            number = 1
        await store.insert_category_version(_version(after, number, change, now, None, actor))

    # --- moderator queue (S5) ----------------------------------------------------------------------------------

    async def request_transfer(self, new: NewTransfer) -> Transfer:
        """Queue an L1's forward to another department for the DM of the case's district (S5)."""
        day, now = self.today(), self.now()
        reason = new.reason.strip()
        reason_violations: list[FieldViolation] = []
        if len(reason) < MIN_REASON:
            reason_violations.append(
                FieldViolation(
                    "reason",
                    bilingual(
                        f"give the reason for the transfer in at least {MIN_REASON} characters",
                        f"स्थानांतरण का कारण कम से कम {MIN_REASON} अक्षरों में लिखें",
                    ),
                )
            )
        elif len(reason) > MAX_NOTE:
            reason_violations.append(_too_long("reason"))
        try:
            async with self.sessions() as session, session.begin():
                store = RoutingStore(session)
                # Violations are reported in the order of the request's fields.
                violations = _id_violations("grievance_id", new.grievance_id)
                source_violations = _id_violations("from_position_id", new.from_position_id)
                source = None
                if not source_violations:
                    source = await store.get_position(new.from_position_id)
                    if source is None:
                        source_violations.append(
                            FieldViolation(
                                "from_position_id",
                                bilingual(
                                    f"unknown position {new.from_position_id!r}", f"अज्ञात पद {new.from_position_id!r}"
                                ),
                            )
                        )
                violations += source_violations
                if not new.to_department_code:
                    violations.append(_required("to_department_code"))
                else:
                    department = await store.get_department(new.to_department_code, day)
                    if department is None:
                        violations.append(_unknown_department("to_department_code", new.to_department_code))
                    elif source is not None and source.department_code == department.code:
                        violations.append(
                            FieldViolation(
                                "to_department_code",
                                bilingual(
                                    f"{source.id} is already in department {department.code}; a transfer goes to "
                                    "another department (forward within the department instead)",
                                    f"{source.id} पहले से विभाग {department.name_hi} में है; स्थानांतरण दूसरे विभाग में होता है",
                                ),
                            )
                        )
                violations += reason_violations
                checked = await self._check_location(store, new.location, day)
                violations += checked.violations
                if violations:
                    raise InvalidArgument.of(violations)
                assert source is not None
                assert checked.district is not None
                pending = await store.pending_transfer(new.grievance_id)
                if pending is not None:
                    return _same_request_or_refuse(pending, new, reason)
                moderator = await self._district_dm(store, checked.district, day)
                transfer = Transfer(
                    id=self.new_id(),
                    grievance_id=new.grievance_id,
                    from_position_id=source.id,
                    from_department_code=source.department_code,
                    to_department_code=new.to_department_code,
                    reason=reason,
                    state=TransferState.PENDING,
                    moderator_position_id=moderator.id,
                    district_code=checked.district.code,
                    requested_at=now,
                    requested_by_account_id=new.actor.account_id,
                    requested_by_position_id=new.actor.position_id,
                )
                await store.insert_transfer(transfer)
        except IntegrityError:
            # Another request for the same case won the race for the one pending slot.
            async with self.sessions() as session, session.begin():
                pending = await RoutingStore(session).pending_transfer(new.grievance_id)
            if pending is None:
                raise
            return _same_request_or_refuse(pending, new, reason)
        return transfer

    async def decide_transfer(
        self, transfer_id: str, approve: bool, to_position_id: str, note: str, actor: Actor
    ) -> Transfer:
        """The moderating DM approves a transfer (naming the receiving post) or returns it with a note (S5)."""
        day, now = self.today(), self.now()
        note = note.strip()
        if not transfer_id:
            raise InvalidArgument.of([_required("transfer_id")])
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            transfer = await store.get_transfer(transfer_id)
            if transfer is None:
                raise NotFound(bilingual(f"no transfer {transfer_id!r}", f"स्थानांतरण {transfer_id!r} नहीं मिला"))
            if not actor.position_id or actor.position_id != transfer.moderator_position_id:
                raise PermissionDenied(
                    bilingual(
                        f"only the moderating District Magistrate ({transfer.moderator_position_id}) may decide "
                        "this transfer",
                        f"केवल मध्यस्थ जिलाधिकारी ({transfer.moderator_position_id}) इस स्थानांतरण पर निर्णय ले सकते हैं",
                    )
                )
            violations: list[FieldViolation] = []
            if not approve and not note:
                violations.append(
                    FieldViolation("note", bilingual("say why the transfer is returned", "स्थानांतरण लौटाने का कारण लिखें"))
                )
            elif len(note) > MAX_NOTE:
                violations.append(_too_long("note"))
            if violations:
                raise InvalidArgument.of(violations)
            if transfer.state is not TransferState.PENDING:
                return _repeated_decision(transfer, approve, to_position_id, note)
            if approve:
                receiver = await self._receiving_position(store, transfer, to_position_id, day)
                decided = replace(transfer, state=TransferState.APPROVED, to_position_id=receiver.id)
            else:
                decided = replace(transfer, state=TransferState.RETURNED)
            if actor.on_behalf_of_account_id:
                # S17: the Sahyog-cell nodal officer decided with the DM's delegated power; audited "by X for Y".
                audit = (
                    f"[by {actor.account_id} for {actor.on_behalf_of_account_id} under delegation / प्रत्यायोजन के अधीन]"
                )
                note = f"{note} {audit}" if note else audit
            decided = replace(decided, decided_at=now, decided_by_account_id=actor.account_id, decision_note=note)
            if await store.record_decision(decided):
                return decided
        # Another decision was written between our read and our write: it stands.
        async with self.sessions() as session, session.begin():
            current = await RoutingStore(session).get_transfer(transfer_id)
        assert current is not None  # transfers are never deleted
        return _repeated_decision(current, approve, to_position_id, note)

    async def list_transfer_queue(
        self, district_code: str, state: TransferState | None, page_size: int = 0, page_token: str = ""
    ) -> TransferPage:
        """One page of the transfer requests of a district (or of all), oldest first, optionally in one state."""
        page = page_of(TRANSFERS_LISTING, page_size, page_token)
        after = time_key(TRANSFERS_LISTING, page)
        day = self.today()
        async with self.sessions() as session, session.begin():
            store = RoutingStore(session)
            if district_code:
                district = await store.get_area(district_code, day)
                if district is None or district.level is not AreaLevel.DISTRICT:
                    raise InvalidArgument.field(
                        "district_code",
                        bilingual(f"unknown district code {district_code!r}", f"अज्ञात जिला कोड {district_code!r}"),
                    )
            found = await store.list_transfers(district_code or None, state, after, page.size + 1)
        return TransferPage(*page.cut(found, lambda t: time_token(TRANSFERS_LISTING, t.requested_at, t.id)))

    async def _district_dm(self, store: RoutingStore, district: Area, day: date) -> Position:
        found = await store.list_positions(ROLE_DM, district.code, None, day)
        # The DM's own post sits at the district itself; prefer it over any DM-role post further down.
        found.sort(key=lambda p: (p.area_code != district.code, p.id))
        if not found:
            raise FailedPrecondition(
                bilingual(
                    f"district {district.code} ({district.name_en}) has no DM position to moderate transfers; add "
                    "one to the positions master data",
                    f"जिला {district.name_hi} में स्थानांतरण के लिए जिलाधिकारी का पद नहीं है",
                )
            )
        return found[0]

    async def _receiving_position(
        self, store: RoutingStore, transfer: Transfer, to_position_id: str, day: date
    ) -> Position:
        """The post named by the DM, or else the receiving department's L1 for the district (S8, S5)."""
        if to_position_id:
            position = await store.get_position(to_position_id)
            if position is None or not in_force(position.valid_from, position.valid_to, day):
                raise InvalidArgument.field(
                    "to_position_id",
                    bilingual(f"unknown position {to_position_id!r}", f"अज्ञात पद {to_position_id!r}"),
                )
            if position.department_code != transfer.to_department_code:
                raise InvalidArgument.field(
                    "to_position_id",
                    bilingual(
                        f"position {position.id} is not in department {transfer.to_department_code}",
                        f"पद {position.id} विभाग {transfer.to_department_code} का नहीं है",
                    ),
                )
            return position
        department = await store.get_department(transfer.to_department_code, day)
        district = await store.get_area(transfer.district_code, day)
        if department is None or district is None:
            raise FailedPrecondition(
                bilingual(
                    f"department {transfer.to_department_code} or district {transfer.district_code} is no longer in "
                    "force; name the receiving position in to_position_id",
                    "विभाग या जिला अब प्रभावी नहीं है; प्राप्त करने वाला पद बताएँ",
                )
            )
        rule, _ = await self._l1_rule(store, department, district, day)
        return await self._l1_position(store, rule, department, day)

    async def import_master_data(self, fmt: str, table: str, content: bytes, *, dry_run: bool) -> ImportReport:
        """Check and upsert one uploaded CSV or YAML document; any row error rejects it whole."""
        return await self.loader.load_content(fmt, table, content, dry_run=dry_run)

    async def _l1_rule(
        self, store: RoutingStore, department: Department, district: Area, day: date
    ) -> tuple[L1Rule, str]:
        """The department's L1 rule for a district (S8), or its department-level rule when it has no district office
        (S5)."""
        if department.has_district_office:
            rule = await store.find_l1_rule(department.code, [district.code], day)
            if rule is None:
                raise FailedPrecondition(
                    bilingual(
                        f"no L1 rule for department {department.code} ({department.name_en}) in district "
                        f"{district.code} ({district.name_en}); add one to the l1_rules master data",
                        f"जिला {district.name_hi} में विभाग {department.name_hi} के लिए L1 नियम नहीं है",
                    )
                )
            return rule, RULE_DISTRICT_L1
        ancestors = await self._ancestors(store, district, day)
        rule = await store.find_l1_rule(department.code, [a.code for a in ancestors], day)
        if rule is None:
            raise FailedPrecondition(
                bilingual(
                    f"department {department.code} ({department.name_en}) has no district office and no "
                    f"department-level L1 rule above district {district.code}; add one to l1_rules",
                    f"विभाग {department.name_hi} का कोई जिला कार्यालय नहीं है और विभाग स्तर का L1 नियम भी नहीं है",
                )
            )
        return rule, RULE_DEPARTMENT_LEVEL

    async def _l1_position(self, store: RoutingStore, rule: L1Rule, department: Department, day: date) -> Position:
        position = await store.get_position(rule.position_id)
        if position is None or not in_force(position.valid_from, position.valid_to, day):
            raise FailedPrecondition(
                bilingual(
                    f"the L1 position {rule.position_id} for department {department.code} in {rule.area_code} "
                    "is not in force",
                    f"विभाग {department.code} के लिए L1 पद {rule.position_id} प्रभावी नहीं है",
                )
            )
        return position

    async def _routable_category(
        self, store: RoutingStore, code: str, day: date, violations: list[FieldViolation]
    ) -> Category | None:
        if not code:
            violations.append(FieldViolation("category_code", bilingual("category is required", "श्रेणी आवश्यक है")))
            return None
        category = await store.get_category(code)
        if category is None or not in_force(category.valid_from, category.valid_to, day):
            violations.append(
                FieldViolation("category_code", bilingual(f"unknown category {code!r}", f"अज्ञात श्रेणी {code!r}"))
            )
            return None
        if category.retired:
            if category.merged_into_code:
                en = f"category {code} is retired; it was merged into {category.merged_into_code}, use that instead"
                hi = f"श्रेणी {code} सेवानिवृत्त है; इसका विलय {category.merged_into_code} में हुआ है, उसे चुनें"
            else:
                en, hi = f"category {code} is retired", f"श्रेणी {code} सेवानिवृत्त है"
            violations.append(FieldViolation("category_code", bilingual(en, hi)))
            return None
        return category

    async def _check_location(self, store: RoutingStore, location: Location, day: date) -> _CheckedLocation:
        checked = _CheckedLocation()

        async def find(field_name: str, code: str, level: AreaLevel) -> Area | None:
            area = await store.get_area(code, day)
            if area is None or area.level is not level:
                checked.violations.append(
                    FieldViolation(
                        f"location.{field_name}",
                        bilingual(
                            f"unknown {_level_en(level)} code {code!r}", f"अज्ञात {LEVEL_NAMES_HI[level]} कोड {code!r}"
                        ),
                    )
                )
                return None
            return area

        async def must_be_within(field_name: str, area: Area, container: Area | None) -> None:
            if container is not None and not await self._within(store, area, container, day):
                checked.violations.append(
                    FieldViolation(
                        f"location.{field_name}",
                        bilingual(
                            f"{_level_en(area.level)} {area.code} ({area.name_en}) is not in "
                            f"{_level_en(container.level)} {container.code} ({container.name_en})",
                            f"{LEVEL_NAMES_HI[area.level]} {area.name_hi}, "
                            f"{LEVEL_NAMES_HI[container.level]} {container.name_hi} में नहीं है",
                        ),
                    )
                )

        state = await find("state_code", location.state_code, AreaLevel.STATE) if location.state_code else None
        if state is not None:
            checked.areas.append(state)
        if not location.district_code:
            checked.violations.append(
                FieldViolation("location.district_code", bilingual("district is required", "जिला आवश्यक है"))
            )
        else:
            checked.district = await find("district_code", location.district_code, AreaLevel.DISTRICT)
            if checked.district is not None:
                checked.areas.append(checked.district)
                await must_be_within("state_code", checked.district, state)
        # Each of these must sit inside the nearest valid area named above it.
        container = checked.district
        for field_name, code, level in (
            ("subdivision_code", location.subdivision_code, AreaLevel.SUBDIVISION),
            ("block_code", location.block_code, AreaLevel.BLOCK),
            ("panchayat_code", location.panchayat_code, AreaLevel.PANCHAYAT),
        ):
            if not code:
                continue
            area = await find(field_name, code, level)
            if area is None:
                continue
            await must_be_within(field_name, area, container)
            checked.areas.append(area)
            container = area
        if location.thana_code:
            thana = await find("thana_code", location.thana_code, AreaLevel.THANA)
            if thana is not None:
                await must_be_within("thana_code", thana, checked.district)
                checked.areas.append(thana)
        return checked

    async def _ancestors(self, store: RoutingStore, area: Area, day: date) -> list[Area]:
        """The areas above `area`, nearest first."""
        found: list[Area] = []
        seen = {area.code}
        current = area
        while current.parent_code and current.parent_code not in seen and len(found) < MAX_CHAIN:
            parent = await store.get_area(current.parent_code, day)
            if parent is None:
                break
            found.append(parent)
            seen.add(parent.code)
            current = parent
        return found

    async def _within(self, store: RoutingStore, area: Area, container: Area, day: date) -> bool:
        return any(a.code == container.code for a in await self._ancestors(store, area, day))

    async def _position(self, store: RoutingStore, position_id: str) -> Position:
        if not position_id:
            raise InvalidArgument.field("position_id", bilingual("position is required", "पद आवश्यक है"))
        position = await store.get_position(position_id)
        if position is None:
            raise NotFound(bilingual(f"no position {position_id!r}", f"पद {position_id!r} नहीं मिला"))
        return position


def _required(name: str) -> FieldViolation:
    return FieldViolation(name, bilingual("required", "आवश्यक है"))


def _too_long(name: str) -> FieldViolation:
    return FieldViolation(name, bilingual(f"longer than {MAX_NOTE} characters", f"{MAX_NOTE} अक्षरों से लंबा"))


def _id_violations(name: str, value: str) -> list[FieldViolation]:
    if not value:
        return [_required(name)]
    if len(value) > MAX_ID:
        return [FieldViolation(name, bilingual(f"longer than {MAX_ID} characters", f"{MAX_ID} अक्षरों से लंबा"))]
    return []


def _unknown_department(name: str, code: str) -> FieldViolation:
    return FieldViolation(name, bilingual(f"unknown department {code!r}", f"अज्ञात विभाग {code!r}"))


def _name_violations(prefix: str, name_en: str, name_hi: str) -> list[FieldViolation]:
    """Every category is named in English and in Hindi, the Hindi in Devanagari."""
    violations: list[FieldViolation] = []
    for language, text in (("en", name_en), ("hi", name_hi)):
        if not text:
            violations.append(FieldViolation(f"{prefix}.{language}", bilingual("required", "आवश्यक है")))
        elif len(text) > MAX_TEXT:
            violations.append(
                FieldViolation(
                    f"{prefix}.{language}", bilingual(f"longer than {MAX_TEXT} characters", f"{MAX_TEXT} अक्षरों से लंबा")
                )
            )
    if name_hi and not DEVANAGARI.search(name_hi):
        violations.append(
            FieldViolation(
                f"{prefix}.hi", bilingual("the Hindi name must be in Devanagari", "हिंदी नाम देवनागरी में होना चाहिए")
            )
        )
    return violations


def _category_violations(category: Category) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if not category.code:
        violations.append(_required("category.code"))
    elif not CODE_PATTERN.match(category.code):
        violations.append(
            FieldViolation(
                "category.code",
                bilingual(
                    f"{category.code!r} is not a code: use capitals, digits, '-' or '_', e.g. FOOD-RATION-CARD",
                    f"{category.code!r} मान्य कोड नहीं है",
                ),
            )
        )
    if not category.department_code:
        violations.append(_required("category.department_code"))
    violations += _name_violations("category.name", category.name_en, category.name_hi)
    if not category.default_track:
        violations.append(_required("category.default_track"))
    elif not TRACK_PATTERN.match(category.default_track):
        violations.append(
            FieldViolation(
                "category.default_track",
                bilingual(
                    f"{category.default_track!r} is not a track, e.g. sahyog", f"{category.default_track!r} मान्य नहीं है"
                ),
            )
        )
    if category.service_time_limit_days < 0:
        violations.append(
            FieldViolation("category.service_time_limit_days", bilingual("cannot be negative", "ऋणात्मक नहीं हो सकता"))
        )
    elif category.default_track == RTS_TRACK and category.service_time_limit_days == 0:
        violations.append(
            FieldViolation(
                "category.service_time_limit_days",
                bilingual(
                    "a notified service (rts_auto_appeal) needs its statutory time limit in days",
                    "अधिसूचित सेवा के लिए वैधानिक समय-सीमा (दिन) आवश्यक है",
                ),
            )
        )
    if category.retired or category.merged_into_code:
        violations.append(
            FieldViolation(
                "category.retired", bilingual("a new category cannot be retired", "नई श्रेणी सेवानिवृत्त नहीं हो सकती")
            )
        )
    return violations


def _retired_message(category: Category) -> str:
    if category.merged_into_code:
        return bilingual(
            f"category {category.code} is retired; it was merged into {category.merged_into_code}",
            f"श्रेणी {category.code} सेवानिवृत्त है; इसका विलय {category.merged_into_code} में हुआ है",
        )
    return bilingual(f"category {category.code} is retired", f"श्रेणी {category.code} सेवानिवृत्त है")


def _other_message(category: Category) -> str:
    return bilingual(
        f"{category.code} is the Other category of department {category.department_code}; every department keeps one",
        f"{category.code} विभाग {category.department_code} की 'अन्य' श्रेणी है; हर विभाग में एक रहती है",
    )


def _changed_concurrently() -> FailedPrecondition:
    return FailedPrecondition(
        bilingual("the category was changed at the same moment; try again", "श्रेणी उसी समय बदली गई; फिर से प्रयास करें")
    )


def _version(
    category: Category,
    number: int,
    change: CategoryChange,
    valid_from: datetime | None,
    valid_to: datetime | None,
    actor: Actor,
) -> CategoryVersion:
    return CategoryVersion(
        code=category.code,
        version=number,
        department_code=category.department_code,
        name_en=category.name_en,
        name_hi=category.name_hi,
        default_track=category.default_track,
        is_other=category.is_other,
        retired=category.retired,
        merged_into_code=category.merged_into_code,
        service_time_limit_days=category.service_time_limit_days,
        change=change,
        valid_from=valid_from,
        valid_to=valid_to,
        changed_by_account_id=actor.account_id,
        changed_by_position_id=actor.position_id,
    )


def _same_request_or_refuse(pending: Transfer, new: NewTransfer, reason: str) -> Transfer:
    """A retried request gets the transfer it created; a different one waits until the DM decides the first."""
    if (pending.from_position_id, pending.to_department_code, pending.reason) == (
        new.from_position_id,
        new.to_department_code,
        reason,
    ):
        return pending
    raise FailedPrecondition(
        bilingual(
            f"case {pending.grievance_id} already has transfer {pending.id} to {pending.to_department_code} waiting "
            f"for the DM ({pending.moderator_position_id})",
            f"मामले {pending.grievance_id} का स्थानांतरण {pending.id} पहले से जिलाधिकारी के पास लंबित है",
        )
    )


def _repeated_decision(transfer: Transfer, approve: bool, to_position_id: str, note: str) -> Transfer:
    """A decided transfer again: a retry of the same decision gets it back unchanged; any other is refused."""
    if approve:
        same = transfer.state is TransferState.APPROVED and to_position_id in ("", transfer.to_position_id)
    else:
        # A delegate's decision note carries the "[by X for Y …]" audit after the note they wrote.
        written = transfer.decision_note.split(" [by ", 1)[0]
        same = transfer.state is TransferState.RETURNED and note in (transfer.decision_note, written)
    if same:
        return transfer
    raise FailedPrecondition(
        bilingual(
            f"transfer {transfer.id} was already {transfer.state.value.lower()}",
            f"स्थानांतरण {transfer.id} पर पहले ही निर्णय हो चुका है ({transfer.state.value})",
        )
    )
