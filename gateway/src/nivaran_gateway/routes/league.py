"""REST /v1/public/league-table: a district's offices by M5's fair measure, for anyone, without signing in (issue 12).

Per office of the district: M5 for a month (intake's GetRanking grouped by office: rank, cases ended, within time,
not fixed, score) and, now, whether any of its open cases is past its deadline (intake's GetPendingByAge by office:
`overdue` and `days_over_30`). As JSON, or as an Excel or CSV download (`format`), like the review reports.

**A public read of counts.** The rows name offices and carry counts only: no complainant's name, phone, address or
grievance text, and no officer's name (not even the post's title; the office is the level the public compares). So
the gateway reads these counts on its own account, never with a visitor's token, and intake's door admits the gateway
as a system caller for GetRanking and GetPendingByAge (services/intake/src/nivaran_intake/access.py). The review
routes (`/v1/reports/*`) are unchanged: a person's token still reads only within their remit, and a citizen is
still refused there (review_scope.py). The route is rate-limited per IP (per account with a token) as `public_read`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran_common.auth import Principal
from nivaran_common.door import forward_token
from nivaran_common.timeutil import IST, to_timestamp
from nivaran_gateway.access import public
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.exports import FILE_RESPONSES, Column, ExportFormat, Table, bilingual, file_response
from nivaran_gateway.problems import problem_responses
from nivaran_gateway.routes.reports import month_interval
from nivaran_gateway.schemas.common import LocalizedText

router = APIRouter(prefix="/v1", tags=["reports"])

Anyone = Annotated[Principal | None, Depends(public("public_read"))]
DISTRICT_CODE = r"^[A-Z]{2,8}$"


class LeagueRowView(BaseModel):
    """One office: M5 for the month, and its open cases past deadline now. Counts only, no person."""

    rank: int | None = Field(description="1 for the best; null when too few cases ended to rank fairly")
    office_id: str
    office_name: LocalizedText
    ended: int = Field(description="cases the office ended in the month")
    within_time: int = Field(description="of those, ended with no deadline missed")
    not_fixed: int = Field(description="of those, came back after they ended (reopened, or unresolved, H3)")
    score: float | None = Field(description="(within_time - not_fixed) / ended, from -1 to 1; null with none ended")
    open_overdue: int = Field(description="open cases past their deadline now")
    open_over_30_days: int = Field(description="open cases filed more than 30 days ago, now")
    overdue: bool = Field(description="true when any open case of the office is past its deadline now")


class LeagueTableView(BaseModel):
    """A district's offices ranked by M5 for a month, each flagged when it has open cases past deadline now."""

    district_code: str
    month: str
    as_of: str
    min_ranked: int = Field(description="an office with fewer cases ended is listed after the ranked, unranked")
    rows: list[LeagueRowView]


def previous_month(now: datetime | None = None) -> str:
    """The last full month in India's time, `YYYY-MM`."""
    today = (now or datetime.now(UTC)).astimezone(IST)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def league_rows(ranking: intake_pb2.Ranking, pending: intake_pb2.PendingByAge) -> list[LeagueRowView]:
    """Ranking's rows in its order, then the offices with open cases but nothing ended in the month."""
    open_by_office = {r.office_id: r for r in pending.rows}
    rows: list[LeagueRowView] = []
    seen: set[str] = set()
    for r in ranking.rows:
        seen.add(r.office_id)
        now = open_by_office.get(r.office_id)
        rows.append(
            LeagueRowView(
                rank=r.rank or None,
                office_id=r.office_id,
                office_name=LocalizedText.from_proto(r.office_name),
                ended=r.ended,
                within_time=r.within_time,
                not_fixed=r.not_fixed,
                score=r.score if r.ended else None,
                open_overdue=now.overdue if now else 0,
                open_over_30_days=now.days_over_30 if now else 0,
                overdue=bool(now and now.overdue),
            )
        )
    for p in pending.rows:
        if p.office_id in seen:
            continue
        rows.append(
            LeagueRowView(
                rank=None,
                office_id=p.office_id,
                office_name=LocalizedText.from_proto(p.office_name),
                ended=0,
                within_time=0,
                not_fixed=0,
                score=None,
                open_overdue=p.overdue,
                open_over_30_days=p.days_over_30,
                overdue=p.overdue > 0,
            )
        )
    return rows


