"""Intake settings (env prefix NIVARAN_INTAKE_)."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from nivaran_common.settings import DEV_ONLY_SECRET_PREFIX, ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_INTAKE_", extra="ignore")

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
    # How often cases whose workflow start did not go through are started again.
    start_retry_seconds: float = 5.0
