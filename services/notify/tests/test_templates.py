"""The template registry: both languages always, lead language first, IST dates, escaping, named bad params."""

from typing import Any

import pytest

from nivaran_common.errors import InvalidArgument
from nivaran_notify.domain import Channel, Language
from nivaran_notify.templates import TemplateRegistry

ACK_PARAMS: dict[str, Any] = {
    "registration_number": "BR-PAT-2026-000123",
    "complainant_name": "सीता देवी",
    "filed_at": "2026-11-23T04:30:00Z",
    "category_name_en": "Land records",
    "category_name_hi": "भू-अभिलेख",
    "office_name_en": "Circle Office, Danapur",
    "office_name_hi": "अंचल कार्यालय, दानापुर",
    "position_title_en": "Circle Officer",
    "position_title_hi": "अंचल अधिकारी",
}

CASE_PARAMS: dict[str, Any] = {
    "registration_number": "BR-PAT-2026-000123",
    "category_name_en": "Land records",
    "category_name_hi": "भू-अभिलेख",
    "position_title_en": "Circle Officer",
    "position_title_hi": "अंचल अधिकारी",
}


def violation_fields(error: InvalidArgument) -> set[str]:
    return {v.field for v in error.violations}


def test_B5_acknowledgement_carries_form2_particulars_in_hindi_and_english() -> None:
    content = TemplateRegistry().render("acknowledgement", ACK_PARAMS, Language.HI)

    assert "आपकी शिकायत दर्ज कर ली गई है।" in content.body.hi
    assert "पंजीयन संख्या: BR-PAT-2026-000123" in content.body.hi
    assert "Your grievance has been registered." in content.body.en
    assert "Registration number: BR-PAT-2026-000123" in content.body.en
    # 04:30 UTC is 10:00 in India.
    assert "23-11-2026 10:00 IST" in content.body.hi
    assert "23-11-2026 10:00 IST" in content.body.en
    assert "अंचल अधिकारी, अंचल कार्यालय, दानापुर" in content.body.hi
    assert "Circle Officer, Circle Office, Danapur" in content.body.en
    assert "भू-अभिलेख" in content.body.hi
    assert "Land records" in content.body.en
    assert "प्रपत्र-2" in content.subject.hi
    assert "Form-2" in content.subject.en


def test_preferred_language_decides_which_comes_first_and_both_are_always_there() -> None:
    registry = TemplateRegistry()
    hindi_first = registry.render("acknowledgement", ACK_PARAMS, Language.HI)
    english_first = registry.render("acknowledgement", ACK_PARAMS, Language.EN)

    for content in (hindi_first, english_first):
        body = content.bilingual_body()
        assert "आपकी शिकायत" in body
        assert "Your grievance" in body
        assert "आपकी शिकायत" in content.short_text
        assert "Your grievance" in content.short_text
    assert hindi_first.bilingual_body().index("आपकी शिकायत") < hindi_first.bilingual_body().index("Your grievance")
    assert english_first.bilingual_body().index("Your grievance") < english_first.bilingual_body().index("आपकी शिकायत")
    assert hindi_first.bilingual_subject().startswith("पावती")
    assert english_first.bilingual_subject().startswith("Acknowledgement")
    assert english_first.short_text.startswith("Nivaran:")


def test_track_url_is_shown_when_given() -> None:
    content = TemplateRegistry().render(
        "acknowledgement", {**ACK_PARAMS, "track_url": "https://nivaran.example/track/BR-PAT-2026-000123"}, Language.HI
    )

    assert "https://nivaran.example/track/BR-PAT-2026-000123" in content.body.hi
    assert "https://nivaran.example/track/BR-PAT-2026-000123" in content.body.en


def test_html_escapes_parameters_but_plain_text_keeps_them() -> None:
    content = TemplateRegistry().render(
        "acknowledgement", {**ACK_PARAMS, "complainant_name": "<script>alert(1)</script>"}, Language.EN
    )

    assert "<script>" not in content.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content.html
    assert "<script>alert(1)</script>" in content.body.en
    assert 'lang="hi"' in content.html
    assert 'lang="en"' in content.html


