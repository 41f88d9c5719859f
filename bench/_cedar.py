"""The release rules of a world written as Cedar policies, for the decision benchmark.

One ``permit`` per (information-security agreement, direction) for direct routes and
one per (hub arrangement, ordered pair of members, leg agreement pair) for routes
through a hub. Each policy states, as Cedar conditions:

- the sender and recipient (principal, ``context.recipient``), and that the sender is
  the originator (rule 5: this bench asks no onward-release questions);
- the days the agreement (and, for a hub route, the arrangement and both legs) carries
  information, from ``Agreement.in_force_intervals()`` as integer day numbers (rules
  1 and 8);
- the scope: ``[topics].containsAll(resource.topics)`` and the purposes (rule 4);
- the record's markings: some portion, releasable to the recipient (rule 3), at a level
  with an equivalent under the agreement (rule 2; for a hub route, covered by the
  arrangement and translated leg by leg), each level guarded by the days it exists.

A record is a Cedar entity whose ``marks`` hold one ``"<level>@<party>"`` string per
portion and party it is releasable to: its portion markings, flattened. Cedar has no
"some element satisfies" over a set of records, so this is how a tear line is written.
Only the allow/deny answer is compared; Cedar gives no route, label or explanation.

One difference is left out on purpose: for each leg the engine takes the first
carrying agreement (by id) that translates some portion, where these policies accept
any pair of legs. The two agree whenever at most one agreement between two parties
carries on a given day, which holds in the shipped world and in the generated one
(a successor enters into force the day its predecessor ends).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from accord.domain.agreement import Agreement, AgreementKind
from accord.domain.classification import Level
from accord.domain.record import Record
from accord.domain.world import World

__all__ = ["cedar_entities", "cedar_policies", "cedar_request"]

_Span = tuple[int, int | None]  # [start, end) as day numbers, end None: open


def _day(on: dt.date) -> int:
    return on.toordinal()


def _spans(agreement: Agreement) -> list[_Span]:
    return [(_day(s), _day(e) if e else None) for s, e in agreement.in_force_intervals()]


def _intersect(a: list[_Span], b: list[_Span]) -> list[_Span]:
    out: list[_Span] = []
    for s1, e1 in a:
        for s2, e2 in b:
            start = max(s1, s2)
            ends = [e for e in (e1, e2) if e is not None]
            end = min(ends) if ends else None
            if end is None or start < end:
                out.append((start, end))
    return out


def _spans_expr(spans: list[_Span]) -> str:
    terms = [f"(context.day >= {s} && context.day < {e})" if e is not None else f"context.day >= {s}" for s, e in spans]
    return terms[0] if len(terms) == 1 else "(" + " || ".join(terms) + ")"


def _valid(level: Level) -> str:
    """The days a level exists, or "" when it always does."""
    terms = []
    if level.valid_from is not None:
        terms.append(f"context.day >= {_day(level.valid_from)}")
    if level.valid_until is not None:
        terms.append(f"context.day <= {_day(level.valid_until)}")
    return " && ".join(terms)


def _invalid(level: Level) -> str:
    valid = _valid(level)
    return f"!({valid})" if valid else "false"


def _first_valid(world: World, candidates: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(candidate, condition that it is the first of ``candidates`` existing that day)."""
    earlier: list[str] = []
    for level_id in candidates:
        level = world.level(level_id)
        cond = " && ".join(t for t in (*earlier, _valid(level)) if t)
        yield level_id, cond
        if not _valid(level):
            return  # always exists: later candidates are never chosen
        earlier.append(_invalid(level))


def _translations(world: World, agreement: Agreement, level_id: str, receiver: str) -> Iterator[tuple[str, str]]:
    row = agreement.equivalence_row(level_id)
    if row is not None:
        yield from _first_valid(world, row.for_party(receiver))


def _marks_expr(options: list[tuple[str, str]]) -> str | None:
    """Some portion is marked with one of these (level@recipient, condition) options."""
    plain = sorted({mark for mark, cond in options if not cond})
    guarded = sorted({(mark, cond) for mark, cond in options if cond and mark not in plain})
    terms = []
    if plain:
        terms.append("resource.marks.containsAny([" + ", ".join(json.dumps(m) for m in plain) + "])")
    terms += [f"(resource.marks.contains({json.dumps(m)}) && {c})" for m, c in guarded]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else "(" + " || ".join(terms) + ")"


def _scope(topics: frozenset[str] | None, purposes: frozenset[str] | None) -> list[str]:
    out = []
    if topics is not None:
        out.append("[" + ", ".join(json.dumps(t) for t in sorted(topics)) + "].containsAll(resource.topics)")
    if purposes is not None:
        out.append("[" + ", ".join(json.dumps(p) for p in sorted(purposes)) + "].contains(resource.purpose)")
    return out


