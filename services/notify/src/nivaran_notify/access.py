"""Who may call each NotifyService RPC (nivaran_common.door)."""

from __future__ import annotations

from nivaran.notify.v1 import notify_pb2
from nivaran_common.door import GATEWAY, SLA_WORKER, rule, rules_for

STATE_ADMIN = "STATE_ADMIN"

RULES = rules_for(
    notify_pb2.DESCRIPTOR.services_by_name["NotifyService"],
    {
        # Notices are sent by the lifecycle (and the services that own an event), never by a person directly.
        # The lifecycle's notices; and the gateway's answer to a citizen's inbound SMS (C2, template message_reply).
        "Send": rule(system=(SLA_WORKER, GATEWAY)),
        "GetDeliveryStatus": rule(system=(SLA_WORKER,)),
        # A person's own in-app notices (S16); notify confines them to the verified account.
        "ListNotices": rule(user=(GATEWAY,)),
        "MarkNoticeRead": rule(user=(GATEWAY,)),
        "ListTemplates": rule(user=(GATEWAY,)),
        # C2: the dead letters are a state admin's to see and retry (the retry is logged with their account).
        "ListFailedDeliveries": rule(user=(GATEWAY,), holders=(STATE_ADMIN,)),
        "RetryDelivery": rule(user=(GATEWAY,), holders=(STATE_ADMIN,)),
        # C2: a provider's callback; the gateway verifies the provider's signature before it calls, on its own account.
        "RecordDeliveryReceipt": rule(system=(GATEWAY,)),
        # Documents: a case's are read by whom intake lets read the case (the gateway asks it first); notify confines
        # a citizen to what was sent to the complainant. Verification is public, through the gateway's own account.
        "ListDocuments": rule(user=(GATEWAY,)),
        "GetDocumentContent": rule(user=(GATEWAY,)),
        "VerifyDocument": rule(system=(GATEWAY,), user=(GATEWAY,)),
        "RenderPdf": rule(user=(GATEWAY,), holders=(STATE_ADMIN,)),
    },
)
