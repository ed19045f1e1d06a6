"""S16: the caller's in-app inbox (/v1/me/notices), and the officer's work list nearest deadline first.

The inbox holds an officer's notices to their account and to every post they hold, and a citizen's notices to their
account only; opening a notice records read_at. A notice that is not the caller's answers 404 before notify is asked
to mark anything. The last test runs the inbox against the real notify service (its servicer, store and migrations
on SQLite, in this process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from gateway_testkit import FILED_AT, PERSONAS

from nivaran.intake.v1 import intake_pb2
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.db import create_engine
from nivaran_common.grpc_server import build_server
from nivaran_common.migrations import upgrade_async
from nivaran_common.settings import Profile
from nivaran_common.testing import every_page
from nivaran_notify import SERVICE_ROOT as NOTIFY_ROOT
from nivaran_notify.main import bindings as notify_bindings
from nivaran_notify.main import build_service as build_notify
from nivaran_notify.settings import NotifySettings

OFFICER_A = PERSONAS["officer_a"].account_id
CITIZEN_A = PERSONAS["citizen_a"].account_id
CITIZEN_B = PERSONAS["citizen_b"].account_id
EMAIL_ONLY = (notify_pb2.DELIVERY_CHANNEL_EMAIL,)
IN_APP_AND_EMAIL = (notify_pb2.DELIVERY_CHANNEL_IN_APP, notify_pb2.DELIVERY_CHANNEL_EMAIL)


def seed_inbox(rig: Any) -> None:
    """Notices for officer A (account, post), officer B, citizens A and B, a grievance only, and by email only."""
    deliver = rig.notify.deliver
    deliver("n-post", position_id="pos-pat-l1", created_at=FILED_AT + timedelta(hours=3))
    deliver("n-account", account_id=OFFICER_A, template="case_assigned", created_at=FILED_AT + timedelta(hours=2))
    deliver("n-other-post", position_id="pos-gay-l1", created_at=FILED_AT + timedelta(hours=4))
    deliver("n-citizen-a", account_id=CITIZEN_A, channels=IN_APP_AND_EMAIL, created_at=FILED_AT + timedelta(hours=1))
    # Addressed to citizen A's account and to a post: meant for an officer, so never in a citizen's inbox.
    deliver("n-citizen-a-post", account_id=CITIZEN_A, position_id="pos-pat-l1", created_at=FILED_AT)
    deliver("n-citizen-b", account_id=CITIZEN_B, created_at=FILED_AT + timedelta(hours=5))
    deliver("n-email-only", position_id="pos-pat-l1", channels=EMAIL_ONLY, created_at=FILED_AT + timedelta(hours=6))
    deliver("n-grievance-only", created_at=FILED_AT + timedelta(hours=7))


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [n["id"] for n in response.json()["notices"]]


async def test_S16_officer_inbox_holds_notices_to_their_account_and_posts_newest_first(rig: Any) -> None:
    seed_inbox(rig)

    response = await rig.client.get("/v1/me/notices", headers=rig.auth("officer_a"))

    assert ids(response) == ["n-post", "n-account", "n-citizen-a-post"]
    item = response.json()["notices"][0]
    assert item == {
        "id": "n-post",
        "template": "sla_notice",
        "registration_number": "BR-PAT-2026-0000001-7",
        "subject": {"en": "Notice n-post", "hi": "सूचना n-post"},
        "body": {"en": "Body of n-post", "hi": "n-post का विवरण"},
        "created_at": "2026-03-02T07:30:00Z",
        "delivered_at": "2026-03-02T07:30:00Z",
        "read_at": None,
    }
    assert response.json()["truncated"] is False
    # One query: the account, every post held, in-app notices only.
    [asked] = rig.notify.list_requests
    assert (asked.recipient_account_id, list(asked.recipient_position_ids), asked.in_app_only) == (
        OFFICER_A,
        ["pos-pat-l1"],
        True,
    )


async def test_S16_citizen_inbox_never_holds_officer_notices(rig: Any) -> None:
    seed_inbox(rig)

    mine = await rig.client.get("/v1/me/notices", headers=rig.auth("citizen_a"))
    theirs = await rig.client.get("/v1/me/notices", headers=rig.auth("citizen_b"))

    assert ids(mine) == ["n-citizen-a"]
    assert ids(theirs) == ["n-citizen-b"]
    # A citizen's token holds no post, and the gateway asks notify for the account only.
    assert {(r.recipient_position_id, *r.recipient_position_ids) for r in rig.notify.list_requests} == {("",)}


async def test_S16_opening_a_notice_records_read_at_once(rig: Any) -> None:
    seed_inbox(rig)
    officer = rig.auth("officer_a")

    opened = await rig.client.get("/v1/me/notices/n-post", headers=officer)
    again = await rig.client.get("/v1/me/notices/n-post", headers=officer)
    marked = await rig.client.post("/v1/me/notices/n-post/read", headers=officer)
    unread = await rig.client.get("/v1/me/notices", params={"unread_only": "true"}, headers=officer)

    assert opened.status_code == 200, opened.text
    read_at = opened.json()["read_at"]
    assert read_at is not None
    assert again.json()["read_at"] == read_at
    assert marked.status_code == 200
    assert marked.json()["read_at"] == read_at
    assert ids(unread) == ["n-account", "n-citizen-a-post"]
    # Notify was asked once, as the holder of the post the notice is addressed to.
    [request] = rig.notify.read_requests
    assert (request.notice_id, request.actor.account_id, request.actor.position_id) == (
        "n-post",
        OFFICER_A,
        "pos-pat-l1",
    )


async def test_S16_mark_read_explicitly_for_a_citizen(rig: Any) -> None:
    seed_inbox(rig)

    first = await rig.client.post("/v1/me/notices/n-citizen-a/read", headers=rig.auth("citizen_a"))
    second = await rig.client.post("/v1/me/notices/n-citizen-a/read", headers=rig.auth("citizen_a"))

    assert first.status_code == 200, first.text
    assert first.json()["read_at"] is not None
    assert second.json() == first.json()


@pytest.mark.parametrize(
    ("persona", "notice_id"),
    [
        ("officer_b", "n-post"),  # another officer's post
        ("officer_b", "n-account"),  # another officer's account
        ("officer_a", "n-citizen-a"),  # a citizen's notice
        ("citizen_b", "n-citizen-a"),  # another citizen's notice
        ("citizen_a", "n-citizen-a-post"),  # meant for an officer
        ("citizen_a", "n-post"),
        ("officer_a", "n-grievance-only"),  # notify would let anyone mark it; the gateway does not
        ("officer_a", "n-email-only"),  # not an in-app notice
        ("officer_a", "no-such-notice"),
    ],
)
async def test_S16_a_notice_not_addressed_to_the_caller_is_404_and_stays_unread(
    rig: Any, persona: str, notice_id: str
) -> None:
    seed_inbox(rig)

    read = await rig.client.get(f"/v1/me/notices/{notice_id}", headers=rig.auth(persona))
    marked = await rig.client.post(f"/v1/me/notices/{notice_id}/read", headers=rig.auth(persona))

    for response in (read, marked):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == f"no notice {notice_id}"
    assert rig.notify.read_requests == []


async def test_inbox_is_for_signed_in_citizens_and_officers(rig: Any) -> None:
    anonymous = await rig.client.get("/v1/me/notices")
    limited = await rig.client.get("/v1/me/notices", params={"limit": 0}, headers=rig.auth("officer_a"))
    too_big = await rig.client.get("/v1/me/notices", params={"page_size": 201}, headers=rig.auth("officer_a"))

    assert anonymous.status_code == 401
    assert limited.status_code == 422
    assert [e["field"] for e in too_big.json()["errors"]] == ["page_size"]


async def test_S16_the_inbox_comes_a_page_at_a_time_and_an_old_notice_still_opens(rig: Any) -> None:
    """Two to a page, each notice once, newest first; the oldest (on the last page) opens by its id alone."""
    seed_inbox(rig)
    officer = rig.auth("officer_a")
    read = await every_page(rig.client, "/v1/me/notices", params={"page_size": 2}, headers=officer)
    pages = [[n["id"] for n in page["notices"]] for page in read]
    assert [page["truncated"] for page in read] == [page["next_page_token"] is not None for page in read]
    opened = await rig.client.get(f"/v1/me/notices/{pages[-1][-1]}", headers=officer)
    foreign = await rig.client.get("/v1/me/notices", params={"page_token": "bm90IGEgdG9rZW4"}, headers=officer)

    assert pages == [["n-post", "n-account"], ["n-citizen-a-post"]]
    assert opened.status_code == 200
    assert opened.json()["read_at"] is not None
    assert rig.notify.list_requests[-2].notice_id == "n-citizen-a-post"
    assert foreign.status_code in (400, 422)
    assert [e["field"] for e in foreign.json()["errors"]] == ["page.page_token"]


# --- the officer's work list ----------------------------------------------------------------------------------------

SOON, LATER, NONE = "BR-PAT-2026-0300001-7", "BR-PAT-2026-0300002-7", "BR-PAT-2026-0300003-7"


def seed_cases(rig: Any) -> None:
    rig.intake.seed(LATER, district="PAT", position_id="pos-pat-l1", department="REVENUE", account_id=CITIZEN_A,
                    deadline=FILED_AT + timedelta(days=9), deadline_clock="first_show_cause")  # fmt: skip
    rig.intake.seed(SOON, district="PAT", position_id="pos-pat-l1", department="REVENUE", account_id=CITIZEN_A,
                    deadline=FILED_AT + timedelta(days=2), deadline_clock="forward_within_3_days")  # fmt: skip
    rig.intake.seed(NONE, district="PAT", position_id="pos-pat-l1", department="REVENUE", account_id=CITIZEN_A)


def numbers(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [g["registration_number"] for g in response.json()["grievances"]]


async def test_officer_work_list_is_nearest_deadline_first_by_default(rig: Any) -> None:
    seed_cases(rig)

    default = await rig.client.get("/v1/grievances", headers=rig.auth("officer_a"))
    newest = await rig.client.get("/v1/grievances", params={"order": "newest"}, headers=rig.auth("officer_a"))

    assert numbers(default) == [SOON, LATER, NONE]
    assert numbers(newest) == [NONE, SOON, LATER]
    assert [r.order for r in rig.intake.list_requests] == [
        intake_pb2.GRIEVANCE_ORDER_DEADLINE,
        intake_pb2.GRIEVANCE_ORDER_UNSPECIFIED,
    ]
    soon = default.json()["grievances"][0]
    assert (soon["current_deadline"], soon["deadline_clock"]) == ("2026-03-04T04:30:00Z", "forward_within_3_days")
    none = default.json()["grievances"][2]
    assert (none["current_deadline"], none["deadline_clock"]) == (None, None)


async def test_citizen_list_is_newest_first_by_default_and_may_ask_for_deadlines(rig: Any) -> None:
    seed_cases(rig)

    default = await rig.client.get("/v1/grievances", headers=rig.auth("citizen_a"))
    by_deadline = await rig.client.get("/v1/grievances", params={"order": "deadline"}, headers=rig.auth("citizen_a"))
    bad = await rig.client.get("/v1/grievances", params={"order": "oldest"}, headers=rig.auth("citizen_a"))

    assert numbers(default) == [NONE, SOON, LATER]
    assert numbers(by_deadline) == [SOON, LATER, NONE]
    assert bad.status_code == 422


async def test_work_list_pages_keep_the_deadline_order(rig: Any) -> None:
    seed_cases(rig)
    officer = rig.auth("officer_a")

    first = await rig.client.get("/v1/grievances", params={"page_size": 2}, headers=officer)
    token = first.json()["next_page_token"]
    second = await rig.client.get("/v1/grievances", params={"page_size": 2, "page_token": token}, headers=officer)

    assert numbers(first) == [SOON, LATER]
    assert numbers(second) == [NONE]
    assert second.json()["next_page_token"] is None


# --- against the real notify service --------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def real_notify(tmp_path: Path) -> AsyncIterator[tuple[str, notify_pb2_grpc.NotifyServiceStub]]:
    """Notify's own servicer and store on a migrated SQLite database, served on a free port."""
    settings = NotifySettings(profile=Profile.TEST, database_url=f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}")
    await upgrade_async(NOTIFY_ROOT, settings.database_url)
    engine = create_engine(settings.database_url)
    async with httpx.AsyncClient() as http:
        service = build_notify(settings, engine, http)
        server, port, _ = await build_server(notify_bindings(service), "127.0.0.1", 0)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield f"127.0.0.1:{port}", notify_pb2_grpc.NotifyServiceStub(channel)
        await server.stop(None)
    await engine.dispose()


