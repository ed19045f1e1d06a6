"""The intake gRPC surface: INVALID_ARGUMENT with field violations, masked reads, NOT_FOUND."""

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.errors import field_violations
from nivaran_common.grpc_server import build_server
from nivaran_intake.main import binding

from .conftest import IntakeHarness


@pytest_asyncio.fixture
async def stub(intake: IntakeHarness) -> AsyncIterator[intake_pb2_grpc.IntakeServiceStub]:
    server, port, _ = await build_server([binding(intake.service)], "127.0.0.1", 0)
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


async def test_unimplemented_methods_say_so(stub: intake_pb2_grpc.IntakeServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SubmitFeedback(intake_pb2.SubmitFeedbackRequest())
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
