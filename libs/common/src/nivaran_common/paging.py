"""Cursor (keyset) pagination for the services' list RPCs (`nivaran.common.v1.PageRequest`).

A page is the rows after the last row of the page before, in the list's fixed order; the token that asks for it
holds that row's sort key (its time and id) and the list's name, base64url-encoded. It is opaque to callers, costs
one indexed range read however deep the page (no OFFSET), and does not skip or repeat rows when new ones are
written meanwhile. A token of another list, or one this code did not make, is INVALID_ARGUMENT on
`page.page_token`; a page size out of range is INVALID_ARGUMENT on `page.page_size`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_

from nivaran_common.errors import InvalidArgument
from nivaran_common.timeutil import as_utc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
TOKEN_FIELD = "page.page_token"
SIZE_FIELD = "page.page_size"

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """What a list call asked for: how many rows, and the sort key of the last row already seen (None: the first
    page)."""

    size: int
    after: tuple[str, ...] | None

    def cut(self, found: Sequence[T], token_of: Callable[[T], str]) -> tuple[list[T], str]:
        """This page's rows out of the `size + 1` a query read after `after`, and the next page's token, made by
        `token_of` from the page's last row ("" when no row is left over: the last page)."""
        shown = list(found[: self.size])
        return shown, token_of(shown[-1]) if len(found) > self.size else ""


def encode_token(listing: str, *key: str) -> str:
    """The token that asks `listing` for the rows after the one whose sort key is `key`."""
    return base64.urlsafe_b64encode(json.dumps([listing, *key]).encode()).decode()


def page_of(listing: str, page_size: int, page_token: str, *, key_length: int = 2) -> Page:
    """The page a request asks `listing` for; a page size of 0 means DEFAULT_PAGE_SIZE."""
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument.field(SIZE_FIELD, f"must be between 1 and {MAX_PAGE_SIZE} (0 for {DEFAULT_PAGE_SIZE})")
    size = page_size or DEFAULT_PAGE_SIZE
    if not page_token:
        return Page(size, None)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(page_token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument.field(TOKEN_FIELD, "is not a page token this service issued") from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != key_length + 1
        or decoded[0] != listing
        or not all(isinstance(part, str) and part for part in decoded[1:])
    ):
        raise InvalidArgument.field(TOKEN_FIELD, f"is not a page token of {listing}")
    return Page(size, tuple(decoded[1:]))


def time_key(listing: str, page: Page) -> tuple[datetime, str] | None:
    """The (time, id) of the last row before `page` in a list ordered by a time and an id; None on the first page."""
    if page.after is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(page.after[0])), page.after[1]
    except ValueError as exc:
        raise InvalidArgument.field(TOKEN_FIELD, f"is not a page token of {listing}") from exc


def time_token(listing: str, at: datetime, row_id: str) -> str:
    """The token of the page after the row at (`at`, `row_id`) of a list ordered by a time and an id."""
    return encode_token(listing, as_utc(at).isoformat(), row_id)


def after_time_key(
    time_column: Any, id_column: Any, after: tuple[datetime, str], *, newest_first: bool
) -> ColumnElement[bool]:
    """The rows after `after` in the order (time, id), descending when `newest_first`: one range on an index of
    (…, time, id)."""
    at, last_id = after
    if newest_first:
        return or_(time_column < at, and_(time_column == at, id_column < last_id))
    return or_(time_column > at, and_(time_column == at, id_column > last_id))
