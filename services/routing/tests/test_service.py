"""Routing use cases on SQLite and PostgreSQL: L1 resolution (S8, S5), locations, reporting chains, listings."""

from __future__ import annotations

import pytest

from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.testing import ONE_BACKEND
from nivaran_routing.domain import RULE_DEPARTMENT_LEVEL, RULE_DISTRICT_L1, AreaLevel, Location, Position
from nivaran_routing.store import RoutingStore

from .conftest import Routing

PHULWARI = Location(
    district_code="PAT",
    subdivision_code="PAT-SADAR",
    block_code="PAT-SADAR-PHULWARI",
    panchayat_code="PAT-SADAR-PHULWARI-GONPURA",
    thana_code="PAT-PS-PHULWARI",
)


def fields(error: InvalidArgument) -> set[str]:
    return {v.field for v in error.violations}


async def test_S8_new_case_lands_with_the_departments_district_l1(demo: Routing) -> None:
    resolved = await demo.service.resolve_l1("FOOD-RATION-CARD", PHULWARI)

    assert resolved.position.id == "POS-FOOD-PAT-DSO"
    assert resolved.position.role == "L1"
    assert resolved.position.title_hi == "जिला आपूर्ति पदाधिकारी, पटना"
    assert resolved.office.id == "OFF-FOOD-PAT"
    assert resolved.department.code == "FOOD"
    assert resolved.category.default_track == "sahyog"
    assert resolved.rule == RULE_DISTRICT_L1


async def test_S8_police_cases_land_with_the_ssp_of_the_district(demo: Routing) -> None:
    resolved = await demo.service.resolve_l1("HOME-FIR-NOT-REGISTERED", Location(district_code="PAT"))

    assert resolved.position.id == "POS-HOME-PAT-SSP"
    assert resolved.category.default_track == "cspgrs"


async def test_S5_department_without_district_office_routes_to_department_level(demo: Routing) -> None:
    resolved = await demo.service.resolve_l1("IT-PORTAL-SERVICE", PHULWARI)

    assert resolved.department.has_district_office is False
    assert resolved.position.id == "POS-IT-BR-NODAL"
    assert resolved.position.level is AreaLevel.STATE
    assert resolved.rule == RULE_DEPARTMENT_LEVEL
    assert "S5" in resolved.rule


async def test_unknown_category_and_unknown_district_are_reported_together(demo: Routing) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.resolve_l1("NO-SUCH-CATEGORY", Location(district_code="XYZ"))

    assert fields(caught.value) == {"category_code", "location.district_code"}


async def test_missing_category_and_district_are_required(demo: Routing) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.resolve_l1("", Location())

    assert fields(caught.value) == {"category_code", "location.district_code"}


async def test_retired_category_is_refused_naming_its_merge_target(demo: Routing) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.resolve_l1("FOOD-KEROSENE", PHULWARI)

    [violation] = caught.value.violations
    assert violation.field == "category_code"
    assert "FOOD-PDS-SUPPLY" in violation.description


async def test_missing_l1_rule_is_a_failed_precondition_naming_department_and_district(demo: Routing) -> None:
    report = await demo.service.import_master_data(
        "yaml",
        "areas",
        "- {code: NAL, level: district, parent_code: BR-PATNA-DIV, name_en: Nalanda, name_hi: नालंदा}\n".encode(),
        dry_run=False,
    )
    assert report.errors == []

    with pytest.raises(FailedPrecondition) as caught:
        await demo.service.resolve_l1("FOOD-RATION-CARD", Location(district_code="NAL"))

    assert "FOOD" in caught.value.message
    assert "NAL" in caught.value.message


async def test_validate_location_returns_every_named_area_with_both_names(demo: Routing) -> None:
    areas = await demo.service.validate_location(PHULWARI)

    assert [a.code for a in areas] == [
        "PAT",
        "PAT-SADAR",
        "PAT-SADAR-PHULWARI",
        "PAT-SADAR-PHULWARI-GONPURA",
        "PAT-PS-PHULWARI",
    ]
    assert [a.name_hi for a in areas][:3] == ["पटना", "पटना सदर", "फुलवारी शरीफ"]


