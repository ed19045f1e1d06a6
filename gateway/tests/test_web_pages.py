"""The web app at /app against the gateway's fakes: language, session cookies, CSRF, sign-in redirects, errors next to
their fields, filing once per form, and the security headers. Browser behaviour is tests/test_web_e2e.py's."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from gateway_testkit import FIXED_OTP, RAW_PHONE, Rig, token_for

from nivaran_gateway.web.i18n import HERE as WEB_DIR
from nivaran_gateway.web.i18n import LANGUAGES, LOCALE_DIR, negotiate
from nivaran_gateway.web.session import ACCESS_COOKIE, REFRESH_COOKIE

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
RigFactory = Callable[..., Awaitable[Rig]]
PRIVATE_PAGES = ("/app/grievances", "/app/grievances/new", "/app/grievances/BR-PAT-2026-0000001-7")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a form with its CSRF token"
    return found.group(1)


def sign_in_as(client: httpx.AsyncClient, persona: str, **overrides: Any) -> None:
    client.cookies.set(ACCESS_COOKIE, token_for(persona, **overrides), domain="gateway.test", path="/app")


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


async def filing_form(client: httpx.AsyncClient) -> tuple[str, str]:
    page = await client.get("/app/grievances/new")
    assert page.status_code == 200, page.text
    key = KEY.search(page.text)
    assert key
    return csrf_of(page.text), key.group(1)


def filing_fields(csrf: str, key: str, **overrides: str) -> dict[str, str]:
    fields = {
        "csrf": csrf,
        "idempotency_key": key,
        "complainant.name": "राम कुमार",
        "complainant.address": "ग्राम बिहटा, पटना",
        "category_code": "REVENUE_MUTATION",
        "description": "मेरा दाखिल-खारिज का आवेदन तीन महीने से लंबित है।",
        "location.district_code": "PAT",
    }
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value}


@pytest.mark.parametrize(
    ("lang", "sign_in", "title"), [("hi", "साइन इन करें", '<html lang="hi">'), ("en", "Sign in", '<html lang="en">')]
)
async def test_pages_render_in_both_languages(rig: Rig, lang: str, sign_in: str, title: str) -> None:
    rig.client.cookies.set("lang", lang, domain="gateway.test")

    for path in ("/app", "/app/signin"):
        page = await rig.client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert title in page.text
        assert sign_in in page.text

    sign_in_as(rig.client, "citizen_a")
    form = await rig.client.get("/app/grievances/new")
    # Localized {en, hi} from /v1 shows in the page's language (the fake's category and districts).
    assert ("दाखिल-खारिज" if lang == "hi" else "Mutation") in form.text
    assert ("पटना" if lang == "hi" else "Patna") in form.text


async def test_language_switch_is_remembered_in_a_cookie_and_returns_to_the_page(rig: Rig) -> None:
    switched = await rig.client.get("/app/lang", params={"to": "en", "next": "/app/signin"})

    assert switched.status_code == 303
    assert switched.headers["location"] == "/app/signin"
    assert "lang=en" in set_cookies(switched)["lang"]
    assert '<html lang="en">' in (await rig.client.get("/app/signin")).text
    # Every page offers the switch back, to the page it is on.
    assert "/app/lang?to=hi&amp;next=%2Fapp%2Fsignin" in (await rig.client.get("/app/signin")).text


async def test_language_switch_never_sends_the_visitor_to_another_site(rig: Rig) -> None:
    for target in ("https://evil.example/app", "//evil.example/app", "/v1/me"):
        switched = await rig.client.get("/app/lang", params={"to": "hi", "next": target})
        assert switched.headers["location"] == "/app"


def test_the_default_language_comes_from_accept_language_then_hindi() -> None:
    assert negotiate(None, "en-GB,en;q=0.9") == "en"
    assert negotiate(None, "en;q=0.4, hi;q=0.8") == "hi"
    assert negotiate(None, "fr-FR, de") == "hi"
    assert negotiate(None, None) == "hi"
    assert negotiate("en", "hi") == "en"


async def test_accept_language_chooses_the_page_language_without_a_cookie(rig: Rig) -> None:
    english = await rig.client.get("/app", headers={"Accept-Language": "en-IN,en;q=0.9"})
    other = await rig.client.get("/app", headers={"Accept-Language": "ta-IN"})

    assert '<html lang="en">' in english.text
    assert '<html lang="hi">' in other.text


@pytest.mark.parametrize("csrf", [None, "0" * 64])
async def test_a_post_without_the_session_csrf_token_gets_a_403_page(rig: Rig, csrf: str | None) -> None:
    await rig.client.get("/app/signin")  # the browser gets its session id
    fields = {"phone": RAW_PHONE, **({"csrf": csrf} if csrf else {})}

    refused = await rig.client.post("/app/signin", data=fields)

    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert 'data-status="403"' in refused.text
    assert not [r for r in rig.identity.requests if r.DESCRIPTOR.name == "RequestOtpRequest"], "no SMS was sent"


async def test_a_csrf_token_of_another_session_is_refused(make_rig: RigFactory) -> None:
    rig = await make_rig()
    other = httpx.AsyncClient(transport=rig.client._transport, base_url="http://gateway.test")
    try:
        foreign = csrf_of((await other.get("/app/signin")).text)
        await rig.client.get("/app/signin")

        refused = await rig.client.post("/app/signin", data={"phone": RAW_PHONE, "csrf": foreign})
    finally:
        await other.aclose()

    assert refused.status_code == 403


async def test_sign_in_by_otp_keeps_the_tokens_in_http_only_cookies(rig: Rig) -> None:
    csrf = csrf_of((await rig.client.get("/app/signin")).text)
    code_step = await rig.client.post("/app/signin", data={"phone": RAW_PHONE, "csrf": csrf, "next": "/app/grievances"})
    assert code_step.status_code == 200
    assert 'name="otp"' in code_step.text

    signed_in = await rig.client.post(
        "/app/signin/verify",
        data={"phone": RAW_PHONE, "otp": FIXED_OTP, "csrf": csrf_of(code_step.text), "next": "/app/grievances"},
    )

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/app/grievances"
    cookies = set_cookies(signed_in)
    for name in (ACCESS_COOKIE, REFRESH_COOKIE, "nv_sid"):
        assert "HttpOnly" in cookies[name]
        assert "SameSite=lax" in cookies[name]
        assert "Path=/app" in cookies[name]
    assert (await rig.client.get("/app/grievances")).status_code == 200


async def test_a_wrong_code_is_shown_next_to_the_code_field(rig: Rig) -> None:
    csrf = csrf_of((await rig.client.get("/app/signin")).text)

    wrong = await rig.client.post("/app/signin/verify", data={"phone": RAW_PHONE, "otp": "000000", "csrf": csrf})

    assert wrong.status_code == 401
    assert re.search(r'name="otp"[^>]*aria-invalid="true"[^>]*>\s*<p class="error" id="e-otp"', wrong.text)
    assert "कोड गलत है" in wrong.text


@pytest.mark.parametrize("path", PRIVATE_PAGES)
async def test_private_pages_send_a_visitor_without_a_session_to_sign_in(rig: Rig, path: str) -> None:
    page = await rig.client.get(path)

    assert page.status_code == 303
    assert page.headers["location"].startswith("/app/signin?next=%2Fapp%2Fgrievances")


async def test_an_expired_access_token_is_refreshed_once(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_a", ttl=-60)
    rig.client.cookies.set(REFRESH_COOKIE, "refresh-abc", domain="gateway.test", path="/app")

    page = await rig.client.get("/app/grievances")

    assert page.status_code == 200
    cookies = set_cookies(page)
    assert ACCESS_COOKIE in cookies
    assert REFRESH_COOKIE in cookies
    assert cookies[REFRESH_COOKIE] != "refresh-abc"


async def test_a_refused_refresh_sends_the_visitor_to_sign_in_and_drops_the_tokens(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_a", ttl=-60)
    rig.client.cookies.set(REFRESH_COOKIE, "stolen-or-spent", domain="gateway.test", path="/app")

    page = await rig.client.get("/app/grievances")

    assert page.status_code == 303
    assert page.headers["location"].startswith("/app/signin")
    assert 'nv_access=""' in set_cookies(page)[ACCESS_COOKIE]


async def test_sign_out_revokes_the_session_at_v1_and_clears_the_cookies(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_a")
    rig.client.cookies.set(REFRESH_COOKIE, "refresh-abc", domain="gateway.test", path="/app")
    csrf = csrf_of((await rig.client.get("/app/grievances")).text)

    out = await rig.client.post("/app/signout", data={"csrf": csrf})

    assert (out.status_code, out.headers["location"]) == (303, "/app")
    revoked = [r for r in rig.identity.requests if r.DESCRIPTOR.name == "RevokeTokenRequest"]
    assert [r.refresh_token for r in revoked] == ["refresh-abc"]
    assert (await rig.client.get("/app/grievances")).status_code == 303


async def test_an_officer_gets_a_403_page_on_a_citizen_page(rig: Rig) -> None:
    sign_in_as(rig.client, "officer_a")

    page = await rig.client.get("/app/grievances")

    assert page.status_code == 403
    assert "नागरिकों के लिए" in page.text


async def test_a_v1_field_error_is_shown_next_to_the_field_it_names(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_a")
    rig.client.cookies.set("lang", "en", domain="gateway.test")
    csrf, key = await filing_form(rig.client)

    refused = await rig.client.post("/app/grievances/new", data=filing_fields(csrf, key, **{"complainant.name": ""}))

    assert refused.status_code == 422
    # The problem's title in the page's language, and the message right after the input it names.
    assert "The request has invalid fields" in refused.text
    assert re.search(
        r'name="complainant.name"[^>]*aria-invalid="true"[^>]*>\s*'
        r'<p class="error" id="e-complainant.name" data-field="complainant.name">Please check this field:',
        refused.text,
    )
    # What was typed is kept, and the same Idempotency-Key travels on.
    assert "ग्राम बिहटा, पटना" in refused.text
    assert f'value="{key}"' in refused.text
    assert rig.intake.requests == []


async def test_B4_a_form_submitted_twice_files_one_grievance(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_a")
    csrf, key = await filing_form(rig.client)
    fields = filing_fields(csrf, key)

    first = await rig.client.post("/app/grievances/new", data=fields)
    second = await rig.client.post("/app/grievances/new", data=fields)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert re.fullmatch(r"/app/grievances/BR-PAT-2026-\d{7}-7\?filed=1", first.headers["location"])
    assert len(rig.intake.requests) == 1
    sent = rig.intake.requests[0]
    assert sent.complainant.account_id == "acct-citizen-a"
    assert sent.complainant.preferred_language == "hi"


async def test_B5_the_case_page_shows_the_acknowledgement_and_the_timeline_in_the_chosen_language(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_a")
    csrf, key = await filing_form(rig.client)
    filed = await rig.client.post("/app/grievances/new", data=filing_fields(csrf, key))
    case_path = filed.headers["location"]
    number = case_path.split("/")[-1].split("?")[0]

    hindi = await rig.client.get(case_path)
    rig.client.cookies.set("lang", "en", domain="gateway.test")
    english = await rig.client.get(case_path)
    listed = await rig.client.get("/app/grievances")

    assert f"पंजीकरण संख्या {number} से दर्ज" in hindi.text
    assert "शिकायत दर्ज हुई" in hindi.text
    assert "अंचल अधिकारी, बिहटा को सौंपा गया" in hindi.text
    assert "Grievance registered" in english.text
    assert "Assigned to the Circle Officer, Bihta" in english.text
    assert number in listed.text
    assert "Land records" in listed.text


async def test_a_case_outside_the_citizens_own_is_a_404_page(rig: Rig) -> None:
    sign_in_as(rig.client, "citizen_b")

    page = await rig.client.get("/app/grievances/BR-PAT-2026-0000001-7")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


async def test_pages_carry_the_security_headers_and_no_inline_script(rig: Rig) -> None:
    for path in ("/app", "/app/signin", "/app/grievances", "/app/static/app.css"):
        answer = await rig.client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    home = (await rig.client.get("/app")).text
    assert re.findall(r"<script[^>]*>", home) == ['<script src="/app/static/app.js" defer>']
    assert " style=" not in home


async def test_the_web_client_forwards_the_client_address_so_per_ip_limits_hold(make_rig: RigFactory) -> None:
    rig = await make_rig(trusted_proxy_hops=1, rate_limits={"otp": {"limit": 1, "window_seconds": 600}})
    csrf = csrf_of((await rig.client.get("/app/signin")).text)

    def ask(ip: str, phone: str) -> Any:
        return rig.client.post(
            "/app/signin", data={"phone": phone, "csrf": csrf}, headers={"X-Forwarded-For": f"203.0.113.9, {ip}"}
        )

    first = await ask("198.51.100.1", "+919876500101")
    again = await ask("198.51.100.1", "+919876500102")
    elsewhere = await ask("198.51.100.2", "+919876500103")

    assert (first.status_code, again.status_code, elsewhere.status_code) == (200, 429, 200)
    assert "बहुत अधिक अनुरोध" in again.text
    ips = [r.client_ip for r in rig.identity.requests if r.DESCRIPTOR.name == "RequestOtpRequest"]
    assert ips == ["198.51.100.1", "198.51.100.2"]


def test_every_string_of_the_pages_is_in_both_catalogues_and_translated_into_hindi() -> None:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    extracted = {message[2] for message in extract_from_dir(WEB_DIR, method_map, options)}
    catalogues = {}
    for lang in LANGUAGES:
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalogues[lang] = read_po(po, locale=lang)

    assert len(extracted) > 50
    for lang, catalogue in catalogues.items():
        assert extracted <= {m.id for m in catalogue if m.id}, f"run pybabel extract and update {lang} (docs/web.md)"
        assert not [m.id for m in catalogue if m.id and (m.fuzzy or not m.string)], lang
    assert all(m.string != m.id for m in catalogues["hi"] if m.id and m.id != "PDF, JPEG or PNG, up to 5 MB")
