"""Issue 13: every process of the real suite serves Prometheus metrics on its own port, and a filing through the
gateway moves the gateway's route counter and intake's RPC counter; the sla worker serves the Temporal SDK's metrics
and the SLA's families. The dashboard (deploy/grafana/nivaran.json) asks only for names these endpoints serve."""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
import uuid
from pathlib import Path
from typing import Any

import devrun
import httpx
from _suite import RunningSuite
from prometheus_client.parser import text_string_to_metric_families

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.testing import eventually

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "nivaran.json"
FILE_GRIEVANCE = {"grpc_service": "nivaran.intake.v1.IntakeService", "grpc_method": "FileGrievance", "grpc_code": "OK"}
FILING_ROUTE = {"method": "POST", "route": "/v1/grievances", "status": "201"}
WORKFLOW_TASK_LATENCY = "temporal_workflow_task_schedule_to_start_latency_seconds_bucket"
# PromQL words that are not metric names.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "le", "and", "or", "unless", "bool"}


def _metrics_urls(suite: RunningSuite) -> dict[str, str]:
    """Every process's endpoint; the sla workers counted by their logs (sla-worker.log, sla-worker-2.log, ...)."""
    workers = len(list(suite.log_dir.glob("sla-worker*.log")))
    urls: dict[str, str] = devrun.Ports.metrics_urls(suite.ports, workers)
    return urls


async def _served(suite: RunningSuite) -> dict[str, Any]:
    """What the sla workers serve together (Temporal hands each task to whichever polls first)."""
    served: dict[str, Any] = {}
    for name, url in _metrics_urls(suite).items():
        if name.startswith("sla-worker"):
            for series, values in (await _scrape(url)).items():
                served.setdefault(series, []).extend(values)
    return served


async def _a_case_has_run(suite: RunningSuite, phone: str) -> dict[str, Any]:
    """File a case and wait until a worker has run a workflow task of it; what the workers then serve."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        assert (await http.post("/v1/grievances", json=await _a_filing(suite, phone))).status_code == 201
    served: dict[str, Any] = {}

    async def ran() -> bool:
        served.update(await _served(suite))
        return bool(served.get(WORKFLOW_TASK_LATENCY))

    await eventually(ran, timeout=60, every=1.0)
    return served


SERIES_OF = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


async def _scrape(url: str) -> dict[str, Any]:
    """{series name: [(labels, value)]} of one endpoint; a family without samples yet (a counter with labels that
    nothing has counted) is there with no values."""
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.get(url)
    assert reply.status_code == 200, url
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(reply.text):
        for suffix in SERIES_OF.get(family.type, ("",)):
            samples.setdefault(f"{family.name}{suffix}", [])
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def _value(samples: dict[str, Any], name: str, labels: dict[str, str]) -> float:
    return sum(value for have, value in samples.get(name, []) if labels.items() <= have.items())


async def _a_filing(suite: RunningSuite, phone: str) -> dict[str, Any]:
    async with suite.channel(suite.ports.routing) as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        categories = (await stub.ListCategories(routing_pb2.ListCategoriesRequest())).categories
        category = next(c for c in categories if not c.is_other and c.default_track == "sahyog")
        await stub.ResolveL1(
            routing_pb2.ResolveL1Request(category_code=category.code, location=common_pb2.Location(district_code="PAT"))
        )
    return {
        "complainant": {"name": "गीता कुमारी", "address": "ग्राम मैनपुरा, पटना", "phone": phone},
        "subject": "चापाकल खराब है",
        "description": "हमारे टोले का चापाकल दो महीने से खराब पड़ा है, पानी के लिए दूर जाना पड़ता है।",
        "channel": "web",
        "category_code": category.code,
        "location": {"district_code": "PAT"},
    }


async def test_every_process_serves_metrics_and_a_filing_moves_the_gateway_and_intake_counters(
    shared_suite: RunningSuite,
) -> None:
    urls = _metrics_urls(shared_suite)
    assert {"gateway", *devrun.SERVICES, "sla-worker", "mail-inbound"} <= set(urls)
    before = {name: await _scrape(url) for name, url in urls.items()}
    for name in devrun.SERVICES:
        # The readiness probes (health Check) have already been counted on every service.
        assert "grpc_server_handled_total" in before[name], name

    body = await _a_filing(shared_suite, "9876599131")
    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=30) as http:
        assert (await http.post("/v1/grievances", json=body)).status_code == 201

    gateway, intake = await _scrape(urls["gateway"]), await _scrape(urls["intake"])
    route = "http_server_requests_total"
    assert _value(gateway, route, FILING_ROUTE) == _value(before["gateway"], route, FILING_ROUTE) + 1
    rpc = "grpc_server_handled_total"
    assert _value(intake, rpc, FILE_GRIEVANCE) == _value(before["intake"], rpc, FILE_GRIEVANCE) + 1
    assert _value(intake, "grpc_server_handling_seconds_count", {"grpc_method": "FileGrievance"}) >= 1


async def test_the_sla_worker_serves_the_temporal_sdk_metrics_and_the_sla_families(shared_suite: RunningSuite) -> None:
    workers = await _a_case_has_run(shared_suite, "9876599132")
    assert workers["temporal_worker_task_slots_available"]
    assert {
        "nivaran_sla_deadline_lag_seconds_bucket",
        "nivaran_sla_show_cause_notices_total",
        "nivaran_sla_breaches_total",
    } <= set(workers)
    # Each worker serves its own: the first one's endpoint alone has the Temporal SDK's and the SLA's families.
    first = await _scrape(_metrics_urls(shared_suite)["sla-worker"])
    assert "temporal_worker_task_slots_available" in first
    assert "nivaran_sla_deadline_lag_seconds_count" in first


def _promql_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads: words that are not functions, keywords, label names or values."""
    bare = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]', " ", expression)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare):
        if not bare[match.end() :].lstrip().startswith("("):
            names.add(match.group())
    return {name for name in names - PROMQL_WORDS if "_" in name}


