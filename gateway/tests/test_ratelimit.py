"""Rate limits in Redis: per client IP when anonymous, per account when signed in; 429 with Retry-After.

With Redis down, OTP requests and credential checks fail closed (503) and everything else fails open.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_testkit import FIXED_OTP, RAW_PHONE

from nivaran_common.settings import Profile
from nivaran_gateway.settings import GatewaySettings

PROBLEM_JSON = "application/problem+json"
Filing = Any


def limit(count: int, window: int = 600, *, fail_closed: bool = False) -> dict[str, Any]:
    return {"limit": count, "window_seconds": window, "fail_closed": fail_closed}


def assert_429(response: Any, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert response.json()["title_hi"]


async def test_otp_requests_are_limited_per_client_ip(make_rig: Any) -> None:
    rig = await make_rig(rate_limits={"otp": limit(2, fail_closed=True)})
    phones = ["+919876543210", "+919812345678", "+919700000001"]

    responses = [await rig.client.post("/v1/auth/otp", json={"phone": p}) for p in phones]

    assert [r.status_code for r in responses[:2]] == [202, 202]
    assert_429(responses[2], 600)
    assert len(rig.identity.requests) == 2, "the refused request cost no SMS"


async def test_otp_requests_are_limited_per_phone_whatever_the_ip(make_rig: Any) -> None:
    rig = await make_rig(rate_limits={"otp_phone": limit(2, fail_closed=True)}, trusted_proxy_hops=1)

    responses = [
        await rig.client.post("/v1/auth/otp", json={"phone": spelling}, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        for n, spelling in enumerate(["+919876543210", "9876543210", "098765 43210"])
    ]

    assert [r.status_code for r in responses[:2]] == [202, 202]
    assert_429(responses[2], 600)
    assert [r.client_ip for r in rig.identity.requests] == ["203.0.113.0", "203.0.113.1"]


async def test_a_spoofed_forwarded_for_does_not_evade_the_ip_limit(make_rig: Any) -> None:
    rig = await make_rig(rate_limits={"otp": limit(1, fail_closed=True)})

    first = await rig.client.post("/v1/auth/otp", json={"phone": RAW_PHONE}, headers={"X-Forwarded-For": "1.2.3.4"})
    second = await rig.client.post(
        "/v1/auth/otp", json={"phone": "+919812345678"}, headers={"X-Forwarded-For": "5.6.7.8"}
    )

    assert first.status_code == 202
    assert_429(second, 600)


async def test_sign_in_routes_count_per_ip_even_with_a_token(make_rig: Any) -> None:
    rig = await make_rig(rate_limits={"otp": limit(1, fail_closed=True)})

    anonymous = await rig.client.post("/v1/auth/otp", json={"phone": RAW_PHONE})
    with_token = await rig.client.post("/v1/auth/otp", json={"phone": "+919812345678"}, headers=rig.auth("citizen_b"))

    assert anonymous.status_code == 202
    assert_429(with_token, 600)


async def test_signed_in_requests_are_limited_per_account(make_rig: Any) -> None:
    rig = await make_rig(rate_limits={"api": limit(3, 60)})

    mine = [await rig.client.get("/v1/me", headers=rig.auth("citizen_a")) for _ in range(4)]
    theirs = await rig.client.get("/v1/me", headers=rig.auth("citizen_b"))

    assert [r.status_code for r in mine[:3]] == [200, 200, 200]
    assert_429(mine[3], 60)
    assert theirs.status_code == 200, "another account has its own window"


async def test_anonymous_filings_are_limited_per_ip(make_rig: Any, make_filing: Filing) -> None:
    rig = await make_rig(rate_limits={"filing": limit(2)})

    responses = [await rig.client.post("/v1/grievances", json=make_filing()) for _ in range(3)]
    signed_in = await rig.client.post("/v1/grievances", json=make_filing(), headers=rig.auth("citizen_a"))

    assert [r.status_code for r in responses[:2]] == [201, 201]
    assert_429(responses[2], 600)
    assert signed_in.status_code == 201, "a signed-in citizen is counted on their account"
    assert len(rig.intake.requests) == 3


def test_overriding_one_bucket_keeps_the_others() -> None:
    settings = GatewaySettings(profile=Profile.TEST, rate_limits={"otp": limit(1, 60, fail_closed=True)})

    assert settings.rate_limits["otp"].limit == 1
    assert settings.rate_limits["otp_phone"].fail_closed is True
    assert settings.rate_limits["api"].limit > 0


@pytest.fixture
async def redis_down(make_rig: Any, unused_tcp_port_target: str) -> Any:
    """A gateway whose Redis is a closed port."""
    return await make_rig(redis=f"redis://{unused_tcp_port_target}/0")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/v1/auth/otp", {"phone": RAW_PHONE}, id="otp-request"),
        pytest.param("/v1/auth/otp/verify", {"phone": RAW_PHONE, "otp": FIXED_OTP}, id="otp-verify"),
        pytest.param(
            "/v1/auth/login", {"username": "officer.a", "password": "correct horse", "totp": "123456"}, id="login"
        ),
    ],
)
async def test_redis_down_fails_closed_for_otp_and_credential_checks(redis_down: Any, path: str, body: Any) -> None:
    response = await redis_down.client.post(path, json=body)

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0
    assert redis_down.identity.requests == [], "no SMS is sent and no credential is checked unmetered"


async def test_redis_down_fails_open_for_anonymous_filings_and_reads_but_closed_for_signed_in_calls(
    redis_down: Any, make_filing: Filing
) -> None:
    """Rate limits fail open for filings and public reads; a signed-in call fails closed (503 with Retry-After),
    because whether its token was revoked (logout, relinquished charge) lives in Redis and cannot be checked."""
    filed = await redis_down.client.post("/v1/grievances", json=make_filing())
    number = filed.json()["registration_number"]
    read = await redis_down.client.get(f"/v1/grievances/{number}", headers=redis_down.auth("citizen_a"))
    listed = await redis_down.client.get("/v1/grievances", headers=redis_down.auth("citizen_a"))
    categories = await redis_down.client.get("/v1/categories")
    refreshed = await redis_down.client.post("/v1/auth/refresh", json={"refresh_token": "refresh-abc"})

    assert filed.status_code == 201, filed.text
    for signed_in in (read, listed):
        assert signed_in.status_code == 503, signed_in.text
        # 5 s before Redis' circuit opens, then the time until it half-opens (the TTL, 5 s by default).
        assert 1 <= int(signed_in.headers["Retry-After"]) <= 5
        assert signed_in.headers["content-type"].startswith("application/problem+json")
    assert categories.status_code == 200
    assert refreshed.status_code == 200
