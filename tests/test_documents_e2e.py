"""Documents end to end (B5, C2), through /v1 on the real suite (tests/conftest.py's shared suite): a filing's Form-2
acknowledgement reaches the complainant's mailbox as a PDF whose Hindi reads back intact; the complainant lists and
downloads it; anyone verifies it by its QR code's URL, as JSON or as a page, and checks a file against it."""

from __future__ import annotations

import uuid
from email.message import Message
from urllib.parse import urlsplit

import httpx
import pypdfium2 as pdfium
import pytest_asyncio
from _suite import RunningSuite
from test_desk_e2e import PHULWARI, Desk

PHONE = "9876510151"
STRANGER = "9876510152"
EMAIL = "documents.e2e@example.in"


@pytest_asyncio.fixture
async def suite(shared_suite: RunningSuite) -> RunningSuite:
    return shared_suite


def pdf_of(message: Message) -> bytes:
    [part] = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def text_of(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


async def test_B5_C2_the_form2_pdf_is_mailed_listed_downloaded_and_verified(suite: RunningSuite) -> None:
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=90) as http:
        desk = Desk(http)
        citizen = await desk.citizen(PHONE)
        stranger = await desk.citizen(STRANGER)
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {
                    "name": "प्रियंका कुमारी",
                    "address": "ग्राम गोनपुरा, फुलवारी शरीफ, पटना",
                    "phone": PHONE,
                    "email": EMAIL,
                },
                "description": "राशन कार्ड में परिवार के सदस्यों के नाम नहीं जोड़े गए, दो बार आवेदन दिया।",
                "category_code": "FOOD-RATION-CARD",
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**citizen, "Idempotency-Key": f"documents-{uuid.uuid4().hex}"},
        )
        assert filed.status_code == 201, filed.text
        number = filed.json()["registration_number"]

        # B5: the acknowledgement email carries the Form-2 PDF; its Hindi reads back with conjuncts and matras whole.
        mail = await suite.smtp.mail.wait_for(
            lambda m: m["X-Nivaran-Registration"] == number and m["X-Nivaran-Template"] == "acknowledgement",
            timeout=60,
        )
        mailed = pdf_of(mail)
        hindi, english = text_of(mailed)
        for words in ("पावती (प्रपत्र-2)", "प्रिय प्रियंका कुमारी,", "पंजीयन संख्या", number, "कार्रवाई हेतु भेजी गई"):
            assert words in hindi, words
        assert "Acknowledgement (Form-2)" in english

        # The complainant lists the case's documents and downloads the same file.
        listed = await http.get(f"/v1/grievances/{number}/documents", headers=citizen)
        assert listed.status_code == 200, listed.text
        [form2] = [d for d in listed.json()["documents"] if d["kind"] == "form2"]
        assert form2["recipient"] == "citizen"
        downloaded = await http.get(form2["download_url"], headers=citizen)
        assert downloaded.status_code == 200, downloaded.text
        assert downloaded.headers["content-type"] == "application/pdf"
        assert downloaded.content == mailed
        # Another citizen does not learn the case exists.
        assert (await http.get(f"/v1/grievances/{number}/documents", headers=stranger)).status_code == 404
        assert (await http.get(form2["download_url"], headers=stranger)).status_code == 404

        # Anyone verifies it by the URL in its QR code, printed on it too.
        verification = urlsplit(form2["verification_url"]).path
        assert form2["verification_url"] == f"{suite.base_url}{verification}"
        assert form2["id"] in hindi  # the document's number is printed on it
        checked = await http.get(verification)
        assert checked.status_code == 200, checked.text
        facts = checked.json()
        assert facts["genuine"] is True
        assert facts["document"]["registration_number"] == number
        assert facts["document"]["content_sha256"] == form2["content_sha256"]
        assert "प्रियंका" not in checked.text  # no personal data in public
        page = await http.get(verification, headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html")
        assert "निवारण द्वारा जारी" in page.text
        assert "issued by Nivaran" in page.text
        same = await http.post(verification, content=mailed, headers={"Content-Type": "application/pdf"})
        assert same.json()["file_matches"] is True
        altered = await http.post(
            verification, content=mailed + b"\n% altered", headers={"Content-Type": "application/pdf"}
        )
        assert altered.json()["file_matches"] is False
        unknown = await http.get(f"/v1/documents/{uuid.uuid4()}/verification")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
