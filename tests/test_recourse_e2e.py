"""The citizen's recourse end to end (issue 10), through the gateway's /v1 only, against the real suite as `make run`
starts it (the shared suite of tests/conftest.py: every service, the sla worker, the Temporal dev server, the demo
data of Patna and the dev seed accounts, the shipped v2 policies with their 30-day recourse window). README.md's
officer's-desk walk-through, step 7, gives the same steps as curl.

One Sahyog case, one registration number: disposed by the DSO; the DM is told of the claimed resolution (H3); the
citizen's feedback says it is not fixed, so it is unresolved and back with the DSO with fresh clocks; disposed again;
the call centre calls and records the call; the citizen reopens it; disposed a third time; the DSO keeps it under
watch (M4) and the DM lists the open item until the DSO's report; the DM accepts the action-taken report (H3),
closing it; the DM's figures count it as "closed — not fixed", not as disposed.

A case under the Act (bpgra) walks the same way and then goes to appeal: the DM fixes the collectorate's hearing day
and a hearing, the notice board shows it to anyone, the DM records the attendance, the absence counts in the weekly
report, and only then decides (B4, B7, M3, M2).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite
from test_desk_e2e import DM, DSO, PHULWARI, Desk

from nivaran_common.testing import eventually
from nivaran_common.timeutil import IST

CALL_CENTRE = ("callcentre.patna", "dev-callcentre-patna-2026")
# A phone of this test's own: the suite is shared, and OTP requests are limited per phone.
PHONE = "9876510129"
# S4: the service application's acknowledgement, a (tiny) PDF.
ACKNOWLEDGEMENT = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
RESOLVED = {"kind": "resolved", "action_taken": "राशन कार्ड संख्या 10077 जारी / ration card 10077 issued"}


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


async def file(http: httpx.AsyncClient, citizen: dict[str, str]) -> str:
    filed = await http.post(
        "/v1/grievances",
        json={
            "complainant": {"name": "गीता कुमारी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ, पटना", "phone": PHONE},
            "description": "राशन कार्ड में परिवार के सदस्यों के नाम नहीं जोड़े गए, दो बार आवेदन दिया।",
            "category_code": "FOOD-RATION-CARD",
            "location": PHULWARI,
            "channel": "web",
        },
        headers={**citizen, "Idempotency-Key": f"recourse-{datetime.now(UTC).timestamp()}"},
    )
    assert filed.status_code == 201, filed.text
    return str(filed.json()["registration_number"])


async def figures(http: httpx.AsyncClient, dm: dict[str, str]) -> dict[str, Any]:
    read = await http.get("/v1/dashboard", headers=dm)
    assert read.status_code == 200, read.text
    return dict(read.json())


async def test_H3_reopen_feedback_unresolved_call_centre_and_reopen_on_one_registration_number(
    suite: RunningSuite,
) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        citizen = await desk.citizen(PHONE)
        stranger = await desk.citizen("9876510131")
        dso, dm = await desk.officer(*DSO), await desk.officer(*DM)
        number = await file(http, citizen)

        async def with_the_dso() -> bool:
            read = await http.get(f"/v1/grievances/{number}", headers=dso)
            return read.status_code == 200

        await eventually(with_the_dso)
        # Nothing to reopen or rate while the case is open: 409, naming why.
        early = await desk.act(citizen, number, "reopen", {"reason": "कार्ड अब तक नहीं मिला / no card yet"}, status=409)
        assert "disposed or closed" in early["detail"]
        before = await figures(http, dm)

        # --- disposed; the DM hears of the claimed resolution (H3) ------------------------------------------------
        assert (await desk.act(dso, number, "disposal", RESOLVED))["status"] == "disposed"

        async def dm_told() -> bool:
            return any(n["registration_number"] == number and "H3" in n["subject"]["en"] for n in await desk.inbox(dm))

        await eventually(dm_told)

        # --- the citizen's feedback contradicts it: unresolved, back with the DSO with fresh clocks ----------------
        await desk.act(stranger, number, "feedback", {"rating": 1, "resolved": False}, status=404)
        bad = await desk.act(citizen, number, "feedback", {"rating": 9, "resolved": False}, status=422)
        assert {e["field"] for e in bad["errors"]} == {"rating"}
        returned_at = datetime.now(UTC)
        unresolved = await desk.act(
            citizen, number, "feedback", {"rating": 2, "resolved": False, "comment": "नाम अब भी नहीं जुड़े"}
        )
        assert (unresolved["status"], unresolved["position_id"]) == ("unresolved", "POS-FOOD-PAT-DSO")
        clocks = {
            c["name"]: c for c in (await http.get(f"/v1/grievances/{number}/clocks", headers=dso)).json()["clocks"]
        }
        show_cause = clocks["first_show_cause"]
        assert show_cause["deadline"] is not None
        due = datetime.fromisoformat(show_cause["deadline"])
        assert abs(due - (returned_at + timedelta(days=10))) < timedelta(minutes=5)

        async def dso_told() -> bool:
            return any(
                n["registration_number"] == number and "came back" in n["subject"]["en"] for n in await desk.inbox(dso)
            )

        await eventually(dso_told)

        # --- disposed again; the call centre calls the citizen and records the call --------------------------------
        assert (await desk.act(dso, number, "disposal", RESOLVED))["status"] == "disposed"
        call_centre = await desk.officer(*CALL_CENTRE)
        seen = await http.get(f"/v1/grievances/{number}", headers=call_centre)
        assert seen.status_code == 200, seen.text
        missing = await desk.act(call_centre, number, "feedback", {"call_outcome": "satisfied"}, status=422)
        assert {e["field"] for e in missing["errors"]} == {"recording_ref"}
        called = await desk.act(
            call_centre, number, "feedback", {"call_outcome": "satisfied", "recording_ref": "IVR-2026-000042"}
        )
        assert called["status"] == "disposed"
        # Officers do not give feedback; they may not reopen either.
        await desk.act(dso, number, "feedback", {"rating": 5, "resolved": True}, status=403)
        await desk.act(dso, number, "reopen", {"reason": "officer trying to reopen"}, status=403)

        # --- the citizen reopens it anyway, with a reason ------------------------------------------------------------
        short = await desk.act(citizen, number, "reopen", {"reason": "no"}, status=422)
        assert {e["field"] for e in short["errors"]} == {"reason"}
        reopened = await desk.act(citizen, number, "reopen", {"reason": "कार्ड में नाम गलत छपा / the name is misspelt"})
        assert (reopened["status"], reopened["position_id"]) == ("reopened", "POS-FOOD-PAT-DSO")
        assert (await desk.act(dso, number, "disposal", RESOLVED))["status"] == "disposed"

        case = await desk.case(number, citizen)
        assert case["registration_number"] == number
        events = [e["event_type"] for e in case["timeline"]]
        for expected in ("feedback_recorded", "unresolved", "reopened"):
            assert expected in events, (expected, events)
        assert events.count("disposed") == 3
        assert events.count("feedback_recorded") == 2
        calls = [e for e in case["timeline"] if e["event_type"] == "feedback_recorded"]
        assert calls[1]["details"]["recording_ref"] == "IVR-2026-000042"
        assert calls[0]["details"] == {
            "source": "citizen",
            "rating": 2,
            "resolved": False,
            "comment": "नाम अब भी नहीं जुड़े",
            "returns_the_case": True,
        }

        # --- M4: the DSO keeps it under watch; the DM lists the open item until the report ----------------------
        item = "अतिक्रमण वाद 14/2026 दर्ज, हटाना शेष / encroachment case registered, removal pending"
        await desk.act(citizen, number, "watch", {"item": item}, status=403)
        watched = await desk.act(dso, number, "watch", {"item": item})
        assert watched["status"] == "disposed"
        await desk.act(dso, number, "watch", {"item": item}, status=409)

        async def listed_for_the_dm() -> list[dict[str, Any]]:
            read = await http.get("/v1/grievances", params={"watch_open_only": "true"}, headers=dm)
            assert read.status_code == 200, read.text
            return [g for g in read.json()["grievances"] if g["registration_number"] == number]

        [open_item] = await listed_for_the_dm()
        assert open_item["watch_item"] == item
        assert open_item["returns"] == 2
        await desk.act(dso, number, "watch/report", {"report": "अतिक्रमण हटाया गया / removed, report attached"})
        assert await listed_for_the_dm() == []
        closed = [e for e in (await desk.case(number, dm))["timeline"] if e["event_type"] == "watch_closed"]
        assert closed[0]["details"]["item"] == item

        # --- H3: the DM, with the call's record before them, accepts the action-taken report: closed -------------
        seen_by_dm = [e for e in (await desk.case(number, dm))["timeline"] if e["event_type"] == "feedback_recorded"]
        assert seen_by_dm[1]["details"]["recording_ref"] == "IVR-2026-000042"
        await desk.act(dso, number, "atr-acceptance", {}, status=403)  # not the officer's own report
        accepted = await desk.act(dm, number, "atr-acceptance", {"note": "कॉल रिकॉर्ड देखा / call record seen"})
        assert accepted["status"] == "closed"
        await desk.act(dm, number, "atr-acceptance", {}, status=409)

        # --- the DM's figures: a case that came back is "closed — not fixed", not among the resolved ---------------
        after = await figures(http, dm)
        assert after["closed_not_fixed"] == before["closed_not_fixed"] + 1
        assert after["disposed"] == before["disposed"]


async def test_a_repeated_filing_is_suggested_as_a_duplicate_and_the_officer_closes_it(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        phone = "9876510137"
        citizen = await desk.citizen(phone)
        dso = await desk.officer(*DSO)

        async def filed(description: str) -> dict[str, Any]:
            answer = await http.post(
                "/v1/grievances",
                json={
                    "complainant": {"name": "रीना देवी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ", "phone": phone},
                    "description": description,
                    "category_code": "FOOD-RATION-CARD",
                    "location": PHULWARI,
                    "channel": "web",
                },
                headers={**citizen, "Idempotency-Key": f"dup-{datetime.now(UTC).timestamp()}"},
            )
            assert answer.status_code == 201, answer.text
            return dict(answer.json())

        first = await filed("डीलर ने तीन महीने से राशन नहीं दिया, शिकायत करने पर धमकी देता है।")
        second = await filed("तीन महीने से राशन नहीं दिया डीलर ने, शिकायत करने पर वह धमकी देता है। कृपया कार्रवाई करें।")
        assert first["possible_duplicates"] == []
        [suggested] = second["possible_duplicates"]
        assert suggested["registration_number"] == first["registration_number"]
        number = second["registration_number"]

        async def seen_by_the_dso() -> bool:
            return (await http.get(f"/v1/grievances/{number}", headers=dso)).status_code == 200

        await eventually(seen_by_the_dso)
        on_the_desk = await desk.case(number, dso)
        assert [d["registration_number"] for d in on_the_desk["possible_duplicates"]] == [first["registration_number"]]

        unknown = await desk.act(
            dso, number, "duplicate-of", {"original_registration_number": "BR-PAT-2026-0999999-1"}, status=422
        )
        assert {e["field"] for e in unknown["errors"]} == {"original_registration_number"}
        await desk.act(
            citizen, number, "duplicate-of", {"original_registration_number": first["registration_number"]}, status=403
        )
        closed = await desk.act(
            dso,
            number,
            "duplicate-of",
            {"original_registration_number": first["registration_number"], "note": "एक ही डीलर"},
        )
        assert closed["status"] == "closed"
        timeline = (await desk.case(number, citizen))["timeline"]
        [marked] = [e for e in timeline if e["event_type"] == "marked_duplicate"]
        assert marked["details"]["duplicate_of"] == first["registration_number"]

        async def told() -> bool:
            inbox = await desk.inbox(citizen)
            return any(
                n["registration_number"] == number and first["registration_number"] in n["subject"]["en"] for n in inbox
            )

        await eventually(told)
        # The original is untouched.
        assert (await desk.case(first["registration_number"], citizen))["status"] != "closed"


async def test_S4_a_service_delay_complaint_waits_for_the_limit_and_carries_its_application(
    suite: RunningSuite,
) -> None:
    """REV-CERTIFICATE-DELAY is a notified service with a 21-day limit (data/demo/categories.yaml)."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        today = datetime.now(UTC).date()

        def complaint(applied_days_ago: int | None) -> dict[str, Any]:
            body: dict[str, Any] = {
                "complainant": {"name": "मोहन प्रसाद", "address": "ग्राम गोनपुरा, फुलवारी शरीफ, पटना"},
                "description": "जाति प्रमाण पत्र का आवेदन समय सीमा बीत जाने पर भी निष्पादित नहीं हुआ।",
                "category_code": "REV-CERTIFICATE-DELAY",
                "location": PHULWARI,
                "channel": "web",
            }
            if applied_days_ago is not None:
                body["service_application"] = {
                    "application_number": "RTPS/PAT/2026/004471",
                    "applied_on": (today - timedelta(days=applied_days_ago)).isoformat(),
                    "status": "अंचल कार्यालय में लंबित / pending at the circle office",
                    "acknowledgement_pdf": base64.b64encode(ACKNOWLEDGEMENT).decode(),
                    "acknowledgement_file_name": "RTPS-004471-receipt.pdf",
                }
            return body

        async def file(body: dict[str, Any]) -> httpx.Response:
            return await http.post(
                "/v1/grievances", json=body, headers={"Idempotency-Key": f"s4-{datetime.now(UTC).timestamp()}"}
            )

        missing = await file(complaint(None))
        assert missing.status_code == 422, missing.text
        assert [e["field"] for e in missing.json()["errors"]] == ["service_application"]
        early = await file(complaint(10))
        assert early.status_code == 422, early.text
        [error] = early.json()["errors"]
        assert error["field"] == "service_application.applied_on"
        assert "21 days" in error["detail"]
        unacknowledged = complaint(30)
        del unacknowledged["service_application"]["acknowledgement_pdf"]
        no_pdf = await file(unacknowledged)
        assert no_pdf.status_code == 422, no_pdf.text
        assert [e["field"] for e in no_pdf.json()["errors"]] == ["service_application.acknowledgement_pdf"]
        late = await file(complaint(30))
        assert late.status_code == 201, late.text
        filed = late.json()
        assert filed["track"] == "rts_auto_appeal"
        assert filed["service_application"]["application_number"] == "RTPS/PAT/2026/004471"
        # H2: the designated officer (Revenue's L1 in Patna) uploads the interim reply with the new application.
        adc = await Desk(http).officer("adc.patna", "dev-adc-patna-2026")
        number = filed["registration_number"]

        async def with_the_adc() -> bool:
            return (await http.get(f"/v1/grievances/{number}", headers=adc)).status_code == 200

        await eventually(with_the_adc)
        files = await http.get(f"/v1/grievances/{number}/attachments", headers=adc)
        assert files.status_code == 200, files.text
        [receipt] = files.json()["attachments"]  # S4: the acknowledgement travels with the complaint
        assert (receipt["file_name"], receipt["content_type"]) == ("RTPS-004471-receipt.pdf", "application/pdf")
        reply = {
            "reply": "आवेदक से बात कर आरटीपीएस काउंटर पर पुनः आवेदन कराया / applied again at the RTPS counter",
            "called_on": today.isoformat(),
            "application": {"application_number": "RTPS/PAT/2026/009911", "applied_on": today.isoformat(),
                            "status": "received"},
        }  # fmt: skip
        replied = await Desk(http).act(adc, number, "interim-reply", reply)
        assert (replied["act"], replied["status"]) == ("interim_reply", "in_progress")
        await Desk(http).act(adc, number, "interim-reply", reply, status=409)
        events = [e["event_type"] for e in (await Desk(http).case(number, adc))["timeline"]]
        assert "interim_reply_uploaded" in events
        # Any other category: no service application.
        wrong = await file({**complaint(30), "category_code": "FOOD-RATION-CARD"})
        assert wrong.status_code == 422, wrong.text
        assert [e["field"] for e in wrong.json()["errors"]] == ["service_application"]


