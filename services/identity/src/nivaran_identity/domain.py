"""Identity's domain: accounts, registrations, postings, delegations, token claims, and the rules on them.

Imports neither grpc nor sqlalchemy.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from nivaran_common.errors import FieldViolation

# What the gateway checks on every access token (see the comment above `message TokenPair` in identity.proto).
TOKEN_ISSUER = "nivaran-identity"
TOKEN_AUDIENCE = "nivaran"
TOKEN_ALGORITHM = "ES256"

# Position roles (routing's Position.role) that may delegate named powers (S17), and the one role that may receive them.
DELEGATOR_ROLES = frozenset({"DM", "SECRETARY"})
DELEGATE_ROLE = "SAHYOG_NODAL"
# Roles an account holds beside the roles of the posts it holds. None of them is an officer's position role, so an
# operator account can never come to hold an officer role: those arrive only with a posting, and only officers post.
ACCOUNT_ROLES = frozenset({DELEGATE_ROLE, "DEPT_ADMIN", "STATE_ADMIN", "CALL_CENTRE"})
# The power under which a delegate decides officer registrations for the DM (S6 through S17).
POWER_DECIDE_REGISTRATIONS = "registrations.decide"
# The DM's moderator queue (S5) and the DM's district-wide read of cases, for the nodal officer (S17).
POWER_MODERATE_TRANSFERS = "transfers.decide"
POWER_READ_DISTRICT = "grievances.read_district"
# Every power a DM or secretary may delegate: exactly the names the gateway's routes check (nivaran_common.auth),
# so a delegation can never name a power that nothing honours. tests/test_onboarding_demo.py holds the two together.
DELEGABLE_POWERS = (POWER_DECIDE_REGISTRATIONS, POWER_MODERATE_TRANSFERS, POWER_READ_DISTRICT)
# Acts that are never delegated: delegating itself (no chains of delegates), and who holds which post (S7).
NON_DELEGABLE_POWERS = frozenset(
    {
        "delegations.create",
        "delegations.revoke",
        "delegation.create",
        "delegation.revoke",
        "charges.take",
        "charges.relinquish",
        "charge.take",
        "charge.relinquish",
    }
)

# What a department client may be granted: exactly the scopes the services' doors ask of one (intake's, sla's and
# routing's access.py; identity's test_service_clients.py holds them together), so no client holds a scope that
# nothing honours.
CLIENT_SCOPES = ("grievances.file", "grievances.read", "policies.read", "masterdata.read")
# The admin roles that manage department clients: STATE_ADMIN for any department, DEPT_ADMIN for their own.
STATE_ADMIN = "STATE_ADMIN"
DEPT_ADMIN = "DEPT_ADMIN"
# A client secret starts with this, so secret scanners and people can tell one when it leaks into a log or a repo.
CLIENT_SECRET_PREFIX = "nvcs_"

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
_POWER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_OTP = re.compile(r"^\d{6}$")
_TOTP = re.compile(r"^\d{6}$")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256


def bilingual(en: str, hi: str) -> str:
    """One message a person reads, in English and Hindi."""
    return f"{en} / {hi}"


class AccountKind(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    OPERATOR = "operator"
    SERVICE = "service"


class RegistrationState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class HandoverState(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"


class LoginMethod(StrEnum):
    OTP = "otp"
    PASSWORD = "password"
    REFRESH = "refresh"
    # A password changed (a wrong current password is audited as a failed PASSWORD login: it counts to the lockout).
    PASSWORD_CHANGE = "password_change"
    # A department client's token exchange (subject: the client id).
    CLIENT = "client"


@dataclass(frozen=True)
class Actor:
    """Who asks for an act, as the gateway names them (from the verified token)."""

    account_id: str
    role: str = ""
    position_id: str = ""
    on_behalf_of_account_id: str = ""


@dataclass(frozen=True)
class PositionInfo:
    """What identity needs to know of a post: its role, department and district (empty when above districts)."""

    id: str
    role: str
    department_code: str
    district_code: str


@dataclass(frozen=True)
class Account:
    id: str
    kind: AccountKind
    display_name: str
    phone: str
    email: str
    roles: list[str]
    active: bool
    preferred_language: str


@dataclass(frozen=True)
class Registration:
    id: str
    name: str
    username: str
    phone: str
    email: str
    position_id: str
    district_code: str
    state: RegistrationState
    decided_by_account_id: str
    decision_note: str
    requested_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class RegistrationPage:
    """One page of registration requests, oldest first, and the token of the next page ("" on the last)."""

    registrations: list[Registration]
    next_page_token: str


@dataclass(frozen=True)
class Posting:
    id: str
    account_id: str
    position_id: str
    charge_from: datetime
    relinquished_at: datetime | None
    transfer_order_number: str
    transfer_order_date: datetime | None


@dataclass(frozen=True)
class PostContact:
    """Where to reach the holder of a post now (S16, C2): unmasked, for notify's officer notices only."""

    position_id: str
    account_id: str
    name: str
    phone: str
    email: str
    preferred_language: str
    charge_from: datetime


@dataclass(frozen=True)
class Delegation:
    id: str
    delegator_account_id: str
    delegate_account_id: str
    powers: list[str]
    granted_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    account: Account


