"""The officer's web pages in a real browser against the real suite (Debian's chromium, driven by Playwright, on a
360 px phone screen): a citizen files a Sahyog case through /v1; the L1 officer (the District Supply Officer of the
demo data) signs in on the web, finds it in the inbox with the time left on the L1's clock (S8), opens it, submits
the action-taken report (S9) and then disposes of it, and the timeline shows both; an ended case offers no act.
The DM opens the review page in Hindi: the dashboard's figures, pending cases by age (by office, then by officer),
the chart drawn on the server as inline SVG, and the Excel download. C5 on the web: a CSPGRS case's final report
waits on the DM (the /v1 steps of tests/test_desk_e2e.py before it); the DM opens the case page, which names the DM's
post as the reviewer and offers the review alone, forwards the report, and the case's clocks then name the Home
secretary's post, whose page offers the review in Hindi. Screenshots go to var/screenshots/web-officer-*.png (not
committed).
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from _suite import RunningSuite
from playwright.async_api import Browser, Page, async_playwright, expect
from test_desk_e2e import HOME_SECRETARY, OSD, SSP, Desk
from test_web_e2e import CHROMIUM, CHROMIUM_ARGS, DEV_FIXED_OTP, PHONE_WIDTH, SCREENSHOTS

from nivaran_common.testing import eventually

# The demo data's L1 officer of the FOOD department in Patna (tests/test_desk_e2e.py); no authenticator in dev.
DSO = ("dso.patna", "dev-dso-patna-2026")
DM = ("dm.patna", "dev-dm-patna-2026")
# A phone of this module alone (the suite is shared; OTP cooldowns are per phone).
CITIZEN_PHONE = "9876512801"
REVIEW_PHONE = "9876512802"
PHULWARI = {"district_code": "PAT", "subdivision_code": "PAT-SADAR", "block_code": "PAT-SADAR-PHULWARI"}


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, headless, with its background traffic off."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `python scripts/fetch_browser.py` (make test does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def _file_a_ration_card_case(base_url: str, *, signed_in: bool = True) -> str:
    """A Sahyog case at the DSO's post, filed by the citizen signed in by OTP (or, anonymously, by a helper)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        token: dict[str, str] = {}
        if signed_in:
            asked = await http.post("/v1/auth/otp", json={"phone": CITIZEN_PHONE})
            assert asked.status_code == 202, asked.text
            verified = await http.post("/v1/auth/otp/verify", json={"phone": CITIZEN_PHONE, "otp": DEV_FIXED_OTP})
            assert verified.status_code == 200, verified.text
            token = {"Authorization": f"Bearer {verified.json()['access_token']}"}
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "मीना कुमारी", "address": "ग्राम कुरकुरी, फुलवारी शरीफ, पटना"},
                "description": "राशन कार्ड के लिए चार महीने पहले आवेदन दिया था, अब तक नहीं मिला।",
                "category_code": "FOOD-RATION-CARD",
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**token, "Idempotency-Key": f"web-officer-e2e-{uuid.uuid4().hex}"},
        )
        assert filed.status_code == 201, filed.text
        return str(filed.json()["registration_number"])


async def _snap(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"web-officer-{name}.png"), full_page=True)


async def _fits_the_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways on a {PHONE_WIDTH} px screen ({width} px)"


