"""nivaran_common.gc_pauses: each collection timed into the registry and a slow one logged; the freezer keeps the
living objects out of the collector's walk and lets a cycle among them go at its next full pass."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from nivaran_common.gc_pauses import GcFreezer, watch_gc_pauses


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    # Whatever a test froze goes back to the collector, so that nothing of it outlives the test.
    gc.unfreeze()


def _pauses(registry: CollectorRegistry, generation: str) -> float:
    return registry.get_sample_value("python_gc_pause_seconds_count", {"generation": generation}) or 0.0


def test_every_collection_is_timed_by_generation_and_the_watcher_can_be_removed(registry: CollectorRegistry) -> None:
    watcher = watch_gc_pauses(registry)
    try:
        gc.collect()
        gc.collect(0)
        assert _pauses(registry, "2") >= 1
        assert _pauses(registry, "0") >= 1
    finally:
        watcher.close()
    counted = _pauses(registry, "2")
    gc.collect()
    assert _pauses(registry, "2") == counted
    assert watcher not in gc.callbacks


def test_a_collection_longer_than_the_threshold_is_logged_with_its_generation(registry: CollectorRegistry) -> None:
    ticks = iter([10.0, 10.35, 20.0, 20.01])
    watcher = watch_gc_pauses(registry, slow_seconds=0.1)
    watcher.close()  # driven by hand below, not by the collector
    watcher.clock = lambda: next(ticks)
    with capture_logs() as logs:
        watcher("start", {"generation": 2})
        watcher("stop", {"generation": 2, "collected": 7})
        watcher("start", {"generation": 0})
        watcher("stop", {"generation": 0, "collected": 0})
    slow = [entry for entry in logs if entry["event"] == "slow garbage collection"]
    assert len(slow) == 1
    assert (slow[0]["generation"], slow[0]["pause_ms"], slow[0]["collected"]) == ("2", 350.0, 7)
    assert registry.get_sample_value("python_gc_pause_seconds_sum", {"generation": "2"}) == pytest.approx(0.35)
    assert _pauses(registry, "0") == 1


class Node:
    """An object that takes part in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


def test_frozen_garbage_waits_until_the_frozen_objects_grow_by_a_quarter_then_goes() -> None:
    freezer = GcFreezer(growth=0.25)
    held: list[Node] = [_cycle()]
    garbage_now = weakref.ref(_cycle())  # unreachable already: collected, not frozen
    alive = weakref.ref(held[0])
    base = freezer.freeze()
    assert base > 0
    assert garbage_now() is None
    held.clear()  # the frozen cycle is unreachable from now on: only a collector that walks it frees it
    gc.collect()
    assert alive() is not None, "a frozen cycle is not walked by a full collection"
    freezer.freeze()
    assert (alive() is not None, freezer.full_passes) == (True, 0), "no full pass while the heap is steady"

    grown = [Node() for _ in range(base // 2)]  # the heap grows by half: past the quarter
    freezer.freeze()
    assert freezer.full_passes == 1
    assert alive() is None, "the full pass frees cycles among frozen objects"
    assert gc.get_freeze_count() >= len(grown)


def test_a_full_collection_after_a_freeze_walks_only_what_came_since(registry: CollectorRegistry) -> None:
    kept = [Node() for _ in range(200_000)]  # long-lived objects, as a worker's cached cases are
    gc.collect()
    tracked_before = len(gc.get_objects(generation=2))
    GcFreezer().freeze()
    assert len(gc.get_objects(generation=2)) < tracked_before - len(kept)
    assert len(kept) == 200_000
