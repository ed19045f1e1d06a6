"""Root conftest: the shared fixtures on real components live in nivaran_common.testing.

`make test` runs on two pytest-xdist workers with `--dist loadfile`, scheduled by `SuiteFirst` below: each module is
one unit of work (its module fixtures, such as a suite of its own, start once), except that every module on the
shared end-to-end suite or the Temporal dev server joins one unit, "suite", so that those start once in the whole
run instead of once per worker. That unit is collected first, so its worker boots the suite while the other runs
the unit tests. (pytest-xdist's own `loadgroup` cannot do this with pytest 9: it renames a test through an
attribute pytest no longer reads.)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["nivaran_common.testing"]

ROOT = Path(__file__).resolve().parent
# Session fixtures that start real processes: the modules that ask for them share one worker.
SUITE_FIXTURES = re.compile(r"\b(shared_suite|temporal_dev_env)\b")
SUITE = "suite"


@functools.cache
def unit_of(module: str) -> str:
    """The unit of work of a test module (its path from the root): "suite" for a module on the shared processes."""
    path = ROOT / module
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return SUITE if SUITE_FIXTURES.search(text) else module


def _unit(nodeid: str) -> str:
    return unit_of(nodeid.split("::", 1)[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A stable sort: the suite's modules first, each module's tests in their order (the same in every worker).
    items.sort(key=lambda item: _unit(item.nodeid) != SUITE)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `--dist loadfile`: a module a unit, the modules on the shared suite one unit together."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SuiteFirst(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return SuiteFirst(config, log)
