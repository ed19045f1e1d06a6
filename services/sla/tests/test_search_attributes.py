"""Search attributes (issue 3, point 3): a case's workflow carries its state, current deadline, office level and
district, so cases are found by visibility queries on a real Temporal dev server (the time-skipping server has no
list or count queries). The worker writes them only when NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES is on, and refuses
to start against a namespace that lacks them."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from nivaran_common.settings import Profile
from nivaran_common.temporal import (
    DEADLINE_ATTRIBUTE,
    DISTRICT_ATTRIBUTE,
    OFFICE_LEVEL_ATTRIBUTE,
    SEARCH_ATTRIBUTES,
    STATUS_ATTRIBUTE,
    pydantic_data_converter,
    search_attribute_flags,
)
from nivaran_common.testing import REPO_ROOT, eventually, venv_binary
from nivaran_sla.domain import CaseStatus, DisposeInput, ForwardInput
from nivaran_sla.settings import SlaSettings
from nivaran_sla.worker import build_worker, missing_search_attributes, run_worker
from nivaran_sla.workflows import GrievanceLifecycle

from .fakes import FakeServices, policies_without_recourse
from .test_workflows import lifecycle_input, start


@pytest_asyncio.fixture(scope="module")
async def bare_dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server on which nobody registered Nivaran's search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"), data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def attributes(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    described = (await handle.describe()).typed_search_attributes
    return {key.name: described.get(key) for key in SEARCH_ATTRIBUTES}


async def found(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def test_a_case_is_found_by_district_and_status_and_its_deadline_moves_when_the_case_moves(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    client = temporal_dev_env.client
    task_queue = f"sla-sa-{uuid.uuid4()}"
    fake = FakeServices(upsert_search_attributes=True, policies=policies_without_recourse())
    lifecycle = lifecycle_input()
    lifecycle.ClearField("filed_at")
    lifecycle.office_level = "block"
    async with build_worker(client, task_queue, fake.activities()):
        handle = await start(client, lifecycle, task_queue)
        seen: dict[str, Any] = {}

        async def assigned() -> bool:
            seen.update(await attributes(handle))
            return seen["NivaranStatus"] == CaseStatus.ASSIGNED.value and seen["NivaranDeadline"] is not None

        await eventually(assigned, timeout=30)
        assert seen["NivaranDistrict"] == "PAT"
        assert seen["NivaranOfficeLevel"] == "block"
        clocks = await handle.query(GrievanceLifecycle.clocks)
        [l1] = [c for c in clocks if c.clock_id == "l1_forward"]
        first_deadline: datetime = seen["NivaranDeadline"]
        assert first_deadline == l1.deadline  # S8: the L1's 3 days are the case's next deadline

        by_district = f"WorkflowId = '{handle.id}' AND NivaranDistrict = 'PAT' AND NivaranStatus = 'assigned'"

        async def listed() -> bool:
            return await found(client, by_district) == [handle.id]

        await eventually(listed, timeout=30, every=0.2)
        assert await found(client, f"WorkflowId = '{handle.id}' AND NivaranDistrict = 'GAY'") == []

        # S8 -> S9: forwarded within the department, the L1 clock stops and the 10-day clocks restart.
        await handle.execute_update(
            GrievanceLifecycle.forward, ForwardInput(to_position_id="pos-mo-phw", by_account_id="acct-l1-1")
        )
        clocks = await handle.query(GrievanceLifecycle.clocks)
        moved_to = min(c.deadline for c in clocks if c.running and c.deadline is not None)

        async def deadline_moved() -> bool:
            seen.update(await attributes(handle))
            return seen["NivaranDeadline"] != first_deadline

        await eventually(deadline_moved, timeout=30)
        assert seen["NivaranDeadline"] == moved_to
        assert moved_to > first_deadline
        later = f"WorkflowId = '{handle.id}' AND NivaranDeadline > '{first_deadline.isoformat()}'"

        async def listed_later() -> bool:
            return await found(client, later) == [handle.id]

        await eventually(listed_later, timeout=30, every=0.2)

        await handle.execute_update(
            GrievanceLifecycle.dispose, DisposeInput(disposed_by="acct-mo-1", outcome="Ration card issued")
        )
        await handle.result()

    final = await attributes(handle)
    assert final["NivaranStatus"] == CaseStatus.DISPOSED.value
    assert final["NivaranDeadline"] is None  # nothing is due on a disposed case
    # Each write carries only what changed: no attribute is written again with the value it already has.
    written: dict[str, bytes] = {}
    writes = 0
    names = {key.name for key in SEARCH_ATTRIBUTES}
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            continue
        indexed = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        fields = {name: payload for name, payload in indexed.items() if name in names}  # not the SDK's patch marks
        if not fields:
            continue
        writes += 1
        for name, payload in fields.items():
            assert written.get(name) != payload.data, f"{name} written again unchanged"
            written[name] = payload.data
    # Opened (all four), the L1's deadline once the case is assigned, the deadline moved by the forward, disposed.
    assert writes == 4


async def test_cases_carry_no_search_attributes_when_the_setting_is_off(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    client = temporal_dev_env.client
    task_queue = f"sla-sa-{uuid.uuid4()}"
    fake = FakeServices(policies=policies_without_recourse())  # the case's lifecycle ends with it
    async with build_worker(client, task_queue, fake.activities()):
        handle = await start(client, lifecycle_input(), task_queue)

        async def acknowledged() -> bool:
            return "acknowledgement_sent" in fake.events()

        await eventually(acknowledged, timeout=30)
        await handle.execute_update(GrievanceLifecycle.dispose, DisposeInput(disposed_by="acct-1", outcome="Done"))
        await handle.result()

    assert await attributes(handle) == dict.fromkeys(key.name for key in SEARCH_ATTRIBUTES)


async def test_the_worker_sees_the_attributes_registered_on_the_dev_server(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    assert await missing_search_attributes(temporal_dev_env.client) == []


async def test_the_worker_names_the_attributes_a_server_lacks(bare_dev_server: WorkflowEnvironment) -> None:
    assert await missing_search_attributes(bare_dev_server.client) == sorted(key.name for key in SEARCH_ATTRIBUTES)


async def test_the_worker_refuses_to_start_against_a_server_without_them(
    bare_dev_server: WorkflowEnvironment, tmp_path: Path, test_pki: Path
) -> None:
    settings = SlaSettings(
        profile=Profile.TEST,
        tls_ca_file=str(test_pki / "ca.pem"),
        tls_cert_file=str(test_pki / "sla-worker.pem"),
        tls_key_file=str(test_pki / "sla-worker.key"),
        temporal_address=bare_dev_server.client.service_client.config.target_host,
        task_queue=f"sla-sa-{uuid.uuid4()}",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sla.db'}",
        upsert_search_attributes=True,
        temporal_connect_timeout_seconds=10,
    )

    with pytest.raises(SystemExit, match="NivaranDeadline"):
        await run_worker(settings)


def test_the_setting_is_off_unless_turned_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES", raising=False)
    assert SlaSettings(profile=Profile.TEST).upsert_search_attributes is False
    monkeypatch.setenv("NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES", "true")
    assert SlaSettings(profile=Profile.TEST).upsert_search_attributes is True


def test_make_run_and_the_test_server_register_what_the_workflow_writes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("devrun", REPO_ROOT / "scripts" / "devrun.py")
    assert spec is not None
    assert spec.loader is not None
    devrun = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "devrun", devrun)  # its dataclasses look their module up there
    spec.loader.exec_module(devrun)
    kinds = {STATUS_ATTRIBUTE: "Keyword", DISTRICT_ATTRIBUTE: "Keyword", OFFICE_LEVEL_ATTRIBUTE: "Keyword",
             DEADLINE_ATTRIBUTE: "Datetime"}  # fmt: skip
    written = [f"{key.name}={kinds[key]}" for key in SEARCH_ATTRIBUTES]

    assert search_attribute_flags() == written
    argv = devrun.temporal_argv(devrun.Ports(), REPO_ROOT / "var")
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "--search-attribute"] == written
    env = devrun.service_env(devrun.Ports(), {}, pki_dir=tmp_path / "pki")
    assert env["NIVARAN_SLA_UPSERT_SEARCH_ATTRIBUTES"] == "true"
