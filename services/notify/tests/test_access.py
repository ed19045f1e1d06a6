"""C2: the dead letters and delivery receipts behind notify's real door (mutual TLS, verified tokens), and over gRPC:
status codes, field violations and masking."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from structlog.testing import capture_logs

from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.door import Door
from nivaran_common.errors import field_violations
from nivaran_common.grpc_server import ServerSecurity, build_server
from nivaran_common.testing import workload_tls
from nivaran_notify.access import RULES
from nivaran_notify.handlers import send_command_from_proto
from nivaran_notify.main import bindings
from nivaran_notify.service import NotifyService

from .test_handlers import send_request

Stub = notify_pb2_grpc.NotifyServiceStub
KEY = ECKey.generate_key("P-256", parameters={"kid": "notify-access", "alg": "ES256", "use": "sig"}, private=True)
STATE_ADMIN = {"sub": "acct-state-admin", "kind": "operator", "roles": ["operator", "STATE_ADMIN"]}
DM = {"sub": "acct-dm-pat", "kind": "officer", "roles": ["officer", "DM"], "positions": ["POS-PAT-DM"],
      "district": "PAT"}  # fmt: skip
CITIZEN = {"sub": "acct-citizen", "kind": "citizen", "phone": "+919876500031"}
SMS = [notify_pb2.DELIVERY_CHANNEL_SMS]


def bearer(claims: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    now = time.time()
    payload = {"iss": "nivaran-identity", "aud": "nivaran", "iat": int(now), "issued_ms": int(now * 1000),
               "exp": int(now) + 900, "jti": uuid.uuid4().hex, **claims}  # fmt: skip
    return (("authorization", f"Bearer {jwt.encode({'alg': 'ES256', 'kid': KEY.kid}, payload, KEY)}"),)


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error: grpc.aio.AioRpcError = caught.value
    return error


@dataclass
class Doorway:
    """Notify with its real access rules; `stub(workload)` calls it over mutual TLS as that workload."""

    port: int
    pki: Path
    service: NotifyService
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def stub(self, workload: str) -> Stub:
        credentials = workload_tls(self.pki, workload).channel_credentials()
        channel = grpc.aio.secure_channel(f"127.0.0.1:{self.port}", credentials)
        self.channels.append(channel)
        return notify_pb2_grpc.NotifyServiceStub(channel)


@pytest_asyncio.fixture
async def doorway(make_service: Any, http_receiver: Any, test_pki: Path) -> AsyncIterator[Doorway]:
    async def jwks() -> str:
        return json.dumps(KeySet([KEY]).as_dict(private=False))

    verifier = TokenVerifier(
        KeySetCache(jwks, max_age_seconds=300, min_refresh_seconds=0),
        issuer="nivaran-identity",
        audience="nivaran",
        algorithms=("ES256",),
        leeway_seconds=5,
    )
    service = await make_service(sms_provider_url=http_receiver.url("/sms"))
    security = ServerSecurity(workload_tls(test_pki, "notify"), Door(RULES, verifier))
    server, port, _ = await build_server(bindings(service), "127.0.0.1", 0, security)
    found = Doorway(port, test_pki, service)
    try:
        yield found
    finally:
        for channel in found.channels:
            await channel.close()
        await server.stop(None)


def test_C2_access_rules_of_the_dead_letters_and_receipts() -> None:
    service = notify_pb2.DESCRIPTOR.services_by_name["NotifyService"].full_name
    for name in ("ListFailedDeliveries", "RetryDelivery"):
        found = RULES[f"/{service}/{name}"]
        assert {w: n.value for w, n in found.callers.items()} == {"gateway": "user"}, name
        assert (found.scope, found.holders) == ("", frozenset({"STATE_ADMIN"})), name
    receipt = RULES[f"/{service}/RecordDeliveryReceipt"]
    assert {w: n.value for w, n in receipt.callers.items()} == {"gateway": "system"}
    assert (receipt.scope, receipt.holders) == ("", frozenset())


async def test_C2_a_state_admin_lists_and_retries_dead_letters_behind_the_door(
    doorway: Doorway, http_receiver: Any
) -> None:
    http_receiver.statuses[:] = [400]
    sent = await doorway.service.send(send_command_from_proto(send_request("ack:door", channels=SMS)))
    [sms] = sent.notice.deliveries
    gateway = doorway.stub("gateway")
    listing = notify_pb2.ListFailedDeliveriesRequest(channel="sms")
    retry = notify_pb2.RetryDeliveryRequest(delivery_id=sms.id)

    for call, expected in (
        (gateway.ListFailedDeliveries(listing, timeout=10), grpc.StatusCode.UNAUTHENTICATED),
        (gateway.RetryDelivery(retry, timeout=10), grpc.StatusCode.UNAUTHENTICATED),
        (gateway.ListFailedDeliveries(listing, metadata=bearer(DM), timeout=10), grpc.StatusCode.PERMISSION_DENIED),
        (gateway.RetryDelivery(retry, metadata=bearer(CITIZEN), timeout=10), grpc.StatusCode.PERMISSION_DENIED),
        (doorway.stub("sla-worker").RetryDelivery(retry, timeout=10), grpc.StatusCode.PERMISSION_DENIED),
        (
            doorway.stub("sla-worker").ListFailedDeliveries(listing, metadata=bearer(STATE_ADMIN), timeout=10),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
    ):
        assert (await refused(call)).code() == expected
    assert len(http_receiver.bodies("/sms")) == 1

    listed = await gateway.ListFailedDeliveries(listing, metadata=bearer(STATE_ADMIN), timeout=10)
    [row] = listed.deliveries
    assert (row.delivery_id, row.channel, row.recipient) == (sms.id, "sms", "+91XXXXXX1234")
    assert (row.dedupe_key, row.registration_number, row.grievance_id) == ("ack:door", "BR-PAT-2026-000777", "griev-77")
    assert row.attempts == 1
    assert "400" in row.last_error
    assert row.failed_at.seconds > 0
    assert "9876501234" not in str(listed)

    with capture_logs() as logs:
        view = await gateway.RetryDelivery(retry, metadata=bearer(STATE_ADMIN), timeout=10)

    assert (view.delivery_id, view.notice_id) == (sms.id, sent.notice.id)
    assert (view.channel, view.state) == (notify_pb2.DELIVERY_CHANNEL_SMS, notify_pb2.DELIVERY_STATE_SENT)
    assert (view.attempts, view.last_error, view.provider_message_id) == (2, "", "prov-2")
    assert view.sent_at.seconds > 0
    assert not view.HasField("next_attempt_at")
    [entry] = [e for e in logs if e["event"] == "delivery retry by operator"]
    assert entry["operator_account_id"] == "acct-state-admin"
    again = await refused(gateway.RetryDelivery(retry, metadata=bearer(STATE_ADMIN), timeout=10))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "SENT" in (again.details() or "")
    unknown = await refused(
        gateway.RetryDelivery(
            notify_pb2.RetryDeliveryRequest(delivery_id="no-such"), metadata=bearer(STATE_ADMIN), timeout=10
        )
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert len(http_receiver.bodies("/sms")) == 2


async def test_C2_the_gateway_relays_delivery_receipts_on_its_own_account(doorway: Doorway) -> None:
    sent = await doorway.service.send(send_command_from_proto(send_request("ack:door-receipt", channels=SMS)))
    [sms] = sent.notice.deliveries
    receipt = notify_pb2.RecordDeliveryReceiptRequest(channel="sms", provider_message_id="prov-1", status="delivered")
    receipt.at.GetCurrentTime()

    for workload in ("intake", "sla-worker", "stranger"):
        error = await refused(doorway.stub(workload).RecordDeliveryReceipt(receipt, timeout=10))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, workload

    gateway = doorway.stub("gateway")
    view = await gateway.RecordDeliveryReceipt(receipt, timeout=10)
    assert (view.delivery_id, view.state) == (sms.id, notify_pb2.DELIVERY_STATE_DELIVERED)
    assert view.delivered_at.seconds > 0
    assert await gateway.RecordDeliveryReceipt(receipt, timeout=10) == view

    bad = await refused(
        gateway.RecordDeliveryReceipt(
            notify_pb2.RecordDeliveryReceiptRequest(channel="sms", provider_message_id="prov-1", status="bounced"),
            timeout=10,
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(bad)] == ["status"]
    unknown = await refused(
        gateway.RecordDeliveryReceipt(
            notify_pb2.RecordDeliveryReceiptRequest(channel="sms", provider_message_id="prov-404", status="failed"),
            timeout=10,
        )
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND


async def test_C2_retry_on_a_server_without_a_door_is_refused(make_service: Any) -> None:
    server, port, _ = await build_server(bindings(await make_service()), "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            error = await refused(
                notify_pb2_grpc.NotifyServiceStub(channel).RetryDelivery(
                    notify_pb2.RetryDeliveryRequest(delivery_id="any"), timeout=10
                )
            )
    finally:
        await server.stop(None)

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