def sla_notice(key: str, recipient: notify_pb2.Recipient) -> notify_pb2.SendRequest:
    request = notify_pb2.SendRequest(
        dedupe_key=key,
        template="sla_notice",
        recipient=recipient,
        channels=[notify_pb2.DELIVERY_CHANNEL_IN_APP],
        registration_number=SOON,
        grievance_id="g-real",
    )
    request.params.update(
        {
            "registration_number": SOON,
            "headline_en": "Show-cause notice",
            "headline_hi": "कारण पृच्छा",
            "detail_en": "No action within 10 days.",
            "detail_hi": "10 दिनों में कोई कार्रवाई नहीं।",
        }
    )
    return request


async def test_S16_inbox_against_the_real_notify_service(
    make_rig: Any, real_notify: tuple[str, notify_pb2_grpc.NotifyServiceStub]
) -> None:
    target, notify = real_notify
    rig = await make_rig(notify_target=target)
    to_post = await notify.Send(sla_notice("k-officer", notify_pb2.Recipient(position_id="pos-pat-l1", kind="officer")))
    to_citizen = await notify.Send(sla_notice("k-citizen", notify_pb2.Recipient(account_id=CITIZEN_A, kind="citizen")))
    officer, citizen = rig.auth("officer_a"), rig.auth("citizen_a")

    officer_inbox = await rig.client.get("/v1/me/notices", headers=officer)
    citizen_inbox = await rig.client.get("/v1/me/notices", headers=citizen)
    stranger = await rig.client.get(f"/v1/me/notices/{to_post.notice.id}", headers=rig.auth("officer_b"))
    not_for_citizens = await rig.client.get(f"/v1/me/notices/{to_post.notice.id}", headers=citizen)
    opened = await rig.client.get(f"/v1/me/notices/{to_post.notice.id}", headers=officer)
    unread = await rig.client.get("/v1/me/notices", params={"unread_only": "true"}, headers=officer)

    assert ids(officer_inbox) == [to_post.notice.id]
    item = officer_inbox.json()["notices"][0]
    assert item["subject"]["hi"]
    assert item["subject"]["en"]
    assert "कारण पृच्छा" in item["body"]["hi"]
    assert item["delivered_at"] is not None
    assert item["read_at"] is None
    assert ids(citizen_inbox) == [to_citizen.notice.id]
    assert (stranger.status_code, not_for_citizens.status_code) == (404, 404)
    assert opened.status_code == 200, opened.text
    assert opened.json()["read_at"] is not None
    assert ids(unread) == []
    status = await notify.GetDeliveryStatus(notify_pb2.GetDeliveryStatusRequest(dedupe_key="k-officer"))
    [delivery] = status.notice.deliveries
    assert delivery.state == notify_pb2.DELIVERY_STATE_READ
