"""The routing gRPC surface over an in-process server: S8 / S5 routing, field violations, chains, imports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from nivaran.common.v1 import common_pb2
from nivaran.routing.v1 import routing_pb2, routing_pb2_grpc
from nivaran_common.errors import field_violations
from nivaran_common.testing import ONE_BACKEND

# What these tests prove does not depend on the database (the store's queries run on both backends in the
# store and service tests), so one backend is enough here (nivaran_common.testing.ONE_BACKEND).
pytestmark = ONE_BACKEND

Stub = routing_pb2_grpc.RoutingServiceStub

MANER = common_pb2.Location(
    state_code="BR",
    district_code="PAT",
    subdivision_code="PAT-DANAPUR",
    block_code="PAT-DANAPUR-MANER",
    panchayat_code="PAT-DANAPUR-MANER-SHERPUR-E",
    thana_code="PAT-PS-MANER",
)


async def test_S8_resolve_l1_gives_the_district_supply_officer_of_patna(stub: Stub) -> None:
    response = await stub.ResolveL1(routing_pb2.ResolveL1Request(category_code="FOOD-RATION-CARD", location=MANER))

    assert response.position.id == "POS-FOOD-PAT-DSO"
    assert response.position.title.en == "District Supply Officer, Patna"
    assert response.position.title.hi == "जिला आपूर्ति पदाधिकारी, पटना"
    assert response.position.level == routing_pb2.AREA_LEVEL_DISTRICT
    assert response.position.reports_to_position_id == "POS-PAT-DM"
    assert response.office.name.hi == "जिला आपूर्ति कार्यालय, पटना"
    assert response.department.code == "FOOD"
    assert response.department.has_district_office
    assert response.category.default_track == "sahyog"
    assert response.rule == "district L1 (S8)"


async def test_S5_resolve_l1_sends_a_department_without_district_office_to_the_department(stub: Stub) -> None:
    response = await stub.ResolveL1(routing_pb2.ResolveL1Request(category_code="IT-PORTAL-SERVICE", location=MANER))

    assert not response.department.has_district_office
    assert response.position.id == "POS-IT-BR-NODAL"
    assert response.position.level == routing_pb2.AREA_LEVEL_STATE
    assert response.office.id == "OFF-IT-BR"
    assert response.rule == "department level: no district office (S5)"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (routing_pb2.ResolveL1Request(category_code="NO-SUCH", location=MANER), "category_code"),
        (
            routing_pb2.ResolveL1Request(
                category_code="FOOD-RATION-CARD", location=common_pb2.Location(district_code="GAYA")
            ),
            "location.district_code",
        ),
        (
            routing_pb2.ResolveL1Request(
                category_code="FOOD-RATION-CARD",
                location=common_pb2.Location(district_code="PAT", block_code="PAT-NO-SUCH-BLOCK"),
            ),
            "location.block_code",
        ),
        (routing_pb2.ResolveL1Request(category_code="FOOD-KEROSENE", location=MANER), "category_code"),
    ],
)
async def test_resolve_l1_bad_input_is_invalid_argument_naming_the_field(
    stub: Stub, request_: routing_pb2.ResolveL1Request, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ResolveL1(request_)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == [field]


@pytest.mark.parametrize(
    ("location", "field"),
    [
        (common_pb2.Location(), "location.district_code"),
        (common_pb2.Location(district_code="XYZ"), "location.district_code"),
        (
            common_pb2.Location(district_code="PAT", subdivision_code="PAT-SADAR", block_code="PAT-BARH-MOKAMA"),
            "location.block_code",
        ),
        (
            common_pb2.Location(
                district_code="PAT", block_code="PAT-SADAR-PHULWARI", panchayat_code="PAT-DANAPUR-MANER-BYAPUR"
            ),
            "location.panchayat_code",
        ),
        (common_pb2.Location(district_code="PAT", thana_code="PAT-SADAR"), "location.thana_code"),
    ],
)
async def test_validate_location_violations(stub: Stub, location: common_pb2.Location, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ValidateLocation(routing_pb2.ValidateLocationRequest(location=location))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(caught.value)
    assert [v.field for v in violations] == [field]
    assert " / " in violations[0].description  # English / Hindi


async def test_validate_location_returns_areas_with_names(stub: Stub) -> None:
    response = await stub.ValidateLocation(routing_pb2.ValidateLocationRequest(location=MANER))

    assert [(a.code, a.level) for a in response.areas] == [
        ("BR", routing_pb2.AREA_LEVEL_STATE),
        ("PAT", routing_pb2.AREA_LEVEL_DISTRICT),
        ("PAT-DANAPUR", routing_pb2.AREA_LEVEL_SUBDIVISION),
        ("PAT-DANAPUR-MANER", routing_pb2.AREA_LEVEL_BLOCK),
        ("PAT-DANAPUR-MANER-SHERPUR-E", routing_pb2.AREA_LEVEL_PANCHAYAT),
        ("PAT-PS-MANER", routing_pb2.AREA_LEVEL_THANA),
    ]
    assert response.areas[3].name.hi == "मनेर"
    assert response.areas[3].parent_code == "PAT-DANAPUR"


async def test_reporting_chain_reaches_the_chief_secretary(stub: Stub) -> None:
    response = await stub.GetReportingChain(
        routing_pb2.GetReportingChainRequest(position_id="POS-HOME-PAT-PS-MANER-SHO")
    )

    assert [p.id for p in response.chain] == [
        "POS-HOME-PAT-PS-MANER-SHO",
        "POS-HOME-PAT-SSP",
        "POS-PAT-DM",
        "POS-PATNA-DIV-COMMISSIONER",
        "POS-BR-OSD-CS",
        "POS-BR-CS",
    ]
    assert response.chain[-1].role == "CHIEF_SECRETARY"
    assert response.chain[-1].title.hi == "मुख्य सचिव, बिहार"


async def test_S5_chain_of_the_department_level_l1_goes_through_its_secretary(stub: Stub) -> None:
    response = await stub.GetReportingChain(routing_pb2.GetReportingChainRequest(position_id="POS-IT-BR-NODAL"))

    assert [p.role for p in response.chain] == ["L1", "SECRETARY", "OSD_CS", "CHIEF_SECRETARY"]


async def test_lookups_and_listings(stub: Stub) -> None:
    position = await stub.GetPosition(routing_pb2.GetPositionRequest(position_id="POS-PAT-DM"))
    assert (position.role, position.department_code, position.area_code) == ("DM", "", "PAT")
    assert (position.office_name.en, position.office_name.hi) == ("Collectorate, Patna", "समाहरणालय, पटना")

    departments = await stub.ListDepartments(routing_pb2.ListDepartmentsRequest())
    assert len(departments.departments) == 7

    categories = await stub.ListCategories(routing_pb2.ListCategoriesRequest(department_code="REV"))
    tracks = {c.code: (c.default_track, c.is_other, c.service_time_limit_days) for c in categories.categories}
    assert tracks["REV-CERTIFICATE-DELAY"] == ("rts_auto_appeal", False, 21)
    assert tracks["REV-ENCROACHMENT"][0] == "bpgra"
    assert tracks["REV-OTHER"][1] is True

    category = await stub.GetCategory(routing_pb2.GetCategoryRequest(code="FOOD-KEROSENE"))
    assert category.retired
    assert category.merged_into_code == "FOOD-PDS-SUPPLY"

    blocks = await stub.ListAreas(routing_pb2.ListAreasRequest(parent_code="PAT-BARH"))
    assert len(blocks.areas) == 7
    thanas = await stub.ListAreas(routing_pb2.ListAreasRequest(level=routing_pb2.AREA_LEVEL_THANA))
    assert {a.parent_code for a in thanas.areas} == {"PAT-POLICE"}


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s: s.GetPosition(routing_pb2.GetPositionRequest(position_id="POS-NOBODY")), grpc.StatusCode.NOT_FOUND),
        (lambda s: s.GetCategory(routing_pb2.GetCategoryRequest(code="NOPE")), grpc.StatusCode.NOT_FOUND),
        (lambda s: s.GetReportingChain(routing_pb2.GetReportingChainRequest()), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda s: s.CreateCategory(routing_pb2.CreateCategoryRequest()), grpc.StatusCode.INVALID_ARGUMENT),
        (
            lambda s: s.ListSubordinatePositions(routing_pb2.ListSubordinatePositionsRequest(position_id="POS-NOBODY")),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda s: s.DecideTransfer(routing_pb2.DecideTransferRequest(transfer_id="no-such", approve=True)),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda s: s.RenameCategory(
                routing_pb2.RenameCategoryRequest(code="FOOD-NOPE", name=common_pb2.LocalizedText(en="A", hi="अ"))
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
    ],
)
async def test_error_statuses(stub: Stub, call: Callable[[Stub], Awaitable[Any]], code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(stub)

    assert caught.value.code() == code


async def test_import_master_data_reports_rows_and_applies_only_clean_uploads(stub: Stub) -> None:
    bad = await stub.ImportMasterData(
        routing_pb2.ImportMasterDataRequest(
            format="csv",
            table="l1_rules",
            content=b"department_code,area_code,position_id\nFOOD,PAT,POS-FOOD-PAT-DSO\nRDD,PAT,POS-NOBODY\n",
        )
    )
    assert bad.rows_accepted == 0
    assert [(e.row, e.field) for e in bad.errors] == [(3, "l1_rules.position_id")]
    assert "POS-NOBODY" in bad.errors[0].message

    good = await stub.ImportMasterData(
        routing_pb2.ImportMasterDataRequest(
            format="yaml",
            content="departments:\n  - {code: PHED, name_en: Public Health Engineering Department, "
            "name_hi: लोक स्वास्थ्य अभियंत्रण विभाग, has_district_office: true}\n".encode(),
        )
    )
    assert (good.rows_accepted, list(good.errors)) == (1, [])
    departments = await stub.ListDepartments(routing_pb2.ListDepartmentsRequest())
    assert "PHED" in {d.code for d in departments.departments}

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ImportMasterData(routing_pb2.ImportMasterDataRequest(format="xlsx", content=b"x"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["format"]


FOOD_SECRETARY = common_pb2.Actor(
    account_id="acc-food-secretary", role="SECRETARY", position_id="POS-FOOD-BR-SECRETARY"
)
PATNA_DM = common_pb2.Actor(account_id="acc-patna-dm", role="DM", position_id="POS-PAT-DM")
LPG = routing_pb2.Category(
    code="FOOD-LPG-SUBSIDY",
    department_code="FOOD",
    name=common_pb2.LocalizedText(en="LPG subsidy not received", hi="एलपीजी सब्सिडी नहीं मिली"),
    default_track="sahyog",
)


async def test_subordinate_positions_and_positions_by_role_and_area(stub: Stub) -> None:
    below = await stub.ListSubordinatePositions(routing_pb2.ListSubordinatePositionsRequest(position_id="POS-PAT-DM"))
    by_id = {p.id: p for p in below.positions}
    bdo = by_id["POS-RDD-PAT-SADAR-PHULWARI-BDO"]
    assert (bdo.role, bdo.level, bdo.area_code) == ("DISPOSING", routing_pb2.AREA_LEVEL_BLOCK, "PAT-SADAR-PHULWARI")
    assert bdo.office_name.hi == "प्रखंड कार्यालय, फुलवारी शरीफ"
    assert "POS-PAT-DM" not in by_id

    dm = await stub.ListPositions(routing_pb2.ListPositionsRequest(role="DM", area_code="PAT"))
    assert [(p.id, p.office_name.en) for p in dm.positions] == [("POS-PAT-DM", "Collectorate, Patna")]
    food = await stub.ListPositions(routing_pb2.ListPositionsRequest(area_code="PAT", department_code="FOOD"))
    assert {p.id for p in food.positions} == {"POS-FOOD-PAT-DSO", "POS-FOOD-PAT-SADAR-PHULWARI-BSO"}

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListPositions(routing_pb2.ListPositionsRequest(area_code="NOWHERE", department_code="NOPE"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(caught.value)] == ["area_code", "department_code"]


async def test_H4_categories_over_grpc(stub: Stub) -> None:
    created = await stub.CreateCategory(routing_pb2.CreateCategoryRequest(category=LPG, actor=FOOD_SECRETARY))
    assert (created.code, created.name.hi, created.retired) == ("FOOD-LPG-SUBSIDY", "एलपीजी सब्सिडी नहीं मिली", False)

    renamed = await stub.RenameCategory(
        routing_pb2.RenameCategoryRequest(
            code="FOOD-LPG-SUBSIDY",
            name=common_pb2.LocalizedText(en="LPG subsidy not credited", hi="एलपीजी सब्सिडी जमा नहीं हुई"),
            actor=FOOD_SECRETARY,
        )
    )
    assert renamed.name.en == "LPG subsidy not credited"

    target = await stub.MergeCategories(
        routing_pb2.MergeCategoriesRequest(
            source_codes=["FOOD-LPG-SUBSIDY"], target_code="FOOD-PDS-SUPPLY", actor=FOOD_SECRETARY
        )
    )
    assert target.code == "FOOD-PDS-SUPPLY"
    merged = await stub.GetCategory(routing_pb2.GetCategoryRequest(code="FOOD-LPG-SUBSIDY"))
    assert (merged.retired, merged.merged_into_code) == (True, "FOOD-PDS-SUPPLY")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ResolveL1(routing_pb2.ResolveL1Request(category_code="FOOD-LPG-SUBSIDY", location=MANER))
    assert "FOOD-PDS-SUPPLY" in field_violations(caught.value)[0].description

    retired = await stub.RetireCategory(
        routing_pb2.RetireCategoryRequest(code="FOOD-RATION-CARD", actor=FOOD_SECRETARY)
    )
    assert retired.retired


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda s: s.CreateCategory(
                routing_pb2.CreateCategoryRequest(
                    category=LPG,
                    actor=common_pb2.Actor(role="SECRETARY", position_id="POS-REV-BR-SECRETARY"),
                )
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (
            lambda s: s.CreateCategory(
                routing_pb2.CreateCategoryRequest(
                    category=routing_pb2.Category(code="FOOD-RATION-CARD", department_code="FOOD", name=LPG.name),
                    actor=FOOD_SECRETARY,
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,  # no default track
        ),
        (
            lambda s: s.CreateCategory(
                routing_pb2.CreateCategoryRequest(
                    category=routing_pb2.Category(
                        code="FOOD-RATION-CARD", department_code="FOOD", name=LPG.name, default_track="sahyog"
                    ),
                    actor=FOOD_SECRETARY,
                )
            ),
            grpc.StatusCode.ALREADY_EXISTS,
        ),
        (
            lambda s: s.RetireCategory(routing_pb2.RetireCategoryRequest(code="FOOD-OTHER", actor=FOOD_SECRETARY)),
            grpc.StatusCode.FAILED_PRECONDITION,
        ),
        (
            lambda s: s.RetireCategory(routing_pb2.RetireCategoryRequest(code="REV-MUTATION", actor=FOOD_SECRETARY)),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
    ],
)
async def test_H4_category_refusals_have_their_status(
    stub: Stub, call: Callable[[Stub], Awaitable[Any]], code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(stub)

    assert caught.value.code() == code
    # Refusals tell a person why in English and Hindi; field violations carry their own (tested below).
    assert code == grpc.StatusCode.INVALID_ARGUMENT or " / " in (caught.value.details() or "")


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (
            routing_pb2.CreateCategoryRequest(actor=FOOD_SECRETARY),
            [
                "category.code",
                "category.department_code",
                "category.name.en",
                "category.name.hi",
                "category.default_track",
            ],
        ),
        (
            routing_pb2.CreateCategoryRequest(
                category=routing_pb2.Category(
                    code="food lpg",
                    department_code="FOOD",
                    name=common_pb2.LocalizedText(en="LPG", hi="LPG"),
                    default_track="rts_auto_appeal",
                ),
                actor=FOOD_SECRETARY,
            ),
            ["category.code", "category.name.hi", "category.service_time_limit_days"],
        ),
        (
            routing_pb2.RenameCategoryRequest(code="FOOD-RATION-CARD", actor=FOOD_SECRETARY),
            ["name.en", "name.hi"],
        ),
        (
            routing_pb2.MergeCategoriesRequest(
                source_codes=["FOOD-RATION-CARD", "REV-MUTATION"], target_code="FOOD-PDS-SUPPLY", actor=FOOD_SECRETARY
            ),
            ["source_codes[1]"],
        ),
        (routing_pb2.RetireCategoryRequest(actor=FOOD_SECRETARY), ["code"]),
        (
            routing_pb2.RequestTransferRequest(
                grievance_id="g-1",
                from_position_id="POS-REV-PAT-ADDL-COLLECTOR",
                to_department_code="REV",
                reason="short",
                location=MANER,
            ),
            ["to_department_code", "reason"],
        ),
        (
            routing_pb2.RequestTransferRequest(),
            [
                "grievance_id",
                "from_position_id",
                "to_department_code",
                "reason",
                "location.district_code",
            ],
        ),
        (routing_pb2.DecideTransferRequest(approve=True, actor=PATNA_DM), ["transfer_id"]),
        (routing_pb2.ListTransferQueueRequest(district_code="PAT-SADAR"), ["district_code"]),
    ],
)
async def test_bad_h4_and_s5_requests_are_invalid_argument_naming_the_fields(
    stub: Stub, request_: Any, fields: list[str]
) -> None:
    method = {
        routing_pb2.CreateCategoryRequest: stub.CreateCategory,
        routing_pb2.RenameCategoryRequest: stub.RenameCategory,
        routing_pb2.MergeCategoriesRequest: stub.MergeCategories,
        routing_pb2.RetireCategoryRequest: stub.RetireCategory,
        routing_pb2.RequestTransferRequest: stub.RequestTransfer,
        routing_pb2.DecideTransferRequest: stub.DecideTransfer,
        routing_pb2.ListTransferQueueRequest: stub.ListTransferQueue,
    }[type(request_)]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await method(request_)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(caught.value)
    assert [v.field for v in violations] == fields
    assert all(" / " in v.description for v in violations)


async def test_S5_moderator_queue_over_grpc(stub: Stub) -> None:
    requested = await stub.RequestTransfer(
        routing_pb2.RequestTransferRequest(
            grievance_id="g-1",
            from_position_id="POS-REV-PAT-ADDL-COLLECTOR",
            to_department_code="FOOD",
            reason="  Ration card not issued: a supply matter  ",
            location=MANER,
            actor=common_pb2.Actor(account_id="acc-l1", role="L1", position_id="POS-REV-PAT-ADDL-COLLECTOR"),
        )
    )
    assert requested.state == routing_pb2.TRANSFER_STATE_PENDING
    assert (requested.moderator_position_id, requested.to_position_id) == ("POS-PAT-DM", "")
    assert requested.reason == "Ration card not issued: a supply matter"
    assert requested.requested_at.seconds > 0
    assert not requested.HasField("decided_at")

    queue = await stub.ListTransferQueue(
        routing_pb2.ListTransferQueueRequest(district_code="PAT", state=routing_pb2.TRANSFER_STATE_PENDING)
    )
    assert [t.id for t in queue.transfers] == [requested.id]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DecideTransfer(
            routing_pb2.DecideTransferRequest(
                transfer_id=requested.id,
                approve=True,
                actor=common_pb2.Actor(role="DM", position_id="POS-HOME-PAT-SSP"),
            )
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    approved = await stub.DecideTransfer(
        routing_pb2.DecideTransferRequest(transfer_id=requested.id, approve=True, actor=PATNA_DM)
    )
    assert approved.state == routing_pb2.TRANSFER_STATE_APPROVED
    assert approved.to_position_id == "POS-FOOD-PAT-DSO"
    assert approved.decided_at.seconds >= requested.requested_at.seconds

    pending = await stub.ListTransferQueue(
        routing_pb2.ListTransferQueueRequest(district_code="PAT", state=routing_pb2.TRANSFER_STATE_PENDING)
    )
    assert list(pending.transfers) == []
    everything = await stub.ListTransferQueue(routing_pb2.ListTransferQueueRequest(district_code="PAT"))
    assert [t.state for t in everything.transfers] == [routing_pb2.TRANSFER_STATE_APPROVED]

    again = await stub.RequestTransfer(
        routing_pb2.RequestTransferRequest(
            grievance_id="g-1",
            from_position_id="POS-FOOD-PAT-DSO",
            to_department_code="RDD",
            reason="The applicant asks for a PMAY house",
            location=MANER,
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RequestTransfer(
            routing_pb2.RequestTransferRequest(
                grievance_id="g-1",
                from_position_id="POS-FOOD-PAT-DSO",
                to_department_code="HEALTH",
                reason="A health matter after all",
                location=MANER,
            )
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert again.id in (caught.value.details() or "")
