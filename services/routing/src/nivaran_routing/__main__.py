"""`python -m nivaran_routing`."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_routing.settings import RoutingSettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the service's heavier imports (grpc, temporal, ...).
    settings = load_settings(RoutingSettings)
    from nivaran_routing.main import run

    asyncio.run(run(settings))
