"""The web app at /app: server-rendered pages (Jinja2, gettext in Hindi and English) that are a pure presentation
client of the gateway's own /v1 (client.py). docs/web.md says how it is built."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from nivaran_gateway.settings import GatewaySettings
from nivaran_gateway.web import (
    pages_auth,
    pages_cell,
    pages_citizen,
    pages_dm,
    pages_dm_review,
    pages_officer,
    pages_officer_case,
    pages_public,
    pages_recourse,
    pages_review,
    pages_review_weekly,
    pages_secretary,
)
from nivaran_gateway.web.app import STATIC_PREFIX, SecurityHeadersMiddleware
from nivaran_gateway.web.context import WebState
from nivaran_gateway.web.i18n import HERE, Catalogues
from nivaran_gateway.web.session import CsrfKey


def bind_web(app: FastAPI, settings: GatewaySettings) -> None:
    """The pages' state: the settings they run with, the catalogues and the CSRF key."""
    app.state.web = WebState(settings, Catalogues.load(), CsrfKey(settings.web_csrf_secret.get_secret_value()))


def install_web(app: FastAPI, settings: GatewaySettings) -> None:
    """Mount the pages, the static files and the security headers on the gateway app."""
    bind_web(app, settings)
    app.include_router(pages_auth.router)
    app.include_router(pages_citizen.router)
    app.include_router(pages_officer.router)
    app.include_router(pages_officer_case.router)
    app.include_router(pages_review.router)
    app.include_router(pages_review_weekly.router)
    app.include_router(pages_public.router)
    app.include_router(pages_recourse.router)
    app.include_router(pages_dm.router)
    app.include_router(pages_dm_review.router)
    app.include_router(pages_secretary.router)
    app.include_router(pages_cell.router)
    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=HERE / "static"), name="web-static")
    app.add_middleware(SecurityHeadersMiddleware)
