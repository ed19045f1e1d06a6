"""An officer's notices by SMS and email as well as in-app (S16, C2), when the deployment turns them on.

Callers (the sla lifecycle) address an officer by post: `Recipient(kind=officer, position_id=...)`, channels
[IN_APP]. The in-app notice is the one that counts as served (S16); a state may also want the officer reached on
the phone and mailbox they gave, so `NIVARAN_NOTIFY_OFFICER_CHANNELS` (sms, email; default none), optionally per
template (`NIVARAN_NOTIFY_OFFICER_CHANNELS_BY_TEMPLATE`), adds those channels. `OfficerChannels.complete` runs at
the start of every Send:

- It acts only on a notice to a post (position_id set, kind not citizen) whose template has channels configured and
  can be sent by them, and only on a dedupe key not yet recorded (a repeat answers with the first notice unasked).
- It asks identity who holds the post now (`GetPostContact`), on every send and with no cache, so a holder who
  relinquished charge, or whose login was taken away, gets nothing more from the next notice on.
- A vacant post (or one whose holder gave no phone / email) keeps the in-app notice alone, and says so in the log.
- Identity not answering fails the Send with UNAVAILABLE before anything is recorded. The lifecycle's activity
  retries it with backoff (no attempt limit) and the dedupe key keeps it one notice, so nothing is lost and nothing
  goes twice; the case's next step waits for it, as it already waits for notify itself. Recording the in-app notice
  alone instead would drop the SMS and email for good, and a later top-up would need a second kind of delivery
  that waits for an address.

Addresses are logged masked; the store keeps them as for any other delivery (masked in every view).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import grpc

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran_common.errors import InvalidArgument, Unavailable
from nivaran_common.logging import get_logger
from nivaran_common.pii import mask_email, mask_phone
from nivaran_notify.domain import Channel, RecipientKind, SendCommand
from nivaran_notify.templates import TemplateRegistry
from nivaran_notify.validation import normalise_email, normalise_phone

log = get_logger(__name__)

# The channels an officer's notice may be widened to, as the settings name them.
OFFICER_CHANNELS = {"email": Channel.EMAIL, "sms": Channel.SMS}
IDENTITY_UNAVAILABLE = (
    "identity cannot say who holds the post now, so the officer's notice is not sent yet; try again / "
    "पद का वर्तमान धारक अभी ज्ञात नहीं हो सका, इसलिए अधिकारी की सूचना अभी नहीं भेजी गई; पुनः प्रयास करें"
)


def channel_names(value: object) -> object:
    """Read a setting's list of officer channels: JSON (["sms", "email"]) or comma-separated (sms,email); blank is
    none. Anything else is left for the field's own validation to refuse."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        value = [part for part in text.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        names = [item.strip().lower() if isinstance(item, str) else item for item in value]
        return tuple(dict.fromkeys(names))
    return value


@dataclass(frozen=True)
class OfficerContact:
    """The holder of a post now, with the addresses they gave (raw; masked whenever shown)."""

    account_id: str
    name: str
    phone: str
    email: str
    preferred_language: str


class OfficerContacts(Protocol):
    """Who holds a post now. Raises nivaran_common.errors.Unavailable when that cannot be known right now."""

    async def holder_of(self, position_id: str) -> OfficerContact | None:
        """The post's holder, or None when it is vacant (or its holder may not log in)."""
        ...


