"""Settings of the SMTP receiver (env prefix NIVARAN_MAILIN_).

It calls intake and notify as the gateway: its certificate (NIVARAN_MAILIN_TLS_*) is the gateway's, as it is part of
the gateway's deployable (in Kubernetes a second container of the gateway's pod, deploy/k8s/base/gateway.yaml).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from nivaran_common.settings import ServiceSettings

# The decoded message goes to intake in one gRPC message (nivaran_common.grpc_server.MAX_MESSAGE_BYTES, 8 MiB);
# base64 makes an email's files a third larger than their bytes, so 7 MiB of mail always fits.
MAX_MESSAGE_BYTES = 7 * 1024 * 1024


class MailInboundSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_MAILIN_", extra="ignore", hide_input_in_errors=True)
    # No database of its own; in prod the certificate and the domains it accepts mail for must be set.
    required_in_prod: ClassVar[tuple[str, ...]] = ("tls_ca_file", "tls_cert_file", "tls_key_file", "accepted_domains")

    service_name: str = "mail-inbound"
    host: str = "127.0.0.1"
    # Unprivileged: a Service (or the MTA in front) maps port 25 to it.
    port: int = Field(default=2525, ge=0, le=65535)
    # The name the server greets with; the machine's own name when empty.
    server_name: str = ""
    # Comma-separated: mail is accepted for these domains only (grievance@<domain>, grievance+<number>@<domain>);
    # anything else is refused with 550, so the receiver never relays.
    accepted_domains: str = "localhost"
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, gt=0, le=MAX_MESSAGE_BYTES)
    max_recipients: int = Field(default=20, gt=0, le=100)
    # An idle or slow client is cut off after this long (seconds).
    idle_timeout_seconds: float = Field(default=120.0, gt=0)

    intake_target: str = "127.0.0.1:50053"
    notify_target: str = "127.0.0.1:50054"
    # Per-call deadline of intake's ReceiveMessage and notify's Send.
    grpc_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("accepted_domains", mode="after")
    @classmethod
    def _some_domain(cls, value: str) -> str:
        if not [d for d in value.split(",") if d.strip()]:
            raise ValueError("name at least one domain (comma-separated)")
        return value

    def domains(self) -> frozenset[str]:
        """The accepted domains, lower case, without a trailing dot."""
        return frozenset(d.strip().lower().rstrip(".") for d in self.accepted_domains.split(",") if d.strip())
