"""RED per route of the gateway: requests by method, route template and status, and their duration.

The route is the template the request matched (`/v1/grievances/{grievance_id}`), never the raw path, so the label
values are bounded by the app's routes; a request that matched none counts as `<unmatched>`.

The metrics are not a route of this app: they are served on the gateway's metrics port
(NIVARAN_GATEWAY_METRICS_PORT, nivaran_common.metrics), which the Ingress does not expose and the NetworkPolicy opens
to the monitoring namespace only. So they are kept out of the public OpenAPI document, need no token, and the
authorization matrix does not list them.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nivaran_common.metrics import LATENCY_BUCKETS

UNMATCHED = "<unmatched>"


class HttpMetrics:
    """The gateway's RED metrics in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_server_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template, in seconds.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


@functools.cache
def http_metrics(registry: CollectorRegistry) -> HttpMetrics:
    """The HttpMetrics of `registry` (an app built again in the same process reuses them)."""
    return HttpMetrics(registry)


def route_template(scope: Scope) -> str:
    """The template of the route the router matched in `scope`, or UNMATCHED."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware (it does not buffer bodies, so streamed downloads stay streamed)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before it starts its response

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)
