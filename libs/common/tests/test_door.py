"""The door (nivaran_common.door) on a real gRPC server over mutual TLS, with real revocation records in Redis:
who gets in, who is refused, and how the request's actor is bound to the verified token."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.door import Door, Need, Rule, current_caller, rule
from nivaran_common.grpc_server import ServerSecurity, ServiceBinding, build_server
from nivaran_common.redis import create_redis
from nivaran_common.revocation import Revocations
from nivaran_common.testing import workload_tls

KEY = ECKey.generate_key("P-256", parameters={"kid": "door-test", "alg": "ES256", "use": "sig"}, private=True)
SERVICE = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name
RULES: dict[str, Rule] = {
    f"/{SERVICE}/RecordTransition": rule(user=("gateway",), system=("sla-worker",), scope="grievances.file"),
    f"/{SERVICE}/GetTimeline": rule(user=("gateway",), holders=("DM",)),
}
OFFICER = {"sub": "acct-officer", "kind": "officer", "roles": ["officer", "L1"], "positions": ["pos-l1"]}
DM = {"sub": "acct-dm", "kind": "officer", "roles": ["officer", "DM"], "positions": ["pos-dm"], "district": "PAT"}
CLIENT = {"sub": "client-food", "kind": "client", "department": "FOOD", "scopes": ["grievances.file"]}


def mint(claims: dict[str, Any], **overrides: Any) -> str:
    now = time.time()
    payload = {
        "iss": "nivaran-identity",
        "aud": "nivaran",
        "iat": int(now),
        "issued_ms": int(now * 1000),
        "exp": int(now) + 900,
        "jti": uuid.uuid4().hex,
        **claims,
        **overrides,
    }
    return jwt.encode({"alg": "ES256", "kid": KEY.kid}, payload, KEY)


class Echo(intake_pb2_grpc.IntakeServiceServicer):
    """Answers with what the door let through: the workload, the verified account and the bound actor."""

    async def RecordTransition(self, request: Any, context: Any) -> Any:  # noqa: N802
        caller = current_caller()
        assert caller is not None
        account = caller.principal.account_id if caller.principal else "-"
        event = intake_pb2.TimelineEvent(
            summary=common_pb2.LocalizedText(en=f"{caller.workload}|{account}"), actor=request.actor
        )
        return intake_pb2.RecordTransitionResponse(event=event)

    async def GetTimeline(self, request: Any, context: Any) -> Any:  # noqa: N802
        return intake_pb2.GetTimelineResponse()


@dataclass
class Rig:
    port: int
    pki: Path
    revocations: Revocations

    def stub(self, workload: str) -> Any:
        if workload == "-":
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        else:
            folder = self.pki / "rogue" if workload == "rogue" else self.pki
            tls = workload_tls(folder, "gateway" if workload == "rogue" else workload)
            channel = grpc.aio.secure_channel(f"127.0.0.1:{self.port}", tls.channel_credentials())
        return intake_pb2_grpc.IntakeServiceStub(channel)

    async def record(
        self, workload: str, token: str = "", actor: common_pb2.Actor | None = None
    ) -> intake_pb2.RecordTransitionResponse:
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        request = intake_pb2.RecordTransitionRequest(grievance_id="g-1", actor=actor)
        answer: intake_pb2.RecordTransitionResponse = await self.stub(workload).RecordTransition(
            request, metadata=metadata, timeout=5
        )
        return answer


async def refused(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    code: grpc.StatusCode = caught.value.code()
    return code


@pytest_asyncio.fixture
async def rig(test_pki: Path, redis_url: str, key_prefix: str) -> AsyncIterator[Rig]:
    redis = create_redis(redis_url)
    revocations = Revocations(redis, f"{key_prefix}revoked:")

    async def jwks() -> str:
        return json.dumps(KeySet([KEY]).as_dict(private=False))

    verifier = TokenVerifier(
        KeySetCache(jwks, max_age_seconds=300, min_refresh_seconds=0),
        issuer="nivaran-identity",
        audience="nivaran",
        algorithms=("ES256",),
        leeway_seconds=5,
        revocations=revocations,
    )
    security = ServerSecurity(workload_tls(test_pki, "intake"), Door(RULES, verifier))
    binding = ServiceBinding(intake_pb2_grpc.add_IntakeServiceServicer_to_server, Echo(), SERVICE)
    server, port, _ = await build_server([binding], "127.0.0.1", 0, security)
    try:
        yield Rig(port, test_pki, revocations)
    finally:
        await server.stop(None)
        keys = [key async for key in redis.scan_iter(match=f"{key_prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_a_caller_without_a_certificate_of_the_suites_ca_never_gets_a_connection(rig: Rig) -> None:
    for workload in ("-", "rogue"):
        assert await refused(rig.record(workload, mint(OFFICER))) is grpc.StatusCode.UNAVAILABLE


async def test_a_workload_the_rpc_does_not_name_is_refused_whatever_token_it_carries(rig: Rig) -> None:
    for workload in ("notify", "stranger", "sla"):
        assert await refused(rig.record(workload, mint(DM))) is grpc.StatusCode.PERMISSION_DENIED


async def test_a_user_call_needs_a_valid_token_and_a_system_call_does_not(rig: Rig) -> None:
    assert await refused(rig.record("gateway")) is grpc.StatusCode.UNAUTHENTICATED
    assert await refused(rig.record("gateway", "not.a.jwt")) is grpc.StatusCode.UNAUTHENTICATED
    expired = mint(OFFICER, exp=int(time.time()) - 60)
    assert await refused(rig.record("gateway", expired)) is grpc.StatusCode.UNAUTHENTICATED
    assert (await rig.record("sla-worker")).event.summary.en == "sla-worker|-"
    assert (await rig.record("gateway", mint(OFFICER))).event.summary.en == "gateway|acct-officer"


async def test_the_actor_is_filled_from_the_token_and_a_forged_one_is_refused(rig: Rig) -> None:
    token = mint(OFFICER)
    bound = (await rig.record("gateway", token, common_pb2.Actor())).event.actor
    assert (bound.account_id, bound.role, bound.position_id) == ("acct-officer", "L1", "pos-l1")
    for forged in (
        common_pb2.Actor(account_id="acct-dm", role="DM"),
        common_pb2.Actor(account_id="acct-officer", role="DM"),
        common_pb2.Actor(account_id="acct-officer", position_id="pos-dm"),
        common_pb2.Actor(account_id="acct-officer", on_behalf_of_account_id="acct-dm"),
    ):
        assert await refused(rig.record("gateway", token, forged)) is grpc.StatusCode.PERMISSION_DENIED
    # A delegate (S17) acts in the delegator's post, for the delegator; without the delegation it may not.
    delegate = {"sub": "acct-nodal", "kind": "operator", "roles": ["SAHYOG_NODAL"], "district": "PAT"}
    in_the_dm_post = common_pb2.Actor(role="DM", position_id="pos-dm", on_behalf_of_account_id="acct-dm")
    acting = mint({**delegate, "acting_for": "acct-dm", "powers": ["transfers.decide"]})
    bound = (await rig.record("gateway", acting, in_the_dm_post)).event.actor
    assert (bound.account_id, bound.role, bound.on_behalf_of_account_id) == ("acct-nodal", "DM", "acct-dm")
    assert await refused(rig.record("gateway", mint(delegate), in_the_dm_post)) is grpc.StatusCode.PERMISSION_DENIED
    # A system workload (the lifecycle) records the actor it was given: the officer who acted earlier.
    recorded = (await rig.record("sla-worker", actor=common_pb2.Actor(account_id="acct-dm"))).event.actor
    assert recorded.account_id == "acct-dm"


async def test_an_rpc_for_certain_roles_refuses_the_rest(rig: Rig) -> None:
    stub = rig.stub("gateway")

    def timeline(claims: dict[str, Any]) -> Any:
        return stub.GetTimeline(
            intake_pb2.GetTimelineRequest(grievance_id="g-1"),
            metadata=(("authorization", f"Bearer {mint(claims)}"),),
            timeout=5,
        )

    assert await refused(timeline(OFFICER)) is grpc.StatusCode.PERMISSION_DENIED
    await timeline(DM)
    # An RPC with no rule at all is refused to everyone.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetDashboard(intake_pb2.GetDashboardRequest(), timeout=5)
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_revocation_takes_effect_on_the_very_next_call(rig: Rig) -> None:
    token, jti = mint(OFFICER, jti="jti-logout"), "jti-logout"
    await rig.record("gateway", token)
    await rig.revocations.revoke_token(jti, time.time() + 900)
    assert await refused(rig.record("gateway", token)) is grpc.StatusCode.UNAUTHENTICATED

    older = mint(DM)
    await rig.record("gateway", older)
    await rig.revocations.revoke_account("acct-dm", 900)
    assert await refused(rig.record("gateway", older)) is grpc.StatusCode.UNAUTHENTICATED
    # A token issued after the cut-off carries what is true now, and is accepted.
    newer = mint(DM, issued_ms=int(time.time() * 1000) + 5)
    assert (await rig.record("gateway", newer)).event.summary.en == "gateway|acct-dm"


async def test_a_department_system_calls_only_with_its_own_client_token_and_scope(rig: Rig) -> None:
    assert await refused(rig.record("dept-test")) is grpc.StatusCode.UNAUTHENTICATED
    # A person's token presented by a department system, or a client token by the gateway: both refused.
    assert await refused(rig.record("dept-test", mint(DM))) is grpc.StatusCode.PERMISSION_DENIED
    assert await refused(rig.record("gateway", mint(CLIENT))) is grpc.StatusCode.PERMISSION_DENIED
    no_scope = mint({**CLIENT, "scopes": ["grievances.read"]})
    assert await refused(rig.record("dept-test", no_scope)) is grpc.StatusCode.PERMISSION_DENIED
    answer = await rig.record("dept-test", mint(CLIENT), common_pb2.Actor())
    assert answer.event.summary.en == "dept-test|client-food"
    assert (answer.event.actor.account_id, answer.event.actor.role) == ("client-food", "client")


def test_a_rule_names_what_each_workload_must_bring() -> None:
    found = rule(user=("gateway",), system=("sla-worker",), scope="x")
    assert found.need_of("gateway") is Need.USER
    assert found.need_of("sla-worker") is Need.SYSTEM
    assert found.need_of("dept-anything") is Need.USER
    assert found.need_of("notify") is None
    assert rule(user=("gateway",)).need_of("dept-anything") is None
