"""``decide``: may this record go to that party on that date, by which route, marked how?

Pure and deterministic: time is the ``on`` parameter, the world and the consents are
values, and a denial is a :class:`~accord.domain.release.Decision`, not an exception.
Only malformed input (an unknown party or level) raises. Rules fail closed: with no
agreement connecting the two ends nothing goes.

Order of preference: a lawful direct route under an information-security agreement;
otherwise a route through the hub of a hub arrangement (TISA) that names that hub and
covers every party and topic, each leg lawful under its own bilateral agreement.
Candidates are found through the world's pair index, so cost does not grow with the
number of agreements in the registry.

Every decision carries about eight explained checks and ``bench/decide.py`` measures
how many the engine makes a second (the target is 100,000 at 10,000 agreements). So
what depends only on the world (each agreement's status timeline with the line that
explains it, the clauses cited, each level's equivalent and the text saying so) is
worked out once per agreement and kept with the world (:mod:`accord.policy._index`);
a decision joins those texts with its own parts (portion, date), formats the date once,
and builds its checks, hops, label and decision as tuples in one step.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence

from accord.domain.consent import Consent
from accord.domain.record import Portion, Record
from accord.domain.release import Check, Decision, Hop, Label, Rule
from accord.domain.world import World
from accord.errors import ValidationError
from accord.policy._index import HubRoute, Leg, Tables, Terms, tables

__all__ = ["decide"]

FAIL_CLOSED = "Accord rule 1: no agreement in force, no release (fail closed)"
ORIGINATOR_CHOICE = "Accord rule 3: releasability is the originator's choice"
THIRD_PARTY = "Accord rule 5: onward release needs the originator's prior written consent"
DIRECT_FIRST = "Accord rule 6: a lawful direct route is preferred to a hub"

# Enum members are looked up through the class on each use; these are read many
# times per decision.
_ROUTE, _IN_FORCE, _LEVEL, _RELEASABLE = Rule.ROUTE, Rule.IN_FORCE, Rule.LEVEL, Rule.RELEASABLE
_SCOPE, _CONSENT, _HUB, _MARKING = Rule.SCOPE, Rule.CONSENT, Rule.HUB, Rule.MARKING

# Check(...), Hop(...), Label(...) and Decision(...) run a Python-level __new__;
# tuple.__new__ builds the same NamedTuple directly, with the fields in their order.
_new = tuple.__new__

# portion id -> (level at this point of the route, whether an inferred row was used)
_Levels = dict[str, tuple[str, bool]]
# The hops of a lawful route, the levels on arrival, and the last leg's carrier.
_Route = tuple[tuple[Hop, ...], _Levels, Leg]


def decide(  # noqa: PLR0913 - the question has this many parts
    record: Record,
    recipient: str,
    *,
    on: dt.date,
    world: World,
    consents: Iterable[Consent] = (),
    holder: str | None = None,
) -> Decision:
    """Decide whether ``holder`` (default: the originator) may release ``record`` to ``recipient``.

    Raises:
        ValidationError: an unknown party or level, or a release to oneself.
    """
    index = tables(world)
    originator = record.originator
    sender = holder or originator
    if not _well_formed(index, record, sender, recipient, on):
        _validate(record, sender, recipient, on, world)
    day = str(on)  # the text f"{on}" gives, made once rather than in every check
    checks: list[Check] = []
    portions = _releasable(record, recipient, checks)
    if not portions:
        return _deny(record, sender, recipient, on, checks)
    route_key = f"{sender}>{recipient}"
    if sender == originator:
        detail = f"{sender} is the originator: no consent needed"
        checks.append(_new(Check, (_CONSENT, True, detail, ORIGINATOR_CHOICE, "")))
        start = {p.id: (p.level, False) for p in portions}
    else:
        if not _check_consent(index, record, sender, recipient, on, day, tuple(consents), checks):
            return _deny(record, sender, recipient, on, checks)
        start = _held_levels(world, record, sender, portions, on, route_key, checks)
        if not start:
            return _deny(record, sender, recipient, on, checks)

    direct = _leg(index, sender, recipient, start, record, on, day, route_key, checks)
    if direct is not None:
        hop, out, leg = direct
        checks.append(_new(Check, (_HUB, True, "direct route lawful: no hub needed", DIRECT_FIRST, route_key)))
        return _permit(index, record, sender, recipient, on, ((hop,), out, leg), route_key, checks, None)
    for route in index.hubs[sender, recipient]:
        routed = _hub_route(index, route, sender, recipient, start, record, on, day, checks)
        if routed is not None:
            return _permit(index, record, sender, recipient, on, routed, route.route_key, checks, route.via)
    return _deny(record, sender, recipient, on, checks)


def _well_formed(index: Tables, record: Record, sender: str, recipient: str, on: dt.date) -> bool:
    """Whether ``_validate`` would pass, answered from the tables (the usual case)."""
    known = index.codes
    levels = index.scheme_levels.get(record.originator)
    if levels is None or sender == recipient or sender not in known or recipient not in known:
        return False
    for portion in record.portions:
        level = levels.get(portion.level)
        if level is None or not known.issuperset(portion.rel_to):
            return False
        if (level.valid_from is not None or level.valid_until is not None) and not level.valid_on(on):
            return False
    return True


def _validate(record: Record, sender: str, recipient: str, on: dt.date, world: World) -> None:
    world.party(recipient)
    world.party(sender)
    scheme = world.scheme_of(record.originator)
    for portion in record.portions:
        level = scheme.level(portion.level)
        if not level.valid_on(on):
            # A marking that did not exist on the date is malformed input, not a denial:
            # JPN/TOKUTEI began on 2014-12-10, JPN/BOEI ended the day before.
            window = f"{level.valid_from or 'always'} to {level.valid_until or 'now'}"
            msg = f"portion {portion.id}: level {level.id} does not exist on {on} (in use {window})"
            raise ValidationError(msg, hint="mark the record with a level in use on that date")
        world.check_parties(portion.rel_to)
    if sender == recipient:
        msg = f"{sender} cannot release a record to itself"
        raise ValidationError(msg)


def _releasable(record: Record, recipient: str, checks: list[Check]) -> list[Portion]:
    """Rule 3 per portion: the originator's releasability marking."""
    out: list[Portion] = []
    for portion in record.portions:
        if recipient in portion.rel_to:
            detail = f"portion {portion.id} is REL TO {recipient}"
            checks.append(_new(Check, (_RELEASABLE, True, detail, ORIGINATOR_CHOICE, "")))
            out.append(portion)
        else:
            rel = ", ".join(sorted(portion.rel_to)) or "nobody"
            detail = f"portion {portion.id} is not releasable to {recipient} (REL TO {rel})"
            checks.append(_new(Check, (_RELEASABLE, False, detail, ORIGINATOR_CHOICE, "")))
    return out


