"""REST /v1/reports/category-trends (H4, issue 12): a department's filings per category and month, with the share in
its "Other" category month by month (which should tend to zero), as JSON or as an Excel or CSV download. The same
reviewers read it as the other reports (review_scope.py); the all-time share is
`GET /v1/departments/{code}/other-share`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran_common.timeutil import IST, to_timestamp
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.exports import FILE_RESPONSES, Cell, Column, ExportFormat, Table, bilingual, file_response
from nivaran_gateway.problems import VALIDATION, ProblemError, problem_responses
from nivaran_gateway.review_scope import Reviewer, review_remit
from nivaran_gateway.schemas.common import LocalizedText

router = APIRouter(prefix="/v1", tags=["reports"])


class CategoryTrendView(BaseModel):
    category_code: str
    category_name: LocalizedText
    is_other: bool
    monthly: list[int] = Field(description="filings per month, in the order of `months`")
    total: int


class CategoryTrendsView(BaseModel):
    """H4: filings per category and month; the most filed categories first."""

    department_code: str
    district_code: str
    months: list[str] = Field(description="YYYY-MM (India's months), oldest first; the last is the current month")
    categories: list[CategoryTrendView]
    monthly_total: list[int]
    monthly_other: list[int]
    other_share: list[float | None] = Field(description='per month, the "Other" filings over all; null without any')


def months_back(today: datetime, months: int) -> tuple[datetime, datetime]:
    """The start of the month `months - 1` months before `today`'s, and the start of the month after `today`'s."""
    current = today.astimezone(IST).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    index = current.year * 12 + current.month - 1
    first = current.replace(year=(index - months + 1) // 12, month=(index - months + 1) % 12 + 1)
    after = current.replace(year=(index + 1) // 12, month=(index + 1) % 12 + 1)
    return first, after


def trends_table(view: CategoryTrendsView) -> Table:
    scope = view.department_code + (f"-{view.district_code}" if view.district_code else "")
    rows: list[list[Cell]] = [
        [c.category_code, bilingual(c.category_name), "✓" if c.is_other else "", *c.monthly, c.total]
        for c in view.categories
    ]
    rows.append(["", "कुल / All", "", *view.monthly_total, sum(view.monthly_total)])
    rows.append(['"Other"', "अन्य / Other", "✓", *view.monthly_other, sum(view.monthly_other)])
    return Table(
        name=f"category-trends-{scope}".lower(),
        title_en=f"Filings per category and month, {scope} (H4)",
        title_hi=f"श्रेणी और माह के अनुसार दर्ज शिकायतें, {scope} (H4)",
        columns=[
            Column("Category code", "श्रेणी कोड", 18),
            Column("Category", "श्रेणी", 30),
            Column('"Other"', "अन्य", 6),
            *(Column(month, month, 9) for month in view.months),
            Column("Total", "कुल", 9),
        ],
        rows=rows,
        as_of=datetime.now(UTC),
    )


@router.get(
    "/reports/category-trends",
    response_model=CategoryTrendsView,
    summary='H4: a department\'s filings per category and month, and its "Other" share',
    description="The last `months` months (India's; the current one included) of filings routed to the "
    'department, per category of its taxonomy; the "Other" categories marked, with their share per month (it '
    "should tend to zero). `format=xlsx` or `format=csv` for a file.",
    responses={**problem_responses(401, 403, 422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def category_trends(
    principal: Reviewer,
    clients: Clients,
    settings: Settings,
    directory: Directory,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    district_code: Annotated[str | None, Query(max_length=16)] = None,
    months: Annotated[int, Query(ge=1, le=24)] = 12,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> CategoryTrendsView | Response:
    """The trends of one department within the caller's remit."""
    district, department = await review_remit(principal, district_code, department_code, directory)
    if not department:
        raise ProblemError.field(VALIDATION, "department_code", "is required: the department whose categories")
    since, until = months_back(datetime.now(UTC), months)
    answer = await clients.intake.GetCategoryTrends(
        intake_pb2.GetCategoryTrendsRequest(
            department_code=department, district_code=district, since=to_timestamp(since), until=to_timestamp(until)
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    view = CategoryTrendsView(
        department_code=department,
        district_code=district,
        months=list(answer.months),
        categories=[
            CategoryTrendView(
                category_code=c.category_code,
                category_name=LocalizedText.from_proto(c.category_name),
                is_other=c.is_other,
                monthly=list(c.monthly),
                total=c.total,
            )
            for c in answer.categories
        ],
        monthly_total=list(answer.monthly_total),
        monthly_other=list(answer.monthly_other),
        other_share=[o / t if t else None for o, t in zip(answer.monthly_other, answer.monthly_total, strict=True)],
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(trends_table(view), format)
