"""Policy on the rendered manifests, beyond the schema: rules for overlays, and the checkov and hadolint scanners.

scripts/k8s_validate.py calls `workload_errors` on every render and `overlay_errors` on each overlays/<name>/ render,
and with --scan runs `scan`: checkov on every rendered overlay (each failed check must be explained in
deploy/k8s/checkov.yaml) and hadolint on the Dockerfile. Both scanners come from PyPI, pinned in
deploy/k8s/policy-tools.txt, and are installed on first use into a venv of their own, var/tools/k8s-policy: checkov's
pins would downgrade packages of the project's lock.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
TOOLS = ROOT / "var" / "tools" / "k8s-policy"
REQUIREMENTS = K8S / "policy-tools.txt"
SKIPS = K8S / "checkov.yaml"

Manifest = dict[str, Any]

# A stopping process needs this long, after its own graceful shutdown, to export its last traces and exit.
SHUTDOWN_MARGIN_SECONDS = 5
DEFAULT_GRACE_SECONDS = 30
GRACEFUL_ENV = re.compile(r"^NIVARAN_[A-Z0-9_]+_GRACEFUL_SHUTDOWN_SECONDS$")
DATABASE_ENV = re.compile(r"^NIVARAN_([A-Z0-9]+)_DATABASE_URL$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
MIGRATION_COMPONENT = "migration"
MIGRATE_MODULE = ["python", "-m", "nivaran_common.migrate_cli"]
WAIT_CONTAINER = "wait-for-schema"
# Overlays whose workloads must survive a node's loss, and those that run one pod of each.
HIGHLY_AVAILABLE = {"prod"}
SINGLE_REPLICA = {"dev"}
PSA_LABEL = "pod-security.kubernetes.io/enforce"


class ToolError(Exception):
    """A scanner could not be installed or run."""


# --- rules -------------------------------------------------------------------------------------------------------


def _ref(doc: Manifest) -> str:
    meta = doc.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind', '?')}/{namespace}{meta.get('name', '?')}"


def _pod_spec(doc: Manifest) -> Manifest | None:
    if doc.get("kind") not in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return None
    spec: Manifest = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec


def _containers(pod_spec: Manifest) -> Iterator[Manifest]:
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []


def _env_value(container: Manifest, name: str) -> str | None:
    for var in container.get("env") or []:
        if var.get("name") == name and "value" in var:
            return str(var["value"])
    return None


def _databases(container: Manifest) -> set[str]:
    """The services whose database the container reads (NIVARAN_<SERVICE>_DATABASE_URL), lower-case."""
    found = set()
    for var in container.get("env") or []:
        match = DATABASE_ENV.match(str(var.get("name", "")))
        if match:
            found.add(match.group(1).lower())
    return found


def _is_worker(container: Manifest) -> bool:
    """A Temporal worker: the image's module with `.worker`, run by a command override."""
    command = [str(part) for part in container.get("command") or []]
    return any(part.endswith(".worker") for part in command)


def check_graceful_shutdown(doc: Manifest, errors: list[str]) -> None:
    """A process's graceful shutdown ends, with a margin, before the kubelet's SIGKILL; a Temporal worker says its
    own budget (NIVARAN_<NAME>_WORKER_GRACEFUL_SHUTDOWN_SECONDS) rather than leaning on a default."""
    pod_spec = _pod_spec(doc)
    if pod_spec is None or doc.get("kind") == "Job":
        return
    grace = pod_spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    for container in pod_spec.get("containers") or []:
        where = f"{_ref(doc)} container {container.get('name')}"
        names = [str(v.get("name")) for v in container.get("env") or [] if GRACEFUL_ENV.match(str(v.get("name", "")))]
        if _is_worker(container) and not any("_WORKER_GRACEFUL_SHUTDOWN_SECONDS" in name for name in names):
            errors.append(
                f"{where}: a Temporal worker must set its *_WORKER_GRACEFUL_SHUTDOWN_SECONDS, so that it can be "
                f"checked against terminationGracePeriodSeconds ({grace} s)"
            )
        for name in names:
            value = _env_value(container, name)
            try:
                seconds = float(value) if value is not None else None
            except ValueError:
                seconds = None
            if seconds is None:
                errors.append(f"{where}: env {name} must be a number of seconds, not {value!r}")
            elif seconds + SHUTDOWN_MARGIN_SECONDS > grace:
                errors.append(
                    f"{where}: env {name}={value} leaves less than {SHUTDOWN_MARGIN_SECONDS} s of the pod's "
                    f"terminationGracePeriodSeconds ({grace} s) to finish; SIGKILL would cut the drain short"
                )


