"""Probes and the published OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

PROBLEM_JSON = "application/problem+json"


async def test_healthz_is_ok(rig: Any) -> None:
    response = await rig.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_dependencies_are_200_when_every_service_serves_and_redis_answers(rig: Any) -> None:
    response = await rig.client.get("/readyz/dependencies")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {
        "intake": "serving",
        "routing": "serving",
        "identity": "serving",
        "notify": "serving",
        "sla": "serving",
        "redis": "serving",
    }


async def test_dependencies_are_503_naming_what_is_down(make_rig: Any, unused_tcp_port_target: str) -> None:
    rig = await make_rig(notify_target=unused_tcp_port_target, redis=f"redis://{unused_tcp_port_target}/0")

    response = await rig.client.get("/readyz/dependencies")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["title_hi"]
    assert problem["checks"]["intake"] == "serving"
    assert problem["checks"]["notify"].startswith("unreachable")
    assert problem["checks"]["redis"].startswith("unreachable")
    assert "notify" in problem["detail"]
    assert "redis" in problem["detail"]
    assert problem["instance"] == "/readyz/dependencies"


async def test_readyz_stays_200_while_a_shared_dependency_is_down(make_rig: Any, unused_tcp_port_target: str) -> None:
    """The replica stays in rotation (routes/health.py says why): a request that needs the missing part gets the
    gateway's own 503 problem+json with Retry-After, not the ingress's bare answer."""
    rig = await make_rig(notify_target=unused_tcp_port_target, redis=f"redis://{unused_tcp_port_target}/0")

    ready = await rig.client.get("/readyz")
    dependencies = await rig.client.get("/readyz/dependencies")

    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}
    assert dependencies.status_code == 503


async def test_openapi_documents_problem_responses(rig: Any) -> None:
    response = await rig.client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    schemas = spec["components"]["schemas"]
    assert {"type", "title", "title_hi", "status", "detail", "instance", "errors"} <= set(
        schemas["Problem"]["properties"]
    )
    assert "FieldError" in schemas
    post = spec["paths"]["/v1/grievances"]["post"]
    for status in ("400", "409", "413", "415", "422", "503"):
        content = post["responses"][status]["content"]
        assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in schemas
    assert {"201", "200"} <= set(post["responses"])
    get = spec["paths"]["/v1/grievances/{registration_number}"]["get"]
    assert {"400", "404"} <= set(get["responses"])

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(spec):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_the_api_page_works_offline_with_swagger_ui_served_by_the_gateway(rig: Any) -> None:
    page = await rig.client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # Every asset the page loads is the gateway's own: nothing from a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets
    assert all(a.startswith("/docs/static/") for a in assets), assets
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    for asset in assets:
        served = await rig.client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500, asset
