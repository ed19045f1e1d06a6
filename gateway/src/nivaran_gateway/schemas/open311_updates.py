"""The servicerequestupdates extension (FixMyStreet's "Open311 FMS" GET Service Request Updates): a case's timeline
as updates, in public words only.

A timeline event's own summary may carry an officer's note or the complainant's words, so an update never shows it:
each event type that the public may follow has a fixed description here, in English and Hindi. The one exception is
the assignment, whose summary names the post and office from master data ("Assigned to Circle Officer, Circle Office
Bihta"): it is shown when it carries no note (a note follows a colon, see sla's lifecycle `move`). Event types not
listed (clocks, visibility, notices to officers, show-cause) are internal and left out.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.schemas.common import timestamp
from nivaran_gateway.schemas.open311 import MODELS, w3c

OPEN = "OPEN"
CLOSED = "CLOSED"

# Event type -> (description, the status it leaves the request in; None: as it was).
PUBLIC_EVENTS: dict[str, tuple[str, str | None]] = {
    "registered": ("Registered / पंजीकृत", OPEN),
    "registered_at_cell": ("Registered with the grievance cell / शिकायत प्रकोष्ठ में पंजीकृत", OPEN),
    "assigned": ("Assigned to an office / कार्यालय को सौंपा गया", OPEN),
    "acknowledgement_sent": ("Acknowledgement sent to the complainant / शिकायतकर्ता को पावती भेजी गई", None),
    "transferred": ("Transferred to another office / अन्य कार्यालय को स्थानांतरित", OPEN),
    "forwarded": ("Sent to another officer / अन्य अधिकारी को भेजा गया", OPEN),
    "escalated": ("Escalated to a senior officer / वरिष्ठ अधिकारी को भेजा गया", OPEN),
    "info_requested": ("Information asked of the complainant / शिकायतकर्ता से जानकारी माँगी गई", None),
    "citizen_responded": ("The complainant replied / शिकायतकर्ता ने उत्तर दिया", None),
    "interim_reply_uploaded": ("Interim reply given / अंतरिम उत्तर दिया गया", None),
    "interim_order_issued": ("Interim order issued / अंतरिम आदेश जारी", None),
    "scheme_order_issued": ("Order under a scheme issued / योजना के अंतर्गत आदेश जारी", None),
    "hearing_scheduled": ("Hearing scheduled / सुनवाई निर्धारित", None),
    "hearing_held": ("Hearing held / सुनवाई हुई", None),
    "disposed": ("Disposed / निस्तारित", CLOSED),
    "rejected": ("Rejected, with reasons / कारण सहित अस्वीकृत", CLOSED),
    "closed": ("Closed / बंद", CLOSED),
    "marked_duplicate": ("Joined to an earlier case on the same matter / समान विषय के पूर्व मामले से जोड़ा गया", CLOSED),
    "feedback_recorded": ("The complainant's feedback recorded / शिकायतकर्ता की प्रतिक्रिया दर्ज", None),
    "unresolved": ("Back with the officer after feedback / प्रतिक्रिया के बाद अधिकारी को वापस", OPEN),
    "reopened": ("Reopened / पुनः खोला गया", OPEN),
    "appeal_filed": ("Appeal filed / अपील दायर", OPEN),
    "appeal_decided": ("Appeal decided / अपील पर निर्णय", None),
}
# The events whose summary names a post and office from master data, shown when it carries no note.
_ASSIGNMENTS = frozenset({"assigned"})


class Open311Update(BaseModel):
    """One update of a service request."""

    update_id: str = Field(description="`<registration number>:<timeline sequence>`")
    service_request_id: str
    status: str = Field(description="OPEN or CLOSED, after this update")
    updated_datetime: str | None
    description: str = Field(description="What happened, in English and Hindi (public words only)")
    external_status_code: str = Field(description="The timeline's event type, e.g. `assigned`")


def _description(event: intake_pb2.TimelineEvent, fixed: str) -> str:
    if event.event_type in _ASSIGNMENTS:
        en, hi = event.summary.en.strip(), event.summary.hi.strip()
        if en and hi and ":" not in en and ":" not in hi:
            return f"{en} / {hi}"
    return fixed


def updates_of(registration_number: str, events: list[intake_pb2.TimelineEvent]) -> list[Open311Update]:
    """The public updates of one case, oldest first, each with the status it left the request in."""
    status = OPEN
    found: list[Open311Update] = []
    for event in sorted(events, key=lambda e: e.sequence):
        known = PUBLIC_EVENTS.get(event.event_type)
        if known is None:
            continue
        fixed, after = known
        status = after or status
        found.append(
            Open311Update(
                update_id=f"{registration_number}:{event.sequence}",
                service_request_id=registration_number,
                status=status,
                updated_datetime=w3c(timestamp(event, "occurred_at")),
                description=_description(event, fixed),
                external_status_code=event.event_type,
            )
        )
    return found


MODELS.append(Open311Update)
