"""gRPC servicer: proto <-> domain. No SQL here; DomainErrors become statuses in the shared interceptor."""

from __future__ import annotations

from typing import Any

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran_common.auth import CITIZEN, CLIENT, Principal
from nivaran_common.door import current_caller
from nivaran_common.errors import NotFound
from nivaran_common.timeutil import from_timestamp, to_timestamp
from nivaran_identity.accounts import AccountAdministration
from nivaran_identity.clients_registry import ServiceClientRegistry
from nivaran_identity.delegations import Delegations
from nivaran_identity.domain import (
    Account,
    AccountKind,
    Actor,
    Delegation,
    IssuedTokens,
    NewRegistration,
    PostContact,
    Posting,
    Registration,
    RegistrationState,
    ServiceClient,
    bilingual,
)
from nivaran_identity.open311_keys import Open311Key, Open311Keys
from nivaran_identity.post_contacts import PostContacts
from nivaran_identity.service import IdentityService

_KIND = {
    AccountKind.CITIZEN: identity_pb2.ACCOUNT_KIND_CITIZEN,
    AccountKind.OFFICER: identity_pb2.ACCOUNT_KIND_OFFICER,
    AccountKind.OPERATOR: identity_pb2.ACCOUNT_KIND_OPERATOR,
    AccountKind.SERVICE: identity_pb2.ACCOUNT_KIND_SERVICE,
}
_STATE = {
    RegistrationState.PENDING: identity_pb2.REGISTRATION_STATE_PENDING,
    RegistrationState.APPROVED: identity_pb2.REGISTRATION_STATE_APPROVED,
    RegistrationState.REJECTED: identity_pb2.REGISTRATION_STATE_REJECTED,
}
_STATE_FROM_PROTO = {v: k for k, v in _STATE.items()}


def actor_from_proto(actor: common_pb2.Actor) -> Actor:
    """Domain form of the acting account."""
    return Actor(
        account_id=actor.account_id.strip(),
        role=actor.role.strip(),
        position_id=actor.position_id.strip(),
        on_behalf_of_account_id=actor.on_behalf_of_account_id.strip(),
    )


def account_to_proto(account: Account) -> identity_pb2.Account:
    """Proto form of an account (phone already masked)."""
    return identity_pb2.Account(
        id=account.id,
        kind=_KIND[account.kind],
        display_name=account.display_name,
        phone=account.phone,
        email=account.email,
        roles=account.roles,
        active=account.active,
        preferred_language=account.preferred_language,
    )


def tokens_to_proto(tokens: IssuedTokens) -> identity_pb2.TokenPair:
    """Proto form of an access/refresh token pair."""
    return identity_pb2.TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        access_expires_at=to_timestamp(tokens.access_expires_at),
        account=account_to_proto(tokens.account),
    )


def registration_to_proto(registration: Registration) -> identity_pb2.OfficerRegistration:
    """Proto form of an officer registration."""
    return identity_pb2.OfficerRegistration(
        id=registration.id,
        name=registration.name,
        username=registration.username,
        phone=registration.phone,
        email=registration.email,
        position_id=registration.position_id,
        district_code=registration.district_code,
        state=_STATE[registration.state],
        decided_by_account_id=registration.decided_by_account_id,
        decision_note=registration.decision_note,
        requested_at=to_timestamp(registration.requested_at),
        decided_at=to_timestamp(registration.decided_at),
    )


def posting_to_proto(posting: Posting) -> identity_pb2.Posting:
    """Proto form of a posting."""
    return identity_pb2.Posting(
        id=posting.id,
        account_id=posting.account_id,
        position_id=posting.position_id,
        charge_from=to_timestamp(posting.charge_from),
        relinquished_at=to_timestamp(posting.relinquished_at),
        transfer_order_number=posting.transfer_order_number,
        transfer_order_date=to_timestamp(posting.transfer_order_date),
    )


def post_contact_to_proto(contact: PostContact) -> identity_pb2.PostContact:
    """Proto form of a post's holder, addresses unmasked (notify's call alone: access.py)."""
    return identity_pb2.PostContact(
        position_id=contact.position_id,
        account_id=contact.account_id,
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
        preferred_language=contact.preferred_language,
        charge_from=to_timestamp(contact.charge_from),
    )


