"""Demo accounts: seeded in the dev profile only, once, with posts that match routing's demo master data."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import Unauthenticated
from nivaran_common.settings import Profile
from nivaran_identity import SERVICE_ROOT
from nivaran_identity.seed import load_seed_file, seed_accounts

from .conftest import HarnessFactory

DEMO = SERVICE_ROOT / "seed" / "demo.yaml"
DEMO_DATA = SERVICE_ROOT.parents[1] / "data" / "demo"

# username, password, post, position role, district claim: every demo officer's login and what its token names.
OFFICERS = [
    ("dm.patna", "dev-dm-patna-2026", "POS-PAT-DM", "DM", "PAT"),
    ("dso.patna", "dev-dso-patna-2026", "POS-FOOD-PAT-DSO", "L1", "PAT"),
    ("ssp.patna", "dev-ssp-patna-2026", "POS-HOME-PAT-SSP", "L1", "PAT"),
    ("commissioner.patna", "dev-commissioner-patna-2026", "POS-PATNA-DIV-COMMISSIONER", "COMMISSIONER", ""),
    ("osd.cs", "dev-osd-cs-2026", "POS-BR-OSD-CS", "OSD_CS", ""),
    ("secretary.home", "dev-secretary-home-2026", "POS-HOME-BR-SECRETARY", "SECRETARY", ""),
    ("secretary.food", "dev-secretary-food-2026", "POS-FOOD-BR-SECRETARY", "SECRETARY", ""),
    ("dm.nalanda", "dev-dm-nalanda-2026", "POS-NAL-DM", "DM", "NAL"),
    ("deo.nalanda", "dev-deo-nalanda-2026", "POS-EDU-NAL-DEO", "L1", "NAL"),
    ("adc.patna", "dev-adc-patna-2026", "POS-REV-PAT-ADDL-COLLECTOR", "L1", "PAT"),
]


def _demo(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load((DEMO_DATA / f"{name}.yaml").read_text(encoding="utf-8"))[name]
    return rows


def _routing_view() -> dict[str, tuple[str, str, str]]:
    """Each demo post's (role, department, district) as routing's master data and identity's routing client have
    them: department and area default to the office's, level to the area's; the district is the area of the first
    district-level post of the reporting chain, the post itself first (clients.GrpcPositionDirectory)."""
    areas = {a["code"]: a for a in _demo("areas")}
    offices = {o["id"]: o for o in _demo("offices")}
    positions = {p["id"]: p for p in _demo("positions")}

    def place(position_id: str) -> tuple[str, str]:
        position = positions[position_id]
        office = offices[position["office_id"]]
        area = position.get("area_code", office["area_code"])
        return area, position.get("level", office.get("level", areas[area]["level"]))

    view: dict[str, tuple[str, str, str]] = {}
    for position_id, position in positions.items():
        district, current = "", position_id
        while current and not district:
            area, level = place(current)
            district = area if level == "district" else ""
            current = positions[current].get("reports_to_position_id", "")
        department = position.get("department_code", offices[position["office_id"]].get("department_code", ""))
        view[position_id] = (position["role"], department, district)
    return view


def test_demo_officers_hold_real_demo_posts() -> None:
    routing = _routing_view()
    seed = load_seed_file(DEMO)
    assert [(o.username, o.position_id) for o in seed.officers] == [(u, post) for u, _, post, _, _ in OFFICERS]
    for officer in seed.officers:
        assert routing[officer.position_id] == (officer.position_role, officer.department_code, officer.district_code)
        assert str(officer.charge_from) == "2026-01-01"
        assert officer.email == f"{officer.username}@nivaran.example.gov.in"
    accounts = [*seed.officers, *seed.operators]
    phones = [a.phone for a in accounts if a.phone]
    assert len(set(phones)) == len(phones)
    assert len({a.username for a in accounts}) == len(accounts)


async def test_demo_accounts_are_seeded_once_and_log_in(make_identity: HarnessFactory) -> None:
    h = await make_identity(profile=Profile.DEV)
    created = await seed_accounts(h.service, DEMO, Profile.DEV)
    assert created == [
        *(username for username, *_ in OFFICERS),
        "sahyog.patna",
        "it.admin",
        "callcentre.patna",
        "state.admin",
    ]
    assert await seed_accounts(h.service, DEMO, Profile.DEV) == []
    for username, password, post, role, district in OFFICERS:
        tokens = await h.stub.PasswordLogin(identity_pb2.PasswordLoginRequest(username=username, password=password))
        claims = await h.claims(tokens.access_token)
        assert (claims["kind"], claims["roles"], claims["positions"], claims["district"]) == (
            "officer",
            ["officer", role],
            [post],
            district,
        ), username
        assert (claims["acting_for"], claims["powers"]) == ("", [])
        assert list(tokens.account.roles) == ["officer", role]
        assert tokens.account.kind == identity_pb2.ACCOUNT_KIND_OFFICER
        holder = await h.stub.GetCurrentHolder(identity_pb2.GetCurrentHolderRequest(position_id=post))
        assert holder.account_id == tokens.account.id == claims["sub"]


@pytest.mark.parametrize("profile", [Profile.TEST, Profile.PROD])
async def test_seeding_is_refused_outside_dev(make_identity: HarnessFactory, profile: Profile) -> None:
    h = await make_identity()
    with pytest.raises(RuntimeError, match="only in the dev profile"):
        await seed_accounts(h.service, DEMO, profile)
    with pytest.raises(Unauthenticated):
        await h.service.password_login("dm.patna", "dev-dm-patna-2026", "", "")
