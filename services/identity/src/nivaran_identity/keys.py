"""Secrets at rest and the token keyset: ES256 signing keys (joserfc), TOTP secrets (JWE), OTP and token hashes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwe, jwt
from joserfc.jwk import ECKey, KeySet, OctKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.logging import get_logger
from nivaran_common.timeutil import as_utc
from nivaran_identity.domain import TOKEN_ALGORITHM
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import SigningKeyRow

log = get_logger(__name__)

_JWE_ALGORITHMS = ["PBES2-HS256+A128KW", "A256GCM"]
# Tokens a retired key signed may still be presented for this long after their nominal expiry (clock skew).
JWKS_GRACE = timedelta(minutes=2)


class SecretBox:
    """Encrypts small secrets (TOTP seeds) and keys the OTP hashes, all from the one key-encryption secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the key-encryption secret must not be empty")
        self._secret = secret
        self._wrap_key = OctKey.import_key(secret.encode())
        self._otp_key = hmac.new(secret.encode(), b"nivaran-identity/otp-hash", hashlib.sha256).digest()

    @property
    def pem_password(self) -> str:
        """Password of the PKCS#8 PEMs that hold the signing keys."""
        return self._secret

    def encrypt(self, plaintext: str) -> str:
        """A compact JWE (PBES2-HS256+A128KW, A256GCM) of `plaintext`."""
        protected = {"alg": _JWE_ALGORITHMS[0], "enc": _JWE_ALGORITHMS[1]}
        return jwe.encrypt_compact(protected, plaintext.encode(), self._wrap_key, algorithms=_JWE_ALGORITHMS)

    def decrypt(self, token: str) -> str:
        """The plaintext of a JWE made by `encrypt`."""
        plaintext = jwe.decrypt_compact(token, self._wrap_key, algorithms=_JWE_ALGORITHMS).plaintext
        return (plaintext or b"").decode()

    def otp_hash(self, phone: str, otp: str) -> str:
        """Keyed hash of an OTP for one phone: a copy of Redis does not reveal the codes (a plain hash of six digits
        would fall to a million guesses)."""
        return hmac.new(self._otp_key, f"{phone}:{otp}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def otp_matches(stored: str, computed: str) -> bool:
        """Constant-time comparison of two OTP hashes."""
        return hmac.compare_digest(stored, computed)


def random_secret_hash(token: str) -> str:
    """SHA-256 (hex) of an opaque secret of 256 random bits (a refresh token, a department client's secret): against
    2^256 guesses an unkeyed, fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class KeyRing:
    """The ES256 keyset in the identity database: one active key signs; retired keys stay published until the
    tokens they signed have expired."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        access_token_ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._access_ttl = access_token_ttl
        self._clock = clock
        # kid -> private key; a kid's key never changes, so decrypted keys can be kept for the process's life.
        self._private: dict[str, ECKey] = {}

    def _new_row(self, now: datetime) -> tuple[SigningKeyRow, ECKey]:
        key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": TOKEN_ALGORITHM}, auto_kid=True)
        pem = key.as_pem(private=True, password=self._box.pem_password).decode()
        row = SigningKeyRow(
            kid=str(key.kid),
            private_pem_encrypted=pem,
            public_jwk=dict(key.as_dict(private=False)),
            created_at=now,
            retired_at=None,
        )
        return row, key

    async def ensure_active_key(self) -> str:
        """The kid of the active key, making the first key when the keyset is empty."""
        async with self._sessions() as session, session.begin():
            store = IdentityStore(session)
            active = await store.active_signing_key()
            if active is not None:
                return active.kid
            row, key = self._new_row(self._clock())
            store.add(row)
        self._private[row.kid] = key
        log.info("signing key created", kid=row.kid)
        return row.kid

    async def rotate_keys(self) -> str:
        """Add a new active key and retire the others; they stay in the JWKS until their tokens expire."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            store = IdentityStore(session)
            row, key = self._new_row(now)
            store.add(row)
            await store.flush()
            await store.retire_signing_keys(row.kid, now)
        self._private[row.kid] = key
        log.info("signing keys rotated", kid=row.kid)
        return row.kid

    async def rotate_if_older_than(self, max_age: timedelta) -> str | None:
        """Rotate when the active key is older than `max_age`; the new kid, or None when nothing was due."""
        async with self._sessions() as session:
            active = await IdentityStore(session).active_signing_key()
        if active is not None and self._clock() - as_utc(active.created_at) < max_age:
            return None
        return await self.rotate_keys()

    async def sign(self, store: IdentityStore, claims: dict[str, Any]) -> str:
        """A compact JWS (ES256) of `claims` under the active key, its kid in the header.

        Reads the key through the caller's store, so signing never opens a second connection mid-transaction.
        """
        row = await store.active_signing_key()
        if row is None:
            row, made = self._new_row(self._clock())
            store.add(row)
            self._private[row.kid] = made
        key = self._private.get(row.kid)
        if key is None:
            key = ECKey.import_key(row.private_pem_encrypted.encode(), password=self._box.pem_password)
            self._private[row.kid] = key
        header = {"alg": TOKEN_ALGORITHM, "typ": "JWT", "kid": row.kid}
        return jwt.encode(header, claims, key, algorithms=[TOKEN_ALGORITHM])

    async def jwks(self) -> dict[str, Any]:
        """The public JWK Set: the active key and every retired key whose tokens may still be valid."""
        now = self._clock()
        async with self._sessions() as session:
            rows = await IdentityStore(session).signing_keys()
        published = [
            row.public_jwk
            for row in rows
            if row.retired_at is None or as_utc(row.retired_at) + self._access_ttl + JWKS_GRACE > now
        ]
        # Round-trip through joserfc: it refuses anything that is not a well-formed public key.
        keyset = KeySet.import_key_set({"keys": published})
        document: dict[str, Any] = dict(keyset.as_dict(private=False))
        return document

    async def jwks_json(self) -> str:
        """The JWKS as the JSON text GetJwks returns."""
        return json.dumps(await self.jwks(), sort_keys=True)
