"""Intake settings (env prefix NIVARAN_INTAKE_)."""

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from nivaran_common.secret_strength import IssuedCredential
from nivaran_common.settings import DEV_ONLY_SECRET_PREFIX, ServiceSettings
from nivaran_intake.attachments import DEFAULT_ALLOWED_TYPES


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_INTAKE_", extra="ignore")
    # Redis holds WhatsApp conversations: prod names its own, never the embedded localhost default.
    required_in_prod: ClassVar[tuple[str, ...]] = (*ServiceSettings.required_in_prod, "redis_url")

    service_name: str = "intake"
    grpc_port: int = 50053
    database_url: str = "sqlite+aiosqlite:///var/intake.db"
    routing_target: str = "127.0.0.1:50051"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    sla_task_queue: str = "nivaran-sla"
    # State whose registration numbers this deployment issues (B4), e.g. BR-PAT-2026-0000001-7.
    state_code: str = "BR"
    # Key of the salted hash kept beside the masked Aadhaar; refused outside dev while it holds the default.
    aadhaar_hash_key: SecretStr = SecretStr(DEV_ONLY_SECRET_PREFIX + "aadhaar-hash-key")
    # Possible duplicates at filing: the complainant's cases of the district filed this many days back, whose
    # description is at least this alike (RapidFuzz token-set ratio, 0-100), are suggested (0 days: off).
    duplicate_window_days: int = Field(default=30, ge=0, le=365)
    duplicate_min_similarity: int = Field(default=80, ge=1, le=100)
    # How often cases whose workflow start did not go through are started again.
    start_retry_seconds: float = 5.0
    # How often the open-case gauge (metrics.py, nivaran_open_cases) is read from the kept counts, when metrics are on.
    open_cases_metric_seconds: float = Field(default=15.0, gt=0)
    # Officers' jurisdictions (routing's reporting chains) are cached this long.
    jurisdiction_cache_seconds: float = Field(default=30.0, ge=0)
    # C1 / B3: WhatsApp's guided conversations (conversation.py) are kept in Redis under this prefix, each forgotten
    # this long after its last message (24 h: WhatsApp's customer-service window); routing's categories and districts
    # that it offers are cached for master_data_cache_seconds.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "nivaran:intake:"
    conversation_ttl_seconds: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    master_data_cache_seconds: float = Field(default=300.0, ge=0)
    # Attachments: bytes in a local folder (content-addressed by SHA-256), or in an S3-compatible bucket when
    # attachments_s3_bucket is set; credentials fall back to boto3's own chain (env, instance role) when empty.
    attachments_dir: str = "var/attachments"
    # Within the 8 MiB gRPC message limit of the services (nivaran_common.grpc_server.MAX_MESSAGE_BYTES).
    attachments_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0, le=7 * 1024 * 1024)
    attachments_allowed_types: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png")
    attachments_s3_bucket: str = ""
    attachments_s3_endpoint_url: str = ""
    attachments_s3_region: str = ""
    attachments_s3_prefix: str = "attachments/"
    attachments_s3_access_key_id: str = ""
    attachments_s3_secret_access_key: IssuedCredential = SecretStr("")

    @field_validator("attachments_allowed_types", mode="after")
    @classmethod
    def _known_types_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A type is only allowed when intake can recognise it by its magic bytes.
        unknown = sorted(set(value) - set(DEFAULT_ALLOWED_TYPES))
        if unknown:
            raise ValueError(f"unknown attachment types {unknown}; choose from {list(DEFAULT_ALLOWED_TYPES)}")
        return value