def delegation_to_proto(delegation: Delegation) -> identity_pb2.Delegation:
    """Proto form of a delegation."""
    return identity_pb2.Delegation(
        id=delegation.id,
        delegator_account_id=delegation.delegator_account_id,
        delegate_account_id=delegation.delegate_account_id,
        powers=delegation.powers,
        granted_at=to_timestamp(delegation.granted_at),
        revoked_at=to_timestamp(delegation.revoked_at),
    )


def service_client_to_proto(client: ServiceClient) -> identity_pb2.ServiceClient:
    """Proto form of a department client (never its secret)."""
    return identity_pb2.ServiceClient(
        id=client.id,
        name=client.name,
        department_code=client.department_code,
        scopes=client.scopes,
        active=client.active,
        created_by_account_id=client.created_by_account_id,
        created_at=to_timestamp(client.created_at),
        disabled_at=to_timestamp(client.disabled_at),
        disabled_by_account_id=client.disabled_by_account_id,
    )


def _verified_person() -> Principal | None:
    """The person the door verified for this call (from the access token the gateway forwarded), if any."""
    caller = current_caller()
    if caller is None or caller.principal is None or caller.principal.kind == CLIENT:
        return None
    return caller.principal


def _peer_ip(context: Any) -> str:
    """The caller's IP address from the transport ("ipv4:10.0.0.7:51234", "ipv6:[::1]:51234")."""
    peer = str(context.peer() or "")
    family, _, rest = peer.partition(":")
    if family == "ipv4":
        return rest.rsplit(":", 1)[0]
    if family == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return ""


