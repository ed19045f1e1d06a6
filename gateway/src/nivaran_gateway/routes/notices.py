"""REST /v1/me/notices: the caller's in-app inbox (S16: portal notices count as served, so reads are recorded).

An officer's inbox holds the notices addressed to their account or to any post their token says they hold; a
citizen's only the notices addressed to their account and to no post (notices to a post are meant for officers).
Notify answers MarkNoticeRead for a notice addressed to nobody in particular (only to a grievance) whoever asks, and
checks a single post per call, so the gateway checks that a notice is the caller's before it reads or marks it: a
notice that is not answers 404, like an unknown one.

Notify's ListNotices has no paging: it answers its newest 200 per recipient, so the inbox is that bounded list, and a
notice older than those cannot be opened here.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import CITIZEN, OFFICER, Principal
from nivaran_gateway.access import requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.clients import ServiceClients
from nivaran_gateway.deps import Clients, Settings
from nivaran_gateway.problems import NOT_FOUND, ProblemError, problem_responses
from nivaran_gateway.schemas.notices import InboxList, InboxNotice, in_app_delivery

router = APIRouter(prefix="/v1/me/notices", tags=["notices"], route_class=JsonBodyRoute)

Recipient = Annotated[Principal, Depends(requires(CITIZEN, OFFICER))]
NoticeId = Annotated[str, Path(min_length=1, max_length=64, description="the notice's id")]


def addressed_to(principal: Principal, notice: notify_pb2.Notice) -> bool:
    """True when `notice` is an in-app notice of the caller's inbox (see the module docstring)."""
    if in_app_delivery(notice) is None:
        return False
    if principal.is_citizen:
        return notice.recipient_account_id == principal.account_id and not notice.recipient_position_id
    return notice.recipient_account_id == principal.account_id or (
        bool(notice.recipient_position_id) and notice.recipient_position_id in principal.positions
    )


async def inbox(
    clients: ServiceClients, principal: Principal, *, unread_only: bool, timeout: float
) -> list[notify_pb2.Notice]:
    """The caller's in-app notices, newest first: one ListNotices for the account and one per post held."""
    asked = [notify_pb2.ListNoticesRequest(recipient_account_id=principal.account_id, unread_only=unread_only)]
    if not principal.is_citizen:
        asked += [
            notify_pb2.ListNoticesRequest(recipient_position_id=post, unread_only=unread_only)
            for post in dict.fromkeys(principal.positions)
            if post
        ]
    answers = await asyncio.gather(*(clients.notify.ListNotices(request, timeout=timeout) for request in asked))
    found: dict[str, notify_pb2.Notice] = {}
    for answer in answers:
        for notice in answer.notices:
            if addressed_to(principal, notice):
                found.setdefault(notice.id, notice)
    return sorted(found.values(), key=lambda n: (n.created_at.ToDatetime(), n.id), reverse=True)


async def _mine(clients: ServiceClients, principal: Principal, notice_id: str, timeout: float) -> notify_pb2.Notice:
    for notice in await inbox(clients, principal, unread_only=False, timeout=timeout):
        if notice.id == notice_id:
            return notice
    raise ProblemError(NOT_FOUND, f"no notice {notice_id}")


async def _read(clients: ServiceClients, principal: Principal, notice_id: str, timeout: float) -> InboxNotice:
    notice = await _mine(clients, principal, notice_id, timeout)
    delivery = in_app_delivery(notice)
    if delivery is not None and delivery.HasField("read_at"):
        return InboxNotice.from_proto(notice)
    # The post the notice is addressed to, so notify's own check (one post per call) agrees with the gateway's.
    post = notice.recipient_position_id if notice.recipient_position_id in principal.positions else ""
    actor = principal.actor(position_id=post)
    actor.on_behalf_of_account_id = ""
    read = await clients.notify.MarkNoticeRead(
        notify_pb2.MarkNoticeReadRequest(notice_id=notice.id, actor=actor), timeout=timeout
    )
    return InboxNotice.from_proto(read)


@router.get(
    "",
    response_model=InboxList,
    summary="My in-app notices (S16)",
    description="An officer's notices to their account and to every post they hold; a citizen's notices to their "
    "account. Newest first, at most `limit`.",
    responses=problem_responses(401, 403, 422, 429, 500, 502, 503),
)
async def list_notices(
    principal: Recipient,
    clients: Clients,
    settings: Settings,
    unread_only: Annotated[bool, Query(description="only notices not yet read")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxList:
    """The caller's newest in-app notices, with their delivered and read receipts."""
    notices = await inbox(clients, principal, unread_only=unread_only, timeout=settings.grpc_timeout_seconds)
    return InboxList(notices=[InboxNotice.from_proto(n) for n in notices[:limit]], truncated=len(notices) > limit)


@router.get(
    "/{notice_id}",
    response_model=InboxNotice,
    summary="Open one of my notices; opening it records that it was read (S16)",
    description="A notice not addressed to the caller answers 404, like an unknown one.",
    responses=problem_responses(401, 403, 404, 422, 429, 500, 502, 503),
)
async def read_notice(notice_id: NoticeId, principal: Recipient, clients: Clients, settings: Settings) -> InboxNotice:
    """The notice with read_at set (the first read is kept)."""
    return await _read(clients, principal, notice_id, settings.grpc_timeout_seconds)


@router.post(
    "/{notice_id}/read",
    response_model=InboxNotice,
    summary="Mark one of my notices read (S16); marking it again changes nothing",
    description="A notice not addressed to the caller answers 404, like an unknown one.",
    responses=problem_responses(401, 403, 404, 422, 429, 500, 502, 503),
)
async def mark_notice_read(
    notice_id: NoticeId, principal: Recipient, clients: Clients, settings: Settings
) -> InboxNotice:
    """Idempotent: the first read_at stays."""
    return await _read(clients, principal, notice_id, settings.grpc_timeout_seconds)
