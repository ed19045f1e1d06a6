"""Files that come with an inbound message (an email's attachments, a WhatsApp photo).

Their bytes go to the blob store before the message is stored, whatever they are (content-addressed, so a repeat
stores nothing new), and the stored message lists them: it is complete before anything reads it. A case gets them
as attachments only through the attachment checks (attachments.py: the type by its magic bytes, the size), and a
file those checks refuse is named in the answer, never silently left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from nivaran_common.blobstore import BlobStore
from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_intake.attachments import (
    AttachmentService,
    NewAttachment,
    Purpose,
    normalise_content_type,
    sniff_content_type,
)

log = get_logger(__name__)

# A message brings at most this many files to its case; the rest are stored with it and named in the answer.
MAX_FILES = 10
MAX_FILE_NAME = 255
MAX_CONTENT_TYPE = 100


@dataclass(frozen=True)
class InboundFile:
    """A file as it came with the message."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file of a stored message: what it was sent as, and where its bytes are."""

    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str

    def as_record(self) -> dict[str, Any]:
        """The JSON kept in inbound_messages.files."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StoredFile:
        """Back from inbound_messages.files."""
        return cls(
            file_name=str(record.get("file_name", "")),
            content_type=str(record.get("content_type", "")),
            size_bytes=int(record.get("size_bytes", 0)),
            sha256=str(record.get("sha256", "")),
            storage_key=str(record.get("storage_key", "")),
        )


async def store_files(blobs: BlobStore, files: Sequence[InboundFile]) -> list[StoredFile]:
    """Put each file's bytes in the blob store; what the stored message records of them."""
    stored: list[StoredFile] = []
    for file in files:
        digest = hashlib.sha256(file.content).hexdigest()
        declared = file.content_type.strip()[:MAX_CONTENT_TYPE]
        key = await blobs.put(digest, file.content, normalise_content_type(declared) or "application/octet-stream")
        stored.append(StoredFile(file.filename.strip()[:MAX_FILE_NAME], declared, len(file.content), digest, key))
    return stored


@dataclass(frozen=True)
class RefusedFile:
    """A file that did not become an attachment, and why, in English and Hindi."""

    file_name: str
    reason_en: str
    reason_hi: str


@dataclass(frozen=True)
class Attached:
    """What became of a message's files on its case."""

    attachment_ids: tuple[str, ...] = ()
    refused: tuple[RefusedFile, ...] = ()


def refusal(content: bytes, attachments: AttachmentService) -> tuple[str, str] | None:
    """Why the attachment checks would refuse `content` (English, Hindi), or None when they accept it.

    The type is what the bytes are, not what the sender's program declared (mail programs often say
    application/octet-stream): the declared type is not held against a file.
    """
    limits = attachments.limits
    if not content:
        return "the file is empty", "फ़ाइल खाली है"
    if len(content) > limits.max_bytes:
        size = f"{limits.max_bytes / (1024 * 1024):.1f}".removesuffix(".0")
        return f"larger than {size} MB", f"{size} MB से बड़ी"
    if sniff_content_type(content) not in limits.allowed_types:
        kinds = ", ".join(t.split("/")[-1].upper() for t in limits.allowed_types)
        return f"not a {kinds} file", f"{kinds} फ़ाइल नहीं"
    return None


async def attach(
    attachments: AttachmentService,
    grievance_id: str,
    files: Sequence[StoredFile],
    *,
    purpose: Purpose,
    actor: Mapping[str, str],
    key_prefix: str,
) -> Attached:
    """The message's files as attachments of the case, each once (its key comes from the message and its place);
    the ones the checks refuse, with the reason."""
    ids: list[str] = []
    refused: list[RefusedFile] = []
    for index, file in enumerate(files):
        name = file.file_name or f"file {index + 1}"
        if index >= MAX_FILES:
            refused.append(RefusedFile(name, f"more than {MAX_FILES} files", f"{MAX_FILES} से अधिक फ़ाइलें"))
            continue
        content = await attachments.blobs.get(file.storage_key)
        why = refusal(content, attachments)
        if why is not None:
            refused.append(RefusedFile(name, *why))
            continue
        upload = NewAttachment(
            grievance_id=grievance_id,
            file_name=file.file_name or "attachment",
            content_type="",
            content=content,
            purpose=purpose.value,
            actor=dict(actor),
            idempotency_key=f"{key_prefix}:file:{index}",
        )
        try:
            row = await attachments.add(upload)
        except (InvalidArgument, FailedPrecondition, NotFound) as problem:
            # A key reused for other bytes (a redelivery that changed its files): the first stays.
            log.warning("inbound file not attached", grievance_id=grievance_id, reason=problem.message)
            refused.append(RefusedFile(name, "could not be attached", "संलग्न नहीं हो सकी"))
            continue
        ids.append(row.id)
    return Attached(tuple(ids), tuple(refused))
