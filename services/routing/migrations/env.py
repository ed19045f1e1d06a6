from nivaran_common.migrations import run_env
from nivaran_routing.tables import RoutingBase

run_env(RoutingBase.metadata, version_table="routing_alembic_version")
