"""The pages' only way to the business logic: this gateway's own /v1, called in-process over ASGI.

Each call carries the visitor's bearer token, and the page request's peer address and X-Forwarded-For unchanged, so
that access.client_ip computes the same client for the inner request as for the page: scoping, per-IP and per-account
rate limits, idempotency and problem+json errors are exactly those of /v1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Request

from nivaran_gateway.web.i18n import Lang

BASE_URL = "http://gateway"
# Headers of the page request that the inner request keeps, so that /v1 sees the same client.
FORWARDED = ("x-forwarded-for", "user-agent")


@dataclass
class ApiAnswer:
    """What /v1 answered: its status and JSON body, with a problem's parts at hand."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    # The raw bytes of an answer that is not JSON (an xlsx or CSV download).
    content: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_problem(self) -> bool:
        return self.status >= 400 and isinstance(self.body, dict)

    @property
    def problem_type(self) -> str:
        return str(self.body.get("type", "")) if self.is_problem else ""

    def title(self, lang: Lang) -> str:
        """The problem's title in the page's language (problem+json carries `title` and `title_hi`)."""
        if not self.is_problem:
            return ""
        return str(self.body.get("title_hi" if lang == "hi" else "title") or self.body.get("title") or "")

    def field_errors(self) -> dict[str, str]:
        """Each named field's message (`complainant.name` → "Field required"), the first per field."""
        errors: dict[str, str] = {}
        if self.is_problem:
            for error in self.body.get("errors") or []:
                errors.setdefault(str(error.get("field", "")), str(error.get("detail", "")))
        return errors


class Api:
    """An httpx client over ASGI to the app serving this page, as the page's visitor."""

    def __init__(self, request: Request) -> None:
        peer = request.client or ("unknown", 0)
        headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        transport = httpx.ASGITransport(app=request.app, client=(peer[0], peer[1]), raise_app_exceptions=False)
        self._http = httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers, timeout=None)

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiAnswer:
        """One /v1 request; never raises for an HTTP status."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        response = await self._http.request(
            method, path, json=json, params=params, files=files, data=data, headers=sent
        )
        body: Any = None
        if response.content and "json" in response.headers.get("content-type", ""):
            body = response.json()
            return ApiAnswer(response.status_code, body, dict(response.headers))
        return ApiAnswer(response.status_code, body, dict(response.headers), response.content)

    async def aclose(self) -> None:
        """Release the client."""
        await self._http.aclose()
