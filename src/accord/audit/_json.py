"""Checks for values read from JSON, shared by the audit package's ``from_dict`` methods."""

from __future__ import annotations

from collections.abc import Mapping

from accord.errors import ValidationError

__all__ = ["exact_fields", "json_int", "json_str"]


def exact_fields(
    data: object, fields: frozenset[str], what: str, *, kind: str | None = None, version: int | None = None
) -> Mapping[str, object]:
    """Return ``data`` as a mapping if it has exactly ``fields``; unknown fields are refused.

    With ``kind`` and ``version``, its ``type`` and ``v`` fields must be those.
    """
    if not isinstance(data, Mapping) or set(data) != fields:
        found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        msg = f"{what} must have exactly the fields {sorted(fields)}, not {found}"
        raise ValidationError(msg)
    if kind is not None and data["type"] != kind:
        msg = f"{what} must be of type {kind!r}, not {data['type']!r}"
        raise ValidationError(msg)
    if version is not None and data["v"] != version:
        msg = f"{what} must be format version {version}, not {data['v']!r}"
        raise ValidationError(msg)
    return data


def json_int(value: object, what: str) -> int:
    """Return ``value`` if it is a non-negative integer (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{what} must be a non-negative integer, not {value!r}"
        raise ValidationError(msg)
    return value


def json_str(value: object, what: str) -> str:
    """Return ``value`` if it is non-empty text."""
    if not isinstance(value, str) or not value:
        msg = f"{what} must be non-empty text, not {value!r}"
        raise ValidationError(msg)
    return value
