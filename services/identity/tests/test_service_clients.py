"""Department clients: who may make them and for which department, the secret shown once and kept hashed, the
token exchange over mutual TLS as a department workload (right and wrong secrets, audited), and disabling, which
refuses new tokens and revokes the ones issued."""

from __future__ import annotations

import hashlib
from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran_common.db import session_factory
from nivaran_common.errors import field_violations
from nivaran_identity.domain import CLIENT_SCOPES
from nivaran_identity.tables import ServiceClientRow

from .conftest import Harness, HarnessFactory


async def admins(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_operator("admin.state", ["STATE_ADMIN"])
    await h.seed_operator("admin.food", ["DEPT_ADMIN"], department_code="FOOD")
    await h.seed_operator("admin.it", ["DEPT_ADMIN"], department_code="IT")
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    return h


async def create(
    h: Harness, by: str, department: str = "FOOD", scopes: tuple[str, ...] = ("grievances.file", "grievances.read")
) -> identity_pb2.CreatedServiceClient:
    return await h.stub.CreateServiceClient(  # type: ignore[no-any-return]
        identity_pb2.CreateServiceClientRequest(
            name="PDS ration-card system", department_code=department, scopes=list(scopes), actor=h.actor(by)
        )
    )


async def as_department(h: Harness, pki: Path) -> identity_pb2_grpc.IdentityServiceStub:
    """Identity as a department's system reaches it: mutual TLS with a `dept-*` certificate, no token."""
    return await h.behind_door(pki, "dept-test")


async def test_a_state_admin_creates_a_client_whose_secret_is_shown_once_and_kept_hashed(
    make_identity: HarnessFactory,
) -> None:
    h = await admins(make_identity)

    created = await create(h, "admin.state", scopes=("grievances.read", "policies.read", "grievances.read"))

    assert created.client_secret.startswith("nvcs_")
    assert len(created.client_secret) >= 45
    client = created.client
    assert (client.department_code, list(client.scopes), client.active) == (
        "FOOD",
        ["grievances.read", "policies.read"],
        True,
    )
    assert client.created_by_account_id == h.accounts["admin.state"]
    async with session_factory(h.engine)() as session:
        row = (await session.execute(select(ServiceClientRow).where(ServiceClientRow.id == client.id))).scalar_one()
    assert row.secret_hash == hashlib.sha256(created.client_secret.encode()).hexdigest()
    listed = await h.stub.ListServiceClients(identity_pb2.ListServiceClientsRequest(actor=h.actor("admin.state")))
    assert [c.id for c in listed.clients] == [client.id]
    assert created.client_secret not in str(listed)


async def test_a_department_admin_manages_only_their_own_departments_clients(make_identity: HarnessFactory) -> None:
    h = await admins(make_identity)
    food = await create(h, "admin.food")
    it = await create(h, "admin.state", department="IT", scopes=("masterdata.read",))

    for attempt in (
        create(h, "admin.food", department="IT"),
        create(h, "dm.patna"),
        h.stub.DisableServiceClient(
            identity_pb2.DisableServiceClientRequest(client_id=it.client.id, actor=h.actor("admin.food"))
        ),
        h.stub.ListServiceClients(
            identity_pb2.ListServiceClientsRequest(department_code="IT", actor=h.actor("admin.food"))
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await attempt
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    own = await h.stub.ListServiceClients(identity_pb2.ListServiceClientsRequest(actor=h.actor("admin.food")))
    assert [c.id for c in own.clients] == [food.client.id]
    every = await h.stub.ListServiceClients(identity_pb2.ListServiceClientsRequest(actor=h.actor("admin.state")))
    assert {c.id for c in every.clients} == {food.client.id, it.client.id}


async def test_scopes_and_department_are_validated(make_identity: HarnessFactory) -> None:
    h = await admins(make_identity)

    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await create(h, "admin.state", scopes=("grievances.read", "grievances.delete"))
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await create(h, "admin.state", department=" ", scopes=())

    assert unknown.value.code() == empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(unknown.value)] == ["scopes[1]"]
    assert [v.field for v in field_violations(empty.value)] == ["department_code", "scopes"]


def test_the_scopes_a_client_may_hold_are_exactly_those_the_doors_grant() -> None:
    from nivaran_intake.access import RULES as INTAKE
    from nivaran_routing.access import RULES as ROUTING
    from nivaran_sla.access import RULES as SLA

    granted = {found.scope for rules in (INTAKE, ROUTING, SLA) for found in rules.values() if found.scope}

    assert granted == set(CLIENT_SCOPES)


async def test_the_department_system_exchanges_its_secret_for_a_client_token(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await admins(make_identity)
    department = await as_department(h, test_pki)
    created = await create(h, "admin.food")

    issued = await department.IssueClientToken(
        identity_pb2.IssueClientTokenRequest(client_id=created.client.id, client_secret=created.client_secret)
    )

    claims = await h.claims(issued.access_token)
    assert (claims["sub"], claims["kind"], claims["department"], claims["scopes"]) == (
        created.client.id,
        "client",
        "FOOD",
        ["grievances.file", "grievances.read"],
    )
    assert claims["exp"] - claims["iat"] == h.settings.access_token_ttl_seconds
    assert claims["issued_ms"] // 1000 == claims["iat"]
    assert len(claims["jti"]) == 32
    assert (issued.client_id, issued.department_code, list(issued.scopes)) == (
        created.client.id,
        "FOOD",
        ["grievances.file", "grievances.read"],
    )
    assert issued.access_expires_at.seconds == claims["exp"]
    assert not await h.revoked(issued.access_token)
    audit = await h.service.audit_entries(account_id=created.client.id)
    assert [(e.method, e.success) for e in audit] == [("client", True)]


async def test_a_wrong_secret_or_an_unknown_client_is_refused_and_audited(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await admins(make_identity)
    department = await as_department(h, test_pki)
    created = await create(h, "admin.food")

    for client_id, secret in (
        (created.client.id, created.client_secret[:-1] + "x"),
        (created.client.id, ""),
        ("no-such-client", created.client_secret),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await department.IssueClientToken(
                identity_pb2.IssueClientTokenRequest(client_id=client_id, client_secret=secret)
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

    audit = await h.service.audit_entries(subject=created.client.id)
    assert [(e.method, e.success, e.reason) for e in audit] == [("client", False, "bad_credentials")] * 2
    assert [e.reason for e in await h.service.audit_entries(subject="no-such-client")] == ["unknown_client"]


async def test_only_a_department_workload_may_exchange_a_secret(make_identity: HarnessFactory, test_pki: Path) -> None:
    h = await admins(make_identity)
    gateway = await h.behind_door(test_pki, "gateway")
    created = await create(h, "admin.food")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await gateway.IssueClientToken(
            identity_pb2.IssueClientTokenRequest(client_id=created.client.id, client_secret=created.client_secret)
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_disabled_client_gets_no_token_and_its_tokens_are_revoked(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await admins(make_identity)
    department = await as_department(h, test_pki)
    created = await create(h, "admin.food")
    request = identity_pb2.IssueClientTokenRequest(client_id=created.client.id, client_secret=created.client_secret)
    issued = await department.IssueClientToken(request)

    disabled = await h.stub.DisableServiceClient(
        identity_pb2.DisableServiceClientRequest(client_id=created.client.id, actor=h.actor("admin.food"))
    )

    assert not disabled.active
    assert disabled.HasField("disabled_at")
    assert disabled.disabled_by_account_id == h.accounts["admin.food"]
    assert await h.revoked(issued.access_token)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await department.IssueClientToken(request)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reasons = [e.reason for e in await h.service.audit_entries(subject=created.client.id)]
    assert reasons == ["", "client_disabled"]
