"""The inputs of the lifecycle's Updates added with issue 10: after a case ends (reopen, H3 feedback, the M4 watch,
B4 appeals), closing a case as a duplicate, and the H2 interim reply of a service-delay complaint. Plain
dataclasses, like domain.py's, for the pydantic data converter and the workflow sandbox.

No `from __future__ import annotations` here: the converter builds these types' adapters inside the workflow sandbox,
where string annotations cannot be resolved against this module; real annotations need no resolving."""

from dataclasses import dataclass
from enum import StrEnum

from nivaran_common.casework import Caller


@dataclass(frozen=True)
class ReopenInput:
    """The complainant reopens an ended case within the policy's recourse window, with a reason."""

    reason: str
    by_account_id: str = ""
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


class FeedbackSource(StrEnum):
    CITIZEN = "citizen"
    CALL_CENTRE = "call_centre"


class CallOutcome(StrEnum):
    """H3: how the call centre's call to the complainant went."""

    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    NOT_REACHABLE = "not_reachable"


@dataclass(frozen=True)
class FeedbackInput:
    """H3: the complainant's rating of the disposal, or the call centre's record of its call. `resolved` False (the
    complainant says, or the call found, that the grievance was not fixed) contradicts the claimed resolution."""

    source: FeedbackSource
    resolved: bool | None
    rating: int = 0
    comment: str = ""
    call_outcome: CallOutcome | None = None
    recording_ref: str = ""
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class AtrAcceptanceInput:
    """H3: the senior officer, having seen the complainant's rating and the call centre's call, accepts the action-taken
    report; the case is closed."""

    note: str = ""
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class WatchInput:
    """M4: the officer puts the disposed case under watch for what remains (e.g. the encroachment's removal)."""

    item: str
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class WatchReportInput:
    """M4: the report that ends the watch (the removal report), with its documents."""

    report: str
    by_account_id: str = ""
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


@dataclass(frozen=True)
class DuplicateInput:
    """The officer closes the case as a duplicate of another (sla's ActOnCase checked the original exists)."""

    original_registration_number: str
    note: str = ""
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class InterimReplyInput:
    """H2: the designated officer called the citizen and helped them apply through the proper channel."""

    reply: str
    called_on: str
    application_number: str
    applied_on: str
    application_status: str
    by_account_id: str = ""
    attachment_ids: tuple[str, ...] = ()
    caller: Caller | None = None


@dataclass(frozen=True)
class AppealInput:
    """B4: the complainant appeals the ended case on its registration number: `kind` first, second or revision."""

    kind: str
    grounds: str
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class AppealDecisionInput:
    """B4 / B7: the appellate authority's decision, in Form-3's fields."""

    decision: str
    findings: str
    directions: str = ""
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class HearingInput:
    """B7: the hearing officer fixes a hearing on the office's hearing day (`held_on`, YYYY-MM-DD; `at`, HH:MM). The
    public servant whose records are examined is summoned: by default the post the case is at (whose decision an
    appeal is against); at the complaint's own hearing the PGRO names the public authority's post."""

    held_on: str
    at: str
    venue_en: str = ""
    venue_hi: str = ""
    public_authority_position_id: str = ""
    by_account_id: str = ""
    caller: Caller | None = None


@dataclass(frozen=True)
class HearingRecordInput:
    """B7 / M3: what happened at a hearing: heard or adjourned, who attended, and the proceedings."""

    hearing_id: str
    outcome: str
    complainant_present: bool
    public_authority_present: bool
    proceedings: str
    represented_by: str = ""
    by_account_id: str = ""
    caller: Caller | None = None
