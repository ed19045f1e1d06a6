"""Notify settings (env prefix NIVARAN_NOTIFY_)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from nivaran_common.secret_strength import IssuedCredential
from nivaran_common.settings import ServiceSettings
from nivaran_notify.domain import QuietHours
from nivaran_notify.officer_contacts import channel_names
from nivaran_notify.templates import SPECS

OfficerChannelName = Literal["sms", "email"]


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_NOTIFY_", extra="ignore")

    service_name: str = "notify"
    grpc_port: int = 50054
    database_url: str = "sqlite+aiosqlite:///var/notify.db"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_from: str = "Nivaran <no-reply@nivaran.local>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: IssuedCredential = SecretStr("")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    # The URL each message is POSTed to, as JSON. Unset means the channel is recorded FAILED, never dropped.
    sms_provider_url: AnyHttpUrl | None = None
    # "http": an aggregator's JSON API at sms_provider_url; "kannel": a Kannel gateway's sendsms URL
    # (http://kannel:13013/cgi-bin/sendsms), with its sendsms-user's name and password.
    sms_provider_kind: Literal["http", "kannel"] = "http"
    kannel_username: str = ""
    kannel_password: IssuedCredential = SecretStr("")
    # Where Kannel reports delivery (the gateway's GET /v1/providers/kannel/dlr with its token); "" for no reports.
    kannel_dlr_url: SecretStr = SecretStr("")
    sms_api_key: IssuedCredential = SecretStr("")
    # DLT header (sender id) and principal entity id registered with the operator, as TRAI's rules require.
    sms_sender_id: str = Field(default="NIVRAN", min_length=1, max_length=11)
    dlt_entity_id: str = ""
    # Overrides of the templates' built-in DLT template ids, e.g. {"acknowledgement": "1107..."}.
    dlt_template_ids: dict[str, str] = Field(default_factory=dict)
    whatsapp_provider_url: AnyHttpUrl | None = None
    whatsapp_api_key: IssuedCredential = SecretStr("")
    provider_timeout_seconds: float = Field(default=10.0, gt=0)

    max_attempts: int = Field(default=6, ge=1)
    retry_base_seconds: float = Field(default=30.0, ge=0)
    retry_max_seconds: float = Field(default=3600.0, ge=0)
    retry_poll_seconds: float = Field(default=5.0, gt=0)
    retry_batch_size: int = Field(default=50, ge=1)
    # How long one attempt owns a delivery; another worker may take it over only after this.
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    # "HH:MM-HH:MM" in India time (may wrap midnight) in which no SMS is sent: it waits until they end. Empty: none.
    sms_quiet_hours: str = "21:00-08:00"
    # How long a failed (or sent, awaiting its receipt) delivery keeps the raw address an operator's retry needs.
    address_retention_days: int = Field(default=30, ge=1)
    # S16 / C2: an officer's notices (to a post) also go by these channels, to whoever holds the post at the time of
    # each send (asked of identity at identity_target): "sms", "email" or both, as JSON or comma-separated. Empty
    # (the default): in-app only. officer_channels_by_template overrides it per template, as JSON:
    # {"sla_notice": ["sms", "email"], "case_assigned": ["email"]} ([] keeps a template in-app only).
    officer_channels: Annotated[tuple[OfficerChannelName, ...], NoDecode] = ()
    officer_channels_by_template: dict[str, tuple[OfficerChannelName, ...]] = Field(default_factory=dict)
    # How long asking identity for a post's holder may take before the Send answers UNAVAILABLE (its caller retries).
    identity_timeout_seconds: float = Field(default=5.0, gt=0)

    # Documents (PDF notices, documents/): set in the Noto fonts from this folder (make setup fills var/fonts), kept
    # in a local folder or, when documents_s3_bucket is set, an S3-compatible bucket (credentials fall back to boto3's
    # own chain when empty). Their QR code and verification URL point at the gateway's public address.
    documents_enabled: bool = True
    fonts_dir: str = "var/fonts"
    documents_dir: str = "var/documents"
    documents_s3_bucket: str = ""
    documents_s3_endpoint_url: str = ""
    documents_s3_region: str = ""
    documents_s3_prefix: str = "documents/"
    documents_s3_access_key_id: str = ""
    documents_s3_secret_access_key: IssuedCredential = SecretStr("")
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8080")

    @field_validator("sms_provider_url", "whatsapp_provider_url", mode="before")
    @classmethod
    def _blank_url_means_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("officer_channels", mode="before")
    @classmethod
    def _officer_channels_read(cls, value: object) -> object:
        return channel_names(value)

    @field_validator("officer_channels_by_template")
    @classmethod
    def _officer_templates_known(
        cls, value: dict[str, tuple[OfficerChannelName, ...]]
    ) -> dict[str, tuple[OfficerChannelName, ...]]:
        unknown = sorted(set(value) - {spec.code for spec in SPECS})
        if unknown:
            raise ValueError(f"officer_channels_by_template names no template: {', '.join(unknown)}")
        return {code: tuple(dict.fromkeys(names)) for code, names in value.items()}

    @field_validator("sms_quiet_hours")
    @classmethod
    def _quiet_hours_read(cls, value: str) -> str:
        QuietHours.parse(value)
        return value.strip()

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from_is_an_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError("smtp_from must be an address such as 'Nivaran <no-reply@example.gov.in>'")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_one_attempt(self) -> NotifySettings:
        if self.delivery_lease_seconds <= max(self.smtp_timeout_seconds, self.provider_timeout_seconds):
            raise ValueError("delivery_lease_seconds must exceed the SMTP and provider timeouts")
        return self
