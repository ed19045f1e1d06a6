"""Where to reach the officer holding a post now (S16, C2), for notify to send an officer's notice by SMS or email.

Only notify's own workload may ask (access.py), and it asks on every send: nothing here is cached, so a holder who
relinquished charge, or whose login an authority took away, gets no more notices by SMS or email from the next one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import as_utc
from nivaran_identity.domain import PostContact, bilingual
from nivaran_identity.store import IdentityStore

log = get_logger(__name__)

POSITION_ID_MAX = 64


class PostContacts:
    """GetPostContact: the open posting of a post, and its holder's name, phone, email and language."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def contact_of(self, position_id: str) -> PostContact:
        """The holder of `position_id` now; NotFound when the post is vacant or its holder may not log in."""
        position_id = position_id.strip()
        if not position_id:
            raise InvalidArgument.field("position_id", "is required / आवश्यक है")
        if len(position_id) > POSITION_ID_MAX:
            raise InvalidArgument.field("position_id", f"must be at most {POSITION_ID_MAX} characters")
        async with self._sessions() as session:
            store = IdentityStore(session)
            posting = await store.open_posting_of_position(position_id)
            account = await store.account(posting.account_id) if posting is not None else None
        if posting is None or account is None:
            raise NotFound(bilingual("nobody holds this post now", "इस पद का प्रभार अभी किसी के पास नहीं"))
        if not account.active:
            # A login an authority took away takes the notices by SMS and email with it; the post's in-app
            # notices still wait for whoever holds it next.
            log.info("post holder's login is disabled: no contact given", position_id=position_id)
            raise NotFound(
                bilingual("the holder of this post may not log in now", "इस पद के धारक का लॉगिन अभी निष्क्रिय है")
            )
        return PostContact(
            position_id=position_id,
            account_id=account.id,
            name=account.display_name,
            phone=account.phone or "",
            email=account.email or "",
            preferred_language=account.preferred_language or "hi",
            charge_from=as_utc(posting.charge_from),
        )
