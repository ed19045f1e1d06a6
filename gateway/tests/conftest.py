"""Gateway test rig: the real app over ASGI, in-process fake gRPC services (gateway_testkit.py), the real Redis.

The fakes stand in for other processes only here, in the gateway's own unit tests; the end-to-end suite runs the
real services. Access tokens are minted with a test key that the fake identity publishes as its JWKS.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from nivaran_common.testing import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway_testkit import Backends, Rig, build_rig, drop_keys, filing, start_backends  # noqa: E402

RigFactory = Callable[..., Awaitable[Rig]]
FilingFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def unused_tcp_port_target() -> str:
    """An address where nothing listens (for a service or Redis that is down)."""
    return f"127.0.0.1:{free_port()}"


@pytest_asyncio.fixture
async def backends() -> AsyncIterator[Backends]:
    """Fresh fakes for one test."""
    started, stop = await start_backends()
    try:
        yield started
    finally:
        await stop()


@pytest_asyncio.fixture
async def make_rig(backends: Backends, redis_url: str, key_prefix: str) -> AsyncIterator[RigFactory]:
    """Build gateways against the fakes: `make_rig(notify_target=..., redis=..., rate_limits=...)`."""
    rigs: list[Rig] = []

    async def make(*, redis: str | None = None, **overrides: Any) -> Rig:
        rig = await build_rig(backends, redis or redis_url, key_prefix, **overrides)
        rigs.append(rig)
        return rig

    yield make
    await drop_keys(redis_url, key_prefix)
    for rig in rigs:
        for close in rig.closers:
            await close()


@pytest_asyncio.fixture
async def rig(make_rig: RigFactory) -> Rig:
    """A gateway with every backend up."""
    return await make_rig()


@pytest.fixture
def make_filing() -> FilingFactory:
    """Builds valid Hindi filings; keyword overrides replace top-level members."""
    return filing
