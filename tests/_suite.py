"""Start the real suite for a cross-service test: every process `make run` starts (scripts/devrun.py), on free ports,
with PostgreSQL databases of the test's own, the real Temporal dev server, a Redis key prefix and an SMTP server.

tests/test_e2e.py and tests/test_onboarding_demo.py build their fixtures on `running_suite`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import devrun  # scripts/devrun.py, put on sys.path by tests/conftest.py
import grpc

from nivaran_common.testing import REDIS_URL, SmtpServer, free_port, workload_tls


@dataclass
class RunningSuite:
    base_url: str
    ports: Any
    log_dir: Path
    smtp: SmtpServer
    # What the SMS / WhatsApp provider stand-in (scripts/message_sink.py) received: <folder>/sms.jsonl, whatsapp.jsonl.
    messages: Path
    # The suite's CA and every workload's certificate (nivaran_common.pki): a test calls a service as one of them.
    pki_dir: Path
    # The supervisor of the suite's processes (devrun.Supervisor): a chaos test kills and watches them (tests/chaos).
    supervisor: Any = None

    @property
    def mail_port(self) -> int:
        """Where the SMTP receiver of citizens' email listens (nivaran_gateway.mail_inbound; grievance@localhost)."""
        return int(self.ports.mailin)

    def channel(self, port: int, workload: str = "gateway") -> grpc.aio.Channel:
        """A mutual-TLS channel to one service of the suite, presenting `workload`'s certificate."""
        return grpc.aio.secure_channel(f"127.0.0.1:{port}", workload_tls(self.pki_dir, workload).channel_credentials())


def free_ports_in_a_row(count: int) -> int:
    """The first of `count` consecutive ports free on 127.0.0.1 now (sla worker N serves its metrics on first+N-1)."""
    while True:
        first = free_port()
        if all(devrun.port_free(first + offset) for offset in range(1, count)):
            return first


@asynccontextmanager
async def running_suite(
    tmp_path: Path,
    make_database: Callable[..., str],
    temporal_dev_env: Any,
    smtp_server: SmtpServer,
    key_prefix: str,
    *,
    db_prefix: str = "nivaran_suite",
    extra_env: dict[str, str] | None = None,
    sla_workers: int = 1,
) -> AsyncIterator[RunningSuite]:
    """The whole suite with the demo master data and the dev seed accounts, stopped on exit."""
    ports = devrun.Ports(
        temporal=0, temporal_ui=0, redis=0, smtp=smtp_server.port,
        routing=free_port(), identity=free_port(), intake=free_port(), notify=free_port(), sla=free_port(),
        gateway=free_port(), messages=free_port(), mailin=free_port(),
        gateway_metrics=free_port(), routing_metrics=free_port(), identity_metrics=free_port(),
        intake_metrics=free_port(), notify_metrics=free_port(), sla_metrics=free_port(), mailin_metrics=free_port(),
        sla_worker_metrics=free_ports_in_a_row(sla_workers),
    )  # fmt: skip
    urls = {name: make_database("postgres", prefix=f"{db_prefix}_{name}") for name in devrun.SERVICES}
    env = devrun.service_env(
        ports,
        urls,
        temporal=temporal_dev_env.client.service_client.config.target_host,
        redis_url=REDIS_URL,
        task_queue=f"suite-{uuid.uuid4().hex[:8]}",
        pki_dir=tmp_path / "pki",
        revocation_prefix=f"{key_prefix}revoked:",
    )
    env["NIVARAN_GATEWAY_REDIS_KEY_PREFIX"] = key_prefix
    # Identity keeps OTPs, resend cooldowns and per-phone limits in Redis: this test's own keys, on the test Redis.
    env["NIVARAN_IDENTITY_REDIS_URL"] = REDIS_URL
    env["NIVARAN_IDENTITY_KEY_PREFIX"] = f"{key_prefix}identity:"
    # Intake keeps WhatsApp's guided conversations in Redis: this test's own keys, on the test Redis.
    env["NIVARAN_INTAKE_REDIS_URL"] = REDIS_URL
    env["NIVARAN_INTAKE_REDIS_KEY_PREFIX"] = f"{key_prefix}intake:"
    # S16 / C2: officers' notices by email as well as in-app (tests/test_officer_channels_e2e.py), whatever the dev
    # run's default. Not by SMS here: the walks count the SMS that carry their case's number, the citizen's alone.
    env["NIVARAN_NOTIFY_OFFICER_CHANNELS"] = "email"
    env.update(extra_env or {})
    devrun.load_demo_data(env)
    sup = devrun.Supervisor(ports, log_dir=tmp_path / "log")
    try:
        devrun.start_message_sink(sup, tmp_path / "messages")
        await devrun.wait_tcp(sup, ports.messages, "sms/whatsapp sink")
        await devrun.start_services(sup, env, sla_workers)
        yield RunningSuite(
            f"http://127.0.0.1:{ports.gateway}",
            ports,
            tmp_path / "log",
            smtp_server,
            tmp_path / "messages",
            tmp_path / "pki",
            sup,
        )
    finally:
        sup.stop()
