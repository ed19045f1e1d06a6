"""Open311 API keys (issue 12): a state admin issues a key to an integrator, shown once and kept hashed; the gateway
verifies a presented key on each filing; a revoked key is refused from the next check on; nobody but a state admin
manages keys, and only the gateway's own call verifies one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from nivaran.identity.v1 import identity_pb2
from nivaran_common.db import session_factory
from nivaran_common.errors import field_violations
from nivaran_identity.tables import Open311KeyRow

from .conftest import Harness, HarnessFactory


async def admins(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_operator("admin.state", ["STATE_ADMIN"])
    await h.seed_operator("admin.food", ["DEPT_ADMIN"], department_code="FOOD")
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    return h


async def issue(h: Harness, by: str = "admin.state", rate: int = 0) -> identity_pb2.IssuedOpen311Key:
    return await h.stub.IssueOpen311Key(  # type: ignore[no-any-return]
        identity_pb2.IssueOpen311KeyRequest(
            integrator="FixMyStreet Patna (civic group)", requests_per_minute=rate, actor=h.actor(by)
        )
    )


async def test_a_state_admin_issues_a_key_shown_once_and_kept_hashed(make_identity: HarnessFactory) -> None:
    h = await admins(make_identity)

    issued = await issue(h, rate=120)

    assert issued.api_key.startswith("nvok_")
    assert len(issued.api_key) >= 45
    key = issued.key
    assert (key.integrator, key.requests_per_minute, key.active) == ("FixMyStreet Patna (civic group)", 120, True)
    assert key.key_prefix == issued.api_key[:9]
    assert key.created_by_account_id == h.accounts["admin.state"]
    async with session_factory(h.engine)() as session:
        row = (await session.execute(select(Open311KeyRow).where(Open311KeyRow.id == key.id))).scalar_one()
    assert row.key_hash == hashlib.sha256(issued.api_key.encode()).hexdigest()
    listed = await h.stub.ListOpen311Keys(identity_pb2.ListOpen311KeysRequest(actor=h.actor("admin.state")))
    assert [k.id for k in listed.keys] == [key.id]
    assert issued.api_key not in str(listed)
    assert (await issue(h)).key.requests_per_minute == 60


async def test_the_gateway_verifies_a_key_and_a_revoked_key_is_refused_at_the_next_check(
    make_identity: HarnessFactory,
) -> None:
    h = await admins(make_identity)
    issued = await issue(h)
    other = await issue(h)

    verified = await h.stub.VerifyOpen311Key(identity_pb2.VerifyOpen311KeyRequest(api_key=issued.api_key))
    revoked = await h.stub.RevokeOpen311Key(
        identity_pb2.RevokeOpen311KeyRequest(key_id=issued.key.id, actor=h.actor("admin.state"))
    )

    assert verified.id == issued.key.id
    assert not revoked.active
    assert revoked.HasField("revoked_at")
    assert revoked.revoked_by_account_id == h.accounts["admin.state"]
    for presented in (issued.api_key, issued.api_key[:-1] + "x", "", "nvok_unknown"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await h.stub.VerifyOpen311Key(identity_pb2.VerifyOpen311KeyRequest(api_key=presented))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    still = await h.stub.VerifyOpen311Key(identity_pb2.VerifyOpen311KeyRequest(api_key=other.api_key))
    assert still.id == other.key.id
    again = await h.stub.RevokeOpen311Key(
        identity_pb2.RevokeOpen311KeyRequest(key_id=issued.key.id, actor=h.actor("admin.state"))
    )
    assert again.revoked_at == revoked.revoked_at


async def test_only_a_state_admin_manages_keys(make_identity: HarnessFactory) -> None:
    h = await admins(make_identity)
    issued = await issue(h)

    for by in ("admin.food", "dm.patna"):
        for attempt in (
            issue(h, by),
            h.stub.ListOpen311Keys(identity_pb2.ListOpen311KeysRequest(actor=h.actor(by))),
            h.stub.RevokeOpen311Key(identity_pb2.RevokeOpen311KeyRequest(key_id=issued.key.id, actor=h.actor(by))),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await attempt
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, by
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await h.stub.RevokeOpen311Key(
            identity_pb2.RevokeOpen311KeyRequest(key_id="no-such-key", actor=h.actor("admin.state"))
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_integrator_and_rate_are_validated(make_identity: HarnessFactory) -> None:
    h = await admins(make_identity)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await h.stub.IssueOpen311Key(
            identity_pb2.IssueOpen311KeyRequest(integrator=" ", requests_per_minute=-1, actor=h.actor("admin.state"))
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(refused.value)] == ["integrator", "requests_per_minute"]


async def test_only_the_gateway_on_its_own_account_verifies_a_key(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await admins(make_identity)
    issued = await issue(h)
    gateway = await h.behind_door(test_pki, "gateway")
    department = await h.behind_door(test_pki, "dept-test")
    request = identity_pb2.VerifyOpen311KeyRequest(api_key=issued.api_key)

    verified = await gateway.VerifyOpen311Key(request)

    assert verified.id == issued.key.id
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await department.VerifyOpen311Key(request)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous_admin_act:
        await gateway.ListOpen311Keys(identity_pb2.ListOpen311KeysRequest(actor=h.actor("admin.state")))
    assert anonymous_admin_act.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
