"""Documents between proto and domain."""

from __future__ import annotations

from nivaran.common.v1 import common_pb2
from nivaran.notify.v1 import notify_pb2
from nivaran_common.auth import CITIZEN as CITIZEN_KIND
from nivaran_common.door import current_caller
from nivaran_common.errors import PermissionDenied
from nivaran_common.timeutil import to_timestamp
from nivaran_notify.documents.domain import Document, Verification
from nivaran_notify.documents.service import DocumentReader


def document_to_proto(document: Document, verification_url: str) -> notify_pb2.Document:
    kind = document.type
    return notify_pb2.Document(
        id=document.id,
        kind=document.kind.value,
        version=document.version,
        registration_number=document.registration_number,
        title=common_pb2.LocalizedText(en=kind.title_en, hi=kind.title_hi),
        issued_at=to_timestamp(document.issued_at),
        content_sha256=document.content_sha256,
        pdf_sha256=document.pdf_sha256,
        verification_url=verification_url,
        recipient_kind=document.recipient_kind,
        rules=kind.rules,
    )


def verification_to_proto(verification: Verification) -> notify_pb2.DocumentVerification:
    document = verification.document
    facts = document.facts
    answer = notify_pb2.DocumentVerification(
        genuine=True,
        document=document_to_proto(document, verification.verification_url),
        concerns=common_pb2.LocalizedText(
            en=", ".join(str(facts[k]) for k in ("position_title_en", "office_name_en") if facts.get(k)),
            hi=", ".join(str(facts[k]) for k in ("position_title_hi", "office_name_hi") if facts.get(k)),
        ),
    )
    if verification.file_matches is not None:
        answer.file_matches = verification.file_matches
    return answer


def reader() -> DocumentReader:
    """The person the gateway calls for (intake has already said they may read the case)."""
    caller = current_caller()
    principal = caller.principal if caller is not None else None
    if principal is None:
        raise PermissionDenied("reading documents needs the reader's verified token / सत्यापित टोकन आवश्यक है")
    return DocumentReader(account_id=principal.account_id, is_citizen=principal.kind == CITIZEN_KIND)
