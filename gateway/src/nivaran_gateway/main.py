"""Composition root: settings -> logging/tracing -> gRPC channels and Redis (lifespan) -> FastAPI app -> uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from redis.asyncio import Redis

from nivaran.identity.v1 import identity_pb2
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.metrics import process_registry, serve_metrics
from nivaran_common.redis import create_redis
from nivaran_common.revocation import Revocations
from nivaran_common.security import token_verifier
from nivaran_common.telemetry import configure_tracing
from nivaran_gateway.access import access_of, api_routes, check_declared
from nivaran_gateway.api_docs import install_api_docs
from nivaran_gateway.body import BodyLimitMiddleware
from nivaran_gateway.clients import ServiceClients
from nivaran_gateway.deps import GatewayState
from nivaran_gateway.error_handlers import install_error_handlers
from nivaran_gateway.idempotency import IdempotencyStore
from nivaran_gateway.jurisdiction import PositionDirectory
from nivaran_gateway.metrics import MetricsMiddleware, http_metrics
from nivaran_gateway.problems import FieldError, Problem, problem_responses
from nivaran_gateway.ratelimit import RateLimiter
from nivaran_gateway.routes import (
    acts,
    appeals,
    areas,
    attachments,
    auth,
    camps,
    casework,
    categories,
    dashboard,
    deliveries,
    documents,
    grievances,
    health,
    hearings,
    inbound,
    league,
    notices,
    officers,
    open311,
    open311_keys,
    open311_requests,
    open311_updates,
    recourse,
    reports,
    reports_trends,
    reports_weekly,
    service_clients,
    service_delay,
    transfers,
    whatsapp,
)
from nivaran_gateway.schemas.open311 import openapi_components as open311_components
from nivaran_gateway.settings import GatewaySettings
from nivaran_gateway.web import bind_web, install_web

log = get_logger(__name__)


def build_state(
    settings: GatewaySettings, clients: ServiceClients, redis: Redis, revocation_redis: Redis | None = None
) -> GatewayState:
    """Wire the per-app state from its collaborators; revocation records are read from `revocation_redis` (the
    gateway's own Redis when identity writes them there)."""
    store = IdempotencyStore(
        redis, settings.redis_key_prefix, settings.idempotency_ttl_seconds, settings.idempotency_lock_seconds
    )

    async def fetch_jwks() -> str:
        answer = await clients.identity.GetJwks(
            identity_pb2.GetJwksRequest(), timeout=settings.readiness_timeout_seconds
        )
        document: str = answer.json
        return document

    revocations = Revocations(revocation_redis or redis, settings.revocation_key_prefix)
    verifier = token_verifier(settings, fetch_jwks, revocations)
    limiter = RateLimiter(redis, settings.redis_key_prefix, settings.rate_limits, enabled=settings.rate_limits_enabled)
    directory = PositionDirectory(
        clients.routing,
        ttl_seconds=settings.jurisdiction_cache_seconds,
        timeout_seconds=settings.grpc_timeout_seconds,
    )
    return GatewayState(
        settings=settings,
        clients=clients,
        redis=redis,
        idempotency=store,
        verifier=verifier,
        limiter=limiter,
        directory=directory,
    )


def bind_state(app: FastAPI, settings: GatewaySettings, clients: ServiceClients, redis: Redis) -> None:
    """Attach an app to its collaborators (what the lifespan does with those it opens). An app built once may be
    bound again to others: the gateway's tests give each test an app so bound, rather than building one per test."""
    app.state.gateway = build_state(settings, clients, redis)
    bind_web(app, settings)


def _document_access(app: FastAPI, schema: dict[str, Any]) -> None:
    # Each operation says who may call it (x-access); a public one marks its bearer token optional.
    for route in api_routes(app):
        declared = access_of(route)
        if len(declared) != 1:
            continue
        for method in route.methods or ():
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["x-access"] = declared[0].describe()
            if declared[0].anonymous and operation.get("security"):
                operation["security"] = [{}, *operation["security"]]


# What any request with a body may be answered before its route runs (body.py): too large (413), on any method that
# carries one; not JSON or not UTF-8 (400, 415) where the route reads a JSON body.
_BODY_METHODS = ("post", "put", "patch")


def _document_body_answers(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _BODY_METHODS:
                continue
            answers = operation.setdefault("responses", {})
            statuses = [413]
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                statuses += [400, 415]
            for status, documented in problem_responses(*statuses).items():
                answers.setdefault(str(status), documented)


def _install_openapi(app: FastAPI) -> None:
    """Publish the Problem schema that every problem+json response refers to, and each route's access rule."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in problem.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["Problem"] = problem
        components.setdefault("FieldError", FieldError.model_json_schema(ref_template="#/components/schemas/{model}"))
        components.update(open311_components())
        _document_access(app, schema)
        _document_body_answers(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: GatewaySettings,
    *,
    clients: ServiceClients | None = None,
    redis: Redis | None = None,
) -> FastAPI:
    """Build the gateway app. Clients and Redis may be injected (tests); otherwise the lifespan builds them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(getattr(app.state, "gateway", None), GatewayState):
            yield
            return
        opened_clients = ServiceClients.open(settings.targets(), settings.tls_material())
        opened_redis = create_redis(settings.redis_url)
        revocation_redis = (
            create_redis(settings.revocation_redis_url) if settings.revocation_redis_url != settings.redis_url else None
        )
        app.state.gateway = build_state(settings, opened_clients, opened_redis, revocation_redis)
        log.info("gateway started", targets=settings.targets().__dict__)
        try:
            yield
        finally:
            await opened_clients.close()
            await opened_redis.aclose()
            if revocation_redis is not None:
                await revocation_redis.aclose()
            log.info("gateway stopped")

    app = FastAPI(
        title="Nivaran gateway",
        version="1.0.0",
        description="REST /v1 for Nivaran (निवारण). Every error is application/problem+json with a Hindi title.",
        lifespan=lifespan,
        # /docs is api_docs.py's, with Swagger UI's files served from here rather than a CDN.
        docs_url=None,
    )
    install_api_docs(app)
    if clients is not None and redis is not None:
        bind_state(app, settings, clients, redis)
    elif clients is not None or redis is not None:
        raise ValueError("inject both clients and redis, or neither")
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(grievances.router)
    app.include_router(casework.router)
    app.include_router(acts.router)
    app.include_router(recourse.router)
    app.include_router(appeals.router)
    app.include_router(hearings.router)
    app.include_router(deliveries.router)
    app.include_router(inbound.router)
    app.include_router(whatsapp.router)
    app.include_router(service_delay.router)
    app.include_router(attachments.router)
    app.include_router(documents.router)
    app.include_router(documents.files_router)
    app.include_router(transfers.router)
    app.include_router(officers.router)
    app.include_router(service_clients.router)
    app.include_router(categories.router)
    app.include_router(areas.router)
    app.include_router(camps.router)
    app.include_router(dashboard.router)
    app.include_router(reports.router)
    app.include_router(reports_weekly.router)
    app.include_router(reports_trends.router)
    app.include_router(league.router)
    app.include_router(notices.router)
    app.include_router(open311.router)
    app.include_router(open311_requests.router)
    app.include_router(open311_updates.router)
    app.include_router(open311_keys.router)
    # The web app at /app: pages that call this app's own /v1 in-process (web/client.py).
    install_web(app, settings)
    check_declared(app)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    # Outermost, so that answers the inner middleware give (413, 429 …) are counted too (gateway/metrics.py).
    app.add_middleware(MetricsMiddleware, metrics=http_metrics(process_registry()))
    _install_openapi(app)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
    return app


async def run(settings: GatewaySettings) -> None:
    """Serve the gateway until SIGTERM, then drain in-flight requests."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # Keep the JSON, PII-masking log handler configure_logging installed.
        log_config=None,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        server_header=False,
    )
    # GET /metrics on a port of its own, not on the public one (gateway/metrics.py says why).
    exposition = serve_metrics(process_registry(), settings.host, settings.metrics_port)
    try:
        await uvicorn.Server(config).serve()
    finally:
        if exposition is not None:
            exposition.stop()
