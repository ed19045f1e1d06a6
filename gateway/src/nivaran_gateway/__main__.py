"""`python -m nivaran_gateway`."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_gateway.settings import GatewaySettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the service's heavier imports (grpc, temporal, ...).
    settings = load_settings(GatewaySettings)
    from nivaran_gateway.main import run

    asyncio.run(run(settings))
