"""The door of every gRPC service: a proven caller, checked against what each RPC allows, before any handler runs.

Two identities are checked on every call:

1. **The calling workload**, from its client certificate (mutual TLS, nivaran_common.tls): `gateway`, `intake`,
   `sla-worker`, ... or `dept-<name>` for a department's system. Each RPC declares which workloads may call it
   (`Rule.callers`); any other is refused with PERMISSION_DENIED. A peer without a certificate signed by the suite's
   CA never completes the TLS handshake.
2. **The person (or department client) it acts for**, from the access token in the `authorization` metadata
   (`Bearer <jwt>`), verified against identity's JWKS and the revocation records (nivaran_common.auth), exactly as
   the gateway verifies it. A workload that calls "as a user" (`Need.USER`) must send one; a workload that calls
   on its own account (`Need.SYSTEM`: the sla worker recording a transition) need not, but a token it sends is
   verified all the same. A department system always acts as its client: its token must be a client token that
   carries the RPC's `Rule.scope`.

Every `nivaran.common.v1.Actor` field of a request (actor, filed_by, uploaded_by) is then checked against the
verified token: left empty, it is filled from the token; filled, it must name the token's account, one of its roles
and posts, and its delegation. A caller can no longer name someone else as the one who acts.

The verified caller is available to handlers as `current_caller()`. The gateway sends the token of the request it
serves with each call it makes (`forward_token`, `forwarding_interceptors`); a service calls the next one as itself.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import grpc
from google.protobuf.message import Message

from nivaran.common.v1 import common_pb2
from nivaran_common.auth import CLIENT, InvalidToken, KeysUnavailable, Principal, TokenVerifier
from nivaran_common.errors import PermissionDenied, Unauthenticated, Unavailable
from nivaran_common.logging import get_logger
from nivaran_common.tls import DEPARTMENT_PREFIX, peer_workload

log = get_logger(__name__)

AUTHORIZATION = "authorization"
# Methods any identified workload may call without a token: health checks and reflection.
OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# Key of `Rule.callers` for department systems (certificates `dept-*`), whatever their name.
DEPARTMENT = "department"
# The suite's workloads, as their certificates name them (nivaran_common.pki.WORKLOADS).
GATEWAY = "gateway"
ROUTING = "routing"
IDENTITY = "identity"
INTAKE = "intake"
NOTIFY = "notify"
SLA = "sla"
SLA_WORKER = "sla-worker"
# An SRE's or admin's command-line tool (python -m ... with the operator certificate and an admin's token).
OPERATOR_TOOL = "operator"


class Need(StrEnum):
    """What a workload must bring besides its certificate."""

    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True)
class Rule:
    """Who may call one RPC: workloads (with what each must bring), department clients with a scope, and which
    account kinds or roles the user must hold (`holders`; empty: anyone the service itself then checks)."""

    callers: Mapping[str, Need] = field(default_factory=dict)
    scope: str = ""
    holders: frozenset[str] = frozenset()

    def need_of(self, workload: str) -> Need | None:
        """What `workload` must bring, or None when it may not call at all."""
        if workload.startswith(DEPARTMENT_PREFIX):
            # A department system: with its client token where the RPC grants a scope, or without one where the
            # rule says so (`DEPARTMENT: Need.SYSTEM`: the token exchange itself).
            if DEPARTMENT in self.callers:
                return self.callers[DEPARTMENT]
            return Need.USER if self.scope else None
        return self.callers.get(workload)


def rule(
    *, user: tuple[str, ...] = (), system: tuple[str, ...] = (), scope: str = "", holders: tuple[str, ...] = ()
) -> Rule:
    """A rule: `user` workloads call for a person (token required), `system` ones on their own account."""
    callers = dict.fromkeys(user, Need.USER)
    callers.update(dict.fromkeys(system, Need.SYSTEM))
    return Rule(callers=callers, scope=scope, holders=frozenset(holders))


@dataclass(frozen=True)
class Caller:
    """The verified caller of the current RPC."""

    workload: str
    principal: Principal | None = None


_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("nivaran_caller", default=None)
# The token to send on with outgoing calls (set by the gateway per request, and by the door per RPC).
_FORWARD: contextvars.ContextVar[str] = contextvars.ContextVar("nivaran_forward_token", default="")


def current_caller() -> Caller | None:
    """The verified caller of the RPC being served (None outside a served RPC)."""
    return _CALLER.get()


def forward_token(token: str) -> contextvars.Token[str]:
    """Send `token` with the outgoing calls made from this context (the gateway sets it per request)."""
    return _FORWARD.set(token)


class _ForwardToken(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        token = _FORWARD.get()
        if token:
            metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()))
            if AUTHORIZATION not in metadata:
                metadata.add(AUTHORIZATION, f"Bearer {token}")
            client_call_details = grpc.aio.ClientCallDetails(
                client_call_details.method,
                client_call_details.timeout,
                metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
            )
        return await continuation(client_call_details, request)


def forwarding_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors that carry the current user's token on to the next service."""
    return [_ForwardToken()]


