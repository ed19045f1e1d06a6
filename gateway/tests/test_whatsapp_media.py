"""B5 / C1 at the gateway: a photo or a document sent on WhatsApp is fetched from the Cloud API (the media id's URL,
then its bytes, each with the access token) and handed to intake with its caption and the sender's profile name; a
file too large or not fetchable is handed on without it and named, so that it is answered, never dropped; the
answer goes in the language the person chose. The Cloud API is scripts/message_sink.py's Graph-shaped stand-in, a
real HTTP server on a free port."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from gateway_testkit import Rig
from pydantic import ValidationError
from test_whatsapp import meta

from nivaran_common.settings import Profile
from nivaran_common.testing import eventually, free_port
from nivaran_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tk9-WaAccess-" + "Hy7uJ3kL9pO1iU5yT2rE8wQ4aS6dF"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"0" * 300


def _message_sink() -> Any:
    spec = importlib.util.spec_from_file_location("message_sink", ROOT / "scripts" / "message_sink.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest_asyncio.fixture
async def graph(tmp_path: Path) -> AsyncIterator[str]:
    """The Cloud API's media, served by the project's stand-in on a free port; its base URL."""
    port = free_port()
    app = _message_sink().build_app(tmp_path / "sink", TOKEN)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    try:
        yield f"http://127.0.0.1:{port}/graph"
    finally:
        server.should_exit = True
        await task


async def upload(graph: str, content: bytes, content_type: str) -> str:
    async with httpx.AsyncClient() as http:
        stored = await http.post(f"{graph}/media", content=content, headers={"Content-Type": content_type})
    assert stored.status_code == 200, stored.text
    return str(stored.json()["id"])


@pytest_asyncio.fixture
async def media_rig(make_rig: Callable[..., Awaitable[Rig]], graph: str) -> Rig:
    return await make_rig(whatsapp_graph_base_url=graph, whatsapp_access_token=TOKEN, whatsapp_media_max_bytes=4096)


async def notify(rig: Rig, *messages: dict[str, Any], name: str = "Sita Devi") -> None:
    contacts = [{"profile": {"name": name}, "wa_id": "919876500401"}]
    body, headers = meta({"messaging_product": "whatsapp", "contacts": contacts, "messages": list(messages)})
    answered = await rig.client.post("/v1/inbound/whatsapp", content=body, headers=headers)
    assert answered.status_code == 200, answered.text
    assert answered.json()["messages"] == len(messages)


def photo(media_id: str, wamid: str, **extra: Any) -> dict[str, Any]:
    image = {"id": media_id, "mime_type": "image/png", **extra}
    return {"from": "919876500401", "id": wamid, "type": "image", "image": image}


async def test_B5_C1_a_photo_and_a_document_are_fetched_and_handed_on_with_their_captions(
    media_rig: Rig, graph: str
) -> None:
    photo_id = await upload(graph, PNG, "image/png")
    pdf_id = await upload(graph, PDF, "application/pdf")
    document = {"id": pdf_id, "mime_type": "application/pdf", "filename": "ration-slip.pdf", "caption": "पर्ची"}
    await notify(
        media_rig,
        photo(photo_id, "wamid.P1", caption="टूटी सड़क"),
        {"from": "919876500401", "id": "wamid.D1", "type": "document", "document": document},
    )
    pictured, documented = media_rig.intake.inbound
    assert (pictured.channel, pictured.sender, pictured.text) == ("whatsapp", "+919876500401", "टूटी सड़क")
    assert (pictured.sender_name, pictured.file_problem) == ("Sita Devi", "")
    [file] = pictured.files
    assert (file.filename, file.content_type, file.content) == ("whatsapp-photo", "image/png", PNG)
    [pdf] = documented.files
    assert (pdf.filename, pdf.content_type, pdf.content, documented.text) == (
        "ration-slip.pdf", "application/pdf", PDF, "पर्ची"
    )  # fmt: skip
    assert [r.dedupe_key for r in media_rig.notify.sent] == [
        "inbound-whatsapp:wamid.P1:reply",
        "inbound-whatsapp:wamid.D1:reply",
    ]


async def test_B5_a_file_too_large_or_not_fetched_is_named_and_answered_not_dropped(
    media_rig: Rig, graph: str, make_rig: Callable[..., Awaitable[Rig]]
) -> None:
    large = await upload(graph, PNG * 5, "image/png")  # over the rig's 4096-byte limit
    await notify(media_rig, photo(large, "wamid.L1"), photo("4040404040", "wamid.U1", caption="फ़ोटो"))
    too_large, unknown = media_rig.intake.inbound
    assert (too_large.file_problem, list(too_large.files)) == ("too_large", [])
    assert (unknown.file_problem, list(unknown.files), unknown.text) == ("unavailable", [], "फ़ोटो")
    assert len(media_rig.notify.sent) == 2  # each answered

    small = await upload(graph, PNG, "image/png")
    wrong_token = await make_rig(whatsapp_graph_base_url=graph, whatsapp_access_token="tk9-Wrong-" + "Zx8cV2bN6mQ1wE5r")
    no_token = await make_rig(whatsapp_graph_base_url=graph)
    for rig, wamid in ((wrong_token, "wamid.W1"), (no_token, "wamid.N1")):
        await notify(rig, photo(small, wamid))
    assert [(r.provider_message_id, r.file_problem) for r in media_rig.intake.inbound[2:]] == [
        ("wamid.W1", "unavailable"),
        ("wamid.N1", "unavailable"),
    ]


async def test_B5_a_graph_api_that_names_a_url_of_another_scheme_gets_no_token(
    make_rig: Callable[..., Awaitable[Rig]], graph: str
) -> None:
    # An https Graph API whose answer points at plain http: the token is not sent there.
    rig = await make_rig(whatsapp_graph_base_url=graph.replace("http://", "https://"), whatsapp_access_token=TOKEN)
    await notify(rig, photo(await upload(graph, PNG, "image/png"), "wamid.S1"))
    [sent] = rig.intake.inbound
    assert sent.file_problem == "unavailable"


async def test_C1_the_answer_goes_in_the_language_the_person_chose(rig: Rig) -> None:
    await notify(rig, {"from": "919876500401", "id": "wamid.H1", "type": "text", "text": {"body": "1"}})
    [reply] = rig.notify.sent
    assert reply.params["reply_language"] == "hi"
    assert reply.recipient.preferred_language == "hi"


@pytest.mark.parametrize("profile", [None, {"name": 7}, "not a dict"])
async def test_C1_a_missing_or_odd_profile_name_is_no_name(rig: Rig, profile: Any) -> None:
    body, headers = meta(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"profile": profile, "wa_id": "919876500401"}],
            "messages": [{"from": "919876500401", "id": "wamid.X1", "type": "text", "text": {"body": "hello"}}],
        }
    )
    answered = await rig.client.post("/v1/inbound/whatsapp", content=body, headers=headers)
    assert answered.status_code == 200, answered.text
    [sent] = rig.intake.inbound
    assert sent.sender_name in ("", "7")


def test_B5_in_prod_the_access_token_travels_only_over_https() -> None:
    prod = {
        "profile": Profile.PROD,
        "redis_url": "rediss://redis.example.internal:6379/0",
        "revocation_redis_url": "rediss://redis.example.internal:6379/0",
        **{name: f"/etc/nivaran/tls/{name}" for name in ("tls_ca_file", "tls_cert_file", "tls_key_file")},
    }
    assert GatewaySettings(**prod).whatsapp_graph_base_url.startswith("https://graph.facebook.com/")
    with pytest.raises(ValidationError, match="NIVARAN_GATEWAY_WHATSAPP_GRAPH_BASE_URL must be an https:// URL"):
        GatewaySettings(**prod, whatsapp_graph_base_url="http://graph.example.internal")
