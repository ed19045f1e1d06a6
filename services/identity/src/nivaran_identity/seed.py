"""Demo accounts for the dev profile: officers holding posts, and operators with account roles. Refused elsewhere.

The file is YAML (see services/identity/seed/demo.yaml). Each officer names the post's role, department and district
as routing's master data has them (no district for a post above districts: a commissioner, the OSD, a secretary), so
seeding does not depend on routing being up; seeding twice changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from nivaran_common.logging import get_logger
from nivaran_common.settings import Profile
from nivaran_common.timeutil import IST, as_utc
from nivaran_identity.domain import PositionInfo
from nivaran_identity.service import IdentityService

log = get_logger(__name__)


class _Account(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    name: str
    password: str
    phone: str = ""
    email: str = ""


class SeedOfficer(_Account):
    position_id: str
    position_role: str
    district_code: str = ""
    department_code: str = ""
    charge_from: date
    roles: list[str] = Field(default_factory=list)


class SeedOperator(_Account):
    roles: list[str] = Field(default_factory=list)
    department_code: str = ""
    district_code: str = ""


class SeedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officers: list[SeedOfficer] = Field(default_factory=list)
    operators: list[SeedOperator] = Field(default_factory=list)


def load_seed_file(path: Path) -> SeedFile:
    """Parse and check a seed file."""
    return SeedFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


async def seed_accounts(service: IdentityService, path: Path, profile: Profile) -> list[str]:
    """Create the file's accounts that do not exist yet; the usernames created."""
    if profile is not Profile.DEV:
        raise RuntimeError(f"demo accounts are seeded only in the dev profile, not in {profile.value}")
    seed = load_seed_file(path)
    created: list[str] = []
    for officer in seed.officers:
        position = PositionInfo(
            id=officer.position_id,
            role=officer.position_role,
            department_code=officer.department_code,
            district_code=officer.district_code,
        )
        # A charge date is a day in India: it starts at midnight IST.
        charge_from = as_utc(datetime.combine(officer.charge_from, time(0, 0), tzinfo=IST))
        if await service.seed_officer(
            username=officer.username,
            name=officer.name,
            password=officer.password,
            phone=officer.phone,
            email=officer.email,
            position=position,
            charge_from=charge_from,
            extra_roles=officer.roles,
        ):
            created.append(officer.username)
    for operator in seed.operators:
        if await service.seed_operator(
            username=operator.username,
            name=operator.name,
            password=operator.password,
            phone=operator.phone,
            email=operator.email,
            roles=operator.roles,
            department_code=operator.department_code,
            district_code=operator.district_code,
        ):
            created.append(operator.username)
    log.info("demo accounts seeded", file=str(path), created=created)
    return created