def _bearer(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == AUTHORIZATION:
            text = value.decode() if isinstance(value, bytes) else str(value)
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("the authorization metadata is not `Bearer <token>`")
            return token.strip()
    return None


_ACTOR_FIELDS: dict[str, tuple[str, ...]] = {}


def _actor_fields(request: Message) -> tuple[str, ...]:
    descriptor = request.DESCRIPTOR
    found = _ACTOR_FIELDS.get(descriptor.full_name)
    if found is None:
        found = tuple(
            f.name
            for f in descriptor.fields
            if f.message_type is not None
            and f.message_type.full_name == common_pb2.Actor.DESCRIPTOR.full_name
            and not f.is_repeated
        )
        _ACTOR_FIELDS[descriptor.full_name] = found
    return found


def bind_actors(request: Message, principal: Principal) -> None:
    """Fill each Actor field of `request` from the verified `principal`, or refuse one that names someone else."""
    for name in _actor_fields(request):
        actor: common_pb2.Actor = getattr(request, name)
        if principal.kind == CLIENT:
            if actor.account_id and actor.account_id != principal.account_id:
                raise PermissionDenied(f"{name} names another account than the calling client")
            actor.account_id = principal.account_id
            actor.role = CLIENT
            continue
        if actor.account_id and actor.account_id != principal.account_id:
            raise PermissionDenied(f"{name}.account_id is not the verified caller")
        if actor.on_behalf_of_account_id and actor.on_behalf_of_account_id != principal.acting_for:
            raise PermissionDenied(f"{name}.on_behalf_of_account_id is not the delegation the caller holds")
        # A delegate (S17) acts in the delegator's post, "by delegate for delegator": the token proves the delegation
        # (acting_for, powers), and the service judges whether its powers cover the act and the post.
        delegated = bool(principal.acting_for) and bool(principal.powers)
        delegated = delegated and actor.on_behalf_of_account_id == principal.acting_for
        if not delegated and actor.role and actor.role != principal.kind and actor.role not in principal.roles:
            raise PermissionDenied(f"{name}.role is not a role the verified caller holds")
        if not delegated and actor.position_id and actor.position_id not in principal.positions:
            raise PermissionDenied(f"{name}.position_id is not a post the verified caller holds")
        derived = principal.actor(actor.role, actor.position_id)
        actor.account_id = derived.account_id
        actor.role = derived.role
        actor.position_id = derived.position_id
        actor.on_behalf_of_account_id = derived.on_behalf_of_account_id


class Door(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Checks the workload, the token and the request's actors against the service's rules (module docstring)."""

    def __init__(self, rules: Mapping[str, Rule], verifier: TokenVerifier) -> None:
        self._rules = dict(rules)
        self._verifier = verifier

    async def _admit(self, method: str, request: Message, context: grpc.aio.ServicerContext) -> Caller:
        workload = peer_workload(context)
        if workload is None:
            raise Unauthenticated("the caller presented no client certificate")
        if method.startswith(OPEN_PREFIXES):
            return Caller(workload)
        found = self._rules.get(method)
        need = found.need_of(workload) if found is not None else None
        if found is None or need is None:
            log.warning("rpc refused to workload", method=method, workload=workload)
            raise PermissionDenied(f"{workload} may not call {method.rsplit('/', 1)[-1]}")
        token = _bearer(context.invocation_metadata())
        if token is None:
            if need is Need.USER:
                raise Unauthenticated("this call needs the user's access token (authorization: Bearer ...)")
            return Caller(workload)
        try:
            principal = await self._verifier.verify(token)
        except InvalidToken as exc:
            raise Unauthenticated(str(exc)) from exc
        except KeysUnavailable as exc:
            raise Unavailable("the caller's token cannot be checked right now; try again") from exc
        if (principal.kind == CLIENT) != workload.startswith(DEPARTMENT_PREFIX):
            # A client token is a department system's own; nobody else may present one, and it may present no other.
            raise PermissionDenied("a department system calls with its own client token, and only it does")
        if principal.kind == CLIENT and found.scope and found.scope not in principal.scopes:
            raise PermissionDenied(f"the client's scopes do not include {found.scope}")
        if found.holders and principal.kind != CLIENT and not principal.has_any(found.holders):
            raise PermissionDenied(f"the caller holds no role that may call {method.rsplit('/', 1)[-1]}")
        bind_actors(request, principal)
        return Caller(workload, principal)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            # Only health's Watch and reflection stream; the TLS handshake has already proven the peer.
            return handler if handler_call_details.method.startswith(OPEN_PREFIXES) else None
        behavior = handler.unary_unary
        method = handler_call_details.method

        async def admitted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            caller = await self._admit(method, request, context)
            caller_reset = _CALLER.set(caller)
            # A service calls the next one as itself: the user's token stops here (the gateway is the only
            # forwarder), so a system act is never cut down to the scope of the person whose call set it off.
            forward_reset = _FORWARD.set("")
            try:
                return await behavior(request, context)
            finally:
                _FORWARD.reset(forward_reset)
                _CALLER.reset(caller_reset)

        return grpc.unary_unary_rpc_method_handler(
            admitted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def rules_for(service: Any, table: Mapping[str, Rule]) -> dict[str, Rule]:
    """Full method names -> rules for one service descriptor; every RPC must have a rule, and no rule may name an
    RPC the service does not have (caught at import, so a new RPC cannot ship undeclared)."""
    names = {method.name for method in service.methods}
    missing, unknown = sorted(names - set(table)), sorted(set(table) - names)
    if missing or unknown:
        raise ValueError(f"{service.full_name}: RPCs without a rule {missing}, rules for no RPC {unknown}")
    return {f"/{service.full_name}/{name}": found for name, found in table.items()}
