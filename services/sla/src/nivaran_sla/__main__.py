"""`python -m nivaran_sla`: the sla gRPC server (the Temporal worker is `python -m nivaran_sla.worker`)."""

import asyncio

from nivaran_sla.main import run
from nivaran_sla.settings import SlaSettings

if __name__ == "__main__":
    asyncio.run(run(SlaSettings()))
