"""nivaran_common.paging: the page a list call asks for, and the tokens that are refused."""

from __future__ import annotations

import pytest

from nivaran_common.errors import InvalidArgument
from nivaran_common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, encode_token, page_of


def test_a_token_gives_back_the_key_it_was_made_of_for_its_own_list() -> None:
    token = encode_token("breaches", "2026-12-04T10:00:00+00:00", "b-1")

    assert page_of("breaches", 2, token) == Page(2, ("2026-12-04T10:00:00+00:00", "b-1"))
    assert page_of("breaches", 0, "") == Page(DEFAULT_PAGE_SIZE, None)
    assert page_of("breaches", MAX_PAGE_SIZE, "").size == MAX_PAGE_SIZE


@pytest.mark.parametrize(
    ("size", "token", "field"),
    [
        (-1, "", "page.page_size"),
        (MAX_PAGE_SIZE + 1, "", "page.page_size"),
        (10, "%%%", "page.page_token"),
        (10, "bm90IGpzb24=", "page.page_token"),  # base64 of "not json"
        (10, encode_token("notices", "a", "b"), "page.page_token"),
        (10, encode_token("breaches", "a"), "page.page_token"),
        (10, encode_token("breaches", "a", ""), "page.page_token"),
    ],
)
def test_a_bad_size_or_token_is_invalid_argument_naming_the_field(size: int, token: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        page_of("breaches", size, token)

    assert [v.field for v in refused.value.violations] == [field]
