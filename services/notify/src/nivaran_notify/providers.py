"""Delivery channels to the outside world: SMTP email, and SMS / WhatsApp providers over HTTP.

Every adapter turns a failure into a DeliveryError that says whether retrying can help; the service decides
what to record. Error texts are masked, because they are stored and shown (an SMTP reply may echo an address).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx

from nivaran_common.pii import mask_text
from nivaran_notify.domain import DeliveryError


class EmailTransport(Protocol):
    async def send_email(self, message: EmailMessage) -> str:
        """Hand `message` to the mail system; returns the server's reply."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    dlt_template_id: str
    template: str
    reference: str


@dataclass(frozen=True)
class WhatsAppMessage:
    to: str
    text: str
    template: str
    language: str
    reference: str


class SmsGateway(Protocol):
    async def send_sms(self, message: SmsMessage) -> str:
        """Send one SMS; returns the provider's message id (may be empty)."""


class WhatsAppGateway(Protocol):
    async def send_whatsapp(self, message: WhatsAppMessage) -> str:
        """Send one WhatsApp message; returns the provider's message id (may be empty)."""


def _smtp_error(exc: Exception) -> DeliveryError:
    text = mask_text(f"{type(exc).__name__}: {exc}".strip())
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # A wrong password is an operator's fix away; keep retrying until the attempts run out.
        return DeliveryError(text)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        permanent = all(refusal.code >= 500 for refusal in exc.recipients)
        return DeliveryError(text, permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(text, permanent=exc.code >= 500)
    return DeliveryError(text)


class SmtpTransport:
    """Sends through one SMTP server (aiosmtplib), one connection per message."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._starttls = starttls
        self._username = username or None
        self._password = password or None
        self._timeout = timeout

    async def send_email(self, message: EmailMessage) -> str:
        """Send `message` to the recipients in its headers."""
        try:
            _, reply = await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                start_tls=self._starttls,
                username=self._username,
                password=self._password,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _smtp_error(exc) from exc
        return reply


def _retryable(status_code: int) -> bool:
    """Whether a provider's HTTP answer may change if asked again: throttling, a timeout, its own trouble."""
    return status_code in {408, 425, 429} or status_code >= 500


async def _post_json(client: httpx.AsyncClient, url: str, payload: dict[str, Any], api_key: str) -> str:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = await client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(mask_text(f"provider unreachable: {type(exc).__name__}: {exc}")) from exc
    if response.is_success:
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            return str(body.get("message_id") or body.get("id") or "")
        return ""
    snippet = mask_text(response.text[:200])
    error = f"provider answered HTTP {response.status_code}: {snippet}".strip()
    raise DeliveryError(error, permanent=not _retryable(response.status_code))


class HttpSmsGateway:
    """An SMS provider's JSON API; carries the DLT template id, sender id and entity id India requires."""

    def __init__(
        self, client: httpx.AsyncClient, url: str, *, sender_id: str, entity_id: str = "", api_key: str = ""
    ) -> None:
        self._client = client
        self._url = url
        self._sender_id = sender_id
        self._entity_id = entity_id
        self._api_key = api_key

    async def send_sms(self, message: SmsMessage) -> str:
        """POST one SMS."""
        payload: dict[str, Any] = {
            "to": message.to,
            "sender_id": self._sender_id,
            "dlt_template_id": message.dlt_template_id,
            "text": message.text,
            # Devanagari needs a Unicode (UCS-2) SMS.
            "unicode": not message.text.isascii(),
            "template": message.template,
            "reference": message.reference,
        }
        if self._entity_id:
            payload["dlt_entity_id"] = self._entity_id
        return await _post_json(self._client, self._url, payload, self._api_key)


class KannelSmsGateway:
    """A Kannel SMS gateway's `sendsms` HTTP interface (Kannel then speaks SMPP to the operator): the text as UTF-8
    with `coding=2` (UCS-2, for Devanagari), the sender id, and India's DLT entity and template ids as SMPP TLVs in
    `meta-data` (`?smpp?PE_ID=…&TEMPLATE_ID=…`; kannel.conf declares the two `smpp-tlv` groups). Kannel answers
    `0: Accepted for delivery` (or `3: Queued for later delivery`) and gives no message id: the delivery's own id
    (the message's reference) stands for it, and with `dlr_url` Kannel reports delivery there (`dlr-mask=3`: delivered
    or failed; `type=%d`), naming it as `ref`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        sender_id: str,
        username: str,
        password: str,
        entity_id: str = "",
        dlr_url: str = "",
    ) -> None:
        self._client = client
        self._url = url
        self._sender_id = sender_id
        self._username = username
        self._password = password
        self._entity_id = entity_id
        self._dlr_url = dlr_url

    async def send_sms(self, message: SmsMessage) -> str:
        """GET /cgi-bin/sendsms once."""
        tlvs = [f"PE_ID={self._entity_id}"] if self._entity_id else []
        tlvs.append(f"TEMPLATE_ID={message.dlt_template_id}")
        params = {
            "username": self._username,
            "password": self._password,
            "from": self._sender_id,
            "to": message.to.lstrip("+"),
            "text": message.text,
            "charset": "UTF-8",
            "coding": "2" if not message.text.isascii() else "0",
            "meta-data": "?smpp?" + "&".join(tlvs),
        }
        if self._dlr_url:
            joiner = "&" if "?" in self._dlr_url else "?"
            params["dlr-mask"] = "3"
            params["dlr-url"] = f"{self._dlr_url}{joiner}ref={message.reference}&type=%d"
        try:
            response = await self._client.get(self._url, params=params)
        except httpx.HTTPError as exc:
            raise DeliveryError(mask_text(f"kannel unreachable: {type(exc).__name__}: {exc}")) from exc
        answer = response.text.strip()
        if response.is_success and answer.split(":", 1)[0].strip() in {"0", "3"}:
            return message.reference
        error = f"kannel answered HTTP {response.status_code}: {mask_text(answer[:200])}"
        raise DeliveryError(error, permanent=not _retryable(response.status_code))


class HttpWhatsAppGateway:
    """A WhatsApp Business provider's JSON API."""

    def __init__(self, client: httpx.AsyncClient, url: str, *, api_key: str = "") -> None:
        self._client = client
        self._url = url
        self._api_key = api_key

    async def send_whatsapp(self, message: WhatsAppMessage) -> str:
        """POST one WhatsApp message."""
        payload = {
            "to": message.to,
            "template": message.template,
            "language": message.language,
            "text": message.text,
            "reference": message.reference,
        }
        return await _post_json(self._client, self._url, payload, self._api_key)
