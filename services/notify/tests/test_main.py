"""Settings, and `python -m nivaran_notify` as a real process: it migrates, serves, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from pathlib import Path

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError
from sqlalchemy import create_engine as create_sync_engine

from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.db import sync_url
from nivaran_common.migrations import upgrade_async
from nivaran_common.settings import Profile
from nivaran_common.testing import eventually, free_port, workload_tls
from nivaran_notify import SERVICE_ROOT, tables
from nivaran_notify.settings import NotifySettings
from nivaran_notify.tables import NotifyBase


def test_settings_defaults_and_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NIVARAN_NOTIFY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NIVARAN_NOTIFY_PROFILE", "test")
    defaults = NotifySettings()
    assert defaults.profile is Profile.TEST
    assert defaults.grpc_port == 50054
    assert defaults.database_url == "sqlite+aiosqlite:///var/notify.db"
    assert (defaults.smtp_host, defaults.smtp_port, defaults.smtp_starttls) == ("127.0.0.1", 8025, False)
    assert defaults.smtp_from == "Nivaran <no-reply@nivaran.local>"
    assert defaults.sms_provider_url is None

    password = secrets.token_urlsafe(24)
    monkeypatch.setenv("NIVARAN_NOTIFY_SMTP_PASSWORD", password)
    monkeypatch.setenv("NIVARAN_NOTIFY_SMS_PROVIDER_URL", "https://sms.example/send")
    monkeypatch.setenv("NIVARAN_NOTIFY_DLT_TEMPLATE_IDS", '{"acknowledgement": "1207000000000000001"}')
    configured = NotifySettings()
    assert configured.smtp_password.get_secret_value() == password
    assert password not in repr(configured)
    assert str(configured.sms_provider_url) == "https://sms.example/send"
    assert configured.dlt_template_ids == {"acknowledgement": "1207000000000000001"}

    monkeypatch.setenv("NIVARAN_NOTIFY_WHATSAPP_PROVIDER_URL", "")
    assert NotifySettings().whatsapp_provider_url is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"smtp_from": "nobody"},
        {"delivery_lease_seconds": 5, "smtp_timeout_seconds": 10},
        {"sms_provider_url": "ftp://x"},
    ],
)
def test_settings_refuse_bad_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NotifySettings(profile=Profile.TEST, **overrides)


def test_C2_sms_quiet_hours_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIVARAN_NOTIFY_SMS_QUIET_HOURS", raising=False)
    assert NotifySettings(profile=Profile.TEST).sms_quiet_hours == "21:00-08:00"
    assert NotifySettings(profile=Profile.TEST, sms_quiet_hours="").sms_quiet_hours == ""
    assert NotifySettings(profile=Profile.TEST, sms_quiet_hours=" 22:30-06:00 ").sms_quiet_hours == "22:30-06:00"
    monkeypatch.setenv("NIVARAN_NOTIFY_SMS_QUIET_HOURS", "13:00-14:30")
    assert NotifySettings(profile=Profile.TEST).sms_quiet_hours == "13:00-14:30"

    for bad in ("21:00", "21:00-8:00", "24:00-08:00", "21:00-21:00", "21:00 - 08:00", "9pm-8am"):
        with pytest.raises(ValidationError, match="sms_quiet_hours"):
            NotifySettings(profile=Profile.TEST, sms_quiet_hours=bad)


async def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    await upgrade_async(SERVICE_ROOT, database_url)
    # Every service's models share nivaran_common's Base metadata: compare notify's tables only.
    own = {m.local_table.name for m in NotifyBase.registry.mappers if m.class_.__module__ == tables.__name__}

    def notify_only(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return type_ != "table" or name in own

    engine = create_sync_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": "notify_alembic_version", "include_object": notify_only}
            )
            diff = compare_metadata(context, NotifyBase.metadata)
    finally:
        engine.dispose()
    assert own == {"notices", "deliveries", "documents"}
    assert diff == []


def test_a_provider_credential_is_held_to_128_bits_outside_dev() -> None:
    with pytest.raises(ValidationError, match="NIVARAN_NOTIFY_SMTP_PASSWORD is too weak for profile test"):
        NotifySettings(profile=Profile.TEST, smtp_password="s3cret-pass")
    # An AWS-style 40-character key decodes to 30 bytes: below an own key's 256 bits, enough for a credential.
    issued = NotifySettings(profile=Profile.TEST, sms_api_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYq8Xv2Lk9Zs")
    assert issued.sms_api_key.get_secret_value().startswith("wJal")
    assert NotifySettings(profile=Profile.DEV, smtp_password="s3cret").smtp_password.get_secret_value() == "s3cret"


def test_without_a_profile_notify_is_prod_and_needs_its_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("NIVARAN_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ValidationError, match="NIVARAN_NOTIFY_DATABASE_URL is required in profile prod"):
        NotifySettings()


async def test_python_m_nivaran_notify_serves_mtls_and_stops_on_sigterm(tmp_path: Path, test_pki: Path) -> None:
    """The real process: health on its plaintext probe port, RPCs over mutual TLS only, from a workload its rules
    name (sla), and never from a peer without a certificate."""
    port, health_port = free_port(), free_port()
    env = os.environ | {
        "NIVARAN_NOTIFY_PROFILE": "test",
        "NIVARAN_NOTIFY_GRPC_PORT": str(port),
        "NIVARAN_NOTIFY_HEALTH_PORT": str(health_port),
        "NIVARAN_NOTIFY_TLS_CA_FILE": str(test_pki / "ca.pem"),
        "NIVARAN_NOTIFY_TLS_CERT_FILE": str(test_pki / "notify.pem"),
        "NIVARAN_NOTIFY_TLS_KEY_FILE": str(test_pki / "notify.key"),
        "NIVARAN_NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}",
        "NIVARAN_NOTIFY_RETRY_POLL_SECONDS": "0.1",
        "OTEL_TRACES_EXPORTER": "none",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nivaran_notify",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as probe,
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as plaintext,
            grpc.aio.secure_channel(
                f"127.0.0.1:{port}", workload_tls(test_pki, "sla-worker").channel_credentials()
            ) as channel,
            grpc.aio.secure_channel(
                f"127.0.0.1:{port}", workload_tls(test_pki, "intake").channel_credentials()
            ) as not_a_sender,
        ):

            async def serving() -> bool:
                try:
                    response = await health_pb2_grpc.HealthStub(probe).Check(
                        health_pb2.HealthCheckRequest(service="nivaran.notify.v1.NotifyService"), timeout=1
                    )
                except grpc.aio.AioRpcError:
                    return False
                return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

            await eventually(serving, timeout=30)
            # The lifecycle's worker gets through the door (an unknown notice is then the handler's NOT_FOUND);
            # another workload, or a peer without a certificate, does not.
            for stub, expected in (
                (notify_pb2_grpc.NotifyServiceStub(channel), grpc.StatusCode.NOT_FOUND),
                (notify_pb2_grpc.NotifyServiceStub(not_a_sender), grpc.StatusCode.PERMISSION_DENIED),
                (notify_pb2_grpc.NotifyServiceStub(plaintext), grpc.StatusCode.UNAVAILABLE),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.GetDeliveryStatus(notify_pb2.GetDeliveryStatusRequest(dedupe_key="no-such"), timeout=5)
                assert refused.value.code() is expected, refused.value
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    assert (tmp_path / "notify.db").exists()
