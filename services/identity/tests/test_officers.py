"""Officer registration and the regulator's approval (S6), password + TOTP login, lockout and the login audit."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from nivaran.common.v1 import common_pb2
from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import field_violations
from nivaran_common.timeutil import to_timestamp

from .conftest import PASSWORD, START, Harness, HarnessFactory

IP = "10.20.30.40"


def registration(username: str = "bso.phulwari", position_id: str = "POS-FOOD-PAT-SADAR-PHULWARI-BSO", **extra: str):  # type: ignore[no-untyped-def]
    fields = {
        "name": "Ravi Kumar",
        "username": username,
        "password": PASSWORD,
        "phone": "+919801000001",
        "email": "ravi.kumar@example.gov.in",
        "position_id": position_id,
        **extra,
    }
    return identity_pb2.RegisterOfficerRequest(**fields, charge_from=to_timestamp(START + timedelta(days=1)))


async def login(h: Harness, username: str, password: str = PASSWORD, totp: str = "") -> identity_pb2.TokenPair:
    return await h.stub.PasswordLogin(  # type: ignore[no-any-return]
        identity_pb2.PasswordLoginRequest(username=username, password=password, totp=totp, client_ip=IP)
    )


async def with_regulators(make_identity: HarnessFactory, **settings: object) -> Harness:
    h = await make_identity(**settings)
    await h.seed_officer("dm.patna", "POS-PAT-DM")
    await h.seed_officer("dm.gaya", "POS-GAY-DM")
    await h.seed_operator("it.admin", ["DEPT_ADMIN"], department_code="IT")
    await h.seed_operator("food.admin", ["DEPT_ADMIN"], department_code="FOOD")
    return h


async def test_S6_officer_logs_in_only_after_the_dm_of_the_right_district_approves(
    make_identity: HarnessFactory,
) -> None:
    h = await with_regulators(make_identity)
    pending = await h.stub.RegisterOfficer(registration())
    # The block officer's district comes from routing's reporting chain (block -> DSO, Patna).
    assert (pending.state, pending.district_code) == (identity_pb2.REGISTRATION_STATE_PENDING, "PAT")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await login(h, "bso.phulwari")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    with pytest.raises(grpc.aio.AioRpcError) as wrong_dm:
        await h.stub.DecideRegistration(
            identity_pb2.DecideRegistrationRequest(
                registration_id=pending.id, approve=True, actor=h.actor("dm.gaya", role="DM")
            )
        )
    assert wrong_dm.value.code() == grpc.StatusCode.PERMISSION_DENIED

    approved = await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(
            registration_id=pending.id, approve=True, note="verified", actor=h.actor("dm.patna", role="DM")
        )
    )
    assert approved.state == identity_pb2.REGISTRATION_STATE_APPROVED
    assert approved.decided_by_account_id == h.accounts["dm.patna"]
    assert "TOTP" in approved.decision_note

    # TOTP is the second factor: the password alone is not enough.
    with pytest.raises(grpc.aio.AioRpcError) as no_totp:
        await login(h, "bso.phulwari")
    assert no_totp.value.code() == grpc.StatusCode.UNAUTHENTICATED
    tokens = await login(h, "bso.phulwari", totp=h.sender.totp("bso.phulwari").at(h.clock()))
    claims = await h.claims(tokens.access_token)
    assert claims["kind"] == "officer"
    assert claims["roles"] == ["officer", "DISPOSING"]
    assert claims["positions"] == ["POS-FOOD-PAT-SADAR-PHULWARI-BSO"]
    assert claims["district"] == "PAT"
    assert (claims["phone"], claims["acting_for"], claims["powers"]) == ("", "", [])
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_S6_registrations_are_listed_by_district_and_state(make_identity: HarnessFactory) -> None:
    h = await with_regulators(make_identity)
    await h.stub.RegisterOfficer(registration())
    await h.stub.RegisterOfficer(
        registration("dso.gaya", "POS-FOOD-GAY-DSO", phone="+919801000002", email="dso.gaya@example.gov.in")
    )
    listed = await h.stub.ListRegistrations(
        identity_pb2.ListRegistrationsRequest(district_code="PAT", state=identity_pb2.REGISTRATION_STATE_PENDING)
    )
    assert [r.username for r in listed.registrations] == ["bso.phulwari"]
    assert listed.registrations[0].phone == "+91XXXXXX0001"


async def test_S6_registrations_come_oldest_first_a_page_at_a_time_and_one_by_its_id(
    make_identity: HarnessFactory,
) -> None:
    h = await with_regulators(make_identity)
    made = []
    for i in range(5):
        made.append(
            await h.stub.RegisterOfficer(
                registration(
                    f"bso.patna{i}",
                    "POS-FOOD-PAT-SADAR-PHULWARI-BSO",
                    phone=f"+91980100010{i}",
                    email=f"bso.patna{i}@example.gov.in",
                )
            )
        )
    expected = [r.id for r in sorted(made, key=lambda r: (r.requested_at.ToDatetime(), r.id))]

    seen: list[str] = []
    token = ""
    for _ in range(5):
        page = await h.stub.ListRegistrations(
            identity_pb2.ListRegistrationsRequest(
                district_code="PAT", page=common_pb2.PageRequest(page_size=2, page_token=token)
            )
        )
        assert len(page.registrations) <= 2
        seen += [r.id for r in page.registrations]
        token = page.next_page_token
        if not token:
            break
    one = await h.stub.ListRegistrations(
        identity_pb2.ListRegistrationsRequest(district_code="PAT", registration_id=made[3].id)
    )
    elsewhere = await h.stub.ListRegistrations(
        identity_pb2.ListRegistrationsRequest(district_code="GAY", registration_id=made[3].id)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await h.stub.ListRegistrations(
            identity_pb2.ListRegistrationsRequest(page=common_pb2.PageRequest(page_token="e30"))
        )

    assert seen == expected
    assert [r.id for r in one.registrations] == [made[3].id]
    assert list(elsewhere.registrations) == []
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(refused.value)] == ["page.page_token"]


async def test_S6_totp_code_is_not_accepted_twice(make_identity: HarnessFactory) -> None:
    h = await with_regulators(make_identity)
    pending = await h.stub.RegisterOfficer(registration())
    await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=h.actor("dm.patna"))
    )
    code = h.sender.totp("bso.phulwari").at(h.clock())
    await login(h, "bso.phulwari", totp=code)
    with pytest.raises(grpc.aio.AioRpcError) as replay:
        await login(h, "bso.phulwari", totp=code)
    assert replay.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_S6_unknown_position_is_invalid_argument_on_position_id(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RegisterOfficer(registration(position_id="POS-NOWHERE"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["position_id"]


async def test_S6_department_level_post_is_approved_by_that_departments_admin(make_identity: HarnessFactory) -> None:
    h = await with_regulators(make_identity)
    pending = await h.stub.RegisterOfficer(registration("it.nodal", "POS-IT-BR-NODAL"))
    assert pending.district_code == ""
    for outsider in ("dm.patna", "food.admin"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await h.stub.DecideRegistration(
                identity_pb2.DecideRegistrationRequest(
                    registration_id=pending.id, approve=True, actor=h.actor(outsider)
                )
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    approved = await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=h.actor("it.admin"))
    )
    assert approved.state == identity_pb2.REGISTRATION_STATE_APPROVED


async def test_S6_rejection_states_a_reason_and_stops_login(make_identity: HarnessFactory) -> None:
    h = await with_regulators(make_identity)
    pending = await h.stub.RegisterOfficer(registration())
    with pytest.raises(grpc.aio.AioRpcError) as no_reason:
        await h.stub.DecideRegistration(
            identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=False, actor=h.actor("dm.patna"))
        )
    assert [v.field for v in field_violations(no_reason.value)] == ["note"]
    rejected = await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(
            registration_id=pending.id, approve=False, note="not posted here", actor=h.actor("dm.patna")
        )
    )
    assert (rejected.state, rejected.decision_note) == (identity_pb2.REGISTRATION_STATE_REJECTED, "not posted here")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await login(h, "bso.phulwari")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_S6_S17_decision_under_a_claimed_but_absent_delegation_is_denied(make_identity: HarnessFactory) -> None:
    h = await with_regulators(make_identity)
    nodal = await h.seed_operator("sahyog.patna", ["SAHYOG_NODAL"], district_code="PAT")
    pending = await h.stub.RegisterOfficer(registration())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.DecideRegistration(
            identity_pb2.DecideRegistrationRequest(
                registration_id=pending.id,
                approve=True,
                actor=common_pb2.Actor(account_id=nodal, on_behalf_of_account_id=h.accounts["dm.patna"]),
            )
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_registration_names_every_bad_field(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    request = identity_pb2.RegisterOfficerRequest(
        name="", username="X", password="short", phone="123", email="not-an-email", position_id="bad code!"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.RegisterOfficer(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in field_violations(caught.value)} == {
        "name",
        "username",
        "password",
        "phone",
        "email",
        "position_id",
        "charge_from",
    }


async def test_one_officer_account_per_person(make_identity: HarnessFactory) -> None:
    h = await with_regulators(make_identity)
    pending = await h.stub.RegisterOfficer(registration())
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await h.stub.RegisterOfficer(registration("another.name", "POS-RDD-PAT-DDC"))
    assert twice.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await h.stub.DecideRegistration(
        identity_pb2.DecideRegistrationRequest(registration_id=pending.id, approve=True, actor=h.actor("dm.patna"))
    )
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await h.stub.RegisterOfficer(registration("another.name", "POS-RDD-PAT-DDC"))
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert [v.field for v in field_violations(again.value)] == ["phone"]


async def test_password_failures_are_audited_and_lock_the_login(make_identity: HarnessFactory) -> None:
    h = await make_identity(require_officer_totp=False, password_max_failures=3)
    dm = await h.seed_officer("dm.patna", "POS-PAT-DM")
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await login(h, "dm.patna", password="not-the-password")
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await login(h, "dm.patna")
    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    h.clock.advance(minutes=16)
    tokens = await login(h, "dm.patna")
    assert tokens.account.id == dm
    entries = await h.service.audit_entries(subject="dm.patna")
    assert [(e.success, e.reason) for e in entries] == [
        (False, "bad_credentials"),
        (False, "bad_credentials"),
        (False, "bad_credentials"),
        (False, "locked"),
        (True, ""),
    ]
    assert {e.client_ip for e in entries} == {IP}


async def test_unknown_username_is_refused_like_a_wrong_password(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await login(h, "nobody.here")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert [e.reason for e in await h.service.audit_entries(subject="nobody.here")] == ["bad_credentials"]


async def test_get_account_masks_the_phone(make_identity: HarnessFactory) -> None:
    h = await make_identity()
    dso = await h.seed_officer("dso.patna", "POS-FOOD-PAT-DSO", phone="+919431000002")
    account = await h.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=dso))
    assert (account.phone, list(account.roles), account.kind) == (
        "+91XXXXXX0002",
        ["officer", "L1"],
        identity_pb2.ACCOUNT_KIND_OFFICER,
    )
