"""The background loop that retries pending deliveries; the schedule itself lives in NotifyService.retry_due."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from nivaran_common.logging import get_logger
from nivaran_common.timeutil import utcnow

log = get_logger(__name__)


class Retrier(Protocol):
    async def retry_due(self, now: datetime) -> int:
        """Attempt the deliveries due at `now`."""


class RetryLoop:
    """Calls `retry_due(now)` every `interval` seconds until stopped; an error in one round never ends it."""

    def __init__(self, retrier: Retrier, interval: float, clock: Callable[[], datetime] = utcnow) -> None:
        self._retrier = retrier
        self._interval = interval
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    def start(self) -> None:
        """Start the loop on the running event loop."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="notify-retry-loop")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current round, waiting at most `timeout` seconds before cancelling it.

        A cancelled attempt keeps its lease, so the next process retries it once the lease ends.
        """
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                attempted = await self._retrier.retry_due(self._clock())
                if attempted:
                    log.info("retried deliveries", attempted=attempted)
            except Exception:
                log.exception("retry round failed")
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)
