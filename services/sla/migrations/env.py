from nivaran_common.migrations import run_env
from nivaran_sla.tables import SlaBase

run_env(SlaBase.metadata, version_table="sla_alembic_version")
