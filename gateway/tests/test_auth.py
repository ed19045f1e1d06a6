"""Bearer tokens: verified against identity's JWKS (cached, refreshed on rotation), refused with 401 otherwise."""

from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter
from gateway_testkit import PERSONAS, SIGNING_KEY, bearer, mint, signing_key, token_for
from joserfc import jwt
from joserfc.jwk import OctKey

from nivaran_common.settings import Profile
from nivaran_gateway import main
from nivaran_gateway.access import undeclared_routes
from nivaran_gateway.settings import GatewaySettings

PROBLEM_JSON = "application/problem+json"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "nivaran-identity", "aud": "nivaran", "iat": now, "exp": now + 600, **overrides}


def _unsigned() -> str:
    header = {"alg": "none", "kid": SIGNING_KEY.kid}
    return f"{_b64(header)}.{_b64(_claims(**PERSONAS['citizen_a'].claims))}."


def _hs256() -> str:
    # The classic confusion attack: an HMAC token keyed with something public.
    key = OctKey.import_key("x" * 32)
    return jwt.encode({"alg": "HS256", "kid": SIGNING_KEY.kid}, _claims(**PERSONAS["dm_a"].claims), key)


def _forged() -> str:
    impostor = signing_key(SIGNING_KEY.kid)
    return mint(PERSONAS["dm_a"].claims, key=impostor)


BAD_AUTHORIZATIONS = {
    "basic-scheme": lambda: "Basic dXNlcjpwYXNz",
    "bearer-without-token": lambda: "Bearer ",
    "not-a-jwt": lambda: "Bearer not-a-jwt",
    "three-garbage-parts": lambda: "Bearer a.b.c",
    "alg-none": lambda: f"Bearer {_unsigned()}",
    "hs256-confusion": lambda: f"Bearer {_hs256()}",
    "forged-signature-same-kid": lambda: f"Bearer {_forged()}",
    "expired": lambda: f"Bearer {token_for('citizen_a', ttl=-120)}",
    "wrong-issuer": lambda: f"Bearer {token_for('citizen_a', iss='someone-else')}",
    "wrong-audience": lambda: f"Bearer {token_for('citizen_a', aud='another-app')}",
    "no-kid": lambda: f"Bearer {mint(PERSONAS['citizen_a'].claims, header={'kid': None})}",
    "no-kind": lambda: f"Bearer {token_for('citizen_a', kind=None)}",
    "unknown-kind": lambda: f"Bearer {token_for('citizen_a', kind='superuser')}",
    "roles-not-a-list": lambda: f"Bearer {token_for('dm_a', roles='DM')}",
    "empty-subject": lambda: f"Bearer {token_for('citizen_a', sub='')}",
    "oversized": lambda: f"Bearer {token_for('citizen_a', padding='x' * 9000)}",
}


async def test_missing_token_is_401_with_a_bearer_challenge(rig: Any) -> None:
    response = await rig.client.get("/v1/grievances")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == 'Bearer realm="nivaran"'
    problem = response.json()
    assert problem["title_hi"]
    assert problem["detail"] == "this request needs an access token"


@pytest.mark.parametrize("name", list(BAD_AUTHORIZATIONS))
async def test_invalid_token_is_401_invalid_token(rig: Any, name: str) -> None:
    header = BAD_AUTHORIZATIONS[name]()

    response = await rig.client.get("/v1/grievances", headers={"Authorization": header})

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert rig.intake.list_requests == []


async def test_expired_token_says_so(rig: Any) -> None:
    response = await rig.client.get("/v1/me", headers=bearer(token_for("citizen_a", ttl=-120)))

    assert response.status_code == 401
    assert response.json()["detail"] == "the token has expired"


async def test_invalid_token_on_the_open_filing_route_is_401_not_anonymous(rig: Any, make_filing: Any) -> None:
    response = await rig.client.post(
        "/v1/grievances", json=make_filing(), headers=bearer(token_for("citizen_a", ttl=-120))
    )

    assert response.status_code == 401
    assert rig.intake.requests == []


async def test_valid_token_names_the_caller(rig: Any) -> None:
    response = await rig.client.get("/v1/me", headers=rig.auth("dm_a"))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "account_id": "acct-dm-a",
        "kind": "officer",
        "roles": ["officer", "DM"],
        "positions": ["pos-pat-dm"],
        "district": "PAT",
        "phone": None,
        "acting_for": None,
        "powers": [],
    }


async def test_citizen_token_cannot_carry_officer_roles_posts_or_powers(rig: Any) -> None:
    headers = rig.auth(
        "citizen_a", roles=["citizen", "DM"], positions=["pos-pat-dm"], district="PAT", acting_for="acct-dm-a",
        powers=["transfers.decide"],
    )  # fmt: skip

    me = await rig.client.get("/v1/me", headers=headers)
    queue = await rig.client.get("/v1/transfer-queue", headers=headers)

    assert me.json()["roles"] == ["citizen"]
    assert me.json()["positions"] == []
    assert me.json()["phone"] == "+91XXXXXX3210"
    assert queue.status_code == 403


