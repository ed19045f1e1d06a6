"""Sign-in through the gateway: OTP for citizens, password + TOTP for officers, refresh and logout, all via identity."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_testkit import FIXED_OTP, RAW_EMAIL, RAW_PHONE, bearer

from nivaran.identity.v1 import identity_pb2

PROBLEM_JSON = "application/problem+json"


async def test_otp_request_reaches_identity_with_the_e164_number_and_client_ip(rig: Any) -> None:
    response = await rig.client.post("/v1/auth/otp", json={"phone": "98765 43210"})

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["sent_to"] == "+91XXXXXX3210"
    assert body["resend_after_seconds"] == 30
    assert body["expires_at"]
    [sent] = rig.identity.requests
    assert isinstance(sent, identity_pb2.RequestOtpRequest)
    assert sent.phone == RAW_PHONE
    assert sent.client_ip == "127.0.0.1"


@pytest.mark.parametrize("phone", ["12", "+14155550100", "abcdefghij", ""])
async def test_otp_request_for_a_bad_number_is_422_naming_phone(rig: Any, phone: str) -> None:
    response = await rig.client.post("/v1/auth/otp", json={"phone": phone})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["phone"]
    assert rig.identity.requests == []


async def test_otp_verify_returns_tokens_that_work_and_are_not_cached(rig: Any) -> None:
    response = await rig.client.post("/v1/auth/otp/verify", json={"phone": "9876543210", "otp": FIXED_OTP})

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"].startswith("refresh-")
    assert tokens["access_expires_at"]
    account = tokens["account"]
    assert account["kind"] == "citizen"
    assert account["phone"] == "+91XXXXXX3210"
    assert account["email"] == "r***@example.in"
    assert RAW_EMAIL not in response.text
    me = await rig.client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["account_id"] == "acct-citizen-a"


async def test_wrong_otp_is_401(rig: Any) -> None:
    response = await rig.client.post("/v1/auth/otp/verify", json={"phone": RAW_PHONE, "otp": "000000"})

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize("otp", ["12", "१२३४५६", "12345a", "123456789"])
async def test_malformed_otp_is_422_naming_otp(rig: Any, otp: str) -> None:
    response = await rig.client.post("/v1/auth/otp/verify", json={"phone": RAW_PHONE, "otp": otp})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["otp"]
    assert rig.identity.requests == []


async def test_officer_password_login(rig: Any) -> None:
    good = await rig.client.post(
        "/v1/auth/login", json={"username": "officer.a", "password": "correct horse", "totp": "123456"}
    )
    bad = await rig.client.post("/v1/auth/login", json={"username": "officer.a", "password": "wrong", "totp": "123456"})

    assert good.status_code == 200, good.text
    assert good.json()["account"]["kind"] == "officer"
    assert good.headers["cache-control"] == "no-store"
    assert bad.status_code == 401
    sent = rig.identity.requests[0]
    assert (sent.username, sent.totp, sent.client_ip) == ("officer.a", "123456", "127.0.0.1")


async def test_refresh_and_logout(rig: Any) -> None:
    refreshed = await rig.client.post("/v1/auth/refresh", json={"refresh_token": "refresh-abc"})
    rejected = await rig.client.post("/v1/auth/refresh", json={"refresh_token": "stolen"})
    logged_out = await rig.client.post("/v1/auth/logout", json={"refresh_token": "refresh-abc"})

    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"]
    assert rejected.status_code == 401
    assert logged_out.status_code == 204
    assert logged_out.content == b""
    revoked = rig.identity.requests[-1]
    assert isinstance(revoked, identity_pb2.RevokeTokenRequest)
    assert revoked.refresh_token == "refresh-abc"


async def test_unknown_member_in_a_login_body_is_422(rig: Any) -> None:
    response = await rig.client.post("/v1/auth/login", json={"username": "officer.a", "password": "x", "role": "DM"})

    assert response.status_code == 422
    assert "role" in [e["field"] for e in response.json()["errors"]]
