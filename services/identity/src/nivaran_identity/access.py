"""Who may call each IdentityService RPC (nivaran_common.door). Logins are the gateway's alone: a person gets a
token only at the public edge, with its rate limits. Every other act is the verified person's own."""

from __future__ import annotations

from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import DM, OFFICER, OPERATOR
from nivaran_common.door import (
    DEPARTMENT,
    GATEWAY,
    INTAKE,
    NOTIFY,
    OPERATOR_TOOL,
    ROUTING,
    SLA,
    Need,
    Rule,
    rule,
    rules_for,
)

_LOGIN = rule(system=(GATEWAY,))
_STAFF = rule(user=(GATEWAY,), holders=(OFFICER, OPERATOR))
# Department clients are managed by a STATE_ADMIN (any department) or a DEPT_ADMIN (their own; identity checks).
_CLIENT_ADMIN = rule(user=(GATEWAY,), holders=("STATE_ADMIN", "DEPT_ADMIN"))

RULES = rules_for(
    identity_pb2.DESCRIPTOR.services_by_name["IdentityService"],
    {
        "RequestOtp": _LOGIN,
        "VerifyOtp": _LOGIN,
        "PasswordLogin": _LOGIN,
        "RefreshToken": _LOGIN,
        # Logout: the refresh token is revoked, and the access token the gateway forwards with it.
        "RevokeToken": _LOGIN,
        # Every door verifies tokens against it (the sla worker serves no RPC, so it has no door).
        "GetJwks": rule(system=(GATEWAY, ROUTING, INTAKE, NOTIFY, SLA, OPERATOR_TOOL)),
        "GetAccount": rule(user=(GATEWAY,)),
        # Sign-up of an officer is anonymous; the DM decides (S6).
        "RegisterOfficer": rule(system=(GATEWAY,)),
        "DecideRegistration": _STAFF,
        "ListRegistrations": _STAFF,
        "RelinquishCharge": rule(user=(GATEWAY,), holders=(OFFICER,)),
        # The officer taking charge, or an admin recording it for them (identity checks which may).
        "TakeCharge": rule(user=(GATEWAY,), holders=(OFFICER, "STATE_ADMIN", "DEPT_ADMIN")),
        "GetCurrentHolder": rule(user=(GATEWAY,)),
        "ListPostings": rule(user=(GATEWAY,)),
        "CreateDelegation": _STAFF,
        "RevokeDelegation": _STAFF,
        "ListDelegations": _STAFF,
        # A STATE_ADMIN, or the regulator of the account's posts (DM, DEPT_ADMIN); identity checks which.
        "DisableAccount": rule(user=(GATEWAY,), holders=("STATE_ADMIN", "DEPT_ADMIN", DM)),
        # The verified caller's own password (the token names whose).
        "ChangePassword": rule(user=(GATEWAY,), holders=(OFFICER, OPERATOR)),
        "CreateServiceClient": _CLIENT_ADMIN,
        "ListServiceClients": _CLIENT_ADMIN,
        "DisableServiceClient": _CLIENT_ADMIN,
        # The token exchange itself: a department's system (its `dept-*` certificate) comes without a token, with its
        # client id and secret; nobody else may call it.
        "IssueClientToken": Rule(callers={DEPARTMENT: Need.SYSTEM}),
        # Where to reach a post's holder (S16, C2): notify alone, on its own account, for an officer's notice by SMS
        # or email. It carries unmasked addresses, so no person's call may reach it, the gateway's included.
        "GetPostContact": rule(system=(NOTIFY,)),
        # Open311 keys (issue 12): a STATE_ADMIN's to issue and revoke (identity checks the role again); checking a
        # presented key is the gateway's own call, on every Open311 filing (the integrator holds no token).
        "IssueOpen311Key": rule(user=(GATEWAY,), holders=("STATE_ADMIN",)),
        "ListOpen311Keys": rule(user=(GATEWAY,), holders=("STATE_ADMIN",)),
        "RevokeOpen311Key": rule(user=(GATEWAY,), holders=("STATE_ADMIN",)),
        "VerifyOpen311Key": rule(system=(GATEWAY,)),
    },
)
