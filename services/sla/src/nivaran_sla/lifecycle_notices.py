"""The notices the lifecycle sends: pure builders of `NoticeInput` from what the case knows.

Imported by the workflow and replayed with it, so nothing here reads a clock, an id generator or any I/O; every
dedupe key is handed in by the caller.
"""

from __future__ import annotations

from nivaran_sla.domain import Case, Localized, NoticeChannel, NoticeInput, PositionRef, Recipient, RecipientKind


def case_names(case: Case) -> dict[str, str]:
    """The category, office and position names of the case, in both languages, as template parameters."""
    return {
        "category_name_en": case.category_name.en,
        "category_name_hi": case.category_name.hi,
        "office_name_en": case.office_name.en,
        "office_name_hi": case.office_name.hi,
        "position_title_en": case.position_title.en,
        "position_title_hi": case.position_title.hi,
    }


def reassigned_names(case: Case, target: PositionRef) -> dict[str, str]:
    """The case's names with the office and position replaced by those the case moves to."""
    return {
        **case_names(case),
        "office_name_en": target.office_name.en,
        "office_name_hi": target.office_name.hi,
        "position_title_en": target.title.en,
        "position_title_hi": target.title.hi,
    }


def filed_at_param(case: Case) -> dict[str, str]:
    """The filing instant as a template parameter, or nothing when intake did not send one."""
    # Notify needs an ISO 8601 instant or nothing; an empty string would be refused as a bad date.
    return {"filed_at": case.filed_at.isoformat()} if case.filed_at is not None else {}


def _citizen(case: Case) -> Recipient:
    return Recipient(
        kind=RecipientKind.CITIZEN,
        name=case.complainant_name,
        email=case.complainant_email,
        phone=case.complainant_phone,
        account_id=case.complainant_account_id,
        preferred_language=case.language,
    )


# The filing channels whose answer goes back the same way (B5): a WhatsApp filing is answered on WhatsApp.
SAME_CHANNEL = {"whatsapp": NoticeChannel.WHATSAPP}


PREFERRED = {"sms": NoticeChannel.SMS, "whatsapp": NoticeChannel.WHATSAPP, "email": NoticeChannel.EMAIL}


def citizen_channels(case: Case) -> list[NoticeChannel]:
    """B5 / C2: the complainant hears in the app, by email and by SMS when they gave an address and a phone, and on
    the channel they filed by (WhatsApp); notify defers SMS in its quiet hours. A complainant who named a preferred
    channel hears in the app, on it, and on the channel they filed by."""
    preferred = PREFERRED.get(case.preferred_channel)
    if preferred is not None:
        chosen = [NoticeChannel.IN_APP, preferred]
        same = SAME_CHANNEL.get(case.channel)
        if same is not None and same not in chosen and case.complainant_phone:
            chosen.append(same)
        return chosen
    channels = [NoticeChannel.IN_APP]
    if case.complainant_email:
        channels.append(NoticeChannel.EMAIL)
    if case.complainant_phone:
        channels.append(NoticeChannel.SMS)
        same = SAME_CHANNEL.get(case.channel)
        if same is not None:
            channels.append(same)
    return channels


def acknowledgement_notice(case: Case) -> NoticeInput:
    """B5: the complainant's acknowledgement, on the channels of citizen_channels."""
    channels = citizen_channels(case)
    return NoticeInput(
        dedupe_key=f"{case.grievance_id}:acknowledgement",
        template="acknowledgement",
        grievance_id=case.grievance_id,
        registration_number=case.registration_number,
        recipient=_citizen(case),
        channels=channels,
        params={
            "registration_number": case.registration_number,
            "complainant_name": case.complainant_name,
            **filed_at_param(case),
            **case_names(case),
        },
    )


def case_assigned_notice(case: Case) -> NoticeInput:
    """S8: the new case lands in the L1 officer's login."""
    return NoticeInput(
        dedupe_key=f"{case.grievance_id}:case_assigned",
        template="case_assigned",
        grievance_id=case.grievance_id,
        registration_number=case.registration_number,
        recipient=Recipient(kind=RecipientKind.OFFICER, position_id=case.position_id),
        channels=[NoticeChannel.IN_APP],
        params={"registration_number": case.registration_number, **filed_at_param(case), **case_names(case)},
    )


def officer_notice(
    case: Case,
    position_id: str,
    template: str,
    key: str,
    headline: Localized,
    detail: Localized,
    rule: str,
    kind: str = "",
    names: dict[str, str] | None = None,
) -> NoticeInput:
    """An in-app notice to the officer holding `position_id`, deduplicated per key, position and template."""
    params = {"registration_number": case.registration_number, **(names or case_names(case))}
    if template == "sla_notice":
        params.update(
            {
                "headline_en": headline.en,
                "headline_hi": headline.hi,
                "detail_en": detail.en,
                "detail_hi": detail.hi,
                "rule": rule,
                "kind": kind or rule,
            }
        )
    elif case.filed_at is not None:
        params.update(filed_at_param(case))
    return NoticeInput(
        dedupe_key=f"{key}:{position_id}:{template}",
        template=template,
        grievance_id=case.grievance_id,
        registration_number=case.registration_number,
        recipient=Recipient(kind=RecipientKind.OFFICER, position_id=position_id),
        channels=[NoticeChannel.IN_APP],
        params=params,
    )


def citizen_notice(case: Case, kind: str, headline: Localized, detail: Localized, dedupe_key: str) -> NoticeInput:
    """An SLA notice to the complainant, on the channels of citizen_channels."""
    channels = citizen_channels(case)
    return NoticeInput(
        dedupe_key=dedupe_key,
        template="sla_notice",
        grievance_id=case.grievance_id,
        registration_number=case.registration_number,
        recipient=_citizen(case),
        channels=channels,
        params={
            "registration_number": case.registration_number,
            "headline_en": headline.en,
            "headline_hi": headline.hi,
            "detail_en": detail.en,
            "detail_hi": detail.hi,
            "rule": "",
            "kind": kind,
            **case_names(case),
        },
    )
