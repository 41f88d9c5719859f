"""The engine's tables of a world: what a decision needs of each agreement, worked out once.

``decide`` asks the same questions of the same agreements over and over: which status
holds on a date and the line that explains it, the clause each rule cites, whether a
level has an equivalent for a party and the text that says so. :class:`Tables` holds the
answers that depend only on the world (never on a record, a date or a request), built on
first use per pair of parties and kept with the world (``World.derived``). Building them
costs what the first decision between the two parties would compute anyway, and their
size is bounded by the registry's, not by the number of decisions.

Every string here is text the rules of :mod:`accord.policy.engine` print; the engine
joins it with the request's own parts (portion, date) and nothing else. Checks that
depend on nothing else (a scope passed on a direct route, the direct route preferred,
the originator needing no consent) are built here once and shared by every decision
that makes them: they are immutable tuples.

The mappings are plain dicts behind read-only types: a look-up in a ``MappingProxyType``
costs about twice as much, and a decision makes dozens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

from accord.domain.agreement import Agreement
from accord.domain.classification import Level
from accord.domain.release import Check, Label, Rule
from accord.domain.world import World

__all__ = [
    "DIRECT_FIRST",
    "FAIL_CLOSED",
    "ORIGINATOR_CHOICE",
    "THIRD_PARTY",
    "HubRoute",
    "Leg",
    "Pair",
    "Tables",
    "Target",
    "Terms",
]

FAIL_CLOSED = "Accord rule 1: no agreement in force, no release (fail closed)"
ORIGINATOR_CHOICE = "Accord rule 3: releasability is the originator's choice"
THIRD_PARTY = "Accord rule 5: onward release needs the originator's prior written consent"
DIRECT_FIRST = "Accord rule 6: a lawful direct route is preferred to a hub"
INFERRED_NOTE = " (equivalence inferred: no published table)"

_new = tuple.__new__
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Terms:
    """What rules 1 and 4 need of one agreement, and the clauses it cites."""

    agreement: Agreement
    id: str
    fingerprint: str
    # Distinct status-change dates; ``in_force[bisect_right(dates, on)]`` is
    # (carries, text before the date, text after it) for the in-force check on ``on``.
    dates: tuple[dt.date, ...]
    in_force: tuple[tuple[bool, str, str], ...]
    topics: frozenset[str] | None
    purposes: frozenset[str] | None
    in_scope: str  # the detail of a passed scope check
    covers_topics: str  # the topics it is limited to, as a failed scope check lists them
    cite_in_force: str
    cite_scope: str
    cite_level: str
    cite_marking: str


@dataclass(frozen=True, slots=True)
class Target:
    """A level's equivalent for one receiving party under one agreement (rule 2)."""

    # (level id, the Level, "<level> = <target> under <agreement>[ (inferred)]"),
    # preferred first; the first in use on the day is taken.
    candidates: tuple[tuple[str, Level, str], ...]
    # The first candidate and its text when it has no validity window (the usual
    # case: it is taken whatever the day); otherwise None.
    target: str | None
    text: str
    inferred: bool
    source: str  # the row's source, or the agreement's level-covered clause


@dataclass(frozen=True, slots=True)
class Leg(Terms):
    """An information-security agreement as a carrier from one party to another."""

    targets: Mapping[str, Target]  # by the level translated (any party's)
    english: Mapping[str, str]  # each level's row's English name
    receiver: str
    route_key: str  # "sender>receiver"
    in_scope_direct: Check  # the passed scope check on the direct route
    # The label a copy arriving over this leg carries and the marking check's detail,
    # by (originator, originator's level, receiver's level); filled as decisions need.
    labels: dict[tuple[str, str, str], tuple[Label, str]]


@dataclass(frozen=True, slots=True)
class HubRoute(Terms):
    """A hub arrangement between two parties (rule 6), and the texts its checks print."""

    hub: str
    route: tuple[str, str, str]  # (sender, hub, recipient)
    route_key: str  # "sender>hub>recipient"
    in_scope_hub: Check  # the passed scope check on this route
    named: Check  # the arrangement names the hub and covers both ends
    conduit: Check  # the hub receives it only to forward it
    covers: frozenset[str]  # level ids with an equivalent under the arrangement
    covered: str  # " the levels <id> covers"
    consent_source: str  # the clause the hub's consent check cites
    via: tuple[str, str]  # (id, fingerprint)


