"""The DM's, the department secretary's and the CS cell's pages against the gateway's fakes: the moderator queue of
transfers (S5), registration approvals (S6), delegation (S17), show-cause replies to recommend on (S18), breach
records, the department's categories and its "Other" share (H4), and the cell's assignment (C3). Each page shows
only to the roles and delegated powers its /v1 route admits, sends its act to /v1 and shows /v1's errors next to
the fields."""

from __future__ import annotations

import html
import re

from babel.messages.pofile import read_po
from gateway_testkit import Rig
from test_web_pages import csrf_of, sign_in_as

from nivaran.intake.v1 import intake_pb2
from nivaran_gateway.web.i18n import LOCALE_DIR

KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
REPLIED = "BR-PAT-2026-0000201-7"
CSPGRS = "BR-PAT-2026-0000202-7"


def english(rig: Rig, persona: str, **overrides: object) -> None:
    sign_in_as(rig.client, persona, **overrides)
    rig.client.cookies.set("lang", "en", domain="gateway.test")


def key_of(html: str, form_id: str) -> str:
    found = KEY.search(html.split(f'data-form="{form_id}"', 1)[1])
    assert found, f"the form {form_id} carries its Idempotency-Key"
    return found.group(1)


async def test_S5_the_DM_approves_a_transfer_of_their_district_from_the_moderator_queue(rig: Rig) -> None:
    english(rig, "dm_a")

    queue = await rig.client.get("/app/officer/dm/transfers")
    decided = await rig.client.post(
        "/app/officer/dm/transfers/tr-pat-1/decision",
        data={"csrf": csrf_of(queue.text), "approve": "yes", "note": "स्वास्थ्य विभाग को / to Health"},
    )

    assert queue.status_code == 200
    assert 'data-transfer="tr-pat-1"' in queue.text
    assert 'data-transfer="tr-gay-1"' not in queue.text, "another district's transfer is not in the DM's queue"
    assert "Transfer to department HEALTH" in queue.text
    assert (decided.status_code, decided.headers["location"]) == (303, "/app/officer/dm/transfers?done=1")
    decision = rig.routing.transfer_decisions[-1]
    assert (decision.transfer_id, decision.approve, decision.note) == ("tr-pat-1", True, "स्वास्थ्य विभाग को / to Health")
    assert decision.actor.position_id == "pos-pat-dm"
    assert [t.transfer_id for t in rig.sla.transfers] == ["tr-pat-1"], "the approval moved the case once"


async def test_S5_the_moderator_queue_page_links_to_the_later_requests_past_fifty(rig: Rig) -> None:
    _, first = rig.routing.transfers["tr-pat-1"]
    for i in range(1, 52):
        copy = type(first)()
        copy.CopyFrom(first)
        copy.id, copy.grievance_id = f"tr-pat-x{i:02d}", f"g-x{i:02d}"
        copy.requested_at.seconds += i
        rig.routing.transfers[copy.id] = ("PAT", copy)
    english(rig, "dm_a")

    first_page = await rig.client.get("/app/officer/dm/transfers")
    later = re.search(r'<a rel="next" href="([^"]+)">Later requests</a>', first_page.text)
    assert later
    second_page = await rig.client.get(html.unescape(later.group(1)))

    assert len(re.findall(r'data-transfer="tr-pat-', first_page.text)) == 50
    assert re.findall(r'data-transfer="(tr-pat-[^"]+)"', second_page.text) == ["tr-pat-x50", "tr-pat-x51"]
    assert 'rel="next"' not in second_page.text


async def test_S6_the_registrations_page_links_to_the_later_requests_past_fifty(rig: Rig) -> None:
    first = rig.identity.registrations["reg-pat-1"]
    for i in range(1, 52):
        copy = type(first)()
        copy.CopyFrom(first)
        copy.id, copy.username = f"reg-pat-x{i:02d}", f"co.bihta.x{i:02d}"
        copy.requested_at.seconds += i
        rig.identity.registrations[copy.id] = copy
    english(rig, "dm_a")

    first_page = await rig.client.get("/app/officer/dm/registrations")
    later = re.search(r'<a rel="next" href="([^"]+)">Later requests</a>', first_page.text)
    assert later
    second_page = await rig.client.get(html.unescape(later.group(1)))

    assert first_page.status_code == second_page.status_code == 200
    assert "co.bihta.x49" in first_page.text
    assert "co.bihta.x50" not in first_page.text
    assert "co.bihta.x50" in second_page.text
    assert "co.bihta.x51" in second_page.text
    assert 'rel="next"' not in second_page.text


