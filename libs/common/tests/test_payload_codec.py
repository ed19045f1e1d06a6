"""The payload codec that seals what Temporal keeps about a case (issue 8, item 6): AES-256-GCM, key rotation,
refusal of altered payloads and of unknown keys, pass-through of payloads recorded in clear, the key settings, and the
operator's tools (decode-history, the codec endpoint). services/sla/tests/test_history_sealed.py runs a real case."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from pydantic import ValidationError
from temporalio.api.common.v1 import Header, Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError

from nivaran_common.payload_codec import (
    ACTIVE_KEY_SETTING,
    ENCODING,
    KEY_ID_METADATA,
    KEYS_SETTING,
    CodecKeyError,
    CodecKeys,
    EncryptionCodec,
    PayloadDecryptionError,
    codec_for_process,
    codec_from_keys,
    codec_server,
    decode_history,
    decode_payloads_in,
    generate_codec_key,
    load_codec,
    main,
)
from nivaran_common.settings import TemporalSettings
from nivaran_common.temporal import sealed_data_converter
from nivaran_common.testing import REPO_ROOT

NAME = "Ramkali Paswan"
PHONE = "+919812345678"
EMAIL = "ramkali.paswan@example.in"


@dataclasses.dataclass
class Complainant:
    name: str
    phone: str
    email: str


def plain(text: str = f"{NAME} {PHONE} {EMAIL}") -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def key(key_id: str, fill: int) -> str:
    return f"{key_id}:{base64.b64encode(bytes([fill]) * 32).decode()}"


@pytest.fixture
def codec() -> EncryptionCodec:
    return codec_from_keys(generate_codec_key("k1"))


# --- sealing ---------------------------------------------------------------------------------------------------------


async def test_a_payload_round_trips_and_is_sealed_on_the_way(codec: EncryptionCodec) -> None:
    original = plain()

    [sealed] = await codec.encode([original])
    [opened] = await codec.decode([sealed])

    assert sealed.metadata["encoding"] == ENCODING.encode()
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert len(sealed.data) == 12 + len(original.SerializeToString()) + 16  # nonce + ciphertext + GCM tag
    for secret in (NAME, PHONE, EMAIL):
        assert secret.encode() not in sealed.SerializeToString()
    assert opened == original


async def test_each_sealing_draws_a_fresh_nonce(codec: EncryptionCodec) -> None:
    first, second = await codec.encode([plain(), plain()])

    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_rotation_old_keys_open_and_the_active_key_seals() -> None:
    old, new = key("k2025", 1), key("k2026", 2)
    before = codec_from_keys(old)
    during = codec_from_keys(f"{old},{new}")  # step 1: every process holds the new key; the old one still seals
    after = codec_from_keys(f"{old},{new}", active="k2026")  # step 2: the new key seals
    [sealed_before] = await before.encode([plain()])

    [sealed_during] = await during.encode([plain()])
    [sealed_after] = await after.encode([plain()])

    assert sealed_during.metadata[KEY_ID_METADATA] == b"k2025"
    assert sealed_after.metadata[KEY_ID_METADATA] == b"k2026"
    assert await after.decode([sealed_before, sealed_during, sealed_after]) == [plain()] * 3
    with pytest.raises(PayloadDecryptionError, match="k2026"):
        await before.decode([sealed_after])


async def test_an_altered_payload_is_refused(codec: EncryptionCodec) -> None:
    [sealed] = await codec.encode([plain()])
    flipped = bytearray(sealed.data)
    flipped[20] ^= 0x01
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))

    with pytest.raises(PayloadDecryptionError, match="fails authentication"):
        await codec.decode([tampered])
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await codec.decode([Payload(metadata=dict(sealed.metadata), data=sealed.data[:20])])


async def test_a_payload_relabelled_to_another_held_key_is_refused() -> None:
    both = codec_from_keys(f"{key('a', 1)},{key('b', 2)}")
    [sealed] = await both.encode([plain()])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID_METADATA: b"b"}, data=sealed.data)

    with pytest.raises(PayloadDecryptionError, match="fails authentication"):
        await both.decode([relabelled])


async def test_a_payload_sealed_with_an_unknown_key_names_the_key_and_the_setting(codec: EncryptionCodec) -> None:
    [sealed] = await codec_from_keys(key("k-gone", 9)).encode([plain()])

    with pytest.raises(PayloadDecryptionError, match=rf"'k-gone'.*{KEYS_SETTING}.*\['k1'\]"):
        await codec.decode([sealed])
    with pytest.raises(PayloadDecryptionError, match=KEY_ID_METADATA):
        await codec.decode([Payload(metadata={"encoding": ENCODING.encode()}, data=sealed.data)])


async def test_payloads_recorded_in_clear_pass_through(codec: EncryptionCodec) -> None:
    recorded = [plain(), Payload(metadata={"encoding": b"binary/null"}), Payload(metadata={}, data=b"raw")]

    assert await codec.decode(recorded) == recorded


async def test_the_services_converter_seals_values_and_failure_messages(codec: EncryptionCodec) -> None:
    converter = sealed_data_converter(codec)
    complainant = Complainant(NAME, PHONE, EMAIL)

    [payload] = await converter.encode([complainant])
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no answer on {PHONE}"), failure)
    stored = payload.SerializeToString() + failure.SerializeToString()
    [back] = await converter.decode([payload], [Complainant])
    error = await converter.decode_failure(failure)  # opens the failure in place

    assert payload.metadata["encoding"] == ENCODING.encode()
    assert failure.message == "Encoded failure"  # what the history shows without the key
    assert PHONE.encode() not in stored
    assert back == complainant
    assert str(error.message) == f"no answer on {PHONE}"


# --- keys and settings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "active", "message"),
    [
        ("", "", f"{KEYS_SETTING} is not set"),
        ("  \n", "", f"{KEYS_SETTING} is not set"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "", "16 bytes; AES-256 needs exactly 32"),
        ("k1:not*base64", "", "not valid base64"),
        (base64.b64encode(b"x" * 32).decode(), "", "entry 1 is not `key-id:base64"),
        (f"{key('k1', 1)},{key('k1', 2)}", "", "listed twice"),
        (key("k1", 1), "k9", f"{ACTIVE_KEY_SETTING}='k9' names no key"),
    ],
)
def test_unusable_keys_are_refused_naming_the_setting(spec: str, active: str, message: str) -> None:
    with pytest.raises(CodecKeyError, match=message) as refused:
        CodecKeys.parse(spec, active)
    assert "x" * 8 not in str(refused.value)


def test_keys_may_be_url_safe_unpadded_and_spread_over_lines() -> None:
    raw = bytes(range(32))
    url_safe = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    keys = CodecKeys.parse(f"\n a:{url_safe},\n{key('b', 7)}\n")

    assert keys.keys["a"] == raw
    assert keys.active == "a"
    assert "a:" not in repr(keys)
    assert url_safe not in repr(keys)


def test_a_generated_key_parses() -> None:
    entry = generate_codec_key("k20261201")

    assert CodecKeys.parse(entry).active == "k20261201"
    assert generate_codec_key() != generate_codec_key()
    with pytest.raises(CodecKeyError):
        generate_codec_key("bad id")


def test_the_settings_refuse_an_absent_or_short_key_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYS_SETTING, raising=False)
    monkeypatch.delenv(ACTIVE_KEY_SETTING, raising=False)
    with pytest.raises(ValidationError, match=KEYS_SETTING):
        TemporalSettings()
    with pytest.raises(CodecKeyError, match=f"{KEYS_SETTING} is not set"):
        load_codec()
    with pytest.raises(SystemExit, match=f"sla-worker: cannot start: {KEYS_SETTING} is not set"):
        codec_for_process("sla-worker")

    short = base64.b64encode(b"secret-but-short").decode()
    monkeypatch.setenv(KEYS_SETTING, f"k1:{short}")
    with pytest.raises(ValidationError) as refused:
        TemporalSettings()
    assert "AES-256 needs exactly 32" in str(refused.value)
    assert short not in str(refused.value)


def test_the_settings_give_the_codec_with_its_active_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_SETTING, f"{key('old', 1)},{key('new', 2)}")
    monkeypatch.setenv(ACTIVE_KEY_SETTING, "new")

    settings = TemporalSettings()
    codec = load_codec()

    assert codec.active_key_id == "new"
    assert codec.key_ids == ["new", "old"]
    assert base64.b64encode(bytes([2]) * 32).decode() not in repr(settings)


def test_make_run_keeps_one_key_readable_by_its_owner_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("devrun", REPO_ROOT / "scripts" / "devrun.py")
    assert spec is not None
    assert spec.loader is not None
    devrun = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "devrun", devrun)  # its dataclasses look their module up there
    spec.loader.exec_module(devrun)
    path = tmp_path / "var" / "temporal-codec.key"

    first = devrun.dev_codec_keys(path)
    again = devrun.dev_codec_keys(path)

    assert first == again
    assert CodecKeys.parse(first).active == "dev"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- histories and the operator's tools ------------------------------------------------------------------------------


async def sealed_history(codec: EncryptionCodec) -> History:
    """A small history whose payloads sit where Temporal puts them: an input, a header map, a failure."""
    converter = sealed_data_converter(codec)
    history = History()
    started = history.events.add(event_id=1)
    started.workflow_execution_started_event_attributes.input.payloads.extend(
        await converter.encode([Complainant(NAME, PHONE, EMAIL)])
    )
    started.workflow_execution_started_event_attributes.header.CopyFrom(
        Header(fields={"note": (await codec.encode([plain(f"call {PHONE}")]))[0]})
    )
    failed = history.events.add(event_id=2)
    await converter.encode_failure(
        ApplicationError(f"{EMAIL} bounced"), failed.activity_task_failed_event_attributes.failure
    )
    return history


async def test_every_payload_nested_in_a_history_is_opened(codec: EncryptionCodec) -> None:
    history = await sealed_history(codec)
    raw = history.SerializeToString()
    assert not any(secret.encode() in raw for secret in (NAME, PHONE, EMAIL))

    await decode_payloads_in(history, codec)

    opened = history.SerializeToString()
    assert all(secret.encode() in opened for secret in (NAME, PHONE, EMAIL))
    assert ENCODING.encode() not in opened


async def test_decode_history_leaves_the_fetched_history_as_it_was(codec: EncryptionCodec) -> None:
    history = await sealed_history(codec)
    fetched = WorkflowHistory("grievance-1", history.events)

    opened = await decode_history(fetched, codec)

    assert NAME.encode() in History(events=opened.events).SerializeToString()
    assert NAME.encode() not in History(events=fetched.events).SerializeToString()


async def test_decode_history_command_prints_the_history_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = generate_codec_key("op")
    codec = codec_from_keys(keys)
    exported = tmp_path / "history.json"
    exported.write_text(json_format.MessageToJson(await sealed_history(codec)))
    monkeypatch.setenv(KEYS_SETTING, keys)
    monkeypatch.delenv(ACTIVE_KEY_SETTING, raising=False)

    assert main(["decode-history", str(exported)]) == 0
    readable = json.loads(capsys.readouterr().out)
    assert main(["decode-history", "--proto-json", str(exported)]) == 0
    replayable = WorkflowHistory.from_json("grievance-1", capsys.readouterr().out)

    [started_input] = readable["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"]
    assert started_input["data"] == {"name": NAME, "phone": PHONE, "email": EMAIL}
    assert started_input["metadata"]["encoding"] == "json/plain"
    assert NAME.encode() in History(events=replayable.events).SerializeToString()
    [event] = [e for e in replayable.events if e.HasField("activity_task_failed_event_attributes")]
    attributes = event.activity_task_failed_event_attributes.failure.encoded_attributes
    assert json.loads(attributes.data)["message"] == f"{EMAIL} bounced"


async def test_decode_history_command_without_the_key_says_which_key_it_needs(
    codec: EncryptionCodec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "history.json"
    exported.write_text(json_format.MessageToJson(await sealed_history(codec)))
    monkeypatch.setenv(KEYS_SETTING, generate_codec_key("other"))
    monkeypatch.delenv(ACTIVE_KEY_SETTING, raising=False)

    assert main(["decode-history", str(exported)]) == 2
    assert "'k1'" in capsys.readouterr().err

    monkeypatch.delenv(KEYS_SETTING)
    assert main(["decode-history", str(exported)]) == 2
    assert f"{KEYS_SETTING} is not set" in capsys.readouterr().err


def test_generate_key_command_prints_an_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate-key", "--key-id", "k2"]) == 0

    assert CodecKeys.parse(capsys.readouterr().out).active == "k2"


@pytest.fixture
def endpoint(codec: EncryptionCodec) -> Iterator[str]:
    server = codec_server(codec, port=0, cors_origin="http://127.0.0.1:8233")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def as_json(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


async def test_the_codec_endpoint_speaks_temporals_remote_codec_protocol(codec: EncryptionCodec, endpoint: str) -> None:
    sealed = await codec.encode([plain()])
    async with httpx.AsyncClient(base_url=endpoint) as http:
        decoded = await http.post("/decode", content=as_json(sealed), headers={"X-Namespace": "default"})
        encoded = await http.post("/prefix/encode", content=as_json([plain()]))
        preflight = await http.options("/decode")
        missing = await http.post("/other", content="{}")
        tampered = await http.post(
            "/decode", content=as_json([Payload(metadata=dict(sealed[0].metadata), data=b"\0" * 40)])
        )

    assert decoded.status_code == 200
    assert json_format.Parse(decoded.text, Payloads()).payloads == [plain()]
    [resealed] = json_format.Parse(encoded.text, Payloads()).payloads
    assert resealed.metadata["encoding"] == ENCODING.encode()
    assert await codec.decode([resealed]) == [plain()]
    assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    assert missing.status_code == 404
    assert tampered.status_code == 400
    assert "fails authentication" in tampered.text
