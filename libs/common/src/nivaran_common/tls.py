"""Mutual TLS between Nivaran's processes: credentials from PEM files, and who the peer is.

Every server requires a client certificate signed by the suite's CA; a caller without one never completes the
handshake. The certificate's subject common name names the calling workload (`gateway`, `sla-worker`,
`dept-food`, ...): nivaran_common.door checks it against each RPC's declared callers. The files come from
`make run` (nivaran_common.pki) or, in Kubernetes, from a Secret that cert-manager fills (deploy/k8s/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

# A department system's certificate names `dept-<something>`; it is a department client, whatever the rest says.
DEPARTMENT_PREFIX = "dept-"


@dataclass(frozen=True)
class TlsMaterial:
    """The CA that signs every peer, and this process's own certificate and key (PEM bytes)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def from_files(cls, ca_file: str | Path, cert_file: str | Path, key_file: str | Path) -> TlsMaterial:
        """Read the three PEM files (a missing or empty one is an error naming it)."""
        parts = []
        for path in (ca_file, cert_file, key_file):
            data = Path(path).read_bytes()
            if not data.strip():
                raise ValueError(f"{path} is empty")
            parts.append(data)
        return cls(*parts)

    def server_credentials(self) -> grpc.ServerCredentials:
        """Server side: present our certificate, and require a client certificate signed by the CA."""
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)], root_certificates=self.ca_pem, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Client side: trust only the CA, and present our certificate."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem, private_key=self.key_pem, certificate_chain=self.cert_pem
        )


def peer_workload(context: grpc.aio.ServicerContext) -> str | None:
    """The calling workload named by its verified client certificate, or None when the peer presented none."""
    auth = context.auth_context()
    names = auth.get("x509_common_name") or []
    if not names:
        return None
    name = names[0]
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    return text or None
