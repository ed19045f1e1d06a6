"""The login audit: every credential check, successful or not, as a row (subject masked, never a raw phone)."""

from __future__ import annotations

from datetime import datetime

from nivaran_common.logging import get_logger
from nivaran_identity.domain import LoginMethod
from nivaran_identity.store import IdentityStore
from nivaran_identity.tables import LoginAuditRow

log = get_logger(__name__)


def audit_login(
    store: IdentityStore,
    occurred_at: datetime,
    method: LoginMethod,
    subject: str,
    client_ip: str,
    *,
    success: bool,
    reason: str = "",
    account_id: str = "",
) -> None:
    """Add one audit row through the caller's store (it commits with the caller's transaction)."""
    store.add(
        LoginAuditRow(
            occurred_at=occurred_at,
            method=method.value,
            subject=subject[:64],
            account_id=account_id,
            client_ip=client_ip[:64],
            success=success,
            reason=reason[:64],
        )
    )
    if not success:
        log.info("login refused", method=method.value, subject=subject, client_ip=client_ip, reason=reason)
