"""Intake use cases. Each owns its transaction; queries live in the store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran.common.v1 import common_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.jurisdiction import GrievanceScope
from nivaran_common.logging import get_logger
from nivaran_common.temporal import lifecycle_workflow_id
from nivaran_common.timeutil import as_utc, to_timestamp, utcnow
from nivaran_intake.attachments import PDF, AttachmentService, Purpose
from nivaran_intake.camps import CampService
from nivaran_intake.case_counts import count_moved, key_of
from nivaran_intake.clients import LifecycleStarter, Route, Router
from nivaran_intake.domain import (
    CLOSED_STATUSES,
    GrievanceOrder,
    NewGrievance,
    Status,
    ValidGrievance,
    format_registration_number,
    is_valid_registration_number,
    nfc,
    registration_scope,
    validate,
)
from nivaran_intake.duplicates import DuplicatePolicy, possible_duplicates
from nivaran_intake.hearings import HearingService, project
from nivaran_intake.projection import Transition, apply, timeline_event
from nivaran_intake.review_weekly import ReviewReports
from nivaran_intake.service_delay import ACKNOWLEDGEMENT_FIELD, ACKNOWLEDGEMENT_NAME, check_delay, india_today
from nivaran_intake.store import IntakeStore
from nivaran_intake.tables import GrievanceRow, TimelineEventRow

log = get_logger(__name__)


@dataclass(frozen=True)
class Filed:
    grievance: GrievanceRow
    created: bool


@dataclass(frozen=True)
class SearchFilter:
    district_code: str = ""
    position_ids: Sequence[str] = ()
    statuses: Sequence[str] = ()
    complainant_account_id: str = ""
    category_code: str = ""
    department_code: str = ""
    query: str = ""
    page_size: int = 50
    page_token: str = ""
    complainant_phone: str = ""
    registration_number: str = ""
    dm_visible_only: bool = False
    watch_open_only: bool = False
    tracks: Sequence[str] = ()
    district_codes: Sequence[str] = ()
    order: GrievanceOrder = GrievanceOrder.NEWEST
    # The verified caller's scope (nivaran_common.jurisdiction), ANDed with every filter above; None for the
    # suite's own workloads acting on their own account.
    within: GrievanceScope | None = None


@dataclass(frozen=True)
class Dashboard:
    total: int
    pending: int
    disposed: int
    overdue: int
    # department -> (filings, filings in "Other")
    other_share: dict[str, tuple[int, int]]
    # Ended cases that came back at least once: "closed — not fixed", kept out of `disposed`.
    closed_not_fixed: int = 0


SYSTEM_ACTOR = {"account_id": "system", "role": "system", "position_id": "", "on_behalf_of": "", "display_name": ""}


def _check_department(within_department: str, department_code: str, category_code: str) -> None:
    """A department client files only in its own department (nivaran_intake.handlers)."""
    if within_department and department_code != within_department:
        raise PermissionDenied(f"category {category_code} belongs to department {department_code}, not the client's")


class IntakeService:
    """Registration (B1, B4, C2), routing (S8), the lifecycle start, the timeline and the case projection."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: Router,
        starter: LifecycleStarter,
        *,
        state_code: str,
        aadhaar_key: bytes,
        attachments: AttachmentService,
        sla_task_queue: str = "nivaran-sla",
        duplicates: DuplicatePolicy | None = None,
        camps: CampService | None = None,
    ) -> None:
        self.sessions = sessions
        self.router = router
        self.starter = starter
        self.state_code = state_code
        self.aadhaar_key = aadhaar_key
        self.sla_task_queue = sla_task_queue
        # S4: a service-delay complaint's acknowledgement is stored as an attachment of the case it files.
        self.attachments = attachments
        self.duplicates = duplicates or DuplicatePolicy()
        self.camps = camps or CampService(sessions)
        self.hearings = HearingService(sessions)
        self.reports = ReviewReports(sessions)
        engine = sessions.kw.get("bind")
        # SQLite has one writer; taking turns here avoids "database is locked" under concurrent filings.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine is not None and engine.dialect.name == "sqlite" else None
        )

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[IntakeStore]:
        if self._write_lock is None:
            async with self.sessions.begin() as session:
                yield IntakeStore(session)
            return
        async with self._write_lock, self.sessions.begin() as session:
            yield IntakeStore(session)

    async def file(self, filing: NewGrievance, *, within_department: str = "") -> Filed:
        """Register a grievance, route it and start its lifecycle. A retried idempotency key returns the first.

        `within_department` (a department client's own): only a case routing sends to that department is filed,
        and a key that names another department's case answers nothing of it."""
        if not filing.location.state_code:
            filing = replace(filing, location=replace(filing.location, state_code=self.state_code))
        valid, violations = validate(filing, self.aadhaar_key)
        if valid is None:
            raise InvalidArgument.of(violations)
        if valid.idempotency_key:
            existing = await self._existing_for_key(valid)
            if existing is not None:
                _check_department(within_department, existing.routed_department_code, valid.category_code)
                await self._ensure_started(existing)
                return Filed(existing, created=False)
        if valid.camp_id:
            valid = await self.camps.for_filing(valid, india_today())
        route = await self.router.resolve(valid.category_code, valid.location)
        _check_department(within_department, route.department_code, valid.category_code)
        track = valid.track or route.default_track or "sahyog"
        check_delay(track, route.service_time_limit_days, valid.service_application, india_today())
        try:
            row = await self._register(valid, route)
        except IntegrityError:
            # A concurrent retry with the same idempotency key won the race; answer with its case.
            existing = await self._existing_for_key(valid) if valid.idempotency_key else None
            if existing is None:
                raise
            await self._ensure_started(existing)
            return Filed(existing, created=False)
        log.info(
            "grievance registered",
            registration_number=row.registration_number,
            position_id=row.routed_position_id,
            channel=row.channel,
        )
        await self._ensure_started(row)
        return Filed(row, created=True)

    async def _existing_for_key(self, valid: ValidGrievance) -> GrievanceRow | None:
        assert valid.idempotency_key is not None
        async with self.sessions() as session:
            existing = await IntakeStore(session).by_idempotency_key(valid.idempotency_key)
        if existing is not None and existing.request_fingerprint != valid.fingerprint:
            raise FailedPrecondition(
                "idempotency key was already used for a different filing",
                [FieldViolation("idempotency_key", "was already used for a different filing")],
            )
        return existing

    async def _register(self, valid: ValidGrievance, route: Route) -> GrievanceRow:
        now = utcnow()
        grievance_id = str(uuid.uuid4())
        scope = registration_scope(valid.location.state_code, valid.location.district_code, now.year)
        c = valid.complainant
        actor = (
            {**SYSTEM_ACTOR, "account_id": valid.filed_by.account_id, "role": valid.filed_by.role}
            if valid.filed_by
            else {**SYSTEM_ACTOR, "account_id": c.account_id or "", "role": "citizen"}
        )
        application = valid.service_application
        # S4: checked and its bytes stored first; its row joins the case's transaction (one key per case).
        acknowledgement = (
            await self.attachments.stage(
                grievance_id,
                application.acknowledgement_pdf,
                application.acknowledgement_file_name or ACKNOWLEDGEMENT_NAME,
                purpose=Purpose.FILING,
                actor=actor,
                idempotency_key=f"{grievance_id}:service_acknowledgement",
                field=ACKNOWLEDGEMENT_FIELD,
                allowed=(PDF,),
            )
            if application is not None
            else None
        )
        async with self.sessions() as session:  # a read: not under the write lock
            similar = await possible_duplicates(IntakeStore(session), valid, now, self.duplicates)
        async with self._writing() as store:
            sequence = await store.next_registration_sequence(scope)
            row = GrievanceRow(
                id=grievance_id,
                registration_number=format_registration_number(scope, sequence),
                idempotency_key=valid.idempotency_key,
                request_fingerprint=valid.fingerprint,
                status=Status.REGISTERED.value,
                track=valid.track or route.default_track or "sahyog",
                channel=valid.channel.value,
                category_code=valid.category_code,
                category_name_en=route.category_name_en,
                category_name_hi=route.category_name_hi,
                category_is_other=route.category_is_other,
                dm_visible=False,
                visible_to_roles=[],
                subject=valid.subject,
                description=valid.description,
                expected_resolution=valid.expected_resolution,
                language=valid.language,
                state_code=valid.location.state_code,
                district_code=valid.location.district_code,
                subdivision_code=valid.location.subdivision_code,
                block_code=valid.location.block_code,
                panchayat_code=valid.location.panchayat_code,
                thana_code=valid.location.thana_code,
                complainant_name=c.name,
                complainant_address=c.address,
                complainant_phone=c.phone_e164,
                complainant_email=c.email,
                complainant_aadhaar_masked=c.aadhaar_masked,
                complainant_aadhaar_hash=c.aadhaar_hash,
                complainant_account_id=c.account_id,
                preferred_language=c.preferred_language,
                preferred_channel=c.preferred_channel,
                filed_by_account_id=valid.filed_by.account_id if valid.filed_by else None,
                filed_by_role=valid.filed_by.role if valid.filed_by else None,
                routed_department_code=route.department_code,
                routed_office_id=route.office_id,
                routed_position_id=route.position_id,
                routed_office_name_en=route.office_name_en,
                routed_office_name_hi=route.office_name_hi,
                routed_position_title_en=route.position_title_en,
                routed_position_title_hi=route.position_title_hi,
                routed_office_level=route.office_level,
                service_time_limit_days=route.service_time_limit_days,
                workflow_id=lifecycle_workflow_id(grievance_id),
                possible_duplicates=similar,
                service_application=valid.service_application.as_record() if valid.service_application else None,
                camp_received_on=valid.camp_received_on,
                filed_at=now,
                updated_at=now,
                version=1,
            )
            store.add(row)
            await store.flush()
            await count_moved(store.session, None, key_of(row))
            if acknowledgement is not None:
                store.add(acknowledgement)
            store.add(
                timeline_event(
                    row.id,
                    1,
                    f"{row.workflow_id}:registered",
                    "registered",
                    f"Grievance registered as {row.registration_number} via {row.channel}",
                    f"शिकायत {row.registration_number} के रूप में दर्ज की गई ({row.channel})",
                    actor,
                    {"channel": row.channel, "routed_to": route.position_id, "routing_rule": route.rule},
                    now,
                    now,
                )
            )
        return row

    async def _ensure_started(self, row: GrievanceRow) -> None:
        """Start the lifecycle; on failure the case stays durable and the retry loop starts it later."""
        if row.workflow_started_at is not None:
            return
        try:
            await self.starter.start(lifecycle_input(row))
        except Exception:
            log.warning("lifecycle start failed; will retry", registration_number=row.registration_number)
            return
        started = utcnow()
        async with self._writing() as store:
            await store.mark_workflow_started(row.id, started)
        row.workflow_started_at = started

    async def start_pending(self, older_than: timedelta = timedelta(seconds=2), limit: int = 100) -> int:
        """Start the lifecycle of cases whose start did not go through (a crash, Temporal down)."""
        async with self.sessions() as session:
            rows = await IntakeStore(session).workflow_not_started(utcnow() - older_than, limit)
        for row in rows:
            await self._ensure_started(row)
        return sum(1 for row in rows if row.workflow_started_at is not None)

    async def get(self, *, grievance_id: str = "", registration_number: str = "") -> GrievanceRow:
        if registration_number and not is_valid_registration_number(registration_number):
            raise InvalidArgument.field("registration_number", "is not a valid registration number")
        if not registration_number and not grievance_id:
            raise InvalidArgument.field("key", "give registration_number or id")
        async with self.sessions() as session:
            store = IntakeStore(session)
            row = (
                await store.by_registration_number(registration_number)
                if registration_number
                else await store.by_id(grievance_id)
            )
        if row is None:
            raise NotFound(f"no grievance {registration_number or grievance_id}")
        return row

    async def timeline(self, grievance_id: str) -> Sequence[TimelineEventRow]:
        if not grievance_id:
            raise InvalidArgument.field("grievance_id", "is required")
        async with self.sessions() as session:
            store = IntakeStore(session)
            if await store.by_id(grievance_id) is None:
                raise NotFound(f"no grievance {grievance_id}")
            return await store.timeline(grievance_id)

    async def search(self, criteria: SearchFilter) -> tuple[Sequence[GrievanceRow], str]:
        if not 1 <= criteria.page_size <= 500:
            raise InvalidArgument.field("page.page_size", "must be between 1 and 500")
        unknown = [s for s in criteria.statuses if s not in {m.value for m in Status}]
        if unknown:
            raise InvalidArgument.field("statuses", f"unknown status {unknown[0]}")
        async with self.sessions() as session:
            try:
                return await IntakeStore(session).search(
                    district_code=criteria.district_code,
                    position_ids=criteria.position_ids,
                    statuses=criteria.statuses,
                    tracks=criteria.tracks,
                    complainant_account_id=criteria.complainant_account_id,
                    category_code=criteria.category_code,
                    department_code=criteria.department_code,
                    # Normalised as stored text is (domain.nfc), so either spelling of a nukta letter finds both.
                    query=nfc(criteria.query),
                    page_size=criteria.page_size,
                    page_token=criteria.page_token,
                    complainant_phone=criteria.complainant_phone,
                    registration_number=criteria.registration_number,
                    dm_visible_only=criteria.dm_visible_only,
                    watch_open_only=criteria.watch_open_only,
                    district_codes=criteria.district_codes,
                    order=criteria.order,
                    within=criteria.within,
                )
            except ValueError as exc:
                raise InvalidArgument.field("page.page_token", "is not a token this service issued") from exc

    async def dashboard(self, district_code: str, department_code: str, track: str = "") -> Dashboard:
        """Counts for review meetings (of one track when named, S3), and H4's share of "Other" filings."""
        async with self.sessions() as session:
            store = IntakeStore(session)
            counts = await store.counts(district_code=district_code, department_code=department_code, track=track)
            # Overdue counts open cases only: a disposed case's last deadline is history, not a breach now.
            overdue = await store.overdue(
                district_code=district_code, department_code=department_code, now=utcnow(), track=track
            )
        closed = {s.value for s in CLOSED_STATUSES}
        shares: dict[str, list[int]] = {}
        total = pending = disposed = not_fixed = 0
        for c in counts:
            total += c.count
            if c.status in closed and c.returned:
                not_fixed += c.count
            elif c.status in closed:
                disposed += c.count
            else:
                pending += c.count
            share = shares.setdefault(c.department_code, [0, 0])
            share[0] += c.count
            share[1] += c.count if c.is_other else 0
        return Dashboard(
            total=total,
            pending=pending,
            disposed=disposed,
            overdue=overdue,
            other_share={dept: (t, o) for dept, (t, o) in sorted(shares.items())},
            closed_not_fixed=not_fixed,
        )

    async def record_transition(self, transition: Transition) -> tuple[TimelineEventRow, bool]:
        """Append one event and update the projection in one transaction; a repeated key changes nothing."""
        [recorded] = await self.record_transitions([transition])
        return recorded

    async def record_transitions(self, transitions: Sequence[Transition]) -> list[tuple[TimelineEventRow, bool]]:
        """Append events of one case, in order, and update its projection, all in one transaction. Each is
        idempotent on its own key: a repeated key returns its first event (duplicate = True) and changes nothing."""
        _check_batch(transitions)
        keys = [t.idempotency_key for t in transitions]
        async with self.sessions() as session:
            earlier = await IntakeStore(session).events_by_idempotency_keys(keys)
        if all(key in earlier for key in keys):
            return [(earlier[key], True) for key in keys]
        now = utcnow()
        written: dict[str, TimelineEventRow] = {}
        try:
            async with self._writing() as store:
                row = await store.by_id(transitions[0].grievance_id, for_update=True)
                if row is None:
                    raise NotFound(f"no grievance {transitions[0].grievance_id}")
                sequence = await store.last_sequence(row.id)
                counted = key_of(row)
                for transition in transitions:
                    if transition.idempotency_key in earlier:
                        continue
                    sequence += 1
                    event = timeline_event(
                        row.id,
                        sequence,
                        transition.idempotency_key,
                        transition.event_type,
                        transition.summary_en,
                        transition.summary_hi,
                        {**SYSTEM_ACTOR, **transition.actor},
                        transition.payload,
                        transition.occurred_at or now,
                        now,
                    )
                    store.add(event)
                    apply(row, transition, now)
                    await project(store.session, row, transition.event_type, transition.payload, now)
                    written[transition.idempotency_key] = event
                await count_moved(store.session, counted, key_of(row))
        except IntegrityError:
            # A concurrent retry wrote the same keys first: answer with what it wrote.
            async with self.sessions() as session:
                earlier = await IntakeStore(session).events_by_idempotency_keys(keys)
            if not all(key in earlier for key in keys):
                raise
            return [(earlier[key], True) for key in keys]
        return [(written[key], False) if key in written else (earlier[key], True) for key in keys]


