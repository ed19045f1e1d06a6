"""A document as notify keeps it: what it says (its facts), who it is for, and, once rendered, its PDF's digest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nivaran_notify.documents.catalog import TYPES, DocumentKind, DocumentType

CITIZEN = "citizen"
OFFICER = "officer"


def content_digest(
    document_id: str, kind: DocumentKind, version: str, registration_number: str, issued_at: datetime, facts: Any
) -> str:
    """SHA-256 of the document's content in a canonical form: printed on the document and shown by its verification
    page, so what a copy says can be checked against what was issued."""
    canonical = json.dumps(
        {
            "id": document_id,
            "kind": kind.value,
            "version": version,
            "registration_number": registration_number,
            "issued_at": issued_at.isoformat(),
            "facts": facts,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Document:
    id: str
    notice_id: str
    kind: DocumentKind
    version: str
    registration_number: str
    grievance_id: str
    # Whom the notice carrying it was for: a citizen's documents are the complainant's and the officers'; an
    # officer's (a show-cause notice) only the officers'.
    recipient_kind: str
    recipient_account_id: str
    lead_language: str
    facts: dict[str, Any]
    issued_at: datetime
    content_sha256: str
    pdf_sha256: str = ""
    pdf_size: int = 0

    @property
    def type(self) -> DocumentType:
        return TYPES[self.kind]

    @property
    def filename(self) -> str:
        return f"{self.registration_number}-{self.kind.value}-{self.id[:8]}.pdf"


@dataclass(frozen=True)
class Verification:
    """What the public verification of a document says."""

    document: Document
    verification_url: str
    # Whether a file handed in has the bytes of the PDF as issued (None when none was handed in).
    file_matches: bool | None = None
