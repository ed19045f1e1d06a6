"""The Kubernetes base renders, passes scripts/k8s_validate.py, and the validator names what a broken copy breaks."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import k8s_validate  # scripts/k8s_validate.py, put on sys.path by tests/conftest.py
import pytest
import yaml
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from nivaran_common.settings import Profile, ServiceSettings, TemporalSettings
from nivaran_gateway.mail_inbound.settings import MailInboundSettings
from nivaran_gateway.settings import GatewaySettings
from nivaran_identity.settings import IdentitySettings
from nivaran_intake.settings import IntakeSettings
from nivaran_notify.settings import NotifySettings
from nivaran_routing.settings import RoutingSettings
from nivaran_sla.settings import SlaSettings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
COMPONENTS = ("cert-manager", "network-policies")
VALIDATOR = ROOT / "scripts" / "k8s_validate.py"
SECRETS_EXAMPLE = K8S / "secrets.example.env"
README = K8S / "README.md"
TLS_DIR = "/etc/nivaran/tls"
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
    """scripts/k8s_validate.py with `args`, run in this process (its schemas load once per session, and no
    interpreter starts per case); its exit code and output, as a subprocess run would give them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = k8s_validate.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess([str(VALIDATOR), *args], code, out.getvalue(), err.getvalue())


def container(doc: Doc) -> Doc:
    containers: list[Doc] = doc["spec"]["template"]["spec"]["containers"]
    return containers[0]


def test_base_passes_schema_and_invariants() -> None:
    result = run_validator()
    assert result.returncode == 0, result.stderr
    assert "deploy/k8s/base:" in result.stdout
    # The base is checked a second time with every component on top.
    expected = (
        "deploy/k8s/base + components/autoscaling + components/cert-manager + components/migrations + "
        "components/network-policies + components/otel-collector:"
    )
    assert expected in result.stdout
    # And every overlay (tests/test_k8s_overlays.py looks inside them).
    assert "deploy/k8s/overlays/dev:" in result.stdout
    assert "deploy/k8s/overlays/prod:" in result.stdout
    assert "invariants hold" in result.stdout


def test_render_prints_every_deployable() -> None:
    result = run_validator("--render", "--base", str(BASE))
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    deployables = {"routing", "identity", "intake", "notify", "sla", "gateway"}
    assert {name for kind, name in names if kind == "Deployment"} == deployables | {"sla-worker"}
    # The gateway's pod takes citizens' email too (its mail-inbound container), at a Service of its own.
    # The sla worker's Service has its metrics port only.
    assert {name for kind, name in names if kind == "Service"} == deployables | {"mail-inbound", "sla-worker"}
    assert ("ConfigMap", "nivaran-config") in names
    # The operator creates the Secret; committing one would commit secrets.
    assert not [name for kind, name in names if kind == "Secret"]
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    worker = container(deployments["sla-worker"])
    assert worker["command"] == ["python", "-m", "nivaran_sla.worker"]
    assert worker["image"] == container(deployments["sla"])["image"]


