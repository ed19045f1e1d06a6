"""Documents: issued with the notice that carries them, rendered to PDF when first needed, verified by anyone.

A document's facts are recorded in the notice's own transaction (`issue`), so a notice that was sent always has its
document, and the content hash printed on it is fixed at issue. The PDF is rendered the first time it is needed (the
email that carries it, or a download) and kept in the blob store with its SHA-256; later reads return those bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.blobstore import BlobMissing, BlobStore
from nivaran_common.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.logging import get_logger
from nivaran_notify.documents.catalog import DOCUMENT_TEMPLATES, TYPES, DocumentKind, document_type
from nivaran_notify.documents.domain import CITIZEN, OFFICER, Document, Verification, content_digest
from nivaran_notify.documents.render import DocumentPage, PdfRenderer
from nivaran_notify.documents.store import DocumentStore
from nivaran_notify.domain import OutboundDelivery, RecipientKind, SendCommand

log = get_logger(__name__)

PDF = "application/pdf"
MAX_LIST = 200
# A file handed in for verification larger than this is not one of ours.
MAX_VERIFY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class DocumentReader:
    """Who reads a case's documents. The gateway lets through only those who may read the case (intake decides
    that); the complainant reads the documents sent to the complainant, an officer all the case's (a show-cause
    notice too)."""

    account_id: str
    is_citizen: bool


class DocumentService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        renderer: PdfRenderer,
        verification_base_url: str,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._renderer = renderer
        self._verification_base_url = verification_base_url.rstrip("/")

    def verification_url(self, document_id: str) -> str:
        return f"{self._verification_base_url}/v1/documents/{document_id}/verification"

    # Issue: inside the Send's transaction.

    def plan(
        self,
        command: SendCommand,
        context: Mapping[str, Any],
        registration_number: str,
        notice_id: str,
        lead_language: str,
        now: datetime,
    ) -> Document | None:
        """The document a notice carries, or None; `context` is the template's (params with `<name>_ist`)."""
        found = document_type(command.template, command.params)
        if found is None:
            return None
        facts = {key: value for key, value in context.items() if isinstance(value, str | int | float | bool)}
        facts["registration_number"] = registration_number
        if command.recipient.name:
            facts["recipient_name"] = command.recipient.name
        document_id = str(uuid.uuid4())
        return Document(
            id=document_id,
            notice_id=notice_id,
            kind=found.kind,
            version=found.version,
            registration_number=registration_number,
            grievance_id=command.grievance_id,
            recipient_kind=OFFICER if command.recipient.kind is RecipientKind.OFFICER else CITIZEN,
            recipient_account_id=command.recipient.account_id,
            lead_language=lead_language,
            facts=facts,
            issued_at=now,
            content_sha256=content_digest(document_id, found.kind, found.version, registration_number, now, facts),
        )

    @staticmethod
    def add(session: AsyncSession, document: Document) -> None:
        DocumentStore(session).add(document)

    # Reading.

    async def for_notice(self, notice_id: str) -> Document | None:
        async with self._sessions() as session:
            return await DocumentStore(session).by_notice(notice_id)

    async def attachment(self, outbound: OutboundDelivery) -> tuple[str, bytes] | None:
        """The file name and PDF of the document an email carries, or None. Rendered now if this is its first use,
        and kept for later readers; only notices of the templates that can carry one look for it."""
        if outbound.template not in DOCUMENT_TEMPLATES:
            return None
        document = await self.for_notice(outbound.notice_id)
        if document is None:
            return None
        document, pdf = await self.pdf(document.id)
        return document.filename, pdf

    async def of_case(self, registration_number: str, reader: DocumentReader) -> list[Document]:
        if not registration_number.strip():
            raise InvalidArgument.of([FieldViolation("registration_number", "is required")])
        async with self._sessions() as session:
            documents = await DocumentStore(session).of_case(registration_number.strip(), MAX_LIST)
        return [d for d in documents if _may_read(d, reader)]

    async def content(
        self, document_id: str, reader: DocumentReader, registration_number: str
    ) -> tuple[Document, bytes]:
        """The PDF of a case's document, for one who may read it."""
        document, _ = await self._get(document_id)
        if document.registration_number != registration_number.strip():
            raise NotFound("no such document of this case / इस मामले का ऐसा कोई दस्तावेज़ नहीं")
        if not _may_read(document, reader):
            raise PermissionDenied("this document is not addressed to you / यह दस्तावेज़ आपको संबोधित नहीं है")
        return await self.pdf(document_id)

    async def pdf(self, document_id: str) -> tuple[Document, bytes]:
        """The document's PDF: the stored one, or rendered now and stored (the first rendering recorded wins)."""
        document, key = await self._get(document_id)
        if key is not None:
            try:
                return document, await self._blobs.get(key)
            except BlobMissing:
                log.error("a document's PDF is missing from the store; rendering it again", document_id=document_id)
        content = await self._render(document)
        digest = hashlib.sha256(content).hexdigest()
        stored_key = await self._blobs.put(digest, content, PDF)
        async with self._sessions.begin() as session:
            first = await DocumentStore(session).record_pdf(document_id, stored_key, digest, len(content))
        if not first and key is None:
            # Another rendering was recorded first: answer with its bytes, so every reader gets the same file.
            return await self.pdf(document_id)
        log.info("document rendered", document_id=document_id, kind=document.kind.value, size=len(content))
        return document, content

    async def verify(self, document_id: str, content: bytes | None = None) -> Verification:
        """What anyone may learn of a document: that it was issued, what it is, and whether a file is its PDF."""
        if content is not None and len(content) > MAX_VERIFY_BYTES:
            raise InvalidArgument.of([FieldViolation("content", f"must be at most {MAX_VERIFY_BYTES} bytes")])
        document, _ = await self._get(document_id)
        matches: bool | None = None
        if content is not None:
            if not document.pdf_sha256:
                document, _ = await self.pdf(document_id)
            matches = hashlib.sha256(content).hexdigest() == document.pdf_sha256
        return Verification(document, self.verification_url(document.id), matches)

    async def preview(self, kind: str, language: str, params: Mapping[str, Any], now: datetime) -> bytes:
        """A template rendered with sample facts, stored nowhere: for reviewing a template version (RenderPdf)."""
        violations: list[FieldViolation] = []
        try:
            document_kind = DocumentKind(kind.strip())
        except ValueError:
            violations.append(FieldViolation("kind", f"must be one of {', '.join(k.value for k in DocumentKind)}"))
        if language not in {"hi", "en"}:
            violations.append(FieldViolation("language", "must be 'hi' or 'en'"))
        if violations:
            raise InvalidArgument.of(violations)
        facts = {str(k): v for k, v in params.items() if isinstance(v, str | int | float | bool)}
        registration_number = str(facts.get("registration_number", "PREVIEW"))
        facts["registration_number"] = registration_number
        document_id = "00000000-0000-0000-0000-000000000000"
        version = TYPES[document_kind].version
        # A document that is never stored: rendered as an issued one would be.
        preview = Document(
            id=document_id,
            notice_id="",
            kind=document_kind,
            version=version,
            registration_number=registration_number,
            grievance_id="",
            recipient_kind=CITIZEN,
            recipient_account_id="",
            lead_language=language,
            facts=facts,
            issued_at=now,
            content_sha256=content_digest(document_id, document_kind, version, registration_number, now, facts),
        )
        return await self._render(preview)

    async def _get(self, document_id: str) -> tuple[Document, str | None]:
        try:
            uuid.UUID(document_id.strip())
        except ValueError:
            raise InvalidArgument.of([FieldViolation("document_id", "must be a document number (a UUID)")]) from None
        async with self._sessions() as session:
            found = await DocumentStore(session).get(document_id.strip())
        if found is None:
            raise NotFound("no such document / ऐसा कोई दस्तावेज़ नहीं")
        return found

    def source_html(self, document: Document) -> str:
        """The HTML a document is rendered from (its text is what the PDF's text layer must read back as)."""
        return self._renderer.html(self._page(document))

    async def _render(self, document: Document) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._renderer.executor, self._renderer.render, self._page(document))

    def _page(self, document: Document) -> DocumentPage:
        return DocumentPage(
            id=document.id,
            type=document.type,
            version=document.version,
            registration_number=document.registration_number,
            issued_at=document.issued_at,
            lead_language=document.lead_language,
            facts=_with_defaults(document.facts),
            verification_url=self.verification_url(document.id),
            content_sha256=document.content_sha256,
        )


# Every template may name these; a notice that had no such parameter prints a dash.
_DEFAULT_FACTS = (
    "complainant_name",
    "filed_at_ist",
    "category_name_en",
    "category_name_hi",
    "office_name_en",
    "office_name_hi",
    "position_title_en",
    "position_title_hi",
    "headline_en",
    "headline_hi",
    "detail_en",
    "detail_hi",
)


def _with_defaults(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {**dict.fromkeys(_DEFAULT_FACTS, "—"), **facts}


def _may_read(document: Document, reader: DocumentReader) -> bool:
    # The gateway asked intake first: a citizen here is the case's complainant, who reads what was sent to them.
    return not reader.is_citizen or document.recipient_kind == CITIZEN
