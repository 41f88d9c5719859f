"""Strict base64url for binary fields in Accord's JSON (keys, signatures, envelopes).

Encoding is unpadded base64url (RFC 4648 section 5). Decoding is strict and canonical:
only the url-safe alphabet, no padding, no whitespace, and the input must be exactly
what encoding the decoded bytes gives back. A lenient decoder would accept several
spellings of the same bytes (unused trailing bits, stray characters), so a modified
byte in a signed or sealed field could go unnoticed.

This module knows nothing of keys or messages; callers turn ``ValueError`` into the
error their context calls for.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["b64decode", "b64encode", "b64json"]


def b64encode(data: bytes) -> str:
    """Return unpadded base64url text for ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(data: bytes) -> bytes:
    """The JSON string (quotes included) of :func:`b64encode` of ``data``, as UTF-8 bytes.

    The base64url alphabet needs no escaping, so this is also its RFC 8785 form.
    """
    return b'"' + base64.urlsafe_b64encode(data).rstrip(b"=") + b'"'


def b64decode(text: object) -> bytes:
    """Decode canonical unpadded base64url text; raise ``ValueError`` otherwise."""
    if not isinstance(text, str) or not text.isascii():
        msg = "expected base64url text"
        raise ValueError(msg)
    padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
    try:
        data = binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as e:
        msg = "malformed base64url text"
        raise ValueError(msg) from e
    if b64encode(data) != text:
        msg = "non-canonical base64url text"
        raise ValueError(msg)
    return data