def _held_levels(  # noqa: PLR0913
    world: World,
    record: Record,
    holder: str,
    portions: Sequence[Portion],
    on: dt.date,
    route_key: str,
    checks: list[Check],
) -> _Levels:
    """The level of each portion in the holder's own scheme.

    The originator holds its portions at their own levels. A receiving party holds its
    copy at the equivalent it was marked with on receipt (rule 7), under an agreement
    binding it and the originator; that marking stands after termination (rule 8), so
    the agreement's status does not matter here.
    """
    if holder == record.originator:
        return {p.id: (p.level, False) for p in portions}
    out: _Levels = {}
    for portion in portions:
        for agreement in world.carriers(record.originator, holder):
            row = agreement.equivalence_row(portion.level)
            held = [i for i in row.for_party(holder) if world.level(i).valid_on(on)] if row is not None else []
            if row is not None and held:
                out[portion.id] = (held[0], row.inferred)
                detail = f"portion {portion.id}: {holder} holds {portion.level} as {held[0]} under {agreement.id}"
                checks.append(_new(Check, (_LEVEL, True, detail, agreement.cite("marking"), route_key)))
                break
        else:
            detail = (
                f"portion {portion.id}: {holder} has no agreement with {record.originator} "
                f"giving an equivalent of {portion.level}"
            )
            checks.append(_new(Check, (_LEVEL, False, detail, FAIL_CLOSED, route_key)))
    return out