async def test_the_dashboard_asks_only_for_metrics_the_processes_serve(shared_suite: RunningSuite) -> None:
    served = set(await _a_case_has_run(shared_suite, "9876599133"))
    for url in _metrics_urls(shared_suite).values():
        served |= set(await _scrape(url))
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert expressions
    asked = set().union(*(_promql_names(e) for e in expressions))
    missing = asked - served
    assert not missing, f"the dashboard asks for metrics no process serves: {sorted(missing)}"


def test_make_run_gives_every_process_a_metrics_port_of_its_own(tmp_path: Path) -> None:
    ports = devrun.Ports()
    urls = ports.metrics_urls(sla_workers=3)
    assert set(urls) == {"gateway", *devrun.SERVICES, "mail-inbound", "sla-worker", "sla-worker-2", "sla-worker-3"}
    metrics_ports = [int(url.rsplit(":", 1)[1].split("/")[0]) for url in urls.values()]
    service_ports = [value for name, value in vars(ports).items() if not name.endswith("_metrics")]
    assert len(set(metrics_ports)) == len(metrics_ports)
    assert not set(metrics_ports) & set(service_ports)
    env = devrun.service_env(ports, {}, codec_keys="k", pki_dir=tmp_path / "pki")
    for name in ("gateway", *devrun.SERVICES):
        assert env[f"NIVARAN_{name.upper()}_METRICS_PORT"] == str(getattr(ports, f"{name}_metrics"))
    assert env["NIVARAN_MAILIN_METRICS_PORT"] == str(ports.mailin_metrics)
    # 0 turns one off: it is left out of the URLs make run prints.
    assert "intake" not in devrun.Ports(intake_metrics=0).metrics_urls()


async def test_intake_serves_the_open_cases_by_track_from_its_kept_counts(shared_suite: RunningSuite) -> None:
    """The dashboard's open clocks by track: intake reads its kept counts every 15 s (nivaran_intake.metrics)."""
    body = await _a_filing(shared_suite, "9876599134")
    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=30) as http:
        assert (await http.post("/v1/grievances", json=body)).status_code == 201
    url = _metrics_urls(shared_suite)["intake"]

    async def counted() -> bool:
        return _value(await _scrape(url), "nivaran_open_cases", {"track": "sahyog"}) >= 1

    await eventually(counted, timeout=60, every=1.0)


async def test_the_mail_receiver_counts_messages_taken_and_recipients_refused(shared_suite: RunningSuite) -> None:
    """The SMTP receiver (part of the gateway's pod) serves its own /metrics: a message filed by email is counted as
    accepted, a recipient of another domain as refused relaying."""
    url = _metrics_urls(shared_suite)["mail-inbound"]
    before = await _scrape(url)
    accepted = {"outcome": "accepted"}
    relaying = {"reason": "relaying"}
    message = (
        "From: geeta@mail.example.in\r\nTo: grievance@localhost\r\n"
        f"Message-ID: <metrics-{uuid.uuid4().hex}@mail.example.in>\r\n"
        "Subject: =?utf-8?b?4KSa4KS+4KSq4KS+4KSV4KSy?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Our hand pump in Mainpura, Patna has been broken for two months; we walk far for water.\r\n"
    ).encode()

    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", shared_suite.mail_port, timeout=30) as smtp:
            smtp.sendmail("geeta@mail.example.in", ["grievance@localhost"], message)
            try:
                smtp.sendmail("geeta@mail.example.in", ["someone@elsewhere.example"], message)
            except smtplib.SMTPRecipientsRefused:
                pass
            else:
                raise AssertionError("the receiver relayed mail for a domain not its own")

    await asyncio.to_thread(deliver)
    after = await _scrape(url)
    name = "nivaran_mailin_messages_total"
    assert _value(after, name, accepted) == _value(before, name, accepted) + 1
    refused = "nivaran_mailin_recipients_refused_total"
    assert _value(after, refused, relaying) == _value(before, refused, relaying) + 1
    assert _value(after, "nivaran_mailin_message_seconds_count", {}) >= 1
