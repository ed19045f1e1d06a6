"""The officer's desk end to end (issue 7): a Sahyog case and a CSPGRS case from filing to their end, through the
gateway's /v1 only, each act by the officer whose act it is, against the real suite as `make run` starts it
(scripts/devrun.py: every service, the sla worker, the Temporal dev server, the demo data of Patna and the dev seed
accounts). README.md's "Demo walk-through: the officer's desk" gives the same steps as curl.

Sahyog (FOOD, at the District Supply Officer): the officer's work list carries the case's nearest deadline and its
clock; the DSO asks the citizen for information (C6/B2: the clocks pause) and the citizen answers through /v1; the
action-taken report (S9); the disposal, after which the citizen has the outcome in the inbox and a second disposal
is refused naming the state.

CSPGRS (HOME): registered with the CS cell, which assigns it to the SSP (C3); the C4 preliminary and final reports
with their structured answers; the C5 review chain DM → the Home secretary → the OSD to the Chief Secretary, each
hop by the holder of its post (anyone else is refused); the OSD closes the case and the citizen is told (C7).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import eventually, every_page

DEV_FIXED_OTP = "123456"
DSO = ("dso.patna", "dev-dso-patna-2026")
DM = ("dm.patna", "dev-dm-patna-2026")
SSP = ("ssp.patna", "dev-ssp-patna-2026")
HOME_SECRETARY = ("secretary.home", "dev-secretary-home-2026")
OSD = ("osd.cs", "dev-osd-cs-2026")
# A phone of this test's own: the suite is shared, and OTP requests are limited per phone.
PHONE = "9876500017"
PHULWARI = {"district_code": "PAT", "subdivision_code": "PAT-SADAR", "block_code": "PAT-SADAR-PHULWARI"}


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


class Desk:
    """The REST calls of the walk, each checked."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def officer(self, username: str, password: str) -> dict[str, str]:
        signed_in = await self.http.post("/v1/auth/login", json={"username": username, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    async def citizen(self, phone: str = PHONE) -> dict[str, str]:
        asked = await self.http.post("/v1/auth/otp", json={"phone": phone})
        assert asked.status_code == 202, asked.text
        verified = await self.http.post("/v1/auth/otp/verify", json={"phone": phone, "otp": DEV_FIXED_OTP})
        assert verified.status_code == 200, verified.text
        return {"Authorization": f"Bearer {verified.json()['access_token']}"}

    async def file(self, citizen: dict[str, str], category_code: str, description: str) -> str:
        filed = await self.http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "सीता देवी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ, पटना", "phone": PHONE},
                "description": description,
                "category_code": category_code,
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**citizen, "Idempotency-Key": f"desk-{uuid.uuid4().hex}"},
        )
        assert filed.status_code == 201, filed.text
        return str(filed.json()["registration_number"])

    async def case(self, number: str, who: dict[str, str]) -> dict[str, Any]:
        read = await self.http.get(f"/v1/grievances/{number}", headers=who)
        assert read.status_code == 200, read.text
        return dict(read.json())

    async def act(
        self, who: dict[str, str], number: str, path: str, body: dict[str, Any], *, status: int = 200
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/grievances/{number}/{path}", json=body, headers={**who, "Idempotency-Key": f"act-{uuid.uuid4().hex}"}
        )
        assert response.status_code == status, f"{path}: {response.text}"
        return dict(response.json())

    async def events(self, number: str, who: dict[str, str]) -> list[str]:
        return [e["event_type"] for e in (await self.case(number, who))["timeline"]]

    async def inbox(self, who: dict[str, str]) -> list[dict[str, Any]]:
        listed = await self.http.get("/v1/me/notices", headers=who)
        assert listed.status_code == 200, listed.text
        return list(listed.json()["notices"])


