"""Cursor pagination: opaque cursors, a bounded ``limit``, and the ``{items, next_cursor}`` page.

A cursor (``services.cursors``, the one codec) wraps the key of the last item of the
page before (a record or release id, in insertion order), so a page stays the same
when items are added after it. Clients must treat it as opaque; one that does not
decode is a 400-family problem, never a server error. The services decide what a
key means and refuse keys that are not theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Final, TypeVar

from fastapi import Query

from accord.errors import ValidationError
from accord.services.cursors import BAD_CURSOR, decode_cursor, encode_cursor

__all__ = ["MAX_LIMIT", "Cursor", "Limit", "decode_cursor", "encode_cursor", "page_of"]

T = TypeVar("T")

MAX_LIMIT: Final = 200
"""The most items a page holds."""

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="The `next_cursor` of the previous page; omit for the first.")
]


def page_of(
    rows: Sequence[T], key: Callable[[T], str], *, cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """A page of ``rows`` (sorted by ``key``) after the cursor's key, and the next cursor.

    For small lists held in memory (the world's parties and agreements).
    """
    after = decode_cursor(cursor)
    start = 0 if after is None else next((i + 1 for i, r in enumerate(rows) if key(r) == after), -1)
    if start < 0:
        raise ValidationError(BAD_CURSOR, hint="start again without a cursor")
    chunk = list(rows[start : start + limit])
    more = start + limit < len(rows)
    return chunk, encode_cursor(key(chunk[-1])) if more and chunk else None
