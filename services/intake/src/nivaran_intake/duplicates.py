"""Possible duplicates at filing (issue 10, item 7): the same complainant (by account or by phone) filing a similar
text in the same place within a few days is told of the earlier case, and the officer sees the suggestion on the
case. A suggestion only: the filing is registered all the same, and an officer decides (the `mark_duplicate` act).

Similarity is RapidFuzz's token-set ratio (0-100) of the two descriptions, normalised as stored (NFC), which scores
a text that repeats an earlier one with words added or reordered high, in Devanagari as in Latin script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from nivaran_intake.domain import ValidGrievance
from nivaran_intake.store import IntakeStore


@dataclass(frozen=True)
class DuplicatePolicy:
    """How far back a filing looks, how alike two texts must be, and how many suggestions it keeps."""

    window_days: int = 30
    min_similarity: int = 80
    limit: int = 5


async def possible_duplicates(
    store: IntakeStore, valid: ValidGrievance, now: datetime, policy: DuplicatePolicy
) -> list[dict[str, Any]]:
    """The earlier cases this filing may repeat, most alike first: [{registration_number, similarity}]."""
    c = valid.complainant
    if not (c.account_id or c.phone_e164) or policy.window_days <= 0:
        return []
    earlier = await store.recent_by_complainant(
        account_id=c.account_id or "",
        phone=c.phone_e164 or "",
        district_code=valid.location.district_code,
        since=now - timedelta(days=policy.window_days),
    )
    found: list[tuple[int, str]] = []
    for row in earlier:
        if valid.location.block_code and row.block_code and row.block_code != valid.location.block_code:
            continue  # another block of the district is another place
        score = round(fuzz.token_set_ratio(valid.description, row.description))
        if score >= policy.min_similarity:
            found.append((score, row.registration_number))
    found.sort(key=lambda f: (-f[0], f[1]))
    return [{"registration_number": number, "similarity": score} for score, number in found[: policy.limit]]
