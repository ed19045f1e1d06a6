"""`python -m nivaran_notify`."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_notify.settings import NotifySettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the service's heavier imports (grpc, temporal, ...).
    settings = load_settings(NotifySettings)
    from nivaran_notify.main import run

    asyncio.run(run(settings))