async def test_S5_a_decision_without_an_answer_comes_back_with_v1s_error_next_to_its_field(rig: Rig) -> None:
    english(rig, "dm_a")
    queue = await rig.client.get("/app/officer/dm/transfers")

    missing = await rig.client.post(
        "/app/officer/dm/transfers/tr-pat-1/decision", data={"csrf": csrf_of(queue.text), "note": "?"}
    )

    assert missing.status_code == 422
    assert re.search(r'name="approve"[^>]*aria-invalid="true"', missing.text)
    assert 'data-field="approve"' in missing.text
    assert rig.routing.transfer_decisions == []


async def test_the_DM_pages_refuse_an_officer_without_the_powers_without_asking_v1(rig: Rig) -> None:
    english(rig, "officer_a")

    for path in ("/app/officer/dm", "/app/officer/dm/transfers", "/app/officer/dm/registrations"):
        page = await rig.client.get(path)
        assert page.status_code == 403, path
        assert "This page is for the officers who hold its powers" in page.text
    assert rig.routing.queue_requests == []


async def test_S17_the_nodal_officer_with_the_moderation_power_sees_the_queue_and_not_the_registrations(
    rig: Rig,
) -> None:
    english(rig, "officer_a", positions=[], acting_for="acct-dm-a", powers=["transfers.decide"], roles=["officer"])

    district = await rig.client.get("/app/officer/dm")
    queue = await rig.client.get("/app/officer/dm/transfers")
    registrations = await rig.client.get("/app/officer/dm/registrations")

    assert district.status_code == 200
    assert 'href="/app/officer/dm/transfers"' in district.text
    assert 'href="/app/officer/dm/registrations"' not in district.text
    assert queue.status_code == 200
    assert 'data-transfer="tr-pat-1"' in queue.text
    assert registrations.status_code == 403


async def test_S6_the_DM_approves_an_officers_registration(rig: Rig) -> None:
    english(rig, "dm_a")

    listed = await rig.client.get("/app/officer/dm/registrations")
    decided = await rig.client.post(
        "/app/officer/dm/registrations/reg-pat-1/decision", data={"csrf": csrf_of(listed.text), "approve": "no"}
    )

    assert 'data-registration="reg-pat-1"' in listed.text
    assert "Registration of सुनील कुमार" in listed.text
    assert 'data-registration="reg-gay-1"' not in listed.text
    assert decided.status_code == 303
    decision = [r for r in rig.identity.requests if r.DESCRIPTOR.name == "DecideRegistrationRequest"][-1]
    assert (decision.registration_id, decision.approve) == ("reg-pat-1", False)


async def test_S17_the_DM_delegates_a_power_and_revokes_a_delegation(rig: Rig) -> None:
    english(rig, "dm_a")
    csrf = csrf_of((await rig.client.get("/app/officer/dm/delegations")).text)

    created = await rig.client.post(
        "/app/officer/dm/delegations",
        data={"csrf": csrf, "delegate_account_id": "acct-nodal-pat", "powers": "transfers.decide"},
    )
    shown = await rig.client.get(created.headers["location"])
    revoked = await rig.client.post(
        "/app/officer/dm/delegations/revoke", data={"csrf": csrf, "delegation_id": "del-dm-a"}
    )
    unknown = await rig.client.post("/app/officer/dm/delegations/revoke", data={"csrf": csrf, "delegation_id": "del-x"})

    assert created.status_code == 303
    made = [r for r in rig.identity.requests if r.DESCRIPTOR.name == "CreateDelegationRequest"][-1]
    assert (made.delegate_account_id, list(made.powers)) == ("acct-nodal-pat", ["transfers.decide"])
    assert created.headers["location"].startswith("/app/officer/dm/delegations?created=del-")
    assert "to revoke it later: " + created.headers["location"].rsplit("=", 1)[1] in shown.text
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/app/officer/dm/delegations?revoked=del-dm-a")
    assert unknown.status_code == 404
    assert 'role="alert"' in unknown.text


