"""Secure by default: each deployable, started as production starts it but with no profile and no secrets, refuses
to start and names the setting it lacks, before it connects to anything.

Each runs its real entry point (`python -m nivaran_<name>`, as scripts/devrun.py and the Kubernetes manifests start
it) with every NIVARAN_* variable removed from its environment, in an empty folder so that no `.env` or `var/` of the
repository is found. Without a profile a process is in prod, where the dev defaults are refused.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

# Deployable → (module run with `python -m`, environment prefix of its settings).
DEPLOYABLES = {
    "routing": ("nivaran_routing", "NIVARAN_ROUTING_"),
    "identity": ("nivaran_identity", "NIVARAN_IDENTITY_"),
    "intake": ("nivaran_intake", "NIVARAN_INTAKE_"),
    "notify": ("nivaran_notify", "NIVARAN_NOTIFY_"),
    "sla": ("nivaran_sla", "NIVARAN_SLA_"),
    "sla-worker": ("nivaran_sla.worker", "NIVARAN_SLA_"),
    "gateway": ("nivaran_gateway", "NIVARAN_GATEWAY_"),
}
# Each exits at settings validation, in seconds; this bound only allows for a loaded machine.
EXIT_WITHIN_SECONDS = 60


@dataclass(frozen=True)
class Exit:
    code: int | None
    stderr: str
    seconds: float


@pytest.fixture(scope="module")
def bare_starts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exit]:
    """Every deployable started at once with no NIVARAN_* variable, each in an empty folder of its own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("NIVARAN_")}
    started = time.monotonic()
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=tmp_path_factory.mktemp(f"bare-{name}"),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (module, _) in DEPLOYABLES.items()
    }
    exits: dict[str, Exit] = {}
    for name, process in processes.items():
        try:
            _, stderr = process.communicate(timeout=max(1.0, EXIT_WITHIN_SECONDS - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
            exits[name] = Exit(None, stderr, time.monotonic() - started)
            continue
        exits[name] = Exit(process.returncode, stderr, time.monotonic() - started)
    return exits


@pytest.mark.parametrize("deployable", sorted(DEPLOYABLES))
def test_started_with_no_profile_and_no_secrets_it_refuses_to_start_naming_the_setting(
    deployable: str, bare_starts: dict[str, Exit]
) -> None:
    _, prefix = DEPLOYABLES[deployable]
    stopped = bare_starts[deployable]

    assert stopped.code is not None, f"{deployable} was still running after {EXIT_WITHIN_SECONDS}s:\n{stopped.stderr}"
    assert stopped.code != 0, stopped.stderr
    assert re.search(rf"\b{prefix}[A-Z0-9_]+\b", stopped.stderr), stopped.stderr
    # It says how a developer gets the dev defaults, and it stops on a message, not on a traceback.
    assert f"set {prefix}PROFILE=dev" in stopped.stderr, stopped.stderr
    assert "Traceback" not in stopped.stderr, stopped.stderr


def test_identity_started_with_no_secrets_names_its_key_encryption_secret(bare_starts: dict[str, Exit]) -> None:
    assert "NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET is required in profile prod" in bare_starts["identity"].stderr


def test_intake_started_with_no_secrets_names_its_aadhaar_hash_key(bare_starts: dict[str, Exit]) -> None:
    assert "NIVARAN_INTAKE_AADHAAR_HASH_KEY is required in profile prod" in bare_starts["intake"].stderr


def test_a_refused_start_does_not_leave_files_behind(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Refused at settings, before a SQLite file or any other state is made in the working folder."""
    folder = tmp_path_factory.mktemp("bare-routing-files")
    env = {name: value for name, value in os.environ.items() if not name.startswith("NIVARAN_")}
    result = subprocess.run(
        [sys.executable, "-m", "nivaran_routing"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN_SECONDS,
        check=False,
    )
    assert result.returncode != 0
    assert list(Path(folder).iterdir()) == []
