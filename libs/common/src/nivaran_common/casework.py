"""Who may do which act on a case: one table, checked by the lifecycle workflow (the single writer) and by the
gateway, so the answer is the same whichever door an act comes through.

An act is allowed by the *posts* the caller holds now and by the case's own state (where it sits, which review hop
it is at, which post a show-cause notice names), never by a role the request declares. A delegation (S17) grants
no act on a case: officers may not hand their login to anyone, and a DM's delegate may only decide registrations
and transfers and read the district.

This module is pure (no I/O) so that the workflow can run it inside Temporal's sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Act(StrEnum):
    """Every act on a case (docs/architecture.md, "Acts on a case")."""

    ASSIGN = "assign"
    REPORT = "report"
    DISPOSE = "dispose"
    REJECT = "reject"
    INTERIM_ORDER = "interim_order"
    SCHEME_ORDER = "scheme_order"
    REVIEW = "review"
    REQUEST_INFORMATION = "request_information"
    CITIZEN_RESPONSE = "citizen_response"
    SHOW_CAUSE_REPLY = "show_cause_reply"
    RECOMMENDATION = "recommendation"
    COMMISSIONER_ACTION = "commissioner_action"
    # After the case ended: the complainant reopens it within the policy's window (issue 10).
    REOPEN = "reopen"
    # H3: the complainant rates the disposal, or the call centre records its call to the complainant.
    FEEDBACK = "feedback"
    # M4: the officer puts a disposed case under watch, and reports the outstanding work done.
    OPEN_WATCH = "open_watch"
    WATCH_REPORT = "watch_report"
    # The officer closes the case as a duplicate of another.
    MARK_DUPLICATE = "mark_duplicate"
    # H2: the designated officer's interim reply on a service-delay complaint.
    INTERIM_REPLY = "interim_reply"
    # B4: the complainant appeals an ended case (first, second, revision); the appellate authority decides.
    APPEAL = "appeal"
    DECIDE_APPEAL = "decide_appeal"
    # B7 / M3: the hearing officer (the case's PGRO, or the appellate authority while an appeal is pending) fixes a
    # hearing on the office's hearing day, and records who attended.
    SCHEDULE_HEARING = "schedule_hearing"
    RECORD_HEARING = "record_hearing"
    # H3: the senior officer, who saw the feedback come in, accepts the officer's action-taken report.
    ACCEPT_ATR = "accept_atr"


class Authority(StrEnum):
    """Whose act it is."""

    CASE_HOLDER = "case_holder"  # holds the post the case sits at (after a handover: the new holder)
    COMPLAINANT = "complainant"  # the citizen whose case it is
    REVIEWER = "reviewer"  # holds the post of the review hop the case is at (C5)
    NOTICE_HOLDER = "notice_holder"  # holds the post the show-cause notice names (S9, S11)
    DISTRICT_DM = "district_dm"  # holds the DM's post above the case (S18)
    COMMISSIONER = "commissioner"  # holds the Commissioner's post above the DM (S18)
    # H3: the complainant, or a call-centre operator (account role CALL_CENTRE) of the case's district
    COMPLAINANT_OR_CALL_CENTRE = "complainant_or_call_centre"
    APPELLATE = "appellate"  # holds the post of the authority the pending appeal went to (B4)
    # B7: holds the post that hears the case now: the appellate authority while an appeal is pending, else the
    # post the case is at
    HEARING_OFFICER = "hearing_officer"
    SENIOR_OFFICER = "senior_officer"  # holds the post told of the claimed resolution (H3: the DM above the case)


ACT_AUTHORITY: dict[Act, Authority] = {
    # C3: the case sits with the cell until the cell assigns it; the holder of the cell's post assigns.
    Act.ASSIGN: Authority.CASE_HOLDER,
    Act.REPORT: Authority.CASE_HOLDER,
    Act.DISPOSE: Authority.CASE_HOLDER,
    Act.REJECT: Authority.CASE_HOLDER,
    Act.INTERIM_ORDER: Authority.CASE_HOLDER,
    Act.SCHEME_ORDER: Authority.CASE_HOLDER,
    Act.REVIEW: Authority.REVIEWER,
    Act.REQUEST_INFORMATION: Authority.CASE_HOLDER,
    Act.CITIZEN_RESPONSE: Authority.COMPLAINANT,
    Act.SHOW_CAUSE_REPLY: Authority.NOTICE_HOLDER,
    Act.RECOMMENDATION: Authority.DISTRICT_DM,
    Act.COMMISSIONER_ACTION: Authority.COMMISSIONER,
    Act.REOPEN: Authority.COMPLAINANT,
    Act.FEEDBACK: Authority.COMPLAINANT_OR_CALL_CENTRE,
    Act.OPEN_WATCH: Authority.CASE_HOLDER,
    Act.WATCH_REPORT: Authority.CASE_HOLDER,
    Act.MARK_DUPLICATE: Authority.CASE_HOLDER,
    Act.INTERIM_REPLY: Authority.CASE_HOLDER,
    Act.APPEAL: Authority.COMPLAINANT,
    Act.DECIDE_APPEAL: Authority.APPELLATE,
    Act.SCHEDULE_HEARING: Authority.HEARING_OFFICER,
    Act.RECORD_HEARING: Authority.HEARING_OFFICER,
    Act.ACCEPT_ATR: Authority.SENIOR_OFFICER,
}

# The failure type the lifecycle gives a refusal by `check_act`; sla's door answers it with PERMISSION_DENIED.
PERMISSION_DENIED = "permission_denied"
CITIZEN_KIND = "citizen"
OFFICER_KIND = "officer"
OPERATOR_KIND = "operator"
# The account role of the call centre's operators (identity's ACCOUNT_ROLES), who call complainants back (H3).
CALL_CENTRE_ROLE = "CALL_CENTRE"


@dataclass(frozen=True)
class Caller:
    """The person acting, as their verified token names them."""

    account_id: str
    kind: str
    position_ids: tuple[str, ...] = ()
    district_code: str = ""
    # A citizen's phone as verified at sign-in (E.164); matches a case filed with that phone but no account.
    phone: str = ""
    # Set when the token is a delegate's (S17); a delegate never acts on a case.
    acting_for_account_id: str = ""
    # The account's roles as the token names them (an operator's CALL_CENTRE).
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseParties:
    """The posts and the person an act on the case may belong to, as the case's lifecycle knows them."""

    holder_position_id: str
    complainant_account_id: str = ""
    complainant_phone: str = ""
    reviewer_position_id: str = ""
    notice_position_id: str = ""
    dm_position_id: str = ""
    commissioner_position_id: str = ""
    district_code: str = ""
    appellate_position_id: str = ""
    hearing_position_id: str = ""
    senior_position_id: str = ""