class IdentityOfficerContacts:
    """OfficerContacts over identity's GetPostContact, called as notify's own workload (mutual TLS, no token)."""

    def __init__(self, stub: identity_pb2_grpc.IdentityServiceStub, timeout_seconds: float = 5.0) -> None:
        self._stub = stub
        self._timeout = timeout_seconds

    async def holder_of(self, position_id: str) -> OfficerContact | None:
        """The holder from identity; NOT_FOUND means vacant, any other failure is Unavailable."""
        request = identity_pb2.GetPostContactRequest(position_id=position_id)
        try:
            found = await self._stub.GetPostContact(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            # PERMISSION_DENIED or INVALID_ARGUMENT are a deployment's mistake, not the notice's: the notice waits
            # (and the log says why) until it is mended, instead of going out without the channels configured.
            log.warning("post holder unknown: identity did not answer", position_id=position_id, code=exc.code().name)
            raise Unavailable(IDENTITY_UNAVAILABLE) from exc
        return OfficerContact(
            account_id=found.account_id,
            name=found.name,
            phone=found.phone,
            email=found.email,
            preferred_language=found.preferred_language,
        )


@dataclass(frozen=True)
class OfficerChannelPolicy:
    """Which extra channels an officer's notice gets: `default` for every template, unless `by_template` names it
    (an empty tuple there keeps that template in-app only)."""

    default: tuple[Channel, ...] = ()
    by_template: Mapping[str, tuple[Channel, ...]] = field(default_factory=dict)

    @classmethod
    def from_names(cls, default: tuple[str, ...], by_template: Mapping[str, tuple[str, ...]]) -> OfficerChannelPolicy:
        """The policy from the settings' channel names ("sms", "email")."""
        return cls(
            tuple(OFFICER_CHANNELS[name] for name in default),
            {code: tuple(OFFICER_CHANNELS[name] for name in names) for code, names in by_template.items()},
        )

    @property
    def enabled(self) -> bool:
        """Whether any template gets any channel beyond in-app."""
        return bool(self.default) or any(self.by_template.values())

    def channels_for(self, template: str) -> tuple[Channel, ...]:
        """The extra channels of `template`."""
        return self.by_template.get(template, self.default)


class OfficerChannels:
    """The Send hook: widens an officer's notice to the channels configured, addressed to the post's holder now."""

    def __init__(
        self, contacts: OfficerContacts, policy: OfficerChannelPolicy, templates: TemplateRegistry | None = None
    ) -> None:
        self._contacts = contacts
        self._policy = policy
        self._templates = templates or TemplateRegistry()

    @classmethod
    def configured(
        cls,
        default: tuple[str, ...],
        by_template: Mapping[str, tuple[str, ...]],
        contacts: OfficerContacts | None,
    ) -> OfficerChannels | None:
        """The hook for the settings' channel names, or None when they turn no channel on (in-app only)."""
        policy = OfficerChannelPolicy.from_names(default, by_template)
        if not policy.enabled:
            return None
        if contacts is None:
            raise ValueError("officer channels are configured: notify needs identity to find each post's holder")
        return cls(contacts, policy)

    async def complete(self, command: SendCommand, recorded: Callable[[str], Awaitable[object | None]]) -> SendCommand:
        """`command` with the holder's channels and addresses added; unchanged when there is nothing to add.
        `recorded(dedupe_key)` finds a notice already sent under the key (then identity is not asked)."""
        wanted = self._wanted(command)
        # A Send without a key is refused by the service's own checks; one already recorded is answered as it was.
        if not wanted or not command.dedupe_key.strip() or await recorded(command.dedupe_key) is not None:
            return command
        position_id = command.recipient.position_id.strip()
        holder = await self._contacts.holder_of(position_id)
        if holder is None:
            log.info(
                "officer notice in-app only: the post is vacant",
                position_id=position_id,
                template=command.template,
                dedupe_key=command.dedupe_key,
            )
            return command
        recipient = command.recipient
        email, phone = recipient.email, recipient.phone
        added: list[Channel] = []
        # An address identity holds that notify cannot use (say, a landline) is skipped, never fatal to the notice.
        for channel in wanted:
            if channel is Channel.EMAIL:
                email = (normalise_email(holder.email) if holder.email.strip() else None) or ""
                added += [channel] if email else []
            else:
                phone = (normalise_phone(holder.phone) if holder.phone.strip() else None) or ""
                added += [channel] if phone else []
        log.info(
            "officer notice widened to the post holder's channels",
            position_id=position_id,
            template=command.template,
            dedupe_key=command.dedupe_key,
            holder_account_id=holder.account_id,
            added=[c.value for c in added],
            missing=[c.value for c in wanted if c not in added],
            email=mask_email(email) if email else "",
            phone=mask_phone(phone) if phone else "",
        )
        if not added:
            return command
        channels = tuple(dict.fromkeys((*command.channels, *added)))
        return replace(
            command,
            channels=channels,
            recipient=replace(recipient, email=email, phone=phone, name=recipient.name or holder.name),
        )

    def _wanted(self, command: SendCommand) -> tuple[Channel, ...]:
        recipient = command.recipient
        if not recipient.position_id.strip() or recipient.kind is RecipientKind.CITIZEN:
            return ()
        configured = self._policy.channels_for(command.template)
        if not configured:
            return ()
        try:
            sendable = self._templates.spec(command.template).channels
        except InvalidArgument:
            return ()  # an unknown template: the Send's own checks answer it
        have = {Channel.EMAIL: recipient.email.strip(), Channel.SMS: recipient.phone.strip()}
        # A channel the caller already addressed is the caller's; only the ones without an address are filled in.
        return tuple(c for c in configured if c in sendable and not have[c])
