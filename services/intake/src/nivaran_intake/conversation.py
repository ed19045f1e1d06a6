"""The WhatsApp guided conversation (C1 / B3 / B5): a citizen files a grievance in a few short turns, in Hindi or
English: the language, the category, the district, a description, an optional photo, then a confirmation.

This module is the state machine and its memory. `advance()` is pure: the conversation so far and one message in;
the conversation after it, the reply, and whether to file now, out. `ConversationStore` keeps each sender's
conversation in Redis for 24 hours, WhatsApp's customer-service window (after it a business may not write to the
person freely, and a half-told grievance is stale). The use case that stores photos and files the case is
`whatsapp_chat.py`.

Every reply is written in both languages; `Turn.conversation.language` says which one the person chose ("" until
they have, and then both are sent). A number picks from the list last shown; a word searches it. "cancel" / "रद्द"
starts again at any step, and "हिन्दी" / "English" alone switches the language.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from nivaran_common.errors import Unavailable
from nivaran_intake import conversation_words as words
from nivaran_intake.conversation_words import DESCRIPTION_MAX, DESCRIPTION_MIN, MAX_PHOTOS, NOTHING, Reply

# WhatsApp's customer-service window: a conversation untouched this long is forgotten.
DEFAULT_TTL_SECONDS = 24 * 3600
# A search that finds more than this many shows only the first ones.
MAX_LISTED = 30

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_EDGES = ".,;:!?\"'()[]।|-_*"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def _word(text: str) -> str:
    """A whole message as one keyword: NFC, no joiners, no edge punctuation, case-folded, single-spaced."""
    return " ".join(_nfc(text).strip().strip(_EDGES).casefold().split())


def _keywords(*words: str) -> frozenset[str]:
    return frozenset(_word(w) for w in words)


HINDI = _keywords("1", "hindi", "हिन्दी", "हिंदी")
ENGLISH = _keywords("2", "english", "eng", "अंग्रेज़ी", "अंग्रेजी", "इंग्लिश")
# Only the words (not the numbers) switch the language mid-conversation, where a number answers the step.
SWITCH = {**dict.fromkeys(HINDI - {"1"}, "hi"), **dict.fromkeys(ENGLISH - {"2"}, "en")}
CANCEL = _keywords("cancel", "reset", "restart", "start again", "रद्द", "रद्द करें", "radd")
SKIP = _keywords("skip", "no photo", "छोड़ें", "छोड़ें", "छोड़े", "छोड़ो", "chhodein", "chhodo")
YES = _keywords("1", "yes", "y", "ok", "confirm", "हाँ", "हां", "हा", "haan", "han", "ha", "जी", "जी हाँ")
NO = _keywords("2", "no", "n", "नहीं", "नही", "nahi", "nahin")
_STOP_WORDS = _keywords(
    "the", "and", "for", "not", "my", "is", "of", "in", "on", "an", "to", "no", "has", "have", "been", "was", "me",
    "से", "का", "की", "के", "में", "है", "हैं", "नहीं", "मेरा", "मेरी", "मेरे", "और", "को", "पर", "भी", "यह",
)  # fmt: skip


class Step(StrEnum):
    """Where a conversation stands: what its next message answers."""

    LANGUAGE = "language"
    CATEGORY = "category"
    DISTRICT = "district"
    DESCRIPTION = "description"
    PHOTO = "photo"
    CONFIRM = "confirm"
    # Filed: the next message starts a new conversation.
    DONE = "done"


@dataclass(frozen=True)
class Choice:
    """A category or a district, as routing names it."""

    code: str
    name_en: str
    name_hi: str

    def name(self, language: str) -> str:
        return self.name_hi if language == "hi" else self.name_en


@dataclass(frozen=True)
class Photo:
    """A photo (or PDF) that came in the conversation, already in the blob store under `storage_key`."""

    storage_key: str
    sha256: str
    content_type: str
    file_name: str
    size_bytes: int


@dataclass(frozen=True)
class Conversation:
    """One sender's conversation; `id` makes the filing's idempotency key (a redelivered "yes" files once)."""

    id: str
    step: Step = Step.LANGUAGE
    language: str = ""
    category: Choice | None = None
    district: Choice | None = None
    description: str = ""
    photos: tuple[Photo, ...] = ()
    # The codes of the numbered list last shown: a number picks from it.
    offered: tuple[str, ...] = ()
    # Once filed: the stored message that filed it, and the case's number (a redelivery is answered with it).
    filed_message_id: str = ""
    registration_number: str = ""

    def filed(self, message_id: str, registration_number: str) -> Conversation:
        """The conversation after its case was filed by message `message_id`."""
        return Conversation(
            id=self.id,
            step=Step.DONE,
            language=self.language,
            filed_message_id=message_id,
            registration_number=registration_number,
        )

    def to_json(self) -> str:
        return json.dumps({"v": 1, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Conversation | None:
        """The stored conversation; None for one this code cannot read (it then starts afresh)."""
        try:
            data: dict[str, Any] = json.loads(raw)
            if data.pop("v", None) != 1:
                return None
            return cls(
                id=str(data["id"]),
                step=Step(data["step"]),
                language=str(data["language"]),
                category=Choice(**data["category"]) if data.get("category") else None,
                district=Choice(**data["district"]) if data.get("district") else None,
                description=str(data["description"]),
                photos=tuple(Photo(**p) for p in data.get("photos") or ()),
                offered=tuple(str(c) for c in data.get("offered") or ()),
                filed_message_id=str(data.get("filed_message_id", "")),
                registration_number=str(data.get("registration_number", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Menu:
    """What may be chosen: routing's categories and districts."""

    categories: tuple[Choice, ...]
    districts: tuple[Choice, ...]


