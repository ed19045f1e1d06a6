"""A local certificate authority for mutual TLS between Nivaran's processes (`make run`, tests, a department's
system on a developer's machine). Production certificates come from cert-manager instead (deploy/k8s/README.md).

Each certificate names one workload in its subject common name (`gateway`, `intake`, `sla-worker`, `dept-food`,
...): that name is who the caller is (nivaran_common.tls.peer_workload). Every certificate is valid as a server
and as a client, for the workload's own name, `localhost` and 127.0.0.1.

    python -m nivaran_common.pki init var/pki              # the CA and one certificate per Nivaran workload
    python -m nivaran_common.pki issue var/pki dept-food   # a department system's client certificate
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Every process of the suite that calls or serves gRPC; `operator` is an SRE's tool (health and reflection only).
WORKLOADS = ("gateway", "routing", "identity", "intake", "notify", "sla", "sla-worker", "operator")
CA_NAME = "ca"


@dataclass(frozen=True)
class Issued:
    """PEM bytes of one certificate and its private key."""

    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nivaran"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(common_name: str = "Nivaran local CA", days: int = 3650) -> Issued:
    """A self-signed CA (P-256) that may sign leaf certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(ca: Issued, workload: str, *, hosts: tuple[str, ...] = (), days: int = 825) -> Issued:
    """A leaf certificate for `workload` (server and client use), signed by `ca`."""
    if not workload or any(ch.isspace() for ch in workload):
        raise ValueError("a workload name is one word, such as intake or dept-food")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key made by this module")
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(workload), x509.DNSName("localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(workload))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _write(path: Path, data: bytes, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_ca(directory: Path) -> Issued:
    """The CA kept in `directory` by `init`."""
    return Issued((directory / f"{CA_NAME}.pem").read_bytes(), (directory / f"{CA_NAME}.key").read_bytes())


def issue_to(directory: Path, workload: str, *, hosts: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """Issue a certificate for `workload` from the CA in `directory`; returns the (cert, key) paths."""
    issued = issue(load_ca(directory), workload, hosts=hosts)
    cert, key = directory / f"{workload}.pem", directory / f"{workload}.key"
    _write(cert, issued.cert_pem, private=False)
    _write(key, issued.key_pem, private=True)
    return cert, key


def init(directory: Path, workloads: tuple[str, ...] = WORKLOADS) -> Path:
    """Create the CA (once) and a certificate for each workload that lacks one; returns the CA certificate's path."""
    ca_cert = directory / f"{CA_NAME}.pem"
    if not ca_cert.exists():
        ca = make_ca()
        _write(directory / f"{CA_NAME}.key", ca.key_pem, private=True)
        _write(ca_cert, ca.cert_pem, private=False)
    for workload in workloads:
        if not (directory / f"{workload}.pem").exists():
            issue_to(directory, workload)
    return ca_cert


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nivaran_common.pki", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("init", help="create the CA and a certificate for every Nivaran workload")
    made.add_argument("directory", type=Path)
    one = sub.add_parser("issue", help="issue one more certificate (a department system's, say)")
    one.add_argument("directory", type=Path)
    one.add_argument("workload")
    one.add_argument("--host", action="append", default=[], help="another DNS name or IP the certificate covers")
    args = parser.parse_args(argv)
    if args.command == "init":
        sys.stdout.write(f"{init(args.directory)}\n")
    else:
        cert, key = issue_to(args.directory, args.workload, hosts=tuple(args.host))
        sys.stdout.write(f"{cert}\n{key}\n")


if __name__ == "__main__":
    main()
