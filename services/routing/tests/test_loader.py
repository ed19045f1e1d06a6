"""The master-data loader: YAML and CSV folders, per-row error reports, idempotent reloads, the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nivaran_common.errors import InvalidArgument, NotFound
from nivaran_routing.domain import Location, RowError
from nivaran_routing.main import load_seed
from nivaran_routing.store import RoutingStore

from .conftest import DEMO, Routing, write

CSV_TABLES = {
    "departments.csv": (
        "code,name_en,name_hi,has_district_office\n"
        "FOOD,Food and Consumer Protection Department,खाद्य एवं उपभोक्ता संरक्षण विभाग,true\n"
    ),
    # The child comes before its parent on purpose: the loader orders inserts itself.
    "areas.csv": (
        "code,level,parent_code,name_en,name_hi\n"
        "PAT,district,BR,Patna,पटना\n"
        "BR,state,,Bihar,बिहार\n"
        "PAT-DANAPUR,subdivision,PAT,Danapur,दानापुर\n"
    ),
    "offices.csv": (
        "id,department_code,name_en,name_hi,area_code\n"
        'OFF-FOOD-PAT,FOOD,"District Supply Office, Patna","जिला आपूर्ति कार्यालय, पटना",PAT\n'
    ),
    "positions.csv": (
        "id,office_id,title_en,title_hi,role,reports_to_position_id\n"
        'POS-FOOD-PAT-MO,OFF-FOOD-PAT,"Marketing Officer, Danapur","आपूर्ति निरीक्षक, दानापुर",DISPOSING,POS-FOOD-PAT-DSO\n'
        'POS-FOOD-PAT-DSO,OFF-FOOD-PAT,"District Supply Officer, Patna","जिला आपूर्ति पदाधिकारी, पटना",L1,\n'
    ),
    "categories.csv": (
        "code,department_code,name_en,name_hi,default_track,is_other,service_time_limit_days\n"
        "FOOD-RATION-CARD,FOOD,Ration card,राशन कार्ड,rts_auto_appeal,false,30\n"
        "FOOD-OTHER,FOOD,Other,अन्य,sahyog,true,\n"
    ),
    "l1_rules.csv": "department_code,area_code,position_id\nFOOD,PAT,POS-FOOD-PAT-DSO\n",
}


def errors_at(errors: list[RowError]) -> set[tuple[str, int, str]]:
    return {(e.source, e.row, e.field) for e in errors}


async def test_demo_data_loads_without_errors_and_a_reload_changes_nothing(routing: Routing) -> None:
    first = await routing.service.loader.load_folder(DEMO)
    assert first.errors == []
    assert first.counts["areas"].inserted > 50
    assert first.rows_accepted == sum(c.inserted for c in first.counts.values())
    async with routing.sessions() as session:
        before = await RoutingStore(session).snapshot()

    second = await routing.service.loader.load_folder(DEMO)

    assert second.errors == []
    assert all(c.inserted == 0 and c.updated == 0 for c in second.counts.values())
    assert sum(c.unchanged for c in second.counts.values()) == first.rows_accepted
    async with routing.sessions() as session:
        assert await RoutingStore(session).snapshot() == before


async def test_csv_folder_loads_every_table_and_reloads_unchanged(routing: Routing, tmp_path: Path) -> None:
    for name, text in CSV_TABLES.items():
        write(tmp_path, name, text)

    first = await routing.service.loader.load_folder(tmp_path)
    again = await routing.service.loader.load_folder(tmp_path)

    assert first.errors == []
    assert {t: c.inserted for t, c in first.counts.items()} == {
        "departments": 1,
        "areas": 3,
        "offices": 1,
        "positions": 2,
        "categories": 2,
        "l1_rules": 1,
    }
    assert sum(c.unchanged for c in again.counts.values()) == 10
    resolved = await routing.service.resolve_l1("FOOD-RATION-CARD", Location(district_code="PAT"))
    assert resolved.position.id == "POS-FOOD-PAT-DSO"
    assert resolved.category.service_time_limit_days == 30
    assert (await routing.service.get_position("POS-FOOD-PAT-MO")).level.value == "district"


async def test_bad_csv_rows_are_reported_by_line_and_column_and_nothing_is_written(
    routing: Routing, tmp_path: Path
) -> None:
    for name, text in CSV_TABLES.items():
        write(tmp_path, name, text)
    write(
        tmp_path,
        "positions.csv",
        "id,office_id,title_en,title_hi,role,reports_to_position_id\n"
        "POS-FOOD-PAT-DSO,OFF-FOOD-PAT,District Supply Officer,जिला आपूर्ति पदाधिकारी,L1,\n"
        "POS-X,OFF-NOWHERE,Somebody,कोई,DISPOSING,\n"
        "POS-Y,OFF-FOOD-PAT,Somebody,Somebody,director,POS-NOBODY\n",
    )

    report = await routing.service.loader.load_folder(tmp_path)

    assert errors_at(report.errors) == {
        ("positions.csv", 3, "positions.office_id"),
        ("positions.csv", 4, "positions.title_hi"),
        ("positions.csv", 4, "positions.role"),
    }
    assert report.rows_accepted == 0
    office_error = next(e for e in report.errors if e.field == "positions.office_id")
    assert "OFF-NOWHERE" in office_error.message
    async with routing.sessions() as session:
        assert (await RoutingStore(session).snapshot()).areas == {}


async def test_bad_yaml_rows_are_reported_by_line(routing: Routing, tmp_path: Path) -> None:
    write(
        tmp_path,
        "areas.yaml",
        """areas:
  - {code: BR, level: state, name_en: Bihar, name_hi: बिहार}
  - code: PAT
    level: county
    parent_code: BR
    name_en: Patna
    name_hi: पटना
  - {code: PAT-X, level: subdivision, parent_code: BR, name_en: X, name_hi: एक्स}
  - {code: BR, level: state, name_en: Bihar again, name_hi: बिहार, colour: red}
