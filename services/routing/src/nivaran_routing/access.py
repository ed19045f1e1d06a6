"""Who may call each RoutingService RPC (nivaran_common.door)."""

from __future__ import annotations

from nivaran.routing.v1 import routing_pb2
from nivaran_common.auth import OFFICER
from nivaran_common.door import GATEWAY, IDENTITY, INTAKE, OPERATOR_TOOL, SLA_WORKER, rule, rules_for

STATE_ADMIN = "STATE_ADMIN"
# Department clients' scope: the public master data (areas, departments, categories).
SCOPE_MASTER_DATA = "masterdata.read"

_PUBLIC = rule(system=(GATEWAY,), scope=SCOPE_MASTER_DATA)
# The categories and districts are read by intake too: the WhatsApp conversation offers them as numbered choices.
_CHOICES = rule(system=(GATEWAY, INTAKE), scope=SCOPE_MASTER_DATA)
# An office with its hearing day (B7): public like the rest of master data (the gateway shows it on the notice board to
# visitors who have not signed in), and read by the lifecycle too.
_OFFICE = rule(system=(GATEWAY, SLA_WORKER), scope=SCOPE_MASTER_DATA)
# Posts and reporting chains: the gateway and intake (jurisdictions), identity (a post's district), the lifecycle
# (escalation targets).
_POSTS = rule(system=(GATEWAY, IDENTITY, INTAKE, SLA_WORKER))
# A department's secretary owns its taxonomy (H4); routing checks the department.
_TAXONOMY = rule(user=(GATEWAY,), holders=(OFFICER, STATE_ADMIN))

RULES = rules_for(
    routing_pb2.DESCRIPTOR.services_by_name["RoutingService"],
    {
        "ResolveL1": rule(system=(INTAKE, GATEWAY)),
        "ValidateLocation": rule(system=(INTAKE, GATEWAY)),
        "GetReportingChain": _POSTS,
        "GetPosition": _POSTS,
        "ListSubordinatePositions": _POSTS,
        "ListPositions": _POSTS,
        "ListDepartments": _PUBLIC,
        "ListCategories": _CHOICES,
        "GetCategory": _PUBLIC,
        "ListAreas": _CHOICES,
        "CreateCategory": _TAXONOMY,
        "RenameCategory": _TAXONOMY,
        "MergeCategories": _TAXONOMY,
        "RetireCategory": _TAXONOMY,
        "ImportMasterData": rule(user=(OPERATOR_TOOL,), holders=(STATE_ADMIN,)),
        # S5: an L1 proposes (the lifecycle does, too, when an officer forwards across departments).
        "RequestTransfer": rule(user=(GATEWAY,), system=(SLA_WORKER,)),
        "DecideTransfer": rule(user=(GATEWAY,)),
        "ListTransferQueue": rule(user=(GATEWAY,)),
        "GetOffice": _OFFICE,
        # B7: an officer of the office or the DM of its district; routing checks the post and the district.
        "SetHearingDay": rule(user=(GATEWAY,)),
    },
)
