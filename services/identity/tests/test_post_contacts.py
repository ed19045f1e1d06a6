"""GetPostContact (S16, C2): where to reach the officer holding a post now, so that notify can send an officer's
notice by SMS and email as well as in-app. The holder of the moment, never a former one; nobody for a vacant post
or a holder whose login was taken away; and notify's workload alone may ask."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from nivaran.identity.v1 import identity_pb2
from nivaran_common.timeutil import to_timestamp

from .conftest import PASSWORD, START, Harness, HarnessFactory

POST = "POS-FOOD-PAT-DSO"


async def staffed(make_identity: HarnessFactory) -> Harness:
    h = await make_identity(require_officer_totp=False)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_officer("dso.patna", POST, phone="+919431000002", email="dso.patna@nivaran.example.gov.in")
    return h


async def contact(h: Harness, position_id: str = POST) -> identity_pb2.PostContact:
    return await h.stub.GetPostContact(identity_pb2.GetPostContactRequest(position_id=position_id))


async def refused(h: Harness, position_id: str = POST) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await contact(h, position_id)
    return caught.value.code()


async def test_S16_C2_the_contact_is_the_holders_now_and_a_relinquished_one_gets_none(
    make_identity: HarnessFactory,
) -> None:
    h = await staffed(make_identity)
    found = await contact(h)
    assert (found.position_id, found.account_id, found.name) == (POST, h.accounts["dso.patna"], "dso.patna")
    # Unmasked: the number and address a notice is sent to (notify masks them in its logs and views).
    assert (found.phone, found.email) == ("+919431000002", "dso.patna@nivaran.example.gov.in")
    assert found.preferred_language == "hi"
    assert found.charge_from.ToDatetime().date() < START.date()

    await h.stub.RelinquishCharge(
        identity_pb2.RelinquishChargeRequest(
            account_id=h.accounts["dso.patna"],
            position_id=POST,
            relinquish_at=to_timestamp(START),
            transfer_order_number="GAD/TR/2026/117",
            transfer_order_date=to_timestamp(START),
            actor=h.actor("dso.patna"),
        )
    )
    # Vacant: the right to the post's notices went with the charge, on the very next ask.
    assert await refused(h) is grpc.StatusCode.NOT_FOUND

    await h.seed_officer("dso.successor", POST, phone="+919431000099", email="successor@nivaran.example.gov.in")
    successor = await contact(h)
    assert (successor.account_id, successor.phone, successor.email) == (
        h.accounts["dso.successor"],
        "+919431000099",
        "successor@nivaran.example.gov.in",
    )


async def test_S16_a_holder_whose_login_was_taken_away_gets_no_contact(make_identity: HarnessFactory) -> None:
    h = await staffed(make_identity)
    await h.stub.DisableAccount(
        identity_pb2.DisableAccountRequest(
            account_id=h.accounts["dso.patna"], reason="suspended by order 12/2026", actor=h.actor("dm.patna")
        )
    )
    assert await refused(h) is grpc.StatusCode.NOT_FOUND


async def test_S16_a_post_nobody_holds_and_a_missing_post_id(make_identity: HarnessFactory) -> None:
    h = await staffed(make_identity)
    assert await refused(h, "POS-RDD-PAT-DDC") is grpc.StatusCode.NOT_FOUND
    assert await refused(h, "  ") is grpc.StatusCode.INVALID_ARGUMENT
    assert await refused(h, "P" * 65) is grpc.StatusCode.INVALID_ARGUMENT


async def test_S16_C2_only_notify_may_read_a_posts_contact(make_identity: HarnessFactory, test_pki: Path) -> None:
    """The addresses are unmasked, so the door lets notify in on its own account and nobody else: not the gateway
    with an officer's token, not the sla worker, not intake."""
    h = await staffed(make_identity)
    request = identity_pb2.GetPostContactRequest(position_id=POST)
    as_notify = await h.behind_door(test_pki, "notify")
    assert (await as_notify.GetPostContact(request, timeout=10)).email == "dso.patna@nivaran.example.gov.in"

    dm = await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username="dm.patna", password=PASSWORD))
    as_gateway = await h.behind_door(test_pki, "gateway")
    for stub, metadata in (
        (as_gateway, (("authorization", f"Bearer {dm.access_token}"),)),
        (as_gateway, ()),
        (await h.behind_door(test_pki, "sla-worker"), ()),
        (await h.behind_door(test_pki, "intake"), ()),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetPostContact(request, metadata=metadata, timeout=10)
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
