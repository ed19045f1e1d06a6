"""The DM's and the citizen's recourse pages in a real browser against the real suite (Debian's chromium, driven by
Playwright, on a 360 px phone screen). A DM approves a transfer: the District Supply Officer asks through /v1 to
transfer a ration-shop case to the Health department (S5); the DM signs in on the web, opens the district's page and
the moderator queue, approves the request, and the case moves to Health. The DM exports the review report: from the
district's page to the review page in Hindi, and the Excel download, whose header is in Hindi. A citizen gives
feedback: the DSO disposes of a case filed with the citizen's phone; the citizen signs in by OTP and opens it on
the web, where feedback, reopening and appeal are offered, rates the disposal, and the timeline records it (H3).
The Home secretary adds, renames and retires a category on the categories page (H4), as real routing then lists it.
Screenshots go to var/screenshots/web-dm-*.png (not committed).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import pytest_asyncio
from _suite import RunningSuite
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from test_desk_e2e import DM, DSO, HOME_SECRETARY, PHULWARI, Desk
from test_web_e2e import CHROMIUM, CHROMIUM_ARGS, DEV_FIXED_OTP, PHONE_WIDTH, SCREENSHOTS

from nivaran_common.testing import eventually

# Phones of this module alone (the suite is shared; OTP requests are limited per phone).
TRANSFER_PHONE = "9876512901"
FEEDBACK_PHONE = "9876512902"
WEEKLY_PHONE = "9876512903"
RESOLVED = {"kind": "resolved", "action_taken": "दुकान का निरीक्षण कर नियमित खोलने का आदेश दिया / shop ordered open"}


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


async def _phone(browser: Browser, base_url: str, locale: str) -> BrowserContext:
    return await browser.new_context(
        base_url=base_url, viewport={"width": PHONE_WIDTH, "height": 740}, locale=locale, is_mobile=True,
        has_touch=True, accept_downloads=True,
    )  # fmt: skip


async def _snap(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"web-dm-{name}.png"), full_page=True)


async def _fits_the_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways on a {PHONE_WIDTH} px screen ({width} px)"


async def _file_with_the_dso(desk: Desk, citizen: dict[str, str], phone: str, description: str) -> str:
    """A FOOD case in Phulwari, filed by the citizen, once it is with the District Supply Officer."""
    filed = await desk.http.post(
        "/v1/grievances",
        json={
            "complainant": {"name": "कमला देवी", "address": "ग्राम कुरकुरी, फुलवारी शरीफ, पटना", "phone": phone},
            "description": description, "category_code": "FOOD-PDS-SUPPLY", "location": PHULWARI, "channel": "web",
        },
        headers={**citizen, "Idempotency-Key": f"web-dm-e2e-{uuid.uuid4().hex}"},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    number = str(filed.json()["registration_number"])
    dso = await desk.officer(*DSO)

    async def with_the_dso() -> bool:
        return (await desk.http.get(f"/v1/grievances/{number}", headers=dso)).status_code == 200

    await eventually(with_the_dso, timeout=90)
    return number


async def _sign_in(page: Page, who: tuple[str, str], username: str, password: str, button: str) -> None:
    await page.get_by_label(username).fill(who[0])
    await page.get_by_label(password).fill(who[1])
    await page.click(button)


async def test_S5_a_DM_approves_a_transfer_in_the_browser_and_the_case_moves(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=90) as http:
        desk = Desk(http)
        citizen = await desk.citizen(TRANSFER_PHONE)
        number = await _file_with_the_dso(
            desk, citizen, TRANSFER_PHONE, "राशन दुकान के पास स्वास्थ्य उपकेंद्र में दवा नहीं मिलती; यह स्वास्थ्य विभाग का विषय है।"
        )
        dso, dm = await desk.officer(*DSO), await desk.officer(*DM)
        asked = await http.post(
            f"/v1/grievances/{number}/transfer-requests",
            json={"to_department_code": "HEALTH", "reason": "दवा की शिकायत स्वास्थ्य विभाग की है / a health matter"},
            headers=dso,
        )
        assert asked.status_code == 201, asked.text
        transfer_id = asked.json()["id"]

        context = await _phone(browser, shared_suite.base_url, "en-IN")
        page = await context.new_page()
        try:
            await page.goto("/app/officer/dm")
            await expect(page).to_have_url(re.compile(r"/app/officer/signin\?next=%2Fapp%2Fofficer%2Fdm$"))
            await _sign_in(page, DM, "Username", "Password", "form[action='/app/officer/signin'] button[type=submit]")
            await expect(page).to_have_url(re.compile(r"/app/officer/dm$"))
            await _fits_the_phone(page)
            await _snap(page, "1-district-en")

            # The moderator queue: this request among the district's, with its reason and its decision form.
            await page.click("a[href='/app/officer/dm/transfers']")
            row = page.locator(f"li[data-transfer='{transfer_id}']")
            await expect(row).to_have_count(1)
            await expect(row).to_contain_text("a health matter")
            await expect(row.locator(f"a.number[href='/app/officer/grievances/{number}']")).to_have_count(1)
            await _fits_the_phone(page)
            await _snap(page, "2-transfers-en")
            await row.get_by_label("Decision").select_option("yes")
            await row.get_by_label("Note").fill("स्वास्थ्य विभाग को अंतरित / to Health")
            await row.locator("button[type=submit]").click()
            await expect(page).to_have_url(re.compile(r"/app/officer/dm/transfers\?done=1$"))
            await expect(page.locator("p.notice[role=status]")).to_be_visible()
            await expect(page.locator(f"li[data-transfer='{transfer_id}']")).to_have_count(0)
            await _fits_the_phone(page)
            await _snap(page, "3-approved-en")
        finally:
            await context.close()

        # The case moved to the Health department, once, and the DSO no longer sees it.
        moved: dict[str, Any] = {}

        async def with_health() -> bool:
            moved.update(await desk.case(number, dm))
            return bool(moved["assignment"]["department_code"] == "HEALTH")

        await eventually(with_health, timeout=60)
        assert [e["event_type"] for e in moved["timeline"]].count("transferred") == 1
        assert (await http.get(f"/v1/grievances/{number}", headers=dso)).status_code == 404
        queue = await http.get("/v1/transfer-queue", params={"state": "approved"}, headers=dm)
        assert transfer_id in {t["id"] for t in queue.json()["transfers"]}


async def test_the_DM_exports_the_review_report_from_the_district_page(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    context = await _phone(browser, shared_suite.base_url, "hi-IN")
    page = await context.new_page()
    try:
        await page.goto("/app/officer/signin?next=%2Fapp%2Fofficer%2Fdm")
        await _sign_in(page, DM, "उपयोगकर्ता नाम", "पासवर्ड", "form[action='/app/officer/signin'] button[type=submit]")
        await expect(page).to_have_url(re.compile(r"/app/officer/dm$"))
        await expect(page.locator("h1")).to_have_text("जिले का कार्य")
        await page.click("ul.links a[href='/app/officer/review']")
        await expect(page).to_have_url(re.compile(r"/app/officer/review$"))
        await expect(page.locator("table.report tbody tr.totals")).to_have_count(1)
        await _fits_the_phone(page)
        await _snap(page, "4-review-hi")
        async with page.expect_download() as downloading:
            await page.click("p.downloads a[href*='format=xlsx']")
        download = await downloading.value
        assert download.suggested_filename.endswith(".xlsx")
        with zipfile.ZipFile(await download.path()) as workbook:
            assert "xl/workbook.xml" in workbook.namelist()
            assert "कार्यालय" in workbook.read("xl/sharedStrings.xml").decode()
    finally:
        await context.close()


async def test_M1_the_DM_exports_the_weekly_report_in_the_browser_and_the_file_matches_v1(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    """From the DM's review pages to the weekly report (M1) of the current week; its Excel file, opened with
    openpyxl, holds per office and in the totals the figures /v1/reports/weekly gives the DM for the same week."""
    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=90) as http:
        desk = Desk(http)
        # A case received this week, so that the week has figures.
        await _file_with_the_dso(desk, {}, WEEKLY_PHONE, "राशन कार्ड में नाम जोड़ने का आवेदन तीन महीने से लंबित है।")
        dm = await desk.officer(*DM)
        context = await _phone(browser, shared_suite.base_url, "hi-IN")
        page = await context.new_page()
        try:
            await page.goto("/app/officer/signin?next=%2Fapp%2Fofficer%2Freview")
            await _sign_in(
                page, DM, "उपयोगकर्ता नाम", "पासवर्ड", "form[action='/app/officer/signin'] button[type=submit]"
            )
            await expect(page).to_have_url(re.compile(r"/app/officer/review$"))
            await page.click("a[href='/app/officer/review/weekly']")
            await expect(page).to_have_url(re.compile(r"/app/officer/review/weekly$"))
            # The weeks offered: the current one so far, then the whole ones back; the current one has this filing.
            current = await page.locator("select#week option").first.get_attribute("value")
            assert current
            await page.select_option("select#week", current)
            await page.click("form.filters button[type=submit]")
            await expect(page).to_have_url(re.compile(rf"week={current}"))
            await expect(page.locator("table.report tbody tr.totals")).to_have_count(1)
            await _fits_the_phone(page)
            await _snap(page, "5-weekly-hi")
            async with page.expect_download() as downloading:
                await page.click("p.downloads a[href*='format=xlsx']")
            download = await downloading.value
            assert download.suggested_filename.endswith(".xlsx")
            # Playwright keeps the download under a name without a suffix, which openpyxl refuses: read the bytes.
            workbook = openpyxl.load_workbook(io.BytesIO(Path(await download.path()).read_bytes()), read_only=True)
            sheet = workbook.worksheets[0]
            cells = [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            await context.close()
        answer = await http.get("/v1/reports/weekly", params={"week": current}, headers=dm)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["totals"]["received"] >= 1
    figures = ["received", "disposed", "pending", "overdue", "show_causes_issued", "show_causes_answered", "breaches"]
    # The file's rows of figures: an office's name, then its seven whole numbers; the totals last.
    numbered = [row for row in cells if len(row) >= 8 and all(isinstance(v, int) for v in row[1:8])]
    assert [row[1:8] for row in numbered] == [
        [office[name] for name in figures] for office in [*report["rows"], report["totals"]]
    ]
    assert "कार्यालय" in {str(v) for row in cells for v in row if v is not None} | {
        part for row in cells for v in row if isinstance(v, str) for part in v.split(" / ")
    }


async def test_H3_a_citizen_gives_feedback_on_a_disposed_case_in_the_browser(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=90) as http:
        desk = Desk(http)
        # Filed without a session (with the complainant's phone): the browser's sign-in is this phone's first OTP.
        number = await _file_with_the_dso(
            desk, {}, FEEDBACK_PHONE, "जन वितरण प्रणाली की दुकान महीने में केवल दो दिन खुलती है, अनाज नहीं मिलता।"
        )
        await desk.act(await desk.officer(*DSO), number, "disposal", RESOLVED)

    context = await _phone(browser, shared_suite.base_url, "en-IN")
    page = await context.new_page()
    try:
        await page.goto(f"/app/grievances/{number}")
        await expect(page).to_have_url(re.compile(r"/app/signin\?next="))
        await page.get_by_label("Mobile number").fill(FEEDBACK_PHONE)
        await page.click("form[action='/app/signin'] button[type=submit]")
        await page.get_by_label("One-time code").fill(DEV_FIXED_OTP)
        await page.click("form[action='/app/signin/verify'] button[type=submit]")
        await expect(page).to_have_url(re.compile(rf"/app/grievances/{number}$"))

        # A disposed case offers feedback, reopening and appeal; nothing else.
        forms = page.locator("details[data-form]")
        await expect(forms).to_have_count(3)
        feedback = page.locator("details[data-form=feedback]")
        await feedback.locator("summary").click()
        await feedback.get_by_label("How was the officer's work?").select_option("4")
        await feedback.get_by_label("Was your grievance fixed?").select_option("yes")
        await feedback.get_by_label("Comment").fill("दुकान अब नियमित खुलती है / the shop opens regularly now")
        await _fits_the_phone(page)
        await _snap(page, "5-feedback-en")
        await feedback.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"\?done=1$"))
        await expect(page.locator("ol.timeline li[data-kind=feedback_recorded]")).to_have_count(1)
        await _fits_the_phone(page)
        await _snap(page, "6-feedback-recorded-en")
    finally:
        await context.close()


async def test_H4_the_Home_secretary_adds_renames_and_retires_a_category_in_the_browser(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    """The categories page against real routing: each form's change is what GET /v1/categories then answers."""
    code = f"HOME-E2E-{uuid.uuid4().hex[:6].upper()}"
    context = await _phone(browser, shared_suite.base_url, "en-IN")
    page = await context.new_page()
    try:
        await page.goto("/app/officer/categories?department_code=HOME")
        await _sign_in(
            page, HOME_SECRETARY, "Username", "Password", "form[action='/app/officer/signin'] button[type=submit]"
        )
        await expect(page).to_have_url(re.compile(r"/app/officer/categories\?department_code=HOME$"))
        await expect(page.locator("dl.other-share dd.share")).to_have_text(re.compile(r"^\d+\.\d%$"))

        create = page.locator("#form-create")
        await create.locator("summary").click()
        await create.locator("#f-create-code").fill(code)
        await create.locator('[id="f-create-name.hi"]').fill("थाने में आवेदन की पावती नहीं")
        await create.locator('[id="f-create-name.en"]').fill("No receipt for an application at the police station")
        await create.get_by_label("Track").select_option("sahyog")
        await create.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"done=1"))
        row = page.locator(f"li[data-category='{code}']")
        await expect(row).to_contain_text("No receipt for an application at the police station")
        await _fits_the_phone(page)
        await _snap(page, "categories-1-added-en")

        rename = row.locator(f"#form-rename-{code}")
        await rename.locator("summary").click()
        await rename.locator(f'[id="f-rename-{code}-name.en"]').fill("No receipt for a complaint at the police station")
        await rename.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"done=1"))
        await expect(page.locator(f"li[data-category='{code}']")).to_contain_text("No receipt for a complaint")

        retire = page.locator(f"li[data-category='{code}'] #form-retire-{code}")
        await retire.locator("summary").click()
        await retire.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"done=1"))
        await expect(page.locator(f"li[data-category='{code}'].retired")).to_have_count(1)
        await _snap(page, "categories-2-retired-en")
    finally:
        await context.close()

    async with httpx.AsyncClient(base_url=shared_suite.base_url, timeout=30) as http:
        listed = await http.get("/v1/categories", params={"department_code": "HOME", "include_retired": "true"})
        [made] = [c for c in listed.json()["categories"] if c["code"] == code]
        assert made["name"] == {
            "hi": "थाने में आवेदन की पावती नहीं",
            "en": "No receipt for a complaint at the police station",
        }
        assert made["retired"] is True
        offered = await http.get("/v1/categories", params={"department_code": "HOME"})
        assert code not in [c["code"] for c in offered.json()["categories"]]
