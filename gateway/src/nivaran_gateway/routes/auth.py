"""REST /v1/auth: sign-in through identity (OTP for citizens, password + TOTP for officers), refresh, logout, and a
password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from nivaran.identity.v1 import identity_pb2
from nivaran_common.auth import CITIZEN, OFFICER, OPERATOR, SERVICE, Principal
from nivaran_common.contact import normalise_phone
from nivaran_gateway.access import client_ip, public, requires
from nivaran_gateway.body import JsonBodyRoute
from nivaran_gateway.deps import Clients, Limiter, Settings
from nivaran_gateway.problems import VALIDATION, ProblemError, problem_responses
from nivaran_gateway.schemas.auth import (
    OtpRequested,
    OtpRequestIn,
    OtpVerifyIn,
    PasswordChangeIn,
    PasswordLoginIn,
    PrincipalView,
    RefreshTokenIn,
    TokenView,
)

router = APIRouter(prefix="/v1", tags=["auth"], route_class=JsonBodyRoute)

# Tokens must not be kept by browsers or proxies (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

OtpCaller = Annotated[Principal | None, Depends(public("otp", per_ip=True))]
LoginCaller = Annotated[Principal | None, Depends(public("login", per_ip=True))]
TokenCaller = Annotated[Principal | None, Depends(public("token", per_ip=True))]
Anyone = Annotated[Principal, Depends(requires(CITIZEN, OFFICER, OPERATOR, SERVICE))]
# A password check: counted in the sign-in bucket, per account (identity also counts failures to its lockout).
PasswordHolder = Annotated[Principal, Depends(requires(OFFICER, OPERATOR, bucket="login"))]


def _phone(raw: str) -> str:
    phone = normalise_phone(raw)
    if phone is None:
        raise ProblemError.field(VALIDATION, "phone", "must be a valid Indian mobile number, e.g. +919876543210")
    return phone


def _tokens(pair: identity_pb2.TokenPair) -> JSONResponse:
    return JSONResponse(TokenView.from_proto(pair).model_dump(mode="json"), headers=NO_STORE)


@router.post(
    "/auth/otp",
    status_code=202,
    response_model=OtpRequested,
    summary="Send a citizen a one-time password by SMS",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
)
async def request_otp(
    body: OtpRequestIn,
    _caller: OtpCaller,
    request: Request,
    clients: Clients,
    settings: Settings,
    limiter: Limiter,
) -> OtpRequested:
    """Every request costs an SMS, so it is limited per client IP and per phone number."""
    phone = _phone(body.phone)
    await limiter.hit("otp_phone", phone)
    answer = await clients.identity.RequestOtp(
        identity_pb2.RequestOtpRequest(phone=phone, client_ip=client_ip(request, settings.trusted_proxy_hops)),
        timeout=settings.grpc_timeout_seconds,
    )
    return OtpRequested.from_proto(phone, answer)


@router.post(
    "/auth/otp/verify",
    response_model=TokenView,
    summary="Exchange the OTP for tokens",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
)
async def verify_otp(
    body: OtpVerifyIn, _caller: LoginCaller, request: Request, clients: Clients, settings: Settings
) -> JSONResponse:
    """A citizen's access and refresh tokens; the access token carries the verified phone."""
    pair = await clients.identity.VerifyOtp(
        identity_pb2.VerifyOtpRequest(
            phone=_phone(body.phone), otp=body.otp, client_ip=client_ip(request, settings.trusted_proxy_hops)
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return _tokens(pair)


@router.post(
    "/auth/login",
    response_model=TokenView,
    summary="Officer sign-in with password and TOTP",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
)
async def password_login(
    body: PasswordLoginIn, _caller: LoginCaller, request: Request, clients: Clients, settings: Settings
) -> JSONResponse:
    """An officer's access and refresh tokens (roles, posts and district in the claims)."""
    pair = await clients.identity.PasswordLogin(
        identity_pb2.PasswordLoginRequest(
            username=body.username,
            password=body.password,
            totp=body.totp or "",
            client_ip=client_ip(request, settings.trusted_proxy_hops),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return _tokens(pair)


@router.post(
    "/auth/refresh",
    response_model=TokenView,
    summary="A new access token for a refresh token",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
)
async def refresh(body: RefreshTokenIn, _caller: TokenCaller, clients: Clients, settings: Settings) -> JSONResponse:
    """Rotate the tokens; the refresh token sent is spent."""
    pair = await clients.identity.RefreshToken(
        identity_pb2.RefreshTokenRequest(refresh_token=body.refresh_token), timeout=settings.grpc_timeout_seconds
    )
    return _tokens(pair)


@router.post(
    "/auth/logout",
    status_code=204,
    response_class=Response,
    summary="Revoke a refresh token, and the access token sent with it",
    responses=problem_responses(400, 401, 415, 422, 429, 500, 502, 503),
)
async def logout(body: RefreshTokenIn, _caller: TokenCaller, clients: Clients, settings: Settings) -> Response:
    """Revoke the refresh token's family. With `Authorization: Bearer <access token>`, that access token is revoked
    too, at once: every service refuses it from the next call on (the gateway forwards it to identity)."""
    await clients.identity.RevokeToken(
        identity_pb2.RevokeTokenRequest(refresh_token=body.refresh_token), timeout=settings.grpc_timeout_seconds
    )
    return Response(status_code=204)


@router.post(
    "/auth/password",
    response_model=TokenView,
    summary="Change your password; every other session ends",
    description="For officers and operators. The current password is checked (wrong ones count towards the sign-in "
    "lockout) and the new one must meet the registration rules. Every token issued before the change is revoked at "
    "once, the one sending this request included; the answer is a new token pair to carry on with.",
    responses=problem_responses(400, 401, 403, 415, 422, 429, 500, 502, 503),
)
async def change_password(
    body: PasswordChangeIn, _principal: PasswordHolder, request: Request, clients: Clients, settings: Settings
) -> JSONResponse:
    """Identity takes whose password it is from the forwarded access token, never from the body."""
    pair = await clients.identity.ChangePassword(
        identity_pb2.ChangePasswordRequest(
            current_password=body.current_password,
            new_password=body.new_password,
            client_ip=client_ip(request, settings.trusted_proxy_hops),
        ),
        timeout=settings.grpc_timeout_seconds,
    )
    return _tokens(pair)


@router.get(
    "/me",
    response_model=PrincipalView,
    summary="Who the access token names",
    responses=problem_responses(401, 429, 503),
)
async def me(principal: Anyone) -> PrincipalView:
    """The caller's account, kind, roles, posts, district and delegated powers, from the token."""
    return PrincipalView.of(principal)
