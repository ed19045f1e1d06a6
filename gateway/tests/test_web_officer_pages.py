"""The officer's pages at /app/officer against the gateway's fakes: sign-in by password, the inbox nearest deadline
first with its countdown and the clock's rule, only the acts the officer may take now, an act reaching /v1 with its
Idempotency-Key and /v1's errors next to the fields, CSRF, a citizen's 403 page, and both languages; the C5 review
form for the officer holding the reviewing post only; the review page with its figures, table, downloads and
server-drawn chart."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from gateway_testkit import Rig
from test_web_pages import csrf_of, set_cookies, sign_in_as

from nivaran.intake.v1 import intake_pb2
from nivaran.sla.v1 import sla_pb2
from nivaran_common.errors import Unavailable
from nivaran_gateway.web.officer_view import countdown
from nivaran_gateway.web.session import ACCESS_COOKIE, REFRESH_COOKIE

SOON = "BR-PAT-2026-0000101-7"
LATE = "BR-PAT-2026-0000102-7"
NONE = "BR-PAT-2026-0000103-7"
BELOW = "BR-PAT-2026-0000104-7"
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


def seed_inbox(rig: Rig) -> None:
    now = datetime.now(UTC)
    common = {"district": "PAT", "department": "REVENUE"}
    rig.intake.seed(NONE, position_id="pos-pat-l1", **common)
    rig.intake.seed(
        SOON, position_id="pos-pat-l1", deadline=now + timedelta(days=3, hours=4, minutes=30),
        deadline_clock="l1_forward", **common,
    )  # fmt: skip
    rig.intake.seed(
        LATE, position_id="pos-pat-l1", deadline=now - timedelta(days=2, minutes=5),
        deadline_clock="first_show_cause", **common,
    )  # fmt: skip
    # Within officer A's scope (a post below theirs), but not theirs to act on.
    rig.intake.seed(BELOW, position_id="pos-co-bihta", **common)


def act_forms(html: str) -> set[str]:
    return set(re.findall(r'data-act="([a-z-]+)"', html))


def form_of(html: str, act: str) -> tuple[str, str]:
    section = html.split(f'data-act="{act}"', 1)[1]
    key = KEY.search(section)
    assert key
    return csrf_of(html), key.group(1)


async def test_an_officer_signs_in_with_password_and_code_into_http_only_cookies(rig: Rig) -> None:
    csrf = csrf_of((await rig.client.get("/app/officer/signin")).text)
    fields = {"csrf": csrf, "username": "officer.a", "password": "correct horse", "next": "/app/officer"}

    wrong = await rig.client.post("/app/officer/signin", data={**fields, "password": "nope"})
    signed_in = await rig.client.post("/app/officer/signin", data={**fields, "totp": "123456"})

    assert wrong.status_code == 401
    assert re.search(r'name="password"[^>]*aria-invalid="true"[^>]*>\s*<p class="error" id="e-password"', wrong.text)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/app/officer")
    cookies = set_cookies(signed_in)
    for name in (ACCESS_COOKIE, REFRESH_COOKIE, "nv_sid"):
        assert "HttpOnly" in cookies[name]
        assert "Path=/app" in cookies[name]
    logins = [r for r in rig.identity.requests if r.DESCRIPTOR.name == "PasswordLoginRequest"]
    assert [r.totp for r in logins] == ["", "123456"]
    assert (await rig.client.get("/app/officer")).status_code == 200


async def test_officer_pages_send_a_visitor_without_a_session_to_the_officers_sign_in(rig: Rig) -> None:
    page = await rig.client.get("/app/officer/show-causes")

    assert page.status_code == 303
    assert page.headers["location"] == "/app/officer/signin?next=%2Fapp%2Fofficer%2Fshow-causes"


async def test_the_sign_in_comes_back_to_the_page_asked_for_with_its_query(rig: Rig) -> None:
    asked = await rig.client.get("/app/officer/categories", params={"department_code": "REVENUE"})
    assert (
        asked.headers["location"]
        == "/app/officer/signin?next=%2Fapp%2Fofficer%2Fcategories%3Fdepartment_code%3DREVENUE"
    )
    form = await rig.client.get(asked.headers["location"])
    assert 'value="/app/officer/categories?department_code=REVENUE"' in form.text


@pytest.mark.parametrize(
    ("lang", "soon", "late", "rule"),
    [
        ("en", "3 days 4 hours left", "overdue by 2 days", "L1 acts or forwards within 3 days"),
        ("hi", "3 दिन 4 घंटे शेष", "2 दिन से विलंबित", "L1 पदाधिकारी 3 दिनों में कार्रवाई या अग्रसारण करें"),
    ],
)
async def test_S8_the_inbox_lists_cases_nearest_deadline_first_with_the_time_left_and_the_rule(
    rig: Rig, lang: str, soon: str, late: str, rule: str
) -> None:
    seed_inbox(rig)
    sign_in_as(rig.client, "officer_a")
    rig.client.cookies.set("lang", lang, domain="gateway.test")

    page = await rig.client.get("/app/officer")

    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    numbers = re.findall(r'<a href="/app/officer/grievances/([A-Z0-9-]+)" class="number">', page.text)
    # Nearest deadline first; the cases without one last, newest first.
    assert numbers == [LATE, SOON, BELOW, NONE]
    assert rig.intake.list_requests[-1].order == intake_pb2.GRIEVANCE_ORDER_DEADLINE
    row = re.compile(
        r'/app/officer/grievances/([A-Z0-9-]+)" class="number">.*?<span class="countdown"[^>]*>([^<(]+)', re.S
    )
    rows = dict(row.findall(page.text))
    assert rows[SOON].strip() == soon
    assert rows[LATE].strip() == late
    assert rule in page.text


def test_the_countdown_words_in_both_languages() -> None:
    now = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)

    def words(delta: timedelta, lang: str) -> str:
        return countdown((now + delta).isoformat(), lambda m: m, lang, now=now).text  # type: ignore[arg-type]

    assert words(timedelta(minutes=20), "en") == "20 minutes left"
    assert words(timedelta(hours=5), "en") == "5 hours left"
    assert words(timedelta(days=1), "en") == "1 day left"
    assert words(-timedelta(hours=1, minutes=10), "en") == "overdue by 1 hour"
    assert countdown(None, lambda m: m, "en").text == "no deadline running"


async def test_the_case_page_offers_only_the_acts_the_officer_may_take_now(rig: Rig) -> None:
    seed_inbox(rig)
    rig.sla.seed_notice(SOON, "scn-1", "pos-pat-l1")
    rig.sla.seed_notice(SOON, "scn-old", "pos-pat-l1", replied=True)
    rig.intake.by_number[LATE].status = intake_pb2.STATUS_DISPOSED
    sign_in_as(rig.client, "officer_a")

    mine = await rig.client.get(f"/app/officer/grievances/{SOON}")
    below = await rig.client.get(f"/app/officer/grievances/{BELOW}")
    ended = await rig.client.get(f"/app/officer/grievances/{LATE}")

    assert mine.status_code == below.status_code == ended.status_code == 200
    assert act_forms(mine.text) == {"report", "disposal", "info-request", "forward", "show-cause-reply"}
    assert 'action="/app/officer/grievances/BR-PAT-2026-0000101-7/acts/show-cause-reply?notice=scn-1"' in mine.text
    assert "scn-old" not in mine.text
    # Every form has a label for every input, and an Idempotency-Key of its own.
    assert len(set(KEY.findall(mine.text))) == 5
    # The case one post below is in officer A's scope but not theirs to act on; an ended case has no acts left.
    assert act_forms(below.text) == set()
    assert 'class="no-acts"' in below.text
    assert act_forms(ended.text) == set()


async def test_an_act_reaches_v1_with_the_forms_idempotency_key_and_the_timeline_shows(rig: Rig) -> None:
    seed_inbox(rig)
    sign_in_as(rig.client, "officer_a")
    page = (await rig.client.get(f"/app/officer/grievances/{SOON}")).text
    csrf, key = form_of(page, "report")
    fields = {"csrf": csrf, "idempotency_key": key, "kind": "action_taken", "action_taken": "सत्यापन कराया गया"}

    sent = await rig.client.post(f"/app/officer/grievances/{SOON}/acts/report", data=fields)

    assert (sent.status_code, sent.headers["location"]) == (303, f"/app/officer/grievances/{SOON}?done=1")
    act = rig.sla.acts[-1]
    assert act.WhichOneof("act") == "report"
    assert act.report.action_taken == "सत्यापन कराया गया"
    assert key in act.idempotency_key
    assert act.caller.position_ids == ["pos-pat-l1"]
    done = await rig.client.get(sent.headers["location"])
    assert 'role="status"' in done.text


async def test_a_v1_refusal_is_shown_next_to_the_field_it_names_with_the_same_key(rig: Rig) -> None:
    seed_inbox(rig)
    sign_in_as(rig.client, "officer_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")
    csrf, key = form_of((await rig.client.get(f"/app/officer/grievances/{SOON}")).text, "forward")

    refused = await rig.client.post(
        f"/app/officer/grievances/{SOON}/acts/forward",
        data={"csrf": csrf, "idempotency_key": key, "to_position_id": "pos-nowhere", "note": "आगे भेजें"},
    )
    forwarded = await rig.client.post(
        f"/app/officer/grievances/{SOON}/acts/forward",
        data={"csrf": csrf, "idempotency_key": key, "to_position_id": "pos-co-bihta"},
    )

    assert refused.status_code == 400
    assert re.search(
        r'name="to_position_id"[^>]*aria-invalid="true"[^>]*>\s*'
        r'<p class="error" id="e-f-forward-to_position_id" data-field="to_position_id">Please check this field:',
        refused.text,
    )
    # The form that came back is the one open; the others stay folded.
    assert re.search(r'<details class="card act" id="act-forward" data-act="forward" open>', refused.text)
    assert len(re.findall(r'<details class="card act"[^>]* open>', refused.text)) == 1
    assert "आगे भेजें" in refused.text
    assert f'value="{key}"' in refused.text
    assert forwarded.status_code == 303
    assert [f.to_position_id for f in rig.sla.forwards] == ["pos-co-bihta"]


async def test_an_act_not_offered_is_refused_without_asking_v1(rig: Rig) -> None:
    seed_inbox(rig)
    sign_in_as(rig.client, "officer_a")
    csrf = csrf_of((await rig.client.get(f"/app/officer/grievances/{BELOW}")).text)

    refused = await rig.client.post(
        f"/app/officer/grievances/{BELOW}/acts/disposal", data={"csrf": csrf, "kind": "resolved", "action_taken": "x"}
    )

    assert refused.status_code == 403
    assert rig.sla.acts == []


async def test_an_act_without_the_csrf_token_is_a_403_page_and_reaches_nothing(rig: Rig) -> None:
    seed_inbox(rig)
    sign_in_as(rig.client, "officer_a")
    await rig.client.get(f"/app/officer/grievances/{SOON}")

    refused = await rig.client.post(
        f"/app/officer/grievances/{SOON}/acts/report", data={"kind": "action_taken", "action_taken": "x"}
    )

    assert refused.status_code == 403
    assert 'data-status="403"' in refused.text
    assert rig.sla.acts == []


@pytest.mark.parametrize("path", ["/app/officer", "/app/officer/notices", f"/app/officer/grievances/{SOON}"])
async def test_a_citizen_gets_a_403_page_on_officer_pages(rig: Rig, path: str) -> None:
    seed_inbox(rig)
    sign_in_as(rig.client, "citizen_a")

    page = await rig.client.get(path)

    assert page.status_code == 403
    assert "पदाधिकारियों के लिए" in page.text


async def test_the_show_cause_notices_to_answer_and_the_reply_reaches_v1(rig: Rig) -> None:
    seed_inbox(rig)
    rig.sla.seed_notice(SOON, "scn-1", "pos-pat-l1")
    rig.sla.seed_notice(LATE, "scn-2", "pos-pat-l1", replied=True)
    sign_in_as(rig.client, "officer_a")

    listed = await rig.client.get("/app/officer/show-causes")
    case = (await rig.client.get(f"/app/officer/grievances/{SOON}")).text
    csrf, key = form_of(case, "show-cause-reply")
    replied = await rig.client.post(
        f"/app/officer/grievances/{SOON}/acts/show-cause-reply?notice=scn-1",
        data={"csrf": csrf, "idempotency_key": key, "reply": "राशन कार्ड जारी कर दिया गया है।"},
    )

    assert listed.status_code == 200
    assert f"/app/officer/grievances/{SOON}#act-show-cause-reply-scn-1" in listed.text
    assert LATE not in listed.text
    assert replied.status_code == 303
    act = rig.sla.acts[-1]
    assert (act.show_cause_reply.notice_id, act.show_cause_reply.reply) == ("scn-1", "राशन कार्ड जारी कर दिया गया है।")


def under_review(rig: Rig, number: str, reviewer: str = "pos-pat-dm") -> None:
    """C5: the case's final report waits on `reviewer`, as the lifecycle (and so GET /v1/.../clocks) names it."""
    rig.sla.reviewers[rig.intake.by_number[number].id] = reviewer


