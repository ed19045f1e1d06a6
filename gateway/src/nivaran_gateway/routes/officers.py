"""REST /v1/officers, /v1/delegations and /v1/accounts: registration and DM approval (S6), charge handover (S7),
delegation (S17), and taking a login away."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import DM, OFFICER, OPERATOR, POWER_DECIDE_REGISTRATIONS, SECRETARY, Principal
from nivaran_common.timeutil import to_timestamp
from nivaran_gateway.access import public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Directory, Settings
from nivaran_gateway.jurisdiction import PositionDirectory
from nivaran_gateway.problems import FORBIDDEN, NOT_FOUND, ProblemError, problem_responses
from nivaran_gateway.schemas.auth import AccountView
from nivaran_gateway.schemas.officers import (
    AccountDisableIn,
    DecisionIn,
    DelegationIn,
    DelegationList,
    DelegationView,
    PostingView,
    RegistrationIn,
    RegistrationList,
    RegistrationState,
    RegistrationView,
    RelinquishIn,
    TakeChargeIn,
)

router = APIRouter(prefix="/v1", tags=["officers"], route_class=JsonBodyRoute)

# A would-be officer has no account yet; the DM approves the request (S6). Counted with the credential checks.
Applicant = Annotated[Principal | None, Depends(public("login", per_ip=True))]
# The DM of the post's district, or the nodal officer the DM delegated this power to (S17).
Regulator = Annotated[Principal, Depends(requires(DM, powers=(POWER_DECIDE_REGISTRATIONS,)))]
Officer = Annotated[Principal, Depends(requires(OFFICER))]
# Regulators of posts above districts (identity's DEPT_ADMIN, STATE_ADMIN); operators, never officers (S6).
ADMIN_ROLES = ("DEPT_ADMIN", "STATE_ADMIN")
# Take charge: the officer for themselves, or the regulator of the post (S6, S7); identity checks the authority.
ChargeGiver = Annotated[Principal, Depends(requires(OFFICER, *ADMIN_ROLES))]
# S17: a DM or a secretary may delegate to the Sahyog-cell nodal officer.
Delegator = Annotated[Principal, Depends(requires(DM, SECRETARY))]
# Officers and operators (the nodal officer is one) list the delegations they gave or hold.
Staff = Annotated[Principal, Depends(requires(OFFICER, OPERATOR))]
# Who may take a login away: a STATE_ADMIN, or the regulator of the account's posts; identity checks which.
Disabler = Annotated[Principal, Depends(requires(DM, *ADMIN_ROLES))]

Id = Annotated[str, Path(min_length=1, max_length=128)]


def district_of(principal: Principal) -> str:
    """The district the caller's token names; 403 when it names none."""
    if not principal.district:
        raise ProblemError(FORBIDDEN, "your token names no district")
    return principal.district


async def actor_as(principal: Principal, role: str, directory: PositionDirectory) -> common_pb2.Actor:
    """The caller as actor in `role`, with the post they hold in that role when they hold one."""
    post = await directory.held_post(principal, role)
    return principal.actor(role=role if principal.has_any((role,)) else "", position_id=post or "")


def _self_only(principal: Principal, account_id: str) -> None:
    if principal.account_id != account_id:
        raise ProblemError(FORBIDDEN, "an officer changes only their own postings")


@router.post(
    "/officers/registrations",
    status_code=201,
    response_model=RegistrationView,
    summary="Ask for an officer login (the DM approves it)",
    responses=problem_responses(400, 401, 409, 415, 422, 429, 500, 502, 503),
)
async def register_officer(
    body: RegistrationIn, _caller: Applicant, clients: Clients, settings: Settings
) -> RegistrationView:
    """S6: the request waits for the DM of the post's district."""
    registration = await clients.identity.RegisterOfficer(body.to_proto(), timeout=settings.grpc_timeout_seconds)
    return RegistrationView.from_proto(registration)


