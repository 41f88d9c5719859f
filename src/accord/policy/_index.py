"""The engine's tables of a world: what a decision needs of each agreement, worked out once.

``decide`` asks the same questions of the same agreements over and over: which status
holds on a date and the line that explains it, the clause each rule cites, whether a
level has an equivalent for a party and the text that says so. A :class:`Tables` holds
the answers that depend only on the world (never on a record, a date or a request),
built on first use per agreement or per pair of parties and kept with the world
(``World.derived``). It costs nothing a decision would not compute anyway, and its size
is bounded by the registry's, not by the number of decisions.

Every string here is the text the rules of :mod:`accord.policy.engine` print; the
engine joins them with the request's parts (portion, date) and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType

from accord.domain.agreement import Agreement
from accord.domain.classification import Level
from accord.domain.world import World

__all__ = ["HubRoute", "Leg", "Tables", "Target", "Terms", "tables"]

_Pair = tuple[str, str]


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
    # The first candidate when no candidate has a validity window (the usual case).
    fixed: tuple[str, str] | None
    inferred: bool
    source: str  # the row's source, or the agreement's level-covered clause


@dataclass(frozen=True, slots=True)
class Leg:
    """One information-security agreement as a carrier towards one receiving party."""

    terms: Terms
    targets: MappingProxyType[str, Target]  # by the level translated (any party's)
    english: MappingProxyType[str, str]  # the row's English name, by the receiver's level


@dataclass(frozen=True, slots=True)
class HubRoute:
    """A hub arrangement between two parties (rule 6), and the texts its checks print."""

    terms: Terms
    hub: str
    route_key: str  # "sender>hub>recipient"
    named: str  # the detail of the check that the arrangement names the hub
    conduit: str  # the detail of the check that the hub receives it as a conduit
    cite_hub: str
    covers: frozenset[str]  # level ids with an equivalent under the arrangement
    covered: str  # " the levels <id> covers"
    consent_source: str  # the clause the hub's consent check cites
    via: tuple[str, str]  # (id, fingerprint)


class _ByPair(dict[_Pair, tuple[Leg, ...]]):
    """Carriers from sender to receiver, built on first look-up of the pair."""

    __slots__ = ("_tables",)

    def __init__(self, tables: Tables) -> None:
        super().__init__()
        self._tables = tables

    def __missing__(self, pair: _Pair) -> tuple[Leg, ...]:
        legs = tuple(self._tables.leg(a, pair[1]) for a in self._tables.world.carriers(*pair))
        self[pair] = legs
        return legs


class _HubsByPair(dict[_Pair, tuple[HubRoute, ...]]):
    """Hub arrangements between sender and recipient, built on first look-up of the pair."""

    __slots__ = ("_tables",)

    def __init__(self, tables: Tables) -> None:
        super().__init__()
        self._tables = tables

    def __missing__(self, pair: _Pair) -> tuple[HubRoute, ...]:
        sender, recipient = pair
        routes = tuple(
            _hub_route(self._tables.terms(a), a, sender, recipient)
            for a in self._tables.world.arrangements(sender, recipient)
        )
        self[pair] = routes
        return routes


class Tables:
    """The engine's tables for one world (see the module docstring)."""

    __slots__ = (
        "_legs",
        "_terms",
        "codes",
        "hubs",
        "legs",
        "level_names",
        "party_names",
        "ranks",
        "scheme_levels",
        "world",
    )

    def __init__(self, world: World) -> None:
        """Tables for ``world``, filled as decisions ask for them."""
        self.world = world
        levels = [lv for s in world.schemes for lv in s.levels]
        self.ranks: MappingProxyType[str, int] = MappingProxyType({lv.id: lv.rank for lv in levels})
        self.level_names: MappingProxyType[str, str] = MappingProxyType({lv.id: lv.label() for lv in levels})
        self.party_names: MappingProxyType[str, str] = MappingProxyType({p.code: p.name for p in world.parties})
        self.codes = frozenset(self.party_names)
        # Each party's levels by id (its scheme's), to check a record's markings.
        self.scheme_levels: MappingProxyType[str, MappingProxyType[str, Level]] = MappingProxyType(
            {p.code: MappingProxyType({lv.id: lv for lv in world.scheme_of(p.code).levels}) for p in world.parties}
        )
        self.legs: dict[_Pair, tuple[Leg, ...]] = _ByPair(self)
        self.hubs: dict[_Pair, tuple[HubRoute, ...]] = _HubsByPair(self)
        self._terms: dict[str, Terms] = {}
        self._legs: dict[tuple[str, str], Leg] = {}

    def terms(self, agreement: Agreement) -> Terms:
        """The in-force and scope tables of ``agreement``."""
        terms = self._terms.get(agreement.id)
        if terms is None:
            terms = self._terms[agreement.id] = _terms(agreement)
        return terms

    def leg(self, agreement: Agreement, receiver: str) -> Leg:
        """``agreement`` as a carrier towards ``receiver``."""
        key = (agreement.id, receiver)
        leg = self._legs.get(key)
        if leg is None:
            leg = self._legs[key] = _leg(self.terms(agreement), agreement, receiver, self.world)
        return leg