@pytest.mark.parametrize(
    ("lang", "title", "reviewer_line", "close"),
    [
        ("en", "Review the final report", "Reviewer of the final report (C5)", "Accept and close the case (CS cell)"),
        ("hi", "अंतिम प्रतिवेदन की समीक्षा करें", "अंतिम प्रतिवेदन के समीक्षक (C5)", "स्वीकार कर मामला बंद करें (मुख्य सचिव कोषांग)"),
    ],
)
async def test_C5_the_reviewer_sees_the_review_form_and_it_reaches_v1_with_the_decision_and_key(
    rig: Rig, lang: str, title: str, reviewer_line: str, close: str
) -> None:
    seed_inbox(rig)
    under_review(rig, SOON)
    sign_in_as(rig.client, "dm_a")
    rig.client.cookies.set("lang", lang, domain="gateway.test")

    page = await rig.client.get(f"/app/officer/grievances/{SOON}")

    assert page.status_code == 200
    # The DM holds the reviewing post, not the case's: the review is the one act offered.
    assert act_forms(page.text) == {"review"}
    assert f'{title} <span class="rule">(C5)</span>' in page.text
    assert f'<dt>{reviewer_line}</dt><dd class="reviewer">pos-pat-dm</dd>' in page.text
    assert re.findall(r'<option value="(forward|return|close)"', page.text) == ["forward", "return", "close"]
    assert f'<option value="close">{close}</option>' in page.text
    assert 'action="/app/officer/grievances/BR-PAT-2026-0000101-7/acts/review"' in page.text
    assert rig.sla.clock_requests == [rig.intake.by_number[SOON].id]
    csrf, key = form_of(page.text, "review")

    sent = await rig.client.post(
        f"/app/officer/grievances/{SOON}/acts/review",
        data={
            "csrf": csrf,
            "idempotency_key": key,
            "decision": "forward",
            "note": "गृह विभाग को अग्रसारित / to the department",
        },
    )

    assert (sent.status_code, sent.headers["location"]) == (303, f"/app/officer/grievances/{SOON}?done=1")
    [act] = rig.sla.acts
    assert act.WhichOneof("act") == "review"
    assert (act.review.decision, act.review.note) == (
        sla_pb2.REVIEW_DECISION_FORWARD,
        "गृह विभाग को अग्रसारित / to the department",
    )
    assert act.idempotency_key == f"web-{key}"
    assert (act.caller.account_id, list(act.caller.position_ids)) == ("acct-dm-a", ["pos-pat-dm"])


