"""A real case on the real Temporal test server leaves no complainant's name, phone or email in clear in its
history (issue 8, item 6): the workflow input, the activities' inputs and results and the officer's Update are all
sealed by the payload codec. Whoever holds the key reads the history (decode-history), and the sealed history
replays on today's code.

The histories under histories/ were recorded before the codec, in clear; test_workflows.py replays them through the
same sealed converter (payloads without the `binary/encrypted` encoding pass through). To re-record them:
`NIVARAN_RECORD_HISTORIES=1 .venv/bin/python scripts/testenv.py -- .venv/bin/python -m pytest
services/sla/tests/test_workflows.py -k deterministic` (it writes the history opened, since a test key is random).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from nivaran_common.payload_codec import (
    ACTIVE_KEY_SETTING,
    ENCODING,
    KEYS_SETTING,
    EncryptionCodec,
    codec_from_keys,
    decode_history,
    generate_codec_key,
    main,
    payloads_in,
)
from nivaran_common.temporal import sealed_data_converter
from nivaran_common.testing import venv_binary
from nivaran_sla.domain import DisposeInput
from nivaran_sla.workflows import GrievanceLifecycle

from .test_rules import case_input, case_runner

NAME = "Ramkali Paswan"
PHONE = "+919812345678"
EMAIL = "ramkali.paswan@example.in"
PERSONAL = (NAME, PHONE, EMAIL)


@pytest_asyncio.fixture(scope="module")
async def sealed_server() -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """A time-skipping server of this module's own, whose client seals with a key this module holds."""
    keys = generate_codec_key("k-test")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=sealed_data_converter(codec_from_keys(keys)),
    )
    try:
        yield env, keys
    finally:
        await env.shutdown()


async def a_disposed_case(env: WorkflowEnvironment) -> WorkflowHistory:
    """File, acknowledge and dispose a case whose complainant and disposal carry personal data; its history."""
    lifecycle = case_input()
    lifecycle.complainant_name = NAME
    lifecycle.complainant_phone = PHONE
    lifecycle.complainant_email = EMAIL
    async with case_runner(env) as go:
        case = await go(lifecycle)
        # An Update's argument is kept in the history too: this one quotes the complainant.
        outcome = f"Spoke to {NAME} on {PHONE}; card sent to {EMAIL}"
        await case.handle.execute_update(
            GrievanceLifecycle.dispose, DisposeInput(disposed_by="acct-officer", outcome=outcome)
        )
        await case.handle.result()
        assert any(PHONE in str(call) for call in case.fake.calls)  # the activities did carry it
        return await case.handle.fetch_history()


async def test_a_case_history_holds_no_personal_data_in_clear_and_replays_with_the_key(
    sealed_server: tuple[WorkflowEnvironment, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, keys = sealed_server
    codec = env.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)

    history = await a_disposed_case(env)

    stored = History(events=history.events)
    raw = stored.SerializeToString()
    assert [secret for secret in PERSONAL if secret.encode() in raw] == []
    sealed = [p for p in payloads_in(stored) if p.metadata.get("encoding") == ENCODING.encode()]
    assert len(sealed) > 10  # the input, each activity's input and result, the Update and the result
    # With the key, the same history holds them: the check above is not vacuous.
    opened = History(events=(await decode_history(history, codec)).events).SerializeToString()
    assert [secret for secret in PERSONAL if secret.encode() in opened] == list(PERSONAL)

    # The operator's tool, on the history as `temporal workflow show --output json` exports it.
    exported = tmp_path / "history.json"
    exported.write_text(history.to_json())
    monkeypatch.setenv(KEYS_SETTING, keys)
    monkeypatch.delenv(ACTIVE_KEY_SETTING, raising=False)
    assert main(["decode-history", str(exported)]) == 0
    assert NAME in capsys.readouterr().out

    replayed = await Replayer(
        workflows=[GrievanceLifecycle], data_converter=sealed_data_converter(codec)
    ).replay_workflow(history)
    assert replayed.replay_failure is None


async def test_a_sealed_history_does_not_replay_without_its_key(
    sealed_server: tuple[WorkflowEnvironment, str],
) -> None:
    env, _ = sealed_server
    history = await a_disposed_case(env)
    stranger = sealed_data_converter(codec_from_keys(generate_codec_key("k-other")))

    replayed = await Replayer(workflows=[GrievanceLifecycle], data_converter=stranger).replay_workflow(
        history, raise_on_replay_failure=False
    )

    # The workflow task fails (and a live worker would retry it until given the key); nothing is decided without it.
    assert replayed.replay_failure is not None
    assert "PayloadDecryptionError" in str(replayed.replay_failure)