def league_table(view: LeagueTableView) -> Table:
    """The league table as a file."""
    columns = [
        Column("Rank", "क्रम", 6),
        Column("Office", "कार्यालय", 36),
        Column("Ended", "निष्पादित", 10),
        Column("Within time", "समय-सीमा में", 10),
        Column("Closed - not fixed", "बंद - समाधान नहीं", 12),
        Column("Score", "अंक", 8),
        Column("Open past deadline now", "अभी समय-सीमा पार (लंबित)", 12),
        Column("Open over 30 days now", "अभी 30 दिन से अधिक (लंबित)", 12),
        Column("Overdue", "समय-सीमा पार", 8),
    ]
    rows: list[list[str | int | float | None]] = [
        [
            r.rank,
            bilingual(r.office_name),
            r.ended,
            r.within_time,
            r.not_fixed,
            None if r.score is None else round(r.score, 3),
            r.open_overdue,
            r.open_over_30_days,
            "हाँ / yes" if r.overdue else "नहीं / no",
        ]
        for r in view.rows
    ]
    return Table(
        name=f"league-table-{view.district_code}-{view.month}".lower(),
        title_en=f"League table of offices, {view.district_code}, {view.month} (M5)",
        title_hi=f"कार्यालयों की तालिका, {view.district_code}, {view.month} (M5)",
        columns=columns,
        rows=rows,
        as_of=datetime.fromisoformat(view.as_of),
    )


@router.get(
    "/public/league-table",
    response_model=LeagueTableView,
    summary="A district's offices ranked by M5 for a month, with an overdue flag; public",
    description="Per office of `district_code`: M5 for `month` (YYYY-MM in India's time; default the last full "
    "month): cases ended, ended within time, ended but not fixed, and score = (within_time - not_fixed) / ended, "
    "ranked (an office with fewer than `min_ranked` cases ended is listed unranked); and now, its open cases past "
    "their deadline (`overdue` is true when there is any) and those open over 30 days. Offices and counts only: no "
    "complainant and no officer is named. No sign-in. `format=xlsx` or `format=csv` for a file.",
    responses={**problem_responses(422, 429, 500, 502, 503), **FILE_RESPONSES},
)
async def league(
    _caller: Anyone,
    clients: Clients,
    settings: Settings,
    district_code: Annotated[str, Query(pattern=DISTRICT_CODE, description="the district, e.g. PAT")],
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM in India's time; default the last full month")
    ] = None,
    format: ExportFormat = ExportFormat.JSON,  # noqa: A002 - the query parameter's name
) -> LeagueTableView | Response:
    """Counts per office, read on the gateway's own account (a public read: the module's docstring says why)."""
    # The visitor's token, if any, does not travel: the counts are the same for everyone, and intake's door admits
    # the gateway alone for them (a department client's token would be refused from the gateway's certificate).
    forward_token("")
    chosen = month or previous_month()
    since, until = month_interval(chosen)
    ranking = await clients.intake.GetRanking(
        intake_pb2.GetRankingRequest(
            district_code=district_code,
            group_by=intake_pb2.PENDING_GROUP_OFFICE,
            since=to_timestamp(since),
            until=to_timestamp(until),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    pending = await clients.intake.GetPendingByAge(
        intake_pb2.GetPendingByAgeRequest(district_code=district_code, group_by=intake_pb2.PENDING_GROUP_OFFICE),
        timeout=settings.grpc_timeout_seconds,
    )
    view = LeagueTableView(
        district_code=district_code,
        month=chosen,
        as_of=pending.as_of.ToDatetime(tzinfo=UTC).isoformat(),
        min_ranked=ranking.min_ranked,
        rows=league_rows(ranking, pending),
    )
    if format is ExportFormat.JSON:
        return view
    return file_response(league_table(view), format)