@dataclass(frozen=True)
class Incoming:
    """One message: its text (a photo's caption), the photos it brought (stored), and why a file was not kept."""

    text: str
    photos: tuple[Photo, ...] = ()
    problem: Reply | None = None


@dataclass(frozen=True)
class Turn:
    """The conversation after a message, the reply, and whether the caller must file the case now."""

    conversation: Conversation
    reply: Reply
    file: bool = False


# Choosing from a list.


def _terms(text: str) -> list[str]:
    words = (w.strip(_EDGES) for w in _nfc(text).casefold().split())
    return [w for w in words if len(w) >= 2 and w not in _STOP_WORDS]


def search(choices: Sequence[Choice], text: str) -> list[Choice]:
    """The choices that match the most words of `text` (code, English or Hindi name); an exact code alone."""
    wanted = _nfc(text).strip().upper()
    exact = [c for c in choices if c.code.upper() == wanted]
    if exact:
        return exact
    terms = _terms(text)
    scored: list[tuple[int, Choice]] = []
    for choice in choices:
        haystack = _nfc(f"{choice.code} {choice.name_en} {choice.name_hi}").casefold()
        score = sum(1 for term in terms if term in haystack)
        if score:
            scored.append((score, choice))
    best = max((score for score, _ in scored), default=0)
    return [choice for score, choice in scored if score == best][:MAX_LISTED]


def _number(text: str) -> int | None:
    word = _word(text)
    return int(word) if word.isdecimal() and len(word) <= 4 else None


@dataclass(frozen=True)
class _Pick:
    """One choice; or none, the reply that says why, and the list it shows (a number then picks from it)."""

    chosen: Choice | None
    reply: Reply = NOTHING
    listed: tuple[Choice, ...] = ()


def _pick(
    text: str, offered: Sequence[str], choices: Sequence[Choice], ask: Callable[[Sequence[Choice]], Reply]
) -> _Pick:
    """A number from the list last shown, or a search: one choice, or a (shorter) list to pick from."""
    by_code = {c.code: c for c in choices}
    listed = tuple(by_code[code] for code in offered if code in by_code) or tuple(choices[:MAX_LISTED])
    number = _number(text)
    if number is not None:
        if 1 <= number <= len(listed):
            return _Pick(listed[number - 1])
        return _Pick(None, words.out_of_range(len(listed)) + ask(listed), listed)
    found = tuple(search(choices, text))
    if len(found) == 1:
        return _Pick(found[0])
    if found:
        return _Pick(None, words.found(found), found)
    everything = tuple(choices[:MAX_LISTED])
    return _Pick(None, words.nothing_found(_nfc(text).strip()[:40]) + ask(everything), everything)


