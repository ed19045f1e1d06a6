"""The template registry: each notice type, its parameters, and its Jinja2 texts in Hindi and English.

Each template `<code>` keeps its texts in `<code>/`: `subject.<lang>.txt`, `body.<lang>.txt` and `short.<lang>.txt`
(SMS and WhatsApp). The HTML email (`email.html`, autoescaped) is one layout shared by every template, built from
the two rendered bodies, so a template is written once per language and cannot drift between email and in-app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from nivaran_common.errors import FieldViolation, InvalidArgument
from nivaran_common.timeutil import format_ist
from nivaran_notify.domain import Channel, Language, LocalizedText, RenderedContent, TemplateInfo

TEMPLATE_DIR = Path(__file__).resolve().parent
MAX_PARAM_LENGTH = 2000
ALL_CHANNELS = (Channel.IN_APP, Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)


@dataclass(frozen=True)
class TemplateSpec:
    """What a template needs. `timestamps` are ISO 8601 instants shown in IST as `<name>_ist`."""

    code: str
    title: LocalizedText
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    # Parameters that only make sense together (one language without the other would leave a gap).
    pairs: tuple[tuple[str, str], ...] = ()
    channels: tuple[Channel, ...] = ALL_CHANNELS
    # Placeholder ids; the ids registered on the operator's DLT portal come from settings.dlt_template_ids.
    dlt_template_id: str = ""


SPECS: tuple[TemplateSpec, ...] = (
    TemplateSpec(
        code="acknowledgement",
        title=LocalizedText(en="Acknowledgement of a grievance (Form-2)", hi="शिकायत की पावती (प्रपत्र-2)"),
        required=(
            "registration_number",
            "complainant_name",
            "filed_at",
            "category_name_en",
            "category_name_hi",
            "office_name_en",
            "office_name_hi",
            "position_title_en",
            "position_title_hi",
        ),
        optional=("track_url",),
        timestamps=("filed_at",),
        urls=("track_url",),
        dlt_template_id="1107170000000000001",
    ),
    TemplateSpec(
        code="case_assigned",
        title=LocalizedText(en="New case assigned", hi="नया मामला सौंपा गया"),
        required=(
            "registration_number",
            "category_name_en",
            "category_name_hi",
            "position_title_en",
            "position_title_hi",
        ),
        optional=(
            "office_name_en",
            "office_name_hi",
            "filed_at",
            "due_at",
            "deadline_text_en",
            "deadline_text_hi",
            "case_url",
        ),
        timestamps=("filed_at", "due_at"),
        urls=("case_url",),
        pairs=(("deadline_text_en", "deadline_text_hi"), ("office_name_en", "office_name_hi")),
        dlt_template_id="1107170000000000002",
    ),
    TemplateSpec(
        code="sla_notice",
        title=LocalizedText(
            en="Deadline notice: show-cause, escalation, visibility, interim order, breach",
            hi="समय-सीमा सूचना: कारण पृच्छा, अग्रेषण, दृश्यता, अंतरिम आदेश, उल्लंघन",
        ),
        required=("registration_number", "headline_en", "headline_hi", "detail_en", "detail_hi"),
        optional=(
            "rule",
            "kind",
            "category_name_en",
            "category_name_hi",
            "office_name_en",
            "office_name_hi",
            "position_title_en",
            "position_title_hi",
        ),
        pairs=(
            ("category_name_en", "category_name_hi"),
            ("office_name_en", "office_name_hi"),
            ("position_title_en", "position_title_hi"),
        ),
        dlt_template_id="1107170000000000003",
    ),
    TemplateSpec(
        code="message_reply",
        title=LocalizedText(
            en="Answer to a citizen's SMS, WhatsApp or email message",
            hi="नागरिक के एसएमएस/व्हाट्सऐप/ईमेल संदेश का उत्तर",
        ),
        required=("reply_en", "reply_hi"),
        # "hi" or "en": the person chose that language (a WhatsApp conversation), and the reply goes in it alone.
        optional=("registration_number", "reply_language"),
        channels=(Channel.SMS, Channel.WHATSAPP, Channel.EMAIL),
        dlt_template_id="1107170000000000004",
    ),
    TemplateSpec(
        code="citizen_message",
        title=LocalizedText(en="A complainant wrote on their case (S16)", hi="शिकायतकर्ता ने अपने मामले पर संदेश भेजा (S16)"),
        required=("registration_number", "text"),
        optional=("channel",),
        dlt_template_id="1107170000000000005",
    ),
)

_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


def _as_text(value: Any) -> str | None:
    """Struct values arrive as str, float, bool or None; numbers such as 1234.0 mean "1234"."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    raise TypeError