async def test_C3_C4_C5_C6_C7_S9_S15_S16_desk_walk_a_sahyog_and_a_cspgrs_case_to_their_end(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        citizen = await desk.citizen()
        dso, dm = await desk.officer(*DSO), await desk.officer(*DM)

        # --- Sahyog: the DSO's case ----------------------------------------------------------------------------
        ration = await desk.file(citizen, "FOOD-RATION-CARD", "राशन कार्ड के लिए छह महीने पहले आवेदन दिया, अब तक नहीं बना।")

        listed: list[dict[str, Any]] = []

        async def on_the_work_list() -> bool:
            answer = await http.get("/v1/grievances", params={"order": "deadline"}, headers=dso)
            listed[:] = [g for g in answer.json()["grievances"] if g["registration_number"] == ration]
            return bool(listed and listed[0]["current_deadline"])

        await eventually(on_the_work_list)
        # The lifecycle's nearest deadline: the L1's 3 days to act or forward (S8).
        assert listed[0]["deadline_clock"] == "l1_forward"

        asked = await desk.act(
            dso, ration, "info-requests", {"question": "कृपया आवेदन की पावती की प्रति भेजें / send the application receipt"}
        )
        assert asked["status"] == "awaiting_citizen"
        clocks = (await http.get(f"/v1/grievances/{ration}/clocks", headers=dso)).json()["clocks"]
        # Nothing in Sahyog waits on the citizen, so no clock pauses; the act is still recorded and answered.
        assert all(not c["paused"] for c in clocks)
        answered = await desk.act(
            citizen, ration, "info-responses", {"response": "पावती संख्या 4471, दिनांक 02-06-2026 / receipt 4471"}
        )
        assert answered["status"] == "in_progress"
        # Only the complainant answers; an officer may not answer for them.
        await desk.act(dso, ration, "info-responses", {"response": "officer writing"}, status=403)

        await desk.act(
            dso,
            ration,
            "reports",
            {"kind": "action_taken", "action_taken": "आपूर्ति निरीक्षक से सत्यापन कराया गया / verified"},
        )
        # The DM can see the case but it is not the DM's to dispose of.
        resolved = {"kind": "resolved", "action_taken": "राशन कार्ड संख्या 10023 जारी / ration card 10023 issued"}
        await desk.act(dm, ration, "disposal", resolved, status=403)
        disposed = await desk.act(dso, ration, "disposal", resolved)
        assert disposed["status"] == "disposed"
        twice = await desk.act(dso, ration, "disposal", resolved, status=409)
        assert "disposed" in twice["detail"]

        events = await desk.events(ration, citizen)
        for expected in ("info_requested", "citizen_responded", "action_report", "disposed", "citizen_informed"):
            assert expected in events, (expected, events)
        after = await desk.case(ration, citizen)
        assert (after["status"], after["current_deadline"]) == ("disposed", None)
        outcome = [n for n in await desk.inbox(citizen) if n["registration_number"] == ration]
        assert any("disposed" in n["subject"]["en"] for n in outcome), outcome

        # --- CSPGRS: the SSP's case, through the C5 review chain --------------------------------------------------
        ssp, secretary, osd = await desk.officer(*SSP), await desk.officer(*HOME_SECRETARY), await desk.officer(*OSD)
        fir = await desk.file(citizen, "HOME-FIR-NOT-REGISTERED", "थाने में प्राथमिकी दर्ज नहीं की गई, तीन बार गया।")

        async def at_the_cell() -> bool:
            return bool((await desk.case(fir, citizen))["assignment"])

        # C3: the case is registered with the CS cell, which assigns it; until then the SSP does not have it.
        await eventually(at_the_cell)
        registered = await desk.case(fir, osd)
        assert (registered["status"], registered["assignment"]["position_id"]) == ("registered", "POS-BR-OSD-CS")
        await desk.act(ssp, fir, "reports", {"kind": "preliminary"}, status=404)
        assigned = await desk.act(osd, fir, "assignment", {"note": "72 घंटे में अंतिम प्रतिवेदन / final report in 72 h"})
        assert (assigned["status"], assigned["position_id"]) == ("assigned", "POS-HOME-PAT-SSP")
        await desk.act(osd, fir, "assignment", {}, status=409)
        assert (await desk.case(fir, ssp))["assignment"]["position_id"] == "POS-HOME-PAT-SSP"

        missing = await desk.act(
            ssp, fir, "reports", {"kind": "preliminary", "action_taken": "थानाध्यक्ष से प्रतिवेदन माँगा गया"}, status=422
        )
        assert {e["field"] for e in missing["errors"]} == {"concerns_office", "aware_before", "resolvable_within_72h"}
        c4 = {
            "concerns_office": True,
            "aware_before": False,
            "action_taken": "थानाध्यक्ष को प्राथमिकी दर्ज करने का निर्देश / the SHO was directed to register the FIR",
            "resolvable_within_72h": True,
            "expected_resolution_by": "2026-12-05T10:00:00+05:30",
        }
        await desk.act(ssp, fir, "reports", {"kind": "preliminary", **c4})
        # A review before any final report is refused, naming why.
        early = await desk.act(dm, fir, "reviews", {"decision": "forward", "note": "विभाग को अग्रसारित"}, status=409)
        assert "review" in early["detail"]
        final = await desk.act(ssp, fir, "reports", {"kind": "final", **c4})
        assert final["reviewer_position_id"] == "POS-PAT-DM"

        # Only the holder of the hop's post reviews: the OSD may see the case but it is the DM's hop.
        await desk.act(osd, fir, "reviews", {"decision": "close"}, status=403)
        hop2 = await desk.act(dm, fir, "reviews", {"decision": "forward", "note": "गृह विभाग को अग्रसारित / to Home"})
        assert hop2["reviewer_position_id"] == "POS-HOME-BR-SECRETARY"
        early_close = await desk.act(secretary, fir, "reviews", {"decision": "close"}, status=409)
        assert "CS cell" in early_close["detail"]
        hop3 = await desk.act(
            secretary, fir, "reviews", {"decision": "forward", "note": "मुख्य सचिव कोषांग को / to the CS cell"}
        )
        assert hop3["reviewer_position_id"] == "POS-BR-OSD-CS"
        closed = await desk.act(osd, fir, "reviews", {"decision": "close", "note": "संतोषजनक / satisfactory"})
        assert (closed["status"], closed["reviewer_position_id"]) == ("closed", "")

        events = await desk.events(fir, citizen)
        assert events.count("final_report_forwarded") == 2
        for expected in ("preliminary_report", "final_report", "final_report_reviewed", "citizen_informed"):
            assert expected in events, (expected, events)
        assert (await desk.case(fir, citizen))["status"] == "closed"
        told = [n for n in await desk.inbox(citizen) if n["registration_number"] == fir]
        assert any("closed" in n["subject"]["en"] for n in told), told
        # The DM and the secretary were each asked to review, in their inboxes.
        for reviewer in (dm, secretary, osd):
            assert any(n["registration_number"] == fir for n in await desk.inbox(reviewer))

        # S16: a notice on the portal counts as served when delivered, and opening it records when it was read.
        [review_request] = [
            n for n in await desk.inbox(secretary) if n["registration_number"] == fir and n["read_at"] is None
        ]
        assert review_request["delivered_at"] is not None
        opened = await http.get(f"/v1/me/notices/{review_request['id']}", headers=secretary)
        assert opened.status_code == 200, opened.text
        assert opened.json()["read_at"] is not None
        unread = await http.get("/v1/me/notices", params={"unread_only": "true"}, headers=secretary)
        assert review_request["id"] not in [n["id"] for n in unread.json()["notices"]]
        # Another officer's notice does not exist for the DM.
        assert (await http.get(f"/v1/me/notices/{review_request['id']}", headers=dm)).status_code == 404
        # Issue 12, item 5: the DSO's inbox read one notice at a time holds what one page of 200 holds, each notice
        # once, newest first (notify's keyset over the account and every post held).
        whole = await http.get("/v1/me/notices", params={"page_size": 200}, headers=dso)
        read = await every_page(http, "/v1/me/notices", params={"page_size": 1}, headers=dso)
        one_by_one = [n["id"] for page in read for n in page["notices"]]
        assert len(one_by_one) >= 2
        assert one_by_one == [n["id"] for n in whole.json()["notices"]]
