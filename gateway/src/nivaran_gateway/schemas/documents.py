"""Documents: the PDF notices of a case (Form-2, show-cause notices, the interim order, Form-3, Form-4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from nivaran.notify.v1 import notify_pb2
from nivaran_gateway.schemas.common import InputModel, LocalizedText, timestamp


class DocumentView(BaseModel):
    """One document; `download_url` returns its PDF and `verification_url` (in its QR code) tells anyone it is
    genuine."""

    id: str
    kind: str = Field(examples=["form2", "show_cause", "interim_order", "form3", "form4"])
    title: LocalizedText
    rules: str = Field(examples=["S9, S11"])
    version: str
    registration_number: str
    issued_at: datetime | None
    recipient: str = Field(description="citizen (sent to the complainant) or officer")
    content_sha256: str = Field(description="SHA-256 of the document's content, printed on it")
    pdf_sha256: str | None = Field(description="SHA-256 of the PDF file, once rendered")
    verification_url: str
    download_url: str | None = None

    @classmethod
    def from_proto(cls, document: notify_pb2.Document, *, download: bool = True) -> DocumentView:
        number = document.registration_number
        return cls(
            id=document.id,
            kind=document.kind,
            title=LocalizedText.from_proto(document.title),
            rules=document.rules,
            version=document.version,
            registration_number=number,
            issued_at=timestamp(document, "issued_at"),
            recipient=document.recipient_kind,
            content_sha256=document.content_sha256,
            pdf_sha256=document.pdf_sha256 or None,
            verification_url=document.verification_url,
            download_url=f"/v1/grievances/{number}/documents/{document.id}" if download else None,
        )


class DocumentList(BaseModel):
    registration_number: str
    documents: list[DocumentView]


class VerificationView(BaseModel):
    """What anyone may learn of a document: Nivaran issued it, what it is, and whom it concerns (never a person)."""

    genuine: bool
    document: DocumentView
    concerns: LocalizedText
    file_matches: bool | None = Field(
        default=None, description="when a PDF was sent: true if it is the issued file, byte for byte"
    )

    @classmethod
    def from_proto(cls, answer: notify_pb2.DocumentVerification) -> VerificationView:
        return cls(
            genuine=answer.genuine,
            document=DocumentView.from_proto(answer.document, download=False),
            concerns=LocalizedText.from_proto(answer.concerns),
            file_matches=answer.file_matches if answer.HasField("file_matches") else None,
        )


class PreviewIn(InputModel):
    """A template version to review, with the facts it prints."""

    kind: Literal["form2", "show_cause", "interim_order", "form3", "form4"]
    language: Literal["hi", "en"] = "hi"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)

    def struct(self) -> dict[str, Any]:
        return dict(self.params)