def _paragraphs(text: str) -> list[list[str]]:
    return [block.splitlines() for block in text.split("\n\n") if block.strip()]


class TemplateRegistry:
    """Renders the registered templates; unknown codes and bad parameters raise InvalidArgument."""

    def __init__(self, dlt_overrides: Mapping[str, str] | None = None, specs: tuple[TemplateSpec, ...] = SPECS):
        self._specs = {spec.code: spec for spec in specs}
        self._dlt = {spec.code: spec.dlt_template_id for spec in specs} | dict(dlt_overrides or {})
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def templates(self) -> list[TemplateInfo]:
        """Every template, for ListTemplates."""
        return [
            TemplateInfo(spec.code, spec.title, spec.channels, self._dlt[spec.code]) for spec in self._specs.values()
        ]

    def spec(self, code: str) -> TemplateSpec:
        """The spec of template `code`, or InvalidArgument naming `template`."""
        spec = self._specs.get(code)
        if spec is None:
            known = ", ".join(sorted(self._specs))
            raise InvalidArgument.field("template", f"unknown template {code!r}; known templates: {known}")
        return spec

    def check_channels(self, code: str, channels: tuple[Channel, ...]) -> list[FieldViolation]:
        """Violations for channels the template has no text for."""
        spec = self.spec(code)
        return [
            FieldViolation("channels", f"template {code!r} cannot be sent by {channel.value}")
            for channel in channels
            if channel not in spec.channels
        ]

    def context(self, code: str, params: Mapping[str, Any]) -> dict[str, str | None]:
        """Validated template variables, or InvalidArgument naming each bad `params.<name>`."""
        spec = self.spec(code)
        violations: list[FieldViolation] = []
        context: dict[str, str | None] = {}
        for name in (*spec.required, *spec.optional):
            try:
                value = _as_text(params.get(name))
            except TypeError:
                violations.append(FieldViolation(f"params.{name}", "must be text"))
                continue
            if value is None and name in spec.required:
                violations.append(FieldViolation(f"params.{name}", "is required"))
            elif value is not None and len(value) > MAX_PARAM_LENGTH:
                violations.append(FieldViolation(f"params.{name}", f"must be at most {MAX_PARAM_LENGTH} characters"))
            context[name] = value
        for name in spec.timestamps:
            raw = context.get(name)
            context[f"{name}_ist"] = None
            if raw is None:
                continue
            try:
                instant = datetime.fromisoformat(raw)
            except ValueError:
                violations.append(FieldViolation(f"params.{name}", "must be an ISO 8601 date-time"))
                continue
            if instant.tzinfo is None:
                violations.append(FieldViolation(f"params.{name}", "must carry a UTC offset, e.g. 2026-11-23T09:00Z"))
                continue
            context[f"{name}_ist"] = format_ist(instant)
        for name in spec.urls:
            url = context.get(name)
            if url is not None and not re.match(r"^https?://[^\s]+$", url):
                violations.append(FieldViolation(f"params.{name}", "must be an http(s) URL"))
        for first, second in spec.pairs:
            if (context.get(first) is None) != (context.get(second) is None):
                missing = second if context.get(second) is None else first
                together = f"is required together with the other of {first} / {second}"
                violations.append(FieldViolation(f"params.{missing}", together))
        if violations:
            raise InvalidArgument.of(violations)
        return context

    def render(self, code: str, params: Mapping[str, Any], lead: Language) -> RenderedContent:
        """Render template `code` in Hindi and English, `lead` first."""
        context = self.context(code, params)

        def text(kind: str, language: Language) -> str:
            return _tidy(self._env.get_template(f"{code}/{kind}.{language.value}.txt").render(context))

        subject = LocalizedText(en=text("subject", Language.EN), hi=text("subject", Language.HI))
        body = LocalizedText(en=text("body", Language.EN), hi=text("body", Language.HI))
        second = Language.EN if lead is Language.HI else Language.HI
        # A template may leave one language's short text empty (message_reply in the language the person chose).
        short_text = "\n".join(filter(None, (text("short", language) for language in (lead, second))))
        sections = [
            {
                "lang": language.value,
                "subject": subject.in_language(language),
                "paragraphs": _paragraphs(body.in_language(language)),
            }
            for language in (lead, second)
        ]
        html = self._env.get_template("email.html").render(
            lang=lead.value, title=f"{subject.in_language(lead)} / {subject.in_language(second)}", sections=sections
        )
        return RenderedContent(
            subject=subject,
            body=body,
            lead=lead,
            html=html,
            short_text=short_text,
            dlt_template_id=self._dlt[code],
        )
