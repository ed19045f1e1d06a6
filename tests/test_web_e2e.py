"""The web app in a real browser against the real suite: Debian's chromium, driven by Playwright (never a browser
download), on a 360 px wide phone screen. A citizen switches to Hindi, signs in by OTP, files a grievance with a
photo, finds it among their cases and follows its timeline. Screenshots go to var/screenshots/ (not committed).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from _suite import RunningSuite
from playwright.async_api import Browser, Page, async_playwright, expect

from nivaran_common.testing import eventually

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
# Identity's dev profile (scripts/devrun.py) fixes the OTP; no other profile accepts one.
DEV_FIXED_OTP = "123456"
# Phones of this module alone (the suite is shared; OTP cooldowns are per phone).
CITIZEN_PHONE = "9876512701"
PHONE_WIDTH = 360
# A PNG header is what intake checks a photo by.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


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


async def _sahyog_category(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        categories = (await http.get("/v1/categories")).json()["categories"]
    return next(c for c in categories if not c["is_other"] and c["default_track"] == "sahyog")


async def _snap(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"web-{name}.png"), full_page=True)


async def _fits_the_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways on a {PHONE_WIDTH} px screen ({width} px)"


async def test_B4_B5_citizen_files_in_hindi_on_a_phone_and_follows_the_case_to_its_acknowledgement(
    shared_suite: RunningSuite, browser: Browser
) -> None:
    category = await _sahyog_category(shared_suite.base_url)
    context = await browser.new_context(
        base_url=shared_suite.base_url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        locale="en-IN",
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    try:
        # The browser asks for English; the citizen switches to Hindi, and the choice is remembered.
        await page.goto("/app")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.click("a[hreflang=hi]")
        await expect(page.locator("html")).to_have_attribute("lang", "hi")
        await _fits_the_phone(page)
        await _snap(page, "1-home-hi")

        # Sign in: phone, then the OTP.
        await page.click("a.button[href='/app/signin']")
        await page.get_by_label("मोबाइल नंबर").fill(CITIZEN_PHONE)
        await page.click("button[type=submit]")
        await page.get_by_label("एक-बार का कोड (OTP)").fill(DEV_FIXED_OTP)
        await _snap(page, "2-otp-hi")
        await page.click("form[action='/app/signin/verify'] button[type=submit]")
        await expect(page).to_have_url(re.compile(r"/app/grievances$"))
        await expect(page.locator("html")).to_have_attribute("lang", "hi")

        # File: the category by its Hindi name, the district and then a sub-division that the page loads for it.
        await page.click("main a.button[href='/app/grievances/new']")
        await page.get_by_label("आपका नाम").fill("कमला देवी")
        await page.get_by_label("आपका पता").fill("ग्राम शेरपुर, प्रखंड मनेर, पटना")
        await page.fill("#f-category-search", category["name"]["hi"][:3])
        await page.select_option("#f-category_code", category["code"])
        await page.get_by_label("समस्या का विवरण दें").fill(
            "हमारे गाँव का हैंडपंप दो महीने से खराब है, पानी के लिए दूर जाना पड़ता है।"
        )
        await page.select_option("select[data-level=district_code]", "PAT")
        await expect(page.locator("select[data-level=subdivision_code] option[value='PAT-DANAPUR']")).to_have_count(1)
        await page.select_option("select[data-level=subdivision_code]", "PAT-DANAPUR")
        await page.set_input_files("#f-file", files=[{"name": "handpump.png", "mimeType": "image/png", "buffer": PNG}])
        await _fits_the_phone(page)
        await _snap(page, "3-file-hi")
        await page.click("button[data-once]")

        # B4 / B5: the registration number and the acknowledgement, at once, in Hindi.
        await expect(page).to_have_url(re.compile(r"/app/grievances/BR-[A-Z0-9]+-\d{4}-\d{7}-\d\?filed=1"))
        number = re.search(r"BR-[A-Z0-9]+-\d{4}-\d{7}-\d", page.url)
        assert number is not None
        notice = page.locator("p.notice[role=status]")
        await expect(notice).to_contain_text(f"पंजीकरण संख्या {number.group(0)} से दर्ज")
        await expect(page.locator("p.notice").nth(1)).to_contain_text("आपकी फ़ाइल जुड़ गई है")

        # The case among mine, with its category, status and next deadline.
        await page.click("nav.menu a[href='/app/grievances']")
        row = page.locator("li.case-row", has=page.locator(f"a:text('{number.group(0)}')"))
        await expect(row).to_have_count(1)
        await expect(row.locator(".category")).to_have_text(category["name"]["hi"])
        await _fits_the_phone(page)
        await _snap(page, "4-my-cases-hi")

        # Its page: the timeline in plain Hindi, up to the acknowledgement the lifecycle records (B5).
        await row.locator("a.number").click()
        acknowledged = page.locator("ol.timeline li[data-kind=acknowledgement_sent]")

        async def acknowledgement_on_the_timeline() -> bool:
            if await acknowledged.count():
                return True
            await page.reload()
            return False

        await eventually(acknowledgement_on_the_timeline, timeout=90, every=1.0)
        assert DEVANAGARI.search(await acknowledged.inner_text())
        assert "पावती" in await acknowledged.inner_text()
        kinds = await page.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.kind)")
        assert kinds[:2] == ["registered", "assigned"]
        await expect(page.locator("dd.status")).not_to_be_empty()
        await _fits_the_phone(page)
        await _snap(page, "5-case-hi")
    finally:
        await context.close()
