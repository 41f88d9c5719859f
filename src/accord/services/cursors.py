"""The one codec of list cursors: a list item's key wrapped so that clients treat it as opaque.

A cursor is the URL-safe base64 of ``{"after": key}``, where the key is the id of the
last item of the page before (a record or release id, in insertion order). The HTTP
API hands cursors out and takes them back; the CLI's client of that API
(``services.node_client``) turns its ``--after ID`` into one and a page's cursor back
into the id the local commands print, so both print the same. This module only wraps
and unwraps: which keys a list accepts is the listing service's decision.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

from accord.errors import ValidationError

__all__ = ["BAD_CURSOR", "decode_cursor", "encode_cursor"]

BAD_CURSOR: Final = "that cursor does not belong to this list"
_MAX_KEY: Final = 256  # ids are short


def encode_cursor(key: str | None) -> str | None:
    """The opaque cursor of ``key`` (``None`` stays ``None``: the last page)."""
    if key is None:
        return None
    raw = json.dumps({"after": key}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key inside ``cursor``.

    Raises:
        ValidationError: not a cursor this codec made.
    """
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    key = value.get("after") if isinstance(value, dict) else None
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise ValidationError(
            BAD_CURSOR, hint="pass the next_cursor of the previous page as it was, or start again without"
        )
    return key