def _check_consent(  # noqa: PLR0913
    index: Tables,
    record: Record,
    sender: str,
    recipient: str,
    on: dt.date,
    day: str,
    consents: tuple[Consent, ...],
    checks: list[Check],
) -> bool:
    """Rule 5 for a holder other than the originator: a consent object, or a hub's mandate."""
    originator = record.originator
    world = index.world
    for consent in consents:
        if consent.permits(
            originator=originator,
            holder=sender,
            third_party=recipient,
            record_id=record.id,
            topics=record.topics,
            on=on,
        ):
            detail = (
                f"{originator} consented ({consent.id}) to {sender} releasing it to {recipient} "
                f"until {consent.valid_until}"
            )
            checks.append(_new(Check, (_CONSENT, True, detail, THIRD_PARTY, "")))
            return True
    for arrangement in world.arrangements(originator, recipient):
        if (
            arrangement.hub == sender
            and arrangement.status_on(on).carries
            and _scope(index.terms(arrangement), record, "").passed
        ):
            cite = arrangement.clause("consent") or arrangement.clause("hub")
            detail = (
                f"{originator} marked it REL TO {recipient}: consent for hub {sender} "
                f"to forward it under {arrangement.id}"
            )
            checks.append(_new(Check, (_CONSENT, True, detail, str(cite or arrangement.id), "")))
            return True
    source = _consent_source(world, originator, sender)
    detail = (
        f"onward release of a {originator} record by {sender} to {recipient} needs "
        f"{originator}'s prior written consent; none covers it on {day}"
    )
    checks.append(_new(Check, (_CONSENT, False, detail, source, "")))
    return False


def _consent_source(world: World, originator: str, holder: str) -> str:
    for agreement in world.carriers(originator, holder):
        cite = agreement.clause("consent")
        if cite is not None:
            return f"{agreement.id} {cite}"
    return THIRD_PARTY


def _scope(terms: Terms, record: Record, route_key: str) -> Check:
    """Rule 4: the record's topics and purpose within the agreement's scope."""
    topics = terms.topics
    if topics is not None and not record.topics <= topics:
        outside = ", ".join(sorted(record.topics - topics))
        allowed = ", ".join(sorted(topics))
        detail = f"topic {outside} is outside {terms.id} (covers {allowed} only)"
        return _new(Check, (_SCOPE, False, detail, terms.cite_scope, route_key))
    purposes = terms.purposes
    if purposes is not None and record.purpose not in purposes:
        detail = f"purpose {record.purpose or '(none)'} is outside {terms.id}"
        return _new(Check, (_SCOPE, False, detail, terms.cite_scope, route_key))
    return _new(Check, (_SCOPE, True, terms.in_scope, terms.cite_scope, route_key))


def _in_force(terms: Terms, on: dt.date, day: str, route_key: str) -> Check:
    """Rule 1 (and 8): the agreement's status on the day, and the event that set it."""
    carries, before, after = terms.in_force[bisect_right(terms.dates, on)]
    return _new(Check, (_IN_FORCE, carries, f"{before}{day}{after}", terms.cite_in_force, route_key))


def _leg(  # noqa: PLR0913
    index: Tables,
    sender: str,
    receiver: str,
    levels: _Levels,
    record: Record,
    on: dt.date,
    day: str,
    route_key: str,
    checks: list[Check],
) -> tuple[Hop, _Levels, Leg] | None:
    """One hop under the information-security agreement that makes it lawful.

    Returns the hop (for the highest level carried), the levels on arrival and the
    carrier used, or ``None`` after recording why no agreement between the two makes
    it lawful.
    """
    legs = index.legs[sender, receiver]
    if not legs:
        detail = f"no information-security agreement binds {sender} and {receiver}"
        checks.append(_new(Check, (_ROUTE, False, detail, FAIL_CLOSED, route_key)))
        return None
    tried: list[Check] = []
    best: tuple[Leg, _Levels, list[Check]] | None = None
    for leg in legs:
        local = [_in_force(leg.terms, on, day, route_key), _scope(leg.terms, record, route_key)]
        if not (local[0].passed and local[1].passed):
            tried += local
            continue
        out = _translate(leg, levels, on, route_key, local)
        if out and (best is None or len(out) > len(best[1])):
            # Two agreements in force between the same pair: the one that carries the
            # most portions wins (the first by id on a tie), so that adding a portion to
            # a record never makes a leg pick an agreement that carries less.
            if best is not None:
                tried += best[2]
            best = (leg, out, local)
            if len(out) == len(levels):
                break
        else:
            tried += local
    if best is None:
        checks += tried
        return None
    leg, out, local = best
    checks += local
    top = _highest(index.ranks, out, levels)
    terms = leg.terms
    return _new(Hop, (sender, receiver, terms.id, terms.fingerprint, levels[top][0], *out[top])), out, leg


def _highest(ranks: Mapping[str, int], portions: Sequence[str] | Mapping[str, object], levels: _Levels) -> str:
    """The portion of ``portions`` whose level in ``levels`` ranks highest (the first if tied)."""
    if len(portions) == 1:
        return next(iter(portions))
    return max(portions, key=lambda pid: ranks[levels[pid][0]])


