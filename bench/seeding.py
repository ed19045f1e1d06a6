"""Bulk seeding of intake's PostgreSQL database, for benches that need a state's worth of stored cases.

`seed_intake(url, count)` writes `count` past cases straight into intake's tables with COPY (not through the
service: a million filings through the gateway would take hours). The cases look like real ones: spread over the
demo data's districts, departments and L1 / disposing positions (`data/demo/positions.yaml`), over the years 2021 to
2025 (the current year's registration counters are left to the live service), 90 % closed or disposed and 10 % still
pending with a deadline, each with its timeline (registered, assigned and, if it ended, disposed). The registration
counters of the seeded scopes are set to the numbers used, so the service never issues one of them again (B4), and
the dashboard's kept counts (case_counts) are computed afresh from the cases.
The seeded cases have no lifecycle workflows: they stand for stored history, which is what intake's queries see.

As PostgreSQL's "Populating a Database" advises, the two tables' secondary indexes and foreign keys are dropped for
the load and built again afterwards, from their definitions as the catalogue gives them (the migrations stay the
only source of the schema); the primary keys stay.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml
from sqlalchemy.engine import make_url

from nivaran_intake import case_counts
from nivaran_intake.domain import format_registration_number, registration_scope

ROOT = Path(__file__).resolve().parents[1]
STATE = "BR"
YEARS = (2021, 2022, 2023, 2024, 2025)
OPEN_SHARE = 0.10
# (status, share of the closed ones)
ENDED = (("closed", 0.85), ("disposed", 0.12), ("rejected", 0.03))

GRIEVANCE_COLUMNS = (
    "id", "registration_number", "idempotency_key", "request_fingerprint", "status", "track", "channel",
    "category_code", "category_name_en", "category_name_hi", "subject", "description", "expected_resolution",
    "language", "state_code", "district_code", "subdivision_code", "block_code", "panchayat_code", "thana_code",
    "complainant_name", "complainant_address", "complainant_phone", "complainant_email",
    "complainant_aadhaar_masked", "complainant_aadhaar_hash", "complainant_account_id", "preferred_language",
    "filed_by_account_id", "filed_by_role", "routed_department_code", "routed_office_id", "routed_position_id",
    "routed_office_name_en", "routed_office_name_hi", "routed_position_title_en", "routed_position_title_hi",
    "routed_office_level", "service_time_limit_days", "department_code", "office_id", "office_name_en",
    "office_name_hi", "position_id", "position_title_en", "position_title_hi", "assigned_at", "current_deadline",
    "deadline_clock", "dm_visible", "visible_to_roles", "category_is_other", "workflow_id", "workflow_started_at",
    "filed_at", "updated_at", "version",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "grievance_id", "sequence", "idempotency_key", "event_type", "summary_en", "summary_hi",
    "actor_account_id", "actor_role", "actor_position_id", "actor_on_behalf_of", "actor_display_name", "payload",
    "occurred_at", "recorded_at",
)  # fmt: skip
DESCRIPTION = "मैंने छह महीने पहले आवेदन दिया था, पर अब तक कोई कार्रवाई नहीं हुई है। कृपया शीघ्र निराकरण करें।"


@dataclass(frozen=True)
class Post:
    """A position a seeded case is routed to, with its office (from the demo data)."""

    position_id: str
    title_en: str
    title_hi: str
    office_id: str
    department_code: str
    district_code: str


@dataclass(frozen=True)
class Seeded:
    cases: int
    events: int
    open_cases: int
    seconds: float
    table_mib: float


def demo_posts() -> list[Post]:
    """The demo data's L1 and disposing positions in a district (their ids read POS-<DEPT>-<DISTRICT>-...)."""
    positions = yaml.safe_load((ROOT / "data" / "demo" / "positions.yaml").read_text(encoding="utf-8"))["positions"]
    posts = []
    for p in positions:
        parts = p["id"].split("-")
        if p.get("role") in {"L1", "DISPOSING"} and len(parts) >= 4 and parts[2] in {"PAT", "NAL"}:
            posts.append(Post(p["id"], p["title_en"], p["title_hi"], p["office_id"], parts[1], parts[2]))
    if not posts:
        raise SystemExit("no district positions in data/demo/positions.yaml to route seeded cases to")
    return posts


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def seed_intake(url: str, count: int, *, seed: int = 9) -> Seeded:
    """Write `count` past cases and their timelines into intake's migrated PostgreSQL database at `url`."""
    began = time.perf_counter()
    rng = random.Random(seed)
    posts = demo_posts()
    sequences: dict[str, int] = {}
    events = open_cases = 0
    now = datetime.now(UTC)
    with psycopg.connect(_conninfo(url)) as conn:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")  # this session's commits only: a lost seed is re-run
            cur.execute("SELECT count(*) FROM grievances")
            if cur.fetchone() != (0,):
                raise SystemExit("seed_intake wants an empty intake database")
        rebuild = _drop_secondary_indexes(conn, ("grievances", "timeline_events"))
        grievances = f"COPY grievances ({', '.join(GRIEVANCE_COLUMNS)}) FROM STDIN"
        timeline = f"COPY timeline_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
        case_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []

        def flush() -> None:
            with conn.cursor() as cur:
                with cur.copy(grievances) as copy:
                    for row in case_rows:
                        copy.write_row(row)
                with cur.copy(timeline) as copy:
                    for row in event_rows:
                        copy.write_row(row)
            conn.commit()
            case_rows.clear()
            event_rows.clear()

        for i in range(count):
            post = posts[i % len(posts)]
            year = YEARS[i % len(YEARS)]
            scope = registration_scope(STATE, post.district_code, year)
            sequences[scope] = sequences.get(scope, 0) + 1
            filed = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86400))
            assigned = filed + timedelta(seconds=rng.randrange(5, 600))
            pending = rng.random() < OPEN_SHARE
            ended_at = None if pending else assigned + timedelta(days=rng.randrange(1, 40))
            status = "assigned" if pending else _ended_status(rng)
            open_cases += pending
            grievance_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            workflow_id = f"grievance-{grievance_id}"
            number = format_registration_number(scope, sequences[scope])
            case_rows.append(
                (
                    grievance_id, number, None, f"{i:064x}", status, "sahyog", "web",
                    "SEEDED", "Seeded category", "बीज श्रेणी", "", DESCRIPTION, "",
                    "hi", STATE, post.district_code, "", "", "", "",
                    f"नागरिक {i}", "पटना, बिहार", None, None,
                    None, None, None, "hi",
                    None, None, post.department_code, post.office_id, post.position_id,
                    post.office_id, post.office_id, post.title_en, post.title_hi,
                    "district", 0, post.department_code, post.office_id, post.office_id,
                    post.office_id, post.position_id, post.title_en, post.title_hi, assigned,
                    now + timedelta(days=rng.randrange(-20, 30)) if pending else None,
                    "S9" if pending else "", False, "[]", False, workflow_id, filed,
                    filed, ended_at or assigned, 3 if ended_at else 2,
                )
            )  # fmt: skip
            kinds = [("registered", filed), ("assigned", assigned)]
            if ended_at is not None:
                kinds.append((status, ended_at))
            for sequence, (kind, at) in enumerate(kinds, start=1):
                event_rows.append(
                    (
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)), grievance_id, sequence,
                        f"{workflow_id}:{kind}", kind, f"Seeded: {kind}", f"बीज: {kind}",
                        "system", "system", "", "", "", json.dumps({"seeded": True}), at, at,
                    )
                )  # fmt: skip
            events += len(kinds)
            if len(case_rows) >= 20_000:
                flush()
        flush()
        with conn.cursor() as cur:
            for statement in rebuild:
                cur.execute(statement)
            for statement in case_counts.REBUILD:  # the dashboard's kept counts, as the service keeps them
                cur.execute(statement)
            for scope, last in sequences.items():
                cur.execute(
                    "INSERT INTO registration_counters (scope, last_value) VALUES (%s, %s) "
                    "ON CONFLICT (scope) DO UPDATE SET last_value = GREATEST(registration_counters.last_value, "
                    "EXCLUDED.last_value)",
                    (scope, last),
                )
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE grievances")
            cur.execute("VACUUM ANALYZE timeline_events")
            cur.execute("SELECT pg_total_relation_size('grievances') + pg_total_relation_size('timeline_events')")
            row = cur.fetchone()
            size = float(row[0]) if row else 0.0
    return Seeded(count, events, open_cases, time.perf_counter() - began, size / 2**20)


def _drop_secondary_indexes(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' foreign keys (theirs and those pointing at them), unique constraints and plain indexes,
    keeping the primary keys; return the statements that build them again, in order."""
    names = list(tables)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype FROM pg_constraint c "
            "WHERE c.contype IN ('f', 'u') AND (c.conrelid::regclass::text = ANY(%s) "
            "OR c.confrelid::regclass::text = ANY(%s)) ORDER BY c.contype",
            (names, names),
        )
        constraints = cur.fetchall()
        cur.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            (names,),
        )
        indexes = cur.fetchall()
        # Foreign keys go first (a unique constraint may back one), and come back last.
        for table, name, _, _ in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
    conn.commit()
    uniques = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "u"]
    foreign = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "f"]
    return [*uniques, *(definition for _, definition in indexes), *foreign]


def _ended_status(rng: random.Random) -> str:
    pick = rng.random()
    for status, share in ENDED:
        if pick < share:
            return status
        pick -= share
    return ENDED[0][0]
