from nivaran_common.migrations import run_env
from nivaran_intake.tables import IntakeBase

run_env(IntakeBase.metadata, version_table="intake_alembic_version")