async def test_S17_delegated_power_admits_the_nodal_officer_to_the_dm_route(rig: Any) -> None:
    nodal = {"sub": "acct-nodal-pat", "kind": "officer", "roles": ["officer"], "district": "PAT"}
    with_power = bearer(mint(nodal, acting_for="acct-dm-a", powers=["transfers.decide"]))
    without_delegation = bearer(mint(nodal, powers=["transfers.decide"]))

    allowed = await rig.client.get("/v1/transfer-queue", headers=with_power)
    refused = await rig.client.get("/v1/transfer-queue", headers=without_delegation)

    assert allowed.status_code == 200, allowed.text
    assert rig.routing.queue_requests[-1].district_code == "PAT"
    assert refused.status_code == 403


async def test_key_set_is_fetched_once_and_cached(rig: Any) -> None:
    for persona in ("citizen_a", "officer_a", "dm_a"):
        response = await rig.client.get("/v1/me", headers=rig.auth(persona))
        assert response.status_code == 200

    assert rig.identity.jwks_calls == 1


async def test_rotated_key_is_fetched_when_a_token_names_its_kid(rig: Any) -> None:
    clock = Clock()
    rig.state.verifier.keys.clock = clock
    assert (await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))).status_code == 200
    rotated = signing_key("test-key-2")
    rig.identity.keys.append(rotated)
    clock.now += rig.settings.jwks_min_refresh_seconds

    response = await rig.client.get("/v1/me", headers=bearer(mint(PERSONAS["citizen_a"].claims, key=rotated)))

    assert response.status_code == 200, response.text
    assert rig.identity.jwks_calls == 2


async def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(rig: Any) -> None:
    clock = Clock()
    rig.state.verifier.keys.clock = clock
    unpublished = signing_key("test-key-unpublished")
    forged = bearer(mint(PERSONAS["dm_a"].claims, key=unpublished))
    assert (await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))).status_code == 200

    burst = [await rig.client.get("/v1/me", headers=forged) for _ in range(5)]
    after_burst = rig.identity.jwks_calls
    clock.now += rig.settings.jwks_min_refresh_seconds
    later = await rig.client.get("/v1/me", headers=forged)
    again = await rig.client.get("/v1/me", headers=forged)

    assert [r.status_code for r in burst] == [401] * 5
    assert after_burst == 1, "a burst of unknown kids within the interval does not reach identity"
    assert (later.status_code, again.status_code) == (401, 401)
    assert rig.identity.jwks_calls == 2, "one refetch once the interval has passed"


async def test_stale_key_set_is_refetched_after_its_max_age(rig: Any) -> None:
    clock = Clock()
    rig.state.verifier.keys.clock = clock
    await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))
    clock.now += rig.settings.jwks_max_age_seconds

    await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))

    assert rig.identity.jwks_calls == 2


async def test_identity_unreachable_before_any_key_is_known_is_503(rig: Any) -> None:
    rig.identity.jwks_fail = True

    response = await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0


async def test_cached_keys_keep_working_while_identity_is_unreachable(rig: Any) -> None:
    clock = Clock()
    rig.state.verifier.keys.clock = clock
    assert (await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))).status_code == 200
    rig.identity.jwks_fail = True
    clock.now += rig.settings.jwks_max_age_seconds

    response = await rig.client.get("/v1/me", headers=rig.auth("citizen_a"))

    assert response.status_code == 200
    assert rig.identity.jwks_calls == 2


async def test_openapi_publishes_who_may_call_each_route(rig: Any) -> None:
    spec = (await rig.client.get("/openapi.json")).json()

    operations = {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
    }
    assert len(operations) >= 24
    for name, operation in operations.items():
        assert "x-access" in operation, name
    filing = operations["POST /v1/grievances"]
    assert filing["x-access"]["anonymous"] is True
    assert filing["security"][0] == {}, "a public route's token is optional"
    queue = operations["GET /v1/transfer-queue"]
    assert queue["x-access"]["roles"] == ["DM"]
    assert {} not in queue["security"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_a_route_without_a_declaration_is_caught(make_rig: Any) -> None:
    rig = await make_rig(fresh_app=True)  # the route added stays on this app, which no other test gets

    async def sneaky() -> dict[str, str]:
        return {"secret": "data"}

    rig.app.add_api_route("/v1/sneaky", sneaky)

    assert undeclared_routes(rig.app) == ["GET /v1/sneaky"]


def test_create_app_refuses_a_router_with_an_undeclared_route(monkeypatch: pytest.MonkeyPatch) -> None:
    forgetful = APIRouter(prefix="/v1")

    @forgetful.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    monkeypatch.setattr(main, "categories", SimpleNamespace(router=forgetful))

    with pytest.raises(RuntimeError, match="GET /v1/forgotten"):
        main.create_app(GatewaySettings(profile=Profile.TEST))
