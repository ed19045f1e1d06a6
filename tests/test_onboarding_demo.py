"""The routing and onboarding demo (issue 4), end to end through the gateway's public REST API only.

The real suite runs as `make run` starts it (scripts/devrun.py), with the demo master data (data/demo, Patna) and the
dev seed accounts (services/identity/seed/demo.yaml): the DM `dm.patna` and the District Supply Officer `dso.patna`
(the FOOD department's L1). One walk-through, in the order README.md's "Demo walk-through" gives it:

1. S5  a filing in a department with no district office (IT) lands at the department's own post;
2. S8  the L1 forwards a case to the post below; S5 a transfer to another department waits in the DM's queue, unmoved,
       until the DM approves it, and then the case is at the other department (once, however often approved);
3. S6  a new officer registers, cannot log in before the DM approves, then logs in and sees exactly their cases;
4. S7  the officer relinquishes charge; the successor registers, is approved and takes charge, inherits the pending
       case, and its clocks run from the charge date; the DM puts the transferred officer in charge of a new post.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from _suite import RunningSuite

from nivaran_common.testing import eventually

DM = ("dm.patna", "dev-dm-patna-2026")
DSO = ("dso.patna", "dev-dso-patna-2026")
DSO_POST = "POS-FOOD-PAT-DSO"
BSO_POST = "POS-FOOD-PAT-SADAR-PHULWARI-BSO"
MOIC_POST = "POS-HEALTH-PAT-SADAR-PHULWARI-MOIC"
IT_NODAL_POST = "POS-IT-BR-NODAL"
CIVIL_SURGEON_POST = "POS-HEALTH-PAT-CIVIL-SURGEON"
PHULWARI = {"district_code": "PAT", "subdivision_code": "PAT-SADAR", "block_code": "PAT-SADAR-PHULWARI"}
NEW_PASSWORD = "phulwari-supply-2026"


def filing(category_code: str, description: str) -> dict[str, Any]:
    return {
        "complainant": {"name": "सीता देवी", "address": "ग्राम गोनपुरा, फुलवारी शरीफ, पटना", "phone": "9876543210"},
        "description": description,
        "category_code": category_code,
        "location": PHULWARI,
        "channel": "web",
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def instant(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Walk:
    """The REST calls of the walk-through, each checked."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def login(self, username: str, password: str) -> httpx.Response:
        return await self.http.post("/v1/auth/login", json={"username": username, "password": password})

    async def officer(self, username: str, password: str) -> tuple[dict[str, str], dict[str, Any]]:
        signed_in = await self.login(username, password)
        assert signed_in.status_code == 200, signed_in.text
        body = signed_in.json()
        return bearer(body["access_token"]), body

    async def file(self, category_code: str, description: str) -> str:
        filed = await self.http.post(
            "/v1/grievances",
            json=filing(category_code, description),
            headers={"Idempotency-Key": f"demo-{uuid.uuid4().hex}"},
        )
        assert filed.status_code == 201, filed.text
        number: str = filed.json()["registration_number"]
        return number

    async def case(self, number: str, who: dict[str, str]) -> dict[str, Any]:
        got = await self.http.get(f"/v1/grievances/{number}", headers=who)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    async def assigned(self, number: str, who: dict[str, str]) -> dict[str, Any]:
        """The case once its lifecycle has assigned it (the workflow's first step)."""
        seen: dict[str, Any] = {}

        async def ready() -> bool:
            # The case reaches the officer's list once its lifecycle has recorded the assignment (S8).
            got = await self.http.get(f"/v1/grievances/{number}", headers=who)
            if got.status_code == 404:
                return False
            assert got.status_code == 200, got.text
            seen.update(got.json())
            # The case and its timeline are read one after the other: under load the timeline can already show the
            # assignment that the case read just before it did not, so both must.
            return bool(seen["assignment"]) and "assigned" in [e["event_type"] for e in seen["timeline"]]

        await eventually(ready, timeout=60, every=0.25)
        return seen

    async def listed(self, who: dict[str, str]) -> set[str]:
        got = await self.http.get("/v1/grievances", headers=who)
        assert got.status_code == 200, got.text
        return {g["registration_number"] for g in got.json()["grievances"]}

    async def clock(self, number: str, who: dict[str, str], name: str) -> dict[str, Any]:
        """One clock of the case, once its lifecycle has loaded the track policy and started it."""
        found: dict[str, Any] = {}

        async def started() -> bool:
            got = await self.http.get(f"/v1/grievances/{number}/clocks", headers=who)
            assert got.status_code == 200, got.text
            found.update(next((c for c in got.json()["clocks"] if c["name"] == name), {}))
            return found.get("started_at") is not None

        await eventually(started, timeout=60, every=0.25)
        return found

    async def register(self, username: str, phone: str, position_id: str, charge_from: datetime) -> dict[str, Any]:
        asked = await self.http.post(
            "/v1/officers/registrations",
            json={
                "name": f"{username} (डेमो / demo)",
                "username": username,
                "password": NEW_PASSWORD,
                "phone": phone,
                "position_id": position_id,
                "charge_from": charge_from.isoformat(),
            },
        )
        assert asked.status_code == 201, asked.text
        body: dict[str, Any] = asked.json()
        assert body["state"] == "pending"
        return body

    async def approve(self, registration_id: str, dm: dict[str, str]) -> None:
        queue = await self.http.get("/v1/officers/registrations", headers=dm)
        assert registration_id in [r["id"] for r in queue.json()["registrations"]]
        decided = await self.http.post(
            f"/v1/officers/registrations/{registration_id}/decision",
            json={"approve": True, "note": "पदस्थापन आदेश के अनुसार / as per the posting order"},
            headers=dm,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["state"] == "approved"


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


async def test_S5_S6_S7_S8_routing_and_onboarding_demo_walk_through(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=60) as http:
        walk = Walk(http)
        dm, _ = await walk.officer(*DM)
        dso, _ = await walk.officer(*DSO)

        # --- S5: IT has no district office, so a Patna filing lands at the department's own post ---------------
        it_case = await walk.file("IT-PORTAL-SERVICE", "सेवा पोर्टल पर आवेदन जमा नहीं हो रहा है, बार-बार त्रुटि आती है।")
        at_it = (await walk.assigned(it_case, dm))["assignment"]
        assert (at_it["position_id"], at_it["department_code"]) == (IT_NODAL_POST, "IT")

        # --- S8: the L1 forwards a case to the post below -----------------------------------------------------
        forwarded = await walk.file("FOOD-RATION-CARD", "राशन कार्ड के लिए छह महीने पहले आवेदन दिया, अब तक नहीं बना।")
        assert (await walk.assigned(forwarded, dso))["assignment"]["position_id"] == DSO_POST
        window = await walk.clock(forwarded, dso, "l1_forward")  # S8: act or forward within 3 days
        assert instant(window["deadline"]) - instant(window["started_at"]) == timedelta(days=3)
        assert window["remaining_seconds"] > 0
        sent_down = await http.post(
            f"/v1/grievances/{forwarded}/forward",
            json={"to_position_id": BSO_POST, "note": "स्थल जाँच कर निष्पादित करें / inquire and dispose"},
            headers=dso,
        )
        assert sent_down.status_code == 200, sent_down.text
        assert sent_down.json()["assignment"]["position_id"] == BSO_POST
        forwarded_at = instant((await walk.clock(forwarded, dso, "first_show_cause"))["started_at"])
        window = await walk.clock(forwarded, dso, "l1_forward")
        assert (window["remaining_seconds"], window["fired"]) == (None, False)  # stopped by the forward, in time

        # --- S5: a transfer to another department waits in the DM's queue until the DM approves it -------------
        other = await walk.file(
            "FOOD-PDS-SUPPLY", "राशन दुकान के पास स्वास्थ्य शिविर में दवा नहीं मिली; यह स्वास्थ्य विभाग का विषय है।"
        )
        kept = await walk.file("FOOD-PDS-SUPPLY", "जन वितरण प्रणाली की दुकान महीने में केवल दो दिन खुलती है।")
        await walk.assigned(other, dso)
        await walk.assigned(kept, dso)
        asked = await http.post(
            f"/v1/grievances/{other}/transfer-requests",
            json={"to_department_code": "HEALTH", "reason": "दवा की शिकायत स्वास्थ्य विभाग की है / a health matter"},
            headers=dso,
        )
        assert asked.status_code == 201, asked.text
        transfer_id = asked.json()["id"]
        queue = await http.get("/v1/transfer-queue", headers=dm)
        assert [(t["id"], t["state"]) for t in queue.json()["transfers"]] == [(transfer_id, "pending")]
        waiting = await walk.case(other, dm)
        assert (waiting["assignment"]["position_id"], waiting["assignment"]["department_code"]) == (DSO_POST, "FOOD")
        assert (
            await http.post(f"/v1/transfer-queue/{transfer_id}/decision", json={"approve": True}, headers=dso)
        ).status_code == 403

        for _ in range(2):  # a second approval (a retry, a double click) must not move the case twice
            approved = await http.post(
                f"/v1/transfer-queue/{transfer_id}/decision",
                json={"approve": True, "note": "स्वास्थ्य विभाग को अंतरित / to Health"},
                headers=dm,
            )
            assert approved.status_code == 200, approved.text
            assert (approved.json()["state"], approved.json()["to_position_id"]) == ("approved", CIVIL_SURGEON_POST)
        moved = await walk.case(other, dm)
        assert (moved["assignment"]["position_id"], moved["assignment"]["department_code"]) == (
            CIVIL_SURGEON_POST,
            "HEALTH",
        )
        assert [e["event_type"] for e in moved["timeline"]].count("transferred") == 1
        assert (await http.get(f"/v1/grievances/{other}", headers=dso)).status_code == 404

        # --- S6: a new officer registers; no login until the DM approves; then exactly their cases ------------
        first_charge = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        registration = await walk.register("bso.phulwari", "+919431000101", BSO_POST, first_charge)
        too_early = await walk.login("bso.phulwari", NEW_PASSWORD)
        assert too_early.status_code == 422, too_early.text
        assert "approval" in too_early.json()["detail"]
        await walk.approve(registration["id"], dm)
        bso, signed_in = await walk.officer("bso.phulwari", NEW_PASSWORD)
        bso_account = signed_in["account"]["id"]
        assert await walk.listed(bso) == {forwarded}
        for elsewhere in (other, kept, it_case):  # another department's, another post's, the department-level one
            assert (await http.get(f"/v1/grievances/{elsewhere}", headers=bso)).status_code == 404

        # --- S7: relinquish; the successor registers, is approved, takes charge and inherits the case ----------
        left = await http.post(
            f"/v1/officers/{bso_account}/relinquish",
            json={
                "position_id": BSO_POST,
                "relinquish_at": datetime.now(UTC).isoformat(),
                "transfer_order_number": "खाद्य/स्था/2026/41",
                "transfer_order_date": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
            },
            headers=bso,
        )
        assert left.status_code == 200, left.text
        assert (await walk.login("bso.phulwari", NEW_PASSWORD)).status_code == 403  # no post left: login disabled

        # A charge date just ahead, so the re-based clocks must start exactly there (S7), not at "now".
        charge_from = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
        successor_registration = await walk.register("bso2.phulwari", "+919431000102", BSO_POST, charge_from)
        await walk.approve(successor_registration["id"], dm)
        successor, successor_signed_in = await walk.officer("bso2.phulwari", NEW_PASSWORD)
        confirmed = await http.post(
            f"/v1/officers/{successor_signed_in['account']['id']}/take-charge",
            json={"position_id": BSO_POST, "charge_from": charge_from.isoformat()},
            headers=successor,
        )
        assert confirmed.status_code == 200, confirmed.text
        assert await walk.listed(successor) == {forwarded}

        async def rebased() -> bool:
            clock = await walk.clock(forwarded, successor, "first_show_cause")
            return instant(clock["started_at"]) == charge_from

        await eventually(rebased, timeout=60, every=0.5)
        clock = await walk.clock(forwarded, successor, "first_show_cause")
        assert instant(clock["started_at"]) > forwarded_at
        assert instant(clock["deadline"]) == charge_from + timedelta(days=10)  # S9: 10 calendar days from charge
        timeline = [e["event_type"] for e in (await walk.case(forwarded, successor))["timeline"]]
        assert "charge_taken" in timeline

        # The DM puts the transferred officer in charge of a post elsewhere in the district (S6 regulator, S7).
        posted = await http.post(
            f"/v1/officers/{bso_account}/take-charge",
            json={"position_id": MOIC_POST, "charge_from": datetime.now(UTC).isoformat()},
            headers=dm,
        )
        assert posted.status_code == 200, posted.text
        _, again = await walk.officer("bso.phulwari", NEW_PASSWORD)
        me = await http.get("/v1/me", headers=bearer(again["access_token"]))
        assert me.json()["positions"] == [MOIC_POST]


def test_S17_the_powers_a_dm_may_delegate_are_exactly_those_the_gateway_checks() -> None:
    """Identity refuses any power outside its list; the gateway's routes check these names (S17)."""
    from nivaran_common import auth as gateway_auth
    from nivaran_gateway.schemas.officers import Power
    from nivaran_identity import domain as identity_domain

    checked = {gateway_auth.POWER_DECIDE_REGISTRATIONS, gateway_auth.POWER_MODERATE_TRANSFERS,
               gateway_auth.POWER_READ_DISTRICT}  # fmt: skip
    assert set(identity_domain.DELEGABLE_POWERS) == checked
    assert set(gateway_auth.DELEGABLE_POWERS) == checked
    assert {p.value for p in Power} == checked
    assert not checked & identity_domain.NON_DELEGABLE_POWERS
