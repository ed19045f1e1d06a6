"""NotifyService over an in-process gRPC server: conversions, status codes and field violations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.header import decode_header, make_header
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nivaran.common.v1 import common_pb2
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.errors import field_violations
from nivaran_common.grpc_server import build_server
from nivaran_common.testing import ONE_BACKEND
from nivaran_notify.main import bindings

# What these tests prove does not depend on the database (the store's queries run on both backends in the
# store and service tests), so one backend is enough here (nivaran_common.testing.ONE_BACKEND).
pytestmark = ONE_BACKEND

REGISTRATION = "BR-PAT-2026-000777"
ACK_PARAMS: dict[str, Any] = {
    "registration_number": REGISTRATION,
    "complainant_name": "Ramesh Kumar",
    "filed_at": "2026-11-23T18:45:00+00:00",
    "category_name_en": "Ration card",
    "category_name_hi": "राशन कार्ड",
    "office_name_en": "Block Office, Bihta",
    "office_name_hi": "प्रखंड कार्यालय, बिहटा",
    "position_title_en": "Block Supply Officer",
    "position_title_hi": "प्रखंड आपूर्ति पदाधिकारी",
}


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def send_request(dedupe_key: str = "ack:grpc", **changes: Any) -> notify_pb2.SendRequest:
    values: dict[str, Any] = {
        "dedupe_key": dedupe_key,
        "template": "acknowledgement",
        "recipient": notify_pb2.Recipient(
            account_id="acct-ramesh",
            name="Ramesh Kumar",
            email="ramesh.kumar@example.in",
            phone="9876501234",
            preferred_language="en-IN",
            kind="citizen",
        ),
        "channels": [notify_pb2.DELIVERY_CHANNEL_IN_APP, notify_pb2.DELIVERY_CHANNEL_EMAIL],
        "params": struct(ACK_PARAMS),
        "grievance_id": "griev-77",
        "registration_number": REGISTRATION,
    }
    return notify_pb2.SendRequest(**(values | changes))


@pytest_asyncio.fixture
async def stub(make_service: Any, smtp_server: Any) -> AsyncIterator[notify_pb2_grpc.NotifyServiceStub]:
    service = await make_service(smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    server, port, _ = await build_server(bindings(service), "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield notify_pb2_grpc.NotifyServiceStub(channel)
    finally:
        await server.stop(None)


async def test_B5_send_over_grpc_acknowledges_by_email_and_in_app(
    stub: notify_pb2_grpc.NotifyServiceStub, smtp_server: Any
) -> None:
    response = await stub.Send(send_request())

    assert response.duplicate is False
    notice = response.notice
    assert notice.registration_number == REGISTRATION
    assert notice.grievance_id == "griev-77"
    assert notice.recipient_account_id == "acct-ramesh"
    assert "आपकी शिकायत दर्ज कर ली गई है।" in notice.body.hi
    assert "Your grievance has been registered." in notice.body.en
    # 18:45 UTC on the 23rd is 00:15 IST on the 24th.
    assert "24-11-2026 00:15 IST" in notice.body.en
    assert notice.created_at.seconds > 0
    by_channel = {d.channel: d for d in notice.deliveries}
    assert by_channel[notify_pb2.DELIVERY_CHANNEL_IN_APP].state == notify_pb2.DELIVERY_STATE_DELIVERED
    assert by_channel[notify_pb2.DELIVERY_CHANNEL_IN_APP].delivered_at.seconds > 0
    assert not by_channel[notify_pb2.DELIVERY_CHANNEL_IN_APP].HasField("read_at")
    email = by_channel[notify_pb2.DELIVERY_CHANNEL_EMAIL]
    assert email.state == notify_pb2.DELIVERY_STATE_SENT
    assert email.address == "r***@example.in"
    assert email.attempts == 1

    message = await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
    assert "ramesh.kumar@example.in" in message["To"]
    # "en-IN" reads as English, so English leads.
    assert str(make_header(decode_header(message["Subject"]))).startswith("Acknowledgement")

    again = await stub.Send(send_request())
    assert again.duplicate is True
    assert again.notice.id == notice.id
    assert len(smtp_server.mail.messages) == 1

    status = await stub.GetDeliveryStatus(notify_pb2.GetDeliveryStatusRequest(dedupe_key="ack:grpc"))
    assert status.notice.id == notice.id


async def test_S16_mark_notice_read_over_grpc_sets_read_at_once(stub: notify_pb2_grpc.NotifyServiceStub) -> None:
    sent = await stub.Send(send_request("ack:read", channels=[notify_pb2.DELIVERY_CHANNEL_IN_APP]))
    actor = common_pb2.Actor(account_id="acct-ramesh", role="citizen")

    unread = await stub.ListNotices(notify_pb2.ListNoticesRequest(recipient_account_id="acct-ramesh", unread_only=True))
    assert [n.id for n in unread.notices] == [sent.notice.id]

    first = await stub.MarkNoticeRead(notify_pb2.MarkNoticeReadRequest(notice_id=sent.notice.id, actor=actor))
    second = await stub.MarkNoticeRead(notify_pb2.MarkNoticeReadRequest(notice_id=sent.notice.id, actor=actor))

    [delivery] = first.deliveries
    assert delivery.state == notify_pb2.DELIVERY_STATE_READ
    assert delivery.read_at.seconds > 0
    assert second.deliveries[0].read_at == delivery.read_at
    unread = await stub.ListNotices(notify_pb2.ListNoticesRequest(recipient_account_id="acct-ramesh", unread_only=True))
    assert list(unread.notices) == []
    by_grievance = await stub.ListNotices(notify_pb2.ListNoticesRequest(grievance_id="griev-77"))
    assert [n.id for n in by_grievance.notices] == [sent.notice.id]


async def test_marking_someone_elses_notice_is_denied(stub: notify_pb2_grpc.NotifyServiceStub) -> None:
    sent = await stub.Send(send_request("ack:other", channels=[notify_pb2.DELIVERY_CHANNEL_IN_APP]))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.MarkNoticeRead(
            notify_pb2.MarkNoticeReadRequest(notice_id=sent.notice.id, actor=common_pb2.Actor(account_id="acct-x"))
        )

    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _without(name: str) -> struct_pb2.Struct:
    return struct({k: v for k, v in ACK_PARAMS.items() if k != name})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"template": "no_such_template"}, "template"),
        ({"channels": []}, "channels"),
        ({"channels": [notify_pb2.DELIVERY_CHANNEL_UNSPECIFIED]}, "channels[0]"),
        ({"params": _without("complainant_name")}, "params.complainant_name"),
        ({"params": _without("category_name_hi")}, "params.category_name_hi"),
        ({"dedupe_key": ""}, "dedupe_key"),
        (
            {"recipient": notify_pb2.Recipient(account_id="a", email="ramesh@", preferred_language="hi")},
            "recipient.email",
        ),
        ({"recipient": notify_pb2.Recipient(account_id="a", preferred_language="fr")}, "recipient.preferred_language"),
        ({"recipient": notify_pb2.Recipient(account_id="a", kind="robot")}, "recipient.kind"),
        ({"recipient": notify_pb2.Recipient(account_id="a", phone="555-0100")}, "recipient.phone"),
    ],
)
async def test_bad_send_is_invalid_argument_naming_the_field(
    stub: notify_pb2_grpc.NotifyServiceStub, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Send(send_request(**({"dedupe_key": "ack:bad"} | changes)))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in {v.field for v in field_violations(caught.value)}


async def test_unknown_dedupe_key_is_not_found_and_empty_one_invalid(stub: notify_pb2_grpc.NotifyServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetDeliveryStatus(notify_pb2.GetDeliveryStatusRequest(dedupe_key="never-sent"))
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await stub.GetDeliveryStatus(notify_pb2.GetDeliveryStatusRequest())
    with pytest.raises(grpc.aio.AioRpcError) as unknown_notice:
        await stub.MarkNoticeRead(notify_pb2.MarkNoticeReadRequest(notice_id="no-such-notice"))

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(empty.value)] == ["dedupe_key"]
    assert unknown_notice.value.code() == grpc.StatusCode.NOT_FOUND


async def test_list_notices_without_a_filter_is_invalid(stub: notify_pb2_grpc.NotifyServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListNotices(notify_pb2.ListNoticesRequest(unread_only=True))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["grievance_id"]


async def test_list_templates_names_both_templates_bilingually(stub: notify_pb2_grpc.NotifyServiceStub) -> None:
    response = await stub.ListTemplates(notify_pb2.ListTemplatesRequest())

    templates = {t.code: t for t in response.templates}
    assert {"acknowledgement", "case_assigned"} <= set(templates)
    acknowledgement = templates["acknowledgement"]
    assert acknowledgement.subject.hi == "शिकायत की पावती (प्रपत्र-2)"
    assert acknowledgement.subject.en == "Acknowledgement of a grievance (Form-2)"
    assert acknowledgement.dlt_template_id
    assert notify_pb2.DELIVERY_CHANNEL_SMS in acknowledgement.channels


async def test_health_serves(make_service: Any) -> None:
    server, port, _ = await build_server(bindings(await make_service()), "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="nivaran.notify.v1.NotifyService")
            )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(None)
