"""One page request: the visitor's language and cookies, their calls to /v1, and the answer rendered in HTML."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nivaran_gateway.settings import GatewaySettings
from nivaran_gateway.web.client import Api, ApiAnswer
from nivaran_gateway.web.i18n import LANGUAGES, N_, Catalogues, Lang, negotiate
from nivaran_gateway.web.session import LANG_COOKIE, Cookies, CsrfKey

CITIZEN_KIND = "citizen"
OFFICER_KIND = "officer"
OFFICER_PREFIX = "/app/officer"
CHECK_FIELD = N_("Please check this field:")


class SignInNeeded(Exception):
    """No usable session: the page sends the visitor to sign in (app.PageRoute)."""


class CitizensOnly(Exception):
    """A signed-in officer or operator on a citizen's page: a 403 page (app.PageRoute)."""


class OfficersOnly(Exception):
    """A signed-in citizen or operator on an officer's page: a 403 page (app.PageRoute)."""


@dataclass(frozen=True)
class WebState:
    """What every page uses, built once per app by install_web."""

    settings: GatewaySettings
    catalogues: Catalogues
    csrf: CsrfKey


def web_state(request: Request) -> WebState:
    """The app's web state."""
    state = request.app.state.web
    assert isinstance(state, WebState)
    return state


def local_path(candidate: str | None, default: str = "/app") -> str:
    """`candidate` when it is a path inside the web app (never another site: no open redirect), else `default`."""
    if candidate and candidate.startswith("/app") and not candidate.startswith("//") and "\\" not in candidate:
        return candidate
    return default


class Page:
    """The visitor of one page request."""

    def __init__(self, request: Request, web: WebState) -> None:
        self.request = request
        self.web = web
        self.cookies = Cookies.of(request, public_base_url=web.settings.public_base_url)
        self.lang: Lang = negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
        self.api = Api(request)
        self._refreshed = False
        # GET /v1/me of a signed-in officer, once asked (the menu shows the pages of their roles and powers).
        self.me: dict[str, Any] = {}

    def gettext(self, message: str) -> str:
        """`message` in the page's language."""
        return self.web.catalogues.gettext(self.lang, message)

    @property
    def csrf(self) -> str:
        """The CSRF token every form of this page carries."""
        return self.web.csrf.token(self.cookies.ensure_sid())

    @property
    def here(self) -> str:
        """This page's path and query, to come back to."""
        query = self.request.url.query
        return self.request.url.path + (f"?{query}" if query else "")

    async def anonymous(self, method: str, path: str, **kwargs: Any) -> ApiAnswer:
        """A /v1 call without a token (sign-in, public reads)."""
        return await self.api.call(method, path, **kwargs)

    async def signed_in(self, method: str, path: str, **kwargs: Any) -> ApiAnswer:
        """A /v1 call with the visitor's access token, refreshed once when it has expired; SignInNeeded otherwise."""
        if self.cookies.access is None:
            await self._refresh()
        answer = await self.api.call(method, path, token=self.cookies.access, **kwargs)
        if answer.status == 401 and not self._refreshed:
            await self._refresh()
            answer = await self.api.call(method, path, token=self.cookies.access, **kwargs)
        if answer.status == 401:
            self.cookies.forget_tokens()
            raise SignInNeeded
        return answer

    async def _refresh(self) -> None:
        self._refreshed = True
        if self.cookies.refresh is None:
            raise SignInNeeded
        answer = await self.api.call("POST", "/v1/auth/refresh", json={"refresh_token": self.cookies.refresh})
        if not answer.ok:
            self.cookies.forget_tokens()
            raise SignInNeeded
        self.cookies.keep_tokens(
            answer.body["access_token"], answer.body["refresh_token"], answer.body.get("access_expires_at")
        )

    async def citizen(self) -> dict[str, Any]:
        """Who is signed in (GET /v1/me); SignInNeeded without a session, CitizensOnly for anyone but a citizen."""
        answer = await self.signed_in("GET", "/v1/me")
        if not answer.ok:
            raise SignInNeeded
        me: dict[str, Any] = answer.body
        if me.get("kind") != CITIZEN_KIND:
            raise CitizensOnly
        return me

    async def officer(self) -> dict[str, Any]:
        """Who is signed in (GET /v1/me); SignInNeeded without a session, OfficersOnly for anyone but an officer."""
        answer = await self.signed_in("GET", "/v1/me")
        if not answer.ok:
            raise SignInNeeded
        me: dict[str, Any] = answer.body
        if me.get("kind") != OFFICER_KIND:
            raise OfficersOnly
        self.me = me
        return me

    def field_messages(self, answer: ApiAnswer) -> dict[str, str]:
        """Each field a /v1 problem names, with what to do in the page's language and /v1's own words after it."""
        lead = self.gettext(CHECK_FIELD)
        return {name: f"{lead} {detail}" for name, detail in answer.field_errors().items()}

    @property
    def has_session(self) -> bool:
        """True when the browser holds tokens (not checked)."""
        return self.cookies.access is not None or self.cookies.refresh is not None

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        """The template in the page's language, with the cookies' changes."""
        html = self.web.catalogues.render(
            self.lang,
            template,
            {
                "csrf": self.csrf,
                "here": self.here,
                "languages": LANGUAGES,
                "signed_in": self.has_session,
                "officer_area": self.request.url.path.startswith(OFFICER_PREFIX),
                "my_roles": tuple(self.me.get("roles") or ()),
                "my_powers": tuple(self.me.get("powers") or ()),
                "problem": "",
                "errors": {},
                "lang_switch": {lang: f"/app/lang?to={lang}&next={quote(self.here, safe='')}" for lang in LANGUAGES},
                **context,
            },
        )
        return self.cookies.apply(HTMLResponse(html, status_code=status))

    def problem_page(self, answer: ApiAnswer) -> Response:
        """A /v1 problem that no form field explains, as a page with its title in the page's language."""
        return self.render(
            "error.html", status=answer.status, message=answer.title(self.lang), status_code=answer.status
        )

    def redirect(self, url: str) -> Response:
        """See other (303), with the cookies' changes."""
        return self.cookies.apply(RedirectResponse(url, status_code=303))


async def open_page(request: Request) -> AsyncIterator[Page]:
    """The page of this request; its /v1 client is closed afterwards."""
    page = Page(request, web_state(request))
    try:
        yield page
    finally:
        await page.api.aclose()


Visitor = Annotated[Page, Depends(open_page)]
