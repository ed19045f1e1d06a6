"""Access tokens identity signs (people's and department clients'), refresh tokens, and the revocation records that
end tokens already issued when a right is taken away (nivaran_common.revocation)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import grpc
from redis.exceptions import RedisError

from nivaran_common.auth import CLIENT
from nivaran_common.errors import DomainError
from nivaran_common.logging import get_logger
from nivaran_common.pii import mask_phone
from nivaran_common.revocation import Revocations
from nivaran_identity.domain import (
    DELEGATE_ROLE,
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    Account,
    AccountKind,
    IssuedTokens,
    account_roles,
    bilingual,
)
from nivaran_identity.keys import KeyRing, random_secret_hash
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import AccountRow, PostingRow, RefreshTokenRow, ServiceClientRow

log = get_logger(__name__)


def account_view(row: AccountRow, postings: Sequence[PostingRow]) -> Account:
    """Domain form of an account; the phone is masked on read."""
    kind = AccountKind(row.kind)
    return Account(
        id=row.id,
        kind=kind,
        display_name=row.display_name,
        phone=mask_phone(row.phone) if row.phone else "",
        email=row.email,
        roles=account_roles(kind, [p.position_role for p in postings], list(row.extra_roles or [])),
        active=row.active,
        preferred_language=row.preferred_language,
    )


@dataclass(frozen=True)
class SignedAccess:
    """A signed access token and when it expires."""

    token: str
    expires_at: datetime


class TokenIssuer:
    """Signs access tokens (claims: see the comment above `TokenPair` in identity.proto) and records refresh tokens."""

    def __init__(
        self,
        keys: KeyRing,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._keys = keys
        self.access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._clock = clock

    async def _sign(self, store: IdentityStore, claims: dict[str, Any], not_before_ms: int) -> SignedAccess:
        moment = self._clock()
        # The revocation records compare issued_ms with a cut-off taken from this same clock (main.build_service);
        # `not_before_ms` puts a token issued right after a cut-off (a changed password) past it, even within the
        # same millisecond.
        issued_ms = max(int(moment.timestamp() * 1000), not_before_ms)
        now = moment.replace(microsecond=0)
        expires_at = now + self.access_ttl
        stamps = {
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "jti": uuid.uuid4().hex,
            "issued_ms": issued_ms,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return SignedAccess(await self._keys.sign(store, {**stamps, **claims}), expires_at)

    async def issue(
        self, store: IdentityStore, account: AccountRow, family_id: str | None = None, *, not_before_ms: int = 0
    ) -> IssuedTokens:
        """An access token carrying what is true of the account now, and a refresh token (of `family_id`, when
        rotating one) recorded through the caller's store."""
        postings = await store.open_postings(account.id) if account.kind == AccountKind.OFFICER.value else []
        delegation = (
            await store.active_delegation_to(account.id) if DELEGATE_ROLE in (account.extra_roles or []) else None
        )
        view = account_view(account, postings)
        kind = AccountKind(account.kind)
        if kind is AccountKind.OFFICER:
            district = next((p.district_code for p in postings if p.district_code), "")
        elif kind is AccountKind.OPERATOR:
            district = account.district_code
        else:
            district = ""
        claims: dict[str, Any] = {
            "sub": account.id,
            "kind": kind.value,
            "roles": view.roles,
            "positions": [p.position_id for p in postings],
            "district": district,
            "phone": (account.phone or "") if kind is AccountKind.CITIZEN else "",
            # Every act under a delegation is audited "by sub for acting_for" (S17).
            "acting_for": delegation.delegator_account_id if delegation else "",
            "powers": list(delegation.powers) if delegation else [],
        }
        access = await self._sign(store, claims, not_before_ms)
        refresh = secrets.token_urlsafe(32)
        now = self._clock().replace(microsecond=0)
        store.add(
            RefreshTokenRow(
                id=str(uuid.uuid4()),
                token_hash=random_secret_hash(refresh),
                family_id=family_id or str(uuid.uuid4()),
                account_id=account.id,
                issued_at=now,
                expires_at=now + self._refresh_ttl,
                used_at=None,
                revoked_at=None,
            )
        )
        return IssuedTokens(
            access_token=access.token, refresh_token=refresh, access_expires_at=access.expires_at, account=view
        )

    async def issue_client(self, store: IdentityStore, client: ServiceClientRow) -> SignedAccess:
        """A department client's access token: its department and scopes, no refresh token (it asks again)."""
        claims: dict[str, Any] = {
            "sub": client.id,
            "kind": CLIENT,
            "department": client.department_code,
            "scopes": list(client.scopes),
        }
        return await self._sign(store, claims, 0)


@dataclass
class RevocationNotWritten(DomainError):
    """The act is committed, but its revocation record could not be written. Not UNAVAILABLE: channels retry that
    status on their own, and a retried act that already happened would fail, or (a password change) count as a wrong
    password. The message says what was done."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


# Pauses between attempts to write a record, for a Redis that blinks (a failover, a full connection pool).
_RETRY_PAUSES = (0.05, 0.25)


class Revoker:
    """Writes the revocation records of an act once its transaction has committed, so that every door refuses the
    tokens issued before it on their next call. Each record lives as long as such a token could still be accepted
    (the access-token lifetime; Revocations adds the largest verifier leeway itself)."""

    def __init__(self, revocations: Revocations, access_ttl: timedelta, leeway_seconds: int) -> None:
        self._revocations = revocations
        self._access_ttl = access_ttl.total_seconds()
        self._ttl = self._access_ttl + leeway_seconds
        self._minutes = max(1, round(self._ttl / 60))

    def may_still_live(self, since: datetime, now: datetime) -> bool:
        """Whether a token issued before `since` may still be accepted at `now` (so a record would matter)."""
        return (now - since).total_seconds() < self._ttl

    def _failed(self, act: str) -> RevocationNotWritten:
        # The act itself is committed: say so, and say how long what it meant to end may still live.
        return RevocationNotWritten(
            bilingual(
                f"{act} is recorded, but the sessions already open could not be ended at once; they end on their own "
                f"within {self._minutes} min",
                f"कार्य दर्ज हो गया, पर पहले से खुले सत्र तुरंत समाप्त नहीं हो सके; वे {self._minutes} मिनट में स्वयं समाप्त होंगे",
            )
        )

    async def account(self, account_id: str, act: str) -> int:
        """Every token of `account_id` (a person's or a client's) issued up to now is dead; returns the cut-off (ms)."""
        for pause in (*_RETRY_PAUSES, None):
            try:
                return await self._revocations.revoke_account(account_id, self._access_ttl)
            except (RedisError, OSError) as exc:
                if pause is None:
                    log.error("revocation record not written", act=act, account_id=account_id, error=type(exc).__name__)
                    raise self._failed(act) from exc
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def token(self, token_id: str, expires_at: int, act: str) -> None:
        """One access token (by its jti) is dead until it would have expired, leeway included."""
        if not token_id:
            return
        for pause in (*_RETRY_PAUSES, None):
            try:
                await self._revocations.revoke_token(token_id, expires_at)
                return
            except (RedisError, OSError) as exc:
                if pause is None:
                    log.error("revocation record not written", act=act, error=type(exc).__name__)
                    raise self._failed(act) from exc
                await asyncio.sleep(pause)
