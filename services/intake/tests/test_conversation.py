"""C1 / B3: the WhatsApp guided conversation's state machine (conversation.py), pure: one message in, the next step,
the reply in both languages and the language chosen out. The Redis store and the filing are in test_whatsapp_chat.py.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from nivaran_intake.conversation import (
    Choice,
    Conversation,
    Incoming,
    Menu,
    Photo,
    Step,
    Turn,
    advance,
    search,
)
from nivaran_intake.conversation_words import DESCRIPTION_MIN, GREETING, MAX_PHOTOS

RATION = Choice("FOOD-RATION-CARD", "Ration card (new, correction, members)", "राशन कार्ड (नया, सुधार, सदस्य)")
PDS = Choice("FOOD-PDS-SUPPLY", "Ration not received from the PDS shop", "जन वितरण प्रणाली की दुकान से राशन नहीं मिला")
FIR = Choice("HOME-FIR-NOT-REGISTERED", "FIR not registered", "प्राथमिकी दर्ज नहीं की गई")
PATNA = Choice("PAT", "Patna", "पटना")
NALANDA = Choice("NAL", "Nalanda", "नालंदा")
MENU = Menu(categories=(RATION, PDS, FIR), districts=(PATNA, NALANDA))
ABOUT = "राशन कार्ड में नाम गलत छपा है, छह महीने से सुधार नहीं हुआ"


def photo(n: int = 1) -> Photo:
    return Photo(f"ab/cd/{n:064x}", f"{n:064x}", "image/png", "whatsapp-photo", 120)


class Talk:
    """A conversation driven message by message, as whatsapp_chat.py drives it."""

    def __init__(self) -> None:
        self.ids = (f"conv-{n}" for n in itertools.count(1))
        self.conversation: Conversation | None = None

    def say(self, text: str, *photos: Photo) -> Turn:
        turn = advance(self.conversation, Incoming(text, photos), MENU, lambda: next(self.ids))
        self.conversation = turn.conversation
        return turn


def test_C1_a_first_message_is_greeted_in_both_languages_and_a_language_is_chosen() -> None:
    talk = Talk()
    greeted = talk.say("hello")
    assert greeted.reply == GREETING
    assert (greeted.conversation.step, greeted.conversation.language) == (Step.LANGUAGE, "")
    assert "हिन्दी" in greeted.reply.en
    assert "English" in greeted.reply.hi
    unclear = talk.say("what?")
    assert unclear.reply == GREETING
    chosen = talk.say("हिंदी")
    assert (chosen.conversation.step, chosen.conversation.language) == (Step.CATEGORY, "hi")
    assert "1. राशन कार्ड" in chosen.reply.hi
    assert chosen.conversation.offered == ("FOOD-RATION-CARD", "FOOD-PDS-SUPPLY", "HOME-FIR-NOT-REGISTERED")


@pytest.mark.parametrize(("first", "language"), [("1", "hi"), ("Hindi", "hi"), ("2", "en"), ("English.", "en")])
def test_C1_a_language_word_as_the_first_message_chooses_it(first: str, language: str) -> None:
    turn = Talk().say(first)
    assert (turn.conversation.step, turn.conversation.language) == (Step.CATEGORY, language)


def test_C1_B3_the_whole_conversation_ends_in_a_filing() -> None:
    talk = Talk()
    talk.say("नमस्ते")
    talk.say("1")
    several = talk.say("राशन")
    # Both ration categories match the word: a shorter numbered list, and a number picks from it.
    assert several.conversation.step is Step.CATEGORY
    assert several.conversation.offered == ("FOOD-RATION-CARD", "FOOD-PDS-SUPPLY")
    assert "कई मिले" in several.reply.hi
    picked = talk.say("१")  # a Devanagari digit
    assert picked.conversation.category == RATION
    assert picked.conversation.step is Step.DISTRICT
    assert picked.reply.hi.startswith("श्रेणी: राशन कार्ड")
    assert "1. पटना" in picked.reply.hi
    district = talk.say("पटना")
    assert (district.conversation.district, district.conversation.step) == (PATNA, Step.DESCRIPTION)
    described = talk.say(f"  {ABOUT}  ")
    assert (described.conversation.description, described.conversation.step) == (ABOUT, Step.PHOTO)
    assert "छोड़ें" in described.reply.hi
    pictured = talk.say("", photo())
    assert pictured.conversation.step is Step.CONFIRM
    assert "फ़ोटो: 1" in pictured.reply.hi
    assert ABOUT in pictured.reply.hi
    confirmed = talk.say("हाँ")
    assert confirmed.file
    assert confirmed.conversation == pictured.conversation


def test_C1_numbers_words_and_codes_pick_and_bad_ones_are_answered() -> None:
    talk = Talk()
    talk.say("2")
    missed = talk.say("electricity bill")
    assert missed.conversation.step is Step.CATEGORY
    assert missed.reply.en.startswith('Nothing matched "electricity bill"')
    assert "1. Ration card" in missed.reply.en
    too_far = talk.say("9")
    assert too_far.reply.en.startswith("Please reply with a number from 1 to 3")
    assert talk.say("police fir").conversation.category == FIR
    assert talk.say("nal").conversation.district == NALANDA


def test_C1_search_scores_words_of_either_language() -> None:
    assert search(MENU.categories, "my ration card is not made") == [RATION]
    assert search(MENU.categories, "PDS shop") == [PDS]
    assert search(MENU.categories, "प्राथमिकी") == [FIR]
    assert search(MENU.categories, "home-fir-not-registered") == [FIR]
    assert search(MENU.categories, "the of") == []


def test_C1_a_description_too_short_is_asked_for_again() -> None:
    talk = Talk()
    for text in ("2", "1", "1"):
        talk.say(text)
    short = talk.say("bad")
    assert short.conversation.step is Step.DESCRIPTION
    assert f"at least {DESCRIPTION_MIN} characters (you sent 3)" in short.reply.en


def test_C1_a_photo_with_its_caption_at_the_description_goes_straight_to_the_confirmation() -> None:
    talk = Talk()
    for text in ("1", "1", "1"):
        talk.say(text)
    turn = talk.say(ABOUT, photo())
    assert (turn.conversation.step, turn.conversation.description) == (Step.CONFIRM, ABOUT)
    assert turn.reply.hi.startswith("फ़ोटो मिल गई")


def test_C1_photos_are_kept_once_and_at_most_three() -> None:
    talk = Talk()
    talk.say("1", photo(1))
    assert talk.conversation is not None
    assert len(talk.conversation.photos) == 1
    talk.say("", photo(1))  # the same photo again
    assert len(talk.conversation.photos) == 1
    crowded = talk.say("", *(photo(n) for n in range(2, 2 + MAX_PHOTOS)))
    assert len(crowded.conversation.photos) == MAX_PHOTOS
    assert "not kept" in crowded.reply.en


@pytest.mark.parametrize("word", ["cancel", "रद्द", "Cancel."])
def test_C1_cancel_starts_again_and_keeps_the_language(word: str) -> None:
    talk = Talk()
    for text in ("2", "1", "1", ABOUT):
        talk.say(text)
    before = talk.conversation
    assert before is not None
    turn = talk.say(word)
    assert (turn.conversation.step, turn.conversation.language) == (Step.CATEGORY, "en")
    assert turn.conversation.id != before.id
    assert (turn.conversation.category, turn.conversation.description) == (None, "")
    assert turn.reply.en.startswith("Cancelled; nothing was filed.")


def test_C1_no_at_the_confirmation_starts_again_and_skip_skips_the_photo() -> None:
    talk = Talk()
    for text in ("1", "2", "2", ABOUT):
        talk.say(text)
    assert talk.say("छोड़ें").conversation.step is Step.CONFIRM
    again = talk.say("नहीं")
    assert (again.conversation.step, again.file) == (Step.CATEGORY, False)


def test_C1_the_language_can_be_switched_at_any_step() -> None:
    talk = Talk()
    talk.say("1")
    switched = talk.say("English")
    assert (switched.conversation.language, switched.conversation.step) == ("en", Step.CATEGORY)


def test_C1_after_a_filing_the_next_message_starts_a_new_conversation_in_the_same_language() -> None:
    filed = replace(Conversation("conv-1", Step.CONFIRM, "hi"), description=ABOUT).filed(
        "msg-1", "BR-PAT-2026-0000001-1"
    )
    turn = advance(filed, Incoming("नमस्ते"), MENU, lambda: "conv-2")
    assert (turn.conversation.id, turn.conversation.step, turn.conversation.language) == ("conv-2", Step.CATEGORY, "hi")
    assert turn.reply.hi.startswith("फिर से नमस्ते")


def test_C1_a_stored_conversation_reads_back_and_an_unreadable_one_is_none() -> None:
    conversation = Conversation("conv-1", Step.CONFIRM, "hi", RATION, PATNA, ABOUT, (photo(),), ("PAT",), "", "")
    assert Conversation.from_json(conversation.to_json()) == conversation
    assert Conversation.from_json("{not json") is None
    assert Conversation.from_json('{"v": 99}') is None
