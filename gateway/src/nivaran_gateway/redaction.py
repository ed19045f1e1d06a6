"""What a citizen may not see of a case they may read: notices addressed to officers, and officers' account ids.

The complainant reads their case's timeline and notices; the officers acting on it are named by their post and
role, never by account (an account id is an officer's sign-in identity, not a public fact). Officers read both as
they are.
"""

from __future__ import annotations

from collections.abc import Iterable

from nivaran.common.v1 import common_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import Principal


def citizen_notices(principal: Principal, notices: Iterable[notify_pb2.Notice]) -> list[notify_pb2.Notice]:
    """The notices of a case the caller may see: for a citizen, only those addressed to no post and to them."""
    if not principal.is_citizen:
        return list(notices)
    return [n for n in notices if not n.recipient_position_id and n.recipient_account_id in ("", principal.account_id)]


def redact_actor(principal: Principal, actor: common_pb2.Actor) -> None:
    """For a citizen, clear the account ids of anyone but themselves (post and role stay)."""
    if not principal.is_citizen:
        return
    if actor.account_id and actor.account_id != principal.account_id:
        actor.account_id = ""
    if actor.on_behalf_of_account_id and actor.on_behalf_of_account_id != principal.account_id:
        actor.on_behalf_of_account_id = ""