""",
    )

    report = await routing.service.loader.load_folder(tmp_path)

    assert errors_at(report.errors) == {
        ("areas.yaml", 3, "areas.level"),
        ("areas.yaml", 8, "areas.parent_code"),
        ("areas.yaml", 9, "areas.colour"),
    }


async def test_yaml_files_hold_several_tables_or_a_bare_list_named_after_its_table(
    routing: Routing, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "bihar.yaml",
        "departments:\n  - {code: IT, name_en: IT, name_hi: सूचना प्रावैधिकी, has_district_office: no}\n"
        "areas:\n  - {code: BR, level: state, name_en: Bihar, name_hi: बिहार}\n",
    )
    write(tmp_path, "areas.yml", "- {code: PAT, level: district, parent_code: BR, name_en: Patna, name_hi: पटना}\n")

    report = await routing.service.loader.load_folder(tmp_path)

    assert report.errors == []
    assert (report.counts["departments"].inserted, report.counts["areas"].inserted) == (1, 2)
    write(tmp_path, "notes.yaml", "- a list, but notes is no table\n")
    assert errors_at((await routing.service.loader.load_folder(tmp_path)).errors) == {("notes.yaml", 1, "")}
    upload = await routing.service.import_master_data("yaml", "areas", b"departments: []\n", dry_run=True)
    assert [e.field for e in upload.errors] == ["departments"]


async def test_duplicates_cycles_and_wrong_departments_are_refused(demo: Routing) -> None:
    report = await demo.service.import_master_data(
        "yaml",
        "",
        """
positions:
  - {id: POS-A, office_id: OFF-FOOD-PAT, role: DISPOSING, reports_to_position_id: POS-B, title_en: A, title_hi: अ}
  - {id: POS-B, office_id: OFF-FOOD-PAT, role: DISPOSING, reports_to_position_id: POS-A, title_en: B, title_hi: ब}
  - {id: POS-B, office_id: OFF-FOOD-PAT, role: DISPOSING, title_en: B, title_hi: ब}
l1_rules:
  - {department_code: REV, area_code: PAT, position_id: POS-FOOD-PAT-DSO}
categories:
  - {code: FOOD-NEW, department_code: FOOD, default_track: rts_auto_appeal, name_en: New, name_hi: नया}