def _meet(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    return a if b is None else a & b


def _permit(pid: str, sender: str, recipient: str, conditions: list[str]) -> str:
    body = " &&\n  ".join([f'resource.originator == "{sender}"', f'context.recipient == "{recipient}"', *conditions])
    return (
        f'@id("{pid}")\npermit (principal == Party::"{sender}", action == Action::"release", resource)\n'
        f"when {{\n  {body}\n}};\n"
    )


def _direct(world: World, agreement: Agreement, sender: str, recipient: str) -> str | None:
    spans = _spans(agreement)
    options = []
    for level in world.scheme_of(sender).levels:
        for _, cond in _translations(world, agreement, level.id, recipient):
            guard = " && ".join(t for t in (_valid(level), cond) if t)
            options.append((f"{level.id}@{recipient}", f"({guard})" if guard else ""))
    marks = _marks_expr(options)
    if not spans or marks is None:
        return None  # never carries, or carries none of the sender's levels
    conditions = [_spans_expr(spans), *_scope(agreement.topics, agreement.purposes), marks]
    return _permit(f"{agreement.id}:{sender}>{recipient}", sender, recipient, conditions)


def _via_hub(  # noqa: PLR0913 - the arrangement, its two legs, and the two ends
    world: World, arrangement: Agreement, leg1: Agreement, leg2: Agreement, sender: str, recipient: str
) -> str | None:
    hub = arrangement.hub
    spans = _intersect(_intersect(_spans(arrangement), _spans(leg1)), _spans(leg2))
    topics = _meet(_meet(arrangement.topics, leg1.topics), leg2.topics)
    purposes = _meet(_meet(arrangement.purposes, leg1.purposes), leg2.purposes)
    if not spans or topics == frozenset() or purposes == frozenset() or hub is None:
        return None
    options = []
    for level in world.scheme_of(sender).levels:
        if not arrangement.covers_level(level.id):
            continue
        for middle, cond1 in _translations(world, leg1, level.id, hub):
            for _, cond2 in _translations(world, leg2, middle, recipient):
                guard = " && ".join(t for t in (_valid(level), cond1, cond2) if t)
                options.append((f"{level.id}@{recipient}", f"({guard})" if guard else ""))
    marks = _marks_expr(options)
    if marks is None:
        return None
    conditions = [_spans_expr(spans), *_scope(topics, purposes), marks]
    pid = f"{arrangement.id}:{sender}>{hub}>{recipient}:{leg1.id}+{leg2.id}"
    return _permit(pid, sender, recipient, conditions)


def cedar_policies(world: World) -> list[tuple[str, str]]:
    """The world's release rules as Cedar policies: (sender, policy text) each."""
    policies: list[tuple[str, str | None]] = []
    for agreement in world.agreements:
        if agreement.kind is AgreementKind.INFORMATION_SECURITY:
            policies += [
                (s, _direct(world, agreement, s, r)) for s in agreement.parties for r in agreement.parties if s != r
            ]
        elif agreement.kind is AgreementKind.HUB_ARRANGEMENT:
            policies += _hub_policies(world, agreement)
    return [(sender, text) for sender, text in policies if text is not None]


def _hub_policies(world: World, arrangement: Agreement) -> Iterator[tuple[str, str | None]]:
    hub = arrangement.hub
    if hub is None:
        return
    members = [p for p in arrangement.parties if p != hub]
    for sender in members:
        for recipient in members:
            if sender == recipient:
                continue
            for leg1 in world.carriers(sender, hub):
                for leg2 in world.carriers(hub, recipient):
                    yield sender, _via_hub(world, arrangement, leg1, leg2, sender, recipient)


def cedar_entities(records: list[Record]) -> str:
    """The records as Cedar entities (JSON), with their portion markings flattened."""
    return json.dumps(
        [
            {
                "uid": {"type": "Record", "id": record.id},
                "attrs": {
                    "originator": record.originator,
                    "topics": sorted(record.topics),
                    "purpose": record.purpose,
                    "marks": sorted({f"{p.level}@{party}" for p in record.portions for party in p.rel_to}),
                },
                "parents": [],
            }
            for record in records
        ]
    )


def cedar_request(record: Record, recipient: str, on: dt.date) -> dict[str, object]:
    """The Cedar request for "may the originator release ``record`` to ``recipient`` on ``on``"."""
    return {
        "principal": f'Party::"{record.originator}"',
        "action": 'Action::"release"',
        "resource": f'Record::"{record.id}"',
        "context": {"recipient": recipient, "day": _day(on)},
    }
