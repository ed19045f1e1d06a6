"""AES-256-GCM payload codec: what Temporal keeps about a case (workflow and activity inputs and results, Update
arguments, query answers, failure messages) is sealed before it leaves the process, so complainants' names, phones
and emails never sit in clear in Temporal's histories.

Each sealed payload has the metadata `encoding: binary/encrypted` and `encryption-key-id: <key id>`; its data is a
random 12-byte nonce followed by the AES-GCM ciphertext (with its tag) of the original Payload protobuf. A payload
without that encoding is passed through unchanged when decoding, so histories recorded before the codec still replay.

The keys come from NIVARAN_TEMPORAL_CODEC_KEYS (`key-id:base64-of-32-bytes`, comma-separated) and
NIVARAN_TEMPORAL_CODEC_ACTIVE_KEY (the key id that seals; the first key when empty). Every listed key opens.

An operator holding the keys reads a history with:

    python -m nivaran_common.payload_codec generate-key [--key-id ID]         # a new `id:base64` entry
    python -m nivaran_common.payload_codec decode-history HISTORY.json        # `temporal workflow show -o json`
    python -m nivaran_common.payload_codec serve [--port 8089]                # for `--codec-endpoint`
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec

if TYPE_CHECKING:
    from nivaran_common.settings import TemporalSettings

ENCODING = "binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
TAG_BYTES = 16
KEYS_SETTING = "NIVARAN_TEMPORAL_CODEC_KEYS"
ACTIVE_KEY_SETTING = "NIVARAN_TEMPORAL_CODEC_ACTIVE_KEY"
DEFAULT_SERVE_PORT = 8089
# A codec endpoint request carries a few payloads; Temporal itself refuses payloads above 2 MiB by default.
MAX_REQUEST_BYTES = 16 * 1024 * 1024

_ENCODING_BYTES = ENCODING.encode()
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GENERATE_HINT = "generate one with `python -m nivaran_common.payload_codec generate-key`"


class CodecKeyError(ValueError):
    """The configured codec keys are missing or malformed. The message names the setting, never a key."""


class PayloadDecryptionError(Exception):
    """A sealed payload cannot be opened: its key is not held here, or it was altered."""


@dataclass(frozen=True, repr=False)
class CodecKeys:
    """Every key that opens (by key id) and the one that seals."""

    keys: Mapping[str, bytes]
    active: str

    def __repr__(self) -> str:
        return f"CodecKeys(key_ids={sorted(self.keys)!r}, active={self.active!r})"

    @classmethod
    def parse(cls, spec: str, active: str = "") -> CodecKeys:
        """Keys from `id:base64,id:base64` (standard or URL-safe base64, 32 bytes each); active: the first if empty."""
        entries = [entry for entry in re.split(r"[,\s]+", spec.strip()) if entry]
        if not entries:
            raise CodecKeyError(
                f"{KEYS_SETTING} is not set: Temporal payloads must be sealed with a 32-byte key; {_GENERATE_HINT} "
                "(`make run` keeps one in var/temporal-codec.key)"
            )
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            key_id, separator, encoded = entry.partition(":")
            if not separator or not _KEY_ID.match(key_id):
                raise CodecKeyError(
                    f"{KEYS_SETTING}: entry {position} is not `key-id:base64-of-32-bytes` "
                    "(key ids are letters, digits, '.', '_' and '-')"
                )
            if key_id in keys:
                raise CodecKeyError(f"{KEYS_SETTING}: key id {key_id!r} is listed twice")
            standard = encoded.translate(str.maketrans("-_", "+/"))
            try:
                raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
            except binascii.Error:
                raise CodecKeyError(f"{KEYS_SETTING}: key {key_id!r} is not valid base64") from None
            if len(raw) != KEY_BYTES:
                raise CodecKeyError(
                    f"{KEYS_SETTING}: key {key_id!r} is {len(raw)} bytes; AES-256 needs exactly {KEY_BYTES} "
                    f"({_GENERATE_HINT})"
                )
            keys[key_id] = raw
        chosen = active.strip() or next(iter(keys))
        if chosen not in keys:
            raise CodecKeyError(
                f"{ACTIVE_KEY_SETTING}={chosen!r} names no key of {KEYS_SETTING} (it holds {sorted(keys)})"
            )
        return cls(keys, chosen)


def generate_codec_key(key_id: str = "") -> str:
    """A new random key as a `key-id:base64` entry of NIVARAN_TEMPORAL_CODEC_KEYS (key id: `k<today>` by default)."""
    key_id = key_id or f"k{datetime.now(UTC):%Y%m%d}"
    if not _KEY_ID.match(key_id):
        raise CodecKeyError(f"key id {key_id!r}: use letters, digits, '.', '_' and '-'")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    """Seals every payload with the active key (AES-256-GCM); opens payloads sealed with any key it holds."""

    def __init__(self, keys: CodecKeys) -> None:
        self._active = keys.active
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    @property
    def active_key_id(self) -> str:
        """The key id new payloads are sealed with."""
        return self._active

    @property
    def key_ids(self) -> list[str]:
        """Every key id this codec opens."""
        return sorted(self._ciphers)

    def encrypt_payload(self, payload: Payload) -> Payload:
        """The sealed form of `payload`."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": _ENCODING_BYTES, KEY_ID_METADATA: self._active.encode()},
            data=nonce + sealed,
        )

    def decrypt_payload(self, payload: Payload) -> Payload:
        """The original of a sealed payload; any other payload unchanged."""
        if payload.metadata.get("encoding") != _ENCODING_BYTES:
            return payload
        raw_key_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_key_id is None:
            raise PayloadDecryptionError(f"an encrypted payload carries no {KEY_ID_METADATA!r} metadata")
        key_id = raw_key_id.decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload sealed with key id {key_id!r}, which {KEYS_SETTING} does not hold (it holds "
                f"{self.key_ids}); add that key to open it"
            )
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(f"payload sealed with key {key_id!r} is truncated")
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload sealed with key {key_id!r} fails authentication: it was altered, or the key held here "
                f"under {key_id!r} is not the one that sealed it"
            ) from None
        try:
            return Payload.FromString(plain)
        except DecodeError as exc:
            raise PayloadDecryptionError(f"payload sealed with key {key_id!r} holds no Payload") from exc

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Seal each payload."""
        return [self.encrypt_payload(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open each sealed payload; pass the others through."""
        return [self.decrypt_payload(payload) for payload in payloads]


