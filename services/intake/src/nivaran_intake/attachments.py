"""Attachments of a case: what an upload must be (type by magic bytes, size, a safe name), and the use cases.

Reports, disposals, show-cause replies, citizen responses and the citizen's own filing carry files. The bytes go to
a blob store (local folder or S3-compatible bucket, content-addressed by SHA-256); the metadata goes to intake's
`attachments` table. An upload is idempotent on its key.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.blobstore import BlobStore
from nivaran_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import utcnow
from nivaran_intake.store import AttachmentStore
from nivaran_intake.tables import AttachmentRow

log = get_logger(__name__)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_ALLOWED_TYPES = (PDF, JPEG, PNG)

_MAGIC: tuple[tuple[bytes, str], ...] = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
_EXTENSIONS = {PDF: (".pdf",), JPEG: (".jpg", ".jpeg"), PNG: (".png",)}
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF}
_SAFE_PUNCTUATION = frozenset(" .()-_")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_:.-]{8,128}")
MAX_FILE_NAME = 200
TOO_LARGE_PREFIX = "must be at most"


class Purpose(StrEnum):
    """Why a file is attached."""

    FILING = "filing"
    REPORT = "report"
    DISPOSAL = "disposal"
    SHOW_CAUSE_REPLY = "show_cause_reply"
    CITIZEN_RESPONSE = "citizen_response"
    OTHER = "other"


@dataclass(frozen=True)
class AttachmentLimits:
    """What an upload may be: at most `max_bytes`, and of one of `allowed_types` by its magic bytes."""

    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES


@dataclass(frozen=True)
class NewAttachment:
    """An upload as the caller sent it, before validation."""

    grievance_id: str
    file_name: str
    content_type: str
    content: bytes
    purpose: str
    actor: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = ""


@dataclass(frozen=True)
class ValidAttachment:
    grievance_id: str
    file_name: str
    content_type: str
    content: bytes
    sha256: str
    purpose: Purpose
    actor: dict[str, str]
    idempotency_key: str | None
    fingerprint: str


def sniff_content_type(content: bytes) -> str | None:
    """The type the bytes declare by their magic number (PDF, JPEG or PNG), or None."""
    for magic, content_type in _MAGIC:
        if content.startswith(magic):
            return content_type
    return None


def normalise_content_type(declared: str) -> str:
    """`Image/PNG; charset=x` -> `image/png`, with common aliases (image/jpg) folded in."""
    base = declared.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _safe(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN" or ch in _SAFE_PUNCTUATION


def sanitise_file_name(name: str, content_type: str) -> str:
    """A name safe to store and to offer back for download: no path, no control or shell characters, an extension
    that matches the content, at most MAX_FILE_NAME characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    # Letters, marks and digits of any script (Devanagari names need their vowel signs), space and a few safe
    # punctuation marks; anything else becomes "_".
    base = re.sub(r"_+", "_", "".join(ch if _safe(ch) else "_" for ch in base))
    base = re.sub(r"\s+", " ", base).strip(" ._")
    extensions = _EXTENSIONS.get(content_type, ())
    stem, dot, ext = base.rpartition(".")
    if dot and f".{ext.lower()}" in extensions:
        stem, suffix = stem.rstrip(" ._"), f".{ext.lower()}"
    else:
        stem, suffix = base, (extensions[0] if extensions else "")
    stem = stem[: MAX_FILE_NAME - len(suffix)].rstrip(" ._") or "attachment"
    return f"{stem}{suffix}"