async def test_S17_the_DM_sees_the_delegations_given_and_revokes_one_from_its_row(rig: Rig) -> None:
    english(rig, "dm_a")
    listed = await rig.client.get("/app/officer/dm/delegations")
    assert 'data-delegation="del-dm-a" data-state="in-force"' in listed.text
    assert "Decide officer registrations (S6)" in listed.text
    asked = [r for r in rig.identity.requests if r.DESCRIPTOR.name == "ListDelegationsRequest"][-1]
    assert (asked.actor.account_id, asked.include_revoked, asked.received) == ("acct-dm-a", True, False)
    # The row's own button posts its id.
    row = listed.text.split('data-delegation="del-dm-a"', 1)[1].split("</li>", 1)[0]
    assert 'name="delegation_id" value="del-dm-a"' in row

    revoked = await rig.client.post(
        "/app/officer/dm/delegations/revoke", data={"csrf": csrf_of(listed.text), "delegation_id": "del-dm-a"}
    )
    after = await rig.client.get(revoked.headers["location"])
    assert 'data-delegation="del-dm-a" data-state="revoked"' in after.text
    row = after.text.split('data-delegation="del-dm-a"', 1)[1].split("</li>", 1)[0]
    assert "delegation_id" not in row  # nothing left to revoke
    assert "Revoked: del-dm-a" in after.text


async def test_S17_another_DM_sees_none_of_the_delegations_given_in_Patna(rig: Rig) -> None:
    english(rig, "dm_b")
    listed = await rig.client.get("/app/officer/dm/delegations")
    assert listed.status_code == 200
    assert "del-dm-a" not in listed.text
    assert "You have given no delegation." in listed.text


