"""Offices and their weekly hearing day (B7): from master data, on positions, and fixed by the office or its DM,
through the use cases and behind routing's real door (mutual TLS, verified tokens)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.door import Door
from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, field_violations
from nivaran_common.grpc_server import ServerSecurity, build_server
from nivaran_common.testing import workload_tls
from nivaran_routing.access import RULES
from nivaran_routing.domain import OfficeEditor
from nivaran_routing.tables import OfficeRow

from .conftest import DEMO, Routing

Stub = routing_pb2_grpc.RoutingServiceStub
WEDNESDAY, THURSDAY, FRIDAY, MONDAY, TUESDAY = 3, 4, 5, 1, 2

DSO_PATNA = OfficeEditor("acct-dso", positions=("POS-FOOD-PAT-DSO",), roles=("officer", "L1"), district="PAT")
DM_PATNA = OfficeEditor("acct-dm-pat", positions=("POS-PAT-DM",), roles=("officer", "DM"), district="PAT")
DM_NALANDA = OfficeEditor("acct-dm-nal", positions=("POS-NAL-DM",), roles=("officer", "DM"), district="NAL")


# --- master data and reads -------------------------------------------------------------------------------------------


async def test_B7_office_hearing_day_from_master_data(demo: Routing) -> None:
    assert (await demo.offices.get_office("OFF-PAT-COLLECTORATE")).hearing_weekday == WEDNESDAY
    assert (await demo.offices.get_office("OFF-NAL-COLLECTORATE")).hearing_weekday == WEDNESDAY
    assert (await demo.offices.get_office("OFF-FOOD-PAT")).hearing_weekday == WEDNESDAY
    assert (await demo.offices.get_office("OFF-REV-PAT-SADAR")).hearing_weekday == THURSDAY
    assert (await demo.offices.get_office("OFF-RDD-PAT-DANAPUR-MANER")).hearing_weekday == FRIDAY
    # Headquarters fix none in the demo data.
    assert (await demo.offices.get_office("OFF-FOOD-BR")).hearing_weekday is None


async def test_B7_get_office_over_grpc(stub: Stub) -> None:
    office = await stub.GetOffice(routing_pb2.GetOfficeRequest(office_id=" OFF-PAT-COLLECTORATE "))
    assert (office.id, office.name.hi, office.level, office.area_code, office.hearing_weekday) == (
        "OFF-PAT-COLLECTORATE",
        "समाहरणालय, पटना",
        routing_pb2.AREA_LEVEL_DISTRICT,
        "PAT",
        WEDNESDAY,
    )
    headquarters = await stub.GetOffice(routing_pb2.GetOfficeRequest(office_id="OFF-IT-BR"))
    assert headquarters.hearing_weekday == 0  # not fixed

    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.GetOffice(routing_pb2.GetOfficeRequest(office_id="OFF-NOWHERE"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert " / " in (unknown.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await stub.GetOffice(routing_pb2.GetOfficeRequest())
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(empty.value)] == ["office_id"]


async def test_B7_position_carries_its_office_hearing_weekday(stub: Stub) -> None:
    dm = await stub.GetPosition(routing_pb2.GetPositionRequest(position_id="POS-PAT-DM"))
    assert dm.office_hearing_weekday == WEDNESDAY

    chain = await stub.GetReportingChain(routing_pb2.GetReportingChainRequest(position_id="POS-HOME-PAT-PS-MANER-SHO"))
    assert [(p.id, p.office_hearing_weekday) for p in chain.chain[:3]] == [
        ("POS-HOME-PAT-PS-MANER-SHO", FRIDAY),
        ("POS-HOME-PAT-SSP", WEDNESDAY),
        ("POS-PAT-DM", WEDNESDAY),
    ]
    assert chain.chain[-1].office_hearing_weekday == 0  # the Chief Secretary's office fixes none

    below = await stub.ListSubordinatePositions(
        routing_pb2.ListSubordinatePositionsRequest(position_id="POS-REV-PAT-ADDL-COLLECTOR")
    )
    assert {p.id: p.office_hearing_weekday for p in below.positions}["POS-REV-PAT-SADAR-SDO"] == THURSDAY
    listed = await stub.ListPositions(routing_pb2.ListPositionsRequest(role="DM", area_code="NAL"))
    assert [(p.id, p.office_hearing_weekday) for p in listed.positions] == [("POS-NAL-DM", WEDNESDAY)]

    resolved = await stub.ResolveL1(
        routing_pb2.ResolveL1Request(
            category_code="FOOD-RATION-CARD", location=common_pb2.Location(state_code="BR", district_code="PAT")
        )
    )
    assert (resolved.position.office_hearing_weekday, resolved.office.hearing_weekday) == (WEDNESDAY, WEDNESDAY)


# --- fixing the day (use cases) --------------------------------------------------------------------------------------


async def test_B7_set_hearing_day_by_officer_of_office(demo: Routing) -> None:
    office = await demo.offices.set_hearing_day("OFF-FOOD-PAT", MONDAY, DSO_PATNA)

    assert (office.id, office.hearing_weekday) == ("OFF-FOOD-PAT", MONDAY)
    assert (await demo.offices.get_office("OFF-FOOD-PAT")).hearing_weekday == MONDAY
    assert (await demo.service.get_position("POS-FOOD-PAT-DSO")).office_hearing_weekday == MONDAY
    async with demo.sessions() as session:
        row = await session.scalar(select(OfficeRow).where(OfficeRow.id == "OFF-FOOD-PAT"))
        assert row is not None
        assert row.hearing_weekday_set_by == "acct-dso"
        assert row.hearing_weekday_set_at is not None


async def test_B7_set_hearing_day_by_the_dm_of_the_district_down_to_a_thana(demo: Routing) -> None:
    # The DM holds no post of these offices; each lies in Patna district (a thana under the police district).
    for office_id in ("OFF-FOOD-PAT", "OFF-HOME-PAT-PS-MANER", "OFF-REV-PAT-SADAR", "OFF-PAT-COLLECTORATE"):
        assert (await demo.offices.set_hearing_day(office_id, TUESDAY, DM_PATNA)).hearing_weekday == TUESDAY
    assert (await demo.offices.set_hearing_day("OFF-EDU-NAL", FRIDAY, DM_NALANDA)).hearing_weekday == FRIDAY


@pytest.mark.parametrize(
    ("office_id", "editor"),
    [
        ("OFF-REV-PAT", DSO_PATNA),  # an officer of another office of the same district
        ("OFF-FOOD-PAT-SADAR-PHULWARI", DSO_PATNA),  # even one below their own post
        ("OFF-EDU-NAL", DM_PATNA),  # the DM of another district
        ("OFF-FOOD-PAT", DM_NALANDA),
        ("OFF-FOOD-BR", DM_PATNA),  # headquarters lie in no district
        ("OFF-PATNA-DIV", DM_PATNA),
        # The DM's district without the DM role: an officer posted elsewhere in the district.
        ("OFF-FOOD-PAT", OfficeEditor("acct-co", ("POS-REV-PAT-SADAR-PHULWARI-CO",), ("officer", "L1"), "PAT")),
        ("OFF-FOOD-PAT", OfficeEditor("acct-citizen", (), ("citizen",), "")),
    ],
)
async def test_B7_set_hearing_day_refused_for_other_office(demo: Routing, office_id: str, editor: OfficeEditor) -> None:
    before = (await demo.offices.get_office(office_id)).hearing_weekday

    with pytest.raises(PermissionDenied) as caught:
        await demo.offices.set_hearing_day(office_id, MONDAY, editor)

    assert office_id in caught.value.message
    assert " / " in caught.value.message
    assert (await demo.offices.get_office(office_id)).hearing_weekday == before


@pytest.mark.parametrize("weekday", [0, 8, -1, 100])
async def test_B7_a_weekday_outside_1_to_7_is_invalid_argument_naming_weekday(demo: Routing, weekday: int) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.offices.set_hearing_day("OFF-FOOD-PAT", weekday, DSO_PATNA)

    assert [v.field for v in caught.value.violations] == ["weekday"]
    assert " / " in caught.value.violations[0].description


async def test_B7_set_hearing_day_of_an_unknown_or_closed_office(demo: Routing) -> None:
    with pytest.raises(InvalidArgument) as empty:
        await demo.offices.set_hearing_day("", 0, DM_PATNA)
    assert [v.field for v in empty.value.violations] == ["office_id", "weekday"]
    with pytest.raises(NotFound):
        await demo.offices.set_hearing_day("OFF-NOWHERE", MONDAY, DM_PATNA)

    report = await demo.service.import_master_data(
        "yaml",
        "offices",
        "- {id: OFF-FOOD-PAT-OLD, department_code: FOOD, area_code: PAT, name_en: Old supply office, "
        "name_hi: पुराना आपूर्ति कार्यालय, valid_to: 2026-01-01}\n".encode(),
        dry_run=False,
    )
    assert report.errors == []
    with pytest.raises(FailedPrecondition):
        await demo.offices.set_hearing_day("OFF-FOOD-PAT-OLD", MONDAY, DM_PATNA)


async def test_B7_a_master_data_reload_keeps_the_day_an_office_fixed(demo: Routing) -> None:
    await demo.offices.set_hearing_day("OFF-FOOD-PAT", MONDAY, DSO_PATNA)

    reload = await demo.service.loader.load_folder(DEMO)
    assert reload.errors == []
    assert (reload.counts["offices"].updated, reload.counts["offices"].inserted) == (0, 0)
    assert (await demo.offices.get_office("OFF-FOOD-PAT")).hearing_weekday == MONDAY

    # The file still governs the office's other columns, and the days of offices that fixed none themselves.
    content = (
        "id,department_code,name_en,name_hi,area_code,hearing_weekday\n"
        'OFF-FOOD-PAT,FOOD,"District Supply Office, Patna (Sadar)","जिला आपूर्ति कार्यालय, पटना",PAT,thursday\n'
        'OFF-REV-PAT,REV,"Office of the Additional Collector, Patna","अपर समाहर्ता का कार्यालय, पटना",PAT,thursday\n'
    )
    changed = await demo.service.import_master_data("csv", "offices", content.encode(), dry_run=False)
    assert changed.errors == []
    assert changed.counts["offices"].updated == 2
    food = await demo.offices.get_office("OFF-FOOD-PAT")
    assert (food.name_en, food.hearing_weekday) == ("District Supply Office, Patna (Sadar)", MONDAY)
    assert (await demo.offices.get_office("OFF-REV-PAT")).hearing_weekday == THURSDAY


# --- behind routing's real door --------------------------------------------------------------------------------------

KEY = ECKey.generate_key("P-256", parameters={"kid": "routing-offices", "alg": "ES256", "use": "sig"}, private=True)
DSO = {"sub": "acct-dso", "kind": "officer", "roles": ["officer", "L1"], "positions": ["POS-FOOD-PAT-DSO"],
       "district": "PAT"}  # fmt: skip
DM = {"sub": "acct-dm-pat", "kind": "officer", "roles": ["officer", "DM"], "positions": ["POS-PAT-DM"],
      "district": "PAT"}  # fmt: skip
REVENUE_OFFICER = {**DSO, "sub": "acct-adm", "positions": ["POS-REV-PAT-ADDL-COLLECTOR"]}
CITIZEN = {"sub": "acct-citizen", "kind": "citizen", "phone": "+919876500031"}


def bearer(claims: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    now = time.time()
    payload = {"iss": "nivaran-identity", "aud": "nivaran", "iat": int(now), "issued_ms": int(now * 1000),
               "exp": int(now) + 900, "jti": uuid.uuid4().hex, **claims}  # fmt: skip
    return (("authorization", f"Bearer {jwt.encode({'alg': 'ES256', 'kid': KEY.kid}, payload, KEY)}"),)


class Doorway:
    """Routing with its real access rules; `stub(workload)` calls it over mutual TLS as that workload."""

    def __init__(self, port: int, pki: Path) -> None:
        self.port = port
        self.pki = pki
        self.channels: list[grpc.aio.Channel] = []

    def stub(self, workload: str) -> Stub:
        credentials = workload_tls(self.pki, workload).channel_credentials()
        channel = grpc.aio.secure_channel(f"127.0.0.1:{self.port}", credentials)
        self.channels.append(channel)
        return routing_pb2_grpc.RoutingServiceStub(channel)


@pytest_asyncio.fixture
async def doorway(demo: Routing, test_pki: Path) -> AsyncIterator[Doorway]:
    async def jwks() -> str:
        return json.dumps(KeySet([KEY]).as_dict(private=False))

    verifier = TokenVerifier(
        KeySetCache(jwks, max_age_seconds=300, min_refresh_seconds=0),
        issuer="nivaran-identity",
        audience="nivaran",
        algorithms=("ES256",),
        leeway_seconds=5,
    )
    security = ServerSecurity(workload_tls(test_pki, "routing"), Door(RULES, verifier))
    server, port, _ = await build_server([demo.binding()], "127.0.0.1", 0, security)
    found = Doorway(port, test_pki)
    try:
        yield found
    finally:
        for channel in found.channels:
            await channel.close()
        await server.stop(None)


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error: grpc.aio.AioRpcError = caught.value
    return error


async def test_B7_get_office_is_public_through_the_gateway_and_read_by_the_lifecycle(doorway: Doorway) -> None:
    request = routing_pb2.GetOfficeRequest(office_id="OFF-PAT-COLLECTORATE")
    # A visitor who has not signed in: the gateway calls on its own account, with no token.
    assert (await doorway.stub("gateway").GetOffice(request, timeout=10)).hearing_weekday == WEDNESDAY
    assert (await doorway.stub("gateway").GetOffice(request, metadata=bearer(CITIZEN), timeout=10)).id
    assert (await doorway.stub("sla-worker").GetOffice(request, timeout=10)).hearing_weekday == WEDNESDAY
    for workload in ("intake", "notify", "stranger"):
        error = await refused(doorway.stub(workload).GetOffice(request, timeout=10))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, workload


async def test_B7_set_hearing_day_behind_the_door(doorway: Doorway) -> None:
    gateway = doorway.stub("gateway")
    request = routing_pb2.SetHearingDayRequest(office_id="OFF-FOOD-PAT", weekday=MONDAY)

    assert (await refused(gateway.SetHearingDay(request, timeout=10))).code() == grpc.StatusCode.UNAUTHENTICATED
    lifecycle = await refused(doorway.stub("sla-worker").SetHearingDay(request, metadata=bearer(DSO), timeout=10))
    assert lifecycle.code() == grpc.StatusCode.PERMISSION_DENIED
    for claims in (REVENUE_OFFICER, CITIZEN):
        error = await refused(gateway.SetHearingDay(request, metadata=bearer(claims), timeout=10))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, claims["sub"]
        assert " / " in (error.details() or "")

    by_officer = await gateway.SetHearingDay(request, metadata=bearer(DSO), timeout=10)
    assert (by_officer.id, by_officer.hearing_weekday) == ("OFF-FOOD-PAT", MONDAY)
    by_dm = await gateway.SetHearingDay(
        routing_pb2.SetHearingDayRequest(office_id="OFF-FOOD-PAT", weekday=TUESDAY), metadata=bearer(DM), timeout=10
    )
    assert by_dm.hearing_weekday == TUESDAY
    public = await gateway.GetOffice(routing_pb2.GetOfficeRequest(office_id="OFF-FOOD-PAT"), timeout=10)
    assert public.hearing_weekday == TUESDAY
    dso = await doorway.stub("sla-worker").GetPosition(
        routing_pb2.GetPositionRequest(position_id="POS-FOOD-PAT-DSO"), timeout=10
    )
    assert dso.office_hearing_weekday == TUESDAY

    bad = await refused(
        gateway.SetHearingDay(
            routing_pb2.SetHearingDayRequest(office_id="OFF-FOOD-PAT", weekday=8), metadata=bearer(DSO), timeout=10
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(bad)] == ["weekday"]
    unknown = await refused(
        gateway.SetHearingDay(
            routing_pb2.SetHearingDayRequest(office_id="OFF-NOWHERE", weekday=MONDAY), metadata=bearer(DM), timeout=10
        )
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND


async def test_B7_set_hearing_day_on_a_server_without_a_door_is_refused(stub: Stub) -> None:
    error = await refused(stub.SetHearingDay(routing_pb2.SetHearingDayRequest(office_id="OFF-FOOD-PAT", weekday=1)))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_B7_access_rules_of_the_office_rpcs() -> None:
    service = routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name
    get_office, set_day = RULES[f"/{service}/GetOffice"], RULES[f"/{service}/SetHearingDay"]

    assert {w: n.value for w, n in get_office.callers.items()} == {"gateway": "system", "sla-worker": "system"}
    assert get_office.scope == "masterdata.read"
    assert {w: n.value for w, n in set_day.callers.items()} == {"gateway": "user"}
    assert (set_day.scope, set_day.holders) == ("", frozenset())
