"""Hindi and English: gettext catalogues (locale/<lang>/LC_MESSAGES/messages.po, compiled in memory at start-up), the
Jinja environments that use them, the visitor's language, and dates shown in Asia/Kolkata.

Strings are extracted with `pybabel extract -F babel.cfg` (docs/web.md); Python marks them with `N_` (a label looked
up later) or `gettext` on a catalogue.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Lang = Literal["hi", "en"]
LANGUAGES: tuple[Lang, ...] = ("hi", "en")
DEFAULT_LANG: Lang = "hi"
KOLKATA = ZoneInfo("Asia/Kolkata")

HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark only")
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def load_catalogue(lang: Lang, locale_dir: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """Read a .po file and compile it in memory (no binary .mo is kept in git)."""
    with (locale_dir / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def as_lang(value: str | None) -> Lang | None:
    """`hi` or `en` when `value` names one of them, else None."""
    return value if value in LANGUAGES else None


def negotiate(cookie: str | None, accept_language: str | None) -> Lang:
    """The `lang` cookie, else the best of Accept-Language among hi and en, else Hindi."""
    chosen = as_lang(cookie)
    if chosen is not None:
        return chosen
    ranked: list[tuple[float, int, Lang]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = as_lang(tag.strip().lower().split("-")[0])
        if lang is None:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else DEFAULT_LANG


def localized(text: Any, lang: Lang) -> str:
    """The chosen language's side of a Localized {en, hi} from /v1, falling back to the other side."""
    if not isinstance(text, dict):
        return "" if text is None else str(text)
    other = "en" if lang == "hi" else "hi"
    return str(text.get(lang) or text.get(other) or "")


def when(value: str | datetime | None, lang: Lang) -> str:
    """An ISO timestamp from /v1 as a reader in India reads it (Asia/Kolkata), in the page's language."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, "d MMMM y, h:mm a", tzinfo=KOLKATA, locale=lang)


@dataclass(frozen=True)
class Catalogues:
    """One catalogue and one Jinja environment per language, built once per app."""

    translations: dict[Lang, gettext.GNUTranslations]
    environments: dict[Lang, jinja2.Environment]

    @classmethod
    def load(cls, locale_dir: Path = LOCALE_DIR, template_dir: Path = TEMPLATE_DIR) -> Catalogues:
        """Compile every language's catalogue and give each its own environment (no shared mutable state)."""
        translations = {lang: load_catalogue(lang, locale_dir) for lang in LANGUAGES}
        environments: dict[Lang, jinja2.Environment] = {}
        for lang, catalogue in translations.items():
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(template_dir),
                autoescape=True,
                extensions=["jinja2.ext.i18n"],
                undefined=jinja2.StrictUndefined,
            )
            env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
            env.filters["localized"] = lambda text, _lang=lang: localized(text, _lang)
            env.filters["when"] = lambda value, _lang=lang: when(value, _lang)
            env.filters["tr"] = catalogue.gettext
            environments[lang] = env
        return cls(translations, environments)

    def gettext(self, lang: Lang, message: str) -> str:
        """`message` in `lang`."""
        return self.translations[lang].gettext(message)

    def render(self, lang: Lang, template: str, context: dict[str, Any]) -> str:
        """Render a template in `lang`."""
        return self.environments[lang].get_template(template).render(lang=lang, **context)
