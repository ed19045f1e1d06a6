"""The sla service's use cases: policies, deadlines, case clocks, show-cause replies and recommendations, breaches,
and the S7 charge handover.

Actions on a case never write here directly: the lifecycle workflow is the single writer of a case, so a reply or
a recommendation goes to it as an Update (its validator refuses an illegal one at once), the workflow records it
through an activity, and the use case answers with the record as it now stands.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import TypeAdapter

from nivaran_common.casework import PERMISSION_DENIED
from nivaran_common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from nivaran_common.logging import get_logger
from nivaran_common.paging import page_of, time_key, time_token
from nivaran_common.timeutil import as_utc, utcnow
from nivaran_sla.deadlines import CalendarError, CalendarKind, HolidayCalendar, compute_deadline, load_calendar
from nivaran_sla.deadlines import parse_duration as parse_iso_duration
from nivaran_sla.domain import (
    QUERY_CLOCKS,
    QUERY_STATE,
    UPDATE_CHARGE_TAKEN,
    UPDATE_MIGRATE_POLICY,
    Actor,
    Breach,
    ChargeTakenInput,
    ClockView,
    ForwardInput,
    LifecycleState,
    MigratePolicyInput,
    ShowCauseNotice,
    TransferInput,
)
from nivaran_sla.policy import Policy, PolicyError, PolicyRegistry
from nivaran_sla.records import SlaRecords

log = get_logger(__name__)

REPLY_MIN_CHARS = 10
REPLY_MAX_CHARS = 5000
REVIEWER_ROLES = frozenset({"DM", "COMMISSIONER"})
_STATE_CODE = re.compile(r"^[A-Z]{2}$")
_VERSION = re.compile(r"^v?([1-9][0-9]*)$")
_CLOCKS = TypeAdapter(list[ClockView])
_STATE = TypeAdapter(LifecycleState)
# The lifecycle's officer-action Updates this surface runs (GrievanceLifecycle.forward / .transfer).
# The breach register's pages (nivaran_common.paging): newest first.
BREACHES_LISTING = "breaches"

UPDATE_FORWARD = "forward"
UPDATE_TRANSFER = "transfer"
TRANSFER_KINDS = frozenset({"department", "jurisdiction"})


# --- what the use cases need from Temporal and from intake ----------------------------------------------------------


class LifecycleNotFound(Exception):
    """No lifecycle workflow exists for the grievance (never started, or gone after retention)."""


class LifecycleClosed(Exception):
    """The lifecycle workflow has ended (or does not exist), so it takes no more actions."""


class LifecycleUnavailable(Exception):
    """Temporal, or the worker running the lifecycle, did not answer in time."""


class UpdateRejected(Exception):
    """The lifecycle refused an action (its validator, or the handler, failed); the message says why, and `kind`
    is the failure's type (casework.PERMISSION_DENIED when the caller may not act)."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class WorkflowGateway(Protocol):
    """A case's lifecycle workflow, reached by grievance id (workflow `grievance-<id>`)."""

    async def execute_update(self, grievance_id: str, name: str, arg: Any, update_id: str = "") -> Any:
        """Run the Update `name` with `arg` and wait for its result; once per `update_id` when one is given."""
        ...

    async def query(self, grievance_id: str, name: str) -> Any:
        """Run the Query `name`; the answer comes back as plain JSON values."""
        ...


class OpenCases(Protocol):
    """Intake's view of which cases are open."""

    async def open_case_ids(self, position_id: str) -> list[str]:
        """Ids of every open case sitting with `position_id`."""
        ...


# --- use cases ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockState:
    """One clock of a case as the API shows it: the lifecycle's view plus the time left now."""

    view: ClockView
    remaining: timedelta | None


@dataclass(frozen=True)
class CaseClocks:
    """A case's clocks, and the post reviewing its final report now (C5; "" when none is under review)."""

    clocks: list[ClockState]
    reviewer_position_id: str = ""


