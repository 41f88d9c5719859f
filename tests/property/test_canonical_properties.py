"""The fast path of ``canonical_bytes`` gives exactly the bytes of the ``rfc8785`` library."""

from __future__ import annotations

from enum import StrEnum

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from accord.canonical import canonical_bytes, canonical_object
from accord.errors import ValidationError

# Any text, including escapes, astral characters and characters from U+E000 up.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | TEXT
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=30,
)


@given(JSON)
def test_same_bytes_as_rfc8785(value):
    assert canonical_bytes(value) == bytes(rfc8785.dumps(value))


@given(st.dictionaries(st.sampled_from(["a", "\ue000", "\uffff", "\U0001f600", "\U00010000", "z"]), st.booleans()))
def test_keys_ordered_by_utf16_code_units(value):
    assert canonical_bytes(value) == bytes(rfc8785.dumps(value))


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(min_value=2**53, max_value=2**60))
def test_numbers_outside_the_fast_path(number):
    try:
        expected = bytes(rfc8785.dumps({"n": number}))
    except rfc8785.CanonicalizationError:
        return  # both refuse; the refusal is tested in the unit tests
    assert canonical_bytes({"n": number}) == expected


def test_control_characters_are_escaped_the_rfc8785_way():
    value = {"s": "".join(chr(c) for c in range(0x20)) + '"\\\x7f\u2028'}
    assert canonical_bytes(value) == bytes(rfc8785.dumps(value))


class Colour(StrEnum):
    RED = "red"


def test_text_subclasses_and_non_text_keys():
    assert canonical_bytes({"c": Colour.RED, Colour.RED: 1}) == bytes(rfc8785.dumps({"c": "red", "red": 1}))
    with pytest.raises(ValidationError, match="cannot be canonicalised"):
        canonical_bytes({1: "x"})


@given(st.dictionaries(TEXT, JSON, max_size=6))
def test_an_object_joined_from_encoded_members_is_its_canonical_form(value):
    members = {k: canonical_bytes(v) for k, v in value.items()}
    assert canonical_object(members) == canonical_bytes(value) == bytes(rfc8785.dumps(value))