""".encode(),
        dry_run=False,
    )

    by_field = {e.field for e in report.errors}
    assert by_field == {
        "positions.reports_to_position_id",
        "positions",
        "l1_rules.position_id",
        "categories.service_time_limit_days",
    }
    assert report.rows_accepted == 0
    assert (await demo.service.get_position("POS-FOOD-PAT-DSO")).reports_to_position_id == "POS-PAT-DM"


async def test_dry_run_counts_changes_but_writes_nothing(demo: Routing) -> None:
    content = (
        "code,department_code,name_en,name_hi,default_track\n"
        "FOOD-RATION-CARD,FOOD,Ration card,राशन कार्ड,sahyog\n"
        "FOOD-FAIR-PRICE-SHOP,FOOD,Fair price shop conduct,जन वितरण दुकान का आचरण,sahyog\n"
    ).encode()

    dry = await demo.service.import_master_data("csv", "categories", content, dry_run=True)
    assert dry.errors == []
    assert (dry.counts["categories"].inserted, dry.counts["categories"].updated) == (1, 1)
    assert dry.rows_accepted == 2
    assert (await demo.service.get_category("FOOD-RATION-CARD")).name_en == "Ration card (new, correction, members)"

    applied = await demo.service.import_master_data("csv", "categories", content, dry_run=False)
    assert applied.errors == []
    assert (await demo.service.get_category("FOOD-RATION-CARD")).name_en == "Ration card"
    assert (await demo.service.get_category("FOOD-FAIR-PRICE-SHOP")).department_code == "FOOD"


@pytest.mark.parametrize(
    ("fmt", "table", "content", "field"),
    [
        ("xml", "areas", b"<areas/>", "format"),
        ("csv", "", b"code\n", "table"),
        ("csv", "people", b"code\n", "table"),
        ("yaml", "", b"", "content"),
        ("csv", "areas", b"\xff\xfe\x00bad", "content"),
    ],
)
async def test_unusable_uploads_are_invalid_arguments(
    routing: Routing, fmt: str, table: str, content: bytes, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await routing.service.import_master_data(fmt, table, content, dry_run=False)

    assert {v.field for v in caught.value.violations} == {field}


async def test_unparseable_yaml_is_a_row_error_with_its_line(routing: Routing) -> None:
    report = await routing.service.import_master_data("yaml", "", b"areas:\n  - {code: BR\n  - x: [\n", dry_run=False)

    assert len(report.errors) == 1
    assert report.errors[0].row >= 2
    assert "YAML" in report.errors[0].message


async def test_seed_folder_at_startup_loads_or_refuses(routing: Routing, tmp_path: Path) -> None:
    report = await load_seed(routing.service, DEMO)
    assert report.errors == []
    assert len(await routing.service.list_departments()) == 7

    write(tmp_path, "departments.yaml", "departments:\n  - {code: X, name_en: X, name_hi: X}\n")
    with pytest.raises(SystemExit):
        await load_seed(routing.service, tmp_path)


def test_cli_loads_the_demo_folder_and_exits_non_zero_on_errors(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'routing.db'}"
    command = [sys.executable, "-m", "nivaran_routing.load"]

    ok = subprocess.run([*command, str(DEMO), "--database-url", url], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "l1_rules" in ok.stdout
    assert re.search(r"departments\s+7\s+0\s+0", ok.stdout)

    bad = tmp_path / "bad"
    write(bad, "l1_rules.csv", "department_code,area_code,position_id\nFOOD,PAT,POS-NOBODY\n")
    failed = subprocess.run([*command, str(bad), "--database-url", url], capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "l1_rules.csv:2 l1_rules.position_id" in failed.stdout

    missing = subprocess.run(
        [*command, str(tmp_path / "nope"), "--database-url", url], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2


async def test_B7_hearing_weekday_takes_a_number_or_an_english_day_name(demo: Routing) -> None:
    spellings = ["wednesday", "Wed", "THURS", "7", "1", " sun ", "friday", "Tue", ""]
    content = "id,department_code,name_en,name_hi,area_code,hearing_weekday\n" + "".join(
        f"OFF-FOOD-PAT-T{i},FOOD,Test office {i},परीक्षण कार्यालय {i},PAT,{day}\n" for i, day in enumerate(spellings)
    )

    report = await demo.service.import_master_data("csv", "offices", content.encode(), dry_run=False)

    assert report.errors == []
    days = [(await demo.offices.get_office(f"OFF-FOOD-PAT-T{i}")).hearing_weekday for i in range(len(spellings))]
    assert days == [3, 3, 4, 7, 1, 7, 5, 2, None]


async def test_B7_a_bad_hearing_weekday_is_a_row_error_naming_the_column(demo: Routing) -> None:
    report = await demo.service.import_master_data(
        "yaml",
        "offices",
        """offices:
  - {id: OFF-A, department_code: FOOD, area_code: PAT, name_en: A, name_hi: अ, hearing_weekday: 0}
  - {id: OFF-B, department_code: FOOD, area_code: PAT, name_en: B, name_hi: ब, hearing_weekday: 8}
  - {id: OFF-C, department_code: FOOD, area_code: PAT, name_en: C, name_hi: स, hearing_weekday: someday}
  - {id: OFF-D, department_code: FOOD, area_code: PAT, name_en: D, name_hi: द, hearing_weekday: we}
  - {id: OFF-E, department_code: FOOD, area_code: PAT, name_en: E, name_hi: ई, hearing_weekday: true}
  - {id: OFF-F, department_code: FOOD, area_code: PAT, name_en: F, name_hi: फ, hearing_weekday: wednesday}
""".encode(),
        dry_run=False,
    )

    assert [(e.row, e.field) for e in report.errors] == [(row, "offices.hearing_weekday") for row in (2, 3, 4, 5, 6)]
    assert all("1-7" in e.message and " / " in e.message for e in report.errors)
    assert report.rows_accepted == 0
    with pytest.raises(NotFound):
        await demo.offices.get_office("OFF-F")
