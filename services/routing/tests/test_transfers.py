"""The DM's moderator queue for inter-department transfers (S5) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from nivaran_common.paging import encode_token
from nivaran_common.testing import ONE_BACKEND
from nivaran_routing.domain import Actor, Location, NewTransfer, Transfer, TransferState
from nivaran_routing.service import RoutingService
from nivaran_routing.store import RoutingStore

from .conftest import TODAY, Routing

PATNA_DM = Actor(account_id="acc-patna-dm", role="DM", position_id="POS-PAT-DM")
REV_L1 = Actor(account_id="acc-addl-collector", role="L1", position_id="POS-REV-PAT-ADDL-COLLECTOR")
MANER = Location(
    district_code="PAT",
    subdivision_code="PAT-DANAPUR",
    block_code="PAT-DANAPUR-MANER",
    panchayat_code="PAT-DANAPUR-MANER-SHERPUR-E",
)
REASON = "Ration card not issued: this is a supply matter, not a revenue one"

NALANDA = """
areas:
  - {code: NAL, level: district, parent_code: BR-PATNA-DIV, name_en: Nalanda, name_hi: नालंदा}
offices:
  - {id: OFF-NAL-COLLECTORATE, area_code: NAL, name_en: "Collectorate, Nalanda", name_hi: "समाहरणालय, नालंदा"}
  - {id: OFF-REV-NAL, department_code: REV, area_code: NAL, name_en: "Office of the Additional Collector, Nalanda",
     name_hi: "अपर समाहर्ता का कार्यालय, नालंदा"}
positions:
  - {id: POS-NAL-DM, office_id: OFF-NAL-COLLECTORATE, role: DM, reports_to_position_id: POS-PATNA-DIV-COMMISSIONER,
     title_en: "District Magistrate, Nalanda", title_hi: "जिलाधिकारी, नालंदा"}
  - {id: POS-REV-NAL-ADDL-COLLECTOR, office_id: OFF-REV-NAL, role: L1, reports_to_position_id: POS-NAL-DM,
     title_en: "Additional Collector, Nalanda", title_hi: "अपर समाहर्ता, नालंदा"}
l1_rules:
  - {department_code: REV, area_code: NAL, position_id: POS-REV-NAL-ADDL-COLLECTOR}
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(demo: Routing, clock: Clock) -> RoutingService:
    return RoutingService(demo.sessions, today=lambda: TODAY, now=clock)


def transfer(grievance_id: str = "g-1", **changes: object) -> NewTransfer:
    new = NewTransfer(
        grievance_id=grievance_id,
        from_position_id="POS-REV-PAT-ADDL-COLLECTOR",
        to_department_code="FOOD",
        reason=REASON,
        location=MANER,
        actor=REV_L1,
    )
    return replace(new, **changes)  # type: ignore[arg-type]


async def test_S5_cross_department_transfer_waits_for_the_dm_and_moves_only_when_approved(
    service: RoutingService, clock: Clock
) -> None:
    requested = await service.request_transfer(transfer())

    assert requested.state is TransferState.PENDING
    assert requested.moderator_position_id == "POS-PAT-DM"
    assert (requested.from_department_code, requested.to_department_code) == ("REV", "FOOD")
    assert requested.to_position_id is None  # nothing moves until the DM decides
    assert (requested.district_code, requested.requested_at, requested.decided_at) == ("PAT", clock.at, None)
    assert requested.requested_by_account_id == "acc-addl-collector"
    assert [t.id for t in (await service.list_transfer_queue("PAT", TransferState.PENDING)).transfers] == [requested.id]

    # A retried request returns the same transfer; a different one waits until the DM has decided the first.
    assert await service.request_transfer(transfer()) == requested
    with pytest.raises(FailedPrecondition) as second:
        await service.request_transfer(transfer(to_department_code="RDD"))
    assert requested.id in second.value.message
    assert len((await service.list_transfer_queue("PAT", None)).transfers) == 1

    clock.at += timedelta(hours=5)
    approved = await service.decide_transfer(requested.id, True, "", "", PATNA_DM)

    assert approved.state is TransferState.APPROVED
    # By default the case goes to the receiving department's L1 of the district (S8).
    assert approved.to_position_id == "POS-FOOD-PAT-DSO"
    assert (approved.decided_at, approved.decided_by_account_id) == (clock.at, "acc-patna-dm")
    assert (await service.list_transfer_queue("PAT", TransferState.PENDING)).transfers == []
    assert (await service.list_transfer_queue("PAT", TransferState.APPROVED)).transfers == [approved]
    # Deciding the same way again is a retry; deciding otherwise is refused.
    assert await service.decide_transfer(requested.id, True, "", "", PATNA_DM) == approved
    with pytest.raises(FailedPrecondition):
        await service.decide_transfer(requested.id, False, "", "return it after all", PATNA_DM)

    # Once decided, the case may be forwarded again: to a department without a district office, it goes to the
    # department itself (S5).
    onward = await service.request_transfer(
        transfer(from_position_id="POS-FOOD-PAT-DSO", to_department_code="IT", reason="The ration portal is down")
    )
    to_it = await service.decide_transfer(onward.id, True, "", "", PATNA_DM)
    assert to_it.to_position_id == "POS-IT-BR-NODAL"