async def test_S8_S9_the_L1_officer_acts_on_a_fresh_case_from_the_web_inbox(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    number = await _file_a_ration_card_case(shared_suite.base_url)
    context = await browser.new_context(
        base_url=shared_suite.base_url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        locale="en-IN",
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    try:
        # An officer's page without a session leads to the officers' sign-in, and back.
        await page.goto("/app/officer")
        await expect(page).to_have_url(re.compile(r"/app/officer/signin\?next=%2Fapp%2Fofficer$"))
        await page.get_by_label("Username").fill(DSO[0])
        await page.get_by_label("Password").fill(DSO[1])
        await _fits_the_phone(page)
        await _snap(page, "1-signin-en")
        await page.click("form[action='/app/officer/signin'] button[type=submit]")
        await expect(page).to_have_url(re.compile(r"/app/officer$"))

        # The inbox: the case with the time left on the L1's clock (S8), once the lifecycle has started it.
        row = page.locator("li.case-row", has=page.locator(f"a.number:text-is('{number}')"))

        async def on_the_inbox_with_its_clock() -> bool:
            if await row.count() and await row.locator(".clock").count():
                return True
            await page.reload()
            return False

        await eventually(on_the_inbox_with_its_clock, timeout=90, every=1.0)
        await expect(row.locator(".countdown")).to_contain_text(re.compile(r"\d+ days? .*left"))
        await expect(row.locator(".clock")).to_contain_text("L1 acts or forwards within 3 days")
        await _fits_the_phone(page)
        await _snap(page, "2-inbox-en")

        # The case: the holder's acts, each its own form.
        await row.locator("a.number").click()
        await expect(page).to_have_url(re.compile(rf"/app/officer/grievances/{number}$"))
        for act in ("report", "disposal", "info-request", "forward"):
            await expect(page.locator(f"details[data-act={act}]")).to_have_count(1)
        await _fits_the_phone(page)
        await _snap(page, "3-case-en")

        # S9: the action-taken report, through /v1 with the form's Idempotency-Key; the timeline shows it.
        report = page.locator("details[data-act=report]")
        await report.locator("summary").click()
        await report.get_by_label("Kind of report").select_option("action_taken")
        await report.get_by_label("Action taken", exact=False).fill("आपूर्ति निरीक्षक से सत्यापन कराया गया।")
        await report.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"\?done=1$"))
        await expect(page.locator("p.notice[role=status]")).to_be_visible()
        await expect(page.locator("ol.timeline li[data-kind=action_report]")).to_have_count(1)

        # The disposal ends the case: the timeline shows it and no act is offered any more.
        disposal = page.locator("details[data-act=disposal]")
        await disposal.locator("summary").click()
        await disposal.get_by_label("How it ends").select_option("resolved")
        await disposal.get_by_label("Action taken (when resolved)").fill("राशन कार्ड संख्या 20417 जारी किया गया।")
        await disposal.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"\?done=1$"))
        await expect(page.locator("ol.timeline li[data-kind=disposed]")).to_have_count(1)
        await expect(page.locator("p.no-acts")).to_have_count(1)
        await expect(page.locator("details.act")).to_have_count(0)
        await _fits_the_phone(page)
        await _snap(page, "4-disposed-en")

        # The same page in Hindi.
        await page.click("a[hreflang=hi]")
        await expect(page.locator("html")).to_have_attribute("lang", "hi")
        await expect(page.locator("h2").first).to_be_visible()
        await _fits_the_phone(page)
        await _snap(page, "5-disposed-hi")
    finally:
        await context.close()


