"""Canonical JSON (RFC 8785, JCS): the only byte form Accord hashes or signs.

It is pure and sits at the top of the package so that the domain (agreement
fingerprints) and ``crypto`` (signatures) produce the very same bytes. Display JSON is
made elsewhere and is never hashed.

Most values Accord canonicalises hold only text, booleans, null, integers and nested
objects and arrays; for those the standard library's sorted, compact JSON is byte for
byte RFC 8785 and many times faster than a pure-Python canonicaliser, so they take that
path. Anything else (floats, integers beyond 2**53, keys whose UTF-16 order could differ
from code-point order, other types) goes through ``rfc8785``. A property test holds the
two paths to the same bytes. :func:`canonical_object` joins members already in
canonical form, so a large value (an envelope, a signed content) is encoded once however
many signed or stored objects embed it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import rfc8785

from accord.errors import ValidationError

__all__ = ["canonical_bytes", "canonical_object", "sha256_hex"]


_SAFE_INT: Final = 2**53 - 1  # RFC 8785 numbers are IEEE doubles
# Python sorts keys by code point, RFC 8785 by UTF-16 code unit: the two orders differ
# only between a character at or above U+E000 and one beyond U+FFFF.
_ORDER_SAFE_BELOW: Final = "\ue000"
_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"), check_circular=False
)


def _plain(value: Any) -> bool:  # noqa: ANN401, C901 - any JSON value; one flat loop is the fast form
    """Whether the standard library's sorted compact JSON of ``value`` is its RFC 8785 form."""
    # A hot path (every signature, digest and audit entry): exact type checks first,
    # and the keys of a dict checked together (one join, one ASCII test).
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is dict:
            keys = "".join(item)  # raises TypeError for a non-text key
            if not (keys.isascii() or max(keys) < _ORDER_SAFE_BELOW):
                return False
            for child in item.values():
                if type(child) is not str:
                    push(child)
        elif kind is list:
            extend(item)
        elif kind is int:
            if not -_SAFE_INT <= item <= _SAFE_INT:
                return False
        elif not isinstance(item, str):  # a str subclass (StrEnum) encodes as its text
            return False
    return True


def canonical_bytes(value: Any) -> bytes:  # noqa: ANN401 - any JSON value
    """Return the RFC 8785 canonical encoding of a JSON-compatible value."""
    if type(value) is str:  # the commonest value: text is always on the fast path
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 names the problem below
    try:
        plain = _plain(value)
    except TypeError:
        plain = False  # a key that is not text: rfc8785 names the problem below
    if plain:
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 names the problem below
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        msg = f"value cannot be canonicalised as JSON: {e}"
        raise ValidationError(msg) from e


def canonical_object(members: Mapping[str, bytes]) -> bytes:
    """The RFC 8785 encoding of an object whose member values are given already encoded.

    Each value must be the ``canonical_bytes`` of the member's value (the caller's
    promise: nothing re-reads them); the keys are encoded and ordered by UTF-16 code
    units here. The result is byte for byte ``canonical_bytes`` of the whole object.
    """
    keys = sorted(members) if "".join(members).isascii() else sorted(members, key=_utf16)
    return b"{" + b",".join(_key_json(k) + members[k] for k in keys) + b"}"


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


@lru_cache(maxsize=256)  # member names come from a small fixed set
def _key_json(key: str) -> bytes:
    return canonical_bytes(key) + b":"


def sha256_hex(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """Return the hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