def open311_key_to_proto(key: Open311Key) -> identity_pb2.Open311Key:
    """Proto form of an integrator's Open311 key (never the key nor its hash)."""
    return identity_pb2.Open311Key(
        id=key.id,
        integrator=key.integrator,
        key_prefix=key.key_prefix,
        requests_per_minute=key.requests_per_minute,
        active=key.active,
        created_by_account_id=key.created_by_account_id,
        created_at=to_timestamp(key.created_at),
        revoked_at=to_timestamp(key.revoked_at),
        revoked_by_account_id=key.revoked_by_account_id,
    )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    """Every RPC of nivaran.identity.v1.IdentityService."""

    def __init__(
        self,
        service: IdentityService,
        accounts: AccountAdministration,
        service_clients: ServiceClientRegistry,
        post_contacts: PostContacts,
        open311_keys: Open311Keys,
        delegations: Delegations,
    ) -> None:
        self._service = service
        self._accounts = accounts
        self._clients = service_clients
        self._post_contacts = post_contacts
        self._open311_keys = open311_keys
        self._delegations = delegations

    async def RequestOtp(
        self, request: identity_pb2.RequestOtpRequest, context: Any
    ) -> identity_pb2.RequestOtpResponse:
        issued = await self._service.request_otp(request.phone, request.client_ip)
        return identity_pb2.RequestOtpResponse(
            expires_at=to_timestamp(issued.expires_at), resend_after_seconds=issued.resend_after_seconds
        )

    async def VerifyOtp(self, request: identity_pb2.VerifyOtpRequest, context: Any) -> identity_pb2.TokenPair:
        return tokens_to_proto(await self._service.verify_otp(request.phone, request.otp, request.client_ip))

    async def PasswordLogin(self, request: identity_pb2.PasswordLoginRequest, context: Any) -> identity_pb2.TokenPair:
        tokens = await self._service.password_login(request.username, request.password, request.totp, request.client_ip)
        return tokens_to_proto(tokens)

    async def RefreshToken(self, request: identity_pb2.RefreshTokenRequest, context: Any) -> identity_pb2.TokenPair:
        return tokens_to_proto(await self._service.refresh(request.refresh_token))

    async def RevokeToken(
        self, request: identity_pb2.RevokeTokenRequest, context: Any
    ) -> identity_pb2.RevokeTokenResponse:
        # The access token the gateway forwarded with the logout dies too (its jti), not only the refresh family.
        person = _verified_person()
        await self._service.revoke(
            request.refresh_token,
            access_token_id=person.token_id if person is not None else "",
            access_expires_at=person.expires_at if person is not None else 0,
        )
        return identity_pb2.RevokeTokenResponse()

    async def GetJwks(self, request: identity_pb2.GetJwksRequest, context: Any) -> identity_pb2.Jwks:
        return identity_pb2.Jwks(json=await self._service.jwks_json())

    async def GetAccount(self, request: identity_pb2.GetAccountRequest, context: Any) -> identity_pb2.Account:
        caller = current_caller()
        principal = caller.principal if caller is not None else None
        if principal is not None and principal.kind == CITIZEN and request.account_id.strip() != principal.account_id:
            # A citizen reads their own account only; another's answers as an unknown one would.
            raise NotFound(bilingual("no such account", "ऐसा कोई खाता नहीं"))
        return account_to_proto(await self._service.get_account(request.account_id))

    async def RegisterOfficer(
        self, request: identity_pb2.RegisterOfficerRequest, context: Any
    ) -> identity_pb2.OfficerRegistration:
        registration = await self._service.register_officer(
            NewRegistration(
                name=request.name,
                username=request.username,
                password=request.password,
                phone=request.phone,
                email=request.email,
                position_id=request.position_id,
                charge_from=from_timestamp(request.charge_from) if request.HasField("charge_from") else None,
            )
        )
        return registration_to_proto(registration)

    async def DecideRegistration(
        self, request: identity_pb2.DecideRegistrationRequest, context: Any
    ) -> identity_pb2.OfficerRegistration:
        registration = await self._service.decide_registration(
            request.registration_id, request.approve, request.note, actor_from_proto(request.actor)
        )
        return registration_to_proto(registration)

    async def ListRegistrations(
        self, request: identity_pb2.ListRegistrationsRequest, context: Any
    ) -> identity_pb2.ListRegistrationsResponse:
        page = await self._service.list_registrations(
            request.district_code,
            _STATE_FROM_PROTO.get(request.state),
            registration_id=request.registration_id,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return identity_pb2.ListRegistrationsResponse(
            registrations=[registration_to_proto(r) for r in page.registrations], next_page_token=page.next_page_token
        )

    async def RelinquishCharge(
        self, request: identity_pb2.RelinquishChargeRequest, context: Any
    ) -> identity_pb2.Posting:
        posting = await self._service.relinquish_charge(
            request.account_id,
            request.position_id,
            from_timestamp(request.relinquish_at) if request.HasField("relinquish_at") else None,
            request.transfer_order_number,
            from_timestamp(request.transfer_order_date) if request.HasField("transfer_order_date") else None,
            actor_from_proto(request.actor),
        )
        return posting_to_proto(posting)

    async def TakeCharge(self, request: identity_pb2.TakeChargeRequest, context: Any) -> identity_pb2.Posting:
        posting = await self._service.take_charge(
            request.account_id,
            request.position_id,
            from_timestamp(request.charge_from) if request.HasField("charge_from") else None,
            actor_from_proto(request.actor),
        )
        return posting_to_proto(posting)

    async def GetCurrentHolder(
        self, request: identity_pb2.GetCurrentHolderRequest, context: Any
    ) -> identity_pb2.Posting:
        return posting_to_proto(await self._service.current_holder(request.position_id))

    async def GetPostContact(
        self, request: identity_pb2.GetPostContactRequest, context: Any
    ) -> identity_pb2.PostContact:
        return post_contact_to_proto(await self._post_contacts.contact_of(request.position_id))

    async def ListPostings(
        self, request: identity_pb2.ListPostingsRequest, context: Any
    ) -> identity_pb2.ListPostingsResponse:
        postings = await self._service.list_postings(request.account_id, request.position_id)
        return identity_pb2.ListPostingsResponse(postings=[posting_to_proto(p) for p in postings])

    async def CreateDelegation(
        self, request: identity_pb2.CreateDelegationRequest, context: Any
    ) -> identity_pb2.Delegation:
        delegation = await self._delegations.create(
            request.delegate_account_id, list(request.powers), actor_from_proto(request.actor)
        )
        return delegation_to_proto(delegation)

    async def ListDelegations(
        self, request: identity_pb2.ListDelegationsRequest, context: Any
    ) -> identity_pb2.ListDelegationsResponse:
        page = await self._delegations.list(
            actor_from_proto(request.actor),
            received=request.received,
            include_revoked=request.include_revoked,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return identity_pb2.ListDelegationsResponse(
            delegations=[delegation_to_proto(d) for d in page.delegations], next_page_token=page.next_page_token
        )

    async def RevokeDelegation(
        self, request: identity_pb2.RevokeDelegationRequest, context: Any
    ) -> identity_pb2.Delegation:
        return delegation_to_proto(
            await self._delegations.revoke(request.delegation_id, actor_from_proto(request.actor))
        )

    async def DisableAccount(self, request: identity_pb2.DisableAccountRequest, context: Any) -> identity_pb2.Account:
        account = await self._accounts.disable_account(
            request.account_id, request.reason, actor_from_proto(request.actor)
        )
        return account_to_proto(account)

    async def ChangePassword(self, request: identity_pb2.ChangePasswordRequest, context: Any) -> identity_pb2.TokenPair:
        tokens = await self._accounts.change_password(
            _verified_person(), request.current_password, request.new_password, request.client_ip
        )
        return tokens_to_proto(tokens)

    async def CreateServiceClient(
        self, request: identity_pb2.CreateServiceClientRequest, context: Any
    ) -> identity_pb2.CreatedServiceClient:
        created = await self._clients.create_client(
            request.name, request.department_code, list(request.scopes), actor_from_proto(request.actor)
        )
        return identity_pb2.CreatedServiceClient(
            client=service_client_to_proto(created.client), client_secret=created.client_secret
        )

    async def ListServiceClients(
        self, request: identity_pb2.ListServiceClientsRequest, context: Any
    ) -> identity_pb2.ListServiceClientsResponse:
        clients = await self._clients.list_clients(request.department_code, actor_from_proto(request.actor))
        return identity_pb2.ListServiceClientsResponse(clients=[service_client_to_proto(c) for c in clients])

    async def DisableServiceClient(
        self, request: identity_pb2.DisableServiceClientRequest, context: Any
    ) -> identity_pb2.ServiceClient:
        client = await self._clients.disable_client(request.client_id, actor_from_proto(request.actor))
        return service_client_to_proto(client)

    async def IssueClientToken(
        self, request: identity_pb2.IssueClientTokenRequest, context: Any
    ) -> identity_pb2.ClientToken:
        issued = await self._clients.issue_token(request.client_id, request.client_secret, _peer_ip(context))
        return identity_pb2.ClientToken(
            access_token=issued.access_token,
            access_expires_at=to_timestamp(issued.access_expires_at),
            client_id=issued.client.id,
            department_code=issued.client.department_code,
            scopes=issued.client.scopes,
        )

    async def IssueOpen311Key(
        self, request: identity_pb2.IssueOpen311KeyRequest, context: Any
    ) -> identity_pb2.IssuedOpen311Key:
        issued = await self._open311_keys.issue(
            request.integrator, request.requests_per_minute, actor_from_proto(request.actor)
        )
        return identity_pb2.IssuedOpen311Key(key=open311_key_to_proto(issued.key), api_key=issued.api_key)

    async def ListOpen311Keys(
        self, request: identity_pb2.ListOpen311KeysRequest, context: Any
    ) -> identity_pb2.ListOpen311KeysResponse:
        keys = await self._open311_keys.list_keys(actor_from_proto(request.actor))
        return identity_pb2.ListOpen311KeysResponse(keys=[open311_key_to_proto(k) for k in keys])

    async def RevokeOpen311Key(
        self, request: identity_pb2.RevokeOpen311KeyRequest, context: Any
    ) -> identity_pb2.Open311Key:
        return open311_key_to_proto(await self._open311_keys.revoke(request.key_id, actor_from_proto(request.actor)))

    async def VerifyOpen311Key(
        self, request: identity_pb2.VerifyOpen311KeyRequest, context: Any
    ) -> identity_pb2.Open311Key:
        return open311_key_to_proto(await self._open311_keys.verify(request.api_key))
