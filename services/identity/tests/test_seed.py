"""Demo accounts: seeded in the dev profile only, once, with posts that match routing's demo master data."""

from __future__ import annotations

import pytest
import yaml

from nivaran.identity.v1 import identity_pb2
from nivaran_common.errors import Unauthenticated
from nivaran_common.settings import Profile
from nivaran_identity import SERVICE_ROOT
from nivaran_identity.seed import load_seed_file, seed_accounts

from .conftest import HarnessFactory

DEMO = SERVICE_ROOT / "seed" / "demo.yaml"
POSITIONS = SERVICE_ROOT.parents[1] / "data" / "demo" / "positions.yaml"


def test_demo_officers_hold_real_demo_posts() -> None:
    positions = {p["id"]: p for p in yaml.safe_load(POSITIONS.read_text(encoding="utf-8"))["positions"]}
    seed = load_seed_file(DEMO)
    assert {o.position_id for o in seed.officers} == {"POS-PAT-DM", "POS-FOOD-PAT-DSO"}
    for officer in seed.officers:
        assert positions[officer.position_id]["role"] == officer.position_role


async def test_demo_accounts_are_seeded_once_and_log_in(make_identity: HarnessFactory) -> None:
    h = await make_identity(profile=Profile.DEV)
    created = await seed_accounts(h.service, DEMO, Profile.DEV)
    assert created == ["dm.patna", "dso.patna", "sahyog.patna", "it.admin"]
    assert await seed_accounts(h.service, DEMO, Profile.DEV) == []
    tokens = await h.stub.PasswordLogin(
        identity_pb2.PasswordLoginRequest(username="dm.patna", password="dev-dm-patna-2026")
    )
    claims = await h.claims(tokens.access_token)
    assert (claims["roles"], claims["positions"], claims["district"]) == (["officer", "DM"], ["POS-PAT-DM"], "PAT")
    dso = await h.stub.PasswordLogin(
        identity_pb2.PasswordLoginRequest(username="dso.patna", password="dev-dso-patna-2026")
    )
    holder = await h.stub.GetCurrentHolder(identity_pb2.GetCurrentHolderRequest(position_id="POS-FOOD-PAT-DSO"))
    assert holder.account_id == dso.account.id


@pytest.mark.parametrize("profile", [Profile.TEST, Profile.PROD])
async def test_seeding_is_refused_outside_dev(make_identity: HarnessFactory, profile: Profile) -> None:
    h = await make_identity()
    with pytest.raises(RuntimeError, match="only in the dev profile"):
        await seed_accounts(h.service, DEMO, profile)
    with pytest.raises(Unauthenticated):
        await h.service.password_login("dm.patna", "dev-dm-patna-2026", "", "")
