"""Department-owned category taxonomies (H4) on SQLite and PostgreSQL: who may change them, and their history."""

from __future__ import annotations

import pytest

from nivaran_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.testing import ONE_BACKEND
from nivaran_routing.domain import Actor, Category, CategoryChange, Location

from .conftest import DEMO, Routing

FOOD_SECRETARY = Actor(account_id="acc-food-secretary", role="SECRETARY", position_id="POS-FOOD-BR-SECRETARY")
REV_SECRETARY = Actor(account_id="acc-rev-secretary", role="SECRETARY", position_id="POS-REV-BR-SECRETARY")
PATNA = Location(district_code="PAT")


def lpg(**changes: object) -> Category:
    values: dict[str, object] = {
        "code": "FOOD-LPG-SUBSIDY",
        "department_code": "FOOD",
        "name_en": "LPG subsidy not received",
        "name_hi": "एलपीजी सब्सिडी नहीं मिली",
        "default_track": "sahyog",
    }
    values.update(changes)
    return Category(**values)  # type: ignore[arg-type]


def fields(error: InvalidArgument) -> list[str]:
    return [v.field for v in error.violations]


async def test_H4_secretary_creates_renames_merges_retires_categories(demo: Routing) -> None:
    service = demo.service

    created = await service.create_category(lpg(), FOOD_SECRETARY)
    assert (created.code, created.retired, created.is_other) == ("FOOD-LPG-SUBSIDY", False, False)
    assert "FOOD-LPG-SUBSIDY" in {c.code for c in await service.list_categories("FOOD", include_retired=False)}
    routed = await service.resolve_l1("FOOD-LPG-SUBSIDY", PATNA)
    assert routed.position.id == "POS-FOOD-PAT-DSO"

    renamed = await service.rename_category(
        "FOOD-LPG-SUBSIDY", "LPG cylinder subsidy not credited", "एलपीजी सिलेंडर सब्सिडी जमा नहीं हुई", FOOD_SECRETARY
    )
    assert (renamed.name_en, renamed.name_hi) == ("LPG cylinder subsidy not credited", "एलपीजी सिलेंडर सब्सिडी जमा नहीं हुई")
    assert (await service.get_category("FOOD-LPG-SUBSIDY")).name_en == "LPG cylinder subsidy not credited"
    # Renaming to the same names again is a retry: nothing new is recorded.
    await service.rename_category(
        "FOOD-LPG-SUBSIDY", "LPG cylinder subsidy not credited", "एलपीजी सिलेंडर सब्सिडी जमा नहीं हुई", FOOD_SECRETARY
    )

    target = await service.merge_categories(["FOOD-LPG-SUBSIDY"], "FOOD-PDS-SUPPLY", FOOD_SECRETARY)
    assert (target.code, target.retired) == ("FOOD-PDS-SUPPLY", False)
    merged = await service.get_category("FOOD-LPG-SUBSIDY")
    assert (merged.retired, merged.merged_into_code) == (True, "FOOD-PDS-SUPPLY")
    with pytest.raises(InvalidArgument) as refused:
        await service.resolve_l1("FOOD-LPG-SUBSIDY", PATNA)
    assert "FOOD-PDS-SUPPLY" in refused.value.violations[0].description

    # The rename did not lose the earlier name: each version is closed when the next one opens.
    history = await service.category_history("FOOD-LPG-SUBSIDY")
    assert [(v.version, v.change, v.name_en) for v in history] == [
        (1, CategoryChange.CREATED, "LPG subsidy not received"),
        (2, CategoryChange.RENAMED, "LPG cylinder subsidy not credited"),
        (3, CategoryChange.MERGED, "LPG cylinder subsidy not credited"),
    ]
    assert history[0].name_hi == "एलपीजी सब्सिडी नहीं मिली"
    assert all(v.valid_from is not None for v in history)
    assert [v.valid_to is None for v in history] == [False, False, True]
    assert history[0].valid_to == history[1].valid_from
    assert history[1].valid_to == history[2].valid_from
    assert {v.changed_by_position_id for v in history} == {"POS-FOOD-BR-SECRETARY"}
    assert history[2].merged_into_code == "FOOD-PDS-SUPPLY"

    await service.create_category(
        lpg(code="FOOD-DOORSTEP", name_en="Doorstep delivery", name_hi="घर तक वितरण"), FOOD_SECRETARY
    )
    retired = await service.retire_category("FOOD-DOORSTEP", FOOD_SECRETARY)
    assert (retired.retired, retired.merged_into_code) == (True, None)
    assert await service.retire_category("FOOD-DOORSTEP", FOOD_SECRETARY) == retired  # a retry changes nothing
    assert "FOOD-DOORSTEP" not in {c.code for c in await service.list_categories("FOOD", include_retired=False)}
    with pytest.raises(InvalidArgument):
        await service.resolve_l1("FOOD-DOORSTEP", PATNA)
    assert [v.change for v in await service.category_history("FOOD-DOORSTEP")] == [
        CategoryChange.CREATED,
        CategoryChange.RETIRED,
    ]