@dataclass(frozen=True)
class ServiceClient:
    """A department's system: what it may call (scopes), for which department, and whether it still may."""

    id: str
    name: str
    department_code: str
    scopes: list[str]
    active: bool
    created_by_account_id: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_by_account_id: str


@dataclass(frozen=True)
class CreatedServiceClient:
    """A new client and its secret, which is shown this once and never stored."""

    client: ServiceClient
    client_secret: str


@dataclass(frozen=True)
class ClientToken:
    """A department client's access token."""

    access_token: str
    access_expires_at: datetime
    client: ServiceClient


@dataclass(frozen=True)
class OtpIssued:
    expires_at: datetime
    resend_after_seconds: int


@dataclass(frozen=True)
class NewRegistration:
    name: str
    username: str
    password: str
    phone: str
    email: str
    position_id: str
    charge_from: datetime | None


@dataclass
class Check:
    """Collects field violations, so one answer names every bad field."""

    violations: list[FieldViolation] = field(default_factory=list)

    def add(self, name: str, description: str) -> None:
        self.violations.append(FieldViolation(name, description))

    def required(self, name: str, value: str) -> bool:
        if not value.strip():
            self.add(name, "is required / आवश्यक है")
            return False
        return True

    def code(self, name: str, value: str) -> None:
        if self.required(name, value) and not _CODE.match(value.strip()):
            self.add(name, "must be a master-data code (letters, digits, - _ .) / मास्टर डेटा कोड होना चाहिए")


def username_problem(username: str) -> str | None:
    """Why a username is unusable, or None: 3-64 of a-z 0-9 . _ -, starting with a letter."""
    if not _USERNAME.match(username):
        return bilingual(
            "must be 3-64 lowercase letters, digits, '.', '_' or '-', starting with a letter",
            "3-64 छोटे अक्षर, अंक, '.', '_' या '-' हों और पहला अक्षर वर्ण हो",
        )
    return None


def password_problem(password: str, username: str) -> str | None:
    """Why a password is unacceptable, or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return bilingual(
            f"must be at least {PASSWORD_MIN_LENGTH} characters", f"कम से कम {PASSWORD_MIN_LENGTH} अक्षर का हो"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        return bilingual(f"must be at most {PASSWORD_MAX_LENGTH} characters", "बहुत लंबा है")
    if username and username.lower() in password.lower():
        return bilingual("must not contain the username", "उपयोगकर्ता नाम शामिल न हो")
    return None


def is_otp_shape(value: str) -> bool:
    """Six digits: the shape of an SMS OTP."""
    return bool(_OTP.match(value))


def is_totp_shape(value: str) -> bool:
    """Six digits: the shape of an authenticator-app code."""
    return bool(_TOTP.match(value))


def client_ip_problem(value: str) -> str | None:
    """Why a client IP is not an IP address, or None (empty is allowed: not every caller knows it)."""
    if not value:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "must be an IPv4 or IPv6 address / मान्य IP पता होना चाहिए"
    return None


def normalise_powers(powers: Sequence[str], check: Check) -> list[str]:
    """Validate delegated powers (S17): dotted lowercase names, none non-delegable; order kept, no repeats."""
    cleaned: list[str] = []
    if not powers:
        check.add("powers", "name at least one power / कम से कम एक अधिकार बताएँ")
    for index, raw in enumerate(powers):
        power = raw.strip()
        if not _POWER.match(power):
            check.add(f"powers[{index}]", "must be a dotted lowercase name such as registrations.decide / अमान्य नाम")
        elif power in NON_DELEGABLE_POWERS:
            check.add(f"powers[{index}]", f"{power} cannot be delegated / यह अधिकार सौंपा नहीं जा सकता")
        elif power not in DELEGABLE_POWERS:
            check.add(
                f"powers[{index}]",
                f"unknown power {power}; one of {', '.join(DELEGABLE_POWERS)} / अज्ञात अधिकार",
            )
        elif power not in cleaned:
            cleaned.append(power)
    return cleaned


def account_roles(kind: AccountKind, position_roles: Sequence[str], extra_roles: Sequence[str]) -> list[str]:
    """The roles a token carries: the kind first, then the roles of the posts held, then account roles."""
    roles = [kind.value]
    if kind is AccountKind.OFFICER:
        roles.extend(position_roles)
    if kind in (AccountKind.OFFICER, AccountKind.OPERATOR):
        roles.extend(extra_roles)
    unique: list[str] = []
    for role in roles:
        if role and role not in unique:
            unique.append(role)
    return unique


def normalise_scopes(scopes: Sequence[str], check: Check) -> list[str]:
    """Validate a client's scopes: at least one, each one of CLIENT_SCOPES; order kept, no repeats."""
    cleaned: list[str] = []
    if not scopes:
        check.add("scopes", "name at least one scope / कम से कम एक स्कोप बताएँ")
    for index, raw in enumerate(scopes):
        scope = raw.strip()
        if scope not in CLIENT_SCOPES:
            check.add(
                f"scopes[{index}]",
                f"unknown scope {scope!r}; one of {', '.join(CLIENT_SCOPES)} / अज्ञात स्कोप",
            )
        elif scope not in cleaned:
            cleaned.append(scope)
    return cleaned
