"""A decision encoded from its shape is byte for byte the canonical JSON of the decision.

``storage.values.encode_decision`` keeps the bytes around a decision's record id per
shape and joins the record id in; whatever the id (quotes, escapes, non-BMP text, the
very mark it stands in for, text that also occurs elsewhere in the decision), first
time or from the cache, allowed or denied, the bytes are ``canonical_bytes``'s.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.canonical import canonical_bytes
from accord.domain.record import Record
from accord.policy.engine import decide
from accord.serialization.world import load_world
from accord.storage.values import encode_decision

WORLD = load_world()
IDS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20) | st.sampled_from(
    ["accord:record-id:1f0e", "JPN", "KOR", "dprk-missile", 'a"b\\c', "\u2028"]
)


@settings(max_examples=150, deadline=None)
@given(
    record_id=IDS,
    recipient=st.sampled_from(["JPN", "USA"]),
    level=st.sampled_from(["KOR/MIL-II", "KOR/MIL-III"]),
    on=st.sampled_from([dt.date(2013, 1, 1), dt.date(2015, 6, 1), dt.date(2017, 1, 1)]),
)
def test_encoded_from_its_shape_it_is_the_canonical_json(record_id, recipient, level, on):
    record = Record.single(id=record_id, originator="KOR", level=level, topics={"dprk-missile"}, rel_to={recipient})
    decision = decide(record, recipient, on=on, world=WORLD)
    expected = canonical_bytes(decision.to_dict())
    assert encode_decision(decision) == expected
    assert encode_decision(decision) == expected  # from the cache the second time
