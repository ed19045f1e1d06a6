from nivaran_common.migrations import run_env
from nivaran_identity.tables import IdentityBase

run_env(IdentityBase.metadata, version_table="identity_alembic_version")
