"""Proto conversions of the weekly review reports (M1, M2) and H4's category trends. Pure functions; no I/O."""

from __future__ import annotations

from datetime import datetime

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2
from nivaran_common.timeutil import to_timestamp
from nivaran_intake.category_trends import CategoryTrends
from nivaran_intake.domain import Status
from nivaran_intake.review_weekly import LongPendingReport, WeeklyRow


def _text(en: str | None, hi: str | None) -> common_pb2.LocalizedText:
    return common_pb2.LocalizedText(en=en or "", hi=hi or "")


def weekly_to_proto(rows: list[WeeklyRow], now: datetime) -> intake_pb2.WeeklyReport:
    return intake_pb2.WeeklyReport(
        rows=[
            intake_pb2.WeeklyRow(
                office_id=r.office_id,
                office_name=_text(r.office_name_en, r.office_name_hi),
                received=r.received,
                disposed=r.disposed,
                pending=r.pending,
                overdue=r.overdue,
                show_causes_issued=r.show_causes_issued,
                show_causes_answered=r.show_causes_answered,
                breaches=r.breaches,
            )
            for r in rows
        ],
        as_of=to_timestamp(now),
    )


def long_pending_to_proto(report: LongPendingReport, now: datetime) -> intake_pb2.LongPending:
    return intake_pb2.LongPending(
        offices=[
            intake_pb2.LongPendingOffice(
                office_id=o.office_id, office_name=_text(o.office_name_en, o.office_name_hi), cases=o.cases
            )
            for o in report.offices
        ],
        cases=[
            intake_pb2.LongPendingCase(
                grievance_id=c.id,
                registration_number=c.registration_number,
                office_id=c.office_id or c.routed_office_id,
                office_name=_text(
                    c.office_name_en or c.routed_office_name_en, c.office_name_hi or c.routed_office_name_hi
                ),
                position_title=_text(
                    c.position_title_en or c.routed_position_title_en, c.position_title_hi or c.routed_position_title_hi
                ),
                department_code=c.department_code or c.routed_department_code,
                category_name=_text(c.category_name_en, c.category_name_hi),
                status=getattr(intake_pb2, f"STATUS_{Status(c.status).name}"),
                filed_at=to_timestamp(c.filed_at),
                track=c.track,
            )
            for c in report.cases
        ],
        total=report.total,
        as_of=to_timestamp(now),
    )


def trends_to_proto(trends: CategoryTrends) -> intake_pb2.CategoryTrends:
    return intake_pb2.CategoryTrends(
        months=trends.months,
        categories=[
            intake_pb2.CategoryTrend(
                category_code=c.category_code,
                category_name=_text(c.category_name_en, c.category_name_hi),
                is_other=c.is_other,
                monthly=c.monthly,
                total=c.total,
            )
            for c in trends.categories
        ],
        monthly_total=trends.monthly_total(),
        monthly_other=trends.monthly_total(other_only=True),
    )