async def test_C5_the_case_holder_who_is_not_the_reviewer_sees_no_review_form(rig: Rig) -> None:
    seed_inbox(rig)
    under_review(rig, SOON)
    under_review(rig, LATE)
    rig.intake.by_number[LATE].status = intake_pb2.STATUS_CLOSED
    sign_in_as(rig.client, "officer_a")
    holder = await rig.client.get(f"/app/officer/grievances/{SOON}")
    sign_in_as(rig.client, "dm_a")
    not_under_review = await rig.client.get(f"/app/officer/grievances/{NONE}")
    closed = await rig.client.get(f"/app/officer/grievances/{LATE}")

    assert holder.status_code == not_under_review.status_code == closed.status_code == 200
    # The holder keeps the holder's acts and reads who reviews the report, but the review is not theirs.
    assert act_forms(holder.text) == {"report", "disposal", "info-request", "forward"}
    assert 'class="reviewer">pos-pat-dm</dd>' in holder.text
    # No report under review, or an ended case: the DM has nothing to review.
    assert act_forms(not_under_review.text) == set()
    assert 'class="reviewer"' not in not_under_review.text
    assert act_forms(closed.text) == set()


async def test_C5_a_failed_clocks_read_only_takes_the_review_form_away(rig: Rig) -> None:
    seed_inbox(rig)
    under_review(rig, SOON)
    rig.sla.clocks_fail_with = Unavailable("the case's lifecycle did not answer; try again")
    sign_in_as(rig.client, "dm_a")
    reviewer = await rig.client.get(f"/app/officer/grievances/{SOON}")
    sign_in_as(rig.client, "officer_a")
    holder = await rig.client.get(f"/app/officer/grievances/{SOON}")

    assert reviewer.status_code == holder.status_code == 200
    assert act_forms(reviewer.text) == set()
    assert act_forms(holder.text) == {"report", "disposal", "info-request", "forward"}


