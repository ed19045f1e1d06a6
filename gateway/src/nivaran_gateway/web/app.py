"""The web app's plumbing: the page route class (CSRF on every POST, sign-in redirects, error pages instead of
tracebacks), the security headers of everything under /app, and the static files."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nivaran_common.logging import get_logger
from nivaran_gateway.web.context import OFFICER_PREFIX, CitizensOnly, OfficersOnly, Page, SignInNeeded, web_state
from nivaran_gateway.web.i18n import N_
from nivaran_gateway.web.session import CSRF_FIELD, SID_COOKIE

log = get_logger(__name__)

PREFIX = "/app"
STATIC_PREFIX = PREFIX + "/static/"
# Self only: no inline script or style, no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}

FORBIDDEN_CSRF = N_(
    "This form has expired or did not come from this site. Please go back, reload the page and try again."
)
CITIZENS_ONLY = N_("These pages are for citizens. Officers have their own pages: sign in at /app/officer/signin.")
OFFICERS_ONLY = N_("These pages are for officers. Citizens follow their cases under My cases.")
NOT_FOUND = N_("This page does not exist.")
BROKEN = N_("Something went wrong on our side. Please try again in a little while.")


async def error_page(request: Request, status: int, message: str) -> Response:
    """A page saying what went wrong, in the visitor's language; never a traceback."""
    page = Page(request, web_state(request))
    try:
        return page.render("error.html", status=status, message=page.gettext(message), status_code=status)
    finally:
        await page.api.aclose()


async def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here afterwards; stale tokens are dropped."""
    page = Page(request, web_state(request))
    try:
        page.cookies.forget_tokens()
        # Back to the page asked for, its query included (a department's categories, a report's filters).
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.url.path == OFFICER_PREFIX or request.url.path.startswith(OFFICER_PREFIX + "/"):
            back = here if request.method == "GET" else OFFICER_PREFIX
            return page.redirect(f"{OFFICER_PREFIX}/signin?next={quote(back, safe='')}")
        back = here if request.method == "GET" else PREFIX + "/grievances"
        return page.redirect(f"{PREFIX}/signin?next={quote(back, safe='')}")
    finally:
        await page.api.aclose()


class PageRoute(APIRoute):
    """Every /app route: a POST must carry the session's CSRF token (else 403); a missing session redirects to the
    sign-in page (the officers' one under /app/officer); an officer on a citizen's page, or anyone but an officer on
    an officer's page, gets a 403 page; anything unexpected a 500 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    form = await request.form()
                    presented = form.get(CSRF_FIELD)
                    if not web_state(request).csrf.valid(
                        request.cookies.get(SID_COOKIE), presented if isinstance(presented, str) else None
                    ):
                        return await error_page(request, 403, FORBIDDEN_CSRF)
                return await original(request)
            except SignInNeeded:
                return await sign_in_redirect(request)
            except CitizensOnly:
                return await error_page(request, 403, CITIZENS_ONLY)
            except OfficersOnly:
                return await error_page(request, 403, OFFICERS_ONLY)
            except StarletteHTTPException as exc:
                return await error_page(request, exc.status_code, NOT_FOUND if exc.status_code == 404 else BROKEN)
            except Exception:
                log.exception("web page failed", path=request.url.path)
                return await error_page(request, 500, BROKEN)

        return handler


class SecurityHeadersMiddleware:
    """Pure ASGI: the security headers on every response under /app (pages, redirects and static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not path.startswith(STATIC_PREFIX):
                    # Pages hold a person's cases; only the stylesheet and the script may be cached.
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