def codec_from_keys(spec: str, active: str = "") -> EncryptionCodec:
    """The codec of a NIVARAN_TEMPORAL_CODEC_KEYS value (and active key id)."""
    return EncryptionCodec(CodecKeys.parse(spec, active))


def codec_from_settings(settings: TemporalSettings) -> EncryptionCodec:
    """The codec of already validated settings."""
    return codec_from_keys(settings.codec_keys.get_secret_value(), settings.codec_active_key)


def load_codec() -> EncryptionCodec:
    """The codec of NIVARAN_TEMPORAL_CODEC_KEYS / _ACTIVE_KEY; CodecKeyError naming the setting when unusable."""
    from pydantic import ValidationError

    from nivaran_common.settings import TemporalSettings

    try:
        settings = TemporalSettings()
    except ValidationError as exc:
        # The settings hide their input in errors; keep only the messages, which name settings, never keys.
        reasons = [str(error.get("ctx", {}).get("error") or error["msg"]) for error in exc.errors()]
        raise CodecKeyError("; ".join(reasons)) from None
    return codec_from_settings(settings)


def codec_for_process(process: str) -> EncryptionCodec:
    """load_codec() for a composition root: unusable keys stop the process with a message naming the setting."""
    try:
        return load_codec()
    except CodecKeyError as exc:
        raise SystemExit(f"{process}: cannot start: {exc}") from None


