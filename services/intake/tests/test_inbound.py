"""C2 / B3: a citizen files a grievance, and asks its status, by SMS. Every message is stored before it is read;
"GRV <category> <district> <description>" (शिकायत ...) files on the sms channel through the real IntakeService;
"STATUS <registration number>" (स्थिति ...) answers only the number the case was filed from; anything else gets the
help; a repeated provider message is answered from the first and files nothing again. On SQLite and PostgreSQL
(the `intake` fixture runs on both); the gRPC surface and its door on one backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from structlog.testing import capture_logs

from nivaran.intake.v1 import intake_pb2, intake_pb2_grpc
from nivaran_common.auth import KeySetCache, TokenVerifier
from nivaran_common.door import Door
from nivaran_common.errors import FieldViolation, InvalidArgument, Unavailable, field_violations
from nivaran_common.grpc_server import ServerSecurity, build_server
from nivaran_common.testing import ONE_BACKEND, workload_tls
from nivaran_common.timeutil import as_utc
from nivaran_intake.access import RULES
from nivaran_intake.attachments import AttachmentService
from nivaran_intake.domain import Location, Status, is_valid_registration_number
from nivaran_intake.inbound import (
    MAX_REPLY,
    SMS_ADDRESS,
    SMS_COMPLAINANT,
    STATUS_WORDS,
    Answer,
    HelpRequest,
    InboundMessage,
    InboundService,
    Outcome,
    SmsFiling,
    StatusQuery,
    filed_reply,
    filing_key,
    help_reply,
    invalid_reply,
    not_found_reply,
    parse,
    problem_words,
    status_reply,
)
from nivaran_intake.main import binding
from nivaran_intake.projection import Transition
from nivaran_intake.tables import GrievanceRow, InboundMessageRow

from .conftest import IntakeHarness
from .test_hearings import KEY

NUMBER = "BR-PAT-2026-0000001-1"
ABOUT_RATION = "my ration card has not been made for six months"


def sms(text: str, sender: str, provider_id: str, **changes: Any) -> InboundMessage:
    fields: dict[str, Any] = {"channel": "sms", "sender": sender, "text": text, "provider_message_id": provider_id}
    return InboundMessage(**{**fields, **changes})


async def receive(intake: IntakeHarness, message: InboundMessage) -> Answer:
    return await InboundService(intake.service).receive(message)


async def stored(intake: IntakeHarness) -> list[InboundMessageRow]:
    async with intake.sessions() as session:
        return list((await session.execute(select(InboundMessageRow).order_by(InboundMessageRow.stored_at))).scalars())


async def grievances(intake: IntakeHarness) -> int:
    async with intake.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(GrievanceRow))).scalar_one())


# The parser and the replies: pure functions.


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (f"STATUS {NUMBER}", StatusQuery(NUMBER)),
        (f"  status   {NUMBER.lower()}  ", StatusQuery(NUMBER)),
        (f"Status: {NUMBER}.", StatusQuery(NUMBER)),
        (f"स्थिति {NUMBER}", StatusQuery(NUMBER)),
        (f"\u200dस्थिति\n{NUMBER}", StatusQuery(NUMBER)),
        (
            f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}",
            SmsFiling("FOOD-RATION-CARD", "PAT", ABOUT_RATION),
        ),
        (
            "  grv   food-ration-card   pat   my ration card\n has not   been made ",
            SmsFiling("FOOD-RATION-CARD", "PAT", "my ration card has not been made"),
        ),
        (
            "शिकायत FOOD-RATION-CARD PAT मेरा राशन कार्ड नहीं बना है",
            SmsFiling("FOOD-RATION-CARD", "PAT", "मेरा राशन कार्ड नहीं बना है", hindi=True),
        ),
        ("GRV FOOD-RATION-CARD", SmsFiling("FOOD-RATION-CARD", "", "")),
        ("GRV", HelpRequest()),
        ("STATUS", HelpRequest()),
        ("", HelpRequest()),
        ("hello, my ration card is not made", HelpRequest()),
        (f"STATUSES {NUMBER}", HelpRequest()),
        ("help", HelpRequest()),
    ],
)
def test_C2_B3_the_sms_grammar(text: str, command: object) -> None:
    assert parse(text) == command


def test_C2_the_filing_key_comes_from_the_channel_and_the_provider_message() -> None:
    key = filing_key("sms", "provider/id with spaces & symbols")
    assert key == filing_key("sms", "provider/id with spaces & symbols")
    assert key != filing_key("sms", "provider/id with spaces & symbols 2")
    # A valid idempotency key of a filing (domain.validate).
    assert 8 <= len(key) <= 128
    assert all(c.isalnum() or c in "_:.-" for c in key)


def test_C2_B3_the_replies_are_short_and_in_both_languages() -> None:
    deadline = datetime(2026, 12, 9, 20, 0, tzinfo=UTC)  # 10 December in India
    title_en, title_hi = "District Supply Officer", "जिला आपूर्ति पदाधिकारी"
    assert status_reply(NUMBER, Status.ASSIGNED, title_en, title_hi, deadline) == (
        f"{NUMBER}: with the District Supply Officer, next step due 2026-12-10",
        f"{NUMBER}: जिला आपूर्ति पदाधिकारी के पास, अगली कार्रवाई 2026-12-10 तक",
    )
    # An ended case has no next step.
    assert status_reply(NUMBER, Status.DISPOSED, title_en, title_hi, deadline)[0] == (
        f"{NUMBER}: disposed of by the District Supply Officer"
    )
    assert set(STATUS_WORDS) == set(Status)
    long_title = "Sub-divisional Public Grievance Redressal Officer, " * 3
    refused = InvalidArgument.of(
        [
            FieldViolation("category_code", "unknown category 'X' / अज्ञात श्रेणी 'X'"),
            FieldViolation("location.district_code", "unknown district code 'Y' / अज्ञात जिला कोड 'Y'"),
            FieldViolation("description", "must be at least 10 characters"),
        ]
    )
    replies = [
        help_reply(),
        filed_reply(NUMBER),
        not_found_reply(NUMBER),
        invalid_reply(refused),
        *(status_reply(NUMBER, s, long_title, long_title, deadline) for s in Status),
    ]
    for en, hi in replies:
        assert en
        assert hi
        assert len(en) <= MAX_REPLY
        assert len(hi) <= MAX_REPLY
        assert any("\u0900" <= c <= "\u097f" for c in hi)


def test_B3_a_refused_field_in_plain_words() -> None:
    assert problem_words(FieldViolation("description", "must be at least 10 characters")) == (
        "description must be at least 10 characters",
        "विवरण कम से कम 10 अक्षर का हो",
    )
    assert problem_words(FieldViolation("category_code", "unknown category 'X' / अज्ञात श्रेणी 'X'")) == (
        "category code: unknown category 'X'",
        "श्रेणी कोड: अज्ञात श्रेणी 'X'",
    )
    assert problem_words(FieldViolation("location.district_code", "is required")) == (
        "district code is required",
        "जिला कोड आवश्यक है",
    )


# The use case, through the real service.


async def test_C2_an_sms_is_stored_before_it_is_parsed(intake: IntakeHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    phone = "9876500101"
    answer = await receive(intake, sms("hello?", f"+91{phone}", "prov-101-a"))
    assert answer.outcome is Outcome.HELP
    [row] = await stored(intake)
    assert (row.id, row.channel, row.sender, row.text, row.provider_message_id) == (
        answer.message_id,
        "sms",
        f"+91{phone}",
        "hello?",
        "prov-101-a",
    )
    assert (row.outcome, row.reply_en, row.reply_hi) == ("help", *help_reply())

    # Routing is down while the filing is read: the message is kept all the same, with no outcome yet ...
    async def down(category_code: str, location: Location) -> Any:
        raise Unavailable("routing is unavailable: UNAVAILABLE")

    monkeypatch.setattr(intake.router, "resolve", down)
    filing = sms(f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}", f"91{phone}", "prov-101-b")
    with pytest.raises(Unavailable):
        await receive(intake, filing)
    kept = [r for r in await stored(intake) if r.provider_message_id == "prov-101-b"]
    assert [(r.sender, r.text, r.outcome) for r in kept] == [(f"+91{phone}", filing.text, None)]
    assert await grievances(intake) == 0
    # ... and the aggregator's redelivery reads it again: filed once, answered as a first answer.
    monkeypatch.undo()
    again = await receive(intake, filing)
    assert (again.outcome, again.duplicate, again.message_id) == (Outcome.FILED, False, kept[0].id)
    assert await grievances(intake) == 1


async def test_B3_an_sms_files_a_grievance_on_the_sms_channel(intake: IntakeHarness) -> None:
    phone = "9876500102"
    answer = await receive(intake, sms(f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}", phone, "prov-102"))
    assert answer.outcome is Outcome.FILED
    assert is_valid_registration_number(answer.registration_number)
    assert (
        answer.reply_en
        == f"Registered: {answer.registration_number}. Reply STATUS {answer.registration_number} to follow it."
    )
    assert answer.registration_number in answer.reply_hi
    assert not answer.duplicate
    case = await intake.service.get(registration_number=answer.registration_number)
    assert (case.channel, case.track, case.complainant_phone) == ("sms", "sahyog", f"+91{phone}")
    assert (case.complainant_name, case.complainant_address) == (SMS_COMPLAINANT, SMS_ADDRESS)
    assert (case.category_code, case.district_code, case.state_code) == ("FOOD-RATION-CARD", "PAT", "BR")
    assert (case.description, case.language, case.routed_position_id) == (ABOUT_RATION, "en", "POS-FOOD-PAT-DSO")
    assert case.idempotency_key == filing_key("sms", "prov-102")
    # The lifecycle start got it, with the phone its notices go to.
    [started] = intake.starter.started
    assert (started.grievance_id, started.channel, started.complainant_phone) == (case.id, "sms", f"+91{phone}")
    [row] = await stored(intake)
    assert (row.outcome, row.registration_number, row.grievance_id) == ("filed", case.registration_number, case.id)


async def test_C2_status_by_sms_only_for_the_complainants_own_number(intake: IntakeHarness) -> None:
    own, other = "9876500103", "9876500104"
    filed = await receive(intake, sms(f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}", own, "prov-103-file"))
    number = filed.registration_number
    case = await intake.service.get(registration_number=number)
    await intake.service.record_transition(
        Transition(
            grievance_id=case.id,
            idempotency_key=f"assigned-{case.id}",
            event_type="assigned",
            summary_en="Assigned",
            summary_hi="सौंपा गया",
            actor={},
            payload={},
            occurred_at=None,
            new_status=Status.ASSIGNED,
            assignment={
                "department_code": "FOOD",
                "office_id": "OFF-FOOD-PAT",
                "office_name_en": "District Supply Office, Patna",
                "office_name_hi": "जिला आपूर्ति कार्यालय, पटना",
                "position_id": "POS-FOOD-PAT-DSO",
                "position_title_en": "District Supply Officer",
                "position_title_hi": "जिला आपूर्ति पदाधिकारी",
                "assigned_at": None,
            },
            current_deadline=datetime(2026, 12, 9, 20, 0, tzinfo=UTC),
        )
    )

    mine = await receive(intake, sms(f"status {number.lower()}", f"+91{own}", "prov-103-status"))
    assert (mine.outcome, mine.registration_number) == (Outcome.STATUS, number)
    assert mine.reply_en == f"{number}: with the District Supply Officer, next step due 2026-12-10"
    assert mine.reply_hi == f"{number}: जिला आपूर्ति पदाधिकारी के पास, अगली कार्रवाई 2026-12-10 तक"

    theirs = await receive(intake, sms(f"STATUS {number}", other, "prov-104-status"))
    assert (theirs.outcome, theirs.registration_number) == (Outcome.NOT_FOUND, "")
    # A number that does not exist is answered in the same words: nothing tells the two apart.
    missing_number = f"{number[:-9]}0009999-"
    missing_number += next(d for d in "0123456789" if is_valid_registration_number(missing_number + d))
    missing = await receive(intake, sms(f"STATUS {missing_number}", other, "prov-104-missing"))
    assert missing.outcome is Outcome.NOT_FOUND
    assert (theirs.reply_en.replace(number, "<n>"), theirs.reply_hi.replace(number, "<n>")) == (
        missing.reply_en.replace(missing_number, "<n>"),
        missing.reply_hi.replace(missing_number, "<n>"),
    )
    assert theirs.reply_en == f"No grievance {number} filed from this number."
    assert "District Supply" not in theirs.reply_en + theirs.reply_hi
    # Not a registration number at all: the same answer again.
    garbled = await receive(intake, sms("STATUS BR-PAT-12", other, "prov-104-garbled"))
    assert (garbled.outcome, garbled.reply_en) == (Outcome.NOT_FOUND, "No grievance BR-PAT-12 filed from this number.")


async def test_C2_a_repeated_inbound_message_files_once(intake: IntakeHarness) -> None:
    phone = "9876500105"
    message = sms(f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}", phone, "prov-105")
    first = await receive(intake, message)
    again = await receive(intake, message)
    assert again.duplicate
    assert (again.message_id, again.outcome, again.registration_number, again.reply_en, again.reply_hi) == (
        first.message_id,
        first.outcome,
        first.registration_number,
        first.reply_en,
        first.reply_hi,
    )
    # Deliveries of one message at the same time: one row, one case, one lifecycle.
    concurrent = sms(f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}", phone, "prov-105-concurrent")
    answers = await asyncio.gather(*(receive(intake, concurrent) for _ in range(5)))
    assert len({a.message_id for a in answers}) == 1
    assert len({a.registration_number for a in answers}) == 1
    assert {a.outcome for a in answers} == {Outcome.FILED}
    assert await grievances(intake) == 2
    assert len(await stored(intake)) == 2
    assert len({s.grievance_id for s in intake.starter.started}) == 2


async def test_B3_a_bad_sms_filing_answers_what_is_wrong(intake: IntakeHarness) -> None:
    phone = "9876500106"
    unknown = await receive(intake, sms(f"GRV UNKNOWN PAT {ABOUT_RATION}", phone, "prov-106-a"))
    assert (unknown.outcome, unknown.registration_number) == (Outcome.INVALID, "")
    assert unknown.reply_en.startswith("Not registered: category code: unknown category")
    assert "GRV <category code> <district code> <description>" in unknown.reply_en
    assert unknown.reply_hi.startswith("शिकायत दर्ज नहीं हुई: श्रेणी कोड")

    short = await receive(intake, sms("grv FOOD-RATION-CARD PAT no ration", phone, "prov-106-b"))
    assert short.outcome is Outcome.INVALID
    assert "description must be at least 10 characters" in short.reply_en
    assert "विवरण कम से कम 10 अक्षर का हो" in short.reply_hi

    incomplete = await receive(intake, sms("GRV FOOD-RATION-CARD", phone, "prov-106-c"))
    assert incomplete.outcome is Outcome.INVALID
    assert "district code is required" in incomplete.reply_en

    assert await grievances(intake) == 0
    assert intake.starter.started == []
    assert [r.outcome for r in await stored(intake)] == ["invalid"] * 3


async def test_C2_anything_else_gets_the_help(intake: IntakeHarness) -> None:
    phone = "9876500107"
    for n, text in enumerate(["hello", "", "मेरा राशन कार्ड नहीं बना", "GRV", "STATUS"]):
        answer = await receive(intake, sms(text, phone, f"prov-107-{n}"))
        assert (answer.outcome, answer.registration_number) == (Outcome.HELP, "")
        assert (answer.reply_en, answer.reply_hi) == help_reply()
        assert "GRV <category code> <district code> <description>" in answer.reply_en
        assert "STATUS <registration number>" in answer.reply_en
        assert "शिकायत <श्रेणी कोड> <जिला कोड> <विवरण>" in answer.reply_hi
        assert "स्थिति <पंजीकरण संख्या>" in answer.reply_hi
    assert await grievances(intake) == 0
    assert len(await stored(intake)) == 5


async def test_B3_hindi_keywords_file_and_ask(intake: IntakeHarness) -> None:
    phone = "9876500108"
    filed = await receive(
        intake, sms("शिकायत  food-ration-card  pat  मेरा राशन कार्ड छह महीने से नहीं बना", phone, "p-108-a")
    )
    assert filed.outcome is Outcome.FILED
    case = await intake.service.get(registration_number=filed.registration_number)
    assert (case.channel, case.language, case.preferred_language) == ("sms", "hi", "hi")
    asked = await receive(intake, sms(f"स्थिति {filed.registration_number}", phone, "p-108-b"))
    assert asked.outcome is Outcome.STATUS
    assert asked.reply_hi == f"{filed.registration_number}: दर्ज, जिला आपूर्ति पदाधिकारी के पास"
    assert asked.reply_en == f"{filed.registration_number}: registered, with the District Supply Officer"


async def test_C2_logs_never_carry_the_phone_or_the_text(intake: IntakeHarness) -> None:
    phone = "9876500109"
    with capture_logs() as logs:
        await receive(intake, sms(f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}", phone, "prov-109-a"))
        await receive(intake, sms("GRV UNKNOWN PAT something went wrong", phone, "prov-109-b"))
    events = [e for e in logs if "message_id" in e]
    assert {e["event"] for e in events} >= {"inbound message stored", "inbound message answered"}
    logged = repr(logs)
    assert phone not in logged
    assert ABOUT_RATION not in logged
    assert "something went wrong" not in logged


async def test_B5_a_whatsapp_message_files_on_the_whatsapp_channel(intake: IntakeHarness) -> None:
    """The same grammar on WhatsApp; the case is on the whatsapp channel, so its notices go back there too (B5)."""
    phone = "9876500131"
    answer = await receive(
        intake, sms(f"शिकायत FOOD-RATION-CARD PAT {ABOUT_RATION}", phone, "wamid.131", channel="whatsapp")
    )
    assert answer.outcome is Outcome.FILED
    case = await intake.service.get(registration_number=answer.registration_number)
    assert (case.channel, case.complainant_phone) == ("whatsapp", f"+91{phone}")
    assert case.idempotency_key == filing_key("whatsapp", "wamid.131")
    [started] = intake.starter.started
    assert started.channel == "whatsapp"
    status = await receive(intake, sms(f"STATUS {answer.registration_number}", phone, "wamid.132", channel="whatsapp"))
    assert status.outcome is Outcome.STATUS


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"sender": "12345"}, "sender"),
        ({"sender": "+14155550100"}, "sender"),
        ({"provider_message_id": " "}, "provider_message_id"),
        ({"provider_message_id": "x" * 129}, "provider_message_id"),
        ({"text": "x" * 10_001}, "text"),
    ],
)
async def test_C2_a_malformed_request_names_its_field_and_stores_nothing(
    intake: IntakeHarness, changes: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await receive(intake, replace(sms("hello", "9876500110", "prov-110"), **changes))
    assert [v.field for v in refused.value.violations] == [field]
    assert await stored(intake) == []


# The gRPC surface, behind intake's real door.


@pytest_asyncio.fixture
async def door(
    intake: IntakeHarness, attachments: AttachmentService, test_pki: Path
) -> AsyncIterator[dict[str, intake_pb2_grpc.IntakeServiceStub]]:
    """Intake with its real access rules (mutual TLS); a stub per calling workload."""

    async def jwks() -> str:
        import json

        return json.dumps(KeySet([KEY]).as_dict(private=False))

    verifier = TokenVerifier(
        KeySetCache(jwks, max_age_seconds=300, min_refresh_seconds=0),
        issuer="nivaran-identity",
        audience="nivaran",
        algorithms=("ES256",),
        leeway_seconds=5,
    )
    security = ServerSecurity(workload_tls(test_pki, "intake"), Door(RULES, verifier))
    server, port, _ = await build_server([binding(intake.service, attachments)], "127.0.0.1", 0, security)
    channels = {
        workload: grpc.aio.secure_channel(f"127.0.0.1:{port}", workload_tls(test_pki, workload).channel_credentials())
        for workload in ("gateway", "sla")
    }
    yield {workload: intake_pb2_grpc.IntakeServiceStub(channel) for workload, channel in channels.items()}
    for channel in channels.values():
        await channel.close()
    await server.stop(None)


@ONE_BACKEND
async def test_C2_the_gateway_passes_an_sms_on_and_no_other_workload_may(
    intake: IntakeHarness, door: dict[str, intake_pb2_grpc.IntakeServiceStub]
) -> None:
    phone = "9876500111"
    request = intake_pb2.ReceiveMessageRequest(
        channel="sms",
        sender=f"91{phone}",
        text=f"GRV FOOD-RATION-CARD PAT {ABOUT_RATION}",
        provider_message_id="prov-111",
    )
    request.received_at.FromDatetime(datetime(2026, 12, 8, 5, 30, tzinfo=UTC))
    answered = await door["gateway"].ReceiveMessage(request, timeout=10)
    assert (answered.outcome, answered.duplicate) == ("filed", False)
    assert is_valid_registration_number(answered.registration_number)
    assert answered.reply.en.startswith(f"Registered: {answered.registration_number}")
    assert answered.reply.hi
    again = await door["gateway"].ReceiveMessage(request, timeout=10)
    assert (again.message_id, again.registration_number, again.reply, again.duplicate) == (
        answered.message_id,
        answered.registration_number,
        answered.reply,
        True,
    )
    [row] = await stored(intake)
    assert as_utc(row.received_at) == datetime(2026, 12, 8, 5, 30, tzinfo=UTC)

    bad_sms = await door["gateway"].ReceiveMessage(
        intake_pb2.ReceiveMessageRequest(
            channel="sms", sender=phone, text="GRV UNKNOWN PAT nothing here", provider_message_id="prov-111-b"
        ),
        timeout=10,
    )
    assert (bad_sms.outcome, bad_sms.registration_number) == ("invalid", "")

    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await door["gateway"].ReceiveMessage(
            intake_pb2.ReceiveMessageRequest(channel="fax", sender=phone, text="x", provider_message_id="p-1")
        )
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(malformed.value)] == ["channel"]

    with pytest.raises(grpc.aio.AioRpcError) as stranger:
        await door["sla"].ReceiveMessage(request, timeout=10)
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED
