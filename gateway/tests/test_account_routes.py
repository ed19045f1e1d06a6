"""Taking sessions away through the gateway: a password change (the caller's own, named by the forwarded token),
a logout that hands identity the access token to revoke, and an authority disabling a login."""

from __future__ import annotations

from typing import Any

from gateway_testkit import RAW_EMAIL, RAW_PHONE, auth, token_for

from nivaran.identity.v1 import identity_pb2

PROBLEM_JSON = "application/problem+json"
NEW_PASSWORD = "a much longer pass phrase"


async def test_an_officer_changes_their_password_and_gets_new_tokens(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/auth/password",
        json={"current_password": "correct horse", "new_password": NEW_PASSWORD},
        headers=auth("officer_a"),
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["account"]["id"] == "acct-officer-a"  # the fake read whose password from the forwarded token
    me = await rig.client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["account_id"] == "acct-officer-a"
    [sent] = [r for r in rig.identity.requests if isinstance(r, identity_pb2.ChangePasswordRequest)]
    assert (sent.current_password, sent.new_password, sent.client_ip) == ("correct horse", NEW_PASSWORD, "127.0.0.1")


async def test_a_wrong_current_password_is_422_naming_it(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/auth/password",
        json={"current_password": "wrong", "new_password": NEW_PASSWORD},
        headers=auth("officer_a"),
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [e["field"] for e in response.json()["errors"]] == ["current_password"]
    assert response.json()["title_hi"]


async def test_only_officers_and_operators_change_a_password(rig: Any) -> None:
    body = {"current_password": "correct horse", "new_password": NEW_PASSWORD}

    citizen = await rig.client.post("/v1/auth/password", json=body, headers=auth("citizen_a"))
    anonymous = await rig.client.post("/v1/auth/password", json=body)
    incomplete = await rig.client.post("/v1/auth/password", json={"new_password": "x"}, headers=auth("officer_a"))

    assert (citizen.status_code, anonymous.status_code, incomplete.status_code) == (403, 401, 422)
    assert [e["field"] for e in incomplete.json()["errors"]] == ["current_password"]
    assert not [r for r in rig.identity.requests if isinstance(r, identity_pb2.ChangePasswordRequest)]


async def test_logout_hands_identity_the_access_token_to_revoke(rig: Any) -> None:
    token = token_for("officer_a")

    # Without a token first: under the in-process ASGI transport, the token a request forwards stays set in the
    # test's own context afterwards (a server runs each request in a task of its own).
    without = await rig.client.post("/v1/auth/logout", json={"refresh_token": "refresh-def"})
    with_token = await rig.client.post(
        "/v1/auth/logout", json={"refresh_token": "refresh-abc"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert (without.status_code, with_token.status_code) == (204, 204)
    assert rig.identity.forwarded == ["", f"Bearer {token}"]


async def test_a_dm_disables_a_login_of_their_district(rig: Any) -> None:
    response = await rig.client.post(
        "/v1/accounts/acct-officer-a/disable",
        json={"reason": "निलंबित, आदेश 12/2026 / suspended by order 12/2026"},
        headers=auth("dm_a"),
    )

    assert response.status_code == 200, response.text
    account = response.json()
    assert (account["id"], account["active"]) == ("acct-officer-a", False)
    assert RAW_PHONE not in response.text
    assert RAW_EMAIL not in response.text
    [sent] = [r for r in rig.identity.requests if isinstance(r, identity_pb2.DisableAccountRequest)]
    assert (sent.actor.account_id, sent.actor.role, sent.actor.position_id) == ("acct-dm-a", "DM", "pos-pat-dm")


async def test_disabling_is_refused_for_oneself_another_district_and_without_a_reason(rig: Any) -> None:
    own = await rig.client.post("/v1/accounts/acct-dm-a/disable", json={"reason": "x"}, headers=auth("dm_a"))
    elsewhere = await rig.client.post("/v1/accounts/acct-officer-a/disable", json={"reason": "x"}, headers=auth("dm_b"))
    reasonless = await rig.client.post("/v1/accounts/acct-officer-a/disable", json={}, headers=auth("dm_a"))
    officer = await rig.client.post(
        "/v1/accounts/acct-officer-b/disable", json={"reason": "x"}, headers=auth("officer_a")
    )

    assert own.status_code == 403
    assert [e["field"] for e in own.json()["errors"]] == ["account_id"]
    assert elsewhere.status_code == 403  # identity: only the DM of the post's district
    assert reasonless.status_code == 422
    assert [e["field"] for e in reasonless.json()["errors"]] == ["reason"]
    assert officer.status_code == 403
