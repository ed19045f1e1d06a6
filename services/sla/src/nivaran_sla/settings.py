"""SLA settings (env prefix NIVARAN_SLA_): the gRPC server, and the Temporal worker with its collaborators."""

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nivaran_common.settings import ServiceSettings
from nivaran_common.temporal import SLA_TASK_QUEUE

# In the repository layout the data folders sit at the root; images set the folders explicitly.
REPO_ROOT = Path(__file__).parents[4]


class WorkflowSandbox(StrEnum):
    """How the worker runs the lifecycle's code (Temporal's workflow sandbox; bench/RESULTS.md has the costs).

    - shared (the default): in the sandbox, with the project's modules and the libraries they decide with passed
      through (worker.SHARED_MODULES), so that every case shares one copy of them instead of importing its own.
      A case that wakes outside the worker's cache is rebuilt without re-importing any code, and a cached case
      holds only its own state. The sandbox still guards what is not passed through.
    - strict: Temporal's default sandbox; each case imports the workflow module afresh, and any
      non-deterministic call in it (the wall clock, randomness, I/O) fails the workflow task. The rule tests run
      the lifecycle this way, so such a call cannot reach a release unnoticed.
    - off: no sandbox; only to measure what the sandbox costs.
    """

    SHARED = "shared"
    STRICT = "strict"
    OFF = "off"


class SlaSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_SLA_", extra="ignore")

    service_name: str = "sla"
    grpc_port: int = Field(default=50055, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/sla.db"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = SLA_TASK_QUEUE
    # How long the worker keeps trying to reach Temporal at startup (the dev server may still be starting).
    temporal_connect_timeout_seconds: float = Field(default=120.0, gt=0)
    # Track policies (*.yaml) and holiday calendars (<STATE>/<year>.yaml); see policies/ and data/holidays/.
    policy_folder: Path = REPO_ROOT / "policies"
    holidays_folder: Path = REPO_ROOT / "data" / "holidays"
    routing_target: str = "127.0.0.1:50051"
    intake_target: str = "127.0.0.1:50053"
    notify_target: str = "127.0.0.1:50054"
    # Deadline of one call to intake or notify; the activity's own timeout and retries sit above it.
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Must stay below the pod's terminationGracePeriodSeconds (30 s) so running activities finish or are
    # handed back before the kubelet kills the process.
    worker_graceful_shutdown_seconds: float = Field(default=20.0, gt=0, lt=30)
    # Cases kept in the worker's memory between their workflow tasks (Temporal's sticky cache). A case not cached
    # is replayed from its history when it wakes, which costs several times the CPU of a cached one; a cached case
    # costs about 0.25 MiB (bench/RESULTS.md). Size it to the worker's memory: 1,000 is the SDK's default.
    worker_max_cached_workflows: int = Field(default=1000, ge=0)
    workflow_sandbox: WorkflowSandbox = WorkflowSandbox.SHARED
    # Every so many seconds, move the objects alive into the permanent generation (gc.freeze, nivaran_common
    # .gc_pauses), so that a full collection does not walk every cached case while deadlines wait; 0 keeps it off.
    # Each collection's pause is in python_gc_pause_seconds either way, and one over 0.1 s is logged.
    worker_gc_freeze_seconds: float = Field(default=60.0, ge=0)
    # Write NivaranStatus / NivaranDistrict / NivaranOfficeLevel / NivaranDeadline on every case's workflow, so
    # cases can be found by visibility queries. The Temporal namespace must have them registered first (make run
    # does, with `--search-attribute`; a cluster needs `temporal operator search-attribute create`); the worker
    # refuses to start when they are missing, because each write of an unknown attribute fails the workflow task.
    # Off by default for servers without them (the time-skipping test server has no visibility at all).
    upsert_search_attributes: bool = False
    # The worker's GET /metrics (nivaran_sla.metrics: the SLA's counters and the Temporal SDK's metrics), plaintext,
    # for Prometheus; 0 keeps it off. The gRPC server's own is NIVARAN_SLA_METRICS_PORT.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