class SlaService:
    """Use cases of the sla gRPC surface; collaborators are injected, wired once in main.py."""

    def __init__(
        self,
        records: SlaRecords,
        policies: PolicyRegistry,
        holidays_folder: Path,
        workflows: WorkflowGateway,
        cases: OpenCases,
        *,
        clock: Callable[[], datetime] = utcnow,
        handover_concurrency: int = 8,
    ) -> None:
        self._records = records
        self._policies = policies
        self._holidays_folder = holidays_folder
        self._workflows = workflows
        self._cases = cases
        self._clock = clock
        self._handover_concurrency = handover_concurrency
        self._calendars: dict[str, HolidayCalendar] = {}

    # policies and deadlines

    def list_policies(self) -> list[Policy]:
        """Every version of every track."""
        return self._policies.all()

    def get_policy(self, track: str, version: str) -> Policy:
        """One track's policy: `version` "" is the latest, else "3" or "v3"."""
        track = track.strip()
        if not track:
            raise InvalidArgument.field("track", "is required")
        wanted = version.strip()
        match = _VERSION.match(wanted)
        if wanted and match is None:
            raise InvalidArgument.field("version", "a positive number such as 1 or v1, or empty for the latest")
        try:
            return self._policies.get(f"{track}@v{match.group(1)}") if match else self._policies.latest(track)
        except PolicyError as exc:
            raise NotFound(f"{exc} / नीति नहीं मिली") from exc

    def compute_deadline(
        self, start: datetime | None, duration: str, calendar: CalendarKind | None, state_code: str
    ) -> datetime:
        """When a clock started at `start` expires, on the state's holiday calendar where it counts working days."""
        violations: list[FieldViolation] = []
        if start is None:
            violations.append(FieldViolation("start", "is required"))
        try:
            parse_iso_duration(duration.strip())
        except CalendarError as exc:
            violations.append(FieldViolation("duration", str(exc)))
        if calendar is None:
            violations.append(FieldViolation("calendar", "must be CALENDAR_DAYS, WORKING_DAYS or HOURS"))
        state = (state_code or "BR").strip().upper()
        if not _STATE_CODE.match(state):
            violations.append(FieldViolation("state_code", "a two-letter state code such as BR"))
        if violations:
            raise InvalidArgument.of(violations)
        assert start is not None
        assert calendar is not None
        holidays = self._calendar(state) if calendar is CalendarKind.WORKING_DAYS else None
        try:
            return compute_deadline(start, duration.strip(), calendar, holidays)
        except CalendarError as exc:
            # The deadline runs past the years the state's calendar covers; adding the next year's file fixes it.
            raise FailedPrecondition(f"{exc} / अवकाश कैलेंडर उपलब्ध नहीं") from exc

    def _calendar(self, state: str) -> HolidayCalendar:
        if state not in self._calendars:
            try:
                self._calendars[state] = load_calendar(self._holidays_folder, state)
            except CalendarError as exc:
                raise InvalidArgument.field("state_code", f"no holiday calendar for state {state}") from exc
        return self._calendars[state]

    # case clocks

    async def case_clocks(self, grievance_id: str) -> CaseClocks:
        """The clocks of a case and its C5 reviewer, from its lifecycle (a closed case answers too, while Temporal
        keeps it)."""
        grievance_id = grievance_id.strip()
        if not grievance_id:
            raise InvalidArgument.field("grievance_id", "is required")
        try:
            answer, state = await asyncio.gather(
                self._workflows.query(grievance_id, QUERY_CLOCKS), self._workflows.query(grievance_id, QUERY_STATE)
            )
        except LifecycleNotFound as exc:
            raise NotFound(f"no lifecycle for case {grievance_id} / मामले {grievance_id} का जीवनचक्र नहीं मिला") from exc
        except LifecycleClosed as exc:
            raise FailedPrecondition("the case is closed / मामला बंद हो चुका है") from exc
        except LifecycleUnavailable as exc:
            raise Unavailable("the case's lifecycle did not answer; try again") from exc
        return CaseClocks(self._clock_states(answer), _STATE.validate_python(state).reviewer_position_id)

    def _clock_states(self, answer: Any) -> list[ClockState]:
        """The lifecycle's clock views with the time each has left now."""
        # An answer that does not fit ClockView is a version skew between server and worker: INTERNAL, and logged.
        views = _CLOCKS.validate_python(answer)
        now = as_utc(self._clock())
        return [ClockState(view, _remaining(view, now)) for view in views]

    # show-cause notices and breaches

    async def list_show_causes(
        self, *, grievance_id: str = "", position_id: str = "", unanswered_only: bool = False
    ) -> list[ShowCauseNotice]:
        """Show-cause notices matching the filters."""
        return await self._records.list_show_causes(
            grievance_id=grievance_id.strip(), position_id=position_id.strip(), unanswered_only=unanswered_only
        )

    async def list_breaches(
        self,
        *,
        grievance_id: str = "",
        district_code: str = "",
        rule: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[Breach], str]:
        """One page of the breach records matching the filters, newest first, and the token of the next page ("" on
        the last)."""
        page = page_of(BREACHES_LISTING, page_size, page_token)
        found = await self._records.list_breaches(
            grievance_id=grievance_id.strip(),
            district_code=district_code.strip().upper(),
            rule=rule.strip().upper(),
            after=time_key(BREACHES_LISTING, page),
            limit=page.size + 1,
        )
        return page.cut(found, lambda b: time_token(BREACHES_LISTING, b.recorded_at, b.id))

    # S7 charge handover

    async def apply_charge_handover(self, position_id: str, account_id: str, charge_from: datetime | None) -> int:
        """S7: every open case of the position re-bases its personal clocks to the new officer's charge date."""
        position_id, account_id = position_id.strip(), account_id.strip()
        violations = _required("position_id", position_id) + _required("account_id", account_id)
        if charge_from is None:
            violations.append(FieldViolation("charge_from", "is required"))
        if violations:
            raise InvalidArgument.of(violations)
        assert charge_from is not None
        charge = ChargeTakenInput(position_id=position_id, account_id=account_id, charge_from=as_utc(charge_from))
        grievance_ids = await self._cases.open_case_ids(position_id)
        gate = asyncio.Semaphore(self._handover_concurrency)

        async def rebase(grievance_id: str) -> bool:
            async with gate:
                try:
                    await self._workflows.execute_update(grievance_id, UPDATE_CHARGE_TAKEN, charge)
                except LifecycleClosed:
                    # Closed between intake's answer and now: nothing left to re-base.
                    return False
                except UpdateRejected as exc:
                    log.warning("charge not applied to case", grievance_id=grievance_id, reason=exc.message)
                    return False
                return True

        try:
            results = await asyncio.gather(*(rebase(g) for g in grievance_ids))
        except LifecycleUnavailable as exc:
            # Safe to call again: a case ignores a charge it has already taken.
            raise Unavailable("a case's lifecycle did not answer; call again to finish the handover") from exc
        rebased = sum(results)
        log.info("charge handover applied", position_id=position_id, open_cases=len(grievance_ids), rebased=rebased)
        return rebased

    # officer actions that move a case (S8 forward, S5 / B6 transfer)

    async def forward_case(self, grievance_id: str, to_position_id: str, note: str, actor: Actor) -> LifecycleState:
        """S8: the case moves to a position below within its department; the disposing officer's clocks start."""
        grievance_id, to_position_id, note = grievance_id.strip(), to_position_id.strip(), note.strip()
        violations = _required("grievance_id", grievance_id) + _required("to_position_id", to_position_id)
        violations += _required("actor.account_id", actor.account_id)
        if len(note) > REPLY_MAX_CHARS:
            violations.append(FieldViolation("note", f"must be at most {REPLY_MAX_CHARS} characters"))
        if violations:
            raise InvalidArgument.of(violations)
        answer = await self._update(
            grievance_id,
            UPDATE_FORWARD,
            ForwardInput(to_position_id=to_position_id, by_account_id=actor.account_id, note=note),
        )
        log.info("case forwarded", grievance_id=grievance_id, to_position_id=to_position_id)
        return _STATE.validate_python(answer)

    async def transfer_case(
        self, grievance_id: str, transfer_id: str, to_position_id: str, reason: str, kind: str, actor: Actor
    ) -> LifecycleState:
        """S5 (DM-approved, another department) or B6 (another PGRO): the case moves, its clocks re-base and the
        complainant is told. Runs once per transfer id, so a retried approval never moves the case twice."""
        grievance_id, transfer_id, to_position_id = grievance_id.strip(), transfer_id.strip(), to_position_id.strip()
        reason, kind = reason.strip(), (kind.strip() or "department")
        violations = _required("grievance_id", grievance_id) + _required("to_position_id", to_position_id)
        if kind not in TRANSFER_KINDS:
            violations.append(FieldViolation("kind", "must be department or jurisdiction / विभाग या क्षेत्राधिकार"))
        elif kind == "department" and not transfer_id:
            violations.append(
                FieldViolation("transfer_id", "a department transfer needs the DM's approved transfer (S5)")
            )
        violations += _text("reason", reason)
        violations += _required("actor.account_id", actor.account_id)
        if violations:
            raise InvalidArgument.of(violations)
        move = TransferInput(
            to_position_id=to_position_id,
            by_account_id=actor.account_id,
            reason=reason,
            kind=kind,
            transfer_id=transfer_id,
        )
        # Temporal keeps the outcome of an Update by its id: the second call with this id answers, it does not move.
        update_id = f"transfer:{transfer_id}" if transfer_id else ""
        answer = await self._update(grievance_id, UPDATE_TRANSFER, move, update_id=update_id)
        log.info("case transferred", grievance_id=grievance_id, transfer_id=transfer_id, to_position_id=to_position_id)
        return _STATE.validate_python(answer)

    async def migrate_case_policy(self, grievance_id: str, version: int, reason: str, actor: Actor) -> list[ClockState]:
        """Move a running case to another version of its track's policy, explicitly and with a reason."""
        grievance_id, reason = grievance_id.strip(), reason.strip()
        violations = _required("grievance_id", grievance_id) + _required("actor.account_id", actor.account_id)
        if version < 1:
            violations.append(FieldViolation("version", "must be 1 or more / 1 या अधिक"))
        violations += _text("reason", reason)
        if violations:
            raise InvalidArgument.of(violations)
        answer = await self._update(
            grievance_id,
            UPDATE_MIGRATE_POLICY,
            MigratePolicyInput(version=version, by_account_id=actor.account_id, reason=reason),
        )
        log.info("case policy migrated", grievance_id=grievance_id, version=version, by=actor.account_id)
        return self._clock_states(answer)

    async def _update(self, grievance_id: str, name: str, arg: Any, *, update_id: str = "") -> Any:
        return await run_update(self._workflows, grievance_id, name, arg, update_id=update_id)


