"""End to end: the real gateway over HTTP, through every service and Temporal, to the SMTP server.

Every process is the one `make run` starts (`python -m nivaran_<name>`), here on free ports, with PostgreSQL
databases of this test's own, the real Temporal dev server, a real Redis key prefix and a real aiosmtpd server.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import SmtpServer, eventually

# Identity runs with the dev profile here (scripts/devrun.py sets NIVARAN_IDENTITY_DEV_FIXED_OTP), so the OTP that
# would go by SMS is fixed; no other profile accepts a fixed OTP.
DEV_FIXED_OTP = "123456"

HINDI_FILING: dict[str, Any] = {
    "complainant": {
        "name": "सीता देवी",
        "address": "ग्राम बेलदारीचक, प्रखंड फुलवारी शरीफ, पटना",
        "phone": "9876543210",
        "email": "sita.devi@example.in",
        "aadhaar": "234123412346",
    },
    "subject": "राशन कार्ड नहीं बना",
    "description": "मैंने छह महीने पहले राशन कार्ड के लिए आवेदन दिया था, पर अब तक कार्ड नहीं बना है।",
    "expected_resolution": "राशन कार्ड जल्द जारी किया जाए।",
    "channel": "web",
}


@dataclass
class Suite:
    base_url: str
    log_dir: Path
    smtp: SmtpServer
    category_code: str
    location: dict[str, str]
    l1_position_id: str


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> Suite:
    """The session's suite (tests/conftest.py), with the demo category this module files in."""
    category, location, position = await _resolve_demo(shared_suite.channel(shared_suite.ports.routing))
    return Suite(shared_suite.base_url, shared_suite.log_dir, shared_suite.smtp, category, location, position)


async def _resolve_demo(routing: Any) -> tuple[str, dict[str, str], str]:
    """Pick a demo category and ask the real routing service (as the gateway) which position is its L1 there."""
    from nivaran.common.v1 import common_pb2
    from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc

    async with routing as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        categories = (await stub.ListCategories(routing_pb2.ListCategoriesRequest())).categories
        districts = (await stub.ListAreas(routing_pb2.ListAreasRequest(level=routing_pb2.AREA_LEVEL_DISTRICT))).areas
        district = next(d.code for d in districts if d.code == "PAT")
        category = next(c for c in categories if not c.is_other and c.default_track == "sahyog")
        resolved = await stub.ResolveL1(
            routing_pb2.ResolveL1Request(
                category_code=category.code, location=common_pb2.Location(district_code=district)
            )
        )
    return category.code, {"district_code": district}, resolved.position.id


async def _sign_in_as_citizen(http: httpx.AsyncClient, phone: str) -> dict[str, str]:
    """OTP sign-in through the gateway and the real identity service; the Authorization header to use."""
    asked = await http.post("/v1/auth/otp", json={"phone": phone})
    assert asked.status_code == 202, asked.text
    verified = await http.post("/v1/auth/otp/verify", json={"phone": phone, "otp": DEV_FIXED_OTP})
    assert verified.status_code == 200, verified.text
    return {"Authorization": f"Bearer {verified.json()['access_token']}"}