async def test_B4_H3_a_case_under_the_act_returns_twice_then_is_appealed_and_decided_on_one_number(
    suite: RunningSuite,
) -> None:
    """The issue's walk on one registration number: closed, the feedback contradicts it and it returns; closed
    again, reopened, closed; then a first appeal to the DM, a hearing with the public authority's attendance (B7,
    M3), and the DM's decision in Form-3's fields."""
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        phone = "9876510141"
        citizen = await desk.citizen(phone)
        adc, dm = await desk.officer("adc.patna", "dev-adc-patna-2026"), await desk.officer(*DM)
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "रामेश्वर सिंह", "address": "ग्राम गोनपुरा, फुलवारी शरीफ", "phone": phone},
                "description": "सरकारी तालाब की भूमि पर अतिक्रमण कर दीवार खड़ी कर दी गई है।",
                "category_code": "REV-ENCROACHMENT",
                "location": {"district_code": "PAT"},
            },
            headers={**citizen, "Idempotency-Key": f"act-{datetime.now(UTC).timestamp()}"},
        )
        assert filed.status_code == 201, filed.text
        number = filed.json()["registration_number"]
        assert filed.json()["track"] == "bpgra"

        async def with_the_adc() -> bool:
            return (await http.get(f"/v1/grievances/{number}", headers=adc)).status_code == 200

        await eventually(with_the_adc)
        removed = {"kind": "resolved", "action_taken": "अतिक्रमण हटाने का आदेश पारित / removal ordered"}
        assert (await desk.act(adc, number, "disposal", removed))["status"] == "disposed"
        back = await desk.act(citizen, number, "feedback", {"rating": 1, "resolved": False, "comment": "दीवार खड़ी है"})
        assert back["status"] == "unresolved"
        assert (await desk.act(adc, number, "disposal", removed))["status"] == "disposed"
        again = await desk.act(citizen, number, "reopen", {"reason": "दीवार अब भी खड़ी है / the wall still stands"})
        assert again["status"] == "reopened"
        assert (await desk.act(adc, number, "disposal", removed))["status"] == "disposed"

        await desk.act(
            citizen, number, "appeals", {"kind": "second", "grounds": "दूसरी अपील पहले / second first"}, status=409
        )
        appealed = await desk.act(
            citizen, number, "appeals", {"kind": "first", "grounds": "आदेश का पालन नहीं हुआ / the order is not obeyed"}
        )
        assert (appealed["status"], appealed["act"]) == ("under_appeal", "appeal")
        decision = {"decision": "allowed", "findings": "स्थल जाँच में दीवार पाई गई / the wall was found on site",
                    "directions": "15 दिनों में हटाएँ / remove it in 15 days"}  # fmt: skip
        await desk.act(adc, number, "appeals/decision", decision, status=403)
        unheard = await desk.act(dm, number, "appeals/decision", decision, status=409)
        assert "heard" in unheard["detail"]
        await hearing_held(http, desk, dm, number)
        decided = await desk.act(dm, number, "appeals/decision", decision)
        assert decided["status"] == "disposed"

        case = await desk.case(number, citizen)
        assert case["registration_number"] == number
        events = [e["event_type"] for e in case["timeline"]]
        walk = ("unresolved", "reopened", "appeal_filed", "hearing_scheduled", "hearing_held", "appeal_decided")
        for expected in walk:
            assert expected in events, (expected, events)
        assert events.count("disposed") == 3
        assert case["returns"] == 2


