"""Citizen OTP login: hashed codes with a TTL in Redis, cooldown, rate limits, a cap on wrong codes per issued OTP
(never a phone-wide lockout), the dev-only fixed code."""

from __future__ import annotations

import asyncio
from collections import Counter

import grpc
import pytest

from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import field_violations
from nivaran_common.redis import create_redis
from nivaran_common.settings import Profile
from nivaran_common.testing import ONE_BACKEND, free_port

from .conftest import HarnessFactory

# What these tests prove does not depend on the database (the store's queries run on both backends in the
# store and service tests), so one backend is enough here (nivaran_common.testing.ONE_BACKEND).
pytestmark = ONE_BACKEND

PHONE = "+919876543210"
IP = "203.0.113.7"


async def _request(h: object, phone: str = PHONE, ip: str = IP) -> identity_pb2.RequestOtpResponse:
    return await h.stub.RequestOtp(identity_pb2.RequestOtpRequest(phone=phone, client_ip=ip))  # type: ignore[attr-defined, no-any-return]


async def test_otp_login_makes_one_citizen_account_and_token_carries_verified_phone(
    make_identity: HarnessFactory,
) -> None:
    h = await make_identity(otp_resend_cooldown_seconds=0)
    response = await _request(h, phone="98765 43210")
    assert response.resend_after_seconds == 0
    code = h.sender.last_otp(PHONE)
    tokens = await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone="9876543210", otp=code, client_ip=IP))
    claims = await h.claims(tokens.access_token)
    assert (claims["kind"], claims["roles"], claims["phone"]) == ("citizen", ["citizen"], PHONE)
    assert tokens.account.phone == "+91XXXXXX3210"

    await _request(h)
    again = await h.stub.VerifyOtp(
        identity_pb2.VerifyOtpRequest(phone=PHONE, otp=h.sender.last_otp(PHONE), client_ip=IP)
    )
    assert again.account.id == tokens.account.id


async def test_otp_is_stored_hashed_with_a_five_minute_ttl(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await _request(h)
    code = h.sender.last_otp(PHONE)
    redis = create_redis(h.settings.redis_url)
    try:
        key = h.service._otp.key("code", h.service._otp.phone_id(PHONE))
        stored = await redis.hgetall(key)
        ttl = await redis.ttl(key)
        every_key = [k async for k in redis.scan_iter(match=f"{h.settings.key_prefix}*")]
    finally:
        await redis.aclose()
    assert 290 < ttl <= 300
    assert code not in stored["hash"]
    assert len(stored["hash"]) == 64
    assert not [k for k in every_key if "9876543210" in k]


async def test_otp_expires_after_its_ttl(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await _request(h)
    code = h.sender.last_otp(PHONE)
    h.clock.advance(seconds=301)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=code, client_ip=IP))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "otp_expired" in (caught.value.details() or "")


async def test_otp_is_accepted_once(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await _request(h)
    code = h.sender.last_otp(PHONE)
    await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=code, client_ip=IP))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=code, client_ip=IP))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_otp_resend_cooldown(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    assert (await _request(h)).resend_after_seconds == 30
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _request(h)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "otp_resend_cooldown" in (caught.value.details() or "")
    assert len(h.sender.otps) == 1


async def test_otp_rate_limit_per_phone(make_identity: HarnessFactory) -> None:
    h = await make_identity(otp_resend_cooldown_seconds=0, otp_max_per_phone_per_hour=5)
    for _ in range(5):
        await _request(h)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _request(h)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "otp_max_per_phone_per_hour" in (caught.value.details() or "")
    assert len(h.sender.otps) == 5


async def test_otp_rate_limit_per_ip(make_identity: HarnessFactory) -> None:
    h = await make_identity(otp_max_per_ip_per_hour=3)
    for last_digit in "123":
        await _request(h, phone=f"+91987654321{last_digit}")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _request(h, phone="+919876543214")
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "otp_max_per_ip_per_hour" in (caught.value.details() or "")
    await _request(h, phone="+919876543214", ip="198.51.100.9")


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def _verify_refusal(h: object, otp: str, phone: str = PHONE) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=phone, otp=otp, client_ip=IP))  # type: ignore[attr-defined]
    return caught.value.code(), (caught.value.details() or "").split(":", 1)[0]


async def _otp_keys(h: object, phone: str = PHONE) -> list[str]:
    vault = h.service._otp  # type: ignore[attr-defined]
    redis = create_redis(h.settings.redis_url)  # type: ignore[attr-defined]
    try:
        return sorted([k async for k in redis.scan_iter(match=vault.key("*", vault.phone_id(phone)))])
    finally:
        await redis.aclose()


async def test_wrong_codes_without_an_issued_otp_lock_nobody_out(make_identity: HarnessFactory) -> None:
    # Issue 8: a stranger's guesses at a phone with no OTP outstanding used to lock its owner out for 15 minutes.
    h = await make_identity()
    refusals = [await _verify_refusal(h, "000000") for _ in range(12)]
    # The same refusal every time (no attempts count down, no lockout), and nothing is kept for the phone.
    assert refusals == [(grpc.StatusCode.UNAUTHENTICATED, "otp_expired")] * 12
    assert await _otp_keys(h) == []
    entries = await h.service.audit_entries(subject="+91XXXXXX3210")
    assert [(e.success, e.reason) for e in entries] == [(False, "otp_expired")] * 12
    # The owner asks for an OTP and logs in as usual, with the full count of tries.
    await _request(h)
    code = h.sender.last_otp(PHONE)
    assert await _verify_refusal(h, _wrong(code)) == (grpc.StatusCode.UNAUTHENTICATED, "otp_wrong")
    tokens = await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=code, client_ip=IP))
    assert tokens.account.phone == "+91XXXXXX3210"