async def test_S18_the_DM_recommends_on_a_show_cause_reply(rig: Rig) -> None:
    rig.intake.seed(REPLIED, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    rig.sla.seed_notice(REPLIED, "scn-201", "pos-pat-l1", replied=True)
    english(rig, "dm_a")

    listed = await rig.client.get("/app/officer/dm/show-causes")
    key = key_of(listed.text, "recommendation-scn-201")
    sent = await rig.client.post(
        f"/app/officer/dm/show-causes/{REPLIED}/scn-201/recommendation",
        data={"csrf": csrf_of(listed.text), "idempotency_key": key, "recommendation": "स्पष्टीकरण स्वीकार / accept"},
    )

    assert "The ration card was printed on 28-11-2026" in listed.text
    assert sent.status_code == 303
    act = rig.sla.acts[-1]
    assert (act.WhichOneof("act"), act.recommendation.notice_id) == ("recommendation", "scn-201")
    assert act.recommendation.recommendation == "स्पष्टीकरण स्वीकार / accept"
    assert act.idempotency_key == f"web-{key}"


async def test_the_breach_records_of_the_DMs_district_in_hindi(rig: Rig) -> None:
    rig.intake.seed(REPLIED, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    rig.intake.seed(CSPGRS, district="GAY", position_id="pos-gay-l1", department="REVENUE")
    rig.sla.seed_breach(REPLIED, "S13", "pos-pat-l1")
    rig.sla.seed_breach(CSPGRS, "S8", "pos-gay-l1")
    sign_in_as(rig.client, "dm_a")

    page = await rig.client.get("/app/officer/dm/breaches")

    assert page.status_code == 200
    assert re.findall(r'data-rule="([A-Z0-9]+)"', page.text) == ["S13"]
    # /v1 names the case by its id; the page shows its number, from the DM's own list of cases.
    assert f'<a class="number" href="/app/officer/grievances/{REPLIED}">{REPLIED}</a>' in page.text
    assert "30 दिनों में अंतिम निष्पादन नहीं" in page.text


async def test_the_breach_records_come_fifty_to_a_page_with_a_link_to_the_older_ones(rig: Rig) -> None:
    rig.intake.seed(REPLIED, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    for _ in range(53):
        rig.sla.seed_breach(REPLIED, "S13", "pos-pat-l1")
    english(rig, "dm_a")

    first = await rig.client.get("/app/officer/dm/breaches", params={"rule": "s13"})
    older = re.search(r'<a rel="next" href="([^"]+)">Older breaches</a>', first.text)
    assert older
    second = await rig.client.get(html.unescape(older.group(1)))

    assert len(re.findall(r'data-rule="S13"', first.text)) == 50
    assert len(re.findall(r'data-rule="S13"', second.text)) == 3
    assert 'rel="next"' not in second.text
    assert [(r.rule, r.page.page_size, bool(r.page.page_token)) for r in rig.sla.breach_requests] == [
        ("S13", 50, False),
        ("S13", 50, True),
    ]


async def test_H4_a_category_without_its_track_is_refused_next_to_the_track(rig: Rig) -> None:
    english(rig, "secretary")
    page = await rig.client.get("/app/officer/categories", params={"department_code": "REVENUE"})
    refused = await rig.client.post(
        "/app/officer/categories/new?department_code=REVENUE",
        data={"csrf": csrf_of(page.text), "code": "REVENUE-NO-TRACK", "name.hi": "बिना मार्ग", "name.en": "No track"},
    )
    assert refused.status_code == 422
    assert 'data-field="default_track"' in refused.text
    assert "REVENUE-NO-TRACK" not in rig.routing.categories


async def test_H4_the_secretary_sees_the_other_share_and_adds_renames_merges_and_retires_categories(rig: Rig) -> None:
    english(rig, "secretary")
    page = await rig.client.get("/app/officer/categories", params={"department_code": "revenue"})
    csrf = csrf_of(page.text)
    query = "?department_code=REVENUE"

    created = await rig.client.post(
        "/app/officer/categories/new" + query,
        data={"csrf": csrf, "code": "REVENUE-MUTATION-DELAY", "name.hi": "दाखिल-खारिज में विलंब",
              "name.en": "Mutation delayed", "default_track": "sahyog", "service_time_limit_days": "21"},
    )  # fmt: skip
    renamed = await rig.client.post(
        "/app/officer/categories/REVENUE_OLD/rename" + query,
        data={"csrf": csrf, "name.hi": "भूमि सर्वेक्षण", "name.en": "Land survey"},
    )
    merged = await rig.client.post(
        "/app/officer/categories/REVENUE_MUTATION/merge" + query, data={"csrf": csrf, "source_codes": "REVENUE_OLD"}
    )
    retired = await rig.client.post(
        "/app/officer/categories/REVENUE-MUTATION-DELAY/retire" + query, data={"csrf": csrf}
    )

    assert page.status_code == 200
    assert 'class="facts figures other-share"' in page.text
    assert set(re.findall(r'data-category="([A-Z_-]+)"', page.text)) == {
        "REVENUE_MUTATION",
        "REVENUE_OTHER",
        "REVENUE_OLD",
    }
    assert [r.status_code for r in (created, renamed, merged, retired)] == [303] * 4
    new = rig.routing.categories["REVENUE-MUTATION-DELAY"]
    assert (new.department_code, new.name.en, new.service_time_limit_days) == ("REVENUE", "Mutation delayed", 21)
    assert new.retired
    assert rig.routing.categories["REVENUE_OLD"].merged_into_code == "REVENUE_MUTATION"
    assert rig.routing.categories["REVENUE_OLD"].name.hi == "भूमि सर्वेक्षण"
    assert {a.position_id for a in rig.routing.category_actors} == {"pos-sec-revenue"}


async def test_H4_a_category_without_a_name_comes_back_with_v1s_error_and_another_department_has_no_forms(
    rig: Rig,
) -> None:
    english(rig, "secretary")
    page = await rig.client.get("/app/officer/categories", params={"department_code": "REVENUE"})

    nameless = await rig.client.post(
        "/app/officer/categories/new?department_code=REVENUE", data={"csrf": csrf_of(page.text), "code": "REV-X"}
    )
    other = await rig.client.get("/app/officer/categories", params={"department_code": "HEALTH"})

    assert nameless.status_code == 422
    assert 'data-field="name' in nameless.text
    assert "REV-X" not in rig.routing.categories
    assert other.status_code == 200
    assert 'data-category="HEALTH_PHC"' in other.text
    assert 'data-form="create"' not in other.text, "only the department's own secretary gets the forms"
    assert 'data-status="403"' in other.text


async def test_C3_the_cell_assigns_a_case_registered_with_it(rig: Rig) -> None:
    case = rig.intake.seed(CSPGRS, district="PAT", position_id="pos-osd-cs", department="GAD")
    case.status, case.track = intake_pb2.STATUS_REGISTERED, "cspgrs"
    rig.intake.seed(REPLIED, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    english(rig, "osd_cs")

    queue = await rig.client.get("/app/officer/cell")
    key = key_of(queue.text, f"assign-{CSPGRS}")
    assigned = await rig.client.post(
        f"/app/officer/cell/{CSPGRS}/assignment",
        data={
            "csrf": csrf_of(queue.text),
            "idempotency_key": key,
            "note": "तुरंत जाँच करें",
            "report_by": "2026-12-10 17:00",
        },
    )

    assert queue.status_code == 200
    assert re.findall(r'data-case="([A-Z0-9-]+)"', queue.text) == [CSPGRS]
    assert any(
        list(r.statuses) == [intake_pb2.STATUS_REGISTERED] and list(r.tracks) == ["cspgrs"]
        for r in rig.intake.list_requests
    )
    assert (assigned.status_code, assigned.headers["location"]) == (303, f"/app/officer/cell?done={CSPGRS}")
    act = rig.sla.acts[-1]
    assert (act.WhichOneof("act"), act.assign.note, act.idempotency_key) == ("assign", "तुरंत जाँच करें", f"web-{key}")
    # 17:00 in India is 11:30 UTC.
    assert act.assign.report_by.ToDatetime().isoformat() == "2026-12-10T11:30:00"


async def test_the_officers_menu_shows_the_pages_of_their_roles(rig: Rig) -> None:
    pages = {}
    for persona in ("officer_a", "dm_a", "secretary", "osd_cs"):
        english(rig, persona)
        pages[persona] = (await rig.client.get("/app/officer")).text

    assert 'href="/app/officer/dm"' not in pages["officer_a"]
    assert 'href="/app/officer/dm"' in pages["dm_a"]
    assert 'href="/app/officer/categories"' in pages["secretary"]
    assert 'href="/app/officer/cell"' in pages["osd_cs"]


async def test_the_new_officers_pages_in_hindi_carry_no_untranslated_english(rig: Rig) -> None:
    rig.intake.seed(REPLIED, district="PAT", position_id="pos-pat-l1", department="REVENUE")
    rig.sla.seed_notice(REPLIED, "scn-201", "pos-pat-l1", replied=True)
    rig.sla.seed_breach(REPLIED, "S13", "pos-pat-l1")
    english_texts = [
        m.id
        for m in read_po((LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb"))
        if isinstance(m.id, str) and len(m.id) >= 12 and " " in m.id and "%(" not in m.id
    ]
    pages = {
        "dm_a": ["/app/officer/dm", "/app/officer/dm/transfers", "/app/officer/dm/registrations",
                 "/app/officer/dm/delegations", "/app/officer/dm/show-causes", "/app/officer/dm/breaches"],
        "secretary": ["/app/officer/categories?department_code=REVENUE"],
        "osd_cs": ["/app/officer/cell"],
    }  # fmt: skip
    for persona, paths in pages.items():
        sign_in_as(rig.client, persona)
        for path in paths:
            page = await rig.client.get(path)
            assert page.status_code == 200, path
            assert '<html lang="hi">' in page.text
            text = html.unescape(page.text)
            left = [english for english in english_texts if english in text]
            assert left == [], f"{path} in Hindi still says {left}"
