"""The pure clock engine under the shipped sahyog and bpgra policies."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nivaran_sla.clocks import ClockEngine, elapsed_deadline
from nivaran_sla.policy import Event, Policy, PolicyRegistry

POLICIES = PolicyRegistry.from_folder(Path(__file__).resolve().parents[3] / "policies")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def started(policy: Policy, *events: tuple[Event, datetime]) -> ClockEngine:
    engine = ClockEngine.for_policy(policy)
    for event, at in events:
        for need in engine.on_event(policy, event, at):
            engine.set_deadline(need.clock_id, need.generation, elapsed_deadline(need.start, need.duration))
    return engine


@pytest.fixture
def sahyog() -> Policy:
    return POLICIES.latest("sahyog")


def test_S8_l1_clock_runs_three_days_and_stops_on_forward(sahyog: Policy) -> None:
    engine = started(sahyog, (Event.ASSIGNED, T0))
    assert engine.clocks["l1_forward"].deadline == T0 + timedelta(days=3)
    engine.on_event(sahyog, Event.FORWARDED, T0 + timedelta(days=1))
    assert not engine.clocks["l1_forward"].running


def test_S9_show_cause_clock_is_due_after_ten_days_not_before(sahyog: Policy) -> None:
    engine = started(sahyog, (Event.ASSIGNED, T0), (Event.FORWARDED, T0 + timedelta(days=1)))
    start = T0 + timedelta(days=1)
    just_before = start + timedelta(days=10) - timedelta(seconds=1)
    assert "first_show_cause" not in {s.clock_id for s in engine.due(just_before)}
    assert "first_show_cause" in {s.clock_id for s in engine.due(start + timedelta(days=10))}
    _, holds = engine.fire(sahyog, "first_show_cause")
    assert holds


def test_S9_an_action_report_within_ten_days_means_no_show_cause(sahyog: Policy) -> None:
    engine = started(sahyog, (Event.ASSIGNED, T0), (Event.ACTION_REPORTED, T0 + timedelta(days=4)))
    _, holds = engine.fire(sahyog, "first_show_cause")
    assert not holds


def test_disposal_stops_every_clock(sahyog: Policy) -> None:
    engine = started(sahyog, (Event.ASSIGNED, T0), (Event.DISPOSED, T0 + timedelta(days=9, hours=23)))
    assert engine.next_due() is None


def test_S7_new_charge_rebases_personal_clocks_to_the_charge_date(sahyog: Policy) -> None:
    charge = T0 + timedelta(days=6)
    engine = started(sahyog, (Event.ASSIGNED, T0), (Event.CHARGE_TAKEN, charge))
    assert engine.clocks["first_show_cause"].deadline == charge + timedelta(days=10)
    assert engine.clocks["first_show_cause"].generation == 2
    # The DM's view (S10) runs from receipt in the office, not from the new officer's charge.
    assert engine.clocks["dm_visibility"].deadline == T0 + timedelta(days=10)


def test_B2_waiting_for_the_citizen_pauses_the_decision_clock() -> None:
    bpgra = POLICIES.latest("bpgra")
    engine = ClockEngine.for_policy(bpgra)
    for need in engine.on_event(bpgra, Event.REGISTERED, T0):
        engine.set_deadline(need.clock_id, need.generation, T0 + timedelta(days=84))
    engine.on_event(bpgra, Event.INFO_REQUESTED, T0 + timedelta(days=4))
    assert engine.clocks["decision"].deadline is None
    assert engine.clocks["decision"].paused_remaining == timedelta(days=80)
    engine.on_event(bpgra, Event.CITIZEN_RESPONDED, T0 + timedelta(days=30))
    assert engine.clocks["decision"].deadline == T0 + timedelta(days=110)


def test_a_late_deadline_for_a_moved_clock_is_ignored(sahyog: Policy) -> None:
    engine = ClockEngine.for_policy(sahyog)
    first = next(n for n in engine.on_event(sahyog, Event.ASSIGNED, T0) if n.clock_id == "first_show_cause")
    engine.on_event(sahyog, Event.FORWARDED, T0 + timedelta(days=1))
    engine.set_deadline("first_show_cause", first.generation, T0 + timedelta(days=10))
    assert engine.clocks["first_show_cause"].deadline is None


def test_migration_keeps_starts_takes_new_durations_and_drops_or_adds_clocks(sahyog: Policy) -> None:
    engine = started(sahyog, (Event.ASSIGNED, T0))
    engine.fire(sahyog, "l1_forward")
    before = engine.clocks["first_show_cause"].generation
    shorter = [c.model_copy(update={"duration": "P6D"}) if c.id == "first_show_cause" else c for c in sahyog.clocks]
    added = sahyog.clocks[0].model_copy(update={"id": "new_clock"})
    kept = [c for c in shorter if c.id != "sanction"] + [added]
    v2 = sahyog.model_copy(update={"version": sahyog.version + 1, "clocks": kept})
    needs = engine.migrate(v2)
    assert engine.policy_key == v2.key
    assert "sanction" not in engine.clocks
    assert not engine.clocks["new_clock"].running  # waits for its own start event
    assert engine.clocks["l1_forward"].fired
    assert not engine.clocks["l1_forward"].running
    need = next(n for n in needs if n.clock_id == "first_show_cause")
    assert need.start == T0
    assert need.duration == "P6D"
    assert need.generation == before + 1
    assert "l1_forward" not in {n.clock_id for n in needs}
    for n in needs:
        engine.set_deadline(n.clock_id, n.generation, elapsed_deadline(n.start, n.duration))
    assert engine.clocks["first_show_cause"].deadline == T0 + timedelta(days=6)
    assert engine.clocks["dm_visibility"].deadline == T0 + timedelta(days=10)


def test_B2_migration_leaves_a_paused_clock_its_remaining_time() -> None:
    bpgra = POLICIES.latest("bpgra")
    engine = ClockEngine.for_policy(bpgra)
    for need in engine.on_event(bpgra, Event.REGISTERED, T0):
        engine.set_deadline(need.clock_id, need.generation, T0 + timedelta(days=84))
    engine.on_event(bpgra, Event.INFO_REQUESTED, T0 + timedelta(days=4))
    needs = engine.migrate(bpgra.model_copy(update={"version": bpgra.version + 1}))
    assert "decision" not in {n.clock_id for n in needs}
    assert engine.clocks["decision"].paused_remaining == timedelta(days=80)


def test_reopen_restart_starts_every_assignment_clock_afresh_with_new_generations(sahyog: Policy) -> None:
    engine = started(sahyog, (Event.ASSIGNED, T0))
    engine.fire(sahyog, "first_show_cause")
    engine.on_event(sahyog, Event.ACTION_REPORTED, T0 + timedelta(days=11))
    engine.on_event(sahyog, Event.DISPOSED, T0 + timedelta(days=12))
    assert engine.next_due() is None
    generation = engine.clocks["first_show_cause"].generation
    back = T0 + timedelta(days=20)
    needs = engine.restart(sahyog, back)
    assigned = {c.id for c in sahyog.clocks if Event.ASSIGNED in c.start}
    assert {n.clock_id for n in needs} == assigned
    assert all(n.start == back for n in needs)
    assert engine.clocks["first_show_cause"].generation == generation + 1
    assert not engine.facts.disposed
    # The S9 condition looks at reports since the new start: the old action report does not count.
    fired, holds = engine.fire(sahyog, "first_show_cause")
    assert holds
    # Clocks started by other events (the DM's review of a reply) wait for them again.
    assert not engine.clocks["dm_review_of_reply"].running


def test_reopen_restart_also_starts_the_clocks_that_list_returned() -> None:
    """bpgra's 60-working-day decision clock runs from registration; v2 lists `returned`, so a case that comes back
    gets its 60 days afresh, while CSPGRS's cell hour (registration only) does not start again."""
    bpgra = POLICIES.latest("bpgra")
    engine = ClockEngine.for_policy(bpgra)
    engine.on_event(bpgra, Event.REGISTERED, T0)
    engine.on_event(bpgra, Event.DISPOSED, T0 + timedelta(days=20))
    back = T0 + timedelta(days=25)
    assert "decision" in {n.clock_id for n in engine.restart(bpgra, back)}
    cspgrs = POLICIES.latest("cspgrs")
    cell = ClockEngine.for_policy(cspgrs)
    cell.on_event(cspgrs, Event.REGISTERED, T0)
    cell.on_event(cspgrs, Event.ASSIGNED, T0 + timedelta(minutes=30))
    assert "register_and_assign" not in {n.clock_id for n in cell.restart(cspgrs, back)}