@dataclass(frozen=True, slots=True)
class Pair:
    """Everything between a sender and a receiver: carriers by id, then hub arrangements."""

    route: tuple[str, str]
    route_key: str
    legs: tuple[Leg, ...]
    hubs: tuple[HubRoute, ...]
    lawful: Check  # the direct route is lawful: no hub needed


class _Pairs(dict[tuple[str, str], Pair]):
    """Pairs built on first look-up."""

    __slots__ = ("_tables",)

    def __init__(self, tables: Tables) -> None:
        super().__init__()
        self._tables = tables

    def __missing__(self, key: tuple[str, str]) -> Pair:
        pair = self[key] = self._tables.build_pair(*key)
        return pair


class Tables:
    """The engine's tables for one world (see the module docstring)."""

    __slots__ = (
        "_rows",
        "_terms",
        "codes",
        "level_names",
        "no_consent_needed",
        "pairs",
        "party_names",
        "ranks",
        "scheme_levels",
        "world",
    )

    def __init__(self, world: World) -> None:
        """Tables for ``world``, filled as decisions ask for them."""
        self.world = world
        levels = [lv for s in world.schemes for lv in s.levels]
        self.ranks: Mapping[str, int] = {lv.id: lv.rank for lv in levels}
        self.level_names: Mapping[str, str] = {lv.id: lv.label() for lv in levels}
        self.party_names: Mapping[str, str] = {p.code: p.name for p in world.parties}
        self.codes = frozenset(self.party_names)
        # Each party's levels by id (its scheme's), to check a record's markings.
        self.scheme_levels: Mapping[str, Mapping[str, Level]] = {
            p.code: {lv.id: lv for lv in world.scheme_of(p.code).levels} for p in world.parties
        }
        # Rule 5 for the originator itself.
        self.no_consent_needed: Mapping[str, Check] = {
            p.code: _new(
                Check, (Rule.CONSENT, True, f"{p.code} is the originator: no consent needed", ORIGINATOR_CHOICE, "")
            )
            for p in world.parties
        }
        self.pairs: Mapping[tuple[str, str], Pair] = _Pairs(self)
        self._terms: dict[str, Terms] = {}
        self._rows: dict[tuple[str, str], tuple[dict[str, Target], dict[str, str]]] = {}

    def terms(self, agreement: Agreement) -> Terms:
        """The in-force and scope tables of ``agreement``."""
        terms = self._terms.get(agreement.id)
        if terms is None:
            terms = self._terms[agreement.id] = _terms(agreement)
        return terms

    def build_pair(self, sender: str, receiver: str) -> Pair:
        """The carriers and hub arrangements from ``sender`` to ``receiver``."""
        route_key = f"{sender}>{receiver}"
        legs = []
        for agreement in self.world.carriers(sender, receiver):
            terms = self.terms(agreement)
            targets, english = self._targets(terms, receiver)
            in_scope = _new(Check, (Rule.SCOPE, True, terms.in_scope, terms.cite_scope, route_key))
            legs.append(
                _extend(
                    Leg,
                    terms,
                    targets=targets,
                    english=english,
                    receiver=receiver,
                    route_key=route_key,
                    in_scope_direct=in_scope,
                    labels={},
                )
            )
        return Pair(
            route=(sender, receiver),
            route_key=route_key,
            legs=tuple(legs),
            hubs=tuple(_hub_route(self.terms(a), sender, receiver) for a in self.world.arrangements(sender, receiver)),
            lawful=_new(Check, (Rule.HUB, True, "direct route lawful: no hub needed", DIRECT_FIRST, route_key)),
        )

    def label(self, leg: Leg, originator: str, level: str, target: str) -> tuple[Label, str]:
        """Rule 7: the label on a copy of ``originator``'s ``level`` arriving as ``target`` over ``leg``.

        Returns the label and the detail of the marking check that shows it.
        """
        key = (originator, level, target)
        found = leg.labels.get(key)
        if found is None:
            names = self.level_names
            recipient = leg.receiver
            label: Label = _new(
                Label,
                (
                    originator,
                    self.party_names[originator],
                    level,
                    names[level],
                    recipient,
                    target,
                    names[target],
                    leg.english.get(target, ""),
                ),
            )
            found = leg.labels[key] = (label, f"marked for {recipient}: {label.text()}")
        return found

    def _targets(self, terms: Terms, receiver: str) -> tuple[dict[str, Target], dict[str, str]]:
        key = (terms.id, receiver)
        found = self._rows.get(key)
        if found is None:
            found = self._rows[key] = _targets(terms, receiver, self.world)
        return found


