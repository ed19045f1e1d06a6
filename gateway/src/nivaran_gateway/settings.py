"""Gateway settings (env prefix NIVARAN_GATEWAY_)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from nivaran_common.secret_strength import IssuedCredential
from nivaran_common.settings import DOOR_SETTINGS, Profile, ServiceSettings


@dataclass(frozen=True)
class ServiceTargets:
    """Where each gRPC service listens (host:port)."""

    intake: str
    routing: str
    identity: str
    notify: str
    sla: str


class RateRule(BaseModel):
    """At most `limit` requests per `window_seconds` per caller; `fail_closed` refuses (503) when Redis is down."""

    limit: int = Field(gt=0)
    window_seconds: int = Field(gt=0)
    fail_closed: bool = False


def _default_rate_limits() -> dict[str, RateRule]:
    # Anonymous buckets count per client IP, authenticated ones per account (see ratelimit.py).
    return {
        # Every OTP request costs an SMS: per IP, and per phone number.
        "otp": RateRule(limit=5, window_seconds=600, fail_closed=True),
        "otp_phone": RateRule(limit=3, window_seconds=600, fail_closed=True),
        # Credential checks (OTP verification, password login, officer sign-up) are what a guesser repeats.
        "login": RateRule(limit=20, window_seconds=600, fail_closed=True),
        # A refresh or logout needs a refresh token, which cannot be guessed.
        "token": RateRule(limit=60, window_seconds=600),
        "filing": RateRule(limit=30, window_seconds=600),
        "public_read": RateRule(limit=300, window_seconds=60),
        "api": RateRule(limit=600, window_seconds=60),
    }


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_GATEWAY_", extra="ignore")
    # The gateway keeps no database of its own; Redis holds its rate limits and idempotency keys.
    required_in_prod: ClassVar[tuple[str, ...]] = ("redis_url", *DOOR_SETTINGS)

    service_name: str = "gateway"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    intake_target: str = "127.0.0.1:50053"
    routing_target: str = "127.0.0.1:50051"
    identity_target: str = "127.0.0.1:50052"
    notify_target: str = "127.0.0.1:50054"
    sla_target: str = "127.0.0.1:50055"
    # Per-call deadline for gRPC calls a request depends on.
    grpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Notices are an optional part of a read, so a slow notify gets a shorter leash.
    notices_timeout_seconds: float = Field(default=3.0, gt=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "nivaran:gw:"
    # A stored response is replayed for this long; after it, intake's own idempotency still holds.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # Longest time a filing may hold the in-flight lock before a retry may proceed.
    idempotency_lock_seconds: int = Field(default=60, gt=0)

    # Officers' jurisdictions (routing's reporting chains) are cached this long.
    jurisdiction_cache_seconds: float = Field(default=30.0, ge=0)

    # C2: the secret the SMS / WhatsApp providers sign their delivery receipts with (HMAC-SHA256 of the body, in
    # X-Nivaran-Signature: sha256=<hex>); issued to the provider. Empty: receipts are refused (503), never trusted.
    provider_webhook_secret: IssuedCredential = SecretStr("")
    # B5 / C2: the WhatsApp Business Cloud API's webhook: the app secret Meta signs each POST with
    # (X-Hub-Signature-256), and the verify token of the subscription handshake. Empty: the webhook is refused (503).
    whatsapp_app_secret: IssuedCredential = SecretStr("")
    whatsapp_verify_token: IssuedCredential = SecretStr("")
    # B5 / C1: a photo or a document sent on WhatsApp is fetched from the Cloud API (GET <graph base>/<media id> with
    # the access token names the file's URL; GET that URL with the token gives the bytes) and handed to intake with
    # its caption. Empty token: such a message is handed on without the file, and answered that it did not arrive.
    whatsapp_graph_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_access_token: IssuedCredential = SecretStr("")
    # Intake's attachment limit (NIVARAN_INTAKE_ATTACHMENTS_MAX_BYTES): a larger file is not fetched, and answered.
    whatsapp_media_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0, le=7 * 1024 * 1024)
    whatsapp_media_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    rate_limits_enabled: bool = True
    rate_limits: dict[str, RateRule] = Field(default_factory=_default_rate_limits)
    # How many reverse proxies in front of the gateway append to X-Forwarded-For (0: use the peer address).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)

    max_body_bytes: int = Field(default=65536, gt=0)
    # POST …/attachments only: intake's file limit (NIVARAN_INTAKE_ATTACHMENTS_MAX_BYTES, 5 MiB) plus the multipart
    # envelope; intake still checks the file itself.
    max_upload_bytes: int = Field(default=5 * 1024 * 1024 + 64 * 1024, gt=0)
    # The web app's (/app) CSRF key: each form carries HMAC-SHA256(key, the browser's session id). Empty: a random key
    # per process, which is enough for one replica; several replicas behind one name must share a configured key.
    web_csrf_secret: SecretStr = SecretStr("")
    # Prefixed to Location headers when set (e.g. https://nivaran.bihar.gov.in); relative paths otherwise.
    public_base_url: str = ""

    @field_validator("rate_limits", mode="after")
    @classmethod
    def _keep_default_buckets(cls, value: dict[str, RateRule]) -> dict[str, RateRule]:
        # An override of one bucket (NIVARAN_GATEWAY_RATE_LIMITS='{"otp": ...}') leaves the others in force.
        return {**_default_rate_limits(), **value}

    @model_validator(mode="after")
    def _graph_over_https(self) -> GatewaySettings:
        # The WhatsApp access token travels to the Graph API with every media request.
        if self.profile is Profile.PROD and not self.whatsapp_graph_base_url.startswith("https://"):
            raise ValueError(f"{self.env_name('whatsapp_graph_base_url')} must be an https:// URL in profile prod")
        return self

    def targets(self) -> ServiceTargets:
        """The gRPC targets of every service the gateway calls."""
        return ServiceTargets(
            intake=self.intake_target,
            routing=self.routing_target,
            identity=self.identity_target,
            notify=self.notify_target,
            sla=self.sla_target,
        )
