"""The intake gRPC surface: INVALID_ARGUMENT with field violations, masked reads, NOT_FOUND."""

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.blobstore import LocalBlobStore
from nivaran_common.errors import field_violations
from nivaran_common.grpc_client import open_channel
from nivaran_common.grpc_server import build_server
from nivaran_common.testing import ONE_BACKEND
from nivaran_intake.attachments import AttachmentLimits, AttachmentService
from nivaran_intake.main import binding

from .conftest import IntakeHarness

# What these tests prove does not depend on the database (the store's queries run on both backends in the
# store and service tests), so one backend is enough here (nivaran_common.testing.ONE_BACKEND).
pytestmark = ONE_BACKEND


@pytest_asyncio.fixture
async def stub(
    intake: IntakeHarness, attachments: AttachmentService
) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)
    await server.stop(None)


def request(**complainant: str) -> intake_pb2.FileGrievanceRequest:
    fields = {"name": "Ramesh Kumar", "address": "Danapur, Patna", **complainant}
    return intake_pb2.FileGrievanceRequest(
        complainant=intake_pb2.Complainant(**fields),
        description="The hand pump in ward 4 has been broken for a month.",
        category_code="FOOD-RATION-CARD",
        location=common_pb2.Location(district_code="PAT"),
        channel=intake_pb2.CHANNEL_WEB,
    )


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (request(aadhaar="234123412345"), "complainant.aadhaar"),
        (request(phone="555"), "complainant.phone"),
        (request(name=""), "complainant.name"),
        (intake_pb2.FileGrievanceRequest(), "complainant.name"),
        (request(email="x@"), "complainant.email"),
    ],
)
async def test_bad_filings_answer_invalid_argument_with_the_field(
    stub: intake_pb2_grpc.IntakeServiceStub, bad: intake_pb2.FileGrievanceRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.FileGrievance(bad)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in {v.field for v in field_violations(caught.value)}


async def test_routing_violations_pass_through(stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    bad = request()
    bad.category_code = "UNKNOWN"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.FileGrievance(bad)
    assert [v.field for v in field_violations(caught.value)] == ["category_code"]


async def test_reads_mask_phone_and_aadhaar(stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    filed = await stub.FileGrievance(request(phone="9876543210", aadhaar="234123412346"))
    got = await stub.GetGrievance(
        intake_pb2.GetGrievanceRequest(registration_number=filed.grievance.registration_number)
    )
    assert got.complainant.phone == "+91XXXXXX3210"
    assert got.complainant.aadhaar == "XXXX-XXXX-2346"
    assert got.status == intake_pb2.STATUS_REGISTERED
    timeline = await stub.GetTimeline(intake_pb2.GetTimelineRequest(grievance_id=got.id))
    assert [e.event_type for e in timeline.events] == ["registered"]


async def test_unknown_and_malformed_registration_numbers(stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetGrievance(intake_pb2.GetGrievanceRequest(registration_number="BR-PAT-2026-0000001-3"))
    assert missing.value.code() in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}
    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await stub.GetGrievance(intake_pb2.GetGrievanceRequest(registration_number="42"))
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(malformed.value)] == ["registration_number"]


DECOMPOSED_QA, PRECOMPOSED_QA = "\u0915\u093c", "\u0958"  # क़ as KA + NUKTA, and as the single (excluded) code point


async def test_nukta_precomposed_and_decomposed_are_stored_alike_and_found_by_either(
    stub: intake_pb2_grpc.IntakeServiceStub,
) -> None:
    filings = []
    for qa in (PRECOMPOSED_QA, DECOMPOSED_QA):
        filing = request(name=f"{qa}ासिम अंसारी", address=f"{qa}ाज़ीपुर टोला, दानापुर")
        filing.subject = f"{qa}ानूनगो रिपोर्ट"
        filing.description = f"{qa}ानूनगो की रिपोर्ट दो महीने से लंबित है, कृपया कार्रवाई करें।"
        filing.expected_resolution = f"{qa}ानूनगो रिपोर्ट भेजें"
        filings.append(await stub.FileGrievance(filing))

    for filed in filings:
        got = await stub.GetGrievance(intake_pb2.GetGrievanceRequest(id=filed.grievance.id))
        assert got.subject == f"{DECOMPOSED_QA}ानूनगो रिपोर्ट"
        assert got.description.startswith(f"{DECOMPOSED_QA}ानूनगो की रिपोर्ट")
        assert got.expected_resolution == f"{DECOMPOSED_QA}ानूनगो रिपोर्ट भेजें"
        assert got.complainant.name == f"{DECOMPOSED_QA}ासिम अंसारी"
        assert got.complainant.address.startswith(f"{DECOMPOSED_QA}ा")
        assert PRECOMPOSED_QA not in got.subject + got.description + got.complainant.name

    ids = {f.grievance.id for f in filings}
    for qa in (PRECOMPOSED_QA, DECOMPOSED_QA):
        found = await stub.ListGrievances(intake_pb2.ListGrievancesRequest(district_code="PAT", query=f"{qa}ानूनगो की"))
        assert ids <= {g.id for g in found.grievances}, qa


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_attachments_round_trip_over_grpc(stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    filed = await stub.FileGrievance(request())
    case_id = filed.grievance.id
    add = intake_pb2.AddAttachmentRequest(
        grievance_id=case_id,
        file_name="../../etc/फोटो.png",
        content_type="image/png",
        content=PNG_BYTES,
        purpose="citizen_response",
        actor=common_pb2.Actor(account_id="acct-1", role="citizen"),
        idempotency_key="upload-key-0001",
    )
    added = await stub.AddAttachment(add)
    assert added.file_name == "फोटो.png"
    assert added.content_type == "image/png"
    assert added.size_bytes == len(PNG_BYTES)
    assert added.purpose == "citizen_response"
    assert added.uploaded_by.account_id == "acct-1"
    assert added.HasField("created_at")
    assert (await stub.AddAttachment(add)).id == added.id
    listed = await stub.ListAttachments(intake_pb2.ListAttachmentsRequest(grievance_id=case_id))
    assert [a.id for a in listed.attachments] == [added.id]
    got = await stub.GetAttachmentContent(
        intake_pb2.GetAttachmentContentRequest(grievance_id=case_id, attachment_id=added.id)
    )
    assert got.content == PNG_BYTES
    assert got.attachment.sha256 == added.sha256


async def test_attachment_errors_name_the_field(stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    filed = await stub.FileGrievance(request())
    with pytest.raises(grpc.aio.AioRpcError) as bad_type:
        await stub.AddAttachment(
            intake_pb2.AddAttachmentRequest(
                grievance_id=filed.grievance.id,
                file_name="x.png",
                content=b"GIF89a" + b"\x00" * 16,
                purpose="report",
                actor=common_pb2.Actor(account_id="acct-officer"),
            )
        )
    assert bad_type.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(bad_type.value)] == ["content_type"]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetAttachmentContent(
            intake_pb2.GetAttachmentContentRequest(grievance_id=filed.grievance.id, attachment_id="nope")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as unknown_case:
        await stub.ListAttachments(intake_pb2.ListAttachmentsRequest(grievance_id="no-such-case"))
    assert unknown_case.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_file_at_the_default_limit_travels_both_ways_through_the_services_channel(
    intake: IntakeHarness, tmp_path: Path
) -> None:
    # Over gRPC's 4 MiB default receive limit, within intake's default 5 MiB: the channel every service and the
    # gateway open (nivaran_common.grpc_client) carries it up and back down.
    service = AttachmentService(intake.sessions, LocalBlobStore(tmp_path / "blobs"), AttachmentLimits())
    content = b"%PDF-1.7\n" + b"0" * (AttachmentLimits().max_bytes - 64) + b"\n%%EOF\n"
    server, port, _ = await build_server([binding(intake.service, service)], "127.0.0.1", 0)
    try:
        async with open_channel(f"127.0.0.1:{port}", None) as channel:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            filed = await stub.FileGrievance(request())
            added = await stub.AddAttachment(
                intake_pb2.AddAttachmentRequest(
                    grievance_id=filed.grievance.id,
                    file_name="जाँच प्रतिवेदन.pdf",
                    content_type="application/pdf",
                    content=content,
                    purpose="report",
                    actor=common_pb2.Actor(account_id="acct-officer", role="officer"),
                    idempotency_key="upload-big-0001",
                )
            )
            got = await stub.GetAttachmentContent(
                intake_pb2.GetAttachmentContentRequest(grievance_id=filed.grievance.id, attachment_id=added.id)
            )
    finally:
        await server.stop(None)

    assert len(content) > 4 * 1024 * 1024
    assert added.size_bytes == len(content)
    assert got.content == content
