"""RED per route (gateway/metrics.py): route templates, not raw paths, and nothing of it on the public port."""

from __future__ import annotations

from typing import Any

from nivaran_common.metrics import process_registry
from nivaran_gateway.metrics import UNMATCHED


def _requests(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return process_registry().get_sample_value("http_server_requests_total", labels) or 0.0


def _timed(method: str, route: str) -> float:
    labels = {"method": method, "route": route}
    return process_registry().get_sample_value("http_server_request_duration_seconds_count", labels) or 0.0


async def test_requests_are_counted_by_method_route_template_and_status(rig: Any) -> None:
    template = "/v1/grievances/{registration_number}/documents"
    before = (_requests("GET", "/healthz", "200"), _requests("GET", template, "401"), _timed("GET", template))

    assert (await rig.client.get("/healthz")).status_code == 200
    assert (await rig.client.get("/v1/grievances/BR-PAT-2026-000001/documents")).status_code == 401

    assert _requests("GET", "/healthz", "200") == before[0] + 1
    assert _requests("GET", template, "401") == before[1] + 1
    assert _timed("GET", template) == before[2] + 1
    raw = {
        sample.labels.get("route")
        for metric in process_registry().collect()
        for sample in metric.samples
        if sample.name == "http_server_requests_total"
    }
    assert "/v1/grievances/BR-PAT-2026-000001/documents" not in raw


async def test_paths_no_route_matches_share_one_label_value(rig: Any) -> None:
    before = _requests("GET", UNMATCHED, "404")

    for path in ("/no/such/page-1", "/no/such/page-2"):
        assert (await rig.client.get(path)).status_code == 404

    assert _requests("GET", UNMATCHED, "404") == before + 2


async def test_metrics_are_not_served_on_the_public_port_nor_in_the_openapi_document(rig: Any) -> None:
    assert (await rig.client.get("/metrics")).status_code == 404
    paths = (await rig.client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if "metrics" in path]