@router.get(
    "/officers/registrations",
    response_model=RegistrationList,
    summary="Registration requests of the DM's district",
    description="Oldest first, a page at a time: pass `next_page_token` back as `page_token` for the next page.",
    responses=problem_responses(400, 401, 403, 422, 429, 500, 502, 503),
)
async def list_registrations(
    principal: Regulator,
    clients: Clients,
    settings: Settings,
    state: Annotated[RegistrationState | None, Query()] = RegistrationState.PENDING,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
) -> RegistrationList:
    """Only the district named in the token, whatever else is asked."""
    answer = await clients.identity.ListRegistrations(
        identity_pb2.ListRegistrationsRequest(
            district_code=district_of(principal),
            state=state.to_proto() if state else identity_pb2.REGISTRATION_STATE_UNSPECIFIED,
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return RegistrationList(
        registrations=[RegistrationView.from_proto(r) for r in answer.registrations],
        next_page_token=answer.next_page_token or None,
    )


@router.post(
    "/officers/registrations/{registration_id}/decision",
    response_model=RegistrationView,
    summary="Approve or reject a registration request (DM)",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def decide_registration(
    registration_id: Id,
    body: DecisionIn,
    principal: Regulator,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> RegistrationView:
    """S6: a request of another district answers 404, like an unknown one."""
    district = district_of(principal)
    timeout = settings.grpc_timeout_seconds
    mine = await clients.identity.ListRegistrations(
        identity_pb2.ListRegistrationsRequest(district_code=district, registration_id=registration_id), timeout=timeout
    )
    if not any(r.id == registration_id and r.district_code == district for r in mine.registrations):
        raise ProblemError(NOT_FOUND, f"no registration request {registration_id}")
    decided = await clients.identity.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(
            registration_id=registration_id,
            approve=body.approve,
            note=body.note,
            actor=await actor_as(principal, DM, directory),
        ),
        timeout=timeout,
    )
    return RegistrationView.from_proto(decided)


@router.post(
    "/officers/{account_id}/relinquish",
    response_model=PostingView,
    summary="Give up charge of a post on transfer (S7)",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def relinquish_charge(
    account_id: Id, body: RelinquishIn, principal: Officer, clients: Clients, settings: Settings
) -> PostingView:
    """The leaving officer disables their own posting, citing the transfer order."""
    _self_only(principal, account_id)
    if body.position_id not in principal.positions:
        raise ProblemError.field(FORBIDDEN, "position_id", "is not a post you hold")
    posting = await clients.identity.RelinquishCharge(
        identity_pb2.RelinquishChargeRequest(
            account_id=account_id,
            position_id=body.position_id,
            relinquish_at=to_timestamp(body.relinquish_at),
            transfer_order_number=body.transfer_order_number,
            transfer_order_date=to_timestamp(body.transfer_order_date),
            actor=principal.actor(position_id=body.position_id),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return PostingView.from_proto(posting)


@router.post(
    "/officers/{account_id}/take-charge",
    response_model=PostingView,
    summary="Put an approved officer in charge of a post (S6, S7)",
    description="The regulator of the post (the DM of its district; for a post above districts, the department's "
    "admin) puts an approved officer in charge of a post from a date; the officer may confirm a charge their approval "
    "already gave them. Identity checks the regulator's authority. The post's pending cases re-base their clocks to "
    "the charge date (S7).",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 502, 503),
)
async def take_charge(
    account_id: Id,
    body: TakeChargeIn,
    principal: ChargeGiver,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> PostingView:
    """The successor's deadlines run from the date they take charge."""
    if principal.account_id == account_id:
        actor = principal.actor(position_id=body.position_id)
    elif principal.has_any((DM,)):
        actor = await actor_as(principal, DM, directory)
    elif principal.has_any(ADMIN_ROLES):
        actor = principal.actor(role=next(r for r in principal.roles if r in ADMIN_ROLES))
    else:
        raise ProblemError(
            FORBIDDEN,
            "an officer confirms only their own charge; the DM of the post's district puts another officer in charge",
        )
    posting = await clients.identity.TakeCharge(
        identity_pb2.TakeChargeRequest(
            account_id=account_id,
            position_id=body.position_id,
            charge_from=to_timestamp(body.charge_from),
            actor=actor,
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return PostingView.from_proto(posting)


async def _delegator_actor(principal: Principal, directory: PositionDirectory) -> common_pb2.Actor:
    if principal.acting_for:
        raise ProblemError(FORBIDDEN, "powers held under a delegation cannot be delegated again")
    role = DM if principal.has_any((DM,)) else SECRETARY
    return await actor_as(principal, role, directory)


@router.post(
    "/delegations",
    status_code=201,
    response_model=DelegationView,
    summary="Delegate powers to the Sahyog-cell nodal officer (S17)",
    responses=problem_responses(400, 401, 403, 404, 415, 422, 429, 500, 502, 503),
)
async def create_delegation(
    body: DelegationIn, principal: Delegator, clients: Clients, settings: Settings, directory: Directory
) -> DelegationView:
    """Only a DM or a secretary delegates, and never powers they hold under someone else's delegation."""
    delegation = await clients.identity.CreateDelegation(
        identity_pb2.CreateDelegationRequest(
            delegate_account_id=body.delegate_account_id,
            powers=[power.value for power in body.powers],
            actor=await _delegator_actor(principal, directory),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return DelegationView.from_proto(delegation)


@router.get(
    "/delegations",
    response_model=DelegationList,
    summary="The delegations you gave, or hold (S17)",
    description="By default the delegations in force that the caller gave (a DM or a secretary); `received=true` "
    "lists those given to the caller (the Sahyog-cell nodal officer), `include_revoked=true` adds the revoked ones. "
    "Newest grant first, a page at a time: pass `next_page_token` back as `page_token` for the next page. Nobody "
    "lists another's delegations.",
    responses=problem_responses(400, 401, 403, 422, 429, 500, 502, 503),
)
async def list_delegations(
    principal: Staff,
    clients: Clients,
    settings: Settings,
    received: Annotated[bool, Query(description="those given to you, not those you gave")] = False,
    include_revoked: Annotated[bool, Query(description="the revoked ones too")] = False,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=512, description="`next_page_token` of the page before")] = None,
) -> DelegationList:
    """Identity answers from the verified caller's account alone."""
    answer = await clients.identity.ListDelegations(
        identity_pb2.ListDelegationsRequest(
            actor=principal.actor(),
            received=received,
            include_revoked=include_revoked,
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return DelegationList(
        delegations=[DelegationView.from_proto(d) for d in answer.delegations],
        next_page_token=answer.next_page_token or None,
    )


@router.delete(
    "/delegations/{delegation_id}",
    response_model=DelegationView,
    summary="Revoke a delegation",
    responses=problem_responses(401, 403, 404, 422, 429, 500, 502, 503),
)
async def revoke_delegation(
    delegation_id: Id, principal: Delegator, clients: Clients, settings: Settings, directory: Directory
) -> DelegationView:
    """Identity checks that the caller is the delegator."""
    delegation = await clients.identity.RevokeDelegation(
        identity_pb2.RevokeDelegationRequest(
            delegation_id=delegation_id, actor=await _delegator_actor(principal, directory)
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return DelegationView.from_proto(delegation)


@router.post(
    "/accounts/{account_id}/disable",
    response_model=AccountView,
    summary="Take a login away, ending its sessions at once",
    description="A STATE_ADMIN may disable any login; the DM of a district the logins of the officers posted there; "
    "a department's admin those of its posts above districts. Nobody disables their own. The account's refresh "
    "tokens and the delegations it gave are revoked, and every access token it holds (and its delegates') is refused "
    "by every service from the next call on. Taking charge of a post does not enable it again.",
    responses=problem_responses(400, 401, 403, 404, 415, 422, 429, 500, 502, 503),
)
async def disable_account(
    account_id: Id,
    body: AccountDisableIn,
    principal: Disabler,
    clients: Clients,
    settings: Settings,
    directory: Directory,
) -> AccountView:
    """Identity checks the caller's authority over the account's posts."""
    if principal.account_id == account_id:
        raise ProblemError.field(FORBIDDEN, "account_id", "you cannot disable your own login")
    if principal.has_any(ADMIN_ROLES):
        actor = principal.actor(role=next(role for role in ("STATE_ADMIN", "DEPT_ADMIN") if role in principal.roles))
    else:
        actor = await actor_as(principal, DM, directory)
    account = await clients.identity.DisableAccount(
        identity_pb2.DisableAccountRequest(account_id=account_id, reason=body.reason, actor=actor),
        timeout=settings.grpc_timeout_seconds,
    )
    return AccountView.from_proto(account)
