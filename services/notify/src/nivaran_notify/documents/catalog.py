"""Which notices the orders treat as documents, and what each document is.

A notice is a document when its template (and, for the lifecycle's `sla_notice`, its `kind`) says so: the Form-2
acknowledgement (B5), the show-cause notice (S9 / S11), the interim order (S12), the Form-3 decision (B7, on a
disposal, a rejection or an appeal's decision) and the Form-4 hearing notice (B7 / M3). Each is rendered from the
versioned templates `templates/documents/<kind>/<version>.<language>.html`; a new version of a template is a new
entry here, and a document keeps the version it was issued with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DocumentKind(StrEnum):
    FORM2 = "form2"
    SHOW_CAUSE = "show_cause"
    INTERIM_ORDER = "interim_order"
    FORM3 = "form3"
    FORM4 = "form4"


@dataclass(frozen=True)
class DocumentType:
    kind: DocumentKind
    # The template version new documents of this kind are issued with.
    version: str
    title_en: str
    title_hi: str
    # The rules the document is issued under, printed on it.
    rules: str


TYPES: dict[DocumentKind, DocumentType] = {
    DocumentKind.FORM2: DocumentType(DocumentKind.FORM2, "v1", "Acknowledgement (Form-2)", "पावती (प्रपत्र-2)", "B5"),
    DocumentKind.SHOW_CAUSE: DocumentType(
        DocumentKind.SHOW_CAUSE, "v1", "Show-cause notice", "कारण पृच्छा (कारण बताओ नोटिस)", "S9, S11"
    ),
    DocumentKind.INTERIM_ORDER: DocumentType(DocumentKind.INTERIM_ORDER, "v1", "Interim order", "अंतरिम आदेश", "S12"),
    DocumentKind.FORM3: DocumentType(DocumentKind.FORM3, "v1", "Decision (Form-3)", "निर्णय (प्रपत्र-3)", "B7"),
    DocumentKind.FORM4: DocumentType(
        DocumentKind.FORM4, "v1", "Notice of hearing (Form-4)", "सुनवाई की सूचना (प्रपत्र-4)", "B7, M3"
    ),
}

# The lifecycle's `sla_notice` kinds that are documents.
SLA_NOTICE_KINDS: dict[str, DocumentKind] = {
    "show_cause": DocumentKind.SHOW_CAUSE,
    "interim_order": DocumentKind.INTERIM_ORDER,
    "disposal": DocumentKind.FORM3,
    "rejection": DocumentKind.FORM3,
    "appeal_decided": DocumentKind.FORM3,
    "hearing_scheduled": DocumentKind.FORM4,
}


# The templates whose notices may carry a document; a notice of any other never looks for one.
DOCUMENT_TEMPLATES = frozenset({"acknowledgement", "sla_notice"})


def document_type(template: str, params: Mapping[str, Any]) -> DocumentType | None:
    """The document a notice carries, or None for a notice that is only a message."""
    if template == "acknowledgement":
        return TYPES[DocumentKind.FORM2]
    if template == "sla_notice":
        kind = SLA_NOTICE_KINDS.get(str(params.get("kind", "")))
        return TYPES[kind] if kind is not None else None
    return None
