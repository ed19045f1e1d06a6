"""`python -m nivaran_gateway`."""

import asyncio

from nivaran_gateway.main import run
from nivaran_gateway.settings import GatewaySettings

if __name__ == "__main__":
    asyncio.run(run(GatewaySettings()))