# A batch is one case's few events at one moment (the case's start: assigned and acknowledged).
MAX_TRANSITIONS = 16


def _check_batch(transitions: Sequence[Transition]) -> None:
    single = len(transitions) == 1

    def field(index: int, name: str) -> str:
        return name if single else f"transitions[{index}].{name}"

    if not transitions:
        raise InvalidArgument.field("transitions", "at least one transition is required")
    if len(transitions) > MAX_TRANSITIONS:
        raise InvalidArgument.field("transitions", f"at most {MAX_TRANSITIONS} transitions at once")
    violations: list[FieldViolation] = []
    seen: set[str] = set()
    for index, transition in enumerate(transitions):
        if not transition.idempotency_key:
            violations.append(FieldViolation(field(index, "idempotency_key"), "is required"))
        elif transition.idempotency_key in seen:
            violations.append(FieldViolation(field(index, "idempotency_key"), "is repeated within the request"))
        seen.add(transition.idempotency_key)
        if not transition.event_type:
            violations.append(FieldViolation(field(index, "event_type"), "is required"))
        if transition.grievance_id != transitions[0].grievance_id:
            violations.append(FieldViolation(field(index, "grievance_id"), "must be the first transition's case"))
    if violations:
        raise InvalidArgument.of(violations)


def lifecycle_input(row: GrievanceRow) -> sla_pb2.LifecycleInput:
    """What the lifecycle workflow needs to run the case without reading intake's tables."""
    return sla_pb2.LifecycleInput(
        grievance_id=row.id,
        registration_number=row.registration_number,
        track=row.track,
        language=row.preferred_language,
        location=common_pb2.Location(
            state_code=row.state_code,
            district_code=row.district_code,
            subdivision_code=row.subdivision_code,
            block_code=row.block_code,
            panchayat_code=row.panchayat_code,
            thana_code=row.thana_code,
        ),
        category_code=row.category_code,
        department_code=row.routed_department_code,
        office_id=row.routed_office_id,
        position_id=row.routed_position_id,
        filed_at=to_timestamp(as_utc(row.filed_at)),
        complainant_name=row.complainant_name,
        complainant_email=row.complainant_email or "",
        complainant_phone=row.complainant_phone or "",
        complainant_account_id=row.complainant_account_id or "",
        category_name=common_pb2.LocalizedText(en=row.category_name_en, hi=row.category_name_hi),
        office_name=common_pb2.LocalizedText(en=row.routed_office_name_en, hi=row.routed_office_name_hi),
        position_title=common_pb2.LocalizedText(en=row.routed_position_title_en, hi=row.routed_position_title_hi),
        service_time_limit_days=row.service_time_limit_days,
        office_level=row.routed_office_level,
        camp_received_on=row.camp_received_on.isoformat() if row.camp_received_on else "",
        channel=row.channel,
        preferred_channel=row.preferred_channel or "",
    )
