"""A right taken away is gone on the next request: for each of the five revoking acts (logout, revoked delegation,
relinquished charge, changed password, disabled account), the old access token is refused on the very next call,
through the gateway (401) and straight at a service (UNAUTHENTICATED), on the real suite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import httpx
import pytest
import pytest_asyncio
from _suite import RunningSuite

from nivaran.common.v1 import common_pb2
from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc

DEV_FIXED_OTP = "123456"
DM = ("dm.patna", "dev-dm-patna-2026")
NODAL = ("sahyog.patna", "dev-sahyog-patna-2026")


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


async def assert_refused_everywhere(suite: RunningSuite, http: httpx.AsyncClient, token: str) -> None:
    """The gateway answers 401; intake, called directly as the gateway with the token, UNAUTHENTICATED."""
    me = await http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401, me.text
    async with suite.channel(suite.ports.intake) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await intake_pb2_grpc.IntakeServiceStub(channel).ListGrievances(
                intake_pb2.ListGrievancesRequest(page=common_pb2.PageRequest(page_size=1)),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=10,
            )
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED, refused.value
    assert "revoked" in (refused.value.details() or "")


async def assert_accepted(http: httpx.AsyncClient, token: str) -> dict[str, object]:
    me = await http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    body: dict[str, object] = me.json()
    return body


async def login(http: httpx.AsyncClient, username: str, password: str) -> dict[str, object]:
    signed_in = await http.post("/v1/auth/login", json={"username": username, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    body: dict[str, object] = signed_in.json()
    return body


def bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def approved_officer(http: httpx.AsyncClient, position_id: str) -> tuple[str, str]:
    """A new officer for `position_id`, approved by the DM (S6); their username and password."""
    username = f"officer.{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    applied = await http.post(
        "/v1/officers/registrations",
        json={
            "username": username,
            "name": "परीक्षण अधिकारी / Test officer",
            "password": password,
            "phone": f"94310{uuid.uuid4().int % 100000:05d}",
            "position_id": position_id,
            "charge_from": "2026-11-01T00:00:00+05:30",
        },
    )
    assert applied.status_code == 201, applied.text
    dm = await login(http, *DM)
    decided = await http.post(
        f"/v1/officers/registrations/{applied.json()['id']}/decision",
        json={"approve": True, "note": "approved in the revocation walk"},
        headers=bearer(dm),
    )
    assert decided.status_code == 200, decided.text
    return username, password


async def test_logout_kills_the_access_token_at_once(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        phone = "9876500041"
        assert (await http.post("/v1/auth/otp", json={"phone": phone})).status_code == 202
        tokens = (await http.post("/v1/auth/otp/verify", json={"phone": phone, "otp": DEV_FIXED_OTP})).json()
        await assert_accepted(http, tokens["access_token"])
        out = await http.post(
            "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=bearer(tokens)
        )
        assert out.status_code == 204, out.text
        await assert_refused_everywhere(suite, http, tokens["access_token"])


async def test_S17_a_revoked_delegation_is_gone_from_the_delegates_token_on_the_next_call(
    suite: RunningSuite,
) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        dm = await login(http, *DM)
        nodal_account = (await login(http, *NODAL))["account"]
        assert isinstance(nodal_account, dict)
        granted = await http.post(
            "/v1/delegations",
            json={"delegate_account_id": nodal_account["id"], "powers": ["grievances.read_district"]},
            headers=bearer(dm),
        )
        assert granted.status_code == 201, granted.text
        delegated = await login(http, *NODAL)
        assert "grievances.read_district" in str(await assert_accepted(http, str(delegated["access_token"])))
        # The DM lists it among those given, the nodal officer among those held (GET /v1/delegations).
        given = await http.get("/v1/delegations", headers=bearer(dm))
        assert given.status_code == 200, given.text
        assert granted.json()["id"] in [d["id"] for d in given.json()["delegations"]]
        held = await http.get("/v1/delegations", params={"received": "true"}, headers=bearer(delegated))
        assert [d["id"] for d in held.json()["delegations"]] == [granted.json()["id"]]
        revoked = await http.delete(f"/v1/delegations/{granted.json()['id']}", headers=bearer(dm))
        assert revoked.status_code in (200, 204), revoked.text
        in_force = await http.get("/v1/delegations", headers=bearer(dm))
        assert granted.json()["id"] not in [d["id"] for d in in_force.json()["delegations"]]
        history = await http.get("/v1/delegations", params={"include_revoked": "true"}, headers=bearer(dm))
        [record] = [d for d in history.json()["delegations"] if d["id"] == granted.json()["id"]]
        assert record["revoked_at"] is not None
        await assert_refused_everywhere(suite, http, str(delegated["access_token"]))
        # Signing in again gives a token without the power.
        again = await login(http, *NODAL)
        assert "grievances.read_district" not in str(await assert_accepted(http, str(again["access_token"])))


async def test_S7_a_relinquished_charge_is_gone_from_the_officers_token_on_the_next_call(
    suite: RunningSuite,
) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        username, password = await approved_officer(http, "POS-RDD-PAT-DDC")
        officer = await login(http, username, password)
        account = officer["account"]
        assert isinstance(account, dict)
        now = datetime.now(UTC).isoformat()
        relinquished = await http.post(
            f"/v1/officers/{account['id']}/relinquish",
            json={
                "position_id": "POS-RDD-PAT-DDC",
                "relinquish_at": now,
                "transfer_order_number": "TO/RDD/77/2026",
                "transfer_order_date": now,
            },
            headers=bearer(officer),
        )
        assert relinquished.status_code == 200, relinquished.text
        await assert_refused_everywhere(suite, http, str(officer["access_token"]))


async def test_a_changed_password_and_then_a_disabled_account_each_end_every_earlier_token(
    suite: RunningSuite,
) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        username, password = await approved_officer(http, "POS-PAT-PGRO")
        before = await login(http, username, password)
        changed = await http.post(
            "/v1/auth/password",
            json={"current_password": password, "new_password": f"new-{uuid.uuid4().hex}"},
            headers=bearer(before),
        )
        assert changed.status_code == 200, changed.text
        await assert_refused_everywhere(suite, http, str(before["access_token"]))
        after = changed.json()
        account = await assert_accepted(http, after["access_token"])

        dm = await login(http, *DM)
        disabled = await http.post(
            f"/v1/accounts/{account['account_id']}/disable",
            json={"reason": "निलंबित, आदेश 12/2026 / suspended by order 12/2026"},
            headers=bearer(dm),
        )
        assert disabled.status_code == 200, disabled.text
        await assert_refused_everywhere(suite, http, after["access_token"])