def _extend(cls: Callable[..., _T], terms: Terms, **more: object) -> _T:
    """A ``Leg`` or ``HubRoute``: ``terms`` and more."""
    return cls(**{f.name: getattr(terms, f.name) for f in fields(Terms)}, **more)


def _own(text: str) -> str:
    """A copy of ``text``, made with the tables.

    Checks and hops refer to the agreement's id, fingerprint and clauses, and making a
    check touches each string it refers to. Copies made with the tables sit together
    in memory instead of spread over the world's objects; at 10,000 agreements that
    makes decisions about 3% faster (the CPU caches miss less).
    """
    return text.encode().decode()


def _terms(agreement: Agreement) -> Terms:
    aid = _own(agreement.id)
    # Copies of the days too (see _own): a decision compares ``on`` with them.
    dates = tuple(dt.date.fromordinal(d.toordinal()) for d in sorted({day for day, _, _ in agreement.timeline()}))
    # The days before the first change, then the day of each change and after it.
    days = ((dates[0] - dt.timedelta(days=1)) if dates and dates[0] > dt.date.min else dt.date.min, *dates)
    in_force = []
    for day in days:
        status, reason = agreement.status_with_reason(day)
        in_force.append((status.carries, f"{aid} is {status} on ", f" ({reason})"))
    return Terms(
        agreement=agreement,
        id=aid,
        fingerprint=_own(agreement.fingerprint),
        dates=dates,
        in_force=tuple(in_force),
        topics=agreement.topics,
        purposes=agreement.purposes,
        in_scope=f"topics within the scope of {aid}",
        covers_topics=", ".join(sorted(agreement.topics)) if agreement.topics is not None else "",
        cite_in_force=_own(agreement.cite("in-force")),
        cite_scope=_own(agreement.cite("scope")),
        cite_level=_own(agreement.cite("level-covered")),
        cite_marking=_own(agreement.cite("marking")),
    )


def _targets(terms: Terms, receiver: str, world: World) -> tuple[dict[str, Target], dict[str, str]]:
    targets: dict[str, Target] = {}
    english: dict[str, str] = {}
    for row in terms.agreement.equivalences:
        note = INFERRED_NOTE if row.inferred else ""
        ids = row.for_party(receiver)
        source = _own(row.source) if row.source else terms.cite_level
        for _, levels in row.levels:
            for level_id in levels:
                english[level_id] = row.english
                candidates = tuple((i, world.level(i), f"{level_id} = {i} under {terms.id}{note}") for i in ids)
                first = candidates[0] if candidates else None
                fixed = first is not None and first[1].valid_from is None and first[1].valid_until is None
                targets[level_id] = Target(
                    candidates=candidates,
                    target=first[0] if first is not None and fixed else None,
                    text=first[2] if first is not None and fixed else "",
                    inferred=row.inferred,
                    source=source,
                )
    return targets, english


def _hub_route(terms: Terms, sender: str, recipient: str) -> HubRoute:
    arrangement = terms.agreement
    hub = arrangement.hub
    assert hub is not None  # noqa: S101 - the world indexes only arrangements with a hub
    aid = arrangement.id
    route_key = f"{sender}>{hub}>{recipient}"
    cite_hub = arrangement.cite("hub")
    named = f"{aid} names {hub} as hub and covers {sender} and {recipient}"
    conduit = f"{hub} receives it as the hub of {aid}, to forward it to {recipient}"
    consent = arrangement.clause("consent") or arrangement.clause("hub")
    return _extend(
        HubRoute,
        terms,
        hub=hub,
        route=(sender, hub, recipient),
        route_key=route_key,
        in_scope_hub=_new(Check, (Rule.SCOPE, True, terms.in_scope, terms.cite_scope, route_key)),
        named=_new(Check, (Rule.HUB, True, named, cite_hub, route_key)),
        conduit=_new(Check, (Rule.RELEASABLE, True, conduit, cite_hub, route_key)),
        covers=frozenset(i for row in arrangement.equivalences for _, ids in row.levels for i in ids),
        covered=f" the levels {aid} covers",
        consent_source=str(consent or aid),
        via=(aid, terms.fingerprint),
    )
