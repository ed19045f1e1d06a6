"""An officer's notices by SMS and email as well as in-app, when configured (S16, C2): the Send hook
(officer_contacts.OfficerChannels) with an in-process fake of the contacts port, on SQLite and PostgreSQL, against a
real SMTP server and a real HTTP receiver; and the identity adapter against an in-process gRPC stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from structlog.testing import capture_logs

from nivaran.identity.v1 import identity_pb2, identity_pb2_grpc
from nivaran_common.db import create_engine
from nivaran_common.errors import NotFound, Unavailable
from nivaran_common.grpc_server import ServiceBinding, build_server
from nivaran_common.migrations import upgrade_async
from nivaran_common.settings import Profile
from nivaran_common.testing import ONE_BACKEND
from nivaran_notify import SERVICE_ROOT
from nivaran_notify.domain import Channel, DeliveryState, Language, Recipient, RecipientKind, SendCommand
from nivaran_notify.main import build_service
from nivaran_notify.officer_contacts import IdentityOfficerContacts, OfficerContact
from nivaran_notify.service import NotifyService
from nivaran_notify.settings import NotifySettings

POST = "POS-FOOD-PAT-DSO"
REGISTRATION = "BR-PAT-2026-000451"
DSO = OfficerContact("acct-dso", "Ramesh Kumar", "+919431000002", "dso.patna@nivaran.example.gov.in", "hi")
SUCCESSOR = OfficerContact("acct-new", "Anita Sinha", "+919431000099", "anita.sinha@nivaran.example.gov.in", "en")
ASSIGNED_PARAMS: dict[str, Any] = {
    "registration_number": REGISTRATION,
    "category_name_en": "Public distribution",
    "category_name_hi": "जन वितरण",
    "position_title_en": "District Supply Officer",
    "position_title_hi": "जिला आपूर्ति पदाधिकारी",
}
SLA_PARAMS: dict[str, Any] = {
    "registration_number": REGISTRATION,
    "headline_en": "Show-cause notice",
    "headline_hi": "कारण पृच्छा",
    "detail_en": "The case was not acted on within 10 days.",
    "detail_hi": "10 दिनों में मामले पर कार्रवाई नहीं हुई।",
}


@dataclass
class FakeContacts:
    """The contacts port, in process: the holder of each post now, and whether identity answers at all."""

    holders: dict[str, OfficerContact] = field(default_factory=lambda: {POST: DSO})
    down: bool = False
    asked: list[str] = field(default_factory=list)

    async def holder_of(self, position_id: str) -> OfficerContact | None:
        self.asked.append(position_id)
        if self.down:
            raise Unavailable("identity is down")
        return self.holders.get(position_id)


Factory = Callable[..., Awaitable[NotifyService]]


@pytest_asyncio.fixture
async def make_officer_service(database_url: str) -> AsyncIterator[Factory]:
    """main.build_service with the fake contacts; settings as keywords (no quiet hours, no PDF documents)."""
    await upgrade_async(SERVICE_ROOT, database_url)
    closers: list[Callable[[], Awaitable[None]]] = []

    async def factory(contacts: FakeContacts, **overrides: Any) -> NotifyService:
        overrides = {"sms_quiet_hours": "", "documents_enabled": False, "smtp_timeout_seconds": 5} | overrides
        settings = NotifySettings(profile=Profile.TEST, database_url=database_url, **overrides)
        engine = create_engine(database_url)
        http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds)
        closers.extend((engine.dispose, http.aclose))
        return build_service(settings, engine, http, officer_contacts=contacts)

    try:
        yield factory
    finally:
        for close in closers:
            await close()


def to_officer(key: str, template: str = "case_assigned", **changes: Any) -> SendCommand:
    """A notice to the post, as the sla lifecycle sends it: in-app only, no name, phone or email."""
    values: dict[str, Any] = {
        "dedupe_key": key,
        "template": template,
        "recipient": Recipient("", POST, "", "", "", Language.HI, RecipientKind.OFFICER),
        "channels": (Channel.IN_APP,),
        "params": ASSIGNED_PARAMS if template == "case_assigned" else SLA_PARAMS,
        "grievance_id": "griev-451",
        "registration_number": REGISTRATION,
    }
    return SendCommand(**(values | changes))


def channels(service_settings: dict[str, Any], smtp: Any, receiver: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "sms_provider_url": receiver.url("/sms"),
        **service_settings,
    }


def states(notice: Any) -> dict[Channel, tuple[DeliveryState, str]]:
    return {d.channel: (d.state, d.address) for d in notice.deliveries}


async def test_S16_C2_an_officers_notice_also_reaches_the_holders_email_and_phone(
    make_officer_service: Factory, smtp_server: Any, http_receiver: Any
) -> None:
    contacts = FakeContacts()
    service = await make_officer_service(
        contacts, **channels({"officer_channels": "email,sms"}, smtp_server, http_receiver)
    )
    with capture_logs() as logs:
        result = await service.send(to_officer("griev-451:case_assigned"))

    assert contacts.asked == [POST]
    found = states(result.notice)
    # In-app as before (it is what counts as served, S16), plus the holder's email and SMS, masked in every view.
    assert found[Channel.IN_APP][0] is DeliveryState.DELIVERED
    assert found[Channel.EMAIL] == (DeliveryState.SENT, "d***@nivaran.example.gov.in")
    assert found[Channel.SMS][0] is DeliveryState.SENT
    assert "9431000002" not in found[Channel.SMS][1]
    assert result.notice.recipient_position_id == POST
    assert result.notice.recipient_account_id == ""  # the post's notice, whoever reads it in-app

    message = await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
    assert "dso.patna@nivaran.example.gov.in" in message["To"]
    [sms] = http_receiver.bodies("/sms")
    assert sms["to"] == "+919431000002"
    assert REGISTRATION in sms["text"]
    assert "आपको सौंपा गया" in sms["text"]
    widened = [e for e in logs if e["event"] == "officer notice widened to the post holder's channels"]
    assert widened[0]["added"] == ["email", "sms"]
    assert "dso.patna@" not in str(logs)
    assert "9431000002" not in str(logs)


async def test_S16_without_configuration_an_officers_notice_stays_in_app_only(
    make_officer_service: Factory, smtp_server: Any
) -> None:
    contacts = FakeContacts()
    service = await make_officer_service(contacts, smtp_port=smtp_server.port)
    result = await service.send(to_officer("griev-451:case_assigned"))
    assert set(states(result.notice)) == {Channel.IN_APP}
    assert contacts.asked == []  # identity is not even asked


async def test_S16_the_holder_of_the_moment_gets_them_and_a_relinquished_one_no_more(
    make_officer_service: Factory, smtp_server: Any
) -> None:
    """No cache: each send asks who holds the post now. A vacant post keeps the in-app notice alone, logged."""
    contacts = FakeContacts()
    service = await make_officer_service(contacts, smtp_port=smtp_server.port, officer_channels=["email"])

    first = await service.send(to_officer("k1", "sla_notice"))
    assert states(first.notice)[Channel.EMAIL][1] == "d***@nivaran.example.gov.in"

    del contacts.holders[POST]  # the DSO relinquished charge
    with capture_logs() as logs:
        vacant = await service.send(to_officer("k2", "sla_notice"))
    assert set(states(vacant.notice)) == {Channel.IN_APP}
    assert [e["position_id"] for e in logs if e["event"] == "officer notice in-app only: the post is vacant"] == [POST]

    contacts.holders[POST] = SUCCESSOR  # the successor took charge
    taken = await service.send(to_officer("k3", "sla_notice"))
    assert states(taken.notice)[Channel.EMAIL][1] == "a***@nivaran.example.gov.in"
    assert contacts.asked == [POST, POST, POST]
    await smtp_server.mail.wait_for(lambda m: "anita.sinha@" in m["To"])
    assert ["dso.patna@" in m["To"] for m in smtp_server.mail.messages] == [True, False]


async def test_C2_identity_unavailable_fails_the_send_whole_and_its_retry_sends_once(
    make_officer_service: Factory, smtp_server: Any
) -> None:
    contacts = FakeContacts(down=True)
    service = await make_officer_service(contacts, smtp_port=smtp_server.port, officer_channels="email")

    with pytest.raises(Unavailable):
        await service.send(to_officer("griev-451:case_assigned"))
    with pytest.raises(NotFound):
        await service.get_delivery_status("griev-451:case_assigned")  # nothing recorded, not even the in-app part

    contacts.down = False
    sent = await service.send(to_officer("griev-451:case_assigned"))  # the activity's retry
    assert set(states(sent.notice)) == {Channel.IN_APP, Channel.EMAIL}
    again = await service.send(to_officer("griev-451:case_assigned"))  # a retry after success
    assert again.duplicate
    assert again.notice.id == sent.notice.id
    assert contacts.asked == [POST, POST]  # a recorded key is answered without asking identity
    await smtp_server.mail.wait_for(lambda m: m["X-Nivaran-Registration"] == REGISTRATION)
    assert len(smtp_server.mail.messages) == 1


async def test_S16_per_template_channels_and_what_is_never_touched(
    make_officer_service: Factory, smtp_server: Any, http_receiver: Any
) -> None:
    contacts = FakeContacts(holders={POST: OfficerContact("acct-dso", "Ramesh Kumar", "", "not an address", "hi")})
    service = await make_officer_service(
        contacts,
        **channels(
            {"officer_channels": "sms", "officer_channels_by_template": {"case_assigned": ["email", "sms"]}},
            smtp_server,
            http_receiver,
        ),
    )
    # The holder gave no phone and an address notify cannot use: both are skipped, the notice still goes in-app.
    assigned = await service.send(to_officer("a1"))
    assert set(states(assigned.notice)) == {Channel.IN_APP}

    contacts.holders[POST] = DSO
    # An address the caller gave is the caller's: the holder's is not put in its place.
    addressed = to_officer(
        "a2",
        recipient=Recipient("", POST, "", "office@nivaran.example.gov.in", "", Language.HI, None),
        channels=(Channel.IN_APP, Channel.EMAIL),
    )
    mixed = await service.send(addressed)
    assert states(mixed.notice)[Channel.EMAIL][1] == "o***@nivaran.example.gov.in"
    await smtp_server.mail.wait_for(lambda m: "office@nivaran.example.gov.in" in m["To"])
    assert states(mixed.notice)[Channel.SMS][0] is DeliveryState.SENT  # the holder's phone filled the SMS in

    # A citizen's notice, or one to an account and not a post, is never widened.
    citizen = to_officer(
        "c1",
        "sla_notice",
        recipient=Recipient("acct-sita", "", "Sita", "", "", Language.HI, RecipientKind.CITIZEN),
    )
    assert set(states((await service.send(citizen)).notice)) == {Channel.IN_APP}
    assert contacts.asked == [POST, POST]


def test_C2_officer_channel_settings_are_read_and_checked() -> None:
    def settings(**values: Any) -> NotifySettings:
        return NotifySettings(profile=Profile.TEST, **values)

    assert settings().officer_channels == ()
    assert settings(officer_channels=" Email , sms,email").officer_channels == ("email", "sms")
    assert settings(officer_channels='["sms"]').officer_channels == ("sms",)
    by_template = settings(officer_channels_by_template={"sla_notice": ["sms", "sms"], "case_assigned": []})
    assert by_template.officer_channels_by_template == {"sla_notice": ("sms",), "case_assigned": ()}
    with pytest.raises(ValidationError, match="sms"):
        settings(officer_channels="whatsapp")
    with pytest.raises(ValidationError, match="names no template"):
        settings(officer_channels_by_template={"show_cause": ["sms"]})


@ONE_BACKEND
async def test_C2_officer_channels_on_need_identitys_contacts(database_url: str) -> None:
    settings = NotifySettings(
        profile=Profile.TEST, database_url=database_url, officer_channels="email", documents_enabled=False
    )
    engine = create_engine(database_url)
    try:
        async with httpx.AsyncClient() as http:
            with pytest.raises(ValueError, match="needs identity"):
                build_service(settings, engine, http)
    finally:
        await engine.dispose()


class IdentityStandIn(identity_pb2_grpc.IdentityServiceServicer):
    """GetPostContact only: DSO's post is held, any other is vacant, and `code` makes every call fail."""

    code: grpc.StatusCode | None = None

    async def GetPostContact(
        self, request: identity_pb2.GetPostContactRequest, context: Any
    ) -> identity_pb2.PostContact:
        if self.code is not None:
            await context.abort(self.code, "not now")
        if request.position_id != POST:
            await context.abort(grpc.StatusCode.NOT_FOUND, "nobody holds this post now")
        return identity_pb2.PostContact(
            position_id=POST, account_id="acct-dso", name="Ramesh Kumar", phone="+919431000002", email="d@x.in"
        )


async def test_C2_the_identity_adapter_reads_holder_vacancy_and_failure() -> None:
    stand_in = IdentityStandIn()
    server, port, _ = await build_server(
        [ServiceBinding(identity_pb2_grpc.add_IdentityServiceServicer_to_server, stand_in, "identity")],
        "127.0.0.1",
        0,
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        contacts = IdentityOfficerContacts(identity_pb2_grpc.IdentityServiceStub(channel), timeout_seconds=5)
        holder = await contacts.holder_of(POST)
        assert holder is not None
        assert (holder.account_id, holder.phone, holder.email) == (
            "acct-dso",
            "+919431000002",
            "d@x.in",
        )
        assert await contacts.holder_of("POS-VACANT") is None
        for code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.PERMISSION_DENIED):
            stand_in.code = code
            with pytest.raises(Unavailable):
                await contacts.holder_of(POST)
    finally:
        await channel.close()
        await server.stop(None)
