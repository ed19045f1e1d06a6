"""Department clients: a department's own system, with credentials confined to its department and scopes.

An admin makes a client (STATE_ADMIN for any department, DEPT_ADMIN for their own) and gets its secret once. The
system presents its mutual-TLS certificate (`dept-*`) and exchanges id and secret for an access token of kind
"client" (IssueClientToken), which it sends to the services; their doors check its scopes and confine its reads to
its department. Disabling a client revokes its tokens at once.

The secret is 256 random bits, kept as its SHA-256 only. A slow hash (argon2) protects guessable secrets such as
passwords; against 2^256 possibilities it adds nothing, while it would cost every token exchange tens of
milliseconds of CPU and memory, which a flood of exchanges could turn against identity.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nivaran_common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from nivaran_common.logging import get_logger
from nivaran_common.timeutil import as_utc
from nivaran_identity.audit import audit_login
from nivaran_identity.authority import acting_admin, administers_department, is_state_admin
from nivaran_identity.domain import (
    CLIENT_SECRET_PREFIX,
    Actor,
    Check,
    ClientToken,
    CreatedServiceClient,
    LoginMethod,
    ServiceClient,
    bilingual,
    client_ip_problem,
    normalise_scopes,
)
from nivaran_identity.keys import random_secret_hash
from nivaran_identity.store import IdentityStore, ServiceClientStore
from nivaran_identity.tables import AccountRow, ServiceClientRow
from nivaran_identity.tokens import Revoker, TokenIssuer

log = get_logger(__name__)

NAME_MAX_LENGTH = 200
DEPARTMENT_CODE_MAX_LENGTH = 32
# What the secret is checked against when the client id is unknown, so that the answer takes the same time.
_NO_CLIENT_HASH = random_secret_hash("no such client")


def client_view(row: ServiceClientRow) -> ServiceClient:
    """Domain form of a client row (never its secret hash)."""
    return ServiceClient(
        id=row.id,
        name=row.name,
        department_code=row.department_code,
        scopes=list(row.scopes),
        active=row.active,
        created_by_account_id=row.created_by_account_id,
        created_at=as_utc(row.created_at),
        disabled_at=as_utc(row.disabled_at) if row.disabled_at else None,
        disabled_by_account_id=row.disabled_by_account_id,
    )


def _not_yours(department_code: str) -> PermissionDenied:
    return PermissionDenied(
        bilingual(
            f"only a state admin or the admin of department {department_code} may manage its clients",
            f"विभाग {department_code} के क्लाइंट केवल राज्य प्रशासक या उस विभाग के प्रशासक प्रबंधित कर सकते हैं",
        )
    )


class ServiceClientRegistry:
    """CreateServiceClient, ListServiceClients, DisableServiceClient and IssueClientToken."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenIssuer,
        revoker: Revoker,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._revoker = revoker
        self._clock = clock

    async def _admin(self, session: AsyncSession, actor: Actor) -> AccountRow:
        if not actor.account_id.strip():
            raise InvalidArgument.field("actor.account_id", "is required / आवश्यक है")
        return await acting_admin(IdentityStore(session), actor)

    async def create_client(
        self, name: str, department_code: str, scopes: Sequence[str], actor: Actor
    ) -> CreatedServiceClient:
        """A new client of a department with these scopes; its secret is in this answer only."""
        check = Check()
        name = name.strip()
        if check.required("name", name) and len(name) > NAME_MAX_LENGTH:
            check.add("name", f"must be at most {NAME_MAX_LENGTH} characters / अधिकतम {NAME_MAX_LENGTH} अक्षर")
        department_code = department_code.strip()
        check.code("department_code", department_code)
        if len(department_code) > DEPARTMENT_CODE_MAX_LENGTH:
            check.add("department_code", f"must be at most {DEPARTMENT_CODE_MAX_LENGTH} characters / बहुत लंबा है")
        cleaned = normalise_scopes(scopes, check)
        if check.violations:
            raise InvalidArgument.of(check.violations)
        secret = CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)
        async with self._sessions() as session:
            admin = await self._admin(session, actor)
            if not administers_department(admin, department_code):
                raise _not_yours(department_code)
            row = ServiceClientRow(
                id=str(uuid.uuid4()),
                name=name,
                department_code=department_code,
                scopes=cleaned,
                secret_hash=random_secret_hash(secret),
                active=True,
                created_by_account_id=admin.id,
                created_at=self._clock(),
                disabled_at=None,
                disabled_by_account_id="",
            )
            ServiceClientStore(session).add(row)
            await session.commit()
        log.info("department client created", client_id=row.id, department_code=department_code, by=admin.id)
        return CreatedServiceClient(client_view(row), secret)

    async def list_clients(self, department_code: str, actor: Actor) -> list[ServiceClient]:
        """The clients of a department; with none named, every department for a STATE_ADMIN, and a DEPT_ADMIN's
        own."""
        department_code = department_code.strip()
        async with self._sessions() as session:
            admin = await self._admin(session, actor)
            if not department_code and not is_state_admin(admin):
                department_code = admin.department_code
                if not department_code:
                    raise PermissionDenied(
                        bilingual("your account administers no department", "आपका खाता किसी विभाग का प्रशासक नहीं है")
                    )
            if department_code and not administers_department(admin, department_code):
                raise _not_yours(department_code)
            rows = await ServiceClientStore(session).clients(department_code)
        return [client_view(row) for row in rows]

    async def disable_client(self, client_id: str, actor: Actor) -> ServiceClient:
        """The client may no longer get tokens, and every token it holds dies now."""
        client_id = client_id.strip()
        if not client_id:
            raise InvalidArgument.field("client_id", "is required / आवश्यक है")
        async with self._sessions() as session:
            admin = await self._admin(session, actor)
            row = await ServiceClientStore(session).client(client_id, for_update=True)
            if row is None:
                raise NotFound(bilingual("no such client", "ऐसा कोई क्लाइंट नहीं"))
            if not administers_department(admin, row.department_code):
                raise _not_yours(row.department_code)
            if row.active:
                row.active = False
                row.disabled_at = self._clock()
                row.disabled_by_account_id = admin.id
                await session.commit()
                log.info("department client disabled", client_id=row.id, by=admin.id)
            view = client_view(row)
        # Also on a repeat while its tokens may live: a record that could not be written is made good by asking again.
        if view.disabled_at is not None and self._revoker.may_still_live(view.disabled_at, self._clock()):
            await self._revoker.account(client_id, "the client disabled")
        return view

    async def issue_token(self, client_id: str, client_secret: str, client_ip: str) -> ClientToken:
        """An access token for a client's id and secret. An unknown or disabled client and a wrong secret get the
        same answer, after the same work; every attempt is in the login audit."""
        client_id, client_ip = client_id.strip(), client_ip.strip()
        if client_ip_problem(client_ip):
            client_ip = ""
        refused = Unauthenticated(
            bilingual("unknown client, wrong secret, or client disabled", "अज्ञात क्लाइंट, गलत सीक्रेट या निष्क्रिय क्लाइंट")
        )
        async with self._sessions() as session:
            row = await ServiceClientStore(session).client(client_id) if client_id else None
            presented = random_secret_hash(client_secret)
            matches = hmac.compare_digest(presented, row.secret_hash if row is not None else _NO_CLIENT_HASH)
            store = IdentityStore(session)
            if row is None or not matches or not row.active:
                reason = "unknown_client" if row is None else ("bad_credentials" if not matches else "client_disabled")
                audit_login(
                    store,
                    self._clock(),
                    LoginMethod.CLIENT,
                    client_id or "-",
                    client_ip,
                    success=False,
                    reason=reason,
                    account_id=row.id if row is not None else "",
                )
                await session.commit()
                raise refused
            access = await self._tokens.issue_client(store, row)
            audit_login(store, self._clock(), LoginMethod.CLIENT, row.id, client_ip, success=True, account_id=row.id)
            view = client_view(row)
            await session.commit()
        return ClientToken(access_token=access.token, access_expires_at=access.expires_at, client=view)
