"""Bad input gets a 4xx problem+json naming the field, never a 500; gRPC statuses map to HTTP problems."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from nivaran_common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

PROBLEM_JSON = "application/problem+json"
Filing = Callable[..., dict[str, Any]]


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with a Hindi title, of `status`, naming `field` when given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    for member in ("type", "title", "title_hi", "status", "detail", "instance"):
        assert problem.get(member) not in (None, ""), member
    assert problem["status"] == status
    assert any("\u0900" <= ch <= "\u097f" for ch in problem["title_hi"]), "title_hi must be Hindi"
    assert "Traceback" not in response.text
    if field is not None:
        assert field in [e["field"] for e in problem.get("errors", [])], problem
    return problem


def _without(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        del target[leaf]

    return edit


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        target[leaf] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(_without("complainant"), "complainant", id="missing-complainant"),
        pytest.param(_without("complainant.name"), "complainant.name", id="missing-name"),
        pytest.param(_without("complainant.address"), "complainant.address", id="missing-address"),
        pytest.param(_without("description"), "description", id="missing-description"),
        pytest.param(_without("category_code"), "category_code", id="missing-category"),
        pytest.param(_without("location.district_code"), "location.district_code", id="missing-district"),
        pytest.param(_set("description", 123), "description", id="number-for-string"),
        pytest.param(_set("complainant.aadhaar", 234567890124), "complainant.aadhaar", id="number-for-aadhaar"),
        pytest.param(_set("complainant", "राम"), "complainant", id="string-for-object"),
        pytest.param(_set("location", ["PAT"]), "location", id="list-for-object"),
        pytest.param(_set("complainant.name", None), "complainant.name", id="null-name"),
        pytest.param(_set("channel", "pigeon"), "channel", id="unknown-channel"),
        pytest.param(_set("channel", 1), "channel", id="number-channel"),
        pytest.param(_set("language", "fr"), "language", id="unknown-language"),
        pytest.param(_set("complainant.preferred_language", "xx"), "complainant.preferred_language", id="bad-pref"),
        pytest.param(_set("complainant.nickname", "R"), "complainant.nickname", id="unknown-member"),
    ],
)
async def test_bad_fields_are_422_naming_the_dotted_path(
    rig: Any, make_filing: Filing, edit: Callable[[dict[str, Any]], None], field: str
) -> None:
    body = make_filing()
    edit(body)

    response = await rig.client.post("/v1/grievances", json=body)

    assert_problem(response, 422, field)
    assert rig.intake.requests == []


async def test_lone_surrogate_escape_is_422_naming_the_field(rig: Any, make_filing: Filing) -> None:
    # json.dumps escapes the surrogate as \ud800, which parses into a str that protobuf could not encode.
    raw = json.dumps(make_filing(description="शिकायत \ud800 बाकी")).encode()

    response = await rig.client.post("/v1/grievances", content=raw, headers={"Content-Type": "application/json"})

    assert_problem(response, 422, "description")
    assert rig.intake.requests == []


async def test_lone_surrogate_in_a_member_name_is_422_not_500(rig: Any, make_filing: Filing) -> None:
    body = make_filing()
    body["complainant"]["\ud800"] = "x"

    response = await rig.client.post(
        "/v1/grievances", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422)
    assert rig.intake.requests == []


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[]", id="array"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"42", id="number"),
    ],
)
async def test_body_of_the_wrong_json_type_is_422_naming_body(rig: Any, raw: bytes) -> None:
    response = await rig.client.post("/v1/grievances", content=raw, headers={"Content-Type": "application/json"})

    assert_problem(response, 422, "body")
    assert rig.intake.requests == []


async def test_empty_body_is_422_naming_body(rig: Any) -> None:
    response = await rig.client.post("/v1/grievances", headers={"Content-Type": "application/json"})

    assert_problem(response, 422, "body")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        pytest.param(b'{"complainant": ', 400, id="truncated-json"),
        pytest.param(b"{'single': 'quotes'}", 400, id="not-json"),
        pytest.param(b'{"description": "\xff\xfe bad bytes"}', 400, id="non-utf8"),
        pytest.param('{"description": "शिकायत"}'.encode("utf-16"), 400, id="utf16"),
        pytest.param(b"[" * 2000 + b"]" * 2000, 400, id="deeply-nested"),
        pytest.param(b'{"description": ' + b"9" * 5000 + b"}", 400, id="huge-integer"),
    ],
)
async def test_malformed_bodies_are_400_naming_body(make_rig: Any, raw: bytes, status: int) -> None:
    rig = await make_rig(max_body_bytes=16384)
    response = await rig.client.post(
        "/v1/grievances", content=raw, headers={"Content-Type": "application/json; charset=utf-8"}
    )

    assert_problem(response, status, "body")
    assert rig.intake.requests == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_in_a_body_are_400_naming_body(rig: Any, make_filing: Filing, constant: str) -> None:
    # Python's json takes these bare words by default; RFC 8259 does not, so they are invalid JSON, not numbers.
    raw = json.dumps(make_filing()).encode()[:-1] + b', "extra": ' + constant.encode() + b"}"

    response = await rig.client.post("/v1/grievances", content=raw, headers={"Content-Type": "application/json"})

    assert_problem(response, 400, "body")
    assert rig.intake.requests == []


async def test_text_fields_reach_intake_nfc_normalised(rig: Any, make_filing: Filing) -> None:
    # क़ sent as U+0958 (a composition exclusion) and as U+0915 U+093C both arrive as NFC: U+0915 U+093C.
    decomposed, precomposed = "\u0915\u093c", "\u0958"
    body = make_filing(
        subject=f"{precomposed}ानून",
        description=f"{decomposed}ानूनी मदद के लिए {precomposed}ानूनगो कार्यालय में आवेदन लंबित है",
        expected_resolution=f"{precomposed}ानूनी कार्रवाई",
    )
    body["complainant"]["name"] = f"{precomposed}ासिम"
    body["complainant"]["address"] = f"ग्राम {decomposed}ाज़ीपुर, पटना"

    response = await rig.client.post("/v1/grievances", json=body)

    assert response.status_code == 201, response.text
    sent = rig.intake.requests[-1]
    assert sent.subject == f"{decomposed}ानून"
    assert sent.description == f"{decomposed}ानूनी मदद के लिए {decomposed}ानूनगो कार्यालय में आवेदन लंबित है"
    assert sent.expected_resolution == f"{decomposed}ानूनी कार्रवाई"
    assert sent.complainant.name == f"{decomposed}ासिम"
    assert sent.complainant.address.startswith(f"ग्राम {decomposed}ा")
    assert precomposed not in sent.description


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"])
async def test_wrong_content_type_is_415(rig: Any, make_filing: Filing, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await rig.client.post("/v1/grievances", content=json.dumps(make_filing()).encode(), headers=headers)

    assert_problem(response, 415, "body")
    assert rig.intake.requests == []


async def test_oversized_body_with_content_length_is_413(rig: Any, make_filing: Filing) -> None:
    body = make_filing(description="शिकायत " * 1000)

    response = await rig.client.post("/v1/grievances", json=body)

    assert "content-length" in response.request.headers
    assert_problem(response, 413, "body")
    assert rig.intake.requests == []


async def test_oversized_streamed_body_without_content_length_is_413(rig: Any) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"description": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    response = await rig.client.post("/v1/grievances", content=chunks(), headers={"Content-Type": "application/json"})

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "body")
    assert rig.intake.requests == []


async def test_body_larger_than_its_declared_content_length_is_413(rig: Any) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b" " * 1024

    response = await rig.client.post(
        "/v1/grievances", content=chunks(), headers={"Content-Type": "application/json", "Content-Length": "10"}
    )

    assert response.request.headers["content-length"] == "10"
    assert_problem(response, 413, "body")


@pytest.mark.parametrize(
    "number",
    [
        "br-pat-2026-0000001-7",
        "BR-PAT-2026-000001-7",
        "BR-PAT-2026-0000001",
        "BR-P-2026-0000001-7",
        "BR-PAT-२०२६-0000001-7",
        "BR-PAT-2026-0000001-7 ",
        "x' OR 1=1 --",
        "ब" * 20,
    ],
)
async def test_bad_registration_number_is_400_naming_it(rig: Any, number: str) -> None:
    response = await rig.client.get(f"/v1/grievances/{number}", headers=rig.auth("citizen_a"))

    assert_problem(response, 400, "registration_number")


@pytest.mark.parametrize("key", ["short", "has space in it", "ключ-на-русском", "a" * 129, "semi;colon-key", ""])
async def test_bad_idempotency_key_is_400_naming_the_header(rig: Any, make_filing: Filing, key: str) -> None:
    headers = {"Idempotency-Key": key.encode()}
    response = await rig.client.post("/v1/grievances", json=make_filing(), headers=headers)

    assert_problem(response, 400, "Idempotency-Key")
    assert rig.intake.requests == []


async def test_unknown_route_is_404_problem(rig: Any) -> None:
    response = await rig.client.get("/v1/nothing-here")

    assert_problem(response, 404)


async def test_wrong_method_is_405_problem_with_allow(rig: Any) -> None:
    response = await rig.client.delete("/v1/grievances")

    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]


async def test_invalid_argument_violations_keep_their_field_paths(rig: Any, make_filing: Filing) -> None:
    body = make_filing()
    body["complainant"]["aadhaar"] = "1234-5678"

    response = await rig.client.post("/v1/grievances", json=body)

    problem = assert_problem(response, 422, "complainant.aadhaar")
    assert problem["errors"] == [
        {"field": "complainant.aadhaar", "detail": "is not a valid Aadhaar number (12 digits, checksum)"}
    ]


async def test_several_violations_are_all_reported(rig: Any, make_filing: Filing) -> None:
    rig.intake.fail_with = InvalidArgument.of(
        [
            FieldViolation("location.block_code", "is not in district PAT"),
            FieldViolation("complainant.phone", "must be a valid Indian phone number"),
        ]
    )

    response = await rig.client.post("/v1/grievances", json=make_filing())

    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["location.block_code", "complainant.phone"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(NotFound("no such category"), 404, id="not-found"),
        pytest.param(AlreadyExists("already filed"), 409, id="already-exists"),
        pytest.param(DomainError("conflict", code=grpc.StatusCode.ABORTED), 409, id="aborted"),
        pytest.param(FailedPrecondition("category is retired"), 422, id="failed-precondition"),
        pytest.param(PermissionDenied("not your district"), 403, id="permission-denied"),
        pytest.param(Unauthenticated("log in first"), 401, id="unauthenticated"),
        pytest.param(ResourceExhausted("slow down"), 429, id="resource-exhausted"),
        pytest.param(Unavailable("routing is down"), 503, id="unavailable"),
        pytest.param(DomainError("too slow", code=grpc.StatusCode.DEADLINE_EXCEEDED), 503, id="deadline"),
        pytest.param(NotImplementedError(), 501, id="unimplemented"),
        pytest.param(DomainError("data loss", code=grpc.StatusCode.DATA_LOSS), 502, id="data-loss"),
        pytest.param(RuntimeError("secret stack detail"), 502, id="internal"),
    ],
)
async def test_grpc_status_maps_to_http_problem(rig: Any, make_filing: Filing, error: Exception, status: int) -> None:
    rig.intake.fail_with = error

    response = await rig.client.post("/v1/grievances", json=make_filing())

    problem = assert_problem(response, status)
    if status in (429, 503):
        assert int(response.headers["retry-after"]) > 0
    if status == 502:
        assert "secret" not in response.text
        assert "data loss" not in response.text
    if status in (403, 404, 409):
        assert problem["detail"] == str(error)


async def test_unhandled_exception_is_500_problem_without_details(make_rig: Any) -> None:
    rig = await make_rig(raise_app_exceptions=False, fresh_app=True)

    async def explode() -> None:
        raise RuntimeError("secret internals")

    rig.app.add_api_route("/v1/explode", explode)

    response = await rig.client.get("/v1/explode")

    assert_problem(response, 500)
    assert "secret" not in response.text
