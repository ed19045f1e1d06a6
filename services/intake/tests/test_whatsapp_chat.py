"""C1 / B3 / B5: the WhatsApp guided conversation through intake's InboundService, with its state in the real Redis
(a key prefix of each test's own) and the real IntakeService: every message is stored before it is read, a photo is
in the blob store when it comes and becomes the case's attachment, the case is filed on the whatsapp channel once,
STATUS answers at any step, and each answer is in the language chosen."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import pytest_asyncio
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import func, select, update

from nivaran.intake.v1 import intake_pb2
from nivaran.routing.v1 import routing_pb2
from nivaran_common.errors import InvalidArgument
from nivaran_common.redis import create_redis
from nivaran_common.settings import Profile
from nivaran_common.testing import ONE_BACKEND
from nivaran_intake.clients import GrpcMasterData
from nivaran_intake.conversation import ConversationStore, Step
from nivaran_intake.handlers import IntakeServicer
from nivaran_intake.inbound import Answer, InboundMessage, InboundService, Outcome
from nivaran_intake.inbound_files import InboundFile
from nivaran_intake.settings import IntakeSettings
from nivaran_intake.tables import GrievanceRow, InboundMessageRow
from nivaran_intake.whatsapp_chat import WHATSAPP_COMPLAINANT, WhatsAppChat, complainant_name

from .conftest import IntakeHarness
from .test_conversation import ABOUT, MENU

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@dataclass
class FakeMasterData:
    """Routing's categories and districts, inside this process."""

    asked: int = 0

    async def menu(self) -> Any:
        self.asked += 1
        return MENU


@dataclass
class Chat:
    inbound: InboundService
    store: ConversationStore
    redis: Redis
    intake: IntakeHarness
    phone: str = field(default_factory=lambda: f"98{random.randrange(10**7, 10**8)}")
    last_id: str = ""

    async def say(
        self, text: str, *files: bytes, problem: str = "", provider_id: str = "", name: str = "सीता देवी"
    ) -> Answer:
        self.last_id = provider_id or f"wamid.{uuid.uuid4().hex}"
        message = InboundMessage(
            channel="whatsapp",
            sender=self.phone,
            text=text,
            provider_message_id=self.last_id,
            sender_name=name,
            files=tuple(InboundFile("IMG-1.png", "image/png", content) for content in files),
            file_problem=problem,
        )
        return await self.inbound.receive(message)