async def test_C5_a_review_not_offered_is_refused_without_asking_v1(rig: Rig) -> None:
    seed_inbox(rig)
    under_review(rig, SOON)
    fields = {"decision": "close", "note": "संतोषजनक"}
    sign_in_as(rig.client, "officer_a")
    csrf = csrf_of((await rig.client.get(f"/app/officer/grievances/{SOON}")).text)
    by_the_holder = await rig.client.post(f"/app/officer/grievances/{SOON}/acts/review", data={"csrf": csrf, **fields})
    sign_in_as(rig.client, "dm_a")
    csrf = csrf_of((await rig.client.get(f"/app/officer/grievances/{NONE}")).text)
    nothing_to_review = await rig.client.post(
        f"/app/officer/grievances/{NONE}/acts/review", data={"csrf": csrf, **fields}
    )

    assert by_the_holder.status_code == nothing_to_review.status_code == 403
    assert rig.sla.acts == []


async def test_S16_notices_read_and_unread_with_a_mark_read_button(rig: Rig) -> None:
    rig.notify.deliver("n-post", position_id="pos-pat-l1", registration_number=SOON)
    rig.notify.deliver("n-other", position_id="pos-gay-l1")
    sign_in_as(rig.client, "officer_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")

    before = await rig.client.get("/app/officer/notices")
    marked = await rig.client.post("/app/officer/notices/n-post/read", data={"csrf": csrf_of(before.text)})
    after = await rig.client.get("/app/officer/notices")

    assert 'data-notice="n-post"' in before.text
    assert "n-other" not in before.text
    assert 'action="/app/officer/notices/n-post/read"' in before.text
    assert "Unread" in before.text
    assert (marked.status_code, marked.headers["location"]) == (303, "/app/officer/notices")
    assert 'action="/app/officer/notices/n-post/read"' not in after.text
    assert "Read on" in after.text


