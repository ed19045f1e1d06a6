"""The SMTP server (aiosmtpd on this process's own event loop) and what it does with each message.

RCPT: only the accepted domains (550 otherwise: the receiver never relays). DATA: the message is parsed
(mime.py), handed to intake, which stores it before reading it, and intake's answer goes back to the sender by email
through notify (routes/inbound.py's send_reply: template message_reply, once per message by its dedupe key). Only
then does the sender's server get 250. While intake or notify cannot be reached it gets 451 and delivers again
later; intake answers the repeat from the stored message, and notify sends the answer once.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import grpc
from aiosmtpd.smtp import SMTP, Envelope, Session
from google.protobuf import struct_pb2

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran.notify.v1 import notify_pb2, notify_pb2_grpc
from nivaran_common.grpc_client import open_channel
from nivaran_common.logging import configure_logging, get_logger
from nivaran_common.metrics import process_registry, serve_metrics
from nivaran_common.pii import mask_email
from nivaran_common.telemetry import configure_tracing
from nivaran_common.tls import TlsMaterial
from nivaran_gateway.mail_inbound.metrics import MailMetrics, mail_metrics
from nivaran_gateway.mail_inbound.mime import InboundMail, Unacceptable, parse_mail
from nivaran_gateway.mail_inbound.settings import MailInboundSettings
from nivaran_gateway.routes.inbound import send_reply

if TYPE_CHECKING:
    from nivaran.intake.v1.intake_pb2_grpc import IntakeServiceAsyncStub
    from nivaran.notify.v1.notify_pb2_grpc import NotifyServiceAsyncStub

log = get_logger(__name__)

# How much of a citizen's message the officer's notice quotes (the whole is on the timeline).
MAX_TOLD = 1500
TRY_AGAIN = "451 4.3.0 Cannot take the message now; please try again later"
# notify refuses these for good (a malformed request): sending again cannot help, and intake holds the message.
_NOTIFY_FINAL = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION})


@dataclass(frozen=True)
class MailClients:
    """The two services the receiver calls, over mutual-TLS channels as the gateway (nivaran_common.grpc_client)."""

    intake: IntakeServiceAsyncStub
    notify: NotifyServiceAsyncStub
    channels: tuple[grpc.aio.Channel, ...] = ()

    @classmethod
    def open(cls, settings: MailInboundSettings, tls: TlsMaterial | None) -> MailClients:
        """Channels to intake and notify; `tls` None only for a test against services without a door."""
        intake = open_channel(settings.intake_target, tls)
        notify = open_channel(settings.notify_target, tls)
        return cls(
            intake=cast("IntakeServiceAsyncStub", intake_pb2_grpc.IntakeServiceStub(intake)),
            notify=cast("NotifyServiceAsyncStub", notify_pb2_grpc.NotifyServiceStub(notify)),
            channels=(intake, notify),
        )

    async def close(self) -> None:
        """Close the channels this object opened."""
        for channel in self.channels:
            await channel.close()


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower().rstrip(".")


class MailHandler:
    """aiosmtpd's handler: which recipients are ours, and what becomes of a message."""

    def __init__(self, settings: MailInboundSettings, clients: MailClients, metrics: MailMetrics | None = None) -> None:
        self.settings = settings
        self.clients = clients
        self.metrics = metrics or mail_metrics()
        self.domains = settings.domains()
        # Messages being handed on; shutdown waits for them (an SMTP answer owed is never cut off).
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if _domain(address) not in self.domains:
            self.metrics.recipients_refused.labels("relaying").inc()
            return "550 5.7.1 Relaying denied: this server takes mail for its own domains only"
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            self.metrics.recipients_refused.labels("too_many").inc()
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.in_flight += 1
        self.idle.clear()
        started = time.monotonic()
        try:
            reply = await self._take(envelope)
            self.metrics.answered(reply, time.monotonic() - started)
            return reply
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()

    async def _take(self, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        if len(raw) > self.settings.max_message_bytes:
            return f"552 5.3.4 Message too big: at most {self.settings.max_message_bytes} bytes"
        # A reply's case may be tagged in the address (grievance+<number>@…): that recipient, else the first.
        recipients = [str(r) for r in envelope.rcpt_tos]
        recipient = next((r for r in recipients if "+" in r.partition("@")[0]), recipients[0] if recipients else "")
        try:
            mail = parse_mail(raw, recipient, envelope.mail_from)
        except Unacceptable as refused:
            log.info("email refused", reason=str(refused))
            return refused.reply
        timeout = self.settings.grpc_timeout_seconds
        try:
            answer: intake_pb2.ReceiveMessageResponse = await self.clients.intake.ReceiveMessage(
                mail.to_request(), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                log.warning("intake refused an email", details=error.details())
                return "554 5.6.0 Message refused: it could not be read as a grievance message"
            log.warning("intake unavailable; the sender will deliver again", code=error.code().name)
            return TRY_AGAIN
        log.info(
            "email received",
            message_id=answer.message_id,
            outcome=answer.outcome,
            duplicate=answer.duplicate,
            sender=mask_email(mail.sender),
            registration_number=answer.registration_number,
        )
        # A machine's message is never answered (two auto-responders would answer each other for ever).
        if mail.automatic or answer.outcome == "automatic" or not (answer.reply.en or answer.reply.hi):
            return "250 2.0.0 OK"
        try:
            if answer.outcome == "appended" and answer.position_id:
                await self._tell_the_officer(mail, answer)
            await send_reply(self.clients, self.settings, "email", mail.message_id, mail.sender, answer)
        except grpc.aio.AioRpcError as error:
            if error.code() in _NOTIFY_FINAL:
                log.error("notify refused the answer to an email", code=error.code().name, details=error.details())
                return "250 2.0.0 OK"
            log.warning("notify unavailable; the sender will deliver again", code=error.code().name)
            return TRY_AGAIN
        return "250 2.0.0 OK"

    async def _tell_the_officer(self, mail: InboundMail, answer: intake_pb2.ReceiveMessageResponse) -> None:
        """S16: the holder of the case's post hears in-app (and by the officers' channels notify is configured with)
        that the complainant wrote; once per message (notify's dedupe key)."""
        params = struct_pb2.Struct()
        params.update(
            {
                "registration_number": answer.registration_number,
                "text": (mail.text.strip() or mail.subject.strip())[:MAX_TOLD],
                "channel": "email / ईमेल",
            }
        )
        await self.clients.notify.Send(
            notify_pb2.SendRequest(
                dedupe_key=f"inbound-email:{mail.message_id}:officer",
                template="citizen_message",
                recipient=notify_pb2.Recipient(kind="officer", position_id=answer.position_id),
                channels=[notify_pb2.DELIVERY_CHANNEL_IN_APP],
                params=params,
                registration_number=answer.registration_number,
            ),
            timeout=self.settings.grpc_timeout_seconds,
        )


def smtp_factory(settings: MailInboundSettings, handler: MailHandler) -> SMTP:
    """One SMTP protocol object per connection."""
    return SMTP(
        handler,
        data_size_limit=settings.max_message_bytes,
        enable_SMTPUTF8=True,
        hostname=settings.server_name or None,
        ident="Nivaran mail receiver",
        timeout=settings.idle_timeout_seconds,
    )


async def start(settings: MailInboundSettings, clients: MailClients) -> tuple[asyncio.Server, MailHandler]:
    """Listen on settings.host:port (port 0: a free one); the server and its handler."""
    handler = MailHandler(settings, clients)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: smtp_factory(settings, handler), host=settings.host, port=settings.port)
    return server, handler


def bound_port(server: asyncio.Server) -> int:
    """The port a started server listens on."""
    sockname: Any = server.sockets[0].getsockname()
    return int(sockname[1])


async def stop(server: asyncio.Server, handler: MailHandler, grace_seconds: float) -> None:
    """Stop taking connections, then let the messages being handed on finish (at most `grace_seconds`)."""
    server.close()
    try:
        await asyncio.wait_for(handler.idle.wait(), timeout=grace_seconds)
    except TimeoutError:
        log.warning("stopping with messages unanswered; their senders deliver them again", count=handler.in_flight)


async def run(settings: MailInboundSettings) -> None:
    """Serve until SIGTERM or SIGINT, then drain."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    clients = MailClients.open(settings, settings.tls_material())
    mail_metrics()  # registered before the first scrape, so every series is there from the start
    exposition = serve_metrics(process_registry(), settings.host, settings.metrics_port)
    server, handler = await start(settings, clients)
    log.info("mail receiver listening", port=bound_port(server), domains=sorted(handler.domains))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        await stop(server, handler, settings.graceful_shutdown_seconds)
        await clients.close()
        if exposition is not None:
            exposition.stop()
