"""`python -m nivaran_notify`."""

import asyncio

from nivaran_notify.main import run
from nivaran_notify.settings import NotifySettings

if __name__ == "__main__":
    asyncio.run(run(NotifySettings()))
