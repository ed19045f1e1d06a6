"""The documents table: queries only; each use case owns its transaction."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nivaran_notify.documents.catalog import DocumentKind
from nivaran_notify.documents.domain import Document
from nivaran_notify.tables import DocumentRow


def _document(row: DocumentRow) -> Document:
    issued_at = row.issued_at if row.issued_at.tzinfo is not None else row.issued_at.replace(tzinfo=UTC)
    return Document(
        id=row.id,
        notice_id=row.notice_id,
        kind=DocumentKind(row.kind),
        version=row.version,
        registration_number=row.registration_number,
        grievance_id=row.grievance_id,
        recipient_kind=row.recipient_kind,
        recipient_account_id=row.recipient_account_id,
        lead_language=row.lead_language,
        facts=dict(row.facts),
        issued_at=issued_at,
        content_sha256=row.content_sha256,
        pdf_sha256=row.pdf_sha256 or "",
        pdf_size=row.pdf_size or 0,
    )


class DocumentStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, document: Document) -> None:
        self.session.add(
            DocumentRow(
                id=document.id,
                notice_id=document.notice_id,
                kind=document.kind.value,
                version=document.version,
                registration_number=document.registration_number,
                grievance_id=document.grievance_id,
                recipient_kind=document.recipient_kind,
                recipient_account_id=document.recipient_account_id,
                lead_language=document.lead_language,
                facts=document.facts,
                issued_at=document.issued_at,
                content_sha256=document.content_sha256,
                pdf_key=None,
                pdf_sha256=None,
                pdf_size=None,
            )
        )

    async def get(self, document_id: str) -> tuple[Document, str | None] | None:
        """The document and the key of its stored PDF (None until rendered)."""
        row = await self.session.get(DocumentRow, document_id)
        return (_document(row), row.pdf_key) if row is not None else None

    async def by_notice(self, notice_id: str) -> Document | None:
        stmt = select(DocumentRow).where(DocumentRow.notice_id == notice_id)
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return _document(row) if row is not None else None

    async def of_case(self, registration_number: str, limit: int) -> list[Document]:
        stmt = (
            select(DocumentRow)
            .where(DocumentRow.registration_number == registration_number)
            .order_by(DocumentRow.issued_at, DocumentRow.id)
            .limit(limit)
        )
        return [_document(row) for row in (await self.session.execute(stmt)).scalars()]

    async def record_pdf(self, document_id: str, key: str, sha256: str, size: int) -> bool:
        """Keep the first rendering's PDF; False when another was recorded first."""
        result = await self.session.execute(
            update(DocumentRow)
            .where(DocumentRow.id == document_id, DocumentRow.pdf_key.is_(None))
            .values(pdf_key=key, pdf_sha256=sha256, pdf_size=size)
        )
        return bool(getattr(result, "rowcount", 0) == 1)
