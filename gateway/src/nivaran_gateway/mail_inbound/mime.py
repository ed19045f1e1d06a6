"""An email as intake reads it, from the raw message (the stdlib `email` package, policy.default).

The text is the text/plain body when there is one, else the HTML body as plain text (html.parser: paragraphs and
line breaks kept, quoted blocks marked `> ` as a plain-text reply quotes them, scripts and styles left out). Every
other leaf part is a file: attachments, and images shown inline, which are often the photo a citizen means to send.
The Message-ID identifies the message (a repeat is the same message); a message without one is known by a hash of
its bytes.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from html.parser import HTMLParser

from nivaran.intake.v1 import intake_pb2
from nivaran_common.contact import normalise_email

# intake's limits (nivaran_intake.inbound_email): a message beyond them is refused here with an SMTP answer that says
# why (so the sender's server tells the sender), never cut short without a word.
MAX_PROVIDER_ID = 128
MAX_SUBJECT = 2000
MAX_ADDRESS = 254
MAX_SENDER_NAME = 200
MAX_TEXT = 200_000
MAX_FILES = 50
# Signatures of a signed message: proof about the mail, not a document of the case.
_SIGNATURES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"})
# RFC 3834 and common practice: messages a machine sent, which an auto-responder must not answer.
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTOMATIC_HEADERS = ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")


class Unacceptable(ValueError):
    """The message cannot be taken; `reply` is the SMTP answer that says why."""

    reply = "554 5.6.0 Message refused"


class NoSender(Unacceptable):
    """The message names no valid address to answer (no From, and no envelope sender)."""

    reply = "550 5.1.7 The message has no valid sender's address (From) to answer"


class TooMuch(Unacceptable):
    """More text, subject or files than a grievance message may have."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.reply = f"552 5.3.4 Message refused: {what}"


@dataclass(frozen=True)
class InboundMail:
    """What the receiver passes to intake."""

    message_id: str
    sender: str
    sender_name: str
    recipient: str
    subject: str
    text: str
    files: list[intake_pb2.InboundFile] = field(default_factory=list)
    automatic: bool = False

    def to_request(self) -> intake_pb2.ReceiveMessageRequest:
        """intake's ReceiveMessage request for this email."""
        return intake_pb2.ReceiveMessageRequest(
            channel="email",
            sender=self.sender,
            text=self.text,
            provider_message_id=self.message_id,
            subject=self.subject,
            files=self.files,
            recipient=self.recipient,
            sender_name=self.sender_name,
            automatic=self.automatic,
        )


class _HtmlText(HTMLParser):
    """The text of an HTML body, line by line."""

    BLOCKS = frozenset(
        {"p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "section",
         "article", "header", "footer", "address"}
    )  # fmt: skip
    HIDDEN = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.hidden = 0

    def _flush(self) -> None:
        line = " ".join("".join(self.current).split())
        self.current = []
        if line:
            self.lines.append("> " * self.quote_depth + line)

    def _blank(self) -> None:
        """A paragraph's end: one empty line (quoted inside a quote)."""
        self._flush()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(">" * self.quote_depth)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "blockquote":
            self._flush()
            self.quote_depth += 1
        elif tag == "br":
            if self.current:
                self._flush()
            else:
                self._blank()
        elif tag in self.BLOCKS:
            self._flush()
            if tag == "li":
                self.current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "blockquote":
            self._flush()
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag == "p":
            self._blank()
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current.append(data)

    def text(self) -> str:
        self._flush()
        while self.lines and not self.lines[-1].strip("> "):
            self.lines.pop()
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    """Plain text of an HTML body."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: the bytes as UTF-8, replacing what is not
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


def _address(message: EmailMessage, envelope_sender: str | None) -> tuple[str, str]:
    """The sender's address and display name: the From header's first valid address, else the envelope sender."""
    try:
        header = message["From"]
        addresses: tuple[Address, ...] = tuple(header.addresses) if header is not None else ()
    except (AttributeError, ValueError, IndexError):
        addresses = ()
    # Checked as intake checks it (nivaran_common.contact): an address it would refuse cannot be answered either.
    for address in addresses:
        if address.addr_spec and normalise_email(address.addr_spec):
            return address.addr_spec, address.display_name or ""
    envelope = (envelope_sender or "").strip("<> ")
    if envelope and normalise_email(envelope):
        return envelope, ""
    raise NoSender("no valid sender's address")


def is_automatic(message: EmailMessage, envelope_sender: str | None) -> bool:
    """Sent by a machine: a bounce (empty envelope sender), an auto-reply (Auto-Submitted), a list or bulk mail."""
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return True
    auto_submitted = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if str(message.get("Precedence", "") or "").strip().lower() in _BULK_PRECEDENCE:
        return True
    return any(message.get(name) is not None for name in _AUTOMATIC_HEADERS)


def message_id_of(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID without its angle brackets (hashed when it is too long or unusual); a hash of the bytes when
    the message has none."""
    value = str(message.get("Message-ID", "") or "").strip().strip("<>").strip()
    if value and len(value) <= MAX_PROVIDER_ID and value.isprintable() and " " not in value:
        return value
    if value:
        return f"sha256:{hashlib.sha256(value.encode()).hexdigest()}"
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _files(message: EmailMessage, body: EmailMessage | None) -> list[intake_pb2.InboundFile]:
    files: list[intake_pb2.InboundFile] = []
    for part in message.walk():
        if part.is_multipart() or part is body or part.get_content_type() in _SIGNATURES:
            continue
        name = part.get_filename() or ""
        if part.get_content_maintype() == "text" and not name and part.get_content_disposition() != "attachment":
            continue  # another rendering of the body (the HTML beside the plain text)
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        if not name:
            name = f"attachment-{len(files) + 1}{mimetypes.guess_extension(part.get_content_type()) or ''}"
        files.append(intake_pb2.InboundFile(filename=name, content_type=part.get_content_type(), content=content))
    return files


def parse_mail(raw: bytes, recipient: str, envelope_sender: str | None = None) -> InboundMail:
    """The email in `raw`, sent to `recipient`; Unacceptable (with its SMTP answer) when it cannot be taken."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage
    sender, name = _address(message, envelope_sender)
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if isinstance(body, EmailMessage):
        text = _text_of(body)
        if body.get_content_type() == "text/html":
            text = html_to_text(text)
    subject = " ".join(str(message.get("Subject", "") or "").split())
    files = _files(message, body if isinstance(body, EmailMessage) else None)
    for what, size, limit in (
        ("characters of text", len(text), MAX_TEXT),
        ("characters of subject", len(subject), MAX_SUBJECT),
        ("files", len(files), MAX_FILES),
    ):
        if size > limit:
            raise TooMuch(f"more than {limit} {what}")
    if len(sender) > MAX_ADDRESS:
        raise NoSender("the sender's address is too long")
    return InboundMail(
        message_id=message_id_of(message, raw),
        sender=sender,
        # A display name is no content: a longer one is shortened.
        sender_name=" ".join(name.split())[:MAX_SENDER_NAME],
        recipient=recipient[:MAX_ADDRESS],
        subject=subject,
        text=text,
        files=files,
        automatic=is_automatic(message, envelope_sender),
    )
