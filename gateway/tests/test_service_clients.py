"""/v1/service-clients: admins make, list and disable department clients; the secret is shown once, never cached,
and identity is told who acts in which admin role."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_testkit import auth, bearer, mint

from nivaran.identity.v1 import identity_pb2

STATE_ADMIN = {"sub": "acct-state-admin", "kind": "operator", "roles": ["operator", "STATE_ADMIN"]}
FOOD_ADMIN = {"sub": "acct-food-admin", "kind": "operator", "roles": ["operator", "DEPT_ADMIN"]}
NEW_CLIENT = {"name": "PDS ration-card system", "department_code": "FOOD", "scopes": ["grievances.file"]}


def sent(rig: Any, kind: type) -> list[Any]:
    return [r for r in rig.identity.requests if isinstance(r, kind)]


async def test_a_state_admin_makes_a_client_and_sees_its_secret_once(rig: Any) -> None:
    response = await rig.client.post("/v1/service-clients", json=NEW_CLIENT, headers=bearer(mint(STATE_ADMIN)))

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["client_secret"].startswith("nvcs_")
    client = created["client"]
    assert (client["department_code"], client["scopes"], client["active"]) == ("FOOD", ["grievances.file"], True)
    [request] = sent(rig, identity_pb2.CreateServiceClientRequest)
    assert (request.actor.account_id, request.actor.role) == ("acct-state-admin", "STATE_ADMIN")
    listed = await rig.client.get("/v1/service-clients", headers=bearer(mint(STATE_ADMIN)))
    assert client["id"] in {c["id"] for c in listed.json()["clients"]}
    assert created["client_secret"] not in listed.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_CLIENT, "scopes": ["grievances.delete"]}, "scopes[0]"),
        ({**NEW_CLIENT, "scopes": []}, "scopes"),
        ({**NEW_CLIENT, "department_code": ""}, "department_code"),
        ({**NEW_CLIENT, "secret": "mine"}, "secret"),
    ],
)
async def test_a_bad_client_is_422_naming_the_field(rig: Any, body: dict[str, Any], field: str) -> None:
    response = await rig.client.post("/v1/service-clients", json=body, headers=bearer(mint(STATE_ADMIN)))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not sent(rig, identity_pb2.CreateServiceClientRequest)


async def test_a_department_admin_lists_and_disables_as_department_admin(rig: Any) -> None:
    headers = bearer(mint(FOOD_ADMIN))

    listed = await rig.client.get("/v1/service-clients", params={"department_code": "FOOD"}, headers=headers)
    disabled = await rig.client.post("/v1/service-clients/client-food-1/disable", headers=headers)
    unknown = await rig.client.post("/v1/service-clients/client-nobody/disable", headers=headers)

    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["clients"]] == ["client-food-1"]
    [asked] = sent(rig, identity_pb2.ListServiceClientsRequest)
    assert (asked.department_code, asked.actor.role) == ("FOOD", "DEPT_ADMIN")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False
    assert disabled.json()["disabled_at"]
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("persona", ["dm_a", "secretary", "citizen_a"])
async def test_only_admins_manage_clients(rig: Any, persona: str) -> None:
    made = await rig.client.post("/v1/service-clients", json=NEW_CLIENT, headers=auth(persona))
    listed = await rig.client.get("/v1/service-clients", headers=auth(persona))

    assert (made.status_code, listed.status_code) == (403, 403)
    assert not sent(rig, identity_pb2.CreateServiceClientRequest)


async def test_openapi_says_who_may_manage_clients(rig: Any) -> None:
    paths = (await rig.client.get("/openapi.json")).json()["paths"]

    for path, method in (
        ("/v1/service-clients", "post"),
        ("/v1/service-clients", "get"),
        ("/v1/service-clients/{client_id}/disable", "post"),
    ):
        assert paths[path][method]["x-access"]["roles"] == ["STATE_ADMIN", "DEPT_ADMIN"]
