"""Test databases on real PostgreSQL and SQLite: a fresh one per test, the service's migrated schema copied in from a
template built once per session, and the server's slow work (copying, dropping) done ahead or afterwards on a thread
of its own, off the test's path.

Measured on these machines (PostgreSQL 15, fsync on): `CREATE DATABASE … TEMPLATE` of intake's migrated schema takes
0.2–0.4 s, an empty database 50 ms, a `DROP … WITH (FORCE)` 10–60 ms; `ALTER DATABASE … RENAME` a few ms. A test
therefore renames a copy made while the test before it ran, and its database is dropped after it on that thread.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("NIVARAN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# The key of copies of the server's default template (empty databases).
EMPTY = ""


def _admin_conninfo() -> str:
    url = make_url(PG_ADMIN_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _async_url(name: str) -> str:
    return (
        make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    )


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _admin(*statements: str) -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_pg_database(prefix: str) -> str:
    """Create a uniquely named PostgreSQL database and return its async URL."""
    name = _unique(prefix)
    _admin(f'CREATE DATABASE "{name}"')
    return _async_url(name)


def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database, even with connections still open."""
    _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


class PgBackground:
    """The PostgreSQL server's slow work for this test process, on one thread: copies of a template made ahead
    ("spares", `AHEAD` of each template in use) and databases dropped once their test is over. A spare is a
    database nobody has connected to, renamed into place when a test asks for it."""

    AHEAD = 2

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._spares: dict[str, deque[Future[str]]] = defaultdict(deque)
        self._drops: list[Future[None]] = []
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-background")
        return self._pool

    @staticmethod
    def _copy(template: str) -> str:
        name = _unique("nivaran_spare")
        _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""))
        return name

    def take(self, template: str, name: str) -> None:
        """Make `name` (which must not exist) a fresh copy of `template` (EMPTY: of the server's default)."""
        with self._lock:
            spares = self._spares[template]
            made = spares.popleft() if spares else self._executor().submit(self._copy, template)
            while len(spares) < self.AHEAD:
                spares.append(self._executor().submit(self._copy, template))
        _admin(f'ALTER DATABASE "{made.result()}" RENAME TO "{name}"')

    def replace(self, template: str, name: str) -> None:
        """Swap the database `name`, which nobody has connected to yet, for a fresh copy of `template`."""
        trash = _unique("nivaran_trash")
        _admin(f'ALTER DATABASE "{name}" RENAME TO "{trash}"')
        self.drop(trash)
        self.take(template, name)

    def drop(self, name: str) -> None:
        """Drop `name` soon, even with connections still open (its test is over)."""
        with self._lock:
            self._drops.append(self._executor().submit(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def forget(self, template: str) -> None:
        """Drop the spares of `template` (before the template itself is dropped)."""
        with self._lock:
            spares = self._spares.pop(template, deque())
        for made in spares:
            if not made.cancel():
                _admin(f'DROP DATABASE IF EXISTS "{made.result()}" WITH (FORCE)')

    def close(self) -> None:
        """Drop every spare and finish every drop (at the end of the session)."""
        for template in list(self._spares):
            self.forget(template)
        with self._lock:
            drops, self._drops = self._drops, []
        for dropping in drops:
            dropping.result()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


BACKGROUND = PgBackground()


@dataclass
class DatabaseFactory:
    """Makes fresh databases of either kind for one test and removes them afterwards."""

    tmp_path: Path
    made: list[str] = field(default_factory=list)

    def __call__(self, kind: str, prefix: str = "nivaran_t") -> str:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{self.tmp_path / f'{prefix}_{uuid.uuid4().hex[:8]}.db'}"
        elif kind == "postgres":
            name = _unique(prefix)
            BACKGROUND.take(EMPTY, name)
            url = _async_url(name)
        else:
            raise ValueError(kind)
        self.made.append(url)
        return url

    def cleanup(self) -> None:
        for url in self.made:
            if url.startswith("postgresql") and make_url(url).database:
                BACKGROUND.drop(str(make_url(url).database))


class MigratedTemplates:
    """A service's schema with seed rows (routing's demo master data, say), built once per session into a template
    (a PostgreSQL template database, or a SQLite file) by the real migrations and loader, and copied into each
    test's fresh database: loading the rows again for every test costs more than the copy."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._templates: dict[tuple[str, str, str], str] = {}
        self._lock = asyncio.Lock()

    async def _template(
        self, service_root: Path, kind: str, seed_name: str, seed: Callable[[str], Awaitable[None]] | None
    ) -> str:
        from nivaran_common.migrations import upgrade_async

        key = (str(service_root), kind, seed_name)
        async with self._lock:
            if key not in self._templates:
                if kind == "sqlite":
                    url = f"sqlite+aiosqlite:///{self._folder / f'{service_root.name}_{uuid.uuid4().hex[:8]}.db'}"
                else:
                    url = create_pg_database(f"nivaran_tmpl_{service_root.name}")
                await upgrade_async(service_root, url)
                if seed is not None:
                    await seed(url)
                self._templates[key] = url
            return self._templates[key]

    async def fill(
        self,
        service_root: Path,
        url: str,
        *,
        seed_name: str = "",
        seed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Give the fresh, empty database at `url` (made by make_database) the service's migrated schema and the
        rows `seed` writes, if any (run once per session on the template; `seed_name` tells seeded templates
        apart). A SQLite file is copied (5 ms); on PostgreSQL the empty database is swapped for a copy of the
        template made ahead (PgBackground)."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            template = make_url(await self._template(service_root, "sqlite", seed_name, seed)).database
            if template is None or parsed.database is None:
                raise ValueError(f"not a SQLite file: {url}")
            shutil.copyfile(template, parsed.database)
            return
        template_name = make_url(await self._template(service_root, "postgres", seed_name, seed)).database
        if template_name is None or parsed.database is None:
            raise ValueError(f"not a PostgreSQL database: {url}")
        await asyncio.to_thread(BACKGROUND.replace, template_name, parsed.database)

    def cleanup(self) -> None:
        for url in self._templates.values():
            if url.startswith("postgresql"):
                BACKGROUND.forget(str(make_url(url).database))
                drop_pg_database(url)
