"""B5 / C2: the complainant is answered on the channels they gave and the one they filed by."""

from __future__ import annotations

from dataclasses import replace

from nivaran_sla.domain import Case, Localized, NoticeChannel
from nivaran_sla.lifecycle_notices import acknowledgement_notice, citizen_channels, citizen_notice

CASE = Case(
    grievance_id="g-1",
    registration_number="BR-PAT-2026-0000001-1",
    track="sahyog",
    language="hi",
    category_code="FOOD-RATION-CARD",
    department_code="FOOD",
    office_id="office-dso",
    position_id="pos-dso-pat",
    filed_at=None,
    complainant_name="सीता देवी",
    complainant_email="",
    complainant_phone="+919876543210",
    complainant_account_id="",
    category_name=Localized(en="Ration card", hi="राशन कार्ड"),
    office_name=Localized(en="DSO", hi="डीएसओ"),
    position_title=Localized(en="DSO", hi="डीएसओ"),
    channel="web",
)
IN_APP, EMAIL, SMS, WHATSAPP = NoticeChannel.IN_APP, NoticeChannel.EMAIL, NoticeChannel.SMS, NoticeChannel.WHATSAPP


def test_C2_a_phone_brings_sms_and_an_email_brings_email() -> None:
    assert citizen_channels(CASE) == [IN_APP, SMS]
    assert citizen_channels(replace(CASE, complainant_email="sita@example.in")) == [IN_APP, EMAIL, SMS]
    assert citizen_channels(replace(CASE, complainant_phone="")) == [IN_APP]


def test_B5_a_whatsapp_filing_is_answered_on_whatsapp_too() -> None:
    on_whatsapp = replace(CASE, channel="whatsapp")
    assert acknowledgement_notice(on_whatsapp).channels == [IN_APP, SMS, WHATSAPP]
    later = citizen_notice(on_whatsapp, "disposed", Localized(en="x", hi="x"), Localized(en="y", hi="y"), "k")
    assert later.channels == [IN_APP, SMS, WHATSAPP]
    # Without a phone there is no WhatsApp number to answer on.
    assert WHATSAPP not in citizen_channels(replace(on_whatsapp, complainant_phone=""))


def test_C2_a_preferred_channel_replaces_the_others_but_not_the_app_or_the_filing_channel() -> None:
    both = replace(CASE, complainant_email="sita@example.in")
    assert citizen_channels(replace(both, preferred_channel="email")) == [IN_APP, EMAIL]
    assert citizen_channels(replace(both, preferred_channel="whatsapp")) == [IN_APP, WHATSAPP]
    assert citizen_channels(replace(both, preferred_channel="sms", channel="whatsapp")) == [IN_APP, SMS, WHATSAPP]