async def test_S5_the_dm_can_name_the_receiving_post_or_return_the_transfer(
    service: RoutingService, clock: Clock
) -> None:
    first = await service.request_transfer(transfer("g-1"))
    clock.at += timedelta(minutes=1)
    second = await service.request_transfer(transfer("g-2"))

    with pytest.raises(InvalidArgument) as caught:
        await service.decide_transfer(first.id, True, "POS-RDD-PAT-DDC", "", PATNA_DM)
    assert [v.field for v in caught.value.violations] == ["to_position_id"]
    with pytest.raises(InvalidArgument) as caught:
        await service.decide_transfer(first.id, True, "POS-NOBODY", "", PATNA_DM)
    assert [v.field for v in caught.value.violations] == ["to_position_id"]
    approved = await service.decide_transfer(first.id, True, "POS-FOOD-PAT-SADAR-PHULWARI-BSO", "to the BSO", PATNA_DM)
    assert (approved.to_position_id, approved.decision_note) == ("POS-FOOD-PAT-SADAR-PHULWARI-BSO", "to the BSO")

    with pytest.raises(InvalidArgument) as caught:
        await service.decide_transfer(second.id, False, "", "   ", PATNA_DM)
    assert [v.field for v in caught.value.violations] == ["note"]
    returned = await service.decide_transfer(second.id, False, "", "The case concerns land records", PATNA_DM)
    assert returned.state is TransferState.RETURNED
    assert (returned.to_position_id, returned.decision_note) == (None, "The case concerns land records")

    # Oldest request first, whatever its state.
    assert [(t.id, t.state) for t in (await service.list_transfer_queue("PAT", None)).transfers] == [
        (first.id, TransferState.APPROVED),
        (second.id, TransferState.RETURNED),
    ]


@pytest.mark.parametrize(
    "actor",
    [
        REV_L1,
        Actor(account_id="acc-food-secretary", role="SECRETARY", position_id="POS-FOOD-BR-SECRETARY"),
        Actor(account_id="acc-commissioner", role="COMMISSIONER", position_id="POS-PATNA-DIV-COMMISSIONER"),
        # Another district's DM, even with the DM role.
        Actor(account_id="acc-nalanda-dm", role="DM", position_id="POS-NAL-DM"),
        Actor(account_id="acc-anyone", role="DM", position_id=""),
    ],
)
async def test_S5_only_the_moderator_dm_decides(demo: Routing, service: RoutingService, actor: Actor) -> None:
    report = await demo.service.import_master_data("yaml", "", NALANDA.encode(), dry_run=False)
    assert report.errors == []
    requested = await service.request_transfer(transfer())

    with pytest.raises(PermissionDenied) as denied:
        await service.decide_transfer(requested.id, True, "", "", actor)
    assert "POS-PAT-DM" in denied.value.message
    with pytest.raises(PermissionDenied):
        await service.decide_transfer(requested.id, False, "", "not mine to decide", actor)

    [still] = (await service.list_transfer_queue("PAT", TransferState.PENDING)).transfers
    assert (still.id, still.to_position_id, still.decided_at) == (requested.id, None, None)


