"""REST /v1/me/notices: the caller's in-app inbox (S16: portal notices count as served, so reads are recorded).

An officer's inbox holds the in-app notices addressed to their account or to any post their token says they hold; a
citizen's only the notices addressed to their account and to no post (notices to a post are meant for officers).
Notify answers MarkNoticeRead for a notice addressed to nobody in particular (only to a grievance) whoever asks, and
checks a single post per call, so the gateway checks that a notice is the caller's before it reads or marks it: a
notice that is not answers 404, like an unknown one.

The inbox is one ListNotices query over the account and every post held, a page at a time (notify's keyset token);
opening a notice asks notify for that one notice among the caller's, however old it is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from nivaran.common.v1 import common_pb2
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


def _inbox_request(principal: Principal) -> notify_pb2.ListNoticesRequest:
    """A ListNotices of the caller's in-app notices: to the account, and for an officer to any post held."""
    posts = [] if principal.is_citizen else [post for post in dict.fromkeys(principal.positions) if post]
    return notify_pb2.ListNoticesRequest(
        recipient_account_id=principal.account_id, recipient_position_ids=posts, in_app_only=True
    )


async def inbox(
    clients: ServiceClients,
    principal: Principal,
    *,
    unread_only: bool,
    page_size: int,
    page_token: str,
    timeout: float,
) -> tuple[list[notify_pb2.Notice], str]:
    """One page of the caller's in-app notices, newest first, and the token of the next page ("" on the last)."""
    asked = _inbox_request(principal)
    asked.unread_only = unread_only
    asked.page.CopyFrom(common_pb2.PageRequest(page_size=page_size, page_token=page_token))
    answer = await clients.notify.ListNotices(asked, timeout=timeout)
    token: str = answer.next_page_token
    return [n for n in answer.notices if addressed_to(principal, n)], token


async def _mine(clients: ServiceClients, principal: Principal, notice_id: str, timeout: float) -> notify_pb2.Notice:
    asked = _inbox_request(principal)
    asked.notice_id = notice_id
    answer = await clients.notify.ListNotices(asked, timeout=timeout)
    found: list[notify_pb2.Notice] = [n for n in answer.notices if n.id == notice_id and addressed_to(principal, n)]
    if found:
        return found[0]
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
    "account. Newest first, a page at a time: pass `next_page_token` back as `page_token` for the next page.",
    responses=problem_responses(400, 401, 403, 422, 429, 500, 502, 503),
)
async def list_notices(
    principal: Recipient,
    clients: Clients,
    settings: Settings,
    unread_only: Annotated[bool, Query(description="only notices not yet read")] = False,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=200, deprecated=True, description="the former name of `page_size`")
    ] = None,
) -> InboxList:
    """One page of the caller's newest in-app notices, with their delivered and read receipts."""
    notices, token = await inbox(
        clients,
        principal,
        unread_only=unread_only,
        page_size=limit or page_size,
        page_token=page_token or "",
        timeout=settings.grpc_timeout_seconds,
    )
    return InboxList(
        notices=[InboxNotice.from_proto(n) for n in notices], next_page_token=token or None, truncated=bool(token)
    )


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
