"""`python -m nivaran_identity`."""

import asyncio

from nivaran_identity.main import run
from nivaran_identity.settings import IdentitySettings

if __name__ == "__main__":
    asyncio.run(run(IdentitySettings()))