# The state machine.


def prompt(conversation: Conversation, menu: Menu) -> Turn:
    """Ask what the conversation's step needs (again)."""
    c = conversation
    if c.step is Step.LANGUAGE:
        return Turn(replace(c, offered=()), words.GREETING)
    if c.step is Step.CATEGORY:
        listed = tuple(menu.categories[:MAX_LISTED])
        return Turn(replace(c, offered=tuple(x.code for x in listed)), words.category_prompt(listed))
    if c.step is Step.DISTRICT:
        listed = tuple(menu.districts[:MAX_LISTED])
        return Turn(replace(c, offered=tuple(x.code for x in listed)), words.district_prompt(listed))
    if c.step is Step.DESCRIPTION:
        return Turn(c, words.DESCRIPTION_PROMPT)
    if c.step is Step.PHOTO:
        return Turn(c, words.PHOTO_PROMPT)
    return Turn(c, words.summary(c.category, c.district, c.description, len(c.photos)))


def _ahead(turn: Turn, before: Reply) -> Turn:
    return replace(turn, reply=before + turn.reply)


def advance(conversation: Conversation | None, incoming: Incoming, menu: Menu, new_id: Callable[[], str]) -> Turn:
    """The conversation after one message (STATUS and GRV are the caller's, before this)."""
    word = _word(incoming.text)
    if conversation is None or conversation.step is Step.DONE:
        language = conversation.language if conversation is not None else ""
        fresh = Conversation(id=new_id(), step=Step.CATEGORY if language else Step.LANGUAGE, language=language)
        fresh, notes = _with_photos(fresh, incoming)
        if not language and word in HINDI | ENGLISH:
            return _ahead(prompt(replace(fresh, step=Step.CATEGORY, language=_language(word)), menu), notes)
        return _ahead(prompt(fresh, menu), words.WELCOME_BACK + notes if language else notes)
    if word in CANCEL or (conversation.step is Step.CONFIRM and word in NO):
        fresh = Conversation(id=new_id(), step=Step.CATEGORY if conversation.language else Step.LANGUAGE)
        return _ahead(prompt(replace(fresh, language=conversation.language), menu), words.CANCELLED)
    if word in SWITCH and conversation.step is not Step.LANGUAGE:
        return prompt(replace(conversation, language=SWITCH[word]), menu)
    conversation, notes = _with_photos(conversation, incoming)
    turn = _STEPS[conversation.step](conversation, incoming, menu)
    return _ahead(turn, notes)


def _language(word: str) -> str:
    return "hi" if word in HINDI else "en"


def _with_photos(conversation: Conversation, incoming: Incoming) -> tuple[Conversation, Reply]:
    """Keep the message's photos (up to MAX_PHOTOS); the notes say what became of them."""
    notes = incoming.problem or NOTHING
    known = {photo.sha256 for photo in conversation.photos}
    new = tuple({p.sha256: p for p in incoming.photos if p.sha256 not in known}.values())
    room = MAX_PHOTOS - len(conversation.photos)
    kept = new[: max(room, 0)]
    if len(kept) < len(new):
        notes = notes + words.TOO_MANY_PHOTOS
    elif kept and conversation.step not in (Step.PHOTO, Step.CONFIRM):
        notes = notes + words.PHOTO_KEPT
    return replace(conversation, photos=conversation.photos + kept), notes


def _on_language(c: Conversation, incoming: Incoming, menu: Menu) -> Turn:
    word = _word(incoming.text)
    if word in HINDI | ENGLISH:
        return prompt(replace(c, step=Step.CATEGORY, language=_language(word)), menu)
    return prompt(c, menu)


def _on_category(c: Conversation, incoming: Incoming, menu: Menu) -> Turn:
    if not incoming.text.strip():
        return prompt(c, menu)
    picked = _pick(incoming.text, c.offered, menu.categories, words.category_prompt)
    if picked.chosen is None:
        return Turn(replace(c, offered=tuple(x.code for x in picked.listed)), picked.reply)
    turn = prompt(replace(c, category=picked.chosen, step=Step.DISTRICT), menu)
    return _ahead(turn, words.chosen_category(picked.chosen))