def test_every_deployment_has_an_hpa_and_a_pdb_with_the_autoscaling_component() -> None:
    """Each workload scales out on CPU (the sla workers adding deadline capacity, issue 9) and keeps one pod through
    a node drain; each HPA and PDB names a Deployment that exists."""
    component = K8S / "components" / "autoscaling"
    result = run_validator("--render", "--base", str(BASE), "--component", str(component))
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    hpas = {doc["spec"]["scaleTargetRef"]["name"]: doc for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"}
    pdbs = {
        doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for doc in docs
        if doc["kind"] == "PodDisruptionBudget"
    }
    assert set(hpas) == set(deployments) == pdbs
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns replicas"
    assert hpas["sla-worker"]["spec"]["maxReplicas"] >= max(h["spec"]["maxReplicas"] for h in hpas.values())


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
    # The example's placeholders are refused in prod (see the test below); an operator puts generated secrets there.
    env.update({name: token_urlsafe(32) for name in secret_variables(settings_class) if name in env})
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
    # Every pod listens on all interfaces, on the ports its container declares (the worker on its metrics only).
    ports = {port["name"]: port["containerPort"] for port in spec.get("ports", [])}
    if deployable == "sla-worker":
        assert (settings.worker_metrics_port, settings.worker_metrics_host) == (ports.pop("metrics"), "0.0.0.0")
    else:
        # GET /metrics binds where the service listens (its grpc_host, the gateway's host).
        assert settings.metrics_port == ports.pop("metrics")
    if deployable == "gateway":
        assert (settings.port, settings.host) == (ports.pop("http"), "0.0.0.0")
    elif deployable != "sla-worker":
        assert (settings.grpc_port, settings.grpc_host) == (ports.pop("grpc"), "0.0.0.0")
        # The kubelet probes a second, plaintext port: the gRPC one requires a client certificate.
        assert settings.health_port == ports.pop("health")
    assert not ports, f"{deployable}: ports no setting listens on: {ports}"
    # Mutual TLS from the mounted Secret, and the door's key set and revocation records.
    assert (settings.tls_ca_file, settings.tls_cert_file, settings.tls_key_file) == (
        f"{TLS_DIR}/ca.crt",
        f"{TLS_DIR}/tls.crt",
        f"{TLS_DIR}/tls.key",
    )
    assert settings.identity_target == "identity:50052"
    assert settings.revocation_redis_url == secrets["NIVARAN_REVOCATION_REDIS_URL"]
    volumes = {v["name"]: v for v in pod["spec"]["template"]["spec"]["volumes"]}
    mount = next(m for m in spec["volumeMounts"] if m["mountPath"] == TLS_DIR)
    assert mount["readOnly"] is True
    assert volumes[mount["name"]]["secret"]["secretName"] == f"nivaran-tls-{deployable}"


def test_C1_the_mail_receiver_runs_in_the_gateways_pod_as_the_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMTP receiver (nivaran_gateway.mail_inbound) is the gateway's second container: the same image, the
    gateway's certificate, every NIVARAN_MAILIN_* variable a real setting, and its prod settings build."""
    docs = rendered_base()
    config = next(doc["data"] for doc in docs if doc["kind"] == "ConfigMap")
    secrets = dict(
        line.split("=", 1) for line in SECRETS_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
    )
    pod = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "gateway")
    gateway, receiver = pod["spec"]["template"]["spec"]["containers"]
    assert receiver["command"] == ["python", "-m", "nivaran_gateway.mail_inbound"]
    assert receiver["image"] == gateway["image"]
    names = [var["name"] for var in receiver["env"] if var["name"].startswith("NIVARAN_")]
    assert names
    for name in names:
        assert name.startswith("NIVARAN_MAILIN_"), name
        assert name.removeprefix("NIVARAN_MAILIN_").lower() in MailInboundSettings.model_fields, name
    for name in [name for name in os.environ if name.startswith("NIVARAN_")]:
        monkeypatch.delenv(name)
    for name, value in resolved_env(receiver, config, secrets).items():
        monkeypatch.setenv(name, value)
    settings = MailInboundSettings()
    assert settings.profile is Profile.PROD
    ports = {port["name"]: port["containerPort"] for port in receiver["ports"]}
    assert (settings.host, settings.port, settings.metrics_port) == ("0.0.0.0", ports["smtp"], ports["mail-metrics"])
    assert settings.domains() == {"nivaran.example.gov.in"}
    assert (settings.intake_target, settings.notify_target) == ("intake:50053", "notify:50054")
    assert settings.tls_cert_file == f"{TLS_DIR}/tls.crt"
    mount = next(m for m in receiver["volumeMounts"] if m["mountPath"] == TLS_DIR)
    volumes = {v["name"]: v for v in pod["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mount["name"]]["secret"]["secretName"] == "nivaran-tls-gateway"
    service = next(doc for doc in docs if doc["kind"] == "Service" and doc["metadata"]["name"] == "mail-inbound")
    assert service["spec"]["ports"] == [{"name": "smtp", "port": 25, "targetPort": "smtp", "appProtocol": "smtp"}]


def secret_variables(settings_class: type[ServiceSettings]) -> list[str]:
    """The environment variables of the secret (SecretStr) settings of `settings_class`."""
    prefix = str(settings_class.model_config["env_prefix"])
    fields = settings_class.model_fields.items()
    return [f"{prefix}{name}".upper() for name, field in fields if field.annotation is SecretStr]


@pytest.mark.parametrize("deployable", ["identity", "intake"])
def test_the_secret_example_placeholders_are_refused_in_prod(deployable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copying secrets.example.env as it stands does not start a pod: each placeholder is named as refused."""
    docs = rendered_base()
    config = next(doc["data"] for doc in docs if doc["kind"] == "ConfigMap")
    example = dict(
        line.split("=", 1) for line in SECRETS_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
    )
    pod = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == deployable)
    env = resolved_env(container(pod), config, example)
    settings_class = SETTINGS[deployable]
    placeholders = [name for name in secret_variables(settings_class) if name in env]
    assert placeholders, f"{deployable} reads no secret from the example"

    for name in [name for name in os.environ if name.startswith("NIVARAN_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        settings_class()
    for name in placeholders:
        assert f"{name} is too weak for profile prod: it is a placeholder" in str(refused.value)


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


def _env(doc: Doc, name: str) -> Doc:
    return next(var for var in container(doc)["env"] if var["name"] == name)


def _drop_env(doc: Doc, name: str) -> None:
    container(doc)["env"].remove(_env(doc, name))


def _probe_grpc_port(doc: Doc) -> None:
    container(doc)["readinessProbe"]["grpc"]["port"] = 50053


def _no_health_port(doc: Doc) -> None:
    container(doc)["ports"] = [port for port in container(doc)["ports"] if port["name"] != "health"]


def _health_env_mismatch(doc: Doc) -> None:
    _env(doc, "NIVARAN_NOTIFY_HEALTH_PORT")["value"] = "50054"


def _no_tls_key(doc: Doc) -> None:
    _drop_env(doc, "NIVARAN_GATEWAY_TLS_KEY_FILE")


def _tls_outside_mount(doc: Doc) -> None:
    _env(doc, "NIVARAN_SLA_TLS_CA_FILE")["value"] = "/etc/ssl/certs/ca.crt"


def _tls_wrong_key(doc: Doc) -> None:
    _env(doc, "NIVARAN_IDENTITY_TLS_CERT_FILE")["value"] = "/etc/nivaran/tls/cert.pem"


def _writable_tls_mount(doc: Doc) -> None:
    del next(m for m in container(doc)["volumeMounts"] if m["name"] == "tls")["readOnly"]


def _no_identity_target(doc: Doc) -> None:
    _drop_env(doc, "NIVARAN_SLA_IDENTITY_TARGET")


def _own_revocation_redis(doc: Doc) -> None:
    _env(doc, "NIVARAN_GATEWAY_REVOCATION_REDIS_URL")["valueFrom"]["secretKeyRef"]["key"] = "NIVARAN_GATEWAY_REDIS_URL"


def _target_port_typo(doc: Doc) -> None:
    _env(doc, "NIVARAN_SLA_NOTIFY_TARGET")["value"] = "notify:50055"


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
        "Deployment/intake container intake: readinessProbe must be a grpc probe on the health port 51053 "
        "(found tcpSocket)",
    ),
    (
        "liveness-port",
        "sla.yaml",
        "Deployment",
        _wrong_liveness_port,
        "Deployment/sla container sla: livenessProbe grpc port is 50051, but the health port is 51055",
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
    (
        "probe-on-grpc-port",
        "intake.yaml",
        "Deployment",
        _probe_grpc_port,
        "readinessProbe probes the grpc port 50053, which requires a client certificate the kubelet does not have; "
        "probe the health port 51053",
    ),
    (
        "no-health-port",
        "routing.yaml",
        "Deployment",
        _no_health_port,
        "Deployment/routing container routing: serves gRPC but declares 0 container ports named health",
    ),
    (
        "health-env",
        "notify.yaml",
        "Deployment",
        _health_env_mismatch,
        "env NIVARAN_NOTIFY_HEALTH_PORT must be 51054, the port named health (found 50054)",
    ),
    (
        "tls-env-missing",
        "gateway.yaml",
        "Deployment",
        _no_tls_key,
        "Deployment/gateway container gateway: env NIVARAN_GATEWAY_TLS_KEY_FILE is not set to a file path",
    ),
    (
        "tls-outside-mount",
        "sla-worker.yaml",
        "Deployment",
        _tls_outside_mount,
        "env NIVARAN_SLA_TLS_CA_FILE=/etc/ssl/certs/ca.crt is not inside a mounted Secret volume",
    ),
    (
        "tls-secret-key",
        "identity.yaml",
        "Deployment",
        _tls_wrong_key,
        "env NIVARAN_IDENTITY_TLS_CERT_FILE=/etc/nivaran/tls/cert.pem: Secret nivaran-tls-identity has no key "
        "'cert.pem'",
    ),
    (
        "tls-mount-writable",
        "routing.yaml",
        "Deployment",
        _writable_tls_mount,
        "Deployment/routing container routing: volumeMount tls at /etc/nivaran/tls must be readOnly",
    ),
    (
        "identity-target",
        "sla.yaml",
        "Deployment",
        _no_identity_target,
        "Deployment/sla container sla: env NIVARAN_SLA_IDENTITY_TARGET is missing",
    ),
    (
        "revocation-source",
        "gateway.yaml",
        "Deployment",
        _own_revocation_redis,
        "REVOCATION_REDIS_URL: read from 2 sources",
    ),
    (
        "target-port",
        "sla.yaml",
        "Deployment",
        _target_port_typo,
        "env NIVARAN_SLA_NOTIFY_TARGET=notify:50055: Service/notify has no port 50055",
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


def _spec_of(name: str, change: Callable[[Doc], None]) -> Callable[[list[Doc]], None]:
    """A breakage that changes the spec of the document called `name`."""

    def breakage(docs: list[Doc]) -> None:
        change(next(doc["spec"] for doc in docs if doc["metadata"]["name"] == name))

    return breakage


def _only_gateway_calls_identity(spec: Doc) -> None:
    spec["ingress"][0]["from"] = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]


def _no_redis_egress(spec: Doc) -> None:
    spec["egress"] = [rule for rule in spec["egress"] if rule.get("ports", [{}])[0].get("port") != 6379]


def _health_from_pods_only(spec: Doc) -> None:
    spec["ingress"][0]["from"] = [{"podSelector": {}}]


def _worker_cannot_reach_notify(spec: Doc) -> None:
    spec["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"].remove("notify")


COMPONENT_BREAKAGES: list[tuple[str, str, Callable[[list[Doc]], None], str]] = [
    (
        "certificate-cn",
        "cert-manager/certificates.yaml",
        _spec_of("nivaran-tls-intake", lambda spec: spec.update(commonName="intake-service")),
        "Certificate/nivaran-tls-intake: commonName is 'intake-service', but nivaran-tls-intake is mounted by the "
        "workload 'intake'",
    ),
    (
        "certificate-usage",
        "cert-manager/certificates.yaml",
        _spec_of("nivaran-tls-sla", lambda spec: spec["usages"].remove("client auth")),
        "Certificate/nivaran-tls-sla: usages lack client auth",
    ),
    (
        "certificate-dns",
        "cert-manager/certificates.yaml",
        _spec_of("nivaran-tls-routing", lambda spec: spec["dnsNames"].remove("routing")),
        "Certificate/nivaran-tls-routing: dnsNames lack routing, the names Service/routing is dialled by",
    ),
    (
        "certificate-field",
        "cert-manager/certificates.yaml",
        _spec_of("nivaran-tls-gateway", lambda spec: spec.update(dnsName=["gateway"])),
        "Certificate/nivaran-tls-gateway: spec.dnsName is not a field of a cert-manager Certificate",
    ),
    (
        "certificate-missing",
        "cert-manager/certificates.yaml",
        _spec_of("nivaran-tls-notify", lambda spec: spec.update(secretName="nivaran-tls-notifier")),
        "Deployment/notify container notify: mounts Secret nivaran-tls-notify, which no Certificate in the render "
        "issues",
    ),
    (
        "identity-ingress",
        "network-policies/workloads.yaml",
        _spec_of("identity", _only_gateway_calls_identity),
        "Deployment/sla-worker container sla-worker: env NIVARAN_SLA_IDENTITY_TARGET=identity:50052: no "
        "NetworkPolicy lets it into Deployment/identity:50052",
    ),
    (
        "redis-egress",
        "network-policies/shared.yaml",
        _spec_of("nivaran-egress-shared", _no_redis_egress),
        "Deployment/intake container intake: no NetworkPolicy lets it out to Redis port 6379",
    ),
    (
        "health-ingress",
        "network-policies/shared.yaml",
        _spec_of("nivaran-health-probes", _health_from_pods_only),
        "Deployment/routing: no NetworkPolicy lets the kubelet reach the health port 51051",
    ),
    (
        "peer-egress",
        "network-policies/workloads.yaml",
        _spec_of("sla-worker", _worker_cannot_reach_notify),
        "env NIVARAN_SLA_NOTIFY_TARGET=notify:50054: no NetworkPolicy lets it out to 50054",
    ),
]


def with_components(tree: Path) -> list[str]:
    """Validator arguments: the base of `tree` with every component on top."""
    args = ["--base", str(tree / "base")]
    for name in COMPONENTS:
        args += ["--component", str(tree / "components" / name)]
    return args


@pytest.mark.parametrize(
    ("filename", "breakage", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in COMPONENT_BREAKAGES],
)
def test_broken_component_fails_naming_the_problem(
    tmp_path: Path, filename: str, breakage: Callable[[list[Doc]], None], message: str
) -> None:
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    manifest = tree / "components" / filename
    docs = [doc for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if doc]
    breakage(docs)
    manifest.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")

    result = run_validator(*with_components(tree))

    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def readme_yaml(marker: str) -> Any:
    """The README's YAML example whose text starts with `marker` (fenced, perhaps indented under a list item)."""
    for indent, body in re.findall(r"^( *)```yaml\n(.*?)^\1```", README.read_text(encoding="utf-8"), re.M | re.S):
        text = "\n".join(line.removeprefix(indent) for line in body.splitlines())
        if text.lstrip().startswith(marker):
            return list(yaml.safe_load_all(text))
    raise AssertionError(f"deploy/k8s/README.md has no yaml example starting with {marker!r}")


def test_readme_overlay_for_another_namespace(tmp_path: Path) -> None:
    """The README's overlay, in a namespace of its own with its bootstrap CA, a department's certificate and its
    ingress, passes only with the README's replacement of the certificates' cluster DNS names."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    overlay = tree / "overlays" / "grievances"
    overlay.mkdir(parents=True)
    examples = {
        "bootstrap-ca.yaml": "apiVersion: cert-manager.io/v1\nkind: Issuer",
        "dept-food.yaml": "apiVersion: cert-manager.io/v1\nkind: Certificate",
    }
    for filename, marker in examples.items():
        (overlay / filename).write_text(yaml.safe_dump_all(readme_yaml(marker), sort_keys=False), encoding="utf-8")
    kustomization = readme_yaml("apiVersion: kustomize.config.k8s.io/v1beta1")[0]
    kustomization["namespace"] = "grievances"
    kustomization["resources"] += list(examples)
    kustomization.update(readme_yaml("patches:")[0])
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")

    unpatched = run_validator("--base", str(overlay))

    assert unpatched.returncode == 1
    expected = "Certificate/grievances/nivaran-tls-intake: dnsNames lack intake.grievances.svc, "
    assert expected + "intake.grievances.svc.cluster.local" in unpatched.stderr, unpatched.stderr

    kustomization.update(readme_yaml("replacements:")[0])
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")

    patched = run_validator("--base", str(overlay))

    assert patched.returncode == 0, patched.stderr
    rendered = run_validator("--render", "--base", str(overlay))
    docs = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    intake_policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "intake")
    assert {"ipBlock": {"cidr": "10.40.0.0/16"}} in intake_policy["spec"]["ingress"][-1]["from"]


def test_kustomize_failure_is_reported(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(BASE, base)
    (base / "gateway.yaml").unlink()

    result = run_validator("--base", str(base))

    assert result.returncode == 1
    assert "k8s-validate: FAILED:" in result.stderr
    assert "gateway.yaml" in result.stderr