@ONE_BACKEND
@pytest.mark.parametrize(
    ("location", "field"),
    [
        (Location(), "location.district_code"),
        (Location(district_code="PAT-SADAR"), "location.district_code"),
        (Location(district_code="PAT", subdivision_code="PAT-NOWHERE"), "location.subdivision_code"),
        (Location(district_code="PAT", block_code="PAT-NOWHERE"), "location.block_code"),
        # Maner is a real block, but of the Danapur sub-division.
        (
            Location(district_code="PAT", subdivision_code="PAT-SADAR", block_code="PAT-DANAPUR-MANER"),
            "location.block_code",
        ),
        # Gonpura is a panchayat of Phulwari Sharif, not of Maner.
        (
            Location(district_code="PAT", block_code="PAT-DANAPUR-MANER", panchayat_code="PAT-SADAR-PHULWARI-GONPURA"),
            "location.panchayat_code",
        ),
        (Location(district_code="PAT", panchayat_code="PAT-DANAPUR-MANER"), "location.panchayat_code"),
        (Location(district_code="PAT", thana_code="PAT-PS-NOWHERE"), "location.thana_code"),
        (Location(state_code="UP", district_code="PAT"), "location.state_code"),
    ],
)
async def test_validate_location_names_the_wrong_field(demo: Routing, location: Location, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.validate_location(location)

    assert fields(caught.value) == {field}


async def test_block_in_another_district_is_refused(demo: Routing) -> None:
    report = await demo.service.import_master_data(
        "yaml",
        "",
        """
areas:
  - {code: NAL, level: district, parent_code: BR-PATNA-DIV, name_en: Nalanda, name_hi: नालंदा}
  - {code: NAL-SADAR, level: subdivision, parent_code: NAL, name_en: Bihar Sharif, name_hi: बिहारशरीफ}
  - {code: NAL-SADAR-RAJGIR, level: block, parent_code: NAL-SADAR, name_en: Rajgir, name_hi: राजगीर}
""".encode(),
        dry_run=False,
    )
    assert report.errors == []

    with pytest.raises(InvalidArgument) as caught:
        await demo.service.validate_location(Location(district_code="PAT", block_code="NAL-SADAR-RAJGIR"))

    assert fields(caught.value) == {"location.block_code"}
    assert "PAT" in caught.value.violations[0].description


async def test_reporting_chain_runs_from_a_bdo_up_to_the_chief_secretary(demo: Routing) -> None:
    chain = await demo.service.reporting_chain("POS-RDD-PAT-SADAR-PHULWARI-BDO")

    assert [p.role for p in chain] == ["DISPOSING", "L1", "DM", "COMMISSIONER", "OSD_CS", "CHIEF_SECRETARY"]
    assert chain[0].id == "POS-RDD-PAT-SADAR-PHULWARI-BDO"
    assert chain[-1].id == "POS-BR-CS"


async def test_reporting_chain_guards_against_a_cycle(demo: Routing) -> None:
    # The loader refuses cycles, so make one behind its back, as a bad manual edit of the database would.
    async with demo.sessions() as session, session.begin():
        store = RoutingStore(session)
        cs = await store.get_position("POS-BR-CS")
        assert cs is not None
        await store.update_records("positions", [_reporting_to(cs, "POS-PAT-DM")])

    with pytest.raises(FailedPrecondition) as caught:
        await demo.service.reporting_chain("POS-RDD-PAT-DDC")

    assert "loops" in caught.value.message


def _reporting_to(position: Position, superior: str) -> Position:
    from dataclasses import replace

    return replace(position, reports_to_position_id=superior)


async def test_unknown_or_missing_position(demo: Routing) -> None:
    with pytest.raises(NotFound):
        await demo.service.reporting_chain("POS-NOBODY")
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.get_position("")
    assert fields(caught.value) == {"position_id"}


async def test_listings(demo: Routing) -> None:
    departments = await demo.service.list_departments()
    assert [d.code for d in departments] == ["EDU", "FOOD", "HEALTH", "HOME", "IT", "RDD", "REV"]
    assert [d.code for d in departments if not d.has_district_office] == ["IT"]

    food = await demo.service.list_categories("FOOD", include_retired=False)
    assert [c.code for c in food] == ["FOOD-OTHER", "FOOD-PDS-SUPPLY", "FOOD-RATION-CARD"]
    with_retired = await demo.service.list_categories("FOOD", include_retired=True)
    assert "FOOD-KEROSENE" in {c.code for c in with_retired}
    with pytest.raises(InvalidArgument):
        await demo.service.list_categories("NOPE", include_retired=False)

    blocks = await demo.service.list_areas("", AreaLevel.BLOCK)
    assert len(blocks) == 23
    danapur = await demo.service.list_areas("PAT-DANAPUR", None)
    assert {a.name_en for a in danapur} == {"Danapur", "Maner", "Bihta", "Naubatpur"}


async def test_get_category_returns_retired_ones_and_not_found(demo: Routing) -> None:
    kerosene = await demo.service.get_category("FOOD-KEROSENE")
    assert kerosene.retired
    assert kerosene.merged_into_code == "FOOD-PDS-SUPPLY"
    rts = await demo.service.get_category("REV-CERTIFICATE-DELAY")
    assert (rts.default_track, rts.service_time_limit_days) == ("rts_auto_appeal", 21)
    with pytest.raises(NotFound):
        await demo.service.get_category("NOPE")


async def test_rows_out_of_force_are_ignored(demo: Routing) -> None:
    # A panchayat abolished (merged into a municipality) before today is no longer a valid location.
    report = await demo.service.import_master_data(
        "csv",
        "areas",
        (
            "code,level,parent_code,name_en,name_hi,valid_to\n"
            "PAT-SADAR-PHULWARI-PARSA,panchayat,PAT-SADAR-PHULWARI,Parsa,परसा,2026-01-01\n"
        ).encode(),
        dry_run=False,
    )
    assert report.errors == []
    assert report.counts["areas"].updated == 1

    with pytest.raises(InvalidArgument) as caught:
        await demo.service.validate_location(Location(district_code="PAT", panchayat_code="PAT-SADAR-PHULWARI-PARSA"))
    assert fields(caught.value) == {"location.panchayat_code"}
    remaining = await demo.service.list_areas("PAT-SADAR-PHULWARI", None)
    assert "PAT-SADAR-PHULWARI-PARSA" not in {a.code for a in remaining}
