"""Tracks as data: every shipped policy validates, and a bad file is refused naming the file and the field."""

from pathlib import Path

import pytest

from nivaran_sla.policy import IssueShowCause, MakeVisible, PolicyError, PolicyRegistry, load_policy_file

POLICIES = Path(__file__).resolve().parents[3] / "policies"


def test_every_track_ships_a_valid_policy() -> None:
    registry = PolicyRegistry.from_folder(POLICIES)
    assert {p.track for p in registry.all()} == {"cspgrs", "sahyog", "sahyog_camp", "bpgra", "rts_auto_appeal"}


def test_policies_cover_the_rules_they_must() -> None:
    registry = PolicyRegistry.from_folder(POLICIES)
    rules = {track: {c.rule for c in registry.latest(track).clocks} for track in ("cspgrs", "sahyog", "bpgra")}
    assert rules["cspgrs"] >= {"C4", "C7", "C8"}
    assert rules["sahyog"] >= {"S8", "S9", "S10", "S11", "S12", "S13"}
    assert rules["bpgra"] >= {"B2", "B6", "M2"}
    assert {c.rule for c in registry.latest("sahyog_camp").clocks} >= {"S1"}
    assert {c.rule for c in registry.latest("rts_auto_appeal").clocks} >= {"H1", "H2"}


def test_S9_S11_sahyog_issues_two_show_causes_and_S10_makes_the_case_visible_to_the_dm() -> None:
    sahyog = PolicyRegistry.from_folder(POLICIES).latest("sahyog")
    show_causes = [a for c in sahyog.clocks for a in c.actions if isinstance(a, IssueShowCause)]
    assert [a.number for a in show_causes] == [1, 2]
    visible = [a for c in sahyog.clocks for a in c.actions if isinstance(a, MakeVisible)]
    assert [a.role for a in visible] == ["DM"]


def test_the_demo_folder_scales_sahyog_to_seconds() -> None:
    fast = PolicyRegistry.from_folder(POLICIES / "demo-fast").latest("sahyog")
    assert {c.duration for c in fast.clocks} <= {"PT1S", "PT3S", "PT10S", "PT20S", "PT21S", "PT30S", "PT31S"}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ("duration: P10D", "duration: ten days"),
        ("calendar: calendar_days", "calendar: lunar"),
        ("type: issue_show_cause", "type: hang_the_officer"),
        ("start: [assigned, forwarded]", "start: [teleported]"),
    ],
)
def test_a_bad_policy_is_refused_naming_file_and_field(tmp_path: Path, change: str, where: str) -> None:
    text = (POLICIES / "sahyog.v1.yaml").read_text(encoding="utf-8").replace(change, where, 1)
    bad = tmp_path / "sahyog.v1.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"sahyog.v1.yaml: clocks\.\d+\."):
        load_policy_file(bad)


def test_two_versions_of_a_track_coexist_and_latest_wins(tmp_path: Path) -> None:
    source = (POLICIES / "sahyog.v1.yaml").read_text(encoding="utf-8")
    (tmp_path / "sahyog.v1.yaml").write_text(source, encoding="utf-8")
    (tmp_path / "sahyog.v2.yaml").write_text(
        source.replace("version: 1", "version: 2").replace("duration: P10D", "duration: P7D"), encoding="utf-8"
    )
    registry = PolicyRegistry.from_folder(tmp_path)
    assert registry.latest("sahyog").key == "sahyog@v2"
    assert registry.get("sahyog@v1").clocks[1].duration == "P10D"


@pytest.mark.parametrize(
    ("change", "where", "why"),
    [
        ("  - {kind: second, authority_role: COMMISSIONER, within: P30D}",
         "  - {kind: second, authority_role: COMMISSIONER, within: P45D}", "exceeds the recourse window"),
        ("recourse: {window: P30D, calendar: calendar_days, max_returns: 2, watch_reminder_every: P7D}\n", "",
         "appeals need a recourse window"),
    ],
)  # fmt: skip
def test_B4_an_appeal_must_fall_within_the_recourse_window(tmp_path: Path, change: str, where: str, why: str) -> None:
    text = (POLICIES / "bpgra.v2.yaml").read_text(encoding="utf-8")
    assert change in text
    bad = tmp_path / "bpgra.v2.yaml"
    bad.write_text(text.replace(change, where, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=why):
        load_policy_file(bad)
