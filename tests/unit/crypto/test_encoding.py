import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.crypto._encoding import b64decode, b64encode


@given(st.binary(max_size=200))
def test_round_trip(data):
    text = b64encode(data)
    assert "=" not in text
    assert b64decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["AB=", "AB==", "A", "AB+/", "AB\n", " AB", "QR", "ÄB", None, b"AB"],
    ids=["pad1", "pad2", "short", "std-alphabet", "newline", "space", "unused-bits", "non-ascii", "none", "bytes"],
)
def test_only_the_canonical_spelling_decodes(text):
    with pytest.raises(ValueError, match="base64url"):
        b64decode(text)
