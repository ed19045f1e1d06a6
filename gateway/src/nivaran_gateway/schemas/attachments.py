"""Files attached to a case: reports, disposals, show-cause replies, citizen responses and the filing itself."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.schemas.common import ActorView, timestamp


class Purpose(StrEnum):
    """Why a file is attached. A citizen attaches to the filing or a response; an officer a report, a disposal or a
    show-cause reply; either may attach `other`."""

    FILING = "filing"
    REPORT = "report"
    DISPOSAL = "disposal"
    SHOW_CAUSE_REPLY = "show_cause_reply"
    CITIZEN_RESPONSE = "citizen_response"
    OTHER = "other"


CITIZEN_PURPOSES = frozenset({Purpose.FILING, Purpose.CITIZEN_RESPONSE, Purpose.OTHER})
OFFICER_PURPOSES = frozenset({Purpose.REPORT, Purpose.DISPOSAL, Purpose.SHOW_CAUSE_REPLY, Purpose.OTHER})


class AttachmentView(BaseModel):
    """One attached file's metadata; `download_url` returns its bytes."""

    id: str
    file_name: str = Field(description="sanitised; its extension matches content_type")
    content_type: str = Field(examples=["application/pdf", "image/jpeg", "image/png"])
    size_bytes: int
    sha256: str = Field(description="hex SHA-256 of the content; the download repeats it in X-Content-SHA256")
    purpose: Purpose
    uploaded_by: ActorView | None = None
    uploaded_at: datetime | None = None
    download_url: str

    @classmethod
    def from_proto(cls, attachment: intake_pb2.Attachment, registration_number: str) -> AttachmentView:
        """Convert from the proto."""
        return cls(
            id=attachment.id,
            file_name=attachment.file_name,
            content_type=attachment.content_type,
            size_bytes=attachment.size_bytes,
            sha256=attachment.sha256,
            purpose=Purpose(attachment.purpose),
            uploaded_by=ActorView.from_proto(attachment.uploaded_by) if attachment.HasField("uploaded_by") else None,
            uploaded_at=timestamp(attachment, "created_at"),
            download_url=f"/v1/grievances/{registration_number}/attachments/{attachment.id}",
        )


class AttachmentList(BaseModel):
    """The files of a case, oldest first."""

    registration_number: str
    attachments: list[AttachmentView]