# --- sealed payloads inside protobuf messages (histories) ------------------------------------------------------------


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload nested anywhere in `message` (fields, repeated fields, map values), outermost first."""
    for field, value in message.ListFields():
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type != FieldDescriptor.TYPE_MESSAGE:
                continue
            items: Any = value.values()
        elif field.is_repeated:
            items = value
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                yield item
            else:
                yield from payloads_in(item)


async def decode_payloads_in(message: Message, codec: PayloadCodec) -> None:
    """Open, in place, every sealed payload in `message` (a History, a HistoryEvent, ...)."""
    payloads = list(payloads_in(message))
    if not payloads:
        return
    for payload, decoded in zip(payloads, await codec.decode(payloads), strict=True):
        if decoded is not payload:
            payload.CopyFrom(decoded)


async def decode_history(history: WorkflowHistory, codec: PayloadCodec) -> WorkflowHistory:
    """A copy of a fetched history (handle.fetch_history() returns it as stored) with its sealed payloads opened."""
    opened = History(events=history.events)
    await decode_payloads_in(opened, codec)
    return WorkflowHistory(history.workflow_id, opened.events)


# --- JSON (`temporal workflow show --output json`, the remote codec protocol) -----------------------------------------


def _is_sealed_json(node: Mapping[str, Any]) -> bool:
    metadata = node.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(node.get("data", ""), str):
        return False
    encoding = metadata.get("encoding")
    if not isinstance(encoding, str):
        return False
    try:
        return base64.b64decode(encoding, validate=True) == _ENCODING_BYTES
    except binascii.Error:
        return False


def readable_payload(payload: Payload) -> dict[str, Any]:
    """A payload for a person: metadata as text, and JSON data as the JSON value itself."""
    metadata = {key: value.decode("utf-8", "replace") for key, value in sorted(payload.metadata.items())}
    data: Any = base64.b64encode(payload.data).decode()
    if metadata.get("encoding", "").startswith("json/"):
        with contextlib.suppress(ValueError):
            data = json.loads(payload.data)
    return {"metadata": metadata, "data": data}


def decode_history_json(document: Any, codec: EncryptionCodec, *, readable: bool = True) -> Any:
    """`document` (a history in proto JSON, as `temporal workflow show --output json` or WorkflowHistory.to_json
    write it) with every sealed payload opened. `readable=False` keeps proto JSON, which
    WorkflowHistory.from_json (and so the Replayer) reads back."""
    if isinstance(document, list):
        return [decode_history_json(item, codec, readable=readable) for item in document]
    if not isinstance(document, dict):
        return document
    if _is_sealed_json(document):
        payload = codec.decrypt_payload(json_format.ParseDict(document, Payload()))
        return readable_payload(payload) if readable else json_format.MessageToDict(payload)
    return {key: decode_history_json(value, codec, readable=readable) for key, value in document.items()}


def _transform_payloads_json(body: bytes, transform: Any) -> bytes:
    payloads = json_format.Parse(body, Payloads())
    result = Payloads(payloads=[transform(payload) for payload in payloads.payloads])
    return json_format.MessageToJson(result, indent=None).encode()


def codec_server(
    codec: EncryptionCodec, host: str = "127.0.0.1", port: int = DEFAULT_SERVE_PORT, cors_origin: str = ""
) -> ThreadingHTTPServer:
    """An HTTP server speaking Temporal's remote codec protocol: POST /encode and /decode with
    `{"payloads": [...]}` (proto JSON), answered in kind. Call serve_forever() on it."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "nivaran-payload-codec"

        def _cors(self) -> None:
            if cors_origin:
                self.send_header("Access-Control-Allow-Origin", cors_origin)
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
                self.send_header("Access-Control-Allow-Credentials", "true")

        def _answer(self, status: HTTPStatus, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._answer(HTTPStatus.NO_CONTENT, b"", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            # The endpoint may sit under a path prefix: `<endpoint>/encode`, `<endpoint>/decode`.
            action = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            transform = {"encode": codec.encrypt_payload, "decode": codec.decrypt_payload}.get(action)
            if transform is None:
                self._answer(HTTPStatus.NOT_FOUND, b"POST /encode or /decode\n", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"request too large\n", "text/plain")
                return
            try:
                answer = _transform_payloads_json(self.rfile.read(length), transform)
            except (json_format.ParseError, PayloadDecryptionError) as exc:
                self._answer(HTTPStatus.BAD_REQUEST, f"{exc}\n".encode(), "text/plain")
                return
            self._answer(HTTPStatus.OK, answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            # Paths and status codes only, never bodies.
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return ThreadingHTTPServer((host, port), Handler)


# --- command line --------------------------------------------------------------------------------------------------


def _decode_history_command(args: argparse.Namespace) -> int:
    codec = load_codec()
    text = sys.stdin.read() if args.history == "-" else Path(args.history).read_text(encoding="utf-8")
    decoded = decode_history_json(json.loads(text), codec, readable=not args.proto_json)
    sys.stdout.write(json.dumps(decoded, ensure_ascii=False, indent=2) + "\n")
    return 0


def _serve_command(args: argparse.Namespace) -> int:
    server = codec_server(load_codec(), args.host, args.port, args.cors_origin)
    host, port = server.server_address[:2]
    sys.stderr.write(
        f"payload codec endpoint on http://{host!s}:{port} (POST /encode, /decode); "
        f"use: temporal workflow show --workflow-id ID --codec-endpoint http://{host!s}:{port}\n"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nivaran_common.payload_codec ...`; keys from NIVARAN_TEMPORAL_CODEC_KEYS."""
    parser = argparse.ArgumentParser(
        prog="python -m nivaran_common.payload_codec",
        description=f"Read Temporal histories sealed by Nivaran's payload codec (keys from {KEYS_SETTING}).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate-key", help="print a new `key-id:base64` entry for the key setting")
    generate.add_argument("--key-id", default="", help="default: k<today>, e.g. k20261201")
    history = commands.add_parser("decode-history", help="open every sealed payload of a history JSON file")
    history.add_argument("history", help="from `temporal workflow show --workflow-id ID --output json`; - for stdin")
    history.add_argument(
        "--proto-json", action="store_true", help="keep proto JSON (base64 data), readable by WorkflowHistory.from_json"
    )
    serve = commands.add_parser("serve", help="a codec endpoint for `temporal ... --codec-endpoint` and the Web UI")
    serve.add_argument("--host", default="127.0.0.1", help="anyone who reaches it can read histories; keep it local")
    serve.add_argument("--port", type=int, default=DEFAULT_SERVE_PORT)
    serve.add_argument("--cors-origin", default="", help="the Temporal Web UI's origin, e.g. http://127.0.0.1:8233")
    args = parser.parse_args(argv)
    try:
        if args.command == "generate-key":
            sys.stdout.write(generate_codec_key(args.key_id) + "\n")
            return 0
        if args.command == "decode-history":
            return _decode_history_command(args)
        return _serve_command(args)
    except (CodecKeyError, PayloadDecryptionError, OSError, ValueError) as exc:
        sys.stderr.write(f"payload_codec: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
