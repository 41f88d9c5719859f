"""The tuned engine decides exactly as the plain one it replaced (``_reference_engine``).

Over generated worlds (direct routes, hub arrangements, agreements ending in every
way), the shipped world and onward releases by holders with and without consents:
the same ``to_dict()`` (canonical JSON, byte for byte), the same ``reasons``, and the
same error for malformed input.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.canonical import canonical_bytes
from accord.domain.consent import Consent
from accord.domain.record import Portion, Record
from accord.domain.world import World
from accord.errors import Error
from accord.policy import decide
from tests.property import _reference_engine as reference
from tests.property.test_decide_properties import CODES, SHIPPED, days, records, shipped_requests, worlds

HOLDERS = st.sampled_from((None, *CODES))


def _outcome(engine, record: Record, recipient: str, on: dt.date, world: World, **kw: object) -> tuple[object, ...]:
    try:
        d = engine(record, recipient, on=on, world=world, **kw)
    except Error as e:
        return ("error", type(e).__name__, str(e), e.hint)
    return ("decision", canonical_bytes(d.to_dict()), d.reasons, bool(d), d.checks, d.hops, d.label)


def _same(record: Record, recipient: str, on: dt.date, world: World, **kw: object) -> None:
    assert _outcome(decide, record, recipient, on, world, **kw) == _outcome(
        reference.decide, record, recipient, on, world, **kw
    )


@st.composite
def consents(draw: st.DrawFn, record: Record, holder: str, recipient: str, on: dt.date) -> list[Consent]:
    out = []
    if len({record.originator, holder, recipient}) == 3:
        for n in range(draw(st.integers(0, 2))):
            start = on - dt.timedelta(days=draw(st.integers(-5, 30)))
            by_topic = draw(st.booleans())
            out.append(
                Consent(
                    id=f"c{n}",
                    originator=record.originator,
                    holder=holder,
                    third_party=recipient,
                    valid_from=start,
                    valid_until=start + dt.timedelta(days=draw(st.integers(0, 40))),
                    record_id=None if by_topic else record.id,
                    topic=draw(st.sampled_from(sorted(record.topics))) if by_topic else None,
                )
            )
    return out


@settings(max_examples=400, deadline=None)
@given(w=worlds(), data=st.data(), on=days, holder=HOLDERS)
def test_same_decisions_on_generated_worlds(w, data, on, holder):
    record = data.draw(records())
    recipient = data.draw(st.sampled_from(CODES))  # the originator too: an error either way
    given_consents = data.draw(consents(record, holder, recipient, on)) if holder else []
    _same(record, recipient, on, w, holder=holder, consents=given_consents)
    # The same world again: its tables are filled now, and must not change the answer.
    _same(record, recipient, on, w, holder=holder, consents=given_consents)


@settings(max_examples=300, deadline=None)
@given(request=shipped_requests(), holder=st.sampled_from((None, "KOR", "JPN", "USA")), data=st.data())
def test_same_decisions_on_the_shipped_world(request, holder, data):
    record, recipient, on = request
    given_consents = data.draw(consents(record, holder, recipient, on)) if holder else []
    _same(record, recipient, on, SHIPPED, holder=holder, consents=given_consents)


@settings(max_examples=100, deadline=None)
@given(w=worlds(), data=st.data(), on=days)
def test_same_errors_for_malformed_input(w, data, on):
    record = data.draw(records())
    broken = data.draw(
        st.sampled_from(
            [
                Portion(id="x", level="ZZZ/L1", rel_to=frozenset()),
                Portion(id="x", level=f"{record.originator}/L9", rel_to=frozenset()),
                Portion(id="x", level=f"{record.originator}/L1", rel_to=frozenset({"ZZZ"})),
            ]
        )
    )
    if data.draw(st.booleans()):
        record = Record(id="r", originator="ZZZ", title="t", topics=record.topics, portions=record.portions)
    bad = Record(
        id="r", originator=record.originator, title="t", topics=record.topics, portions=(*record.portions, broken)
    )
    recipient = data.draw(st.sampled_from((*CODES, "ZZZ")))
    _same(bad, recipient, on, w)


SHIPPED_LEVELS = sorted(lv.id for s in SHIPPED.schemes for lv in s.levels)


@settings(max_examples=200, deadline=None)
@given(request=shipped_requests(), level=st.sampled_from(SHIPPED_LEVELS), on=days)
def test_same_answer_for_any_marking_on_any_day_in_the_shipped_world(request, level, on):
    # Levels of other schemes, and levels not in use on the day (JPN/TOKUTEI before
    # 2014-12-10, JPN/BOEI after), are malformed input: the same error from both.
    record, recipient, _ = request
    portion = Portion(id="1", level=level, rel_to=record.portions[0].rel_to)
    marked = Record(id="r", originator=record.originator, title="t", topics=record.topics, portions=(portion,))
    _same(marked, recipient, on + dt.timedelta(days=8000), SHIPPED)
