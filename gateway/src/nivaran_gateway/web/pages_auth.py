"""Pages anyone may open: the home page, sign-in by OTP (phone, then code), sign-out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from nivaran_gateway.web.app import PREFIX, PageRoute
from nivaran_gateway.web.context import Visitor, local_path
from nivaran_gateway.web.i18n import N_, as_lang

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

WRONG_CODE = N_("The code is wrong or has expired. Ask for a new one if needed.")


def form_text(form: FormData, name: str) -> str:
    """A text field of a posted form, stripped ("" when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("")
async def home(page: Visitor) -> Response:
    """What a citizen can do here, and the way to sign in."""
    return page.render("home.html")


@router.get("/lang")
async def switch_language(page: Visitor, to: str = "", next: str = "") -> Response:  # noqa: A002
    """Remember the language chosen (cookie `lang`) and go back to the page it was chosen on."""
    lang = as_lang(to)
    if lang is not None:
        page.cookies.set_lang(lang)
    return page.redirect(local_path(next))


@router.get("/signin")
async def signin_form(page: Visitor, next: str = "") -> Response:  # noqa: A002
    """Step 1: the phone number."""
    return page.render("signin.html", step="phone", phone="", next=local_path(next, PREFIX + "/grievances"))


@router.post("/signin")
async def request_code(page: Visitor) -> Response:
    """Ask /v1 to send the OTP; step 2 asks for it."""
    form = await page.request.form()
    phone, back = form_text(form, "phone"), local_path(form_text(form, "next"), PREFIX + "/grievances")
    answer = await page.anonymous("POST", "/v1/auth/otp", json={"phone": phone})
    if not answer.ok:
        return page.render(
            "signin.html", status=answer.status, step="phone", phone=phone, next=back,
            errors=page.field_messages(answer), problem=answer.title(page.lang),
        )  # fmt: skip
    sent_to = answer.body.get("sent_to", "")
    return page.render("signin.html", step="code", phone=phone, sent_to=sent_to, next=back)


@router.post("/signin/verify")
async def verify_code(page: Visitor) -> Response:
    """Exchange the code for tokens, kept in HttpOnly cookies; a fresh session id against fixation."""
    form = await page.request.form()
    phone, otp = form_text(form, "phone"), form_text(form, "otp")
    back = local_path(form_text(form, "next"), PREFIX + "/grievances")
    answer = await page.anonymous("POST", "/v1/auth/otp/verify", json={"phone": phone, "otp": otp})
    if not answer.ok:
        errors = page.field_messages(answer)
        if answer.status == 401:
            errors["otp"] = page.gettext(WRONG_CODE)
        return page.render(
            "signin.html", status=answer.status, step="code", phone=phone, sent_to="", next=back, errors=errors,
            problem=answer.title(page.lang),
        )  # fmt: skip
    page.cookies.keep_tokens(
        answer.body["access_token"], answer.body["refresh_token"], answer.body.get("access_expires_at")
    )
    page.cookies.new_sid()
    return page.redirect(back)


@router.post("/signout")
async def sign_out(page: Visitor) -> Response:
    """Revoke the session at /v1 (refresh token and the access token with it), then forget the cookies."""
    if page.cookies.refresh is not None:
        body = {"refresh_token": page.cookies.refresh}
        answer = await page.api.call("POST", "/v1/auth/logout", token=page.cookies.access, json=body)
        if answer.status == 401:
            # An expired access token is refused; the refresh token alone still ends the session.
            await page.api.call("POST", "/v1/auth/logout", json=body)
    page.cookies.forget_tokens()
    page.cookies.new_sid()
    return page.redirect(PREFIX)
