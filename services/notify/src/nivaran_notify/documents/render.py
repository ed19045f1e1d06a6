"""HTML to PDF with WeasyPrint, set in Noto Sans Devanagari, with a text layer that reads back as written.

Pango shapes the Devanagari (conjuncts, reordered matras) and WeasyPrint draws the shaped glyphs. A PDF maps each
glyph back to text once per font (its ToUnicode table), which cannot hold Devanagari: the glyph of `ि` is drawn before
its consonant, and one glyph (a half form, a conjunct) stands for different letters in different words, so a copied or
extracted text came out reordered and broken. `_install_actual_text` wraps each drawn line in a marked-content span
whose /ActualText is the line's source text (ISO 32000-1 §14.9.4), the standard way to give a text layer its real
text; pdfium, poppler and Acrobat read it instead of the glyph map. The tests render each document, read its text
back, and compare it with the source, so a WeasyPrint upgrade that breaks this fails them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pydyf
import segno
import weasyprint
import weasyprint.draw
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from nivaran_common.timeutil import format_ist
from nivaran_notify.documents.catalog import DocumentType

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "documents"
# Noto Sans Devanagari has no Latin letters: Noto Sans sets those (English, numbers, URLs), the Devanagari face
# the rest.
FACES = {
    "latin_regular": "NotoSans-Regular.ttf",
    "latin_bold": "NotoSans-Bold.ttf",
    "deva_regular": "NotoSansDevanagari-Regular.ttf",
    "deva_bold": "NotoSansDevanagari-Bold.ttf",
}
FONTS = tuple(FACES.values())

_patch_lock = threading.Lock()


def _install_actual_text() -> None:
    """Wrap WeasyPrint's drawing of each text box in /Span <</ActualText (text)>> BDC … EMC (once per process)."""
    with _patch_lock:
        original: Callable[..., Any] = weasyprint.draw.draw_text
        if getattr(original, "nivaran_actual_text", False):
            return

        def draw_text(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> Any:
            stream.begin_marked_content("Span", pydyf.Dictionary({"ActualText": pydyf.String(textbox.text)}))
            try:
                return original(stream, textbox, *args, **kwargs)
            finally:
                stream.end_marked_content()

        draw_text.nivaran_actual_text = True  # type: ignore[attr-defined]
        weasyprint.draw.draw_text = draw_text


class FontsMissing(RuntimeError):
    """The Noto fonts are not where settings say (make setup puts them in var/fonts)."""


@dataclass(frozen=True)
class DocumentPage:
    """Everything one document shows."""

    id: str
    type: DocumentType
    version: str
    registration_number: str
    issued_at: datetime
    # The language printed first (the recipient's); the other follows on its own page.
    lead_language: str
    # The template parameters: the notice's own, with `<name>_ist` for each instant and `recipient_name`.
    facts: dict[str, Any]
    verification_url: str
    content_sha256: str


class PdfRenderer:
    """Renders documents from the versioned templates; one render at a time, off the event loop."""

    def __init__(self, fonts_dir: str | Path) -> None:
        self.fonts_dir = Path(fonts_dir).resolve()
        missing = [name for name in FONTS if not (self.fonts_dir / name).is_file()]
        if missing:
            raise FontsMissing(
                f"{', '.join(missing)} not found in {self.fonts_dir}: run `make setup` (scripts/fetch_fonts.py) or "
                "set NIVARAN_NOTIFY_FONTS_DIR to a folder holding Noto Sans Devanagari"
            )
        _install_actual_text()
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["ist"] = format_ist
        # WeasyPrint's layout is not documented as thread-safe: one worker thread renders every document.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")

    @property
    def executor(self) -> ThreadPoolExecutor:
        return self._executor

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def html(self, page: DocumentPage) -> str:
        """The document's HTML: the lead language's page, then the other's."""
        languages = [page.lead_language, "en" if page.lead_language == "hi" else "hi"]
        qr = segno.make(page.verification_url, error="m")
        return self._env.get_template("document.html").render(
            page=page,
            sections=[(language, f"{page.type.kind.value}/{page.version}.{language}.html") for language in languages],
            facts=page.facts,
            qr_svg=qr.svg_data_uri(scale=3, border=1),
            fonts={face: (self.fonts_dir / name).as_uri() for face, name in FACES.items()},
        )

    def render(self, page: DocumentPage) -> bytes:
        """The PDF (blocking: call it through `executor`)."""
        pdf: bytes = weasyprint.HTML(string=self.html(page), base_url=str(TEMPLATE_DIR)).write_pdf(
            # The identifier is the document's, and its dates are the (document.html's meta), so a document
            # rendered again has the same bytes.
            pdf_identifier=page.id.encode(),
        )
        return pdf