def check_content(
    content: bytes,
    declared: str,
    limits: AttachmentLimits,
    *,
    content_field: str = "content",
    type_field: str = "content_type",
    allowed: Sequence[str] | None = None,
) -> tuple[str | None, list[FieldViolation]]:
    """The type of `content` by its magic bytes when it is present, within the size limit and one of `allowed` (the
    limits' types by default) and agrees with the `declared` type; None and the violations otherwise."""
    types = tuple(allowed if allowed is not None else limits.allowed_types)
    names = ", ".join(types)
    if not content:
        return None, [FieldViolation(content_field, "is required / आवश्यक")]
    if len(content) > limits.max_bytes:
        size = f"{TOO_LARGE_PREFIX} {limits.max_bytes} bytes / अधिकतम {limits.max_bytes} बाइट"
        return None, [FieldViolation(content_field, size)]
    sniffed = sniff_content_type(content)
    declared = normalise_content_type(declared)
    if sniffed is None or sniffed not in types:
        return None, [FieldViolation(type_field, f"the file is not one of {names} (by its content) / फ़ाइल का प्रकार")]
    if declared and declared != "application/octet-stream" and declared != sniffed:
        return None, [FieldViolation(type_field, f"is {declared}, but the file's content is {sniffed}")]
    return sniffed, []


def _accepted(
    grievance_id: str,
    file_name: str,
    content_type: str,
    content: bytes,
    purpose: Purpose,
    actor: Mapping[str, str],
    idempotency_key: str | None,
) -> ValidAttachment:
    """Checked content as it is stored: a safe name, its digest, the actor's fields, the request's fingerprint."""
    digest = hashlib.sha256(content).hexdigest()
    safe_name = sanitise_file_name(file_name, content_type)
    who = {k: actor.get(k, "") for k in ("account_id", "role", "position_id", "on_behalf_of", "display_name")}
    parts = [grievance_id, purpose.value, safe_name, content_type, digest, who["account_id"]]
    return ValidAttachment(
        grievance_id=grievance_id,
        file_name=safe_name,
        content_type=content_type,
        content=content,
        sha256=digest,
        purpose=purpose,
        actor=who,
        idempotency_key=idempotency_key,
        fingerprint=hashlib.sha256("\x1f".join(parts).encode()).hexdigest(),
    )


def validate(upload: NewAttachment, limits: AttachmentLimits) -> tuple[ValidAttachment | None, list[FieldViolation]]:
    """Check an upload field by field; every violation at once."""
    violations: list[FieldViolation] = []
    if not upload.grievance_id.strip():
        violations.append(FieldViolation("grievance_id", "is required"))
    purpose: Purpose | None = None
    try:
        purpose = Purpose(upload.purpose.strip())
    except ValueError:
        violations.append(FieldViolation("purpose", f"must be one of {', '.join(p.value for p in Purpose)}"))
    if not upload.actor.get("account_id"):
        violations.append(FieldViolation("actor.account_id", "is required"))
    key = upload.idempotency_key or None
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        violations.append(FieldViolation("idempotency_key", "must be 8-128 characters of A-Z a-z 0-9 _ : . -"))
    if len(upload.file_name) > 1000:
        violations.append(FieldViolation("file_name", "must be at most 1000 characters"))
    sniffed, problems = check_content(upload.content, upload.content_type, limits)
    violations += problems
    if violations or purpose is None or sniffed is None:
        return None, violations
    return _accepted(upload.grievance_id, upload.file_name, sniffed, upload.content, purpose, upload.actor, key), []


@dataclass(frozen=True)
class StoredContent:
    attachment: AttachmentRow
    content: bytes


