"""`python -m nivaran_sla`: the sla gRPC server (the Temporal worker is `python -m nivaran_sla.worker`)."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_sla.settings import SlaSettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the service's heavier imports (grpc, temporal, ...).
    settings = load_settings(SlaSettings)
    from nivaran_sla.main import run

    asyncio.run(run(settings))
