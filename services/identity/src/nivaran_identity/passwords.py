"""Password hashes: argon2id, checked off the event loop (argon2 is slow on purpose)."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and checks passwords; a check against no hash spends the time of a real one."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        # argon2id with the library's defaults (RFC 9106 low-memory profile); tests pass a cheaper one.
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of `password`."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def matches(self, password_hash: str | None, password: str) -> bool:
        """True when `password` is the one hashed; with no hash, False after as long as a real check takes."""
        if password_hash is None:
            # Spend the same time as a real check, so a response time does not tell which usernames exist.
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
            password_hash = self._dummy_hash
            password = password + "\x00"
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)