async def run_update(workflows: WorkflowGateway, grievance_id: str, name: str, arg: Any, *, update_id: str = "") -> Any:
    """Run one Update of the case's lifecycle; its refusals become the domain errors the doors answer with."""
    try:
        if update_id:
            return await workflows.execute_update(grievance_id, name, arg, update_id=update_id)
        return await workflows.execute_update(grievance_id, name, arg)
    except UpdateRejected as exc:
        if exc.kind == PERMISSION_DENIED:
            raise PermissionDenied(exc.message) from exc
        raise FailedPrecondition(exc.message) from exc
    except LifecycleClosed as exc:
        raise CaseOver("the case is closed / मामला बंद हो चुका है") from exc
    except LifecycleUnavailable as exc:
        raise Unavailable("the case's lifecycle did not answer; try again") from exc


class CaseOver(FailedPrecondition):
    """The case's lifecycle has ended (disposed, rejected or closed): no act reaches it any more."""


def _required(name: str, value: str) -> list[FieldViolation]:
    return [] if value.strip() else [FieldViolation(name, "is required")]


def _text(name: str, value: str) -> list[FieldViolation]:
    if REPLY_MIN_CHARS <= len(value) <= REPLY_MAX_CHARS:
        return []
    return [FieldViolation(name, f"must be {REPLY_MIN_CHARS} to {REPLY_MAX_CHARS} characters")]


def _remaining(view: ClockView, now: datetime) -> timedelta | None:
    """Time left: what a paused clock kept, or until the deadline of a running one (never negative)."""
    if view.paused and view.remaining_seconds is not None:
        return timedelta(seconds=view.remaining_seconds)
    if view.running and not view.fired and view.deadline is not None:
        return max(as_utc(view.deadline) - now, timedelta(0))
    return None
