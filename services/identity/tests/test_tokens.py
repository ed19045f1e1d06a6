"""Tokens: ES256 JWTs that verify with joserfc against GetJwks, key rotation, refresh rotation with reuse detection,
revocation, and secrets encrypted at rest."""

from __future__ import annotations

import json

import grpc
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey
from sqlalchemy import select

from nivaran.identity.v1 import identity_pb2
from nivaran_common.db import session_factory
from nivaran_common.testing import ONE_BACKEND
from nivaran_common.timeutil import to_timestamp
from nivaran_identity.tables import AccountRow, SigningKeyRow

from .conftest import PASSWORD, START, Harness, HarnessFactory

# What these tests prove does not depend on the database (the store's queries run on both backends in the
# store and service tests), so one backend is enough here (nivaran_common.testing.ONE_BACKEND).
pytestmark = ONE_BACKEND


async def officer(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    return h


async def login(h: Harness) -> identity_pb2.TokenPair:
    return await h.stub.PasswordLogin(  # type: ignore[no-any-return]
        identity_pb2.PasswordLoginRequest(username="dm.patna", password=PASSWORD)
    )


async def test_access_token_verifies_with_joserfc_against_get_jwks(make_identity: HarnessFactory) -> None:
    h = await officer(make_identity)
    tokens = await login(h)
    header = jwt.decode(tokens.access_token, await h.jwks()).header
    assert (header["alg"], header["typ"]) == ("ES256", "JWT")
    claims = await h.claims(tokens.access_token)
    assert set(claims) == {
        "iss", "aud", "sub", "kind", "roles", "positions", "district", "phone", "acting_for", "powers", "iat", "exp",
        "jti", "issued_ms",
    }  # fmt: skip
    assert (claims["sub"], claims["roles"], claims["district"]) == (h.accounts["dm.patna"], ["officer", "DM"], "PAT")
    assert tokens.access_expires_at.seconds == claims["exp"]


async def test_jwks_publishes_public_keys_only(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    document = json.loads((await h.stub.GetJwks(identity_pb2.GetJwksRequest())).json)
    assert [sorted(key) for key in document["keys"]] == [["alg", "crv", "kid", "kty", "use", "x", "y"]]


async def test_a_token_signed_by_another_key_does_not_verify(make_identity: HarnessFactory) -> None:
    h = await officer(make_identity)
    tokens = await login(h)
    kid = jwt.decode(tokens.access_token, await h.jwks()).header["kid"]
    forged = jwt.encode({"alg": "ES256", "kid": kid}, {"sub": "x"}, ECKey.generate_key("P-256"))
    with pytest.raises(BadSignatureError):
        jwt.decode(forged, await h.jwks())


async def test_rotation_keeps_tokens_of_the_old_key_valid_until_they_expire(make_identity: HarnessFactory) -> None:
    h = await officer(make_identity)
    old = await login(h)
    new_kid = await h.wiring.keys.rotate_keys()
    h.clock.advance(seconds=1)
    new = await login(h)
    jwks = await h.jwks()
    assert len(jwks.keys) == 2
    assert jwt.decode(new.access_token, jwks).header["kid"] == new_kid
    assert (await h.claims(old.access_token))["sub"] == (await h.claims(new.access_token))["sub"]
    # Once every token the old key signed has expired (15 min, plus grace), the old key leaves the set.
    h.clock.advance(minutes=18)
    assert [key.kid for key in (await h.jwks()).keys] == [new_kid]


async def test_refresh_rotates_and_reuse_revokes_the_family(make_identity: HarnessFactory) -> None:
    h = await officer(make_identity)
    first = await login(h)
    second = await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=first.refresh_token))
    assert second.refresh_token != first.refresh_token
    assert (await h.claims(second.access_token))["sub"] == h.accounts["dm.patna"]

    with pytest.raises(grpc.aio.AioRpcError) as reuse:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=first.refresh_token))
    assert reuse.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # The thief's copy and the owner's newer token both stop working.
    with pytest.raises(grpc.aio.AioRpcError) as family:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=second.refresh_token))
    assert family.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reasons = [e.reason for e in await h.service.audit_entries(account_id=h.accounts["dm.patna"])]
    assert reasons == ["", "refresh_reuse"]


async def test_refresh_token_expires(make_identity: HarnessFactory) -> None:
    h = await officer(make_identity)
    tokens = await login(h)
    h.clock.advance(days=8)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_revoke_token_logs_out(make_identity: HarnessFactory) -> None:
    h = await officer(make_identity)
    tokens = await login(h)
    await h.stub.RevokeToken(identity_pb2.RevokeTokenRequest(refresh_token=tokens.refresh_token))
    await h.stub.RevokeToken(identity_pb2.RevokeTokenRequest(refresh_token="never-issued"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_signing_keys_and_totp_secrets_are_encrypted_at_rest(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    pending = await h.stub.RegisterOfficer(
        identity_pb2.RegisterOfficerRequest(
            name="DDC",
            username="ddc.patna",
            password=PASSWORD,
            phone="+919801000005",
            position_id="POS-RDD-PAT-DDC",
            charge_from=to_timestamp(START),
        )
    )
    await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=h.actor("dm.patna"))
    )
    secret = h.sender.totp("ddc.patna").secret
    async with session_factory(h.engine)() as session:
        pems = (await session.execute(select(SigningKeyRow.private_pem_encrypted))).scalars().all()
        stored = (
            await session.execute(select(AccountRow.totp_secret_encrypted).where(AccountRow.username == "ddc.patna"))
        ).scalar_one()
    assert pems
    assert all(pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for pem in pems)
    assert stored is not None
    assert secret not in stored
    assert h.service._box.decrypt(stored) == secret