async def test_S5_each_district_has_its_own_moderator(demo: Routing, service: RoutingService) -> None:
    report = await demo.service.import_master_data("yaml", "", NALANDA.encode(), dry_run=False)
    assert report.errors == []
    nalanda_dm = Actor(account_id="acc-nalanda-dm", role="DM", position_id="POS-NAL-DM")

    in_nalanda = await service.request_transfer(
        transfer("g-nal", from_position_id="POS-REV-NAL-ADDL-COLLECTOR", location=Location(district_code="NAL"))
    )
    in_patna = await service.request_transfer(transfer("g-pat"))

    assert in_nalanda.moderator_position_id == "POS-NAL-DM"
    assert [t.id for t in (await service.list_transfer_queue("NAL", None)).transfers] == [in_nalanda.id]
    assert [t.id for t in (await service.list_transfer_queue("PAT", None)).transfers] == [in_patna.id]
    assert {t.id for t in (await service.list_transfer_queue("", None)).transfers} == {in_nalanda.id, in_patna.id}
    with pytest.raises(PermissionDenied):
        await service.decide_transfer(in_nalanda.id, False, "", "Patna cannot decide this", PATNA_DM)
    # Nalanda has no food office: approving needs the receiving post named, and the DM is told so.
    with pytest.raises(FailedPrecondition) as caught:
        await service.decide_transfer(in_nalanda.id, True, "", "", nalanda_dm)
    assert "l1_rules" in caught.value.message
    returned = await service.decide_transfer(in_nalanda.id, False, "", "Send it to the block supply office", nalanda_dm)
    assert returned.state is TransferState.RETURNED


async def test_S5_a_district_without_a_dm_post_cannot_queue_transfers(demo: Routing, service: RoutingService) -> None:
    report = await demo.service.import_master_data(
        "yaml",
        "areas",
        "- {code: GAY, level: district, parent_code: BR, name_en: Gaya, name_hi: गया}\n".encode(),
        dry_run=False,
    )
    assert report.errors == []

    with pytest.raises(FailedPrecondition) as caught:
        await service.request_transfer(transfer(location=Location(district_code="GAY")))
    assert "GAY" in caught.value.message
    assert (await service.list_transfer_queue("GAY", None)).transfers == []


async def test_S5_two_racing_requests_for_one_case_leave_one_pending(service: RoutingService) -> None:
    results = await asyncio.gather(
        service.request_transfer(transfer()),
        service.request_transfer(transfer(to_department_code="RDD", reason="MGNREGA wages are a rural matter")),
        return_exceptions=True,
    )

    queued = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(queued) == 1
    assert [type(r) for r in refused] == [FailedPrecondition]
    assert [t.id for t in (await service.list_transfer_queue("PAT", TransferState.PENDING)).transfers] == [queued[0].id]


