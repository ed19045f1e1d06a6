"""The sla worker's metrics: the SLA's own (recorded by activities, never by workflow code, which replays) and the
Temporal SDK's, all on the worker's one metrics port (NIVARAN_SLA_WORKER_METRICS_PORT).

The Temporal SDK's metrics come from its Rust core, which serves them itself (Runtime with a PrometheusConfig). The
core's exporter is bound to a loopback port the worker picks at start, and `TemporalCoreMetrics` re-exposes what it
serves through this process's registry at each scrape, so that a pod has one scrape target (the prometheus.io/port
annotation names one port) and the two sets cannot drift apart in what they are labelled with.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from nivaran_common.logging import get_logger
from nivaran_sla.domain import TransitionInput, TransitionResult

log = get_logger(__name__)

# Seconds: a deadline is met within a second when the workers keep up (bench/RESULTS.md); minutes mean a backlog.
DEADLINE_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class SlaMetrics:
    """What the lifecycle's activities count. A local activity re-run after a worker crash (its idempotency key
    makes the re-run harmless) may count once more: the show-cause and breach registers are the record, these are
    the rate."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.show_causes = Counter(
            "nivaran_sla_show_cause_notices_total",
            "Show-cause notices issued by a deadline (S9, S11), by notice number.",
            ["number"],
            registry=registry,
        )
        self.breaches = Counter(
            "nivaran_sla_breaches_total",
            "Breaches recorded by a deadline (S8, S13, S18 …), by rule.",
            ["rule"],
            registry=registry,
        )
        self.deadline_lag = Histogram(
            "nivaran_sla_deadline_lag_seconds",
            "From a clock's deadline to intake recording an effect of its firing (a show-cause, an escalation, a "
            "breach …), in seconds: how late the lifecycle acts on its deadlines.",
            buckets=DEADLINE_LAG_BUCKETS,
            registry=registry,
        )

    def observe_fired(self, transitions: Iterable[TransitionInput], results: Iterable[TransitionResult]) -> None:
        """Observe the deadline lag of each newly recorded event that a clock's firing caused (a repeat, which
        intake ignored, was observed the first time)."""
        now = datetime.now(UTC)
        for transition, result in zip(transitions, results, strict=True):
            if transition.fired_deadline is not None and not result.duplicate:
                self.deadline_lag.observe(max((now - transition.fired_deadline).total_seconds(), 0.0))


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (for the core's exporter, which cannot report a port it picked)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def temporal_runtime(core_port: int) -> Runtime:
    """A Temporal runtime whose core serves its metrics on 127.0.0.1:`core_port`, named as Prometheus expects:
    counters end in _total, durations are seconds and carry the unit (temporal_…_latency_seconds)."""
    exporter = PrometheusConfig(
        bind_address=f"127.0.0.1:{core_port}",
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
    )
    return Runtime(telemetry=TelemetryConfig(metrics=exporter))


class TemporalCoreMetrics(Collector):
    """Re-exposes the Temporal core's metrics (read from its loopback exporter at each scrape)."""

    def __init__(self, url: str, timeout_seconds: float = 2.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    def describe(self) -> Iterable[Metric]:
        return []  # nothing to declare up front: the core's set grows as the worker polls and runs

    def collect(self) -> Iterable[Metric]:
        try:
            with urllib.request.urlopen(self._url, timeout=self._timeout) as reply:  # noqa: S310 (loopback http)
                text = reply.read().decode()
        except OSError as exc:
            log.warning("temporal core metrics unavailable", url=self._url, error=str(exc))
            return []
        return list(text_string_to_metric_families(text))
