"""The demo master data in data/demo: loads cleanly, is real Patna geography, and routes every category (S8, S5)."""

from __future__ import annotations

import re

import grpc

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.grpc_server import build_server
from nivaran_routing.store import RoutingStore

from .conftest import DEMO, Routing

DEVANAGARI = re.compile(r"[\u0900-\u097F]")

# Patna district: 6 sub-divisions, 23 blocks.
BLOCKS_BY_SUBDIVISION = {
    "PAT-SADAR": {"Patna Sadar", "Sampatchak", "Phulwari Sharif"},
    "PAT-CITY": {"Fatuha", "Daniyawan", "Khusrupur"},
    "PAT-BARH": {"Barh", "Athmalgola", "Belchhi", "Bakhtiyarpur", "Mokama", "Pandarak", "Ghoswari"},
    "PAT-DANAPUR": {"Danapur", "Maner", "Bihta", "Naubatpur"},
    "PAT-MASAURHI": {"Masaurhi", "Dhanarua", "Punpun"},
    "PAT-PALIGANJ": {"Paliganj", "Dulhin Bazar", "Bikram"},
}


async def test_S8_S5_demo_data_loads_and_every_category_resolves_to_an_l1_in_patna(routing: Routing) -> None:
    report = await routing.service.loader.load_folder(DEMO)
    assert report.errors == []

    server, port, _ = await build_server([routing.binding()], "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = routing_pb2_grpc.RoutingServiceStub(channel)
            categories = (await stub.ListCategories(routing_pb2.ListCategoriesRequest())).categories
            assert len(categories) >= 14
            routed = {}
            for category in categories:
                response = await stub.ResolveL1(
                    routing_pb2.ResolveL1Request(
                        category_code=category.code, location=common_pb2.Location(district_code="PAT")
                    )
                )
                assert response.position.role == "L1"
                assert response.position.department_code == category.department_code
                routed[category.code] = (response.position.id, response.rule)
    finally:
        await server.stop(None)

    assert routed["REV-MUTATION"] == ("POS-REV-PAT-ADDL-COLLECTOR", "district L1 (S8)")
    assert routed["IT-OTHER"] == ("POS-IT-BR-NODAL", "department level: no district office (S5)")


async def test_demo_geography_is_patna_with_its_sub_divisions_and_blocks(demo: Routing) -> None:
    subdivisions = await demo.service.list_areas("PAT", None)
    assert {a.code for a in subdivisions} == {*BLOCKS_BY_SUBDIVISION, "PAT-POLICE"}
    for code, names in BLOCKS_BY_SUBDIVISION.items():
        assert {a.name_en for a in await demo.service.list_areas(code, None)} == names, code
    assert sum(len(n) for n in BLOCKS_BY_SUBDIVISION.values()) == 23
    panchayat_blocks = {a.parent_code for a in await demo.service.list_areas("", None) if a.level.value == "panchayat"}
    assert len(panchayat_blocks) >= 2


async def test_demo_data_is_bilingual_and_complete(demo: Routing) -> None:
    async with demo.sessions() as session:
        data = await RoutingStore(session).snapshot()

    hindi = [a.name_hi for a in data.areas.values()] + [p.title_hi for p in data.positions.values()]
    hindi += [c.name_hi for c in data.categories.values()] + [o.name_hi for o in data.offices.values()]
    assert all(DEVANAGARI.search(text) for text in hindi)

    departments = list(data.departments.values())
    assert len(departments) >= 6
    assert sum(not d.has_district_office for d in departments) == 1
    for department in departments:
        mine = [c for c in data.categories.values() if c.department_code == department.code and not c.retired]
        assert 2 <= len(mine) <= 4, department.code
        assert sum(c.is_other for c in mine) == 1, department.code
    tracks = {c.default_track for c in data.categories.values()}
    assert {"sahyog", "cspgrs", "bpgra", "rts_auto_appeal"} <= tracks

    roles = {p.role for p in data.positions.values()}
    assert {"L1", "DISPOSING", "DM", "COMMISSIONER", "SECRETARY", "OSD_CS", "CHIEF_SECRETARY"} <= roles
    for position in data.positions.values():
        chain = await demo.service.reporting_chain(position.id)
        assert chain[-1].role == "CHIEF_SECRETARY", position.id