async def test_the_DM_reviews_pending_cases_by_age_and_downloads_the_excel(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    # At least one case open in Patna, whichever tests ran before.
    await _file_a_ration_card_case(shared_suite.base_url, signed_in=False)
    context = await browser.new_context(
        base_url=shared_suite.base_url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        locale="hi-IN",
        is_mobile=True,
        has_touch=True,
        accept_downloads=True,
    )
    page = await context.new_page()
    try:
        await page.goto("/app/officer/signin?next=%2Fapp%2Fofficer%2Freview")
        await page.get_by_label("उपयोगकर्ता नाम").fill(DM[0])
        await page.get_by_label("पासवर्ड").fill(DM[1])
        await page.click("form[action='/app/officer/signin'] button[type=submit]")
        await expect(page).to_have_url(re.compile(r"/app/officer/review$"))

        # The dashboard's figures, the table by office, and the chart drawn on the server as inline SVG.
        await expect(page.locator("dl.figures dd").first).to_have_text(re.compile(r"^\d+$"))
        await expect(page.locator("table.report tbody tr.totals")).to_have_count(1)
        chart = page.locator("figure.chart svg[role=img]")
        await expect(chart).to_have_count(1)
        await expect(chart.locator("text", has_text="30 दिन से अधिक")).to_have_count(1)
        await _fits_the_phone(page)
        await _snap(page, "6-review-hi")

        # By officer, then the same figures as an Excel file.
        await page.click("nav.switch a[href*='by=officer']")
        await expect(page).to_have_url(re.compile(r"by=officer"))
        await expect(page.locator("table.report thead th")).to_have_count(8)
        async with page.expect_download() as downloading:
            await page.click("p.downloads a[href*='format=xlsx']")
        download = await downloading.value
        saved = await download.path()
        assert download.suggested_filename.startswith("pending-by-age-pat-")
        assert download.suggested_filename.endswith(".xlsx")
        with zipfile.ZipFile(saved) as workbook:
            assert "xl/workbook.xml" in workbook.namelist()
            assert "पदाधिकारी (पद)" in workbook.read("xl/sharedStrings.xml").decode()
        await _fits_the_phone(page)
        await _snap(page, "7-review-by-officer-hi")
    finally:
        await context.close()


async def _a_final_report_with_the_dm(base_url: str) -> str:
    """A CSPGRS case (HOME, an FIR not registered) taken through /v1 as tests/test_desk_e2e.py takes it: the CS cell
    assigns it to the SSP (C3), whose preliminary and final reports (C4) put the final report with the DM (C5)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=90) as http:
        desk = Desk(http)
        citizen = await desk.citizen(REVIEW_PHONE)
        filed = await http.post(
            "/v1/grievances",
            json={
                "complainant": {"name": "रीना देवी", "address": "ग्राम कुरकुरी, फुलवारी शरीफ, पटना", "phone": REVIEW_PHONE},
                "description": "थाने में प्राथमिकी दर्ज नहीं की गई, दो बार गई।",
                "category_code": "HOME-FIR-NOT-REGISTERED",
                "location": PHULWARI,
                "channel": "web",
            },
            headers={**citizen, "Idempotency-Key": f"web-officer-e2e-{uuid.uuid4().hex}"},
        )
        assert filed.status_code == 201, filed.text
        number = str(filed.json()["registration_number"])
        osd, ssp = await desk.officer(*OSD), await desk.officer(*SSP)

        async def at_the_cell() -> bool:
            return bool((await desk.case(number, citizen))["assignment"])

        await eventually(at_the_cell, timeout=90)
        await desk.act(osd, number, "assignment", {"note": "72 घंटे में अंतिम प्रतिवेदन / final report in 72 h"})
        c4 = {
            "concerns_office": True,
            "aware_before": False,
            "action_taken": "थानाध्यक्ष को प्राथमिकी दर्ज करने का निर्देश / the SHO was directed to register the FIR",
            "resolvable_within_72h": True,
            "expected_resolution_by": "2026-12-05T10:00:00+05:30",
        }
        await desk.act(ssp, number, "reports", {"kind": "preliminary", **c4})
        final = await desk.act(ssp, number, "reports", {"kind": "final", **c4})
        assert final["reviewer_position_id"] == "POS-PAT-DM"
        return number


async def _clocks(base_url: str, number: str, who: tuple[str, str]) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        token = await Desk(http).officer(*who)
        read = await http.get(f"/v1/grievances/{number}/clocks", headers=token)
        assert read.status_code == 200, read.text
        return dict(read.json())


async def test_C5_the_DM_forwards_the_final_report_from_the_case_page_and_the_secretary_reviews_next(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    number = await _a_final_report_with_the_dm(shared_suite.base_url)
    phone = {"viewport": {"width": PHONE_WIDTH, "height": 740}, "is_mobile": True, "has_touch": True}
    dm_context = await browser.new_context(base_url=shared_suite.base_url, locale="en-IN", **phone)
    secretary_context = await browser.new_context(base_url=shared_suite.base_url, locale="hi-IN", **phone)
    try:
        page = await dm_context.new_page()
        await page.goto(f"/app/officer/signin?next=%2Fapp%2Fofficer%2Fgrievances%2F{number}")
        await page.get_by_label("Username").fill(DM[0])
        await page.get_by_label("Password").fill(DM[1])
        await page.click("form[action='/app/officer/signin'] button[type=submit]")
        await expect(page).to_have_url(re.compile(rf"/app/officer/grievances/{number}$"))

        # The DM does not hold the SSP's post: the review is the one act offered, and the page names who reviews.
        await expect(page.locator("dd.reviewer")).to_have_text("POS-PAT-DM")
        await expect(page.locator("details.act")).to_have_count(1)
        review = page.locator("details[data-act=review]")
        await expect(review.locator("h3")).to_have_text("Review the final report (C5)")
        await _fits_the_phone(page)
        await _snap(page, "8-review-c5-en")

        # The only form is open already; the DM forwards the report to the department.
        await review.get_by_label("Decision").select_option("forward")
        await review.get_by_label("Note").fill("गृह विभाग को अग्रसारित / to the Home department")
        await review.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"\?done=1$"))
        await expect(page.locator("p.notice[role=status]")).to_be_visible()
        await expect(page.locator("ol.timeline li[data-kind=final_report_forwarded]")).to_have_count(1)
        # The hop is the secretary's now: nothing is left for the DM to do on this page.
        await expect(page.locator("dd.reviewer")).to_have_text("POS-HOME-BR-SECRETARY")
        await expect(page.locator("details.act")).to_have_count(0)

        clocks = await _clocks(shared_suite.base_url, number, DM)
        assert clocks["reviewer_position_id"] == "POS-HOME-BR-SECRETARY"

        # The next hop: the Home secretary's page offers the review, in Hindi.
        page = await secretary_context.new_page()
        await page.goto(f"/app/officer/signin?next=%2Fapp%2Fofficer%2Fgrievances%2F{number}")
        await page.get_by_label("उपयोगकर्ता नाम").fill(HOME_SECRETARY[0])
        await page.get_by_label("पासवर्ड").fill(HOME_SECRETARY[1])
        await page.click("form[action='/app/officer/signin'] button[type=submit]")
        await expect(page).to_have_url(re.compile(rf"/app/officer/grievances/{number}$"))
        await expect(page.locator("details[data-act=review] h3")).to_have_text("अंतिम प्रतिवेदन की समीक्षा करें (C5)")
        await _fits_the_phone(page)
        await _snap(page, "9-review-c5-hi")
    finally:
        await dm_context.close()
        await secretary_context.close()
