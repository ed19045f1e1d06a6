"""The Kubernetes base renders, passes scripts/k8s_validate.py, and the validator names what a broken copy breaks."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from nivaran_common.settings import Profile, ServiceSettings, TemporalSettings
from nivaran_gateway.settings import GatewaySettings
from nivaran_identity.settings import IdentitySettings
from nivaran_intake.settings import IntakeSettings
from nivaran_notify.settings import NotifySettings
from nivaran_routing.settings import RoutingSettings
from nivaran_sla.settings import SlaSettings

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "k8s" / "base"
VALIDATOR = ROOT / "scripts" / "k8s_validate.py"
SECRETS_EXAMPLE = ROOT / "deploy" / "k8s" / "secrets.example.env"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "routing": RoutingSettings,
    "identity": IdentitySettings,
    "intake": IntakeSettings,
    "notify": NotifySettings,
    "sla": SlaSettings,
    "sla-worker": SlaSettings,
    "gateway": GatewaySettings,
}

Doc = dict[str, Any]


def run_validator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATOR), *args], capture_output=True, text=True, timeout=240, check=False
    )


def container(doc: Doc) -> Doc:
    containers: list[Doc] = doc["spec"]["template"]["spec"]["containers"]
    return containers[0]


def test_base_passes_schema_and_invariants() -> None:
    result = run_validator()
    assert result.returncode == 0, result.stderr
    assert "deploy/k8s/base:" in result.stdout
    assert "invariants hold" in result.stdout


def test_render_prints_every_deployable() -> None:
    result = run_validator("--render", "--base", str(BASE))
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    deployables = {"routing", "identity", "intake", "notify", "sla", "gateway"}
    assert {name for kind, name in names if kind == "Deployment"} == deployables | {"sla-worker"}
    assert {name for kind, name in names if kind == "Service"} == deployables
    assert ("ConfigMap", "nivaran-config") in names
    # The operator creates the Secret; committing one would commit secrets.
    assert not [name for kind, name in names if kind == "Secret"]
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    worker = container(deployments["sla-worker"])
    assert worker["command"] == ["python", "-m", "nivaran_sla.worker"]
    assert worker["image"] == container(deployments["sla"])["image"]


@functools.cache
def rendered_base() -> list[Doc]:
    """The base rendered once per test session (read-only: callers do not change it)."""
    result = run_validator("--render", "--base", str(BASE))
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def resolved_env(container_spec: Doc, config: dict[str, str], secrets: dict[str, str]) -> dict[str, str]:
    """The environment the kubelet would give the container, with the example file standing in for the Secret."""
    env: dict[str, str] = {}
    for var in container_spec.get("env", []):
        source = var.get("valueFrom", {})
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif "configMapKeyRef" in source and source["configMapKeyRef"]["key"] in config:
            env[var["name"]] = config[source["configMapKeyRef"]["key"]]
        elif "secretKeyRef" in source and not source["secretKeyRef"].get("optional"):
            env[var["name"]] = secrets[source["secretKeyRef"]["key"]]
    return env


@pytest.mark.parametrize("deployable", sorted(SETTINGS))
def test_pod_environment_builds_the_prod_settings(deployable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each NIVARAN_* variable is a real setting (pydantic ignores unknown ones silently), and the whole builds."""
    docs = rendered_base()
    config = next(doc["data"] for doc in docs if doc["kind"] == "ConfigMap")
    secrets = dict(
        line.split("=", 1) for line in SECRETS_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
    )
    pod = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == deployable)
    spec = container(pod)
    env = resolved_env(spec, config, secrets)
    settings_class = SETTINGS[deployable]
    prefixes: dict[str, type[BaseSettings]] = {
        settings_class.model_config["env_prefix"]: settings_class,
        "NIVARAN_TEMPORAL_": TemporalSettings,
    }
    # Every variable the manifest names, optional ones included, not only those that resolve here.
    for name in (var["name"] for var in spec["env"]):
        if not name.startswith("NIVARAN_"):
            continue
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        assert prefix is not None, f"{deployable}: {name} has no settings class here"
        assert name.removeprefix(prefix).lower() in prefixes[prefix].model_fields, f"{deployable}: {name} is no setting"

    for name in [name for name in os.environ if name.startswith("NIVARAN_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = settings_class()

    assert settings.profile is Profile.PROD
    # A peer left at its localhost default would be looked for inside the pod itself.
    local_peers = [
        f for f in type(settings).model_fields if f.endswith("_target") and "127.0.0.1" in getattr(settings, f)
    ]
    assert not local_peers, f"{deployable}: {local_peers} point at 127.0.0.1 inside the pod"
    # The worker listens on nothing; every other pod listens on all interfaces, on the port its container declares.
    ports = [port["containerPort"] for port in spec.get("ports", [])]
    if deployable != "sla-worker":
        host_field, port_field = ("host", "port") if deployable == "gateway" else ("grpc_host", "grpc_port")
        assert [getattr(settings, port_field)] == ports
        assert getattr(settings, host_field) == "0.0.0.0"


def _drop_resources(doc: Doc) -> None:
    del container(doc)["resources"]


def _tcp_readiness(doc: Doc) -> None:
    container(doc)["readinessProbe"] = {"tcpSocket": {"port": 50053}, "periodSeconds": 5}


def _wrong_liveness_port(doc: Doc) -> None:
    container(doc)["livenessProbe"]["grpc"]["port"] = 50051


def _unknown_probe_service(doc: Doc) -> None:
    container(doc)["readinessProbe"]["grpc"]["service"] = "nivaran.identity.v1.IdentitySrvice"


def _selector_typo(doc: Doc) -> None:
    doc["spec"]["selector"] = {"app.kubernetes.io/name": "gatewy"}


def _root_pod(doc: Doc) -> None:
    doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False


def _keep_capabilities(doc: Doc) -> None:
    del container(doc)["securityContext"]["capabilities"]


def _writable_root(doc: Doc) -> None:
    container(doc)["securityContext"]["readOnlyRootFilesystem"] = False


def _unknown_field(doc: Doc) -> None:
    doc["spec"]["template"]["spec"]["hostNetworking"] = True


def _undocumented_secret(doc: Doc) -> None:
    for var in container(doc)["env"]:
        if var["name"] == "NIVARAN_GATEWAY_REDIS_URL":
            var["valueFrom"]["secretKeyRef"]["key"] = "GATEWAY_REDIS"


def _loopback_listener(doc: Doc) -> None:
    for var in container(doc)["env"]:
        if var["name"] == "NIVARAN_NOTIFY_GRPC_HOST":
            var["value"] = "127.0.0.1"


BREAKAGES: list[tuple[str, str, str, Callable[[Doc], None], str]] = [
    (
        "no-resources",
        "routing.yaml",
        "Deployment",
        _drop_resources,
        "Deployment/routing container routing: resources.limits is missing cpu and memory",
    ),
    (
        "tcp-readiness",
        "intake.yaml",
        "Deployment",
        _tcp_readiness,
        "Deployment/intake container intake: readinessProbe must be a grpc probe on port 50053 (found tcpSocket)",
    ),
    (
        "liveness-port",
        "sla.yaml",
        "Deployment",
        _wrong_liveness_port,
        "Deployment/sla container sla: livenessProbe grpc port is 50051, but the grpc port is 50055",
    ),
    (
        "probe-service",
        "identity.yaml",
        "Deployment",
        _unknown_probe_service,
        "'nivaran.identity.v1.IdentitySrvice', which no proto/ file declares",
    ),
    (
        "service-selector",
        "gateway.yaml",
        "Service",
        _selector_typo,
        "Service/gateway: selector {'app.kubernetes.io/name': 'gatewy'} matches the pods of no workload",
    ),
    (
        "root-pod",
        "notify.yaml",
        "Deployment",
        _root_pod,
        "Deployment/notify container notify: securityContext.runAsNonRoot must be true",
    ),
    (
        "capabilities",
        "sla-worker.yaml",
        "Deployment",
        _keep_capabilities,
        "Deployment/sla-worker container sla-worker: securityContext.capabilities.drop must contain ALL",
    ),
    (
        "writable-root",
        "gateway.yaml",
        "Deployment",
        _writable_root,
        "Deployment/gateway container gateway: securityContext.readOnlyRootFilesystem must be true",
    ),
    (
        "strict-schema",
        "routing.yaml",
        "Deployment",
        _unknown_field,
        "Deployment/routing: schema (Kubernetes 1.32.0, strict): spec.template.spec: Additional properties",
    ),
    (
        "secret-key",
        "gateway.yaml",
        "Deployment",
        _undocumented_secret,
        "reads nivaran-secrets key 'GATEWAY_REDIS', which deploy/k8s/secrets.example.env lacks",
    ),
    (
        "loopback",
        "notify.yaml",
        "Deployment",
        _loopback_listener,
        "env NIVARAN_NOTIFY_GRPC_HOST=127.0.0.1 listens on one interface only",
    ),
]


@pytest.mark.parametrize(
    ("filename", "kind", "breakage", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in BREAKAGES],
)
def test_broken_copy_fails_naming_the_problem(
    tmp_path: Path, filename: str, kind: str, breakage: Callable[[Doc], None], message: str
) -> None:
    base = tmp_path / "base"
    shutil.copytree(BASE, base)
    manifest = base / filename
    docs = [doc for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if doc]
    target = next(doc for doc in docs if doc["kind"] == kind)
    breakage(target)
    manifest.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")

    result = run_validator("--base", str(base))

    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def test_kustomize_failure_is_reported(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(BASE, base)
    (base / "gateway.yaml").unlink()

    result = run_validator("--base", str(base))

    assert result.returncode == 1
    assert "k8s-validate: FAILED:" in result.stderr
    assert "gateway.yaml" in result.stderr
