"""What the WhatsApp guided conversation says (conversation.py), in English and Hindi; each reply is written in both,
and the person's chosen language decides which one is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# As intake's own check of a filing (domain.validate).
DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 5000
MAX_PHOTOS = 3
# In the confirmation, the description is shown up to this many characters.
SUMMARY_DESCRIPTION = 300


@dataclass(frozen=True)
class Reply:
    """One reply in both languages; `a + b` is a, then b, as paragraphs."""

    en: str
    hi: str

    def __add__(self, other: Reply) -> Reply:
        return Reply(f"{self.en}\n\n{other.en}".strip(), f"{self.hi}\n\n{other.hi}".strip())


NOTHING = Reply("", "")


class Named(Protocol):
    """A category or a district, as routing names it."""

    @property
    def name_en(self) -> str: ...

    @property
    def name_hi(self) -> str: ...


GREETING = Reply(
    "Namaste! This is Nivaran, the public grievance service. Reply 1 for हिन्दी or 2 for English. "
    "(To follow a case send: status <registration number>. To start again: cancel.)",
    "नमस्ते! यह निवारण है, लोक शिकायत सेवा। हिन्दी के लिए 1, English के लिए 2 भेजें। "
    "(किसी शिकायत की स्थिति जानने के लिए भेजें: स्थिति <पंजीकरण संख्या>। फिर से शुरू करने के लिए: रद्द)",
)
WELCOME_BACK = Reply(
    "Namaste again! To file another grievance, answer below. (status <registration number> follows a case.)",
    "फिर से नमस्ते! एक और शिकायत दर्ज करने के लिए नीचे उत्तर दें। (स्थिति <पंजीकरण संख्या> से शिकायत की स्थिति जानें।)",
)
CANCELLED = Reply("Cancelled; nothing was filed. Let us start again.", "रद्द किया गया; कुछ दर्ज नहीं हुआ। फिर से शुरू करते हैं।")
DESCRIPTION_PROMPT = Reply(
    "Describe the problem in a few sentences: what happened, where (village, ward, landmark) and since when.",
    "समस्या कुछ वाक्यों में लिखें: क्या हुआ, कहाँ (गाँव, वार्ड, पहचान का स्थान) और कब से।",
)
PHOTO_PROMPT = Reply(
    "If you have a photo of the problem, send it now (JPEG or PNG, or a PDF). Otherwise reply: skip",
    "यदि समस्या की फ़ोटो है तो अभी भेजें (JPEG या PNG, या PDF)। नहीं तो लिखें: छोड़ें",
)
PHOTO_KEPT = Reply("Photo received.", "फ़ोटो मिल गई।")
TOO_MANY_PHOTOS = Reply(
    f"At most {MAX_PHOTOS} photos can be attached; this one was not kept.",
    f"अधिकतम {MAX_PHOTOS} फ़ोटो जोड़ी जा सकती हैं; यह फ़ोटो नहीं रखी गई।",
)
# Why a file that came with a message was not kept (whatsapp_chat.py; the gateway's file_problem).
FILE_REFUSED = Reply(
    "That file was not kept ({en}): send a photo (JPEG or PNG) or a PDF.",
    "यह फ़ाइल नहीं रखी गई ({hi}): फ़ोटो (JPEG या PNG) या PDF भेजें।",
)
FILE_NOT_RECEIVED = Reply(
    "Your photo did not reach us; please send it again.",
    "आपकी फ़ोटो हम तक नहीं पहुँची; कृपया फिर से भेजें।",
)
REFUSED_AT_FILING = Reply(
    "It could not be filed: {en}. Reply 2 to start again, or 1 to try once more.",
    "शिकायत दर्ज नहीं हो सकी: {hi}। फिर से शुरू करने के लिए 2 भेजें, या दोबारा कोशिश के लिए 1।",
)


def numbered(choices: Sequence[Named]) -> tuple[str, str]:
    """`1. Patna` lines, in English and in Hindi."""
    en = "\n".join(f"{n}. {c.name_en}" for n, c in enumerate(choices, 1))
    hi = "\n".join(f"{n}. {c.name_hi}" for n, c in enumerate(choices, 1))
    return en, hi


def category_prompt(choices: Sequence[Named]) -> Reply:
    en, hi = numbered(choices)
    return Reply(
        f"What is your grievance about? Reply with a number, or type a word (e.g. ration, police):\n{en}",
        f"आपकी शिकायत किस विषय पर है? संख्या भेजें, या कोई शब्द लिखें (जैसे राशन, पुलिस):\n{hi}",
    )


def district_prompt(choices: Sequence[Named]) -> Reply:
    en, hi = numbered(choices)
    return Reply(
        f"Which district is it in? Reply with a number or the name:\n{en}",
        f"यह किस जिले में है? संख्या या जिले का नाम भेजें:\n{hi}",
    )


def found(choices: Sequence[Named]) -> Reply:
    en, hi = numbered(choices)
    return Reply(f"Several match; reply with a number:\n{en}", f"कई मिले; संख्या भेजें:\n{hi}")


def nothing_found(said: str) -> Reply:
    return Reply(f'Nothing matched "{said}".', f'"{said}" से कुछ नहीं मिला।')


def out_of_range(count: int) -> Reply:
    return Reply(f"Please reply with a number from 1 to {count}.", f"कृपया 1 से {count} तक की कोई संख्या भेजें।")


def chosen_category(choice: Named) -> Reply:
    return Reply(f"Category: {choice.name_en}.", f"श्रेणी: {choice.name_hi}।")


def chosen_district(choice: Named) -> Reply:
    return Reply(f"District: {choice.name_en}.", f"जिला: {choice.name_hi}।")


def too_short(length: int) -> Reply:
    return Reply(
        f"Please write a little more: at least {DESCRIPTION_MIN} characters (you sent {length}).",
        f"कृपया थोड़ा और लिखें: कम से कम {DESCRIPTION_MIN} अक्षर (आपने {length} भेजे)।",
    )


def too_long(length: int) -> Reply:
    return Reply(
        f"Please shorten it to at most {DESCRIPTION_MAX} characters (you sent {length}).",
        f"कृपया इसे अधिकतम {DESCRIPTION_MAX} अक्षर में लिखें (आपने {length} भेजे)।",
    )


def summary(category: Named | None, district: Named | None, description: str, photos: int) -> Reply:
    """The confirmation: what will be filed, and how to answer."""
    text = description if len(description) <= SUMMARY_DESCRIPTION else description[:SUMMARY_DESCRIPTION] + "…"
    return Reply(
        f"Please check:\nCategory: {category.name_en if category else ''}\n"
        f"District: {district.name_en if district else ''}\nDescription: {text}\nPhotos: {photos}\n"
        "Reply 1 (yes) to file it, or 2 (no) to start again.",
        f"कृपया जाँच लें:\nश्रेणी: {category.name_hi if category else ''}\n"
        f"जिला: {district.name_hi if district else ''}\nविवरण: {text}\nफ़ोटो: {photos}\n"
        "दर्ज करने के लिए 1 (हाँ) भेजें, फिर से शुरू करने के लिए 2 (नहीं)।",
    )


def file_refused(reason_en: str, reason_hi: str) -> Reply:
    return Reply(FILE_REFUSED.en.format(en=reason_en), FILE_REFUSED.hi.format(hi=reason_hi))


def filed(registration_number: str, photos: int, not_attached: Sequence[tuple[str, str, str]] = ()) -> Reply:
    """The case is registered; `not_attached` are (file name, reason in English, in Hindi)."""
    n = registration_number
    en = f"Your grievance is registered: {n}."
    hi = f"आपकी शिकायत दर्ज हो गई: {n}।"
    if photos:
        en, hi = f"{en} Photos attached: {photos}.", f"{hi} संलग्न फ़ोटो: {photos}।"
    for name, reason_en, reason_hi in not_attached:
        en, hi = f"{en} Not attached: {name} ({reason_en}).", f"{hi} संलग्न नहीं: {name} ({reason_hi})।"
    return Reply(
        f"{en} The acknowledgement follows here. To follow the case, send: status {n}",
        f"{hi} पावती यहीं भेजी जा रही है। स्थिति जानने के लिए भेजें: स्थिति {n}",
    )


def refused_at_filing(en: str, hi: str) -> Reply:
    return Reply(REFUSED_AT_FILING.en.format(en=en), REFUSED_AT_FILING.hi.format(hi=hi))
