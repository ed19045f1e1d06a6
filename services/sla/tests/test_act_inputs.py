"""ActOnCase requests to Update inputs (act_inputs): what each act requires of the request alone."""

from __future__ import annotations

from nivaran.sla.v1 import sla_pb2
from nivaran_sla.act_inputs import act_from_proto

CALLER = sla_pb2.Caller(account_id="acct-osd", kind="officer", position_ids=["pos-osd-cs"])


def review(decision: int, note: str) -> list[str]:
    request = sla_pb2.ActOnCaseRequest(
        grievance_id="g-1",
        idempotency_key="review-0001",
        caller=CALLER,
        review=sla_pb2.ReviewReport(decision=decision, note=note),
    )
    _, _, violations = act_from_proto(request)
    return [v.field for v in violations]


def test_C5_a_closure_needs_no_reasons_but_a_forward_or_a_return_says_why() -> None:
    assert review(sla_pb2.REVIEW_DECISION_CLOSE, "") == []
    assert review(sla_pb2.REVIEW_DECISION_CLOSE, "संतोषजनक") == []
    assert review(sla_pb2.REVIEW_DECISION_FORWARD, "ठीक") == ["review.note"]
    assert review(sla_pb2.REVIEW_DECISION_RETURN, "") == ["review.note"]
    assert review(sla_pb2.REVIEW_DECISION_UNSPECIFIED, "गृह विभाग को अग्रसारित") == ["review.decision"]


def test_C4_a_report_that_the_case_is_not_this_offices_needs_the_right_department_only() -> None:
    request = sla_pb2.ActOnCaseRequest(
        grievance_id="g-1",
        idempotency_key="report-0001",
        caller=CALLER,
        report=sla_pb2.SubmitReport(kind=sla_pb2.REPORT_KIND_PRELIMINARY, concerns_office=False),
    )
    act, _, violations = act_from_proto(request)
    assert [v.field for v in violations] == ["report.right_department_code"]
    request.report.right_department_code = "rev"
    act, _, violations = act_from_proto(request)
    assert violations == []
    assert act is not None
    assert (act.arg.concerns_office, act.arg.right_department_code) == (False, "REV")
