"""S4 / H1: a service-delay complaint is allowed only for a notified service whose time limit has passed since the
application, with the application's number, date and status; refused with the day the limit ends otherwise. On
SQLite and PostgreSQL (the `intake` fixture runs on both). The fake router makes "-DELAY" categories notified
services with a 21-day limit on the rts_auto_appeal track."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nivaran_common.errors import InvalidArgument
from nivaran_intake.service_delay import ServiceApplication, india_today

from .conftest import IntakeHarness
from .test_service import filing


def delay(applied_days_ago: int, **changes: str) -> ServiceApplication:
    applied = (india_today() - timedelta(days=applied_days_ago)).isoformat()
    fields = {"application_number": "RTPS/PAT/2026/004471", "applied_on": applied, "status": "pending at the CO"}
    return ServiceApplication(**{**fields, **changes})


def fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


async def test_S4_H1_a_delay_complaint_after_the_limit_runs_the_auto_appeal_track(intake: IntakeHarness) -> None:
    late = replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(22))
    row = (await intake.service.file(late)).grievance
    assert row.track == "rts_auto_appeal"
    assert row.service_application == {
        "application_number": "RTPS/PAT/2026/004471",
        "applied_on": (india_today() - timedelta(days=22)).isoformat(),
        "status": "pending at the CO",
    }
    assert intake.starter.started[-1].track == "rts_auto_appeal"


async def test_S4_a_complaint_within_the_limit_is_refused_with_the_day_it_ends(intake: IntakeHarness) -> None:
    # Applied 21 days ago: the 21-day limit ends today, so a delay can be complained of from tomorrow.
    early = replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=delay(21))
    with pytest.raises(InvalidArgument) as refused:
        await intake.service.file(early)
    assert fields(refused) == ["service_application.applied_on"]
    assert india_today().isoformat() in str(refused.value.violations[0].description)
    assert intake.starter.started == []


async def test_S4_the_application_is_required_checked_and_only_for_a_notified_service(intake: IntakeHarness) -> None:
    with pytest.raises(InvalidArgument) as missing:
        await intake.service.file(replace(filing(), category_code="REV-CERTIFICATE-DELAY"))
    assert fields(missing) == ["service_application"]
    bad = delay(30, application_number="x", applied_on="03/11/2026", status="")
    with pytest.raises(InvalidArgument) as malformed:
        await intake.service.file(replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=bad))
    assert sorted(fields(malformed)) == [
        "service_application.application_number",
        "service_application.applied_on",
        "service_application.status",
    ]
    future = delay(-3)
    with pytest.raises(InvalidArgument) as ahead:
        await intake.service.file(replace(filing(), category_code="REV-CERTIFICATE-DELAY", service_application=future))
    assert fields(ahead) == ["service_application.applied_on"]
    with pytest.raises(InvalidArgument) as not_notified:
        await intake.service.file(replace(filing(), service_application=delay(40)))
    assert fields(not_notified) == ["service_application"]
    assert intake.starter.started == []