@pytest_asyncio.fixture
async def chat(intake: IntakeHarness, redis_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    redis = create_redis(redis_url)
    store = ConversationStore(redis, key_prefix)
    whatsapp = WhatsAppChat(intake.service, store, FakeMasterData())
    yield Chat(InboundService(intake.service, whatsapp), store, redis, intake)
    keys = [key async for key in redis.scan_iter(match=f"{key_prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def cases(chat: Chat) -> list[GrievanceRow]:
    async with chat.intake.sessions() as session:
        return list((await session.execute(select(GrievanceRow).order_by(GrievanceRow.filed_at))).scalars())


async def walk_to_confirmation(chat: Chat, language: str = "1") -> Answer:
    await chat.say("नमस्ते")
    await chat.say(language)
    await chat.say("ration card")
    await chat.say("Patna")
    await chat.say(ABOUT)
    return await chat.say("skip")


async def test_C1_B3_B5_a_conversation_in_hindi_with_a_photo_files_a_whatsapp_case(chat: Chat) -> None:
    greeted = await chat.say("नमस्ते")
    assert (greeted.outcome, greeted.language) == (Outcome.CONVERSATION, "")
    assert greeted.reply_en.startswith("Namaste! This is Nivaran")
    assert greeted.reply_hi.startswith("नमस्ते!")
    hindi = await chat.say("1")
    assert (hindi.language, hindi.reply_hi.startswith("आपकी शिकायत किस विषय पर है?")) == ("hi", True)
    await chat.say("राशन")
    assert (await chat.say("1")).reply_hi.startswith("श्रेणी: राशन कार्ड")
    assert (await chat.say("पटना")).reply_hi.startswith("जिला: पटना")
    assert (await chat.say(ABOUT)).reply_hi.startswith("यदि समस्या की फ़ोटो है")
    pictured = await chat.say("", PNG)
    assert "फ़ोटो: 1" in pictured.reply_hi
    # The photo was in the blob store, and named by the stored message, before anything read it.
    [row] = [m for m in await stored_messages(chat) if m.files]
    assert row.files is not None
    assert row.files[0]["sha256"]
    assert await chat.intake.service.attachments.blobs.get(row.files[0]["storage_key"]) == PNG
    assert await cases(chat) == []

    filed = await chat.say("हाँ")
    assert (filed.outcome, filed.language) == (Outcome.FILED, "hi")
    number = filed.registration_number
    assert filed.reply_hi.startswith(f"आपकी शिकायत दर्ज हो गई: {number}। संलग्न फ़ोटो: 1।")
    [case] = await cases(chat)
    assert (case.registration_number, case.channel, case.category_code, case.district_code) == (
        number, "whatsapp", "FOOD-RATION-CARD", "PAT"
    )  # fmt: skip
    assert (case.description, case.language, case.preferred_language) == (ABOUT, "hi", "hi")
    assert (case.complainant_phone, case.complainant_name) == (f"+91{chat.phone}", "सीता देवी")
    [attachment] = await chat.intake.service.attachments.of_grievance(case.id)
    assert (attachment.purpose, attachment.content_type, attachment.file_name) == ("filing", "image/png", "IMG-1.png")
    content = await chat.intake.service.attachments.content(case.id, attachment.id)
    assert content.content == PNG

    # The last message delivered again: the first answer, nothing filed or attached twice.
    again = await chat.say("हाँ", provider_id=chat.last_id)
    assert (again.duplicate, again.registration_number) == (True, number)
    assert len(await cases(chat)) == 1
    # The next message starts a new conversation, in Hindi still.
    after = await chat.say("नमस्ते")
    assert (after.language, after.reply_hi.startswith("फिर से नमस्ते")) == ("hi", True)


@ONE_BACKEND
async def test_C1_an_english_conversation_by_numbers_without_a_photo(chat: Chat) -> None:
    confirmation = await walk_to_confirmation(chat, "2")
    assert confirmation.language == "en"
    assert "Category: Ration card (new, correction, members)\nDistrict: Patna" in confirmation.reply_en
    assert "Photos: 0" in confirmation.reply_en
    filed = await chat.say("yes")
    assert (filed.outcome, filed.language) == (Outcome.FILED, "en")
    assert filed.reply_en.startswith(f"Your grievance is registered: {filed.registration_number}.")
    [case] = await cases(chat)
    assert await chat.intake.service.attachments.of_grievance(case.id) == []


@ONE_BACKEND
async def test_C1_status_answers_at_any_step_in_the_chosen_language_and_grv_still_files(chat: Chat) -> None:
    one_line = await chat.say(f"GRV FOOD-RATION-CARD PAT {ABOUT}")
    assert (one_line.outcome, one_line.language) == (Outcome.FILED, "")
    number = one_line.registration_number
    await chat.say("hello")
    await chat.say("1")
    status = await chat.say(f"स्थिति {number}")
    assert (status.outcome, status.registration_number, status.language) == (Outcome.STATUS, number, "hi")
    # The conversation is where it was: the next message answers the category.
    assert (await chat.say("2")).reply_hi.startswith("श्रेणी: जन वितरण प्रणाली")
    stranger = await chat.say("status BR-PAT-2026-0999999-1")
    assert stranger.outcome == Outcome.NOT_FOUND


@ONE_BACKEND
async def test_C1_cancel_resets_and_bad_files_are_answered_not_kept(chat: Chat) -> None:
    await chat.say("2")
    refused = await chat.say("", b"this is not a photo")
    assert refused.reply_en.startswith("That file was not kept (not a PDF, JPEG, PNG file)")
    too_big = await chat.say("", problem="too_large")
    assert too_big.reply_en.startswith("That file was not kept (larger than")
    lost = await chat.say("caption only", problem="unavailable")
    assert lost.reply_en.startswith("Your photo did not reach us; please send it again.")
    conversation = await chat.store.load(f"+91{chat.phone}")
    assert conversation is not None
    assert conversation.photos == ()
    await chat.say("1")
    cancelled = await chat.say("cancel")
    assert cancelled.reply_en.startswith("Cancelled; nothing was filed.")
    conversation = await chat.store.load(f"+91{chat.phone}")
    assert conversation is not None
    assert (conversation.step, conversation.category) == (Step.CATEGORY, None)


@ONE_BACKEND
async def test_C2_the_state_lives_in_redis_for_a_day_under_a_key_without_the_number(chat: Chat) -> None:
    await chat.say("1")
    keys = [key async for key in chat.redis.scan_iter(match=f"{chat.store.prefix}*")]
    assert len(keys) == 1
    assert chat.phone not in keys[0]
    assert 23 * 3600 < await chat.redis.ttl(keys[0]) <= 24 * 3600


@ONE_BACKEND
async def test_C2_a_confirmation_read_again_after_a_crash_files_once(chat: Chat) -> None:
    await walk_to_confirmation(chat)
    filed = await chat.say("1")
    # As if intake stopped after filing and before it recorded the answer: the provider delivers the message again.
    async with chat.intake.sessions.begin() as session:
        await session.execute(
            update(InboundMessageRow).where(InboundMessageRow.id == filed.message_id).values(outcome=None)
        )
    again = await chat.say("1", provider_id=chat.last_id)
    assert (again.outcome, again.registration_number, again.duplicate) == (
        Outcome.FILED,
        filed.registration_number,
        False,
    )
    assert len(await cases(chat)) == 1


@ONE_BACKEND
async def test_C2_a_photo_and_its_text_arriving_together_are_answered_one_at_a_time(chat: Chat) -> None:
    for text in ("2", "1", "1"):
        await chat.say(text)
    await asyncio.gather(chat.say("", PNG), chat.say(ABOUT))
    conversation = await chat.store.load(f"+91{chat.phone}")
    assert conversation is not None
    assert (len(conversation.photos), conversation.description, conversation.step) == (1, ABOUT, Step.CONFIRM)


def test_C1_the_profile_name_is_the_complainants_when_it_can_be() -> None:
    assert complainant_name("  Sita   Devi ") == "Sita Devi"
    assert complainant_name("") == WHATSAPP_COMPLAINANT
    assert complainant_name("x") == WHATSAPP_COMPLAINANT
    assert complainant_name("bad\x07name") == WHATSAPP_COMPLAINANT


async def stored_messages(chat: Chat) -> list[InboundMessageRow]:
    async with chat.intake.sessions() as session:
        return list((await session.execute(select(InboundMessageRow))).scalars())


@ONE_BACKEND
async def test_C2_every_message_of_the_conversation_is_stored(chat: Chat) -> None:
    await walk_to_confirmation(chat)
    async with chat.intake.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(InboundMessageRow))).scalar_one()
    assert count == 6
    assert all(m.outcome == "conversation" for m in await stored_messages(chat))


# Routing's choices, cached.


class RoutingStub:
    """Answers ListCategories and ListAreas as routing does; `failing` makes it unreachable."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    def _check(self) -> None:
        self.calls += 1
        if self.failing:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())

    async def ListCategories(self, request: Any, timeout: float) -> Any:  # noqa: N802
        self._check()
        name = routing_pb2.Category(code="FOOD-RATION-CARD", retired=False)
        name.name.en, name.name.hi = "Ration card", "राशन कार्ड"
        return routing_pb2.ListCategoriesResponse(categories=[name, routing_pb2.Category(code="OLD", retired=True)])

    async def ListAreas(self, request: Any, timeout: float) -> Any:  # noqa: N802
        assert request.level == routing_pb2.AREA_LEVEL_DISTRICT
        self._check()
        area = routing_pb2.Area(code="PAT")
        area.name.en, area.name.hi = "Patna", "पटना"
        return routing_pb2.ListAreasResponse(areas=[area])


async def test_C1_routings_choices_are_cached_and_the_last_good_copy_outlives_an_outage() -> None:
    stub, now = RoutingStub(), [0.0]
    master = GrpcMasterData(stub, ttl_seconds=60, clock=lambda: now[0])  # type: ignore[arg-type]
    menu = await master.menu()
    assert [(c.code, c.name_hi) for c in menu.categories] == [("FOOD-RATION-CARD", "राशन कार्ड")]
    assert [(d.code, d.name_en) for d in menu.districts] == [("PAT", "Patna")]
    await master.menu()
    assert stub.calls == 2  # one of each, cached
    now[0], stub.failing = 61.0, True
    assert await master.menu() == menu
    with pytest.raises(Exception, match="routing is unavailable"):
        await GrpcMasterData(stub).menu()  # type: ignore[arg-type]


def test_C1_intake_refuses_to_start_in_prod_without_its_own_redis() -> None:
    with pytest.raises(ValidationError, match="NIVARAN_INTAKE_REDIS_URL is required in profile prod"):
        IntakeSettings(profile=Profile.PROD)
    assert IntakeSettings(profile=Profile.DEV).redis_key_prefix == "nivaran:intake:"


@ONE_BACKEND
async def test_C1_the_chosen_language_travels_in_the_grpc_answer(intake: IntakeHarness, chat: Chat) -> None:
    servicer = IntakeServicer(intake.service, intake.service.attachments, None, chat.inbound.whatsapp)
    request = intake_pb2.ReceiveMessageRequest(
        channel="whatsapp", sender=chat.phone, text="2", provider_message_id=f"wamid.{uuid.uuid4().hex}"
    )
    answered = await servicer.ReceiveMessage(request, None)  # type: ignore[arg-type]
    assert (answered.outcome, answered.language) == ("conversation", "en")
    assert answered.reply.en.startswith("What is your grievance about?")


@ONE_BACKEND
async def test_C2_a_malformed_whatsapp_message_names_its_fields_and_stores_nothing(chat: Chat) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await chat.say("hello", problem="exploded", name="x" * 201)
    assert sorted(v.field for v in refused.value.violations) == ["file_problem", "sender_name"]
    assert await stored_messages(chat) == []