async def test_H4_merging_a_merge_target_moves_earlier_merges_along(demo: Routing) -> None:
    # FOOD-KEROSENE (demo data) was merged into FOOD-PDS-SUPPLY before Nivaran kept category history.
    await demo.service.merge_categories(["FOOD-PDS-SUPPLY"], "FOOD-RATION-CARD", FOOD_SECRETARY)

    kerosene = await demo.service.get_category("FOOD-KEROSENE")
    assert kerosene.merged_into_code == "FOOD-RATION-CARD"
    with pytest.raises(InvalidArgument) as refused:
        await demo.service.resolve_l1("FOOD-KEROSENE", PATNA)
    assert "FOOD-RATION-CARD" in refused.value.violations[0].description
    history = await demo.service.category_history("FOOD-KEROSENE")
    assert [(v.change, v.merged_into_code) for v in history] == [
        (CategoryChange.IMPORTED, "FOOD-PDS-SUPPLY"),
        (CategoryChange.REPOINTED, "FOOD-RATION-CARD"),
    ]
    assert history[0].valid_to == history[1].valid_from
    # A retried merge changes nothing.
    again = await demo.service.merge_categories(["FOOD-PDS-SUPPLY"], "FOOD-RATION-CARD", FOOD_SECRETARY)
    assert again.code == "FOOD-RATION-CARD"
    assert len(await demo.service.category_history("FOOD-PDS-SUPPLY")) == 2


@pytest.mark.parametrize(
    "actor",
    [
        REV_SECRETARY,
        # The L1 of the department claiming the secretary's role: the post says otherwise.
        Actor(account_id="acc-dso", role="SECRETARY", position_id="POS-FOOD-PAT-DSO"),
        # The secretary's post, but not signed in as the secretary.
        Actor(account_id="acc-x", role="L1", position_id="POS-FOOD-BR-SECRETARY"),
        Actor(account_id="acc-y", role="SECRETARY", position_id=""),
        Actor(account_id="acc-z", role="SECRETARY", position_id="POS-NOBODY"),
    ],
)
async def test_H4_other_department_secretary_is_denied(demo: Routing, actor: Actor) -> None:
    service = demo.service

    with pytest.raises(PermissionDenied) as denied:
        await service.create_category(lpg(), actor)
    assert "FOOD" in denied.value.message
    with pytest.raises(PermissionDenied):
        await service.rename_category("FOOD-RATION-CARD", "Ration card", "राशन कार्ड", actor)
    with pytest.raises(PermissionDenied):
        await service.merge_categories(["FOOD-RATION-CARD"], "FOOD-PDS-SUPPLY", actor)
    with pytest.raises(PermissionDenied):
        await service.retire_category("FOOD-RATION-CARD", actor)

    with pytest.raises(NotFound):
        await service.get_category("FOOD-LPG-SUBSIDY")
    ration = await service.get_category("FOOD-RATION-CARD")
    assert (ration.name_en, ration.retired) == ("Ration card (new, correction, members)", False)
    assert await service.category_history("FOOD-RATION-CARD") == []


async def test_H4_other_category_cannot_be_retired(demo: Routing) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        await demo.service.retire_category("FOOD-OTHER", FOOD_SECRETARY)
    assert "every department keeps one" in caught.value.message
    with pytest.raises(FailedPrecondition):
        await demo.service.merge_categories(["FOOD-OTHER"], "FOOD-PDS-SUPPLY", FOOD_SECRETARY)
    with pytest.raises(AlreadyExists) as second:
        await demo.service.create_category(
            lpg(code="FOOD-OTHER-2", name_en="Other 2", name_hi="अन्य 2", is_other=True), FOOD_SECRETARY
        )
    assert "FOOD-OTHER" in second.value.message

    other = await demo.service.get_category("FOOD-OTHER")
    assert (other.is_other, other.retired) == (True, False)
    # The Other category can still be renamed.
    renamed = await demo.service.rename_category("FOOD-OTHER", "Other (Food)", "अन्य (खाद्य)", FOOD_SECRETARY)
    assert renamed.is_other


async def test_H4_codes_and_names_are_unique(demo: Routing) -> None:
    with pytest.raises(AlreadyExists):
        await demo.service.create_category(lpg(code="FOOD-RATION-CARD"), FOOD_SECRETARY)
    # Retired codes stay taken: old cases still name them.
    with pytest.raises(AlreadyExists):
        await demo.service.create_category(lpg(code="FOOD-KEROSENE"), FOOD_SECRETARY)
    # Live names of the department compare without regard to case.
    with pytest.raises(AlreadyExists):
        await demo.service.create_category(lpg(name_en="RATION CARD (new, correction, members)"), FOOD_SECRETARY)
    with pytest.raises(AlreadyExists):
        await demo.service.create_category(lpg(name_hi="राशन कार्ड (नया, सुधार, सदस्य)"), FOOD_SECRETARY)

    # Another department's name, and a retired category's name, are free to use.
    meal = await demo.service.create_category(
        lpg(code="FOOD-MEAL", name_en="Mid-day meal", name_hi="मध्याह्न भोजन"), FOOD_SECRETARY
    )
    kerosene = await demo.service.create_category(
        lpg(code="FOOD-KEROSENE-2", name_en="Kerosene supply", name_hi="केरोसिन आपूर्ति"), FOOD_SECRETARY
    )
    assert (meal.department_code, kerosene.retired) == ("FOOD", False)
    with pytest.raises(AlreadyExists):
        await demo.service.rename_category("FOOD-MEAL", "Kerosene supply", "नया नाम", FOOD_SECRETARY)
    assert (await demo.service.get_category("FOOD-MEAL")).name_en == "Mid-day meal"


