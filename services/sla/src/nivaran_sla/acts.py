"""Acts on a case (docs/architecture.md, "Acts on a case"): one table from each act to the lifecycle Update that runs
it, and the use case behind sla's ActOnCase.

The lifecycle workflow is the single writer of a case: an act goes to it as an Update whose validator checks the
case's state and the caller's posts (nivaran_common.casework), before anything is written. The Update id is the
act and the caller's idempotency key, so a retried act returns the first outcome instead of acting twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import TypeAdapter

from nivaran_common.casework import Act, Caller
from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_sla.act_inputs import ActInput
from nivaran_sla.domain import (
    QUERY_STATE,
    UPDATE_ACCEPT_ATR,
    UPDATE_APPEAL,
    UPDATE_ASSIGN,
    UPDATE_CITIZEN_RESPONDED,
    UPDATE_CLOSE_WATCH,
    UPDATE_DECIDE_APPEAL,
    UPDATE_DISPOSE,
    UPDATE_FEEDBACK,
    UPDATE_INTERIM_ORDER,
    UPDATE_INTERIM_REPLY,
    UPDATE_MARK_DUPLICATE,
    UPDATE_OPEN_WATCH,
    UPDATE_RECORD_HEARING,
    UPDATE_RECORD_RECOMMENDATION,
    UPDATE_REJECT,
    UPDATE_REOPEN,
    UPDATE_REPLY_SHOW_CAUSE,
    UPDATE_REQUEST_INFO,
    UPDATE_REVIEW_REPORT,
    UPDATE_SCHEDULE_HEARING,
    UPDATE_SCHEME_ORDER,
    UPDATE_SUBMIT_REPORT,
    LifecycleState,
    ShowCauseNotice,
)
from nivaran_sla.records import SlaRecords
from nivaran_sla.service import (
    CaseOver,
    LifecycleClosed,
    LifecycleNotFound,
    LifecycleUnavailable,
    WorkflowGateway,
    run_update,
)

log = get_logger(__name__)
_STATE = TypeAdapter(LifecycleState)
_NOTICE = TypeAdapter(ShowCauseNotice)


# Every act and the lifecycle Update that runs it. Adding an act: a message in sla.proto's `act` oneof, a converter
# in act_inputs.CONVERTERS, an Update on GrievanceLifecycle, a row here, and its /v1 route.
ACTS: dict[Act, str] = {
    Act.ASSIGN: UPDATE_ASSIGN,
    Act.REPORT: UPDATE_SUBMIT_REPORT,
    Act.DISPOSE: UPDATE_DISPOSE,
    Act.REJECT: UPDATE_REJECT,
    Act.INTERIM_ORDER: UPDATE_INTERIM_ORDER,
    Act.SCHEME_ORDER: UPDATE_SCHEME_ORDER,
    Act.REVIEW: UPDATE_REVIEW_REPORT,
    Act.REQUEST_INFORMATION: UPDATE_REQUEST_INFO,
    Act.CITIZEN_RESPONSE: UPDATE_CITIZEN_RESPONDED,
    Act.SHOW_CAUSE_REPLY: UPDATE_REPLY_SHOW_CAUSE,
    Act.RECOMMENDATION: UPDATE_RECORD_RECOMMENDATION,
    Act.COMMISSIONER_ACTION: UPDATE_RECORD_RECOMMENDATION,
    Act.REOPEN: UPDATE_REOPEN,
    Act.FEEDBACK: UPDATE_FEEDBACK,
    Act.OPEN_WATCH: UPDATE_OPEN_WATCH,
    Act.WATCH_REPORT: UPDATE_CLOSE_WATCH,
    Act.MARK_DUPLICATE: UPDATE_MARK_DUPLICATE,
    Act.INTERIM_REPLY: UPDATE_INTERIM_REPLY,
    Act.APPEAL: UPDATE_APPEAL,
    Act.DECIDE_APPEAL: UPDATE_DECIDE_APPEAL,
    Act.SCHEDULE_HEARING: UPDATE_SCHEDULE_HEARING,
    Act.RECORD_HEARING: UPDATE_RECORD_HEARING,
    Act.ACCEPT_ATR: UPDATE_ACCEPT_ATR,
}
NOTICE_ACTS = frozenset({Act.SHOW_CAUSE_REPLY, Act.RECOMMENDATION, Act.COMMISSIONER_ACTION})


class OriginalCases(Protocol):
    """Finds a case by its registration number (intake, through nivaran_sla.clients.IntakeCases)."""

    async def grievance_id_of(self, registration_number: str) -> str | None: ...


@dataclass(frozen=True)
class ActOutcome:
    """Where the case stands after the act, and the show-cause notice for the acts on one."""

    act: Act
    state: LifecycleState
    notice: ShowCauseNotice | None = None


class CaseActs:
    """The ActOnCase use case."""

    def __init__(self, workflows: WorkflowGateway, records: SlaRecords, cases: OriginalCases | None = None) -> None:
        self._workflows = workflows
        self._records = records
        self._cases = cases

    async def act(self, grievance_id: str, idempotency_key: str, caller: Caller, act: ActInput) -> ActOutcome:
        """Run one act through the case's lifecycle, once per idempotency key."""
        grievance_id = grievance_id.strip()
        if act.notice_id:
            notice = await self._records.get_show_cause(act.notice_id)
            if notice.grievance_id != grievance_id:
                # A notice of another case is, for this case, no notice at all.
                raise NotFound(f"no show-cause notice {act.notice_id} on this case / इस मामले में ऐसी कारण पृच्छा नहीं")
        if act.act is Act.MARK_DUPLICATE:
            await self._check_original(grievance_id, act.arg.original_registration_number)
        update = ACTS[act.act]
        try:
            answer = await run_update(
                self._workflows, grievance_id, update, act.arg, update_id=f"{act.act.value}:{idempotency_key.strip()}"
            )
        except CaseOver as exc:
            raise FailedPrecondition(await self._ended(grievance_id)) from exc
        log.info(
            "act on case",
            act=act.act.value,
            grievance_id=grievance_id,
            caller=caller.account_id,
            kind=caller.kind,
        )
        if act.act in NOTICE_ACTS:
            notice = await self._records.get_show_cause(act.notice_id)
            state = _STATE.validate_python(await self._workflows.query(grievance_id, QUERY_STATE))
            return ActOutcome(act.act, state, notice)
        return ActOutcome(act.act, _STATE.validate_python(answer))

    async def _check_original(self, grievance_id: str, number: str) -> None:
        """The original of a duplicate is a case intake has, and not this one."""
        if self._cases is None:
            raise FailedPrecondition("duplicates cannot be checked here / यहाँ जाँच संभव नहीं")
        original = await self._cases.grievance_id_of(number)
        if original is None:
            raise InvalidArgument.field(
                "mark_duplicate.original_registration_number", f"no grievance {number} / ऐसी कोई शिकायत नहीं"
            )
        if original == grievance_id:
            raise InvalidArgument.field(
                "mark_duplicate.original_registration_number", "a case is not a duplicate of itself / स्वयं की प्रति नहीं"
            )

    async def _ended(self, grievance_id: str) -> str:
        """Why no act reaches a case whose lifecycle has ended, naming the state it ended in."""
        try:
            state = _STATE.validate_python(await self._workflows.query(grievance_id, QUERY_STATE))
        except (LifecycleClosed, LifecycleNotFound, LifecycleUnavailable):
            return "the case is closed / मामला बंद हो चुका है"
        status = state.status.value
        return f"the case is {status}; its lifecycle has ended / मामला {status} है; इसकी प्रक्रिया समाप्त हो चुकी है"


def require_act(act: ActInput | None, violations: list[Any]) -> ActInput:
    """The act, once the request has no violations left."""
    if violations or act is None:
        raise InvalidArgument.of(violations)
    return act