def _translate(leg: Leg, levels: _Levels, on: dt.date, route_key: str, checks: list[Check]) -> _Levels:
    """Rule 2 per portion: the level's equivalent for the leg's receiver under its agreement."""
    out: _Levels = {}
    targets = leg.targets
    for pid, (level_id, inferred) in levels.items():
        found = targets.get(level_id)
        if found is not None:
            chosen = found.fixed
            if chosen is None:
                chosen = next(((i, text) for i, level, text in found.candidates if level.valid_on(on)), None)
            if chosen is not None:
                checks.append(_new(Check, (_LEVEL, True, f"portion {pid}: {chosen[1]}", found.source, route_key)))
                out[pid] = (chosen[0], inferred or found.inferred)
                continue
        terms = leg.terms
        why = "is excluded from" if level_id in terms.agreement.excluded_levels else "has no equivalent under"
        detail = f"portion {pid}: {level_id} {why} {terms.id}"
        checks.append(_new(Check, (_LEVEL, False, detail, terms.cite_level, route_key)))
    return out


def _hub_route(  # noqa: PLR0913
    index: Tables,
    route: HubRoute,
    sender: str,
    recipient: str,
    levels: _Levels,
    record: Record,
    on: dt.date,
    day: str,
    checks: list[Check],
) -> _Route | None:
    """Rule 6: through the arrangement's hub, each leg lawful on its own."""
    terms, route_key = route.terms, route.route_key
    local = [
        _in_force(terms, on, day, route_key),
        _scope(terms, record, route_key),
        _new(Check, (_HUB, True, route.named, route.cite_hub, route_key)),
        # The hub is a conduit named by the arrangement, not an addressee: rule 3 is the
        # final recipient's REL TO, which carries the consent to forward (rule 6).
        _new(Check, (_RELEASABLE, True, route.conduit, route.cite_hub, route_key)),
    ]
    cap, covers, covered = terms.cite_level, route.covers, route.covered
    within: _Levels = {}
    for pid, level in levels.items():
        if level[0] in covers:
            within[pid] = level
            local.append(_new(Check, (_LEVEL, True, f"portion {pid}: {level[0]} is within{covered}", cap, route_key)))
        else:
            detail = f"portion {pid}: {level[0]} is above or outside{covered}"
            local.append(_new(Check, (_LEVEL, False, detail, cap, route_key)))
    checks += local
    if not (local[0].passed and local[1].passed and within):
        return None
    hub = route.hub
    first = _leg(index, sender, hub, within, record, on, day, route_key, checks)
    if first is None:
        return None
    second = _leg(index, hub, recipient, first[1], record, on, day, route_key, checks)
    if second is None:
        return None
    detail = f"{record.originator} marked it REL TO {recipient}: consent for {hub} to forward it"
    checks.append(_new(Check, (_CONSENT, True, detail, route.consent_source, route_key)))
    return (first[0], second[0]), second[1], second[2]


def _permit(  # noqa: PLR0913
    index: Tables,
    record: Record,
    sender: str,
    recipient: str,
    on: dt.date,
    routed: _Route,
    route_key: str,
    checks: list[Check],
    via: tuple[str, str] | None,
) -> Decision:
    hops, arrived, last = routed
    released: list[str] = []
    withheld: list[str] = []
    for portion in record.portions:
        (released if portion.id in arrived else withheld).append(portion.id)
    top = _highest(index.ranks, released, arrived)
    origin_level = next(p.level for p in record.portions if p.id == top)
    target = arrived[top][0]
    names = index.level_names
    originator = record.originator
    label: Label = _new(
        Label,
        (
            originator,
            index.party_names[originator],
            origin_level,
            names[origin_level],
            recipient,
            target,
            names[target],
            last.english.get(target, ""),
        ),
    )
    route = (sender, *[h.receiver for h in hops])
    detail = f"marked for {recipient}: {label.text()}"
    checks.append(_new(Check, (_MARKING, True, detail, last.terms.cite_marking, route_key)))
    return _new(
        Decision,
        (
            True,
            record.id,
            sender,
            recipient,
            on,
            route,
            hops,
            tuple(checks),
            label,
            tuple(released),
            tuple(withheld),
            via,
        ),
    )


def _deny(record: Record, sender: str, recipient: str, on: dt.date, checks: list[Check]) -> Decision:
    if not checks:  # pragma: no cover - every path records at least one check
        checks.append(_new(Check, (_ROUTE, False, "no rule allowed it", FAIL_CLOSED, "")))
    withheld = tuple([p.id for p in record.portions])
    return _new(Decision, (False, record.id, sender, recipient, on, (), (), tuple(checks), None, (), withheld, None))
