"""Postings and charge (S7): relinquish disables the login and revokes its tokens; taking charge re-bases the post's
pending cases in sla to the charge date, and a handover sla could not take is kept and offered again."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import field_violations
from nivaran_common.timeutil import to_timestamp

from .conftest import PASSWORD, START, Harness, HarnessFactory

ORDER_DATE = START - timedelta(days=2)


async def posted(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_officer("dm.gaya", "POS-GAY-DM")
    await h.seed_officer("dso.patna", "POS-FOOD-PAT-DSO")
    await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    return h


def relinquish(h: Harness, username: str, position_id: str, actor: str) -> identity_pb2.RelinquishChargeRequest:
    return identity_pb2.RelinquishChargeRequest(
        account_id=h.accounts[username],
        position_id=position_id,
        relinquish_at=to_timestamp(START),
        transfer_order_number="GAD/TR/2026/117",
        transfer_order_date=to_timestamp(ORDER_DATE),
        actor=h.actor(actor),
    )


async def test_S7_relinquishing_charge_disables_the_login_and_revokes_refresh_tokens(
    make_identity: HarnessFactory,
) -> None:
    h = await posted(make_identity)
    tokens = await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username="dso.patna", password=PASSWORD))

    posting = await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dso.patna"))
    assert posting.relinquished_at.ToDatetime().date() == START.date()
    assert posting.transfer_order_number == "GAD/TR/2026/117"

    with pytest.raises(grpc.aio.AioRpcError) as login:
        await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username="dso.patna", password=PASSWORD))
    assert login.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as refresh:
        await h.stub.RefreshToken(identity_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token))
    assert refresh.value.code() == grpc.StatusCode.UNAUTHENTICATED
    account = await h.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=h.accounts["dso.patna"]))
    assert not account.active
    with pytest.raises(grpc.aio.AioRpcError) as holder:
        await h.stub.GetCurrentHolder(identity_pb2.GetCurrentHolderRequest(position_id="POS-FOOD-PAT-DSO"))
    assert holder.value.code() == grpc.StatusCode.NOT_FOUND


async def test_S7_relinquish_needs_the_transfer_order(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    request = relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dso.patna")
    request.transfer_order_number = ""
    request.ClearField("transfer_order_date")
    request.ClearField("relinquish_at")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RelinquishCharge(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in field_violations(caught.value)} == {
        "relinquish_at",
        "transfer_order_number",
        "transfer_order_date",
    }


async def test_S7_only_the_officer_or_their_regulator_relinquishes(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dm.gaya"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    posting = await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dm.patna"))
    assert posting.HasField("relinquished_at")


async def test_S7_taking_charge_rebases_pending_cases_to_the_charge_date(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dso.patna"))
    charge_from = START + timedelta(days=3, hours=5)
    posting = await h.stub.TakeCharge(
        identity_pb2.TakeChargeRequest(
            account_id=h.accounts["dso.patna"],
            position_id="POS-RDD-PAT-DDC",
            charge_from=to_timestamp(charge_from),
            actor=h.actor("dm.patna"),
        )
    )
    assert [(c.position_id, c.account_id, c.charge_from.ToDatetime()) for c in h.sla.calls] == [
        ("POS-RDD-PAT-DDC", h.accounts["dso.patna"], charge_from.replace(tzinfo=None))
    ]
    holder = await h.stub.GetCurrentHolder(identity_pb2.GetCurrentHolderRequest(position_id="POS-RDD-PAT-DDC"))
    assert (holder.id, holder.account_id) == (posting.id, h.accounts["dso.patna"])
    # The same login again: one account per person, enabled again with the new post in its token.
    tokens = await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username="dso.patna", password=PASSWORD))
    claims = await h.claims(tokens.access_token)
    assert (claims["positions"], claims["roles"]) == (["POS-RDD-PAT-DDC"], ["officer", "L1"])
    history = await h.stub.ListPostings(identity_pb2.ListPostingsRequest(account_id=h.accounts["dso.patna"]))
    assert [(p.position_id, p.HasField("relinquished_at")) for p in history.postings] == [
        ("POS-FOOD-PAT-DSO", True),
        ("POS-RDD-PAT-DDC", False),
    ]


async def test_S7_approval_of_a_successor_takes_charge_from_the_registered_date(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dso.patna"))
    charge_from = START + timedelta(days=1)
    pending = await h.stub.RegisterOfficer(
        identity_pb2.RegisterOfficerRequest(
            name="Successor",
            username="dso.successor",
            password=PASSWORD,
            phone="+919801000009",
            position_id="POS-FOOD-PAT-DSO",
            charge_from=to_timestamp(charge_from),
        )
    )
    approved = await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=h.actor("dm.patna"))
    )
    successor = await h.account_id("dso.successor")
    assert approved.state == identity_pb2.REGISTRATION_STATE_APPROVED
    assert [(c.position_id, c.account_id, c.charge_from.ToDatetime()) for c in h.sla.calls] == [
        ("POS-FOOD-PAT-DSO", successor, charge_from.replace(tzinfo=None))
    ]


async def test_S7_handover_is_kept_while_sla_is_down_and_applied_later(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dso.patna"))
    h.sla.down = True
    await h.stub.TakeCharge(
        identity_pb2.TakeChargeRequest(
            account_id=h.accounts["dso.patna"],
            position_id="POS-FOOD-PAT-DSO",
            charge_from=to_timestamp(START + timedelta(days=1)),
            actor=h.actor("dm.patna"),
        )
    )
    [pending] = await h.service.handovers_of("POS-FOOD-PAT-DSO")
    assert (pending.state, pending.attempts) == ("pending", 1)
    assert "UNAVAILABLE" in pending.last_error

    # Not due yet: the sweep leaves it alone.
    assert await h.service.retry_pending_handovers() == 0
    h.sla.down = False
    h.clock.advance(minutes=1)
    assert await h.service.retry_pending_handovers() == 1
    [applied] = await h.service.handovers_of("POS-FOOD-PAT-DSO")
    assert (applied.state, applied.cases_rebased) == ("applied", 3)
    assert [c.account_id for c in h.sla.calls] == [h.accounts["dso.patna"]]
    assert await h.service.retry_pending_handovers() == 0


async def test_S7_a_held_post_cannot_be_taken(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    await h.seed_officer("ddc.patna", "POS-RDD-PAT-DDC")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.TakeCharge(
            identity_pb2.TakeChargeRequest(
                account_id=h.accounts["ddc.patna"],
                position_id="POS-FOOD-PAT-DSO",
                charge_from=to_timestamp(START),
                actor=h.actor("dm.patna"),
            )
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert h.sla.calls == []


async def test_S7_taking_charge_needs_the_posts_regulator(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    await h.stub.RelinquishCharge(relinquish(h, "dso.patna", "POS-FOOD-PAT-DSO", actor="dso.patna"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.TakeCharge(
            identity_pb2.TakeChargeRequest(
                account_id=h.accounts["dso.patna"],
                position_id="POS-FOOD-PAT-DSO",
                charge_from=to_timestamp(START),
                actor=h.actor("dso.patna"),
            )
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_operator_account_never_takes_an_officer_post(make_identity: HarnessFactory) -> None:
    h = await posted(make_identity)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.TakeCharge(
            identity_pb2.TakeChargeRequest(
                account_id=h.accounts["sahyog.patna"],
                position_id="POS-RDD-PAT-DDC",
                charge_from=to_timestamp(START),
                actor=h.actor("dm.patna"),
            )
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [v.field for v in field_violations(caught.value)] == ["account_id"]
    account = await h.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=h.accounts["sahyog.patna"]))
    assert list(account.roles) == ["operator", "SAHYOG_NODAL"]


async def test_list_postings_needs_an_account_or_a_post(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.ListPostings(identity_pb2.ListPostingsRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in field_violations(caught.value)} == {"account_id", "position_id"}


async def test_S7_the_approved_officer_confirms_their_charge_but_cannot_move_its_date(
    make_identity: HarnessFactory,
) -> None:
    h = await posted(make_identity)
    charge_from = START + timedelta(days=1)
    pending = await h.stub.RegisterOfficer(
        identity_pb2.RegisterOfficerRequest(
            name="DDC",
            username="ddc.patna",
            password=PASSWORD,
            phone="+919801000007",
            position_id="POS-RDD-PAT-DDC",
            charge_from=to_timestamp(charge_from),
        )
    )
    await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=h.actor("dm.patna"))
    )
    ddc = await h.account_id("ddc.patna")
    request = identity_pb2.TakeChargeRequest(
        account_id=ddc, position_id="POS-RDD-PAT-DDC", charge_from=to_timestamp(charge_from), actor=h.actor("ddc.patna")
    )
    confirmed = await h.stub.TakeCharge(request)
    holder = await h.stub.GetCurrentHolder(identity_pb2.GetCurrentHolderRequest(position_id="POS-RDD-PAT-DDC"))
    assert confirmed.id == holder.id
    assert len(h.sla.calls) == 1

    request.charge_from.CopyFrom(to_timestamp(charge_from + timedelta(days=20)))
    with pytest.raises(grpc.aio.AioRpcError) as later:
        await h.stub.TakeCharge(request)
    assert later.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [v.field for v in field_violations(later.value)] == ["charge_from"]
    assert len(h.sla.calls) == 1
