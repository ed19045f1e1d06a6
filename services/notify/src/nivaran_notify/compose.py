"""Turning a rendered notice into what each channel carries: a bilingual MIME email, SMS and WhatsApp texts."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from nivaran_notify.domain import OutboundDelivery
from nivaran_notify.providers import SmsMessage, WhatsAppMessage

REGISTRATION_HEADER = "X-Nivaran-Registration"


def message_id(notice_id: str, sender: str) -> str:
    """A Message-ID fixed by the notice, so a retried email is recognisably the same message."""
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "nivaran.local"
    return f"<notice.{notice_id}@{domain}>"


def build_email(outbound: OutboundDelivery, sender: str, now: datetime) -> EmailMessage:
    """A multipart/alternative UTF-8 email with both languages, lead language first, in text and HTML."""
    content = outbound.content
    message = EmailMessage()
    # EmailMessage's default policy encodes non-ASCII headers (Hindi subject, name) per RFC 2047.
    message["Subject"] = content.bilingual_subject()
    message["From"] = sender
    message["To"] = Address(display_name=outbound.recipient_name, addr_spec=outbound.address)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(outbound.notice_id, sender)
    message["Auto-Submitted"] = "auto-generated"
    if outbound.registration_number:
        message[REGISTRATION_HEADER] = outbound.registration_number
    message["X-Nivaran-Template"] = outbound.template
    message.set_content(content.bilingual_body(), charset="utf-8")
    message.add_alternative(content.html, subtype="html", charset="utf-8")
    # Set after the body: set_content() moves Content-* headers into the first part.
    message["Content-Language"] = ", ".join(language.value for language in content.languages)
    return message


def attach_pdf(message: EmailMessage, filename: str, pdf: bytes) -> None:
    """Attach a document's PDF (the email becomes multipart/mixed, its text and HTML first)."""
    language = message["Content-Language"]
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    # Making the message mixed moved its Content-* headers into the text part; the whole message keeps its language.
    if language and message["Content-Language"] is None:
        message["Content-Language"] = language


def build_sms(outbound: OutboundDelivery) -> SmsMessage:
    """The SMS for a delivery, carrying the template's DLT id."""
    return SmsMessage(
        to=outbound.address,
        text=outbound.content.short_text,
        dlt_template_id=outbound.content.dlt_template_id,
        template=outbound.template,
        reference=outbound.id,
    )


def build_whatsapp(outbound: OutboundDelivery) -> WhatsAppMessage:
    """The WhatsApp message for a delivery."""
    return WhatsAppMessage(
        to=outbound.address,
        text=outbound.content.short_text,
        template=outbound.template,
        language=outbound.content.lead.value,
        reference=outbound.id,
    )
