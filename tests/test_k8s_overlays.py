"""The overlays an SRE applies (deploy/k8s/overlays/{dev,prod}), the migration Jobs, the one Dockerfile, and the
policy scan (checkov on the rendered overlays, hadolint on the Dockerfile) that CI runs through this module."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import k8s_policy  # scripts/k8s_policy.py and k8s_validate.py, put on sys.path by tests/conftest.py
import k8s_validate
import pytest
import yaml

from nivaran_common.temporal import SEARCH_ATTRIBUTES
from nivaran_common.testing import DatabaseFactory
from nivaran_sla.settings import SlaSettings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
README = K8S / "README.md"
DOCKERFILE = ROOT / "Dockerfile"
OVERLAYS = ("dev", "prod")
DATABASE_SERVICES = {"routing", "identity", "intake", "notify", "sla"}
GRPC_SERVICES = {"routing": 51051, "identity": 51052, "intake": 51053, "notify": 51054, "sla": 51055}
DEPLOYMENTS = {*GRPC_SERVICES, "sla-worker", "gateway"}
PINNED = re.compile(r"registry\.example\.gov\.in/nivaran/nivaran-[a-z]+@sha256:[0-9a-f]{64}")
COLLECTOR_PINNED = re.compile(r"otel/opentelemetry-collector-contrib@sha256:[0-9a-f]{64}")

Doc = dict[str, Any]


def run_validator(*args: str) -> subprocess.CompletedProcess[str]:
    """scripts/k8s_validate.py with `args`, in this process (as tests/test_k8s_manifests.py runs it)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = k8s_validate.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["k8s_validate.py", *args], code, out.getvalue(), err.getvalue())


