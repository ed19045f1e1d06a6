"""Jurisdiction and position look-ups on SQLite and PostgreSQL: subordinates of a post, positions by role and area."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nivaran_common.errors import InvalidArgument, NotFound
from nivaran_routing.store import RoutingStore

from .conftest import Routing

PATNA_DM = "POS-PAT-DM"
PHULWARI_BLOCK_OFFICERS = {
    "POS-RDD-PAT-SADAR-PHULWARI-BDO",
    "POS-REV-PAT-SADAR-PHULWARI-CO",
    "POS-FOOD-PAT-SADAR-PHULWARI-BSO",
    "POS-HEALTH-PAT-SADAR-PHULWARI-MOIC",
    "POS-EDU-PAT-SADAR-PHULWARI-BEO",
}


async def test_subordinate_positions_of_the_patna_dm_include_the_block_officers(demo: Routing) -> None:
    below = await demo.service.subordinate_positions(PATNA_DM)
    ids = [p.id for p in below]

    assert set(ids) >= PHULWARI_BLOCK_OFFICERS
    assert {"POS-RDD-PAT-DANAPUR-MANER-BDO", "POS-HOME-PAT-PS-MANER-SHO", "POS-REV-PAT-DANAPUR-SDO"} <= set(ids)
    # Nearest first: the district L1 officers and the PGRO report to the DM directly, before anyone below them.
    direct = {p.id for p in below if p.reports_to_position_id == PATNA_DM}
    assert direct == {
        "POS-PAT-PGRO",
        "POS-REV-PAT-ADDL-COLLECTOR",
        "POS-RDD-PAT-DDC",
        "POS-HOME-PAT-SSP",
        "POS-FOOD-PAT-DSO",
        "POS-HEALTH-PAT-CIVIL-SURGEON",
        "POS-EDU-PAT-DEO",
    }
    assert set(ids[: len(direct)]) == direct
    # Neither the DM, nor anyone above or beside the district's chain.
    assert PATNA_DM not in ids
    assert not {"POS-PATNA-DIV-COMMISSIONER", "POS-BR-CS", "POS-IT-BR-NODAL", "POS-FOOD-BR-SECRETARY"} & set(ids)
    assert len(ids) == len(set(ids))
    bdo = next(p for p in below if p.id == "POS-RDD-PAT-SADAR-PHULWARI-BDO")
    assert (bdo.office_name_en, bdo.office_name_hi) == ("Block Office, Phulwari Sharif", "प्रखंड कार्यालय, फुलवारी शरीफ")


async def test_subordinate_positions_of_the_chief_secretary_is_everyone_else(demo: Routing) -> None:
    below = await demo.service.subordinate_positions("POS-BR-CS")
    async with demo.sessions() as session:
        everyone = await RoutingStore(session).snapshot()

    assert {p.id for p in below} == {key[0] for key in everyone.positions} - {"POS-BR-CS"}
    assert await demo.service.subordinate_positions("POS-RDD-PAT-SADAR-PHULWARI-BDO") == []


async def test_subordinate_positions_survive_a_reporting_loop(demo: Routing) -> None:
    # The loader refuses loops, so make one behind its back, as a bad manual edit of the database would.
    async with demo.sessions() as session, session.begin():
        store = RoutingStore(session)
        cs = await store.get_position("POS-BR-CS")
        assert cs is not None
        await store.update_records("positions", [replace(cs, reports_to_position_id="POS-RDD-PAT-SADAR-PHULWARI-BDO")])

    below = await demo.service.subordinate_positions(PATNA_DM)

    ids = [p.id for p in below]
    assert "POS-BR-CS" in ids  # now below the BDO, so below the DM
    assert PATNA_DM not in ids
    assert len(ids) == len(set(ids))


async def test_subordinate_positions_of_an_unknown_or_missing_position(demo: Routing) -> None:
    with pytest.raises(NotFound):
        await demo.service.subordinate_positions("POS-NOBODY")
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.subordinate_positions("")
    assert [v.field for v in caught.value.violations] == ["position_id"]


async def test_list_positions_finds_the_dm_of_a_district(demo: Routing) -> None:
    found = await demo.service.list_positions("DM", "PAT", "")

    assert [(p.id, p.title_hi) for p in found] == [(PATNA_DM, "जिलाधिकारी, पटना")]
    assert found[0].office_name_en == "Collectorate, Patna"


async def test_list_positions_by_area_includes_the_areas_below_it(demo: Routing) -> None:
    in_patna = {p.id for p in await demo.service.list_positions("DISPOSING", "PAT", "")}
    in_phulwari = {p.id for p in await demo.service.list_positions("DISPOSING", "PAT-SADAR-PHULWARI", "")}
    rdd_in_patna = {p.id for p in await demo.service.list_positions("", "PAT", "RDD")}
    in_bihar = await demo.service.list_positions("l1", "BR", "")

    assert in_phulwari == PHULWARI_BLOCK_OFFICERS
    # A district finds its block officers, its sub-divisional officers, and its thanas (under the police district).
    assert in_phulwari | {"POS-HOME-PAT-PS-MANER-SHO", "POS-REV-PAT-SADAR-SDO"} <= in_patna
    assert rdd_in_patna == {"POS-RDD-PAT-DDC", "POS-RDD-PAT-SADAR-PHULWARI-BDO", "POS-RDD-PAT-DANAPUR-MANER-BDO"}
    assert {p.role for p in in_bihar} == {"L1"}
    assert "POS-IT-BR-NODAL" in {p.id for p in in_bihar}
    assert await demo.service.list_positions("DM", "PAT-DANAPUR", "") == []


async def test_list_positions_leaves_out_posts_no_longer_in_force(demo: Routing) -> None:
    report = await demo.service.import_master_data(
        "csv",
        "positions",
        (
            "id,office_id,role,reports_to_position_id,title_en,title_hi,valid_to\n"
            "POS-PAT-ADM,OFF-PAT-COLLECTORATE,DM,POS-PATNA-DIV-COMMISSIONER,Old DM post,पुराना पद,2026-01-01\n"
        ).encode(),
        dry_run=False,
    )
    assert report.errors == []

    assert [p.id for p in await demo.service.list_positions("DM", "PAT", "")] == [PATNA_DM]


@pytest.mark.parametrize(
    ("role", "area_code", "department_code", "field"),
    [
        ("", "NOWHERE", "", "area_code"),
        ("", "", "NOPE", "department_code"),
        ("not a role!", "", "", "role"),
    ],
)
async def test_list_positions_bad_filters_name_the_field(
    demo: Routing, role: str, area_code: str, department_code: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.list_positions(role, area_code, department_code)

    assert [v.field for v in caught.value.violations] == [field]