async def test_the_review_page_shows_the_dashboard_the_table_and_an_inline_svg_chart(rig: Rig) -> None:
    sign_in_as(rig.client, "dm_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")

    by_office = await rig.client.get("/app/officer/review")
    by_officer = await rig.client.get("/app/officer/review", params={"by": "officer"})

    assert by_office.status_code == by_officer.status_code == 200
    assert "<dt>Pending</dt><dd>20</dd>" in by_office.text
    assert "Collectorate, PAT" in by_office.text
    assert "Officer (post)" not in by_office.text
    assert "Officer (post)" in by_officer.text
    assert ">ADM<" in by_officer.text
    # The chart is Vega-Lite rendered to SVG on the server: inline, labelled, text kept as text, no script or style.
    svg = by_office.text.split('<figure class="chart">', 1)[1].split("</figure>", 1)[0]
    assert svg.strip().startswith('<svg role="img" aria-label="Bar chart of the open cases by age')
    assert re.search(r"<text[^>]*>0-10 days</text>", svg)
    assert "<script" not in svg
    assert " style=" not in by_office.text
    assert 'href="/app/officer/review/pending-by-age?by=office&amp;format=xlsx"' in by_office.text
    assert 'href="/app/officer/review/pending-by-age?by=officer&amp;format=csv"' in by_officer.text


async def test_the_review_page_draws_its_chart_labels_in_hindi(rig: Rig) -> None:
    sign_in_as(rig.client, "dm_a")

    page = await rig.client.get("/app/officer/review")

    assert re.search(r"<text[^>]*>30 दिन से अधिक</text>", page.text)
    assert "समाहरणालय" in page.text


@pytest.mark.parametrize(("fmt", "media"), [("xlsx", "spreadsheetml"), ("csv", "text/csv")])
async def test_the_review_table_downloads_as_v1_writes_it(rig: Rig, fmt: str, media: str) -> None:
    sign_in_as(rig.client, "dm_a")

    download = await rig.client.get("/app/officer/review/pending-by-age", params={"by": "officer", "format": fmt})

    assert download.status_code == 200
    assert media in download.headers["content-type"]
    assert download.headers["content-disposition"].startswith('attachment; filename="pending-by-age-pat-')
    if fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(download.content)) as workbook:
            strings = workbook.read("xl/sharedStrings.xml").decode()
        assert "Collectorate, PAT" in strings
    else:
        assert "Collectorate, PAT" in download.content.decode("utf-8-sig")


async def test_the_review_page_shows_v1s_refusal_to_an_officer_outside_the_review_roles(rig: Rig) -> None:
    sign_in_as(rig.client, "officer_a")

    page = await rig.client.get("/app/officer/review")

    assert page.status_code == 403
    assert 'data-status="403"' in page.text
    assert "<svg" not in page.text
