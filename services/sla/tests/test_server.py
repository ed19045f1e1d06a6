"""The sla server starts with health, reflection and its policies, and its migration builds the show-cause table."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from nivaran.sla.v1 import sla_pb2, sla_pb2_grpc
from nivaran_common.db import create_engine, session_factory
from nivaran_common.grpc_server import build_server
from nivaran_common.migrations import upgrade_async
from nivaran_common.settings import Profile
from nivaran_sla import SERVICE_ROOT
from nivaran_sla.acts import CaseActs
from nivaran_sla.handlers import SlaServicer
from nivaran_sla.main import bindings, load_policies
from nivaran_sla.records import SlaRecords
from nivaran_sla.service import SlaService
from nivaran_sla.settings import SlaSettings
from nivaran_sla.tables import ShowCauseNoticeRow

ISSUED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def notice(number: int, key: str) -> ShowCauseNoticeRow:
    return ShowCauseNoticeRow(
        id=f"scn-{key}",
        idempotency_key=key,
        grievance_id="g-1",
        registration_number="BR-PAT-2026-000123",
        officer_account_id="acct-bdo-1",
        position_id="pos-bdo-phw",
        number=number,
        issued_at=ISSUED_AT,
        due_by=ISSUED_AT + timedelta(days=3),
    )


async def test_sla_serves_health_and_its_policies(database_url: str) -> None:
    await upgrade_async(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    settings = SlaSettings(profile=Profile.TEST)
    records = SlaRecords(session_factory(engine))
    service = SlaService(
        records,
        load_policies(settings),
        settings.holidays_folder,
        # Neither RPC below reaches a case, so the lifecycle and intake are left out.
        workflows=None,
        cases=None,
    )
    server, port, _ = await build_server(bindings(SlaServicer(service, CaseActs(None, records))), "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="nivaran.sla.v1.SlaService")
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            policies = await sla_pb2_grpc.SlaServiceStub(channel).ListPolicies(sla_pb2.ListPoliciesRequest())
            # Every version of the five tracks: v1, and v2 with the recourse window (issue 10).
            assert sorted((p.track, p.version) for p in policies.policies) == [
                (track, version)
                for track in ("bpgra", "cspgrs", "rts_auto_appeal", "sahyog", "sahyog_camp")
                for version in ("1", "2")
            ]
    finally:
        await server.stop(None)
        await engine.dispose()


async def test_migration_builds_show_cause_notices_that_allow_only_notices_1_and_2(database_url: str) -> None:
    await upgrade_async(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert {"show_cause_notices", "sla_alembic_version"} <= set(tables)

        async with sessions() as session, session.begin():
            session.add_all([notice(1, "grievance-g-1:show_cause:1"), notice(2, "grievance-g-1:show_cause:2")])
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                session.add(notice(3, "grievance-g-1:show_cause:3"))
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                # The same key again: a retried activity must not issue a notice twice.
                session.add(ShowCauseNoticeRow(**{**_columns(notice(1, "grievance-g-1:show_cause:1")), "id": "x"}))
    finally:
        await engine.dispose()


def _columns(row: ShowCauseNoticeRow) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in ShowCauseNoticeRow.__table__.columns}


def test_settings_defaults_and_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIVARAN_SLA_TASK_QUEUE", "sla-custom")
    monkeypatch.setenv("NIVARAN_SLA_INTAKE_TARGET", "intake:50053")

    settings = SlaSettings(profile=Profile.TEST)

    assert settings.grpc_port == 50055
    assert settings.task_queue == "sla-custom"
    assert settings.intake_target == "intake:50053"
    assert settings.notify_target == "127.0.0.1:50054"
    assert settings.temporal_address == "127.0.0.1:7233"
    # Below a pod's 30 s grace period, so the worker drains before the kubelet kills it.
    assert settings.worker_graceful_shutdown_seconds < 30
