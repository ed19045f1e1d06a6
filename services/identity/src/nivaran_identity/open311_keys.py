"""Open311 API keys (issue 12): the key an integrator (a city app, FixMyStreet, a civic-tech tool) sends with
POST /open311/v2/requests, issued and revoked by a STATE_ADMIN.

Why not a department client: a department client is a department's own system, confined to its department, that
calls the gRPC services over mutual TLS with a `dept-*` certificate. An Open311 integrator speaks HTTP to the gateway
only, files into every department (its citizens choose the service) and reads nothing; its key is all it holds. So a
key is its own kind of credential, with its own table, and the gateway checks it with identity on every filing
(VerifyOpen311Key): a revoked key is refused from the next request on, with no cache to outlive it.

The key is 256 random bits, kept as its SHA-256 only (see clients_registry.py for why no slow hash). Each key has its
own rate limit, which the gateway enforces per key.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import as_utc
from nivaran_identity.authority import acting_admin, is_state_admin
from nivaran_identity.domain import Actor, Check, bilingual
from nivaran_identity.keys import random_secret_hash
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import AccountRow, Open311KeyRow

log = get_logger(__name__)

KEY_PREFIX = "nvok_"
# How many characters of the key a list shows: the prefix and 4 random characters (24 bits: tells keys apart,
# leaves 232 bits unknown).
SHOWN_PREFIX_LENGTH = len(KEY_PREFIX) + 4
INTEGRATOR_MAX_LENGTH = 200
DEFAULT_REQUESTS_PER_MINUTE = 60
MAX_REQUESTS_PER_MINUTE = 6000
# What a presented key is compared with when no row matches, so that the answer takes the same work.
_NO_KEY_HASH = random_secret_hash("no such key")


@dataclass(frozen=True)
class Open311Key:
    """An integrator's key as it may be shown: never the key itself nor its hash."""

    id: str
    integrator: str
    key_prefix: str
    requests_per_minute: int
    active: bool
    created_by_account_id: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by_account_id: str


@dataclass(frozen=True)
class IssuedOpen311Key:
    key: Open311Key
    api_key: str


def key_view(row: Open311KeyRow) -> Open311Key:
    """Domain form of a key row."""
    return Open311Key(
        id=row.id,
        integrator=row.integrator,
        key_prefix=row.key_prefix,
        requests_per_minute=row.requests_per_minute,
        active=row.active,
        created_by_account_id=row.created_by_account_id,
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
        revoked_by_account_id=row.revoked_by_account_id,
    )


class Open311Keys:
    """IssueOpen311Key, ListOpen311Keys, RevokeOpen311Key and VerifyOpen311Key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    async def _state_admin(self, session: AsyncSession, actor: Actor) -> AccountRow:
        if not actor.account_id.strip():
            raise InvalidArgument.field("actor.account_id", "is required / आवश्यक है")
        admin = await acting_admin(IdentityStore(session), actor)
        if not is_state_admin(admin):
            raise PermissionDenied(
                bilingual(
                    "only a state admin may manage Open311 keys (a key files into every department)",
                    "Open311 कुंजियाँ केवल राज्य प्रशासक प्रबंधित कर सकते हैं",
                )
            )
        return admin

    async def issue(self, integrator: str, requests_per_minute: int, actor: Actor) -> IssuedOpen311Key:
        """A new key for an integrator; the key itself is in this answer only."""
        check = Check()
        integrator = integrator.strip()
        if check.required("integrator", integrator) and len(integrator) > INTEGRATOR_MAX_LENGTH:
            check.add("integrator", f"must be at most {INTEGRATOR_MAX_LENGTH} characters / बहुत लंबा है")
        rate = requests_per_minute or DEFAULT_REQUESTS_PER_MINUTE
        if not 1 <= rate <= MAX_REQUESTS_PER_MINUTE:
            check.add(
                "requests_per_minute",
                f"must be between 1 and {MAX_REQUESTS_PER_MINUTE} / 1 से {MAX_REQUESTS_PER_MINUTE} के बीच हो",
            )
        if check.violations:
            raise InvalidArgument.of(check.violations)
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._sessions() as session:
            admin = await self._state_admin(session, actor)
            row = Open311KeyRow(
                id=str(uuid.uuid4()),
                integrator=integrator,
                key_prefix=api_key[:SHOWN_PREFIX_LENGTH],
                key_hash=random_secret_hash(api_key),
                requests_per_minute=rate,
                active=True,
                created_by_account_id=admin.id,
                created_at=self._clock(),
                revoked_at=None,
                revoked_by_account_id="",
            )
            session.add(row)
            await session.commit()
        log.info("open311 key issued", key_id=row.id, by=admin.id)
        return IssuedOpen311Key(key_view(row), api_key)

    async def list_keys(self, actor: Actor) -> Sequence[Open311Key]:
        """Every key, oldest first, revoked ones included."""
        async with self._sessions() as session:
            await self._state_admin(session, actor)
            stmt = select(Open311KeyRow).order_by(Open311KeyRow.created_at, Open311KeyRow.id)
            rows = (await session.execute(stmt)).scalars().all()
        return [key_view(row) for row in rows]

    async def revoke(self, key_id: str, actor: Actor) -> Open311Key:
        """The key is refused from the next request on; revoking it again changes nothing."""
        key_id = key_id.strip()
        if not key_id:
            raise InvalidArgument.field("key_id", "is required / आवश्यक है")
        async with self._sessions() as session:
            admin = await self._state_admin(session, actor)
            stmt = select(Open311KeyRow).where(Open311KeyRow.id == key_id).with_for_update()
            row = (await session.execute(stmt)).scalar_one_or_none()
            if row is None:
                raise NotFound(bilingual("no such Open311 key", "ऐसी कोई Open311 कुंजी नहीं"))
            if row.active:
                row.active = False
                row.revoked_at = self._clock()
                row.revoked_by_account_id = admin.id
                await session.commit()
                log.info("open311 key revoked", key_id=row.id, by=admin.id)
            return key_view(row)

    async def verify(self, api_key: str) -> Open311Key:
        """The key's record when it is known and not revoked; an unknown and a revoked key get the same answer."""
        presented = random_secret_hash(api_key.strip())
        async with self._sessions() as session:
            stmt = select(Open311KeyRow).where(Open311KeyRow.key_hash == presented)
            row = (await session.execute(stmt)).scalar_one_or_none()
        matches = hmac.compare_digest(presented, row.key_hash if row is not None else _NO_KEY_HASH)
        if row is None or not matches or not row.active:
            raise Unauthenticated(bilingual("unknown or revoked api_key", "अज्ञात या रद्द की गई api_key"))
        return key_view(row)