COLLECTORATE = "OFF-PAT-COLLECTORATE"  # the DM's office (data/demo/positions.yaml)
ADC_POST = "POS-REV-PAT-ADDL-COLLECTOR"


async def hearing_held(http: httpx.AsyncClient, desk: Desk, dm: dict[str, str], number: str) -> None:
    """B7 / M3 / M2: the DM fixes the collectorate's hearing day as today (rule 6; so the walk need not wait for a
    weekday) and a hearing of the appeal today; the public notice board (Form-4) shows it with no personal data; the
    DM records it heard with the ADC (whose decision is appealed) absent, and the weekly report counts the absence."""
    today = datetime.now(IST).date()
    weekday = today.strftime("%A").lower()
    fixed = await http.put(f"/v1/offices/{COLLECTORATE}/hearing-day", json={"weekday": weekday}, headers=dm)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["hearing_day"] == weekday
    tomorrow = (today + timedelta(days=1)).isoformat()
    off_day = await desk.act(dm, number, "hearings", {"held_on": tomorrow, "at": "11:00"}, status=409)
    assert weekday.capitalize() in off_day["detail"]
    await desk.act(dm, number, "hearings", {"held_on": today.isoformat(), "at": "11:00"})

    board = await http.get(f"/v1/offices/{COLLECTORATE}/notice-board")  # no sign-in: a public notice board
    assert board.status_code == 200, board.text
    assert (board.json()["form"], board.json()["office"]["hearing_day"]) == ("Form-4", weekday)
    [entry] = [h for h in board.json()["hearings"] if h["registration_number"] == number]
    assert (entry["stage"], entry["status"], entry["held_on"]) == ("first", "scheduled", today.isoformat())
    assert entry["public_authority"]["en"] == "Additional Collector, Patna"
    assert "रामेश्वर" not in board.text  # the complainant's name is not on a public board

    attendance = {"outcome": "heard", "complainant_present": True, "public_authority_present": False,
                  "proceedings": "परिवादी को सुना गया; अपर समाहर्ता अनुपस्थित / the ADC absent"}  # fmt: skip
    await desk.act(dm, number, "hearings/H1/attendance", attendance)
    await desk.act(dm, number, "hearings/H1/attendance", attendance, status=409)  # recorded once

    async def absence_counted() -> bool:
        report = await http.get("/v1/reports/hearing-absences", headers=dm)
        assert report.status_code == 200, report.text
        return any(r["position_id"] == ADC_POST and r["absences"] >= 1 for r in report.json()["authorities"])

    await eventually(absence_counted)
    after = await http.get(f"/v1/offices/{COLLECTORATE}/notice-board", params={"from_date": today.isoformat()})
    assert [h["status"] for h in after.json()["hearings"] if h["registration_number"] == number] == ["heard"]
