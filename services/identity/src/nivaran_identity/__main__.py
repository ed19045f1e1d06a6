"""`python -m nivaran_identity`."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_identity.settings import IdentitySettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the service's heavier imports (grpc, temporal, ...).
    settings = load_settings(IdentitySettings)
    from nivaran_identity.main import run

    asyncio.run(run(settings))
