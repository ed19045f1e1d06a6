"""Tracks as versioned data: a policy file names each clock of a track, what starts, stops, pauses and re-bases
it, how long it runs on which calendar, and what happens when it expires. A state adds a track, or changes a
duration, by dropping a file in the policy folder; no code changes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nivaran_sla.deadlines import CalendarError, CalendarKind, parse_duration


class Event(StrEnum):
    """Case events a clock can start, stop, pause, resume or re-base on."""

    REGISTERED = "registered"
    ASSIGNED = "assigned"
    FORWARDED = "forwarded"
    TRANSFERRED = "transferred"
    CHARGE_TAKEN = "charge_taken"
    ACTION_REPORTED = "action_reported"
    PRELIMINARY_REPORTED = "preliminary_reported"
    FINAL_REPORTED = "final_reported"
    DISPOSED = "disposed"
    REJECTED = "rejected"
    INFO_REQUESTED = "info_requested"
    CITIZEN_RESPONDED = "citizen_responded"
    SHOW_CAUSE_ISSUED = "show_cause_issued"
    SHOW_CAUSE_REPLIED = "show_cause_replied"
    RECOMMENDED = "recommended"
    ESCALATED = "escalated"
    FINAL_REPORT_REVIEWED = "final_report_reviewed"
    # C5: a reviewer sends the final report on to the next hop, or returns it to the officer.
    REVIEW_FORWARDED = "review_forwarded"
    REVIEW_RETURNED = "review_returned"
    CLOSED = "closed"
    INTERIM_ORDER_ISSUED = "interim_order_issued"
    INTERIM_REPLY_UPLOADED = "interim_reply_uploaded"
    COMMISSIONER_ACTED = "commissioner_acted"
    CITIZEN_INFORMED = "citizen_informed"
    # Issue 10: the ended case came back to its officer (reopened, or unresolved on feedback). Every clock that starts
    # on assignment starts again; a clock that starts on registration starts again only if it lists this event.
    RETURNED = "returned"
    # B4: an appeal (first, second, revision) filed on the same registration number, and its decision.
    APPEAL_FILED = "appeal_filed"
    APPEAL_DECIDED = "appeal_decided"


class Condition(StrEnum):
    """A check made when a clock expires; the actions run only when it holds."""

    ALWAYS = "always"
    NO_ACTION_REPORT_SINCE_START = "no_action_report_since_start"
    NOT_DISPOSED = "not_disposed"
    NO_FINAL_REPORT = "no_final_report"
    NO_INFO_RECEIVED = "no_info_received"


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")

    en: str = Field(min_length=1)
    hi: str = Field(min_length=1)


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Remind(_Action):
    type: Literal["remind"]
    to: str = "assignee"
    template: str = "deadline_reminder"


class Notify(_Action):
    type: Literal["notify"]
    to: str = Field(description="assignee, citizen, or a role in the reporting chain (DM, OSD_CS, ...)")
    template: str


class Escalate(_Action):
    type: Literal["escalate"]
    to_role: str = Field(min_length=1, description="a role in the reporting chain: DM, OSD_CS, CHIEF_SECRETARY …")


class IssueShowCause(_Action):
    type: Literal["issue_show_cause"]
    number: int = Field(ge=1, le=9)
    reply_within: str = "P3D"
    review_by_role: str = "DM"
    review_within: str = "P1D"

    _durations = field_validator("reply_within", "review_within")(lambda cls, v: _duration(v))


class MakeVisible(_Action):
    type: Literal["make_visible"]
    role: str = Field(min_length=1)
    until: Event = Event.DISPOSED


class OrderInterimDisposal(_Action):
    type: Literal["order_interim_disposal"]
    # Services with a statutory limit above this get an order naming the target date of delivery (S12).
    long_service_threshold_days: int = 30


class RecordBreach(_Action):
    type: Literal["record_breach"]
    rule: str = Field(pattern=r"^[A-Z][0-9]+$")
    recommendation: Text | None = None


Action = Annotated[
    Remind | Notify | Escalate | IssueShowCause | MakeVisible | OrderInterimDisposal | RecordBreach,
    Field(discriminator="type"),
]


def _duration(value: str) -> str:
    try:
        parse_duration(value)
    except CalendarError as exc:
        raise ValueError(str(exc)) from exc
    return value


class Clock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    rule: str = Field(pattern=r"^[A-Z][0-9]+$", description="the DESIGN.md rule id this clock enforces")
    name: Text
    start: list[Event] = Field(min_length=1)
    stop: list[Event] = Field(default_factory=list)
    pause: list[Event] = Field(default_factory=list)
    resume: list[Event] = Field(default_factory=list)
    rebase: list[Event] = Field(default_factory=list, description="events that restart the clock from now (S7)")
    duration: str
    calendar: CalendarKind
    condition: Condition = Condition.ALWAYS
    actions: list[Action] = Field(min_length=1)
    # After it fires, the clock starts again from that moment this many more times (periodic reminders, C6), until
    # one of its stop events comes.
    repeat: int = Field(default=0, ge=0, le=20)

    _check_duration = field_validator("duration")(lambda cls, v: _duration(v))

    @model_validator(mode="after")
    def _pauses_resume(self) -> Clock:
        if bool(self.pause) != bool(self.resume):
            raise ValueError("pause and resume go together")
        return self


class Recourse(BaseModel):
    """What the complainant may do once the case has ended: reopen it, or say in feedback that it was not fixed
    (H3), within `window` of the ending; the case then returns to its officer with its clocks started afresh, at
    most `max_returns` times."""

    model_config = ConfigDict(extra="forbid")

    window: str
    # Calendar days or hours: the lifecycle computes the window's end itself, without the holiday calendar.
    calendar: Literal[CalendarKind.CALENDAR_DAYS, CalendarKind.HOURS] = CalendarKind.CALENDAR_DAYS
    max_returns: int = Field(default=2, ge=1, le=10)
    # M4: how often the officer of a case under watch is reminded until the report comes.
    watch_reminder_every: str = "P7D"

    _check_window = field_validator("window", "watch_reminder_every")(lambda cls, v: _duration(v))


class AppealStage(BaseModel):
    """One stage of appeal under the Act (B4): who decides it (a role above the case's post, or the department's
    own), and how long after the last decision the complainant may file it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["first", "second", "revision"]
    authority_role: str = Field(min_length=1)
    within: str = "P30D"

    _check_within = field_validator("within")(lambda cls, v: _duration(v))


