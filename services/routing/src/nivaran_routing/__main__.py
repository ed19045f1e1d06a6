"""`python -m nivaran_routing`."""

import asyncio

from nivaran_routing.main import run
from nivaran_routing.settings import RoutingSettings

if __name__ == "__main__":
    asyncio.run(run(RoutingSettings()))
