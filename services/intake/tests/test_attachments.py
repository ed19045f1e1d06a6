"""Attachments on SQLite and PostgreSQL: type by magic bytes, size, names, hashes, idempotency, both blob stores."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import text

from nivaran_common.blobstore import BlobMissing, LocalBlobStore, S3BlobStore
from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.testing import free_port
from nivaran_intake.attachments import (
    AttachmentLimits,
    AttachmentService,
    NewAttachment,
    sanitise_file_name,
    sniff_content_type,
    validate,
)
from nivaran_intake.domain import Channel, Complainant, Location, NewGrievance

from .conftest import ATTACHMENT_LIMIT, IntakeHarness

PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32
GIF_BYTES = b"GIF89a" + b"\x00" * 32
CITIZEN = {"account_id": "acct-citizen-1", "role": "citizen"}
OFFICER = {"account_id": "acct-officer-1", "role": "L1", "position_id": "POS-FOOD-PAT-DSO", "display_name": "DSO"}


def filing() -> NewGrievance:
    return NewGrievance(
        complainant=Complainant(name="सीता देवी", address="बेलदारीचक, पटना", phone="9876543210"),
        subject="राशन कार्ड",
        description="मेरा राशन कार्ड छह महीने से नहीं बना है।",
        expected_resolution="",
        category_code="FOOD-RATION-CARD",
        location=Location(state_code="", district_code="PAT"),
        channel=Channel.WEB,
        language="",
        idempotency_key=None,
    )


def upload(grievance_id: str, **overrides: Any) -> NewAttachment:
    values: dict[str, Any] = {
        "grievance_id": grievance_id,
        "file_name": "report.pdf",
        "content_type": "application/pdf",
        "content": PDF_BYTES,
        "purpose": "report",
        "actor": OFFICER,
        "idempotency_key": "",
    }
    values.update(overrides)
    return NewAttachment(**values)


async def new_case(intake: IntakeHarness) -> str:
    return (await intake.service.file(filing())).grievance.id


# --- pure checks ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [(PDF_BYTES, "application/pdf"), (PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg"), (GIF_BYTES, None)],
)
def test_type_comes_from_the_magic_bytes(content: bytes, expected: str | None) -> None:
    assert sniff_content_type(content) == expected


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\ram\\शिकायत पत्र.PDF", "application/pdf", "शिकायत पत्र.pdf"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("evil.exe", "image/png", "evil.exe.png"),
        ("a\x00b\r\n<script>.png", "image/png", "ab_script.png"),
        ("", "image/png", "attachment.png"),
        ("...", "application/pdf", "attachment.pdf"),
        ("x" * 500 + ".pdf", "application/pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_sanitised(name: str, content_type: str, expected: str) -> None:
    assert sanitise_file_name(name, content_type) == expected


@pytest.mark.parametrize(
    ("overrides", "field", "detail"),
    [
        ({"content": b""}, "content", "is required"),
        ({"content": b"%PDF-" + b"0" * ATTACHMENT_LIMIT}, "content", f"must be at most {ATTACHMENT_LIMIT} bytes"),
        ({"content": GIF_BYTES, "content_type": "image/gif"}, "content_type", "by its content"),
        ({"content": PDF_BYTES, "content_type": "image/png"}, "content_type", "content is application/pdf"),
        ({"purpose": "selfie"}, "purpose", "must be one of"),
        ({"actor": {}}, "actor.account_id", "is required"),
        ({"idempotency_key": "short"}, "idempotency_key", "8-128 characters"),
        ({"grievance_id": ""}, "grievance_id", "is required"),
    ],
)
def test_bad_uploads_name_the_field(overrides: dict[str, Any], field: str, detail: str) -> None:
    values = {"grievance_id": "case-1", **overrides}
    valid, violations = validate(upload(**values), AttachmentLimits(max_bytes=ATTACHMENT_LIMIT))
    assert valid is None
    assert [v.field for v in violations] == [field]
    assert detail in violations[0].description


def test_declared_type_may_be_empty_or_generic_and_aliases_are_folded() -> None:
    limits = AttachmentLimits()
    for declared in ("", "application/octet-stream", "IMAGE/JPG; q=1"):
        valid, violations = validate(upload("c", content=JPEG_BYTES, content_type=declared), limits)
        assert violations == []
        assert valid is not None
        assert valid.content_type == "image/jpeg"


def test_a_type_left_out_of_the_settings_is_refused() -> None:
    valid, violations = validate(upload("c", content=PNG_BYTES, content_type=""), AttachmentLimits(allowed_types=()))
    assert valid is None
    assert [v.field for v in violations] == ["content_type"]


# --- the use cases, on SQLite and PostgreSQL ------------------------------------------------------------------------


async def test_upload_list_and_download(intake: IntakeHarness, attachments: AttachmentService, tmp_path: Path) -> None:
    case_id = await new_case(intake)
    first = await attachments.add(upload(case_id, file_name="/tmp/जाँच रिपोर्ट.pdf"))
    second = await attachments.add(
        upload(case_id, content=PNG_BYTES, content_type="image/png", purpose="citizen_response", actor=CITIZEN)
    )
    assert first.file_name == "जाँच रिपोर्ट.pdf"
    assert first.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert first.size_bytes == len(PDF_BYTES)
    assert (first.purpose, first.uploaded_by_account_id, first.uploaded_by_position_id) == (
        "report",
        "acct-officer-1",
        "POS-FOOD-PAT-DSO",
    )
    assert second.file_name == "report.pdf.png"
    listed = await attachments.of_grievance(case_id)
    assert [a.id for a in listed] == [first.id, second.id]
    stored = await attachments.content(case_id, second.id)
    assert stored.content == PNG_BYTES
    assert stored.attachment.content_type == "image/png"
    # Content-addressed: the file is named by its digest.
    digest = hashlib.sha256(PNG_BYTES).hexdigest()
    assert (tmp_path / "blobs" / digest[:2] / digest[2:4] / digest).read_bytes() == PNG_BYTES


async def test_an_attachment_is_read_only_through_its_own_case(
    intake: IntakeHarness, attachments: AttachmentService
) -> None:
    case_a, case_b = await new_case(intake), await new_case(intake)
    added = await attachments.add(upload(case_a))
    with pytest.raises(NotFound):
        await attachments.content(case_b, added.id)
    assert await attachments.of_grievance(case_b) == []
    with pytest.raises(NotFound):
        await attachments.add(upload("no-such-case"))
    with pytest.raises(NotFound):
        await attachments.of_grievance("no-such-case")
    with pytest.raises(InvalidArgument):
        await attachments.content(case_a, "")


async def test_idempotency_key_returns_the_first_attachment(
    intake: IntakeHarness, attachments: AttachmentService
) -> None:
    case_id = await new_case(intake)
    first = await attachments.add(upload(case_id, idempotency_key="upload-0001"))
    again = await attachments.add(upload(case_id, idempotency_key="upload-0001"))
    assert again.id == first.id
    with pytest.raises(FailedPrecondition) as reused:
        await attachments.add(upload(case_id, idempotency_key="upload-0001", content=PDF_BYTES + b"%changed"))
    assert [v.field for v in reused.value.violations] == ["idempotency_key"]
    # Without a key every upload is its own attachment, though the same bytes are stored once.
    await attachments.add(upload(case_id))
    await attachments.add(upload(case_id))
    async with intake.sessions() as session:
        count = (await session.execute(text("select count(*) from attachments"))).scalar_one()
    assert count == 3


async def test_concurrent_retries_with_one_key_store_one_attachment(
    intake: IntakeHarness, attachments: AttachmentService
) -> None:
    case_id = await new_case(intake)
    results = await asyncio.gather(*(attachments.add(upload(case_id, idempotency_key="upload-race")) for _ in range(5)))
    assert len({r.id for r in results}) == 1
    async with intake.sessions() as session:
        count = (await session.execute(text("select count(*) from attachments"))).scalar_one()
    assert count == 1


async def test_local_store_reports_missing_content(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobMissing):
        await store.get("ab/cd/abcd")
    with pytest.raises(BlobMissing):
        await store.get("../outside")


# --- the S3 adapter, against a real S3 API (moto in server mode) ----------------------------------------------------

BUCKET = "nivaran-attachments-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def s3_store(endpoint: str) -> S3BlobStore:
    return S3BlobStore.connect(
        bucket=BUCKET,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        prefix="attachments/",
    )


async def test_s3_store_is_content_addressed(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    digest = hashlib.sha256(PNG_BYTES).hexdigest()
    key = await store.put(digest, PNG_BYTES, "image/png")
    assert key == f"attachments/{digest[:2]}/{digest[2:4]}/{digest}"
    assert await store.put(digest, PNG_BYTES, "image/png") == key
    assert await store.get(key) == PNG_BYTES
    head = store.client.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/png"
    with pytest.raises(BlobMissing):
        await store.get("attachments/00/00/missing")


async def test_attachments_on_s3(intake: IntakeHarness, s3_endpoint: str) -> None:
    service = AttachmentService(intake.sessions, s3_store(s3_endpoint))
    case_id = await new_case(intake)
    added = await service.add(upload(case_id, content=JPEG_BYTES, content_type="image/jpeg", file_name="scan"))
    assert added.file_name == "scan.jpg"
    assert added.storage_key.startswith("attachments/")
    stored = await service.content(case_id, added.id)
    assert stored.content == JPEG_BYTES
