"""The WhatsApp guided conversation as a use case (C1 / B3 / B5): each stored WhatsApp message moves its sender's
conversation (conversation.py) one step, and the confirmation files the case through the ordinary
`IntakeService.file` on the whatsapp channel, with the conversation's photos as the case's attachments.

- The one-line grammar of inbound.py comes first: `STATUS <number>` / `स्थिति …` answers at any step (in the chosen
  language) and leaves the conversation where it was; `GRV …` / `शिकायत …` files at once, as by SMS.
- A file that came with the message is in the blob store already (inbound_files.py, before the message was
  stored); it is checked like an attachment when it comes, and a refused one is answered at once.
- The filing's idempotency key comes from the conversation, and the photos' keys from it and their place: a
  redelivered "yes" files once and attaches once. The conversation remembers which stored message filed it, so a
  redelivery after a crash between filing and recording the answer is answered with the same case.
- One message of a sender at a time (a Redis lock): a photo and its text often arrive together.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from nivaran_common.errors import FailedPrecondition, InvalidArgument, NotFound
from nivaran_common.logging import get_logger
from nivaran_intake import conversation_words as words
from nivaran_intake.attachments import AttachmentService, Purpose
from nivaran_intake.clients import MasterData
from nivaran_intake.conversation import Conversation, ConversationStore, Incoming, Photo, advance
from nivaran_intake.domain import Channel, Complainant, Location, NewGrievance
from nivaran_intake.inbound import Outcome, _Result, problem_words
from nivaran_intake.inbound_files import StoredFile, attach, refusal
from nivaran_intake.service import IntakeService
from nivaran_intake.tables import InboundMessageRow

log = get_logger(__name__)

WHATSAPP_COMPLAINANT = "WhatsApp complainant / व्हाट्सऐप शिकायतकर्ता"
# The filing's record of who attached the photos: the complainant, who has no account.
PHOTO_ACTOR = {"account_id": "whatsapp", "role": "citizen", "position_id": "", "on_behalf_of": ""}
# Why the gateway could not pass a file on (ReceiveMessageRequest.file_problem).
TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Grammar = Callable[[InboundMessageRow], Awaitable[_Result | None]]


def conversation_key(conversation_id: str) -> str:
    """The idempotency key of the case a conversation files."""
    return f"whatsapp-chat:{conversation_id}"


def complainant_name(sender_name: str | None) -> str:
    """The sender's WhatsApp profile name when it can be a complainant's name; a placeholder otherwise."""
    name = " ".join((sender_name or "").split())
    if 2 <= len(name) <= 200 and not _CONTROL.search(name):
        return name
    return WHATSAPP_COMPLAINANT


class WhatsAppChat:
    """Answers each stored WhatsApp message with the conversation's next step, and files the case at its end."""

    def __init__(
        self,
        intake: IntakeService,
        store: ConversationStore,
        master: MasterData,
        *,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.intake = intake
        self.attachments: AttachmentService = intake.attachments
        self.store = store
        self.master = master
        self.new_id = new_id

    async def answer(self, row: InboundMessageRow, grammar: Grammar, *, file_problem: str = "") -> _Result:
        """The answer to one stored message; `grammar` answers STATUS and GRV (inbound.py), None for anything else."""
        async with self.store.turn(row.sender):
            conversation = await self.store.load(row.sender)
            if conversation is not None and conversation.filed_message_id == row.id:
                return await self._filed_before(conversation)
            language = conversation.language if conversation is not None else ""
            answered = await grammar(row)
            if answered is not None:
                return replace(answered, language=language)
            incoming = await self._incoming(row, file_problem)
            turn = advance(conversation, incoming, await self.master.menu(), self.new_id)
            if turn.file:
                return await self._file(turn.conversation, row)
            await self.store.save(row.sender, turn.conversation)
            reply = turn.reply
            return _Result(Outcome.CONVERSATION, (reply.en, reply.hi), language=turn.conversation.language)

    async def _incoming(self, row: InboundMessageRow, file_problem: str) -> Incoming:
        """The message's text, its acceptable files as photos, and what to say of the others."""
        photos: list[Photo] = []
        notes = words.NOTHING
        for record in row.files or ():
            stored = StoredFile.from_record(record)
            why = refusal(await self.attachments.blobs.get(stored.storage_key), self.attachments)
            if why is not None:
                notes = notes + words.file_refused(*why)
                continue
            photos.append(
                Photo(stored.storage_key, stored.sha256, stored.content_type, stored.file_name, stored.size_bytes)
            )
        if file_problem == TOO_LARGE:
            limit = f"{self.attachments.limits.max_bytes / (1024 * 1024):.1f}".removesuffix(".0")
            notes = notes + words.file_refused(f"larger than {limit} MB", f"{limit} MB से बड़ी")
        elif file_problem:
            notes = notes + words.FILE_NOT_RECEIVED
        return Incoming(row.text, tuple(photos), notes if notes != words.NOTHING else None)

    async def _file(self, conversation: Conversation, row: InboundMessageRow) -> _Result:
        """File the confirmed conversation's case, attach its photos, and remember that it is filed."""
        c = conversation
        assert c.category is not None
        assert c.district is not None
        key = conversation_key(c.id)
        name = complainant_name(row.sender_name)
        filing = NewGrievance(
            complainant=Complainant(
                name=name,
                address=f"{c.district.name_en} (by WhatsApp) / {c.district.name_hi} (व्हाट्सऐप द्वारा)",
                phone=row.sender,
                preferred_language=c.language,
            ),
            subject="",
            description=c.description,
            expected_resolution="",
            category_code=c.category.code,
            location=Location(state_code="", district_code=c.district.code),
            channel=Channel.WHATSAPP,
            language=c.language,
            idempotency_key=key,
        )
        try:
            filed = await self.intake.file(filing)
        except (InvalidArgument, FailedPrecondition, NotFound) as refused:
            # Read and refused (a category retired meanwhile, say): the person hears why; the conversation stays
            # at its confirmation, so that "1" tries again and "2" starts again.
            log.info("whatsapp filing refused", message_id=row.id, fields=[v.field for v in refused.violations])
            first = problem_words(refused.violations[0]) if refused.violations else (refused.message, refused.message)
            await self.store.save(row.sender, c)
            reply = words.refused_at_filing(*first)
            return _Result(Outcome.INVALID, (reply.en, reply.hi), language=c.language)
        grievance = filed.grievance
        files = [StoredFile(p.file_name, p.content_type, p.size_bytes, p.sha256, p.storage_key) for p in c.photos]
        attached = await attach(
            self.attachments,
            grievance.id,
            files,
            purpose=Purpose.FILING,
            actor={**PHOTO_ACTOR, "display_name": name},
            key_prefix=key,
        )
        await self.store.save(row.sender, c.filed(row.id, grievance.registration_number))
        log.info(
            "whatsapp conversation filed",
            registration_number=grievance.registration_number,
            photos=len(attached.attachment_ids),
            created=filed.created,
        )
        refused_files = [(f.file_name, f.reason_en, f.reason_hi) for f in attached.refused]
        reply = words.filed(grievance.registration_number, len(attached.attachment_ids), refused_files)
        return _Result(
            Outcome.FILED,
            (reply.en, reply.hi),
            grievance.registration_number,
            grievance.id,
            language=c.language,
        )

    async def _filed_before(self, conversation: Conversation) -> _Result:
        """The message that filed the conversation's case, delivered again before its answer was recorded."""
        number = conversation.registration_number
        grievance = await self.intake.get(registration_number=number)
        reply = words.filed(number, len(await self.attachments.of_grievance(grievance.id)))
        return _Result(Outcome.FILED, (reply.en, reply.hi), number, grievance.id, language=conversation.language)
