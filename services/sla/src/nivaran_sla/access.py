"""Who may call each SlaService RPC (nivaran_common.door). Who may act on which case is then the policy's and
the case's business (nivaran_common.casework), judged on the actor the door derived from the verified token."""

from __future__ import annotations

from nivaran.sla.v1 import sla_pb2
from nivaran_common.door import GATEWAY, IDENTITY, OPERATOR_TOOL, rule, rules_for

STATE_ADMIN = "STATE_ADMIN"
# Department clients' scopes.
SCOPE_POLICIES = "policies.read"
SCOPE_CASES_READ = "grievances.read"

RULES = rules_for(
    sla_pb2.DESCRIPTOR.services_by_name["SlaService"],
    {
        "ListPolicies": rule(system=(GATEWAY,), scope=SCOPE_POLICIES),
        "GetPolicy": rule(system=(GATEWAY,), scope=SCOPE_POLICIES),
        "ComputeDeadline": rule(system=(GATEWAY,), scope=SCOPE_POLICIES),
        "GetCaseClocks": rule(user=(GATEWAY,)),
        "ListShowCauseNotices": rule(user=(GATEWAY,)),
        "ListBreaches": rule(user=(GATEWAY,)),
        # S7: identity hands a post's cases to whoever took charge of it.
        "ApplyChargeHandover": rule(system=(IDENTITY,)),
        "ForwardCase": rule(user=(GATEWAY,)),
        "TransferCase": rule(user=(GATEWAY,)),
        # Moving a running case to another policy version fires its clocks anew: a state admin's act only.
        "MigrateCasePolicy": rule(user=(GATEWAY, OPERATOR_TOOL), holders=(STATE_ADMIN,)),
        "ActOnCase": rule(user=(GATEWAY,)),
    },
)
