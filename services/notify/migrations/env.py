from nivaran_common.migrations import run_env
from nivaran_notify.tables import NotifyBase

run_env(NotifyBase.metadata, version_table="notify_alembic_version")
