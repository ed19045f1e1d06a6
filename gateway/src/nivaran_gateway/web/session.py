"""The browser's session: the /v1 tokens in HttpOnly cookies, a session id that CSRF tokens are bound to, and the
language cookie.

- `nv_access` / `nv_refresh`: the tokens /v1/auth/otp/verify answered, HttpOnly, SameSite=Lax, Secure over https,
  sent only to /app. The access cookie lives as long as the token; the refresh cookie as long as the browser session.
- `nv_sid`: a random id, set on the first page and replaced at sign-in and sign-out (no fixation). Every form carries
  `csrf` = HMAC-SHA256(key, sid); a POST without the right one is refused with a 403 page (app.PageRoute).
- `lang`: `hi` or `en`, a year long.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request, Response

ACCESS_COOKIE = "nv_access"
REFRESH_COOKIE = "nv_refresh"
SID_COOKIE = "nv_sid"
LANG_COOKIE = "lang"
CSRF_FIELD = "csrf"
COOKIE_PATH = "/app"
LANG_MAX_AGE = 365 * 24 * 3600


class CsrfKey:
    """The key CSRF tokens are made with: configured, or random for this process."""

    def __init__(self, configured: str) -> None:
        self._key = configured.encode() if configured else secrets.token_bytes(32)

    def token(self, sid: str) -> str:
        """The CSRF token of a session id."""
        return hmac.new(self._key, f"nivaran-web-csrf\n{sid}".encode(), hashlib.sha256).hexdigest()

    def valid(self, sid: str | None, presented: str | None) -> bool:
        """True when `presented` is the token of `sid` (compared in constant time)."""
        if not sid or not presented:
            return False
        return hmac.compare_digest(self.token(sid), presented)


@dataclass
class Cookies:
    """The session's cookies as the request brought them, and the changes the response must carry."""

    access: str | None
    refresh: str | None
    sid: str | None
    secure: bool
    _set: dict[str, tuple[str, int | None, str]] = field(default_factory=dict)
    _deleted: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, request: Request, *, public_base_url: str = "") -> Cookies:
        """Read the cookies; Secure when the page is served over https."""
        secure = request.url.scheme == "https" or public_base_url.startswith("https://")
        return cls(
            access=request.cookies.get(ACCESS_COOKIE) or None,
            refresh=request.cookies.get(REFRESH_COOKIE) or None,
            sid=request.cookies.get(SID_COOKIE) or None,
            secure=secure,
        )

    def ensure_sid(self) -> str:
        """The session id, made now when the browser has none."""
        if self.sid is None:
            self.new_sid()
        assert self.sid is not None
        return self.sid

    def new_sid(self) -> None:
        """A fresh session id (at sign-in and sign-out)."""
        self.sid = secrets.token_urlsafe(24)
        self._set[SID_COOKIE] = (self.sid, None, COOKIE_PATH)

    def keep_tokens(self, access: str, refresh: str, access_expires_at: str | None) -> None:
        """Remember a new token pair."""
        self.access, self.refresh = access, refresh
        max_age = None
        if access_expires_at:
            expires = datetime.fromisoformat(access_expires_at)
            max_age = max(int((expires - datetime.now(UTC)).total_seconds()), 1)
        self._set[ACCESS_COOKIE] = (access, max_age, COOKIE_PATH)
        self._set[REFRESH_COOKIE] = (refresh, None, COOKIE_PATH)
        self._deleted -= {ACCESS_COOKIE, REFRESH_COOKIE}

    def forget_tokens(self) -> None:
        """Drop the tokens (sign-out, or a refresh that failed)."""
        self.access = self.refresh = None
        for name in (ACCESS_COOKIE, REFRESH_COOKIE):
            self._set.pop(name, None)
            self._deleted.add(name)

    def set_lang(self, lang: str) -> None:
        """Remember the language chosen."""
        self._set[LANG_COOKIE] = (lang, LANG_MAX_AGE, "/")

    def apply(self, response: Response) -> Response:
        """Write the changes onto the response."""
        for name in self._deleted:
            response.delete_cookie(name, path=COOKIE_PATH, secure=self.secure, httponly=True, samesite="lax")
        for name, (value, max_age, path) in self._set.items():
            response.set_cookie(
                name, value, max_age=max_age, path=path, secure=self.secure, httponly=True, samesite="lax"
            )
        return response
