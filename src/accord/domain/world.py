"""The world: every party, scheme and agreement a node knows, indexed for decisions.

Agreements are indexed by the ordered pair of parties they connect, so that finding the
agreements that could carry a record from one party to another costs the same with ten
agreements or ten thousand. Construction checks every cross-reference (an agreement's
parties, its equivalence levels, the agreements it relies on).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from accord.canonical import sha256_hex
from accord.domain.agreement import Agreement, AgreementKind
from accord.domain.classification import Level, Scheme
from accord.domain.party import Party
from accord.errors import UnknownReferenceError, ValidationError

__all__ = ["World"]

_Pair = tuple[str, str]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class World:
    """Parties, their schemes and the agreements among them."""

    parties: tuple[Party, ...]
    schemes: tuple[Scheme, ...]
    agreements: tuple[Agreement, ...]
    _parties: MappingProxyType[str, Party] = field(init=False, repr=False, compare=False)
    _schemes: MappingProxyType[str, Scheme] = field(init=False, repr=False, compare=False)
    _agreements: MappingProxyType[str, Agreement] = field(init=False, repr=False, compare=False)
    _carriers: MappingProxyType[_Pair, tuple[Agreement, ...]] = field(init=False, repr=False, compare=False)
    _hubs: MappingProxyType[_Pair, tuple[Agreement, ...]] = field(init=False, repr=False, compare=False)
    # Every level of every scheme by id, and the party codes: decisions look these up
    # for each portion and each party a record is releasable to.
    _levels: MappingProxyType[str, Level] = field(init=False, repr=False, compare=False)
    _codes: frozenset[str] = field(init=False, repr=False, compare=False)
    # Indexes a layer above derives from the world, by the function that builds them
    # (see ``derived``).
    _derived: dict[Callable[[World], object], object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # noqa: C901 - validation and indexing in one pass
        """Check every reference and build the pair indexes."""
        parties = _unique({p.code: p for p in self.parties}, self.parties, "party")
        schemes = _unique({s.party: s for s in self.schemes}, self.schemes, "scheme")
        agreements = _unique({a.id: a for a in self.agreements}, self.agreements, "agreement")
        for party in self.parties:
            if party.scheme not in schemes:
                msg = f"party {party.code} uses scheme {party.scheme}, which is not defined"
                raise UnknownReferenceError(msg)
        for agreement in self.agreements:
            _check_agreement(agreement, parties, schemes, agreements)
        carriers: dict[_Pair, list[Agreement]] = {}
        hubs: dict[_Pair, list[Agreement]] = {}
        for agreement in sorted(self.agreements, key=lambda a: a.id):
            if agreement.kind is AgreementKind.INFORMATION_SECURITY:
                for a in agreement.parties:
                    for b in agreement.parties:
                        if a != b:
                            carriers.setdefault((a, b), []).append(agreement)
            elif agreement.kind is AgreementKind.HUB_ARRANGEMENT:
                for a in agreement.parties:
                    for b in agreement.parties:
                        if a != b and agreement.hub not in (a, b):
                            hubs.setdefault((a, b), []).append(agreement)
        object.__setattr__(self, "_parties", MappingProxyType(parties))
        object.__setattr__(self, "_schemes", MappingProxyType(schemes))
        object.__setattr__(self, "_agreements", MappingProxyType(agreements))
        object.__setattr__(self, "_carriers", MappingProxyType({k: tuple(v) for k, v in carriers.items()}))
        object.__setattr__(self, "_hubs", MappingProxyType({k: tuple(v) for k, v in hubs.items()}))
        object.__setattr__(self, "_levels", MappingProxyType({lv.id: lv for s in self.schemes for lv in s.levels}))
        object.__setattr__(self, "_codes", frozenset(parties))
        object.__setattr__(self, "_derived", {})

    # -- look-ups -----------------------------------------------------------------

    def party(self, code: str) -> Party:
        """The party with this code, or an error naming the known ones."""
        try:
            return self._parties[code]
        except KeyError:
            known = ", ".join(sorted(self._parties)) or "none"
            msg = f"unknown party {code!r} (known: {known})"
            raise UnknownReferenceError(msg) from None

    def has_party(self, code: str) -> bool:
        """Whether a party with this code is known."""
        return code in self._parties

    def scheme_of(self, code: str) -> Scheme:
        """The classification scheme of a party."""
        return self._schemes[self.party(code).scheme]

    def check_parties(self, codes: Collection[str]) -> None:
        """Raise as ``party`` does for the first of ``codes`` that is not a known party."""
        if not self._codes.issuperset(codes):
            for code in codes:
                self.party(code)

    def level(self, level_id: str) -> Level:
        """Any level by its id (``KOR/MIL-II``)."""
        level = self._levels.get(level_id)
        if level is not None:
            return level
        scheme = self._schemes.get(level_id.partition("/")[0])
        if scheme is None:
            msg = f"unknown level {level_id!r}: no scheme {level_id.partition('/')[0]!r}"
            raise UnknownReferenceError(msg)
        return scheme.level(level_id)

    def agreement(self, agreement_id: str) -> Agreement:
        """The agreement with this id, or an error naming the known ones."""
        try:
            return self._agreements[agreement_id]
        except KeyError:
            known = ", ".join(sorted(self._agreements)) or "none"
            msg = f"unknown agreement {agreement_id!r} (known: {known})"
            raise UnknownReferenceError(msg) from None

    def carriers(self, sender: str, receiver: str) -> tuple[Agreement, ...]:
        """Information-security agreements binding both ends, by id."""
        return self._carriers.get((sender, receiver), ())

    def arrangements(self, sender: str, receiver: str) -> tuple[Agreement, ...]:
        """Hub arrangements covering both ends with a hub that is neither, by id."""
        return self._hubs.get((sender, receiver), ())

    def derived(self, build: Callable[[World], _T]) -> _T:
        """``build(self)``, computed on first use and then kept with this world.

        For indexes that a layer above derives from the world, such as the decision
        engine's tables of the agreements between two parties. ``build`` must be a pure
        function of the world: the world never changes, so its value never goes stale.
        """
        try:
            return self._derived[build]  # type: ignore[return-value] # built by build(self): a _T
        except KeyError:
            value = build(self)
            self._derived[build] = value
            return value

    @property
    def fingerprint(self) -> str:
        """A digest over every agreement's fingerprint and the full parties and schemes.

        Ranks and validity dates of levels change access decisions, so two nodes whose
        schemes differ in any detail get different fingerprints.
        """
        return sha256_hex(
            {
                "agreements": sorted(a.fingerprint for a in self.agreements),
                "parties": sorted((p.to_dict() for p in self.parties), key=lambda d: str(d["code"])),
                "schemes": sorted((s.to_dict() for s in self.schemes), key=lambda d: str(d["party"])),
            }
        )


def _unique(index: dict[str, _T], items: tuple[_T, ...], what: str) -> dict[str, _T]:
    if len(index) != len(items):
        msg = f"the world defines a {what} twice (ids must be unique)"
        raise ValidationError(msg)
    return index


def _check_agreement(  # noqa: C901 - one check per kind of reference
    agreement: Agreement,
    parties: dict[str, Party],
    schemes: dict[str, Scheme],
    agreements: dict[str, Agreement],
) -> None:
    for code in agreement.parties:
        if code not in parties:
            msg = f"agreement {agreement.id} names unknown party {code!r}"
            raise UnknownReferenceError(msg)
    for row in agreement.equivalences:
        for party, ids in row.levels:
            scheme = schemes[parties[party].scheme]
            for level_id in ids:
                if not scheme.has(level_id):
                    msg = f"agreement {agreement.id} names unknown level {level_id!r}"
                    raise UnknownReferenceError(msg)
    for level_id in agreement.excluded_levels:
        owner = schemes.get(level_id.partition("/")[0])
        if owner is None or not owner.has(level_id):
            msg = f"agreement {agreement.id} excludes unknown level {level_id!r}"
            raise UnknownReferenceError(msg)
    for other in agreement.relies_on:
        if other not in agreements:
            msg = f"agreement {agreement.id} relies on unknown agreement {other!r}"
            raise UnknownReferenceError(msg)
