"""DisableAccount (who may take a login away, and that it ends every session at once) and ChangePassword (the
verified caller's own, through the real door: a wrong current password is refused and counted, and the new token
pair works while every older token is revoked)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import field_violations
from nivaran_common.timeutil import to_timestamp

from .conftest import PASSWORD, START, Harness, HarnessFactory

NEW_PASSWORD = "a-new-and-longer-pass"


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def login(h: Harness, username: str, password: str = PASSWORD) -> identity_pb2.TokenPair:
    return await h.stub.PasswordLogin(  # type: ignore[no-any-return]
        identity_pb2.PasswordLoginRequest(username=username, password=password)
    )


async def people(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_officer("dm.gaya", "POS-GAY-DM")
    await h.seed_officer("dso.patna", "POS-FOOD-PAT-DSO")
    await h.seed_officer("secretary.food", "POS-FOOD-BR-SECRETARY")
    await h.seed_operator("admin.state", ["STATE_ADMIN"])
    await h.seed_operator("admin.food", ["DEPT_ADMIN"], department_code="FOOD")
    await h.seed_operator("admin.it", ["DEPT_ADMIN"], department_code="IT")
    return h


def disable(h: Harness, target: str, by: str, reason: str = "misconduct: suspended by order 12/2026") -> object:
    return h.stub.DisableAccount(
        identity_pb2.DisableAccountRequest(account_id=h.accounts[target], reason=reason, actor=h.actor(by))
    )


@pytest.mark.parametrize(
    ("target", "by", "allowed"),
    [
        ("dso.patna", "dm.patna", True),  # the DM of the post's district
        ("dso.patna", "admin.state", True),
        ("dso.patna", "dm.gaya", False),  # another district's DM
        ("dso.patna", "admin.food", False),  # a district post is the DM's to regulate, not the department admin's
        ("secretary.food", "admin.food", True),  # above districts: the department's admin
        ("secretary.food", "admin.it", False),
        ("secretary.food", "dm.patna", False),
        ("admin.food", "admin.state", True),
        ("admin.food", "dm.patna", False),  # an operator of a department: its admin's or a state admin's
        ("admin.state", "admin.food", False),  # an operator of no district or department: a state admin's only
    ],
)
async def test_who_may_disable_an_account(make_identity: HarnessFactory, target: str, by: str, allowed: bool) -> None:
    h = await people(make_identity)

    if allowed:
        account = await disable(h, target, by)
        assert not account.active  # type: ignore[attr-defined]
    else:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await disable(h, target, by)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_nobody_disables_their_own_account_and_a_reason_is_required(make_identity: HarnessFactory) -> None:
    h = await people(make_identity)

    with pytest.raises(grpc.aio.AioRpcError) as own:
        await disable(h, "admin.state", "admin.state")
    with pytest.raises(grpc.aio.AioRpcError) as reasonless:
        await disable(h, "dso.patna", "dm.patna", reason="  ")

    assert own.value.code() == reasonless.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(own.value)] == ["account_id"]
    assert [v.field for v in field_violations(reasonless.value)] == ["reason"]


async def test_disabling_ends_every_session_at_once_and_for_good(make_identity: HarnessFactory) -> None:
    h = await people(make_identity)
    session = await login(h, "dso.patna")

    await disable(h, "dso.patna", "dm.patna")

    assert await h.revoked(session.access_token)
    with pytest.raises(grpc.aio.AioRpcError) as refresh:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert refresh.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await login(h, "dso.patna")
    assert again.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Taking charge gives back a login that only a relinquished charge took away, never a disabled one.
    with pytest.raises(grpc.aio.AioRpcError) as charge:
        await h.stub.TakeCharge(
            identity_pb2.TakeChargeRequest(
                account_id=h.accounts["dso.patna"],
                position_id="POS-RDD-PAT-DDC",
                charge_from=to_timestamp(START),
                actor=h.actor("dm.patna"),
            )
        )
    assert charge.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_disabling_a_delegator_revokes_the_delegates_tokens(make_identity: HarnessFactory) -> None:
    h = await people(make_identity)
    await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    await h.stub.CreateDelegation(
        identity_pb2.CreateDelegationRequest(
            delegate_account_id=h.accounts["sahyog.patna"], powers=["registrations.decide"], actor=h.actor("dm.patna")
        )
    )
    nodal = await login(h, "sahyog.patna")

    await disable(h, "dm.patna", "admin.state")

    assert await h.revoked(nodal.access_token)
    h.clock.advance(milliseconds=1)
    assert (await h.claims((await login(h, "sahyog.patna")).access_token))["acting_for"] == ""


async def test_change_password_needs_the_verified_caller(make_identity: HarnessFactory) -> None:
    h = await people(make_identity)

    # Without a door there is no verified caller: the request itself cannot name whose password it is.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.ChangePassword(
            identity_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD)
        )

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_change_password_refuses_a_wrong_current_password_and_counts_it(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await people(make_identity)
    gateway = await h.behind_door(test_pki)
    session = await login(h, "dso.patna")
    h.clock.advance(seconds=1)

    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await gateway.ChangePassword(
            identity_pb2.ChangePasswordRequest(
                current_password="not-the-password", new_password=NEW_PASSWORD, client_ip="203.0.113.9"
            ),
            metadata=bearer(session.access_token),
        )

    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(wrong.value)] == ["current_password"]
    assert not await h.revoked(session.access_token)
    audit = await h.service.audit_entries(subject="dso.patna")
    assert [(e.method, e.success, e.reason, e.client_ip) for e in audit][-1] == (
        "password",
        False,
        "change_bad_password",
        "203.0.113.9",
    )
    # Counted with failed logins: a stolen session cannot guess the password past the lockout.
    for _ in range(h.settings.password_max_failures - 1):
        with pytest.raises(grpc.aio.AioRpcError):
            await gateway.ChangePassword(
                identity_pb2.ChangePasswordRequest(current_password="not-the-password", new_password=NEW_PASSWORD),
                metadata=bearer(session.access_token),
            )
    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await gateway.ChangePassword(
            identity_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD),
            metadata=bearer(session.access_token),
        )
    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_change_password_applies_the_registration_rules(make_identity: HarnessFactory, test_pki: Path) -> None:
    h = await people(make_identity)
    gateway = await h.behind_door(test_pki)
    session = await login(h, "dso.patna")

    for weak in ("short", "my-dso.patna-password", PASSWORD):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await gateway.ChangePassword(
                identity_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password=weak),
                metadata=bearer(session.access_token),
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, weak
        assert [v.field for v in field_violations(refused.value)] == ["new_password"]


async def test_change_password_ends_older_sessions_and_returns_working_tokens(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await people(make_identity)
    gateway = await h.behind_door(test_pki)
    session, other_device = await login(h, "dso.patna"), await login(h, "dso.patna")

    # The harness clock stands still: the new token is issued in the very millisecond of the cut-off, and must
    # still be past it.
    fresh = await gateway.ChangePassword(
        identity_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD),
        metadata=bearer(session.access_token),
    )

    assert await h.revoked(session.access_token)
    assert await h.revoked(other_device.access_token)
    assert not await h.revoked(fresh.access_token)
    account = await gateway.GetAccount(
        identity_pb2.GetAccountRequest(account_id=h.accounts["dso.patna"]), metadata=bearer(fresh.access_token)
    )
    assert account.id == h.accounts["dso.patna"]
    with pytest.raises(grpc.aio.AioRpcError) as old:
        await gateway.GetAccount(
            identity_pb2.GetAccountRequest(account_id=h.accounts["dso.patna"]), metadata=bearer(session.access_token)
        )
    assert old.value.code() == grpc.StatusCode.UNAUTHENTICATED
    for stale in (session, other_device):
        with pytest.raises(grpc.aio.AioRpcError) as refresh:
            await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=stale.refresh_token))
        assert refresh.value.code() == grpc.StatusCode.UNAUTHENTICATED
    h.clock.advance(milliseconds=1)
    rotated = await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=fresh.refresh_token))
    assert not await h.revoked(rotated.access_token)
    with pytest.raises(grpc.aio.AioRpcError):
        await login(h, "dso.patna")
    assert (await login(h, "dso.patna", NEW_PASSWORD)).account.id == h.accounts["dso.patna"]
