"""Intake test fixtures: a migrated database, an in-process router and lifecycle starter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran.sla.v1 import sla_pb2
from nivaran_common.blobstore import LocalBlobStore
from nivaran_common.db import create_engine, session_factory
from nivaran_common.errors import InvalidArgument
from nivaran_common.testing import MigratedTemplates
from nivaran_intake import SERVICE_ROOT
from nivaran_intake.attachments import AttachmentLimits, AttachmentService
from nivaran_intake.clients import Route
from nivaran_intake.domain import Location
from nivaran_intake.service import IntakeService

AADHAAR_KEY = b"test-aadhaar-key"


@dataclass
class FakeRouter:
    """Stands in for the routing client inside this process."""

    calls: list[tuple[str, Location]] = field(default_factory=list)

    async def resolve(self, category_code: str, location: Location) -> Route:
        self.calls.append((category_code, location))
        if category_code == "UNKNOWN":
            raise InvalidArgument.field("category_code", "unknown category")
        return Route(
            department_code="FOOD",
            office_id="OFF-FOOD-PAT",
            office_name_en="District Supply Office, Patna",
            office_name_hi="जिला आपूर्ति कार्यालय, पटना",
            position_id="POS-FOOD-PAT-DSO",
            position_title_en="District Supply Officer",
            position_title_hi="जिला आपूर्ति पदाधिकारी",
            category_name_en="Ration card",
            category_name_hi="राशन कार्ड",
            default_track="rts_auto_appeal" if category_code.endswith("-DELAY") else "sahyog",
            rule="district L1",
            category_is_other=category_code.endswith("-OTHER"),
            # A notified service (S4): the "-DELAY" categories, with a 21-day statutory limit.
            service_time_limit_days=21 if category_code.endswith("-DELAY") else 0,
        )


@dataclass
class FakeStarter:
    """Records lifecycle starts; can be told to fail like an unreachable Temporal."""

    started: list[sla_pb2.LifecycleInput] = field(default_factory=list)
    failing: bool = False

    async def start(self, lifecycle: sla_pb2.LifecycleInput) -> None:
        if self.failing:
            raise ConnectionError("temporal down")
        self.started.append(lifecycle)


@dataclass
class IntakeHarness:
    service: IntakeService
    router: FakeRouter
    starter: FakeStarter
    sessions: async_sessionmaker[AsyncSession]


ATTACHMENT_LIMIT = 64 * 1024


@pytest_asyncio.fixture
async def intake(
    database_url: str, tmp_path: Path, migrated_templates: MigratedTemplates
) -> AsyncIterator[IntakeHarness]:
    await migrated_templates.fill(SERVICE_ROOT, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    router, starter = FakeRouter(), FakeStarter()
    files = AttachmentService(
        sessions, LocalBlobStore(tmp_path / "blobs"), AttachmentLimits(max_bytes=ATTACHMENT_LIMIT)
    )
    service = IntakeService(sessions, router, starter, state_code="BR", aadhaar_key=AADHAAR_KEY, attachments=files)
    yield IntakeHarness(service, router, starter, sessions)
    await engine.dispose()


@pytest_asyncio.fixture
async def attachments(intake: IntakeHarness) -> AttachmentService:
    """Attachments of the harness's cases, with their bytes in a folder of this test (and a 64 KiB limit): the same
    service that stores a filing's acknowledgement (S4)."""
    return intake.service.attachments
