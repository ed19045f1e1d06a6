"""Revocation at once: every access token carries a jti and its issue time in ms, and each act that takes a right
away (logout, relinquished charge, revoked delegation) writes the record that kills the tokens issued before it,
read back here as every door reads it (Revocations.is_revoked against the test Redis)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from nivaran.identity.v1 import identity_pb2
from nivaran_common.timeutil import to_timestamp

from .conftest import PASSWORD, START, Harness, HarnessFactory


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def login(h: Harness, username: str) -> identity_pb2.TokenPair:
    return await h.stub.PasswordLogin(  # type: ignore[no-any-return]
        identity_pb2.PasswordLoginRequest(username=username, password=PASSWORD)
    )


async def test_tokens_carry_a_jti_and_their_issue_time_in_ms(make_identity: HarnessFactory) -> None:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    h.clock.advance(milliseconds=1234)

    first, second = await login(h, "dm.patna"), await login(h, "dm.patna")

    claims = [await h.claims(pair.access_token) for pair in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", c["jti"]) for c in claims)
    assert claims[0]["jti"] != claims[1]["jti"]
    expected_ms = int(h.clock().timestamp() * 1000)
    assert [c["issued_ms"] for c in claims] == [expected_ms, expected_ms]
    assert claims[0]["iat"] == expected_ms // 1000
    assert not await h.revoked(first.access_token)


async def test_logout_revokes_the_refresh_family_and_the_forwarded_access_token(
    make_identity: HarnessFactory, test_pki: Path
) -> None:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    gateway = await h.behind_door(test_pki)
    session, other_session = await login(h, "dm.patna"), await login(h, "dm.patna")

    await gateway.RevokeToken(
        identity_pb2.RevokeTokenRequest(refresh_token=session.refresh_token), metadata=bearer(session.access_token)
    )

    assert await h.revoked(session.access_token)
    # Only that session: the same officer's other session lives on.
    assert not await h.revoked(other_session.access_token)
    with pytest.raises(grpc.aio.AioRpcError) as dead:
        await gateway.GetAccount(
            identity_pb2.GetAccountRequest(account_id=h.accounts["dm.patna"]), metadata=bearer(session.access_token)
        )
    assert dead.value.code() == grpc.StatusCode.UNAUTHENTICATED
    alive = await gateway.GetAccount(
        identity_pb2.GetAccountRequest(account_id=h.accounts["dm.patna"]), metadata=bearer(other_session.access_token)
    )
    assert alive.id == h.accounts["dm.patna"]
    with pytest.raises(grpc.aio.AioRpcError) as refresh:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert refresh.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_without_an_access_token_revokes_the_refresh_family_only(make_identity: HarnessFactory) -> None:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    session = await login(h, "dm.patna")

    await h.stub.RevokeToken(identity_pb2.RevokeTokenRequest(refresh_token=session.refresh_token))

    assert not await h.revoked(session.access_token)


async def test_relinquishing_charge_revokes_the_officer_and_the_delegates(make_identity: HarnessFactory) -> None:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_officer("dso.patna", "POS-FOOD-PAT-DSO")
    await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    await h.stub.CreateDelegation(
        identity_pb2.CreateDelegationRequest(
            delegate_account_id=h.accounts["sahyog.patna"],
            powers=["registrations.decide"],
            actor=h.actor("dm.patna"),
        )
    )
    dm, nodal, bystander = [await login(h, name) for name in ("dm.patna", "sahyog.patna", "dso.patna")]

    await h.stub.RelinquishCharge(
        identity_pb2.RelinquishChargeRequest(
            account_id=h.accounts["dm.patna"],
            position_id="POS-PAT-DM",
            relinquish_at=to_timestamp(START),
            transfer_order_number="GAD/TR/2026/200",
            transfer_order_date=to_timestamp(START - timedelta(days=1)),
            actor=h.actor("dm.patna"),
        )
    )

    assert await h.revoked(dm.access_token)
    # The nodal officer's token carried the DM's powers (acting_for), which the relinquished post gave.
    assert await h.revoked(nodal.access_token)
    assert not await h.revoked(bystander.access_token)
    # A token issued after the cut-off carries what is true now, and is accepted.
    h.clock.advance(milliseconds=1)
    again = await login(h, "sahyog.patna")
    assert (await h.claims(again.access_token))["acting_for"] == ""
    assert not await h.revoked(again.access_token)


async def test_revoking_a_delegation_revokes_the_delegates_tokens(make_identity: HarnessFactory) -> None:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    granted = await h.stub.CreateDelegation(
        identity_pb2.CreateDelegationRequest(
            delegate_account_id=h.accounts["sahyog.patna"],
            powers=["registrations.decide"],
            actor=h.actor("dm.patna"),
        )
    )
    dm, nodal = await login(h, "dm.patna"), await login(h, "sahyog.patna")
    assert (await h.claims(nodal.access_token))["acting_for"] == h.accounts["dm.patna"]

    await h.stub.RevokeDelegation(
        identity_pb2.RevokeDelegationRequest(delegation_id=granted.id, actor=h.actor("dm.patna"))
    )

    assert await h.revoked(nodal.access_token)
    assert not await h.revoked(dm.access_token)


async def test_a_revocation_that_cannot_be_written_fails_the_call_and_says_the_act_is_recorded(
    make_identity: HarnessFactory,
) -> None:
    # Nothing listens on port 9: the act commits, the record cannot be written, and the caller is told both.
    h = await make_identity(require_officer_totp=False, revocation_redis_url="redis://127.0.0.1:9/0")
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    granted = await h.stub.CreateDelegation(
        identity_pb2.CreateDelegationRequest(
            delegate_account_id=h.accounts["sahyog.patna"],
            powers=["registrations.decide"],
            actor=h.actor("dm.patna"),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RevokeDelegation(
            identity_pb2.RevokeDelegationRequest(delegation_id=granted.id, actor=h.actor("dm.patna"))
        )

    # Not UNAVAILABLE, which channels retry on their own: the act is done, and must not be tried again blindly.
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "is recorded" in (caught.value.details() or "")
    listed = await h.stub.CreateDelegation(
        identity_pb2.CreateDelegationRequest(
            delegate_account_id=h.accounts["sahyog.patna"],
            powers=["registrations.decide"],
            actor=h.actor("dm.patna"),
        )
    )
    # The first delegation is revoked (a new one may be granted).
    assert listed.id != granted.id