def test_missing_params_are_each_named() -> None:
    params = {k: v for k, v in ACK_PARAMS.items() if k not in {"complainant_name", "office_name_hi"}}

    with pytest.raises(InvalidArgument) as caught:
        TemplateRegistry().render("acknowledgement", params, Language.HI)

    assert violation_fields(caught.value) == {"params.complainant_name", "params.office_name_hi"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("filed_at", "23/11/2026"),
        ("filed_at", "2026-11-23T10:00:00"),
        ("track_url", "javascript:alert(1)"),
        ("complainant_name", ["not", "text"]),
        ("complainant_name", "x" * 2001),
    ],
)
def test_bad_param_values_are_named(name: str, value: Any) -> None:
    with pytest.raises(InvalidArgument) as caught:
        TemplateRegistry().render("acknowledgement", {**ACK_PARAMS, name: value}, Language.HI)

    assert violation_fields(caught.value) == {f"params.{name}"}


def test_numbers_from_a_struct_read_as_text() -> None:
    content = TemplateRegistry().render("acknowledgement", {**ACK_PARAMS, "registration_number": 123456.0}, Language.EN)

    assert "Registration number: 123456" in content.body.en


def test_unknown_template_is_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        TemplateRegistry().render("no_such_template", ACK_PARAMS, Language.HI)

    assert violation_fields(caught.value) == {"template"}


def test_case_assigned_tells_the_officer_what_to_do_and_the_deadline() -> None:
    content = TemplateRegistry().render(
        "case_assigned",
        {
            **CASE_PARAMS,
            "deadline_text_en": "act on it or forward it within 3 days",
            "deadline_text_hi": "3 दिनों के भीतर कार्रवाई करें या अग्रसारित करें",
            "due_at": "2026-11-26T12:30:00+00:00",
        },
        Language.HI,
    )

    assert "अंचल अधिकारी को एक नया मामला सौंपा गया है।" in content.body.hi
    assert "समय-सीमा: 3 दिनों के भीतर कार्रवाई करें या अग्रसारित करें" in content.body.hi
    assert "Deadline: act on it or forward it within 3 days" in content.body.en
    assert "26-11-2026 18:00 IST" in content.body.en
    assert "क्या करें:" in content.body.hi
    assert "What to do:" in content.body.en
    assert "BR-PAT-2026-000123" in content.subject.hi
    assert "BR-PAT-2026-000123" in content.subject.en


def test_case_assigned_without_deadline_has_no_deadline_line() -> None:
    content = TemplateRegistry().render("case_assigned", CASE_PARAMS, Language.EN)

    assert "Deadline" not in content.body.en
    assert "समय-सीमा" not in content.body.hi


def test_deadline_text_in_one_language_only_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        TemplateRegistry().render("case_assigned", {**CASE_PARAMS, "deadline_text_en": "3 days"}, Language.EN)

    assert violation_fields(caught.value) == {"params.deadline_text_hi"}


def test_every_template_is_listed_with_its_channels_and_a_dlt_id() -> None:
    templates = {t.code: t for t in TemplateRegistry({"case_assigned": "1207000000000000099"}).templates()}

    assert {"acknowledgement", "case_assigned", "message_reply"} <= set(templates)
    for code, template in templates.items():
        # An answer to an inbound message goes back on the channel it came by (C2, B5); the rest on every channel.
        expected = {Channel.SMS, Channel.WHATSAPP, Channel.EMAIL} if code == "message_reply" else set(Channel)
        assert set(template.channels) == expected
        assert template.dlt_template_id.isdigit()
        assert template.title.hi
        assert template.title.en
    assert templates["case_assigned"].dlt_template_id == "1207000000000000099"


def test_C1_a_message_reply_goes_in_the_language_the_person_chose_and_in_both_otherwise() -> None:
    registry = TemplateRegistry()
    reply = {"reply_en": "Which district is it in?", "reply_hi": "यह किस जिले में है?"}
    both = registry.render("message_reply", reply, Language.HI)
    assert both.short_text == "निवारण: यह किस जिले में है?\nNivaran: Which district is it in?"
    hindi = registry.render("message_reply", {**reply, "reply_language": "hi"}, Language.HI)
    assert hindi.short_text == "निवारण: यह किस जिले में है?"
    english = registry.render("message_reply", {**reply, "reply_language": "en"}, Language.EN)
    assert english.short_text == "Nivaran: Which district is it in?"