@functools.cache
def rendered_text(overlay: str) -> str:
    """An overlay rendered once per session."""
    result = run_validator("--render", "--base", str(K8S / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered(overlay: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_specs(docs: list[Doc]) -> dict[str, Doc]:
    return {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]["spec"]
        for doc in docs
        if doc["kind"] in {"Deployment", "Job"}
    }


def all_containers(pod_spec: Doc) -> list[Doc]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


# --- both overlays -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_schema_invariants_and_overlay_rules(overlay: str) -> None:
    result = run_validator("--base", str(K8S / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    assert f"deploy/k8s/overlays/{overlay}:" in result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_hardened(overlay: str) -> None:
    """Every pod, the migration Jobs and the init containers included, runs as the image's numeric non-root user,
    read-only, without privileges, under RuntimeDefault seccomp and without a service account token."""
    user = dockerfile_user()
    specs = pod_specs(rendered(overlay))
    jobs = {name for name in specs if name.startswith("Job/")}
    assert jobs == {f"Job/nivaran-migrate-{service}" for service in DATABASE_SERVICES}
    for name, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert (pod["runAsUser"], pod["runAsGroup"]) == user, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in all_containers(spec):
            where = f"{name} container {container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in container["volumeMounts"]), where
            for part in ("requests", "limits"):
                assert set(container["resources"][part]) == {"cpu", "memory"}, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grpc_services_have_grpc_probes_on_their_health_port(overlay: str) -> None:
    deployments = of_kind(rendered(overlay), "Deployment")
    for name, health in GRPC_SERVICES.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "health", "containerPort": health} in container["ports"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == health, (name, probe)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_database_is_migrated_by_its_job_and_waited_for(overlay: str) -> None:
    """One Job per database-owning service runs the upgrade with the service's image; the service's pods (and the
    sla worker's, which shares sla's database) wait for it with the same image, so replicas never run the upgrade
    on an old schema or race each other."""
    docs = rendered(overlay)
    jobs = of_kind(docs, "Job")
    deployments = of_kind(docs, "Deployment")
    for service in DATABASE_SERVICES:
        job = jobs[f"nivaran-migrate-{service}"]
        image = deployments[service]["spec"]["template"]["spec"]["containers"][0]["image"]
        (migrate,) = job["spec"]["template"]["spec"]["containers"]
        assert migrate["command"] == ["python", "-m", "nivaran_common.migrate_cli", "upgrade", service]
        assert migrate["image"] == image
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    waits = {"sla-worker": "sla", **{s: s for s in DATABASE_SERVICES}}
    for name, service in waits.items():
        spec = deployments[name]["spec"]["template"]["spec"]
        (wait,) = spec["initContainers"]
        assert wait["command"][:5] == ["python", "-m", "nivaran_common.migrate_cli", "wait", service]
        assert wait["image"] == spec["containers"][0]["image"]
    assert "initContainers" not in deployments["gateway"]["spec"]["template"]["spec"]
    # The Jobs reach PostgreSQL through a policy of their own.
    policy = of_kind(docs, "NetworkPolicy")["nivaran-migrations"]
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "migration"}}
    assert policy["spec"]["egress"] == [{"ports": [{"protocol": "TCP", "port": 5432}]}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_sla_worker_drains_before_sigkill(overlay: str) -> None:
    """The worker's graceful_shutdown_timeout (its setting, which refuses 30 s or more) ends 5 s or more before the
    pod's terminationGracePeriodSeconds."""
    worker = of_kind(rendered(overlay), "Deployment")["sla-worker"]["spec"]["template"]["spec"]
    env = {var["name"]: var.get("value") for var in worker["containers"][0]["env"]}
    seconds = float(env["NIVARAN_SLA_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert seconds + k8s_policy.SHUTDOWN_MARGIN_SECONDS <= worker["terminationGracePeriodSeconds"]
    assert SlaSettings.model_fields["worker_graceful_shutdown_seconds"].default == seconds


# --- prod and dev ------------------------------------------------------------------------------------------------


def test_prod_has_every_component_two_pods_each_and_pinned_images() -> None:
    docs = rendered("prod")
    assert {doc["metadata"].get("namespace", "nivaran") for doc in docs} == {"nivaran"}
    namespace = of_kind(docs, "Namespace")["nivaran"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deployments = of_kind(docs, "Deployment")
    # Nivaran's deployables, and the OpenTelemetry collector (components/otel-collector: two pods, no HPA).
    assert set(deployments) == DEPLOYMENTS | {"otel-collector"}
    assert deployments["otel-collector"]["spec"]["replicas"] >= 2
    hpas = {doc["spec"]["scaleTargetRef"]["name"]: doc for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == DEPLOYMENTS
    assert all(hpa["spec"]["minReplicas"] >= 2 for hpa in hpas.values())
    assert len([d for d in docs if d["kind"] == "PodDisruptionBudget"]) == len(DEPLOYMENTS) + 1
    assert {"nivaran-default-deny", "nivaran-migrations", "nivaran-metrics-scrape", "otel-collector"} <= set(
        of_kind(docs, "NetworkPolicy")
    )
    assert len(of_kind(docs, "Certificate")) == len(DEPLOYMENTS)
    for name, spec in pod_specs(docs).items():
        for container in all_containers(spec):
            pinned = COLLECTOR_PINNED if name.endswith("otel-collector") else PINNED
            assert pinned.fullmatch(container["image"]), container["image"]


def test_prod_config_patch_sets_the_external_addresses_each_documented() -> None:
    """The operator's edits are in overlays/prod/config.yaml, each key applied to nivaran-config and documented in
    the README's table."""
    patch = yaml.safe_load((K8S / "overlays" / "prod" / "config.yaml").read_text(encoding="utf-8"))
    config = of_kind(rendered("prod"), "ConfigMap")["nivaran-config"]["data"]
    readme = README.read_text(encoding="utf-8")
    applying = readme.split("## Applying prod", 1)[1].split("\n## ", 1)[0]
    assert {"NIVARAN_TEMPORAL_ADDRESS", "NIVARAN_TEMPORAL_NAMESPACE"} <= set(patch["data"])
    for key, value in patch["data"].items():
        assert config[key] == value, key
        assert f"`{key}`" in applying, f"{key} is not documented in README's Applying prod"


def test_dev_runs_one_pod_each_unscaled_with_smaller_requests() -> None:
    docs, prod = rendered("dev"), rendered("prod")
    assert {doc["metadata"].get("namespace", "nivaran-dev") for doc in docs} == {"nivaran-dev"}
    assert not [doc for doc in docs if doc["kind"] in {"HorizontalPodAutoscaler", "PodDisruptionBudget"}]
    deployments, prod_deployments = of_kind(docs, "Deployment"), of_kind(prod, "Deployment")
    assert set(deployments) == DEPLOYMENTS
    memory = {"Mi": 1, "Gi": 1024}
    for name, doc in deployments.items():
        assert doc["spec"]["replicas"] == 1, name
        small = doc["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        large = prod_deployments[name]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        assert int(small["cpu"].removesuffix("m")) < int(large["cpu"].removesuffix("m")), name
        assert (
            int(small["memory"][:-2]) * memory[small["memory"][-2:]]
            <= int(large["memory"][:-2]) * memory[large["memory"][-2:]]
        ), name
    # The certificates name the dev namespace (the replacement), from a CA cert-manager makes itself.
    certificates = of_kind(docs, "Certificate")
    assert "intake.nivaran-dev.svc.cluster.local" in certificates["nivaran-tls-intake"]["spec"]["dnsNames"]
    assert certificates["nivaran-ca"]["spec"]["isCA"] is True


def _write_yaml(path: Path, docs: list[Doc]) -> None:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    return tree


def test_prod_fails_with_a_tag_one_pod_or_no_migration_jobs(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    kustomization_path = tree / "overlays" / "prod" / "kustomization.yaml"
    kustomization = yaml.safe_load(kustomization_path.read_text(encoding="utf-8"))
    gateway = next(image for image in kustomization["images"] if image["name"] == "nivaran-gateway")
    del gateway["digest"]
    gateway["newTag"] = "0.1.0"
    kustomization["components"].remove("../../components/migrations")
    kustomization_path.write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    hpa_path = tree / "components" / "autoscaling" / "hpa.yaml"
    hpas = [doc for doc in yaml.safe_load_all(hpa_path.read_text(encoding="utf-8")) if doc]
    next(doc for doc in hpas if doc["metadata"]["name"] == "notify")["spec"]["minReplicas"] = 1
    _write_yaml(hpa_path, hpas)

    result = run_validator("--base", str(tree / "overlays" / "prod"))

    assert result.returncode == 1
    for message in (
        "Deployment/nivaran/gateway container gateway: image registry.example.gov.in/nivaran/nivaran-gateway:0.1.0 "
        "is not pinned by digest",
        "Deployment/nivaran/notify: fewer than 2 pods",
        "overlays/prod: has no migration Jobs",
    ):
        assert message in result.stderr, result.stderr


def test_a_pod_that_does_not_wait_for_its_migration_fails(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    path = tree / "components" / "migrations" / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
    kustomization["patches"] = [p for p in kustomization["patches"] if p["target"]["name"] != "sla-worker"]
    kustomization["replacements"] = [r for r in kustomization["replacements"] if r["source"]["name"] != "sla-worker"]
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")

    result = run_validator("--base", str(tree / "overlays" / "dev"))

    assert result.returncode == 1
    assert (
        "Deployment/nivaran-dev/sla-worker: reads the sla database but has no init container running "
        "`python -m nivaran_common.migrate_cli wait sla`" in result.stderr
    ), result.stderr


def test_a_worker_drain_longer_than_the_grace_period_fails(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    path = tree / "base" / "sla-worker.yaml"
    # The Deployment, then the Service of its metrics port.
    worker, *others = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    env = worker["spec"]["template"]["spec"]["containers"][0]["env"]
    next(var for var in env if var["name"] == "NIVARAN_SLA_WORKER_GRACEFUL_SHUTDOWN_SECONDS")["value"] = "28"
    _write_yaml(path, [worker, *others])

    result = run_validator("--base", str(tree / "base"))

    assert result.returncode == 1
    assert (
        "Deployment/sla-worker container sla-worker: env NIVARAN_SLA_WORKER_GRACEFUL_SHUTDOWN_SECONDS=28 leaves less "
        "than 5 s of the pod's terminationGracePeriodSeconds (30 s)" in result.stderr
    ), result.stderr


# --- the migration command ---------------------------------------------------------------------------------------


def migrate_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """`python -m nivaran_common.migrate_cli` in its own process (it configures logging for the whole process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIVARAN_")}
    env["NIVARAN_ROUTING_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "nivaran_common.migrate_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrate_cli_waits_until_the_job_has_upgraded(kind: str, make_database: DatabaseFactory) -> None:
    url = make_database(kind)

    # An empty database is not at head (checked once: each run starts an interpreter, seconds each).
    before = migrate_cli("wait", "routing", "--timeout", "0", url=url) if kind == "sqlite" else None
    upgraded = migrate_cli("upgrade", "routing", url=url)
    after = migrate_cli("wait", "routing", "--timeout", "0", url=url)

    if before is not None:
        assert before.returncode == 1, before.stderr
        assert "schema not at head in time" in before.stdout
    assert upgraded.returncode == 0, upgraded.stderr
    assert '"event": "migrated"' in upgraded.stdout
    assert after.returncode == 0, after.stderr
    assert '"event": "schema at head"' in after.stdout


# --- the Dockerfile ----------------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), split into stages; the first
    list holds what comes before the first FROM."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def dockerfile_user() -> tuple[int, int]:
    """The final stage's USER, as numbers."""
    users = [line.split()[1] for line in dockerfile_stages()[-1] if line.upper().startswith("USER ")]
    assert len(users) == 1, users
    assert re.fullmatch(r"\d+:\d+", users[0]), f"USER {users[0]} must be numeric uid:gid (runAsNonRoot checks it)"
    uid, gid = (int(part) for part in users[0].split(":"))
    return uid, gid


def test_one_parametrised_dockerfile_builds_every_image() -> None:
    stages = dockerfile_stages()
    preamble, *builds = stages
    assert len(builds) == 2, "a build stage and a final stage"
    default_image = next(line for line in preamble if line.startswith("ARG PYTHON_IMAGE="))
    base = default_image.split("=", 1)[1]
    assert ":" in base, base
    assert not base.endswith(":latest"), base
    for stage in builds:
        assert stage[0].split()[1] == "${PYTHON_IMAGE}", stage[0]
        assert "ARG SERVICE" in stage
    final = builds[-1]
    uid, gid = dockerfile_user()
    assert uid >= 10000
    assert gid >= 10000
    final_text = "\n".join(final)
    for tool in ("uv ", "pip install", "gcc", "build-essential"):
        assert tool not in final_text, f"{tool.strip()} in the final stage"
    assert "COPY --from=build /app /app" in final
    (entrypoint,) = [line for line in final if line.startswith("ENTRYPOINT")]
    assert "exec python -m" in entrypoint
    # Every image of the base is one SERVICE of it: its package, folder and module exist.
    images = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text(encoding="utf-8"))["images"]
    for image in images:
        service = image["name"].removeprefix("nivaran-")
        folder = ROOT / ("gateway" if service == "gateway" else f"services/{service}")
        project = (folder / "pyproject.toml").read_text(encoding="utf-8")
        assert f'name = "nivaran-{service}"' in project
        assert (folder / "src" / f"nivaran_{service}" / "__main__.py").exists()
    # The six per-service Dockerfiles it replaced are gone.
    assert not list(ROOT.glob("services/*/Dockerfile"))
    assert not (ROOT / "gateway" / "Dockerfile").exists()


# --- the README --------------------------------------------------------------------------------------------------


def test_readme_lists_the_search_attributes_with_their_types_and_the_jobs() -> None:
    readme = README.read_text(encoding="utf-8")
    for key in SEARCH_ATTRIBUTES:
        kind = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}[key.indexed_value_type.name]
        assert f"| `{key.name}` | {kind} |" in readme, key.name
        assert f"--name {key.name} --type {kind}" in readme, key.name
    for service in DATABASE_SERVICES:
        assert f"`nivaran-migrate-{service}`" in readme
    assert "kubectl apply -k deploy/k8s/overlays/prod" in readme


# --- the policy scan ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_findings() -> tuple[list[k8s_policy.Finding], float]:
    """checkov's failed checks on both rendered overlays (one run), and the seconds it took."""
    bin_dir = k8s_policy.ensure_tools()
    started = time.monotonic()
    findings, passed = k8s_policy.run_checkov({o: rendered_text(o) for o in OVERLAYS}, bin_dir)
    assert passed > 1000, passed
    return findings, time.monotonic() - started


def test_checkov_finds_nothing_unexplained(checkov_findings: tuple[list[k8s_policy.Finding], float]) -> None:
    """Every failed check on the rendered overlays is one that deploy/k8s/checkov.yaml explains, with a reason, and
    every entry there still explains one."""
    findings, seconds = checkov_findings
    skips = k8s_policy.load_skips()
    assert all(len(skip.reason) > 40 for skip in skips)
    assert k8s_policy.judge(findings, skips, set(OVERLAYS)) == []
    # Prod passes what dev skips: pinned images.
    assert not [f for f in findings if f.overlay == "prod" and f.check in {"CKV_K8S_43", "CKV_K8S_15"}]
    assert seconds < 60


def test_an_unexplained_or_stale_checkov_entry_fails(checkov_findings: tuple[list[k8s_policy.Finding], float]) -> None:
    findings, _ = checkov_findings
    skips = k8s_policy.load_skips()
    without = [skip for skip in skips if skip.check != "CKV_K8S_8"]
    problems = k8s_policy.judge(findings, without, set(OVERLAYS))
    assert "overlays/prod: Deployment/sla-worker: CKV_K8S_8 Liveness Probe Should be Configured: failed, and " in (
        "\n".join(problems)
    )
    stale = [*skips, k8s_policy.Skip("CKV_K8S_21", ("prod",), ("Deployment/*",), "the default namespace")]
    problems = k8s_policy.judge(findings, stale, set(OVERLAYS))
    assert problems == [
        "deploy/k8s/checkov.yaml: CKV_K8S_21 on overlays/prod ['Deployment/*'] explains no failed check any more; "
        "remove it (or narrow it)"
    ]


def test_hadolint_passes_the_dockerfile_and_catches_a_bad_one(tmp_path: Path) -> None:
    bin_dir = k8s_policy.ensure_tools()
    assert k8s_policy.run_hadolint(bin_dir) == []
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y curl\nUSER root\n", encoding="utf-8")
    found = "\n".join(k8s_policy.run_hadolint(bin_dir, bad))
    assert "DL3007" in found  # latest
    assert "DL3002" in found  # last USER root
