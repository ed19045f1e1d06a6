"""How long the garbage collector stops the process, and a way to keep it from scanning long-lived objects.

CPython's cycle collector runs in the thread that allocates, and while it runs nothing else in the process does:
for an asyncio worker that holds thousands of cached workflows, a full (generation 2) collection walks every one of
them, and every deadline due meanwhile waits. `watch_gc_pauses` measures each collection with `gc.callbacks` into
`python_gc_pause_seconds{generation}` and logs the ones longer than `slow_seconds`, so that a lag can be told apart
from a slow workflow.

`GcFreezer` moves the objects alive at a quiet moment into the permanent generation (`gc.freeze()`), which the
collector no longer scans; a full collection then costs what the heap has gained since, not the whole heap. Frozen
objects are still freed by reference counting, but a cycle among them that became garbage (a case evicted from the
worker's cache is one) waits for the next full pass. So the freezer unfreezes, collects everything and freezes
again once the frozen objects have grown by `growth` (a quarter) since its last full pass, the rule CPython itself
applies to its oldest generation: with a steady heap (every case cached) the full passes stop; with a cache that
evicts, they come as often as without the freezer and what frozen garbage holds stays under a quarter of the heap.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Histogram

from nivaran_common.logging import get_logger

log = get_logger(__name__)

# Seconds: a young collection takes microseconds; a full one over a large heap, up to seconds.
GC_PAUSE_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class GcPauseWatcher:
    """The `gc.callbacks` entry that times each collection; `close()` removes it."""

    histogram: Histogram
    slow_seconds: float
    clock: Callable[[], float] = time.perf_counter
    _started: float | None = field(default=None, init=False)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = self.clock()
            return
        if self._started is None:
            return
        seconds = self.clock() - self._started
        self._started = None
        generation = str(info.get("generation", ""))
        self.histogram.labels(generation=generation).observe(seconds)
        if seconds >= self.slow_seconds:
            log.warning(
                "slow garbage collection",
                generation=generation,
                pause_ms=round(seconds * 1000, 1),
                collected=info.get("collected", 0),
                frozen_objects=gc.get_freeze_count(),
            )

    def close(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)


def watch_gc_pauses(registry: CollectorRegistry, slow_seconds: float = 0.1) -> GcPauseWatcher:
    """Time every collection of this process into `registry` (`python_gc_pause_seconds`), logging slow ones."""
    histogram = Histogram(
        "python_gc_pause_seconds",
        "Time the cycle collector held the process, by generation collected.",
        ["generation"],
        buckets=GC_PAUSE_BUCKETS,
        registry=registry,
    )
    watcher = GcPauseWatcher(histogram, slow_seconds)
    gc.callbacks.append(watcher)
    return watcher


@dataclass
class GcFreezer:
    """Freeze what is alive now into the permanent generation; start over (unfreeze, collect everything, freeze)
    once the frozen objects have grown by `growth` since the last full pass.

    Call `freeze()` at quiet moments (the worker does on a timer); it collects the young generations first, so that
    their garbage is not frozen with the living."""

    growth: float = 0.25
    clock: Callable[[], float] = time.perf_counter
    full_passes: int = field(default=0, init=False)
    _base: int = field(default=0, init=False)

    def freeze(self) -> int:
        """Freeze the living objects; returns how many are frozen now."""
        gc.collect(1)
        gc.freeze()
        frozen = gc.get_freeze_count()
        if not self._base:
            self._base = frozen
        elif frozen > self._base * (1 + self.growth):
            started = self.clock()
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.full_passes += 1
            before, frozen = frozen, gc.get_freeze_count()
            self._base = frozen
            log.info(
                "frozen objects collected",
                frozen_before=before,
                frozen_after=frozen,
                pause_ms=round((self.clock() - started) * 1000, 1),
            )
        return frozen
