"""S4 / H1: a service-delay complaint is allowed only for a notified service whose time limit has passed since the
application, with the application's number, date and status; refused with the day the limit ends otherwise. On
SQLite and PostgreSQL (the `intake` fixture runs on both). The fake router makes "-DELAY" categories notified
services with a 21-day limit on the rts_auto_appeal track. The application's acknowledgement (a PDF) is required,
checked like an attachment and stored as one of the new case, in the filing's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import InvalidArgument, field_violations
from nivaran_common.grpc_server import build_server
from nivaran_common.testing import ONE_BACKEND
from nivaran_intake import service as service_module
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.main import binding
from nivaran_intake.service_delay import ServiceApplication, india_today

from .conftest import ATTACHMENT_LIMIT, IntakeHarness
from .test_service import filing

ACKNOWLEDGEMENT = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


def delay(applied_days_ago: int, **changes: Any) -> ServiceApplication:
    applied = (india_today() - timedelta(days=applied_days_ago)).isoformat()
    fields = {
        "application_number": "RTPS/PAT/2026/004471",
        "applied_on": applied,
        "status": "pending at the CO",
        "acknowledgement_pdf": ACKNOWLEDGEMENT,
        "acknowledgement_file_name": "RTPS acknowledgement 004471.pdf",
    }
    return ServiceApplication(**{**fields, **changes})


def fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


async def test_S4_H1_a_delay_complaint_after_the_limit_runs_the_auto_appeal_track(intake: IntakeHarness) -> None:
    late = replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(22))
    row = (await intake.service.file(late)).grievance
    assert row.track == "rts_auto_appeal"
    assert row.service_application == {
        "application_number": "RTPS/PAT/2026/004471",
        "applied_on": (india_today() - timedelta(days=22)).isoformat(),
        "status": "pending at the CO",
    }
    assert intake.starter.started[-1].track == "rts_auto_appeal"


async def test_S4_a_complaint_within_the_limit_is_refused_with_the_day_it_ends(intake: IntakeHarness) -> None:
    # Applied 21 days ago: the 21-day limit ends today, so a delay can be complained of from tomorrow.
    early = replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(21))
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(early)
    assert fields(refused) == ["service_application.applied_on"]
    assert india_today().isoformat() in str(refused.value.violations[0].description)
    assert intake.starter.started == []


async def test_S4_the_application_is_required_checked_and_only_for_a_notified_service(intake: IntakeHarness) -> None:
    with pytest.raises(InvalidArgument) as missing:
        await intake.service.file(replace(filing(), category_code="REV-CERTIFICATE-DELAY"))
    assert fields(missing) == ["service_application"]
    bad = delay(30, application_number="x", applied_on="03/11/2026", status="")
    with pytest.raises(InvalidArgument) as malformed:
        await intake.service.file(replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=bad))
    assert sorted(fields(malformed)) == [
        "service_application.application_number",
        "service_application.applied_on",
        "service_application.status",
    ]
    future = delay(-3)
    with pytest.raises(InvalidArgument) as ahead:
        await intake.service.file(replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=future))
    assert fields(ahead) == ["service_application.applied_on"]
    with pytest.raises(InvalidArgument) as not_notified:
        await intake.service.file(replace(filing(), service_application=delay(40)))
    assert fields(not_notified) == ["service_application"]
    assert intake.starter.started == []


async def counts(intake: IntakeHarness) -> tuple[int, int]:
    async with intake.sessions() as session:
        cases = (await session.execute(text("select count(*) from grievances"))).scalar_one()
        files = (await session.execute(text("select count(*) from attachments"))).scalar_one()
    return int(cases), int(files)


async def test_S4_acknowledgement_pdf_required(intake: IntakeHarness) -> None:
    missing = replace(
        filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(22, acknowledgement_pdf=b"")
    )
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(missing)
    assert fields(refused) == ["service_application.acknowledgement_pdf"]
    description = refused.value.violations[0].description
    assert "S4" in description
    assert "पावती" in description
    assert await counts(intake) == (0, 0)
    assert intake.starter.started == []


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(64)), "application/pdf (by its content)"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32, "application/pdf (by its content)"),
        (b"not a pdf at all, only text", "application/pdf (by its content)"),
        (b"%PDF-1.4\n" + b"0" * ATTACHMENT_LIMIT, f"must be at most {ATTACHMENT_LIMIT} bytes"),
    ],
)
async def test_S4_acknowledgement_must_be_pdf(intake: IntakeHarness, content: bytes, detail: str) -> None:
    bad = replace(
        filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(22, acknowledgement_pdf=content)
    )
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(bad)
    assert fields(refused) == ["service_application.acknowledgement_pdf"]
    assert detail in refused.value.violations[0].description
    assert await counts(intake) == (0, 0)
    assert intake.starter.started == []


async def test_S4_acknowledgement_stored_as_attachment(intake: IntakeHarness) -> None:
    late = replace(filing("s4-ack-key-0001"), category_code="REV-CERTIFICATE-DELAY", service_application=delay(22))
    row = (await intake.service.file(late)).grievance
    stored = await intake.service.attachments.of_grievance(row.id)
    assert [(a.purpose, a.content_type, a.file_name, a.size_bytes) for a in stored] == [
        ("filing", "application/pdf", "RTPS acknowledgement 004471.pdf", len(ACKNOWLEDGEMENT))
    ]
    assert stored[0].uploaded_by_role == "citizen"
    assert (await intake.service.attachments.content(row.id, stored[0].id)).content == ACKNOWLEDGEMENT
    # The case's record keeps the application's details, never the file's bytes.
    assert row.service_application is not None
    assert set(row.service_application) == {"application_number", "applied_on", "status"}

    again = await intake.service.file(late)
    assert (again.grievance.id, again.created) == (row.id, False)
    assert await counts(intake) == (1, 1)


async def test_S4_a_filing_that_fails_leaves_neither_case_nor_acknowledgement(
    intake: IntakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object) -> None:
        raise RuntimeError("crashed before the commit")

    # The registration's timeline event is written last in the filing's transaction.
    monkeypatch.setattr(service_module, "timeline_event", crash)
    late = replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(22))
    with pytest.raises(RuntimeError):
        await intake.service.file(late)
    assert await counts(intake) == (0, 0)


@ONE_BACKEND
async def test_S4_acknowledgement_travels_with_the_filing_over_grpc(
    intake: IntakeHarness, attachments: AttachmentService
) -> None:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            application = intake_pb2.ServiceApplication(
                application_number="RTPS/PAT/2026/004471",
                applied_on=(india_today() - timedelta(days=22)).isoformat(),
                status="pending at the CO",
                acknowledgement_pdf=ACKNOWLEDGEMENT,
                acknowledgement_file_name="../../ack.PDF",
            )
            request = intake_pb2.FileGrievanceRequest(
                complainant=intake_pb2.Complainant(name="Ramesh Kumar", address="Danapur, Patna"),
                description="My caste certificate was not issued within the time limit.",
                category_code="REV-CERTIFICATE-DELAY",
                location=common_pb2.Location(district_code="PAT"),
                channel=intake_pb2.CHANNEL_WEB,
                service_application=application,
            )
            filed = await stub.FileGrievance(request)
            assert filed.grievance.service_application.application_number == "RTPS/PAT/2026/004471"
            assert filed.grievance.service_application.acknowledgement_pdf == b""
            listed = await stub.ListAttachments(intake_pb2.ListAttachmentsRequest(grievance_id=filed.grievance.id))
            assert [(a.purpose, a.file_name) for a in listed.attachments] == [("filing", "ack.pdf")]

            request.service_application.ClearField("acknowledgement_pdf")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.FileGrievance(request)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert [v.field for v in field_violations(refused.value)] == ["service_application.acknowledgement_pdf"]
    finally:
        await server.stop(None)