async def test_too_many_wrong_codes_burn_that_otp_and_a_new_one_works(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await _request(h)
    code = h.sender.last_otp(PHONE)
    details = []
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=_wrong(code), client_ip=IP))
        details.append((caught.value.code(), caught.value.details() or ""))
    assert [status for status, _ in details] == [grpc.StatusCode.UNAUTHENTICATED] * 4 + [
        grpc.StatusCode.RESOURCE_EXHAUSTED
    ]
    assert [f"{n} attempts left" in text for n, (_, text) in zip((4, 3, 2, 1), details, strict=False)] == [True] * 4
    assert details[4][1].startswith("otp_attempts_exhausted")
    # That OTP is burned: its right code no longer works.
    assert await _verify_refusal(h, code) == (grpc.StatusCode.UNAUTHENTICATED, "otp_expired")
    # No lock on the phone: a new OTP only waits for the resend cooldown of the burned one.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _request(h)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "otp_resend_cooldown" in (caught.value.details() or "")
    vault = h.service._otp
    pid = vault.phone_id(PHONE)
    assert await _otp_keys(h) == sorted([vault.key("cooldown", pid), vault.key("rate-phone", pid)])
    redis = create_redis(h.settings.redis_url)
    try:  # The cooldown is a Redis TTL, not the test clock: let it run out.
        assert await redis.delete(vault.key("cooldown", pid)) == 1
    finally:
        await redis.aclose()
    await _request(h)
    new_code = h.sender.last_otp(PHONE)
    if new_code != code:  # pragma: no branch - the same code twice is one chance in a million
        assert await _verify_refusal(h, code) == (grpc.StatusCode.UNAUTHENTICATED, "otp_wrong")
    tokens = await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=new_code, client_ip=IP))
    assert tokens.account.phone == "+91XXXXXX3210"
    reasons = [e.reason for e in await h.service.audit_entries(subject="+91XXXXXX3210")]
    assert reasons[:6] == ["otp_wrong"] * 4 + ["otp_attempts_exhausted", "otp_expired"]


async def test_wrong_codes_on_an_earlier_otp_do_not_count_against_a_new_one(make_identity: HarnessFactory) -> None:
    h = await make_identity(otp_resend_cooldown_seconds=0)
    await _request(h)
    first = h.sender.last_otp(PHONE)
    for _ in range(4):
        assert await _verify_refusal(h, _wrong(first)) == (grpc.StatusCode.UNAUTHENTICATED, "otp_wrong")
    await _request(h)
    second = h.sender.last_otp(PHONE)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=_wrong(second), client_ip=IP))
    assert "4 attempts left" in (caught.value.details() or "")
    await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=second, client_ip=IP))


async def test_concurrent_wrong_codes_get_no_more_tries_than_one_otp_allows(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await _request(h)
    code = h.sender.last_otp(PHONE)
    refusals = await asyncio.gather(*(_verify_refusal(h, _wrong(code)) for _ in range(12)))
    assert Counter(refusals) == {
        (grpc.StatusCode.UNAUTHENTICATED, "otp_wrong"): 4,
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "otp_attempts_exhausted"): 1,
        (grpc.StatusCode.UNAUTHENTICATED, "otp_expired"): 7,
    }
    assert await _verify_refusal(h, code) == (grpc.StatusCode.UNAUTHENTICATED, "otp_expired")


async def test_otp_failures_are_audited_with_masked_phone_and_ip(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    await _request(h)
    with pytest.raises(grpc.aio.AioRpcError):
        await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp="000000", client_ip=IP))
    code = h.sender.last_otp(PHONE)
    if code == "000000":  # pragma: no cover - one chance in a million
        return
    h.clock.advance(seconds=5)
    tokens = await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp=code, client_ip=IP))
    entries = await h.service.audit_entries(subject="+91XXXXXX3210")
    assert [(e.success, e.reason, e.client_ip) for e in entries] == [(False, "otp_wrong", IP), (True, "", IP)]
    assert entries[1].account_id == tokens.account.id


async def test_bad_phone_and_otp_name_their_fields(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone="12345", otp="12ab", client_ip="not-an-ip"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in field_violations(caught.value)} == {"phone", "otp", "client_ip"}


async def test_undeliverable_otp_is_withdrawn(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    h.sender.failing = True
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _request(h)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    h.sender.failing = False
    await _request(h)
    assert len(h.sender.otps) == 1


async def test_fixed_otp_logs_in_on_the_dev_profile(make_identity: HarnessFactory) -> None:
    h = await make_identity(profile=Profile.DEV, dev_fixed_otp_enabled=True, dev_fixed_otp="424242")
    await _request(h)
    assert h.sender.last_otp(PHONE) == "424242"
    tokens = await h.stub.VerifyOtp(identity_pb2.VerifyOtpRequest(phone=PHONE, otp="424242", client_ip=IP))
    assert (await h.claims(tokens.access_token))["phone"] == PHONE


async def test_otp_without_redis_is_unavailable_not_an_internal_error(make_identity: HarnessFactory) -> None:
    h = await make_identity(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _request(h)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert h.sender.otps == []