@ONE_BACKEND
@pytest.mark.parametrize(
    ("proposed", "expected"),
    [
        (
            Category("", "", "", "", ""),
            [
                "category.code",
                "category.department_code",
                "category.name.en",
                "category.name.hi",
                "category.default_track",
            ],
        ),
        (lpg(code="food lpg"), ["category.code"]),
        (lpg(department_code="NOPE"), ["category.department_code"]),
        (lpg(name_hi="LPG subsidy"), ["category.name.hi"]),
        (lpg(name_en="x" * 301), ["category.name.en"]),
        (lpg(default_track="Sahyog Track"), ["category.default_track"]),
        (lpg(default_track="rts_auto_appeal"), ["category.service_time_limit_days"]),
        (lpg(service_time_limit_days=-1), ["category.service_time_limit_days"]),
        (lpg(retired=True), ["category.retired"]),
    ],
)
async def test_H4_create_category_bad_input_names_the_field(
    demo: Routing, proposed: Category, expected: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.create_category(proposed, FOOD_SECRETARY)

    assert fields(caught.value) == expected
    assert all(" / " in v.description for v in caught.value.violations)


async def test_H4_rename_and_merge_bad_input(demo: Routing) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.rename_category("FOOD-RATION-CARD", "", "Ration", FOOD_SECRETARY)
    assert fields(caught.value) == ["name.en", "name.hi"]
    with pytest.raises(NotFound):
        await demo.service.rename_category("FOOD-NOPE", "Ration", "राशन", FOOD_SECRETARY)
    with pytest.raises(FailedPrecondition):
        await demo.service.rename_category("FOOD-KEROSENE", "Kerosene oil", "केरोसिन तेल", FOOD_SECRETARY)

    with pytest.raises(InvalidArgument) as caught:
        await demo.service.merge_categories([], "", FOOD_SECRETARY)
    assert fields(caught.value) == ["target_code", "source_codes"]
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.merge_categories(["FOOD-PDS-SUPPLY"], "FOOD-PDS-SUPPLY", FOOD_SECRETARY)
    assert fields(caught.value) == ["source_codes[0]"]
    with pytest.raises(InvalidArgument) as caught:
        await demo.service.merge_categories(
            ["FOOD-RATION-CARD", "REV-MUTATION", "NOPE"], "FOOD-PDS-SUPPLY", FOOD_SECRETARY
        )
    assert fields(caught.value) == ["source_codes[1]", "source_codes[2]"]
    assert not (await demo.service.get_category("FOOD-RATION-CARD")).retired  # nothing half-applied
    with pytest.raises(FailedPrecondition):
        await demo.service.merge_categories(["FOOD-RATION-CARD"], "FOOD-KEROSENE", FOOD_SECRETARY)


async def test_H4_reloading_the_seed_files_keeps_the_departments_changes(demo: Routing) -> None:
    await demo.service.rename_category("FOOD-RATION-CARD", "Ration card", "राशन कार्ड", FOOD_SECRETARY)
    await demo.service.merge_categories(["FOOD-PDS-SUPPLY"], "FOOD-RATION-CARD", FOOD_SECRETARY)

    # What a restart with a seed folder does: load the same files again.
    report = await demo.service.loader.load_folder(DEMO)

    assert report.errors == []
    assert report.counts["categories"].updated == 0
    assert (await demo.service.get_category("FOOD-RATION-CARD")).name_en == "Ration card"
    pds = await demo.service.get_category("FOOD-PDS-SUPPLY")
    assert (pds.retired, pds.merged_into_code) == (True, "FOOD-RATION-CARD")
    assert (await demo.service.get_category("FOOD-KEROSENE")).merged_into_code == "FOOD-RATION-CARD"
    # Categories the department has not touched still follow the files.
    edited = (
        (DEMO / "categories.yaml").read_text(encoding="utf-8").replace("MGNREGA wages not paid", "MGNREGA wages due")
    )
    report = await demo.service.import_master_data("yaml", "categories", edited.encode(), dry_run=False)
    assert report.errors == []
    assert report.counts["categories"].updated == 1
    assert (await demo.service.get_category("RDD-MGNREGA-WAGES")).name_en == "MGNREGA wages due"
