"""`python -m nivaran_intake`."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_intake.settings import IntakeSettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the service's heavier imports (grpc, temporal, ...).
    settings = load_settings(IntakeSettings)
    from nivaran_intake.main import run

    asyncio.run(run(settings))