def tables(world: World) -> Tables:
    """The engine's tables for ``world``, kept with it."""
    return world.derived(Tables)


def _terms(agreement: Agreement) -> Terms:
    aid = agreement.id
    dates = tuple(sorted({day for day, _, _ in agreement.timeline()}))
    # The days before the first change, then the day of each change and after it.
    days = ((dates[0] - dt.timedelta(days=1)) if dates and dates[0] > dt.date.min else dt.date.min, *dates)
    in_force = []
    for day in days:
        status, reason = agreement.status_with_reason(day)
        in_force.append((status.carries, f"{aid} is {status} on ", f" ({reason})"))
    return Terms(
        agreement=agreement,
        id=aid,
        fingerprint=agreement.fingerprint,
        dates=dates,
        in_force=tuple(in_force),
        topics=agreement.topics,
        purposes=agreement.purposes,
        in_scope=f"topics within the scope of {aid}",
        cite_in_force=agreement.cite("in-force"),
        cite_scope=agreement.cite("scope"),
        cite_level=agreement.cite("level-covered"),
        cite_marking=agreement.cite("marking"),
    )


def _leg(terms: Terms, agreement: Agreement, receiver: str, world: World) -> Leg:
    targets: dict[str, Target] = {}
    english: dict[str, str] = {}
    for row in agreement.equivalences:
        note = " (equivalence inferred: no published table)" if row.inferred else ""
        ids = row.for_party(receiver)
        source = row.source or terms.cite_level
        for _, levels in row.levels:
            for level_id in levels:
                english[level_id] = row.english
                candidates = tuple((i, world.level(i), f"{level_id} = {i} under {terms.id}{note}") for i in ids)
                first = candidates[0] if candidates else None
                always = first is not None and first[1].valid_from is None and first[1].valid_until is None
                targets[level_id] = Target(
                    candidates=candidates,
                    fixed=(first[0], first[2]) if first is not None and always else None,
                    inferred=row.inferred,
                    source=source,
                )
    return Leg(terms=terms, targets=MappingProxyType(targets), english=MappingProxyType(english))


def _hub_route(terms: Terms, arrangement: Agreement, sender: str, recipient: str) -> HubRoute:
    hub = arrangement.hub
    assert hub is not None  # noqa: S101 - the world indexes only arrangements with a hub
    aid = arrangement.id
    covers = frozenset(i for row in arrangement.equivalences for _, ids in row.levels for i in ids)
    consent = arrangement.clause("consent") or arrangement.clause("hub")
    return HubRoute(
        terms=terms,
        hub=hub,
        route_key=f"{sender}>{hub}>{recipient}",
        named=f"{aid} names {hub} as hub and covers {sender} and {recipient}",
        conduit=f"{hub} receives it as the hub of {aid}, to forward it to {recipient}",
        cite_hub=arrangement.cite("hub"),
        covers=covers,
        covered=f" the levels {aid} covers",
        consent_source=str(consent or aid),
        via=(aid, terms.fingerprint),
    )
