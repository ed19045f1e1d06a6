"""The citizen's recourse on their case page against the gateway's fakes: each form (answer a question, feedback,
reopen, appeal) only in the statuses the case's lifecycle takes it in, the act reaching /v1 with the form's
Idempotency-Key, /v1's field error next to its input, and a form not offered now refused without asking /v1."""

from __future__ import annotations

import html
import re

import pytest
from babel.messages.pofile import read_po
from gateway_testkit import Rig
from test_web_pages import csrf_of, sign_in_as

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.web.i18n import LOCALE_DIR

CASE = "BR-PAT-2026-0000301-7"
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


def seed(rig: Rig, status: intake_pb2.Status.ValueType) -> None:
    case = rig.intake.seed(
        CASE, district="PAT", position_id="pos-co-bihta", department="REVENUE", account_id="acct-citizen-a"
    )
    case.status = status
    sign_in_as(rig.client, "citizen_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")


def forms_on(html: str) -> list[str]:
    return re.findall(r'data-form="([a-z-]+)"', html)


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (intake_pb2.STATUS_ASSIGNED, []),
        (intake_pb2.STATUS_AWAITING_CITIZEN, ["info-response"]),
        (intake_pb2.STATUS_DISPOSED, ["feedback", "reopen", "appeal"]),
        (intake_pb2.STATUS_CLOSED, ["feedback", "reopen", "appeal"]),
        (intake_pb2.STATUS_REJECTED, ["appeal"]),
    ],
)
async def test_the_case_page_offers_the_recourse_its_status_allows(
    rig: Rig, status: intake_pb2.Status.ValueType, offered: list[str]
) -> None:
    seed(rig, status)

    page = await rig.client.get(f"/app/grievances/{CASE}")

    assert page.status_code == 200
    assert forms_on(page.text) == offered


async def test_H3_the_complainant_gives_feedback_through_v1_with_the_forms_key(rig: Rig) -> None:
    seed(rig, intake_pb2.STATUS_DISPOSED)
    page = await rig.client.get(f"/app/grievances/{CASE}")
    key = KEY.search(page.text.split('data-form="feedback"', 1)[1])
    assert key

    sent = await rig.client.post(
        f"/app/grievances/{CASE}/recourse/feedback",
        data={"csrf": csrf_of(page.text), "idempotency_key": key.group(1), "rating": "2", "resolved": "no",
              "comment": "नाली अब भी बंद है / the drain is still blocked"},
    )  # fmt: skip
    after = await rig.client.get(sent.headers["location"])

    assert (sent.status_code, sent.headers["location"]) == (303, f"/app/grievances/{CASE}?done=1")
    act = rig.sla.acts[-1]
    assert (act.WhichOneof("act"), act.feedback.rating, act.feedback.resolved) == ("feedback", 2, False)
    assert act.idempotency_key == f"web-{key.group(1)}"
    assert "Done: your step is recorded" in after.text


async def test_C6_the_complainant_answers_the_officers_question(rig: Rig) -> None:
    seed(rig, intake_pb2.STATUS_AWAITING_CITIZEN)
    rig.client.cookies.set("lang", "hi", domain="gateway.test")
    page = await rig.client.get(f"/app/grievances/{CASE}")

    sent = await rig.client.post(
        f"/app/grievances/{CASE}/recourse/info-response",
        data={"csrf": csrf_of(page.text), "response": "पावती संख्या 4411 है।"},
    )

    assert "पदाधिकारी के प्रश्न का उत्तर दें" in page.text
    assert sent.status_code == 303
    assert rig.sla.acts[-1].citizen_response.response == "पावती संख्या 4411 है।"


async def test_B4_an_appeal_without_a_kind_comes_back_with_v1s_error_next_to_its_field(rig: Rig) -> None:
    seed(rig, intake_pb2.STATUS_REJECTED)
    page = await rig.client.get(f"/app/grievances/{CASE}")

    sent = await rig.client.post(
        f"/app/grievances/{CASE}/recourse/appeal",
        data={"csrf": csrf_of(page.text), "grounds": "अस्वीकृति का आधार गलत है / the ground is wrong"},
    )

    assert sent.status_code == 422
    assert re.search(r'name="kind"[^>]*aria-invalid="true"', sent.text)
    assert rig.sla.acts == []


async def test_a_recourse_the_case_does_not_take_now_is_refused_without_asking_v1(rig: Rig) -> None:
    seed(rig, intake_pb2.STATUS_ASSIGNED)
    page = await rig.client.get(f"/app/grievances/{CASE}")

    sent = await rig.client.post(
        f"/app/grievances/{CASE}/recourse/reopen", data={"csrf": csrf_of(page.text), "reason": "not fixed at all"}
    )

    assert sent.status_code == 409
    assert "Your case does not take this step now." in sent.text
    assert rig.sla.acts == []


async def test_the_recourse_forms_in_hindi_carry_no_untranslated_english(rig: Rig) -> None:
    seed(rig, intake_pb2.STATUS_DISPOSED)
    rig.client.cookies.set("lang", "hi", domain="gateway.test")
    english_texts = [
        m.id
        for m in read_po((LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb"))
        if isinstance(m.id, str) and len(m.id) >= 12 and " " in m.id and "%(" not in m.id
    ]

    page = await rig.client.get(f"/app/grievances/{CASE}")

    assert page.status_code == 200
    assert forms_on(page.text) == ["feedback", "reopen", "appeal"]
    assert "क्या आपकी शिकायत का निवारण हुआ?" in page.text
    assert [english for english in english_texts if english in html.unescape(page.text)] == []