class CampUpload(BaseModel):
    """S1: a paper application a camp took is uploaded the same day or within `within` (the next working day) after
    it; a later upload is a breach of `rule`, and the role `notify` hears of it."""

    model_config = ConfigDict(extra="forbid")

    within: str = "P1D"
    calendar: Literal[CalendarKind.WORKING_DAYS, CalendarKind.CALENDAR_DAYS] = CalendarKind.WORKING_DAYS
    rule: str = "S1"
    notify: str = "DM"

    _check_within = field_validator("within")(lambda cls, v: _duration(v))


class Hearings(BaseModel):
    """B7: the track hears its cases on each office's weekly hearing day (routing's master data), with the notice on
    the office's notice board (Form-4) and the public authority's attendance recorded (M3)."""

    model_config = ConfigDict(extra="forbid")

    # The appellate authority decides an appeal only after a hearing of it was held (the complainant heard, the
    # public servant's records examined: rule 7).
    required_before_appeal_decision: bool = True
    # How far ahead a hearing may be fixed.
    max_ahead: str = "P60D"

    _check_ahead = field_validator("max_ahead")(lambda cls, v: _duration(v))


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    name: Text
    source: str = Field(min_length=1, description="the government order and clauses this track follows")
    state: str = Field(pattern=r"^[A-Z]{2}$")
    clocks: list[Clock] = Field(min_length=1)
    # C5: who reviews a final report, hop by hop, by the role of the post (DM, SECRETARY of the case's department,
    # OSD_CS); the last hop closes the case. Empty: a final report needs no review on this track.
    review_chain: list[str] = Field(default_factory=list)
    # C3: the role of the post (above the routed office) that registers new cases and assigns them; empty: cases go
    # straight to the office routing chose.
    assigned_by: str = ""
    # Reopening and the H3 feedback loop after the case ends; None: the case's lifecycle ends with the case.
    recourse: Recourse | None = None
    # B4: the stages of appeal, in order (first, second, revision); empty: no appeals on this track. An appeal needs the
    # recourse window (the lifecycle waits for it after the case ends).
    appeals: list[AppealStage] = Field(default_factory=list)
    # B7 / M3: hearings on the office's hearing day; None: the track holds no hearings.
    hearings: Hearings | None = None
    # S1: the upload time of a paper application a camp took (the case's camp_received_on); None: not checked.
    camp_upload: CampUpload | None = None

    @model_validator(mode="after")
    def _unique_clock_ids(self) -> Policy:
        ids = [c.id for c in self.clocks]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise ValueError(f"clock id {duplicate} is used twice")
        return self

    @model_validator(mode="after")
    def _appeals_within_the_window(self) -> Policy:
        """An appeal is filed while the case's lifecycle waits after the decision: within the recourse window."""
        if not self.appeals:
            return self
        if self.recourse is None:
            raise ValueError("appeals need a recourse window (the lifecycle waits for them after a decision)")
        window = parse_duration(self.recourse.window)
        late = next((a for a in self.appeals if parse_duration(a.within) > window), None)
        if late is not None:
            raise ValueError(f"the {late.kind} appeal's within ({late.within}) exceeds the recourse window ({window})")
        return self

    @property
    def key(self) -> str:
        """`<track>@v<version>`: what a running case records as the policy it started under."""
        return f"{self.track}@v{self.version}"


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


def load_policy_file(path: Path) -> Policy:
    """Parse and validate one policy file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read: {exc}") from exc
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{path}: {where}: {first['msg']}") from exc


class PolicyRegistry:
    """Every version of every track found in a folder. A case keeps the version it started under."""

    def __init__(self, policies: list[Policy]) -> None:
        self._by_key = {p.key: p for p in policies}
        if len(self._by_key) != len(policies):
            raise PolicyError("two files declare the same track and version")
        self._latest: dict[str, Policy] = {}
        for policy in sorted(policies, key=lambda p: p.version):
            self._latest[policy.track] = policy

    @classmethod
    def from_folder(cls, folder: Path) -> PolicyRegistry:
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise PolicyError(f"{folder}: no policy files (*.yaml)")
        return cls([load_policy_file(f) for f in files])

    def latest(self, track: str) -> Policy:
        try:
            return self._latest[track]
        except KeyError:
            raise PolicyError(f"no policy for track {track!r}") from None

    def get(self, key: str) -> Policy:
        try:
            return self._by_key[key]
        except KeyError:
            raise PolicyError(f"no policy {key!r}") from None

    def all(self) -> list[Policy]:
        return sorted(self._by_key.values(), key=lambda p: (p.track, p.version))