class NotPermitted(Exception):
    """The caller may not do this act on this case; the message says whose act it is, in English and Hindi."""


_WHOSE = {
    Authority.CASE_HOLDER: ("the officer holding the post the case is at", "मामला जिस पद पर है उसके पदाधिकारी"),
    Authority.COMPLAINANT: ("the complainant", "शिकायतकर्ता"),
    Authority.REVIEWER: ("the officer holding the post that reviews the report now", "समीक्षा करने वाले पद के पदाधिकारी"),
    Authority.NOTICE_HOLDER: ("the officer holding the post the notice names", "सूचना में नामित पद के पदाधिकारी"),
    Authority.DISTRICT_DM: ("the District Magistrate of the case's district", "मामले के जिले के जिलाधिकारी"),
    Authority.COMMISSIONER: ("the Divisional Commissioner above the DM", "प्रमंडलीय आयुक्त"),
    Authority.APPELLATE: ("the appellate authority of the pending appeal", "लंबित अपील के अपीलीय प्राधिकार"),
    Authority.HEARING_OFFICER: ("the officer who hears the case now", "मामले की सुनवाई करने वाले पदाधिकारी"),
    Authority.SENIOR_OFFICER: (
        "the senior officer told of the claimed resolution",
        "निवारण की सूचना पाने वाले वरीय पदाधिकारी",
    ),
    Authority.COMPLAINANT_OR_CALL_CENTRE: (
        "the complainant or the call centre of the case's district",
        "शिकायतकर्ता या मामले के जिले का कॉल सेंटर",
    ),
}


def _post_of(authority: Authority, parties: CaseParties) -> str:
    return {
        Authority.CASE_HOLDER: parties.holder_position_id,
        Authority.REVIEWER: parties.reviewer_position_id,
        Authority.NOTICE_HOLDER: parties.notice_position_id,
        Authority.DISTRICT_DM: parties.dm_position_id,
        Authority.COMMISSIONER: parties.commissioner_position_id,
        Authority.APPELLATE: parties.appellate_position_id,
        Authority.HEARING_OFFICER: parties.hearing_position_id,
        Authority.SENIOR_OFFICER: parties.senior_position_id,
    }.get(authority, "")


def check_act(act: Act, caller: Caller, parties: CaseParties) -> None:
    """Raise NotPermitted unless `caller` may do `act` on the case described by `parties`."""
    authority = ACT_AUTHORITY[act]
    en, hi = _WHOSE[authority]
    refusal = NotPermitted(f"only {en} may do this ({act.value}) / यह कार्य केवल {hi} कर सकते हैं")
    if not caller.account_id:
        raise refusal
    if caller.acting_for_account_id:
        raise NotPermitted("a delegate may not act on a case (S17) / प्रतिनिधि किसी मामले पर कार्रवाई नहीं कर सकते (S17)")
    if authority is Authority.COMPLAINANT_OR_CALL_CENTRE and caller.kind == OPERATOR_KIND:
        in_district = bool(parties.district_code) and caller.district_code == parties.district_code
        if CALL_CENTRE_ROLE not in caller.roles or not in_district:
            raise refusal
        return
    if authority in (Authority.COMPLAINANT, Authority.COMPLAINANT_OR_CALL_CENTRE):
        owner = bool(parties.complainant_account_id) and caller.account_id == parties.complainant_account_id
        by_phone = bool(parties.complainant_phone) and caller.phone == parties.complainant_phone
        if caller.kind != CITIZEN_KIND or not (owner or by_phone):
            raise refusal
        return
    post = _post_of(authority, parties)
    if caller.kind != OFFICER_KIND or not post or post not in caller.position_ids:
        raise refusal