async def test_S5_the_database_keeps_one_pending_transfer_per_case_when_the_check_misses_a_race(
    service: RoutingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await service.request_transfer(transfer())
    look_ups: list[str] = []
    pending_transfer = RoutingStore.pending_transfer

    async def blind_first_look(store: RoutingStore, grievance_id: str) -> Transfer | None:
        look_ups.append(grievance_id)
        # The first look misses the pending transfer, as if the other request had not committed yet.
        return None if len(look_ups) == 1 else await pending_transfer(store, grievance_id)

    monkeypatch.setattr(RoutingStore, "pending_transfer", blind_first_look)
    with pytest.raises(FailedPrecondition):
        await service.request_transfer(transfer(to_department_code="RDD", reason="MGNREGA wages are a rural matter"))
    look_ups.clear()
    assert await service.request_transfer(transfer()) == first
    assert len(look_ups) == 2

    monkeypatch.undo()
    assert [t.id for t in (await service.list_transfer_queue("PAT", None)).transfers] == [first.id]


async def test_S5_a_decision_racing_another_does_not_overwrite_it(
    service: RoutingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested = await service.request_transfer(transfer())
    returned = await service.decide_transfer(requested.id, False, "", "The case concerns land records", PATNA_DM)
    reads: list[str] = []
    get_transfer = RoutingStore.get_transfer

    async def stale_first_read(store: RoutingStore, transfer_id: str) -> Transfer | None:
        reads.append(transfer_id)
        # The first read still sees it pending, as if the other decision had not committed yet.
        return requested if len(reads) == 1 else await get_transfer(store, transfer_id)

    monkeypatch.setattr(RoutingStore, "get_transfer", stale_first_read)
    with pytest.raises(FailedPrecondition):
        await service.decide_transfer(requested.id, True, "", "", PATNA_DM)
    assert len(reads) == 2

    monkeypatch.undo()
    assert (await service.list_transfer_queue("PAT", None)).transfers == [returned]


@ONE_BACKEND
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"grievance_id": ""}, ["grievance_id"]),
        ({"grievance_id": "g" * 65}, ["grievance_id"]),
        ({"reason": "wrong dep"}, ["reason"]),  # nine characters
        ({"reason": "   too short   "}, ["reason"]),
        ({"reason": "x" * 2001}, ["reason"]),
        ({"to_department_code": ""}, ["to_department_code"]),
        ({"to_department_code": "NOPE"}, ["to_department_code"]),
        # Within one department the L1 forwards the case itself; only inter-department moves go to the DM.
        ({"to_department_code": "REV"}, ["to_department_code"]),
        ({"from_position_id": ""}, ["from_position_id"]),
        ({"from_position_id": "POS-NOBODY"}, ["from_position_id"]),
        ({"location": Location()}, ["location.district_code"]),
        ({"location": Location(district_code="PAT", block_code="PAT-NOWHERE")}, ["location.block_code"]),
        (
            {"grievance_id": "", "reason": "", "to_department_code": "", "location": Location()},
            ["grievance_id", "to_department_code", "reason", "location.district_code"],
        ),
    ],
)
async def test_S5_request_transfer_bad_input_names_the_field(
    service: RoutingService, changes: dict[str, object], expected: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await service.request_transfer(transfer(**changes))

    assert [v.field for v in caught.value.violations] == expected
    assert (await service.list_transfer_queue("", None)).transfers == []


async def test_S5_decide_and_list_bad_input(service: RoutingService) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await service.decide_transfer("", True, "", "", PATNA_DM)
    assert [v.field for v in caught.value.violations] == ["transfer_id"]
    with pytest.raises(NotFound):
        await service.decide_transfer("no-such-transfer", True, "", "", PATNA_DM)
    for district in ("NOPE", "PAT-SADAR"):
        with pytest.raises(InvalidArgument) as caught:
            await service.list_transfer_queue(district, None)
        assert [v.field for v in caught.value.violations] == ["district_code"]


async def test_S17_a_delegate_decides_in_the_dm_post_and_the_decision_says_by_whom_for_whom(
    service: RoutingService, clock: Clock
) -> None:
    nodal = Actor(
        account_id="acc-sahyog-nodal", role="DM", position_id="POS-PAT-DM", on_behalf_of_account_id="acc-patna-dm"
    )
    approved_request = await service.request_transfer(transfer("g-1"))
    clock.at += timedelta(minutes=1)
    returned_request = await service.request_transfer(transfer("g-2"))

    approved = await service.decide_transfer(approved_request.id, True, "", "", nodal)
    returned = await service.decide_transfer(returned_request.id, False, "", "The case concerns land records", nodal)

    assert approved.decided_by_account_id == "acc-sahyog-nodal"
    assert approved.decision_note == "[by acc-sahyog-nodal for acc-patna-dm under delegation / प्रत्यायोजन के अधीन]"
    assert returned.decision_note.startswith("The case concerns land records [by acc-sahyog-nodal for acc-patna-dm")
    # A retried return by the delegate is the same decision, not a conflicting one.
    again = await service.decide_transfer(returned_request.id, False, "", "The case concerns land records", nodal)
    assert again == returned


async def test_S5_the_moderator_queue_comes_oldest_first_a_page_at_a_time_with_ties_kept_apart(
    service: RoutingService, clock: Clock
) -> None:
    """Five requests, two at the same instant, read two at a time after the last one's (requested_at, id): each
    once, oldest first; a token of another list is refused naming page.page_token."""
    made: list[Transfer] = []
    for i in range(5):
        if i != 2:  # the third comes at the same instant as the second
            clock.at += timedelta(minutes=1)
        made.append(await service.request_transfer(transfer(f"g-{i}")))

    pages: list[list[str]] = []
    token = ""
    while True:
        page = await service.list_transfer_queue("PAT", TransferState.PENDING, page_size=2, page_token=token)
        pages.append([t.grievance_id for t in page.transfers])
        token = page.next_page_token
        if not token:
            break

    expected = [t.grievance_id for t in sorted(made, key=lambda t: (t.requested_at, t.id))]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [g for p in pages for g in p] == expected
    assert {expected[1], expected[2]} == {"g-1", "g-2"}
    with pytest.raises(InvalidArgument) as refused:
        await service.list_transfer_queue("PAT", None, page_size=2, page_token=encode_token("notices", "x", "y"))
    assert [v.field for v in refused.value.violations] == ["page.page_token"]
