"""`python -m nivaran_intake`."""

import asyncio

from nivaran_intake.main import run
from nivaran_intake.settings import IntakeSettings

if __name__ == "__main__":
    asyncio.run(run(IntakeSettings()))
