"""The SMTP receiver's Prometheus metrics: what became of each recipient and each message.

Served at `GET /metrics` on NIVARAN_MAILIN_METRICS_PORT (0, the default, keeps it off), like every other process
(nivaran_common.metrics). The answers are counted by the SMTP reply they end in, so that a dashboard can tell mail
taken (250) from mail the sender must deliver again because intake or notify was down (451) and from mail refused
for good (5xx).
"""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter, Histogram

from nivaran_common.metrics import LATENCY_BUCKETS, process_registry

# What a message's DATA ends in, from its SMTP reply code.
OUTCOMES = {"250": "accepted", "451": "deferred", "452": "deferred", "552": "too_big"}


class MailMetrics:
    """Messages by outcome, recipients refused, and how long a message took to hand on."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "nivaran_mailin_messages_total",
            "Messages received over SMTP, by outcome: accepted (250), deferred (451: the sender delivers again), "
            "too_big (552) or refused (another 5xx).",
            ["outcome"],
            registry=registry,
        )
        self.recipients_refused = Counter(
            "nivaran_mailin_recipients_refused_total",
            "Recipients refused at RCPT: relaying (a domain not ours) or too many recipients.",
            ["reason"],
            registry=registry,
        )
        self.handling = Histogram(
            "nivaran_mailin_message_seconds",
            "Time from a message's DATA to its SMTP answer (intake stores it, notify answers the sender), seconds.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def answered(self, reply: str, seconds: float) -> None:
        """Count one message by the reply it was given."""
        code = reply[:3]
        self.messages.labels(OUTCOMES.get(code, "refused")).inc()
        self.handling.observe(seconds)


@functools.cache
def mail_metrics() -> MailMetrics:
    """This process's mail metrics, on its registry."""
    return MailMetrics(process_registry())