def _text_of(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    chunks = []
    for part in parts:
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                chunks.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(chunks)


async def test_B5_S8_hindi_grievance_reaches_the_l1_officer_and_the_citizen_gets_an_acknowledgement(
    suite: Suite,
) -> None:
    body = {**HINDI_FILING, "category_code": suite.category_code, "location": suite.location}
    key = f"e2e-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        created = await http.post("/v1/grievances", json=body, headers={"Idempotency-Key": key})
        assert created.status_code == 201, created.text
        number = created.json()["registration_number"]
        assert re.fullmatch(r"BR-[A-Z0-9]+-\d{4}-\d{7}-\d", number)
        assert created.headers["location"].endswith(number)

        retried = await http.post("/v1/grievances", json=body, headers={"Idempotency-Key": key})
        assert retried.status_code in (200, 201)
        assert retried.json()["registration_number"] == number

        # Tracking needs a token: the citizen signs in with the phone given in the filing, which makes it theirs.
        assert (await http.get(f"/v1/grievances/{number}")).status_code == 401
        citizen = await _sign_in_as_citizen(http, HINDI_FILING["complainant"]["phone"])

        async def assigned_and_acknowledged() -> bool:
            got = (await http.get(f"/v1/grievances/{number}", headers=citizen)).json()
            kinds = [e["event_type"] for e in got.get("timeline") or []]
            return got.get("status") == "assigned" and "acknowledgement_sent" in kinds and bool(got.get("notices"))

        await eventually(assigned_and_acknowledged, timeout=60, every=0.25)
        case = (await http.get(f"/v1/grievances/{number}", headers=citizen)).json()

    assert case["assignment"]["position_id"] == suite.l1_position_id
    assert case["assignment"]["position_title"]["hi"]
    assert case["assignment"]["office_name"]["en"]
    assert case["complainant"]["aadhaar"] == "XXXX-XXXX-2346"
    assert "9876543210" not in json.dumps(case)
    kinds = [e["event_type"] for e in case["timeline"]]
    assert kinds[:2] == ["registered", "assigned"]
    acknowledgement = next(n for n in case["notices"] if n["template"] == "acknowledgement")
    channels = {d["channel"]: d for d in acknowledgement["deliveries"]}
    assert set(channels) >= {"in_app", "email"}

    # The complainant's mail (the L1 officer is mailed the new case too, S16 / C2: tests/test_officer_channels_e2e.py).
    mail = await suite.smtp.mail.wait_for(
        lambda m: m.get("X-Nivaran-Registration") == number and "sita.devi@example.in" in str(m["To"]), timeout=30
    )
    assert mail["To"].endswith("sita.devi@example.in") or "sita.devi@example.in" in mail["To"]
    text = _text_of(mail)
    assert number in text
    assert re.search(r"[\u0900-\u097F]", text), "the acknowledgement must carry Hindi"
    assert re.search(r"[Gg]rievance|[Cc]omplaint", text), "the acknowledgement must carry English"

    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        count_same = 0
        for _ in range(2):
            again = await http.post("/v1/grievances", json=body, headers={"Idempotency-Key": key})
            count_same += again.json()["registration_number"] == number
    assert count_same == 2


BAD_INPUTS: list[tuple[str, dict[str, Any] | bytes, str]] = [
    ("unknown category", {"category_code": "NO-SUCH-CATEGORY"}, "category_code"),
    ("unknown district", {"location": {"district_code": "ZZZ"}}, "location.district_code"),
    ("bad aadhaar checksum", {"complainant": {**HINDI_FILING["complainant"], "aadhaar": "234123412345"}},
     "complainant.aadhaar"),
    ("missing description", {"description": None}, "description"),
    ("bad phone", {"complainant": {**HINDI_FILING["complainant"], "phone": "12"}}, "complainant.phone"),
    ("unknown channel", {"channel": "pigeon"}, "channel"),
    ("non-utf8 body", b"\xff\xfe{\"a\": 1}", "body"),
    ("oversized body", {"description": "क" * 200_000}, "body"),
]  # fmt: skip


async def test_bad_input_through_the_whole_stack_gets_a_4xx_problem_naming_the_field(suite: Suite) -> None:
    base = {**HINDI_FILING, "category_code": suite.category_code, "location": suite.location}
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        for label, change, field in BAD_INPUTS:
            if isinstance(change, bytes):
                response = await http.post(
                    "/v1/grievances", content=change, headers={"Content-Type": "application/json"}
                )
            else:
                payload = {k: v for k, v in {**base, **change}.items() if v is not None}
                response = await http.post("/v1/grievances", json=payload)
            assert 400 <= response.status_code < 500, (label, response.status_code, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), label
            problem = response.json()
            named = {e["field"] for e in problem.get("errors", [])} | {problem.get("field", "")}
            assert field in named or field in problem.get("detail", ""), (label, problem)


async def test_one_trace_spans_gateway_intake_temporal_and_the_activities(suite: Suite) -> None:
    # A phone of this test's own: the suite is shared, and OTP requests are limited (and spaced) per phone.
    complainant = {**HINDI_FILING["complainant"], "phone": "9876500023"}
    body = {
        **HINDI_FILING,
        "complainant": complainant,
        "category_code": suite.category_code,
        "location": suite.location,
    }
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        created = await http.post("/v1/grievances", json=body)
        assert created.status_code == 201
        number = created.json()["registration_number"]
        citizen = await _sign_in_as_citizen(http, complainant["phone"])

        async def acknowledged() -> bool:
            got = (await http.get(f"/v1/grievances/{number}", headers=citizen)).json()
            return "acknowledgement_sent" in [e["event_type"] for e in got.get("timeline") or []]

        await eventually(acknowledged, timeout=60, every=0.25)

    def trace_ids(name: str, span_name_pattern: str) -> set[str]:
        # Every process of that name: the suite runs more than one sla worker (sla-worker.log, sla-worker-2.log).
        text = "".join(p.read_text(errors="replace") for p in suite.log_dir.glob(f"{name}*.log"))
        found = set()
        for match in re.finditer(r'"name": "([^"]+)",\s*"context": \{\s*"trace_id": "(0x[0-9a-f]+)"', text):
            if re.search(span_name_pattern, match.group(1)):
                found.add(match.group(2))
        return found

    def joined() -> tuple[set[str], set[str]]:
        gateway = trace_ids("gateway", r"POST /v1/grievances")
        intake = trace_ids("intake", r"FileGrievance")
        worker = trace_ids("sla-worker", r"RunActivity:record_transition")
        return gateway & intake, gateway & intake & worker

    async def spans_flushed() -> bool:
        # Each process flushes its spans on its own schedule, and the shared suite's logs already hold other
        # cases' spans: wait until this filing's trace has reached all three, for at most 30 s.
        return bool(joined()[1])

    with contextlib.suppress(TimeoutError):
        await eventually(spans_flushed, timeout=30)
    into_intake, into_worker = joined()
    assert into_intake, "the gateway's trace continues into intake over gRPC"
    assert into_worker, "and through Temporal into the sla worker's (local) activities"


async def test_two_sla_workers_share_the_cases(suite: Suite) -> None:
    """The suite runs two sla worker processes on one task queue (NIVARAN_DEV_SLA_WORKERS; issue 9). Six filings
    (some two dozen activities, handed to whichever worker polls first) leave activities in each worker's log."""

    def activities_run(log: Path) -> int:
        return log.read_text(errors="replace").count('"name": "RunActivity:') if log.exists() else 0

    logs = [suite.log_dir / "sla-worker.log", suite.log_dir / "sla-worker-2.log"]
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=30) as http:
        for _ in range(6):
            body = {**HINDI_FILING, "category_code": suite.category_code, "location": suite.location}
            key = {"Idempotency-Key": f"two-workers-{uuid.uuid4().hex}"}
            filed = await http.post("/v1/grievances", json=body, headers=key)
            assert filed.status_code == 201, filed.text

    async def both_worked() -> bool:
        return all(activities_run(log) for log in logs)

    await eventually(both_worked, timeout=60)
