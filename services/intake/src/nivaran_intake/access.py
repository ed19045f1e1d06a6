"""Who may call each IntakeService RPC (nivaran_common.door). A user's reads are then confined to what the
user may see, here where the cases live (handlers.py, nivaran_common.jurisdiction)."""

from __future__ import annotations

from nivaran.intake.v1 import intake_pb2
from nivaran_common.auth import DM
from nivaran_common.door import GATEWAY, SLA, SLA_WORKER, rule, rules_for

# Department clients' scopes.
SCOPE_FILE = "grievances.file"
SCOPE_READ = "grievances.read"

_READ = rule(user=(GATEWAY,), scope=SCOPE_READ)

RULES = rules_for(
    intake_pb2.DESCRIPTOR.services_by_name["IntakeService"],
    {
        # Anyone may file at the public edge, signed in or not (the gateway rate-limits it); a token, when sent,
        # is verified and names who filed (S2).
        "FileGrievance": rule(system=(GATEWAY,), scope=SCOPE_FILE),
        "GetGrievance": _READ,
        # sla lists a post's open cases when its holder changes (S7).
        "ListGrievances": rule(user=(GATEWAY,), system=(SLA,), scope=SCOPE_READ),
        "GetTimeline": _READ,
        # The lifecycle workflow is the single writer of a case's state (DESIGN §3).
        "RecordTransition": rule(system=(SLA_WORKER,)),
        "RecordTransitions": rule(system=(SLA_WORKER,)),
        "AddAttachment": rule(user=(GATEWAY,), scope=SCOPE_FILE),
        "ListAttachments": rule(user=(GATEWAY,), scope=SCOPE_READ),
        "GetAttachmentContent": rule(user=(GATEWAY,), scope=SCOPE_READ),
        "GetDashboard": rule(user=(GATEWAY,), scope=SCOPE_READ),
        # Issue 12: the public league table (gateway routes/league.py) reads these counts on the gateway's own
        # account; they name offices and count cases, no person, so a public read is acceptable. A person's token,
        # when the gateway sends one for the review reports, is still verified (the remit is the gateway's).
        "GetPendingByAge": rule(system=(GATEWAY,), scope=SCOPE_READ),
        "GetRanking": rule(system=(GATEWAY,), scope=SCOPE_READ),
        "GetDailyReport": rule(user=(GATEWAY,), scope=SCOPE_READ),
        # M1, M2, H4: the review reports; the remit is the gateway's (review_scope.py), a client's its department.
        "GetWeeklyReport": rule(user=(GATEWAY,), scope=SCOPE_READ),
        "GetLongPending": rule(user=(GATEWAY,), scope=SCOPE_READ),
        "GetCategoryTrends": rule(user=(GATEWAY,), scope=SCOPE_READ),
        # S1: the DM sets camps (the district is checked against the token's); anyone may list them.
        "CreateCamp": rule(user=(GATEWAY,), holders=(DM,)),
        "ListCamps": rule(system=(GATEWAY,)),
        # B7: an office's hearing notice board is public (it names no complainant).
        "ListNoticeBoard": rule(system=(GATEWAY,)),
        # M3 / M2: the DM's report of public authorities' attendance (the district is checked against the token's).
        "ListHearingAbsences": rule(user=(GATEWAY,), holders=(DM,)),
        # C2 / B3: a citizen's SMS, passed on by the gateway once it has verified the aggregator's signature.
        "ReceiveMessage": rule(system=(GATEWAY,)),
    },
)
