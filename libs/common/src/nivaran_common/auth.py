"""Who is calling: access tokens (JWTs signed by identity) verified against identity's JWKS, as a `Principal`.

The gateway and every gRPC service verify the same way (see nivaran_common.door). None of them mints or stores
tokens. Each fetches the key set (IdentityService.GetJwks; identity reads its own key ring), caches it, and refetches
it when it is old or when a token names a key id it does not know (key rotation), at most once per
`min_refresh_seconds` so that forged key ids cannot make it hammer identity.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from nivaran.common.v1 import common_pb2
from nivaran_common.logging import get_logger
from nivaran_common.revocation import Revocations, RevocationUnavailable

log = get_logger(__name__)

# Account kinds (the token's `kind` claim); each kind also counts as a role in access declarations.
CITIZEN = "citizen"
OFFICER = "officer"
OPERATOR = "operator"
SERVICE = "service"
# A department system's own identity (an admin issues it; its token carries a department and scopes).
CLIENT = "client"
KINDS = frozenset({CITIZEN, OFFICER, OPERATOR, SERVICE, CLIENT})

# Officer roles named in access declarations (routing's position roles).
DM = "DM"
COMMISSIONER = "COMMISSIONER"
SECRETARY = "SECRETARY"
OSD_CS = "OSD_CS"
CHIEF_SECRETARY = "CHIEF_SECRETARY"

# Powers a DM may delegate to the Sahyog-cell nodal officer (S17); the token carries them in `powers`, with the
# delegator's account in `acting_for`.
POWER_DECIDE_REGISTRATIONS = "registrations.decide"
POWER_MODERATE_TRANSFERS = "transfers.decide"
POWER_READ_DISTRICT = "grievances.read_district"
# Every power a delegation may name; identity refuses any other (nivaran_identity.domain.DELEGABLE_POWERS).
DELEGABLE_POWERS = (POWER_DECIDE_REGISTRATIONS, POWER_MODERATE_TRANSFERS, POWER_READ_DISTRICT)

# A JWT longer than this is not one identity minted; refusing it early bounds the work a request can cause.
MAX_TOKEN_CHARS = 8192


class InvalidToken(Exception):
    """The bearer token cannot be trusted (malformed, badly signed, expired, wrong issuer or audience)."""


class KeysUnavailable(Exception):
    """No key set is known and identity could not be asked for one, or the revocation records cannot be read:
    the token can be neither accepted nor refused (the caller answers "unavailable")."""


@dataclass(frozen=True)
class Principal:
    """The verified caller, from the token's claims (see the comment above `TokenPair` in identity.proto)."""

    account_id: str
    kind: str
    roles: tuple[str, ...] = ()
    positions: tuple[str, ...] = ()
    district: str = ""
    # E.164, citizens only: the number they verified by OTP.
    phone: str = ""
    # The delegator's account when acting under a delegation (S17).
    acting_for: str = ""
    powers: tuple[str, ...] = ()
    # Department clients only: the department their calls are confined to, and what they may call.
    department: str = ""
    scopes: tuple[str, ...] = ()
    # The token's id and issue time (ms), which revocation records are checked against; and its expiry (s).
    token_id: str = ""
    issued_ms: int = 0
    expires_at: int = 0

    def has_any(self, names: Iterable[str]) -> bool:
        """True when the account's kind or one of its roles is among `names`."""
        wanted = set(names)
        return self.kind in wanted or any(role in wanted for role in self.roles)

    def may(self, power: str) -> bool:
        """True when the caller acts under a delegation that grants `power`."""
        return bool(self.acting_for) and power in self.powers

    @property
    def is_citizen(self) -> bool:
        """The caller is a citizen (owner-scoped reads)."""
        return self.kind == CITIZEN

    def actor(self, role: str = "", position_id: str = "") -> common_pb2.Actor:
        """The caller as the services record who acted; the role defaults to the most specific one held."""
        chosen = role or next((r for r in self.roles if r not in KINDS), "") or self.kind
        return common_pb2.Actor(
            account_id=self.account_id,
            role=chosen,
            position_id=position_id or (self.positions[0] if self.positions else ""),
            on_behalf_of_account_id=self.acting_for,
        )

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build from verified claims; claims of the wrong shape make the token invalid."""
        sub = claims.get("sub")
        kind = claims.get("kind")
        stamps = _stamps(claims)
        if not isinstance(sub, str) or not sub.strip():
            raise InvalidToken("the token names no subject")
        if kind not in KINDS:
            raise InvalidToken("the token names no known account kind")
        roles = _strings(claims, "roles")
        positions = _strings(claims, "positions")
        powers = _strings(claims, "powers")
        district = _string(claims, "district")
        phone = _string(claims, "phone")
        acting_for = _string(claims, "acting_for")
        if kind == CITIZEN:
            # A citizen holds no post and no delegated power, whatever else a token might say.
            return cls(account_id=sub, kind=CITIZEN, roles=(CITIZEN,), phone=phone, **stamps)
        if kind == CLIENT:
            department = _string(claims, "department")
            if not department:
                raise InvalidToken("a client token names no department")
            return cls(
                account_id=sub,
                kind=CLIENT,
                roles=(CLIENT,),
                department=department,
                scopes=_strings(claims, "scopes"),
                **stamps,
            )
        return cls(
            account_id=sub,
            kind=str(kind),
            roles=roles,
            positions=positions,
            district=district,
            acting_for=acting_for,
            powers=powers if acting_for else (),
            **stamps,
        )


def _stamps(claims: Mapping[str, Any]) -> dict[str, Any]:
    """jti, the issue time in ms (`issued_ms`, else `iat` in seconds) and exp: what revocation is checked against."""
    token_id = _string(claims, "jti")
    issued_ms = claims.get("issued_ms")
    if not isinstance(issued_ms, int) or isinstance(issued_ms, bool):
        iat = claims.get("iat", 0)
        issued_ms = int(iat * 1000) if isinstance(iat, int | float) and not isinstance(iat, bool) else 0
    exp = claims.get("exp", 0)
    expires_at = int(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else 0
    return {"token_id": token_id, "issued_ms": issued_ms, "expires_at": expires_at}


def _strings(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidToken(f"the {name} claim is not a list of strings")
    return tuple(item for item in value if item)


def _string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidToken(f"the {name} claim is not a string")
    return value


class KeySetCache:
    """Identity's public keys, fetched lazily and refetched when stale or when a token names an unknown kid."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[str]],
        *,
        max_age_seconds: float,
        min_refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._min_refresh = min_refresh_seconds
        self.clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any | None:
        """The public key with this kid, or None when identity does not publish one."""
        if self._keys is None or self.clock() - self._fetched_at >= self._max_age:
            await self._refresh()
        found = self._lookup(kid)
        if found is None:
            await self._refresh()
            found = self._lookup(kid)
        return found

    def _lookup(self, kid: str) -> Any | None:
        if self._keys is None:
            return None
        return next((key for key in self._keys.keys if key.kid == kid), None)

    async def _refresh(self) -> None:
        attempted = self._attempted_at
        async with self._lock:
            if self._attempted_at != attempted:
                return  # another request refreshed while this one waited
            now = self.clock()
            if attempted is not None and now - attempted < self._min_refresh:
                if self._keys is None:
                    raise KeysUnavailable("identity's key set could not be fetched recently")
                return
            self._attempted_at = now
            try:
                document = json.loads(await self._fetch())
                keys = KeySet.import_key_set(document)
            except (ValueError, TypeError, KeyError, JoseError) as exc:
                log.error("identity published an unreadable key set", error=type(exc).__name__)
                if self._keys is None:
                    raise KeysUnavailable("identity's key set is unreadable") from exc
                return
            except (grpc.RpcError, TimeoutError) as exc:
                # With keys in hand the gateway keeps verifying against them while identity is away.
                log.warning("could not fetch identity's key set", error=type(exc).__name__)
                if self._keys is None:
                    raise KeysUnavailable("identity could not be reached for its key set") from exc
                return
            self._keys = keys
            self._fetched_at = now
            log.info("identity key set loaded", kids=[key.kid for key in keys.keys])


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience and expiry, then reads the claims into a `Principal`."""

    def __init__(
        self,
        keys: KeySetCache,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        leeway_seconds: int,
        revocations: Revocations | None = None,
    ) -> None:
        self.keys = keys
        self.revocations = revocations
        self._algorithms = tuple(algorithms)
        self._claims = jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    async def verify(self, token: str) -> Principal:
        """The caller named by a valid access token; InvalidToken otherwise, KeysUnavailable when keys are."""
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
            raise InvalidToken("the token is not a signed JWT")
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, TypeError, UnicodeError) as exc:
            raise InvalidToken("the token is not a signed JWT") from exc
        algorithm = header.get("alg")
        kid = header.get("kid")
        if algorithm not in self._algorithms:
            raise InvalidToken("the token is not signed with an accepted algorithm")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no key id")
        key = await self.keys.key(kid)
        if key is None:
            raise InvalidToken("the token is signed with a key identity does not publish")
        try:
            decoded = jwt.decode(token, key, algorithms=[algorithm])
            self._claims.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise InvalidToken("the token has expired") from exc
        except (JoseError, ValueError, TypeError, KeyError, UnicodeError) as exc:
            raise InvalidToken("the token's signature or claims are not valid") from exc
        principal = Principal.from_claims(decoded.claims)
        if self.revocations is not None:
            try:
                revoked = await self.revocations.is_revoked(
                    principal.account_id, principal.token_id, principal.issued_ms
                )
            except RevocationUnavailable as exc:
                raise KeysUnavailable(str(exc)) from exc
            if revoked:
                raise InvalidToken("the token has been revoked")
        return principal
