"""Possible duplicates at filing (issue 10): the same complainant, the same place, a similar text, within the
window, on SQLite and PostgreSQL (the `intake` fixture runs on both)."""

from __future__ import annotations

from dataclasses import replace

from nivaran_intake.domain import Complainant, Location

from .conftest import IntakeHarness
from .test_service import filing

FIRST = "मेरा राशन कार्ड छह महीने से नहीं बना है, प्रखंड कार्यालय में दो बार आवेदन दिया।"
# The same complaint, told again with words added and in another order.
AGAIN = "प्रखंड कार्यालय में दो बार आवेदन दिया, फिर भी मेरा राशन कार्ड छह महीने से नहीं बना है। कृपया शीघ्र बनवाएँ।"
OTHER = "गाँव की सड़क पर बरसात का पानी जमा रहता है, नाली की सफाई नहीं हुई।"


async def test_a_similar_filing_by_the_same_complainant_in_the_same_place_is_suggested(intake: IntakeHarness) -> None:
    first = (await intake.service.file(filing(description=FIRST))).grievance
    again = (await intake.service.file(filing(description=AGAIN))).grievance
    other = (await intake.service.file(filing(description=OTHER))).grievance

    assert first.possible_duplicates == []
    [suggested] = again.possible_duplicates
    assert suggested["registration_number"] == first.registration_number
    assert 80 <= suggested["similarity"] <= 100
    assert other.possible_duplicates == []
    # Read back as stored, and over gRPC's shape.
    stored = await intake.service.get(grievance_id=again.id)
    assert stored.possible_duplicates == again.possible_duplicates


async def test_another_complainant_block_or_district_is_not_a_duplicate(intake: IntakeHarness) -> None:
    first = (await intake.service.file(filing(description=FIRST))).grievance
    base = filing(description=AGAIN)
    someone_else = replace(base, complainant=replace(base.complainant, phone="9876500099", email=""))
    other_block = replace(base, location=replace(base.location, block_code="PAT-DANAPUR"))
    other_district = replace(base, location=Location(state_code="", district_code="NAL"))
    for variant in (someone_else, other_block, other_district):
        filed = (await intake.service.file(variant)).grievance
        assert filed.possible_duplicates == [], (variant.location, variant.complainant.phone)
    assert first.possible_duplicates == []


async def test_a_filing_without_phone_or_account_gets_no_suggestion(intake: IntakeHarness) -> None:
    base = filing(description=FIRST)
    anonymous = replace(base, complainant=Complainant(name="सीता देवी", address="बेलदारीचक, पटना"))
    await intake.service.file(anonymous)
    again = (await intake.service.file(replace(anonymous, description=AGAIN))).grievance
    assert again.possible_duplicates == []
