"""Canonical JSON (RFC 8785, JCS): the only byte form Accord hashes or signs.

It is pure and sits at the top of the package so that the domain (agreement
fingerprints) and ``crypto`` (signatures) produce the very same bytes. Display JSON is
made elsewhere and is never hashed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from accord.errors import ValidationError

__all__ = ["canonical_bytes", "sha256_hex"]


def canonical_bytes(value: Any) -> bytes:  # noqa: ANN401 - any JSON value
    """Return the RFC 8785 canonical encoding of a JSON-compatible value."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        msg = f"value cannot be canonicalised as JSON: {e}"
        raise ValidationError(msg) from e


def sha256_hex(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """Return the hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
