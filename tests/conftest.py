"""Cross-service tests start the real processes through the same supervisor `make run` uses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
# Shared helpers of the cross-service tests (tests/_suite.py), importable whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))


import json  # noqa: E402
import uuid  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import pytest_asyncio  # noqa: E402
from _suite import RunningSuite, running_suite  # noqa: E402

from nivaran_common.testing import DatabaseFactory, smtp_server_running  # noqa: E402


@pytest_asyncio.fixture(scope="session")
async def shared_suite(tmp_path_factory: pytest.TempPathFactory, temporal_dev_env: Any) -> AsyncIterator[RunningSuite]:
    """The whole suite, booted once for the cross-service tests that only file and act (test_e2e, the onboarding
    and the desk walks): each works on cases, accounts and phones of its own, so they share one boot. Spans go to
    the processes' logs (OTEL console exporter) for the trace test."""
    databases = DatabaseFactory(tmp_path_factory.mktemp("shared-suite-db"))
    try:
        async with (
            smtp_server_running() as smtp,
            running_suite(
                tmp_path_factory.mktemp("shared-suite"),
                databases,
                temporal_dev_env,
                smtp,
                f"nivaran-test:suite-{uuid.uuid4().hex[:8]}:",
                db_prefix="nivaran_suite",
                # Two sla workers share the cases, as a state runs them (issue 9): every walk's deadlines and acts
                # are served by whichever polls first, and a case wakes on a worker that has not cached it.
                sla_workers=2,
                extra_env={
                    "OTEL_TRACES_EXPORTER": "console",
                    # Every walk signs its people in and files from the one test address: the per-IP sign-in, OTP
                    # and filing budgets are the gateway tests' to prove (gateway/tests/test_ratelimit.py), not a cap on
                    # the walks.
                    "NIVARAN_GATEWAY_RATE_LIMITS": json.dumps(
                        {
                            "login": {"limit": 500, "window_seconds": 600, "fail_closed": True},
                            "otp": {"limit": 100, "window_seconds": 600, "fail_closed": True},
                            # Anonymous filings count per IP too, and the walks file many from the one address.
                            "filing": {"limit": 500, "window_seconds": 600},
                        }
                    ),
                    # Identity's own cap on OTPs per network address (20 an hour): every walk of the run asks from
                    # the one test address, through the one suite. services/identity/tests prove the cap.
                    "NIVARAN_IDENTITY_OTP_MAX_PER_IP_PER_HOUR": "1000",
                },
            ) as running,
        ):
            yield running
    finally:
        databases.cleanup()
