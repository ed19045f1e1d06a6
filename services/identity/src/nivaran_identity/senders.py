"""How an OTP (and an officer's TOTP enrolment link) reaches a phone.

Notify has no OTP template yet, so identity delivers these itself through a small `OtpSender`:
- dev profile: `DevLogOtpSender` only logs that a code was issued (phone masked, never the code); the developer uses
  the fixed dev OTP. It logs the TOTP enrolment link of a newly approved officer, which is how a developer enrols.
- any other profile: `SmsOtpSender` posts to the SMS provider's JSON API (`sms_provider_url`), with the DLT template
  ids India requires. With no provider configured, `UnconfiguredOtpSender` refuses, and nothing is issued.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import httpx

from nivaran_common.errors import Unavailable
from nivaran_common.logging import get_logger
from nivaran_common.pii import mask_phone, mask_text
from nivaran_common.timeutil import format_ist
from nivaran_identity.domain import bilingual

log = get_logger(__name__)


class OtpSender(Protocol):
    async def send_otp(self, phone: str, otp: str, expires_at: datetime) -> None:
        """Deliver a citizen's login OTP; raise Unavailable when it cannot be delivered."""
        ...

    async def send_totp_enrolment(self, phone: str, username: str, provisioning_uri: str) -> None:
        """Deliver an approved officer's authenticator enrolment link; raise Unavailable when it cannot."""
        ...


def otp_text(otp: str, expires_at: datetime) -> str:
    """The SMS a citizen reads (English and Hindi)."""
    return (
        f"Nivaran login OTP {otp}, valid till {format_ist(expires_at)}. Do not share it. "
        f"निवारण लॉगिन OTP {otp}, {format_ist(expires_at)} तक मान्य। इसे किसी को न बताएँ।"
    )


def totp_text(username: str, provisioning_uri: str) -> str:
    """The SMS an approved officer reads: the link to add to an authenticator app."""
    return (
        f"Nivaran: login {username} approved. Add this to your authenticator app: {provisioning_uri} "
        f"निवारण: लॉगिन {username} स्वीकृत। इसे अपने ऑथेंटिकेटर ऐप में जोड़ें।"
    )


class DevLogOtpSender:
    """Dev profile only: logs instead of sending."""

    async def send_otp(self, phone: str, otp: str, expires_at: datetime) -> None:
        """Log that an OTP was issued (phone masked; the code is not logged)."""
        log.info("otp issued (dev: not sent)", phone=mask_phone(phone), expires_at=expires_at.isoformat())

    async def send_totp_enrolment(self, phone: str, username: str, provisioning_uri: str) -> None:
        """Log the enrolment link so a developer can add it to an authenticator app."""
        log.info(
            "officer TOTP enrolment (dev only: link logged, not sent)",
            phone=mask_phone(phone),
            username=username,
            totp_provisioning_uri=provisioning_uri,
        )


class UnconfiguredOtpSender:
    """Outside dev with no SMS provider: refuses, so no code is issued that nobody can receive."""

    async def send_otp(self, phone: str, otp: str, expires_at: datetime) -> None:
        """Refuse: no provider."""
        raise Unavailable(bilingual("OTP by SMS is not configured", "SMS द्वारा OTP की व्यवस्था नहीं है"))

    async def send_totp_enrolment(self, phone: str, username: str, provisioning_uri: str) -> None:
        """Refuse: no provider."""
        raise Unavailable(bilingual("SMS is not configured", "SMS की व्यवस्था नहीं है"))


class SmsOtpSender:
    """An SMS provider's JSON API (the same payload shape as notify's HttpSmsGateway)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        sender_id: str,
        entity_id: str = "",
        otp_template_id: str = "",
        totp_template_id: str = "",
        api_key: str = "",
    ) -> None:
        self._client = client
        self._url = url
        self._sender_id = sender_id
        self._entity_id = entity_id
        self._otp_template_id = otp_template_id
        self._totp_template_id = totp_template_id
        self._api_key = api_key

    async def _post(self, to: str, text: str, template: str, dlt_template_id: str) -> None:
        payload: dict[str, Any] = {
            "to": to,
            "sender_id": self._sender_id,
            "dlt_template_id": dlt_template_id,
            "text": text,
            # Devanagari needs a Unicode (UCS-2) SMS.
            "unicode": not text.isascii(),
            "template": template,
            "reference": str(uuid.uuid4()),
        }
        if self._entity_id:
            payload["dlt_entity_id"] = self._entity_id
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await self._client.post(self._url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("sms provider unreachable", error=type(exc).__name__, phone=mask_phone(to))
            raise Unavailable(
                bilingual("the SMS could not be sent; try again", "SMS नहीं भेजा जा सका; पुनः प्रयास करें")
            ) from exc
        if not response.is_success:
            log.warning(
                "sms provider refused",
                status=response.status_code,
                body=mask_text(response.text[:200]),
                phone=mask_phone(to),
            )
            raise Unavailable(bilingual("the SMS could not be sent; try again", "SMS नहीं भेजा जा सका; पुनः प्रयास करें"))

    async def send_otp(self, phone: str, otp: str, expires_at: datetime) -> None:
        """POST the OTP SMS."""
        await self._post(phone, otp_text(otp, expires_at), "identity_otp", self._otp_template_id)

    async def send_totp_enrolment(self, phone: str, username: str, provisioning_uri: str) -> None:
        """POST the enrolment SMS."""
        await self._post(
            phone, totp_text(username, provisioning_uri), "identity_totp_enrolment", self._totp_template_id
        )
