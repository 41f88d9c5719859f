"""Round trips of consents and obligations through their JSON form, on generated values."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.canonical import canonical_bytes
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseKind,
    CompromiseReport,
    Disposition,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.errors import ValidationError

# Any printable text (Korean, Japanese, emoji...), but no lone surrogates: those are not
# Unicode text and canonical JSON refuses them.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
NAMED = TEXT.filter(str.strip)
PARTIES = st.sampled_from(["KOR", "JPN", "USA", "NATO", "GBR"])
DATES = st.dates()


@st.composite
def consents(draw: st.DrawFn) -> Consent:
    originator, holder, third = draw(st.lists(PARTIES, min_size=3, max_size=3, unique=True))
    start, end = sorted([draw(DATES), draw(DATES)])
    on_record = draw(st.booleans())
    return Consent(
        id=draw(NAMED),
        originator=originator,
        holder=holder,
        third_party=third,
        valid_from=start,
        valid_until=end,
        record_id=draw(NAMED) if on_record else None,
        topic=None if on_record else draw(NAMED),
    )


@st.composite
def notices(draw: st.DrawFn) -> ReclassificationNotice:
    originator = draw(PARTIES)
    portions = draw(st.lists(NAMED, min_size=1, max_size=4, unique=True))
    return ReclassificationNotice(
        id=draw(NAMED),
        originator=originator,
        record_id=draw(NAMED),
        levels=tuple((p, f"{originator}/{draw(NAMED)}") for p in portions),
        issued_on=draw(DATES),
        reason=draw(TEXT),
    )


@st.composite
def reports(draw: st.DrawFn) -> CompromiseReport:
    holder, originator = draw(st.lists(PARTIES, min_size=2, max_size=2, unique=True))
    detected, reported = sorted([draw(DATES), draw(DATES)])
    return CompromiseReport(
        id=draw(NAMED),
        holder=holder,
        originator=originator,
        record_id=draw(NAMED),
        kind=draw(st.sampled_from(CompromiseKind)),
        detected_on=detected,
        reported_on=reported,
        description=draw(NAMED),
    )


VALUES = st.one_of(
    consents(),
    notices(),
    reports(),
    st.builds(
        Recall,
        id=NAMED,
        originator=PARTIES,
        record_id=NAMED,
        disposition=st.sampled_from(Disposition),
        issued_on=DATES,
        reason=TEXT,
    ),
    st.builds(
        RecallAcknowledgement,
        recall_id=NAMED,
        holder=PARTIES,
        done=st.sampled_from(Disposition),
        on=DATES,
        note=TEXT,
    ),
    st.builds(InvestigationResult, report_id=NAMED, closed_on=DATES, findings=NAMED, measures=NAMED),
)


@given(VALUES)
def test_from_dict_reads_back_what_to_dict_wrote(value):
    data = json.loads(json.dumps(value.to_dict()))
    again = type(value).from_dict(data)
    assert again == value
    # The stores and signatures rely on this: the same value, the same bytes.
    assert canonical_bytes(again.to_dict()) == canonical_bytes(value.to_dict())


@given(VALUES, st.data())
def test_dropping_any_field_is_refused_naming_it(value, data):
    document = value.to_dict()
    name = data.draw(st.sampled_from(sorted(k for k in document if k != "type")))
    del document[name]
    with pytest.raises(ValidationError, match=f"missing field {re.escape(repr(name))}"):
        type(value).from_dict(document)