def _main_image(doc: Manifest) -> str:
    pod_spec = _pod_spec(doc) or {}
    containers = pod_spec.get("containers") or [{}]
    return str(containers[0].get("image", ""))


def check_migrations(docs: list[Manifest], errors: list[str]) -> None:
    """Where the render has migration Jobs: one per database a workload reads, upgrading it with that workload's
    image; and every pod that reads a database first waits, with its own image, until the schema is at head."""
    jobs = [
        d
        for d in docs
        if d.get("kind") == "Job"
        and ((d.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component") == MIGRATION_COMPONENT
    ]
    if not jobs:
        return
    upgraders: dict[str, list[tuple[Manifest, str]]] = {}
    for job in jobs:
        for container in (_pod_spec(job) or {}).get("containers") or []:
            command = [str(part) for part in container.get("command") or []]
            if command[:4] == [*MIGRATE_MODULE, "upgrade"] and len(command) > 4:
                upgraders.setdefault(command[4], []).append((job, str(container.get("image", ""))))
            else:
                errors.append(f"{_ref(job)}: a migration Job must run {' '.join(MIGRATE_MODULE)} upgrade <service>")
    for doc in docs:
        pod_spec = _pod_spec(doc)
        if pod_spec is None or doc.get("kind") == "Job":
            continue
        databases = set().union(*(_databases(c) for c in pod_spec.get("containers") or []))
        image = _main_image(doc)
        for service in sorted(databases):
            found = upgraders.get(service, [])
            if not found:
                errors.append(f"{_ref(doc)}: reads the {service} database, but no migration Job upgrades it")
            for job, job_image in found:
                if job_image != image and doc.get("metadata", {}).get("name") == service:
                    errors.append(f"{_ref(job)}: runs {job_image}, but the {service} pods run {image}")
            waits = [
                c
                for c in pod_spec.get("initContainers") or []
                if [str(p) for p in c.get("command") or []][:5] == [*MIGRATE_MODULE, "wait", service]
            ]
            if not waits:
                errors.append(
                    f"{_ref(doc)}: reads the {service} database but has no init container running "
                    f"`{' '.join(MIGRATE_MODULE)} wait {service}`; its pods would start before the migration Job ends"
                )
            for wait in waits:
                if wait.get("image") != image:
                    errors.append(
                        f"{_ref(doc)} init container {wait.get('name')}: runs {wait.get('image')}, not the pod's "
                        f"image {image}; it must wait for the head of the pod's own migrations"
                    )


def workload_errors(docs: list[Manifest]) -> list[str]:
    """The rules every render keeps (the base, the components, every overlay)."""
    errors: list[str] = []
    for doc in docs:
        check_graceful_shutdown(doc, errors)
    check_migrations(docs, errors)
    return errors


def _replicas_floor(doc: Manifest, hpas: Mapping[str, Manifest]) -> int:
    hpa = hpas.get(str((doc.get("metadata") or {}).get("name")))
    if hpa is not None:
        return int((hpa.get("spec") or {}).get("minReplicas", 1))
    return int((doc.get("spec") or {}).get("replicas", 1))


def overlay_errors(overlay: str, docs: list[Manifest]) -> list[str]:
    """The rules of an applied overlay: a namespace of its own under the `restricted` Pod Security profile, holding
    everything (required of dev and prod; checked in another overlay that renders one); and per overlay, prod's
    pinned images, two pods at least, and migration Jobs; dev's single pods."""
    errors: list[str] = []
    namespaces = [d for d in docs if d.get("kind") == "Namespace"]
    if len(namespaces) != 1:
        # The overlays of this repository create theirs; another (an operator's own) may apply into an existing one.
        if namespaces or overlay in HIGHLY_AVAILABLE | SINGLE_REPLICA:
            errors.append(f"overlays/{overlay}: renders {len(namespaces)} Namespace objects; it must create one")
    else:
        namespace = namespaces[0]
        name = (namespace.get("metadata") or {}).get("name")
        labels = (namespace.get("metadata") or {}).get("labels") or {}
        if labels.get(PSA_LABEL) != "restricted":
            errors.append(f"{_ref(namespace)}: label {PSA_LABEL} must be 'restricted'")
        for doc in docs:
            if doc.get("kind") != "Namespace" and (doc.get("metadata") or {}).get("namespace") != name:
                errors.append(f"{_ref(doc)}: is not in the overlay's namespace {name!r}")
    workloads = [d for d in docs if d.get("kind") == "Deployment"]
    hpas = {
        str(((d.get("spec") or {}).get("scaleTargetRef") or {}).get("name")): d
        for d in docs
        if d.get("kind") == "HorizontalPodAutoscaler"
    }
    if overlay in HIGHLY_AVAILABLE:
        for doc in docs:
            for container in _containers(_pod_spec(doc) or {}):
                image = str(container.get("image", ""))
                if not DIGEST.search(image):
                    errors.append(
                        f"{_ref(doc)} container {container.get('name')}: image {image} is not pinned by digest "
                        "(kustomization images: digest)"
                    )
        for doc in workloads:
            if _replicas_floor(doc, hpas) < 2:
                errors.append(f"{_ref(doc)}: fewer than 2 pods (HPA minReplicas or replicas); one node's loss stops it")
        if not any(d.get("kind") == "Job" for d in docs):
            errors.append(f"overlays/{overlay}: has no migration Jobs (components/migrations)")
    if overlay in SINGLE_REPLICA:
        for doc in workloads:
            if str((doc.get("metadata") or {}).get("name")) in hpas:
                errors.append(f"{_ref(doc)}: has an HPA; overlays/{overlay} runs one pod of each, unscaled")
            elif (doc.get("spec") or {}).get("replicas") != 1:
                errors.append(f"{_ref(doc)}: replicas must be 1 in overlays/{overlay}")
    return errors


# --- scanners ----------------------------------------------------------------------------------------------------


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_tools() -> Path:
    """The bin/ folder of var/tools/k8s-policy, installed (or re-installed when policy-tools.txt changed)."""
    bin_dir = TOOLS / "bin"
    TOOLS.parent.mkdir(parents=True, exist_ok=True)
    # Two processes (pytest workers) may ask at once: one installs, the other waits for it.
    with (TOOLS.parent / ".k8s-policy.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install(bin_dir)


def _install(bin_dir: Path) -> Path:
    marker = TOOLS / ".policy-tools.sha256"
    digest = _requirements_digest()
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == digest and (bin_dir / "checkov").exists():
        return bin_dir
    print(f"k8s-policy: installing {REQUIREMENTS.name} into {TOOLS}", file=sys.stderr)
    uv = ROOT / "var" / "tools" / "bin" / "uv"
    uv_path = str(uv) if uv.exists() else shutil.which("uv")
    if uv_path:
        commands = [
            [uv_path, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(TOOLS)],
            [uv_path, "pip", "install", "--quiet", "--python", str(bin_dir / "python"), "-r", str(REQUIREMENTS)],
        ]
    else:
        commands = [
            [sys.executable, "-m", "venv", str(TOOLS)],
            [str(bin_dir / "pip"), "install", "--quiet", "-r", str(REQUIREMENTS)],
        ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ToolError(f"{' '.join(command)} failed:\n{result.stderr.strip()}")
    marker.write_text(digest, encoding="utf-8")
    return bin_dir


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one rendered object of one overlay."""

    overlay: str
    check: str
    name: str
    resource: str  # Kind/name

    def __str__(self) -> str:
        return f"overlays/{self.overlay}: {self.resource}: {self.check} {self.name}"


@dataclass(frozen=True)
class Skip:
    """An entry of deploy/k8s/checkov.yaml: a check that fails on purpose, where, and why."""

    check: str
    overlays: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str

    def explains(self, finding: Finding) -> bool:
        """Whether this entry covers `finding`."""
        return (
            finding.check == self.check
            and finding.overlay in self.overlays
            and any(fnmatch.fnmatchcase(finding.resource, pattern) for pattern in self.resources)
        )


def load_skips(path: Path = SKIPS) -> list[Skip]:
    """The entries of the skip list; each must name a check, overlays, resources and a reason."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    skips = []
    for number, entry in enumerate(data.get("skips") or [], start=1):
        missing = [key for key in ("check", "overlays", "resources", "reason") if not entry.get(key)]
        if missing:
            raise ToolError(f"{path.name}: entry {number} lacks {', '.join(missing)}")
        skips.append(
            Skip(
                str(entry["check"]),
                tuple(str(o) for o in entry["overlays"]),
                tuple(str(r) for r in entry["resources"]),
                " ".join(str(entry["reason"]).split()),
            )
        )
    return skips


def _resource(checkov_resource: str) -> str:
    """checkov's `Kind.namespace.name` as `Kind/name`."""
    parts = checkov_resource.split(".", 2)
    return f"{parts[0]}/{parts[-1]}"


def run_checkov(rendered: Mapping[str, str], bin_dir: Path) -> tuple[list[Finding], int]:
    """checkov's failed checks on each overlay's rendered YAML (one run for all), and how many checks passed."""
    with tempfile.TemporaryDirectory(prefix="k8s-policy-") as scratch:
        for overlay, text in rendered.items():
            Path(scratch, f"{overlay}.yaml").write_text(text, encoding="utf-8")
        command = [
            str(bin_dir / "checkov"),
            "--directory",
            scratch,
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--skip-download",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        reports = json.loads(result.stdout) if result.stdout.strip() else []
    except json.JSONDecodeError as exc:
        raise ToolError(f"checkov printed no report (exit {result.returncode}):\n{result.stderr.strip()}") from exc
    if isinstance(reports, dict):
        reports = [reports]
    if result.returncode not in (0, 1) or not reports:
        raise ToolError(f"checkov failed (exit {result.returncode}):\n{result.stderr.strip()}")
    findings: list[Finding] = []
    passed = 0
    for report in reports:
        summary = report.get("summary") or {}
        passed += int(summary.get("passed", 0))
        if int(summary.get("parsing_errors", 0)):
            raise ToolError(f"checkov could not parse a rendered overlay: {summary}")
        for failed in (report.get("results") or {}).get("failed_checks") or []:
            overlay = Path(str(failed.get("file_path", ""))).stem
            findings.append(
                Finding(overlay, str(failed["check_id"]), str(failed["check_name"]), _resource(failed["resource"]))
            )
    return findings, passed


def judge(findings: list[Finding], skips: list[Skip], overlays: set[str]) -> list[str]:
    """Failed checks no entry explains, and entries (for the overlays scanned) that explain no failed check."""
    problems = [
        f"{finding}: failed, and deploy/k8s/checkov.yaml does not explain it"
        for finding in findings
        if not any(skip.explains(finding) for skip in skips)
    ]
    for skip in skips:
        for overlay in sorted(set(skip.overlays) & overlays):
            if not any(skip.explains(f) for f in findings if f.overlay == overlay):
                problems.append(
                    f"deploy/k8s/checkov.yaml: {skip.check} on overlays/{overlay} {list(skip.resources)} explains no "
                    "failed check any more; remove it (or narrow it)"
                )
    return problems


def run_hadolint(bin_dir: Path, dockerfile: Path = DOCKERFILE) -> list[str]:
    """hadolint's findings on the Dockerfile (its default rules; an ignore needs an inline comment with a reason)."""
    result = subprocess.run(
        [str(bin_dir / "hadolint"), "--no-color", "--format", "tty", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise ToolError(f"hadolint failed (exit {result.returncode}):\n{result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if line.strip()]


@dataclass(frozen=True)
class ScanReport:
    """What `scan` found: problems (empty when all is well), and counts for the summary line."""

    problems: list[str]
    passed: int
    explained: list[Finding]


def scan(rendered_overlays: Mapping[str, str], dockerfile: Path = DOCKERFILE, skips_file: Path = SKIPS) -> ScanReport:
    """checkov on every rendered overlay, judged against the skip list, and hadolint on the Dockerfile."""
    bin_dir = ensure_tools()
    skips = load_skips(skips_file)
    findings, passed = run_checkov(rendered_overlays, bin_dir) if rendered_overlays else ([], 0)
    problems = judge(findings, skips, set(rendered_overlays))
    problems += [f"hadolint: {line}" for line in run_hadolint(bin_dir, dockerfile)]
    explained = [f for f in findings if any(s.explains(f) for s in skips)]
    return ScanReport(problems, passed, explained)