def _on_district(c: Conversation, incoming: Incoming, menu: Menu) -> Turn:
    if not incoming.text.strip():
        return prompt(c, menu)
    picked = _pick(incoming.text, c.offered, menu.districts, words.district_prompt)
    if picked.chosen is None:
        return Turn(replace(c, offered=tuple(x.code for x in picked.listed)), picked.reply)
    turn = prompt(replace(c, district=picked.chosen, step=Step.DESCRIPTION, offered=()), menu)
    return _ahead(turn, words.chosen_district(picked.chosen))


def _on_description(c: Conversation, incoming: Incoming, menu: Menu) -> Turn:
    text = " ".join(_nfc(incoming.text).split())
    if not text:
        return prompt(c, menu)
    if len(text) < DESCRIPTION_MIN:
        return _ahead(prompt(c, menu), words.too_short(len(text)))
    if len(text) > DESCRIPTION_MAX:
        return _ahead(prompt(c, menu), words.too_long(len(text)))
    # A photo that came already (with this description as its caption, or before): straight to the confirmation.
    step = Step.CONFIRM if c.photos else Step.PHOTO
    return prompt(replace(c, description=text, step=step), menu)


def _on_photo(c: Conversation, incoming: Incoming, menu: Menu) -> Turn:
    if incoming.photos and c.photos:
        return _ahead(prompt(replace(c, step=Step.CONFIRM), menu), words.PHOTO_KEPT)
    if _word(incoming.text) in SKIP | NO:
        return prompt(replace(c, step=Step.CONFIRM), menu)
    return prompt(c, menu)


def _on_confirm(c: Conversation, incoming: Incoming, menu: Menu) -> Turn:
    word = _word(incoming.text)
    if word in YES:
        return Turn(c, NOTHING, file=True)
    if incoming.photos:
        return _ahead(prompt(c, menu), words.PHOTO_KEPT)
    return prompt(c, menu)


_STEPS: dict[Step, Callable[[Conversation, Incoming, Menu], Turn]] = {
    Step.LANGUAGE: _on_language,
    Step.CATEGORY: _on_category,
    Step.DISTRICT: _on_district,
    Step.DESCRIPTION: _on_description,
    Step.PHOTO: _on_photo,
    Step.CONFIRM: _on_confirm,
}


# The memory.


class ConversationStore:
    """Each sender's conversation in Redis (JSON, with a TTL); the key names a hash of the number, never the number."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        lock_seconds: float = 30.0,
        wait_seconds: float = 10.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.lock_seconds = lock_seconds
        self.wait_seconds = wait_seconds

    def _key(self, sender: str, kind: str = "conversation") -> str:
        digest = hashlib.sha256(sender.encode()).hexdigest()[:32]
        return f"{self.prefix}whatsapp:{kind}:{digest}"

    async def load(self, sender: str) -> Conversation | None:
        """The sender's conversation, or None (none, expired, or unreadable)."""
        try:
            raw = await self.redis.get(self._key(sender))
        except RedisError as exc:
            raise Unavailable("the conversation store is unavailable") from exc
        return Conversation.from_json(str(raw)) if raw else None

    async def save(self, sender: str, conversation: Conversation) -> None:
        """Keep the conversation for another TTL."""
        try:
            await self.redis.set(self._key(sender), conversation.to_json(), ex=self.ttl_seconds)
        except RedisError as exc:
            raise Unavailable("the conversation store is unavailable") from exc

    @asynccontextmanager
    async def turn(self, sender: str) -> AsyncIterator[None]:
        """One message of the sender at a time (a photo and its text often arrive together)."""
        lock = self.redis.lock(self._key(sender, "lock"), timeout=self.lock_seconds, blocking_timeout=self.wait_seconds)
        try:
            acquired = await lock.acquire()
        except RedisError as exc:
            raise Unavailable("the conversation store is unavailable") from exc
        if not acquired:
            raise Unavailable("another message of this conversation is being answered; deliver this one again")
        try:
            yield
        finally:
            # Expired meanwhile (a very slow filing): the next message takes a fresh lock.
            with contextlib.suppress(LockError, RedisError):
                await lock.release()
