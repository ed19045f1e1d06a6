"""Settings, and `python -m nivaran_notify` as a real process: it migrates, serves, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError

from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.testing import eventually, free_port
from nivaran_notify.settings import NotifySettings


def test_settings_defaults_and_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NIVARAN_NOTIFY_"):
            monkeypatch.delenv(name)
    defaults = NotifySettings()
    assert defaults.grpc_port == 50054
    assert defaults.database_url == "sqlite+aiosqlite:///var/notify.db"
    assert (defaults.smtp_host, defaults.smtp_port, defaults.smtp_starttls) == ("127.0.0.1", 8025, False)
    assert defaults.smtp_from == "Nivaran <no-reply@nivaran.local>"
    assert defaults.sms_provider_url is None

    monkeypatch.setenv("NIVARAN_NOTIFY_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("NIVARAN_NOTIFY_SMS_PROVIDER_URL", "https://sms.example/send")
    monkeypatch.setenv("NIVARAN_NOTIFY_DLT_TEMPLATE_IDS", '{"acknowledgement": "1207000000000000001"}')
    configured = NotifySettings()
    assert configured.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(configured)
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
        NotifySettings(**overrides)


async def test_python_m_nivaran_notify_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {
        "NIVARAN_NOTIFY_GRPC_PORT": str(port),
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
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:

            async def serving() -> bool:
                try:
                    response = await health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(service="nivaran.notify.v1.NotifyService"), timeout=1
                    )
                except grpc.aio.AioRpcError:
                    return False
                return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

            await eventually(serving, timeout=30)
            templates = await notify_pb2_grpc.NotifyServiceStub(channel).ListTemplates(
                notify_pb2.ListTemplatesRequest()
            )
            assert "acknowledgement" in {t.code for t in templates.templates}
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    assert (tmp_path / "notify.db").exists()
