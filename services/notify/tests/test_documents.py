"""Documents (B5 Form-2, the S9/S11 show-cause notice, the S12 interim order, Form-3, Form-4): issued with their notice,
rendered to PDF with WeasyPrint in Noto Sans Devanagari, read back with pdfium, checked against their source, and
saved as PNG pages in var/test-artifacts/documents/ for a person to look at."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from nivaran_common.errors import InvalidArgument, NotFound, PermissionDenied
from nivaran_common.timeutil import utcnow
from nivaran_notify.documents.catalog import DocumentKind
from nivaran_notify.documents.domain import content_digest
from nivaran_notify.documents.service import DocumentReader, DocumentService
from nivaran_notify.domain import Channel, Language, Recipient, RecipientKind, SendCommand
from nivaran_notify.service import NotifyService

from .test_service import ACK_PARAMS, REGISTRATION, acknowledgement, citizen

ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "documents"
OFFICER = Recipient(
    account_id="",
    position_id="pos-co-danapur",
    name="",
    email="",
    phone="",
    preferred_language=Language.HI,
    kind=RecipientKind.OFFICER,
)
COMPLAINANT = DocumentReader(account_id="acct-sita", is_citizen=True)
AN_OFFICER = DocumentReader(account_id="acct-officer", is_citizen=False)
NAMES = {k: v for k, v in ACK_PARAMS.items() if k.endswith(("_en", "_hi"))}


def sla_notice(
    kind: str, recipient: Recipient, key: str, headline: tuple[str, str], detail: tuple[str, str]
) -> SendCommand:
    return SendCommand(
        dedupe_key=key,
        template="sla_notice",
        recipient=recipient,
        channels=(Channel.IN_APP,),
        params={
            "registration_number": REGISTRATION,
            "headline_en": headline[0],
            "headline_hi": headline[1],
            "detail_en": detail[0],
            "detail_hi": detail[1],
            "rule": "S9",
            "kind": kind,
            **NAMES,
        },
        grievance_id="griev-1",
        registration_number=REGISTRATION,
    )


# One notice of each document kind, with Hindi that has conjuncts (क्ष, त्र, प्र, द्ध), reordered matras (ि) and
# nasalisation (ँ, ं).
NOTICES: dict[DocumentKind, SendCommand] = {
    DocumentKind.FORM2: acknowledgement("doc:form2", (Channel.IN_APP,)),
    DocumentKind.SHOW_CAUSE: sla_notice(
        "show_cause",
        OFFICER,
        "doc:show_cause",
        ("Show-cause notice 1", "कारण पृच्छा 1"),
        (
            "Not disposed of within 10 days. Reply on the portal by 2026-12-10.",
            "दस दिनों में निष्पादन नहीं हुआ। पोर्टल पर उत्तर दें, अंतिम तिथि 2026-12-10। क्षेत्र की स्थिति स्पष्ट करें।",
        ),
    ),
    DocumentKind.INTERIM_ORDER: sla_notice(
        "interim_order",
        citizen(),
        "doc:interim",
        ("An interim order was issued on your grievance", "आपकी शिकायत पर अंतरिम आदेश निर्गत"),
        ("Target date of delivery: 2026-12-31.", "सेवा प्रदान करने की लक्षित तिथि: 2026-12-31। प्रमाण-पत्र शीघ्र निर्गत होगा।"),
    ),
    DocumentKind.FORM3: sla_notice(
        "disposal",
        citizen(),
        "doc:form3",
        ("Your grievance has been disposed of", "आपकी शिकायत का निष्पादन कर दिया गया है"),
        ("The mutation was entered.", "दाखिल-खारिज की प्रविष्टि कर दी गई, शुद्धि-पत्र संलग्न।"),
    ),
    DocumentKind.FORM4: sla_notice(
        "hearing_scheduled",
        citizen(),
        "doc:form4",
        ("Your hearing is on 2026-12-09", "आपकी सुनवाई 2026-12-09 को है"),
        ("Before the Circle Officer. Bring your documents.", "अंचल अधिकारी के समक्ष। अपने दस्तावेज़ साथ लाएँ।"),
    ),
}


class _SectionText(HTMLParser):
    """The text of each <section lang=…> of a document's HTML: what each page must read back as."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self._current: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._current = dict(attrs).get("lang") or ""
            self.sections[self._current] = []
        elif tag in {"style", "title"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None
        elif tag in {"style", "title"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._current is not None and not self._skip:
            self.sections[self._current].append(data)


def squeezed(text: str) -> str:
    """The text without its whitespace: line breaks fall where the layout puts them, every letter must stay. pdfium
    reports a hyphen that ends a line as U+FFFE (its mark of a possible soft hyphen); it is the hyphen drawn."""
    return re.sub(r"\s+", "", text.replace("\ufffe", "-"))


def pages_text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def save_pngs(pdf: bytes, name: str) -> list[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(pdf)
    saved = []
    try:
        for number, page in enumerate(document, start=1):
            path = ARTIFACTS / f"{name}-{number}.png"
            page.render(scale=1.5).to_pil().save(path)
            saved.append(path)
    finally:
        document.close()
    return saved


async def issued(service: NotifyService, command: SendCommand) -> tuple[DocumentService, str]:
    documents = service.documents
    assert documents is not None
    result = await service.send(command)
    found = await documents.for_notice(result.notice.id)
    assert found is not None
    return documents, found.id


@pytest.mark.parametrize("kind", list(DocumentKind))
async def test_B5_C2_each_document_reads_back_as_its_hindi_and_english_source(
    make_service: Any, kind: DocumentKind
) -> None:
    service = await make_service()
    documents, document_id = await issued(service, NOTICES[kind])
    document, pdf = await documents.pdf(document_id)
    assert document.kind is kind
    assert pdf.startswith(b"%PDF-")

    source = _SectionText()
    source.feed(documents.source_html(document))
    hindi, english = "".join(source.sections["hi"]), "".join(source.sections["en"])
    hi_page, en_page = pages_text(pdf)
    footer = lambda number: f"{REGISTRATION}·{number}/2"  # noqa: E731 (the page's running footer)
    # Every letter, conjunct and matra comes back in order: the text layer is the source, not the glyphs' order.
    assert squeezed(hi_page) == squeezed(hindi) + footer(1)
    assert squeezed(en_page) == squeezed(english) + footer(2)
    assert REGISTRATION in hi_page
    assert document.id in hi_page
    assert f"/v1/documents/{document.id}/verification" in squeezed(hi_page)
    assert document.content_sha256 in hi_page
    assert save_pngs(pdf, kind.value)


async def test_B5_the_pdf_is_rendered_once_and_kept(make_service: Any) -> None:
    service = await make_service()
    documents, document_id = await issued(service, acknowledgement("doc:kept", (Channel.IN_APP,)))
    first, pdf = await documents.pdf(document_id)
    again, same = await documents.pdf(document_id)
    assert same == pdf
    assert again.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert again.pdf_size == len(pdf)
    # A repeated Send is the same notice: no second document.
    repeat = await service.send(acknowledgement("doc:kept", (Channel.IN_APP,)))
    assert repeat.duplicate
    listed = await documents.of_case(REGISTRATION, AN_OFFICER)
    assert [d.id for d in listed].count(document_id) == 1


async def test_B5_verification_says_genuine_and_whether_a_file_is_the_issued_pdf(make_service: Any) -> None:
    service = await make_service()
    documents, document_id = await issued(service, acknowledgement("doc:verify", (Channel.IN_APP,)))
    verification = await documents.verify(document_id)
    document = verification.document
    assert verification.file_matches is None
    assert verification.verification_url.endswith(f"/v1/documents/{document_id}/verification")
    # The printed content hash is the hash of what was issued.
    assert document.content_sha256 == content_digest(
        document.id, document.kind, document.version, document.registration_number, document.issued_at, document.facts
    )
    _, pdf = await documents.pdf(document_id)
    assert (await documents.verify(document_id, pdf)).file_matches is True
    tampered = pdf.replace(b"%PDF-", b"%PDF-", 1) + b"\n% altered"
    assert (await documents.verify(document_id, tampered)).file_matches is False
    with pytest.raises(NotFound):
        await documents.verify("5f0f7a43-0000-4000-8000-000000000000")
    with pytest.raises(InvalidArgument) as bad:
        await documents.verify("not-a-number")
    assert [v.field for v in bad.value.violations] == ["document_id"]


async def test_B5_the_complainant_reads_what_was_sent_to_them_and_officers_read_every_document(
    make_service: Any,
) -> None:
    service = await make_service()
    documents, form2 = await issued(service, acknowledgement("doc:readers-ack", (Channel.IN_APP,)))
    _, show_cause = await issued(service, replace(NOTICES[DocumentKind.SHOW_CAUSE], dedupe_key="doc:readers-sc"))
    as_complainant = {d.id for d in await documents.of_case(REGISTRATION, COMPLAINANT)}
    as_officer = {d.id for d in await documents.of_case(REGISTRATION, AN_OFFICER)}
    assert form2 in as_complainant
    assert show_cause not in as_complainant
    assert {form2, show_cause} <= as_officer
    with pytest.raises(PermissionDenied):
        await documents.content(show_cause, COMPLAINANT, REGISTRATION)
    document, pdf = await documents.content(form2, COMPLAINANT, REGISTRATION)
    assert document.id == form2
    assert pdf.startswith(b"%PDF-")
    # A document is read only under its own case's number.
    with pytest.raises(NotFound):
        await documents.content(form2, AN_OFFICER, "BR-PAT-2026-999999")


async def test_a_notice_that_is_only_a_message_carries_no_document(make_service: Any) -> None:
    service = await make_service()
    documents = service.documents
    assert documents is not None
    result = await service.send(
        sla_notice("escalation", OFFICER, "doc:none", ("Escalated", "अग्रेषित"), ("To the DM", "जिलाधिकारी को"))
    )
    assert await documents.for_notice(result.notice.id) is None


async def test_render_pdf_preview_names_a_bad_kind_and_language(make_service: Any) -> None:
    service = await make_service()
    documents = service.documents
    assert documents is not None
    with pytest.raises(InvalidArgument) as bad:
        await documents.preview("form9", "fr", {}, utcnow())
    assert {v.field for v in bad.value.violations} == {"kind", "language"}
    pdf = await documents.preview("show_cause", "en", {"registration_number": REGISTRATION, **NAMES}, utcnow())
    english, hindi = pages_text(pdf)
    assert "Show-cause notice" in english
    assert "कारण पृच्छा" in hindi
