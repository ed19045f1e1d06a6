"""No delegation but the one the SOP allows (S17): a DM or secretary gives named powers to the Sahyog-cell nodal
officer; the delegate's token says for whom it acts and with which powers; revocable."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import field_violations
from nivaran_common.timeutil import to_timestamp

from .conftest import PASSWORD, START, Harness, HarnessFactory

POWERS = ["registrations.decide", "transfers.decide", "grievances.read_district"]


async def cell(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_officer("secretary.food", "POS-FOOD-BR-SECRETARY")
    await h.seed_officer("dso.patna", "POS-FOOD-PAT-DSO")
    await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    await h.seed_operator("operator.patna", ["CALL_CENTRE"], district_code="PAT")
    return h


def delegate(h: Harness, to: str, by: str, powers: list[str] | None = None) -> identity_pb2.CreateDelegationRequest:
    return identity_pb2.CreateDelegationRequest(
        delegate_account_id=h.accounts[to], powers=POWERS if powers is None else powers, actor=h.actor(by)
    )


async def nodal_claims(h: Harness) -> dict[str, object]:
    tokens = await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username="sahyog.patna", password=PASSWORD))
    return await h.claims(tokens.access_token)


async def test_S17_dm_delegates_to_the_sahyog_nodal_officer_and_the_token_says_for_whom(
    make_identity: HarnessFactory,
) -> None:
    h = await cell(make_identity)
    assert (await nodal_claims(h))["acting_for"] == ""
    delegation = await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna"))
    assert (delegation.delegator_account_id, list(delegation.powers)) == (h.accounts["dm.patna"], POWERS)

    claims = await nodal_claims(h)
    assert claims["sub"] == h.accounts["sahyog.patna"]
    assert claims["acting_for"] == h.accounts["dm.patna"]
    assert claims["powers"] == POWERS
    # Powers are not roles: the nodal officer's own roles are unchanged.
    assert claims["roles"] == ["operator", "SAHYOG_NODAL"]
    assert claims["district"] == "PAT"


async def test_S17_revoked_delegation_leaves_the_next_token(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    delegation = await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="secretary.food"))
    tokens = await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username="sahyog.patna", password=PASSWORD))
    with pytest.raises(grpc.aio.AioRpcError) as stranger:
        await h.stub.RevokeDelegation(
            identity_pb2.RevokeDelegationRequest(delegation_id=delegation.id, actor=h.actor("dm.patna"))
        )
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED
    h.clock.advance(seconds=10)
    revoked = await h.stub.RevokeDelegation(
        identity_pb2.RevokeDelegationRequest(delegation_id=delegation.id, actor=h.actor("secretary.food"))
    )
    assert revoked.HasField("revoked_at")
    refreshed = await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token))
    claims = await h.claims(refreshed.access_token)
    assert (claims["acting_for"], claims["powers"]) == ("", [])


@pytest.mark.parametrize("delegator", ["dso.patna", "operator.patna"])
async def test_S17_only_a_dm_or_secretary_may_delegate(make_identity: HarnessFactory, delegator: str) -> None:
    h = await cell(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by=delegator))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("delegate_to", ["dso.patna", "operator.patna"])
async def test_S17_powers_go_only_to_the_sahyog_nodal_officer(make_identity: HarnessFactory, delegate_to: str) -> None:
    h = await cell(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CreateDelegation(delegate(h, delegate_to, by="dm.patna"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_S17_a_delegate_cannot_delegate_further(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna"))
    request = delegate(h, "sahyog.patna", by="dm.patna")
    request.actor.CopyFrom(
        common_pb2.Actor(account_id=h.accounts["sahyog.patna"], on_behalf_of_account_id=h.accounts["dm.patna"])
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CreateDelegation(request)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_S17_regulator_acts_are_not_delegable(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CreateDelegation(
            delegate(h, "sahyog.patna", by="dm.patna", powers=["transfers.decide", "delegations.create", "Bad Name"])
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["powers[1]", "powers[2]"]


async def test_S17_a_power_no_route_checks_cannot_be_delegated(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CreateDelegation(
            delegate(h, "sahyog.patna", by="dm.patna", powers=["registrations.decide", "grievance.remind"])
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = field_violations(caught.value)
    assert violation.field == "powers[1]"
    assert "transfers.decide" in violation.description


async def test_S17_a_delegate_acts_for_one_officer_at_a_time(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="secretary.food"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_S17_delegations_end_when_the_delegator_relinquishes_charge(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna"))
    await h.stub.RelinquishCharge(
        identity_pb2.RelinquishChargeRequest(
            account_id=h.accounts["dm.patna"],
            position_id="POS-PAT-DM",
            relinquish_at=to_timestamp(START),
            transfer_order_number="GAD/TR/2026/200",
            transfer_order_date=to_timestamp(START - timedelta(days=1)),
            actor=h.actor("dm.patna"),
        )
    )
    assert (await nodal_claims(h))["acting_for"] == ""


async def test_S6_S17_the_delegate_decides_registrations_for_the_dm_only_with_that_power(
    make_identity: HarnessFactory,
) -> None:
    h = await cell(make_identity)
    pending = await h.stub.RegisterOfficer(
        identity_pb2.RegisterOfficerRequest(
            name="Block Supply Officer",
            username="bso.phulwari",
            password=PASSWORD,
            phone="+919801000001",
            position_id="POS-FOOD-PAT-SADAR-PHULWARI-BSO",
            charge_from=to_timestamp(START),
        )
    )
    under_dm = common_pb2.Actor(account_id=h.accounts["sahyog.patna"], on_behalf_of_account_id=h.accounts["dm.patna"])
    decision = identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=under_dm)

    without_power = await h.stub.CreateDelegation(
        delegate(h, "sahyog.patna", by="dm.patna", powers=["transfers.decide", "grievances.read_district"])
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.DecideRegistration(decision)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await h.stub.RevokeDelegation(
        identity_pb2.RevokeDelegationRequest(delegation_id=without_power.id, actor=h.actor("dm.patna"))
    )

    granted = await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna", powers=["registrations.decide"]))
    approved = await h.stub.DecideRegistration(decision)
    assert approved.state == identity_pb2.REGISTRATION_STATE_APPROVED
    # Audited "by X for Y": the delegate decided, for the DM, under this delegation.
    assert approved.decided_by_account_id == h.accounts["sahyog.patna"]
    assert f"for {h.accounts['dm.patna']} under delegation {granted.id}" in approved.decision_note


async def test_S17_the_delegator_lists_what_they_gave_and_the_delegate_what_they_hold(
    make_identity: HarnessFactory,
) -> None:
    h = await cell(make_identity)
    first = await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna", powers=POWERS[:1]))
    h.clock.advance(seconds=10)
    await h.stub.RevokeDelegation(
        identity_pb2.RevokeDelegationRequest(delegation_id=first.id, actor=h.actor("dm.patna"))
    )
    h.clock.advance(seconds=10)
    second = await h.stub.CreateDelegation(delegate(h, "sahyog.patna", by="dm.patna"))

    def listing(by: str, **options: object) -> identity_pb2.ListDelegationsRequest:
        return identity_pb2.ListDelegationsRequest(actor=h.actor(by), **options)  # type: ignore[arg-type]

    in_force = await h.stub.ListDelegations(listing("dm.patna"))
    assert [d.id for d in in_force.delegations] == [second.id]
    assert in_force.next_page_token == ""
    everything = await h.stub.ListDelegations(listing("dm.patna", include_revoked=True))
    assert [d.id for d in everything.delegations] == [second.id, first.id]  # newest grant first
    assert everything.delegations[1].HasField("revoked_at")
    assert not everything.delegations[0].HasField("revoked_at")

    # A page at a time: each delegation once, in the same order.
    seen, token = [], ""
    while True:
        page = await h.stub.ListDelegations(
            listing("dm.patna", include_revoked=True, page=common_pb2.PageRequest(page_size=1, page_token=token))
        )
        seen += [d.id for d in page.delegations]
        token = page.next_page_token
        if not token:
            break
    assert seen == [second.id, first.id]

    # The nodal officer sees what they hold and from whom; another officer sees nothing of the DM's.
    held = await h.stub.ListDelegations(listing("sahyog.patna", received=True))
    assert [(d.id, d.delegator_account_id, list(d.powers)) for d in held.delegations] == [
        (second.id, h.accounts["dm.patna"], POWERS)
    ]
    assert list((await h.stub.ListDelegations(listing("sahyog.patna"))).delegations) == []
    assert list((await h.stub.ListDelegations(listing("secretary.food", include_revoked=True))).delegations) == []


async def test_S17_a_delegation_list_refuses_a_bad_page_token_naming_the_field(make_identity: HarnessFactory) -> None:
    h = await cell(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.ListDelegations(
            identity_pb2.ListDelegationsRequest(
                actor=h.actor("dm.patna"), page=common_pb2.PageRequest(page_token="not-a-token")
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page.page_token" in {v.field for v in field_violations(caught.value)}