class AttachmentService:
    """Upload, list and download the files of a case."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], blobs: BlobStore, limits: AttachmentLimits | None = None
    ) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self.limits = limits or AttachmentLimits()
        engine = sessions.kw.get("bind")
        # SQLite has one writer; taking turns here avoids "database is locked" under concurrent uploads.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine is not None and engine.dialect.name == "sqlite" else None
        )

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AttachmentStore]:
        if self._write_lock is None:
            async with self.sessions.begin() as session:
                yield AttachmentStore(session)
            return
        async with self._write_lock, self.sessions.begin() as session:
            yield AttachmentStore(session)

    async def add(self, upload: NewAttachment) -> AttachmentRow:
        """Store the bytes, then the metadata; a retried key returns the first attachment unchanged."""
        valid, violations = validate(upload, self.limits)
        if valid is None:
            raise InvalidArgument.of(violations)
        async with self.sessions() as session:
            store = AttachmentStore(session)
            if not await store.grievance_exists(valid.grievance_id):
                raise NotFound(f"no grievance {valid.grievance_id}")
            earlier = await store.by_idempotency_key(valid.idempotency_key) if valid.idempotency_key else None
        if earlier is not None:
            return _same_upload(earlier, valid)
        row = await self._stored(valid)
        try:
            async with self._writing() as store:
                store.add(row)
        except IntegrityError:
            # A concurrent retry with the same key won the race; answer with its attachment.
            if valid.idempotency_key is None:
                raise
            async with self.sessions() as session:
                earlier = await AttachmentStore(session).by_idempotency_key(valid.idempotency_key)
            if earlier is None:
                raise
            return _same_upload(earlier, valid)
        log.info(
            "attachment stored",
            grievance_id=row.grievance_id,
            attachment_id=row.id,
            purpose=row.purpose,
            size_bytes=row.size_bytes,
        )
        return row

    async def stage(
        self,
        grievance_id: str,
        content: bytes,
        file_name: str,
        *,
        purpose: Purpose,
        actor: Mapping[str, str],
        idempotency_key: str,
        field: str,
        allowed: Sequence[str],
    ) -> AttachmentRow:
        """A file that comes with another write (S4: a filing's acknowledgement): checked like an upload (errors
        name `field`), its bytes stored, and its metadata row returned for the caller to add in its own transaction,
        so that the case and its file are committed together or not at all."""
        content_type, problems = check_content(
            content, "", self.limits, content_field=field, type_field=field, allowed=allowed
        )
        if content_type is None:
            raise InvalidArgument.of(problems)
        return await self._stored(
            _accepted(grievance_id, file_name, content_type, content, purpose, actor, idempotency_key)
        )

    async def _stored(self, valid: ValidAttachment) -> AttachmentRow:
        """Put the bytes in the blob store; the metadata row that refers to them, not yet added."""
        # Bytes first: a crash in between leaves an unreferenced blob, never metadata without content.
        storage_key = await self.blobs.put(valid.sha256, valid.content, valid.content_type)
        return AttachmentRow(
            id=str(uuid.uuid4()),
            grievance_id=valid.grievance_id,
            idempotency_key=valid.idempotency_key,
            request_fingerprint=valid.fingerprint,
            purpose=valid.purpose.value,
            file_name=valid.file_name,
            content_type=valid.content_type,
            size_bytes=len(valid.content),
            sha256=valid.sha256,
            storage_key=storage_key,
            uploaded_by_account_id=valid.actor["account_id"],
            uploaded_by_role=valid.actor["role"],
            uploaded_by_position_id=valid.actor["position_id"],
            uploaded_by_on_behalf_of=valid.actor["on_behalf_of"],
            uploaded_by_display_name=valid.actor["display_name"],
            created_at=utcnow(),
        )

    async def of_grievance(self, grievance_id: str) -> Sequence[AttachmentRow]:
        """The attachments of a case, oldest first."""
        if not grievance_id:
            raise InvalidArgument.field("grievance_id", "is required")
        async with self.sessions() as session:
            store = AttachmentStore(session)
            if not await store.grievance_exists(grievance_id):
                raise NotFound(f"no grievance {grievance_id}")
            return await store.of_grievance(grievance_id)

    async def content(self, grievance_id: str, attachment_id: str) -> StoredContent:
        """One attachment of the case with its bytes."""
        violations = [
            FieldViolation(name, "is required")
            for name, value in (("grievance_id", grievance_id), ("attachment_id", attachment_id))
            if not value
        ]
        if violations:
            raise InvalidArgument.of(violations)
        async with self.sessions() as session:
            row = await AttachmentStore(session).by_id(grievance_id, attachment_id)
        if row is None:
            raise NotFound(f"no attachment {attachment_id} on grievance {grievance_id}")
        return StoredContent(row, await self.blobs.get(row.storage_key))


def _same_upload(earlier: AttachmentRow, valid: ValidAttachment) -> AttachmentRow:
    if earlier.request_fingerprint != valid.fingerprint:
        raise FailedPrecondition(
            "idempotency key was already used for a different upload",
            [FieldViolation("idempotency_key", "was already used for a different upload")],
        )
    return earlier
