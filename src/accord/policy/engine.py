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
from typing import NoReturn

from accord.domain.consent import Consent
from accord.domain.record import Portion, Record
from accord.domain.release import Check, Decision, Hop, Rule
from accord.domain.world import World
from accord.errors import ValidationError
from accord.policy._index import (
    FAIL_CLOSED,
    ORIGINATOR_CHOICE,
    THIRD_PARTY,
    HubRoute,
    Leg,
    Pair,
    Tables,
    Terms,
)

__all__ = ["decide"]

# Enum members are looked up through the class on each use; these are read many
# times per decision.
_ROUTE, _IN_FORCE, _LEVEL, _RELEASABLE = Rule.ROUTE, Rule.IN_FORCE, Rule.LEVEL, Rule.RELEASABLE
_SCOPE, _CONSENT, _MARKING = Rule.SCOPE, Rule.CONSENT, Rule.MARKING

# Check(...), Hop(...), Label(...) and Decision(...) run a Python-level __new__;
# tuple.__new__ builds the same NamedTuple directly, with the fields in their order.
_new = tuple.__new__

# portion id -> (level at this point of the route, whether an inferred row was used)
_Levels = dict[str, tuple[str, bool]]
# The hop of a lawful leg, the levels on arrival, and the carrier used.
_Hop = tuple[Hop, _Levels, Leg]


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
    index = world.derived(Tables)
    originator = record.originator
    sender = holder or originator
    checks: list[Check] = []
    portions = _releasable(index, record, sender, recipient, on, world, checks)
    if not portions:
        return _deny(record, sender, recipient, on, checks)
    day = str(on)  # the text f"{on}" gives, made once rather than in every check
    pair = index.pairs[sender, recipient]
    if sender == originator:
        checks.append(index.no_consent_needed[sender])
        if len(portions) == 1:
            start = {portions[0].id: (portions[0].level, False)}
        else:
            start = {p.id: (p.level, False) for p in portions}
    else:
        if not _check_consent(index, record, sender, recipient, on, day, tuple(consents), checks):
            return _deny(record, sender, recipient, on, checks)
        start = _held_levels(world, record, sender, portions, on, pair.route_key, checks)
        if not start:
            return _deny(record, sender, recipient, on, checks)

    direct = _leg(index, pair, start, record, on, day, pair.route_key, checks)
    if direct is not None:
        checks.append(pair.lawful)
        return _permit(index, record, on, direct, (direct[0],), pair.route, pair.route_key, checks, None)
    for route in pair.hubs:
        routed = _hub_route(index, route, start, record, on, day, checks)
        if routed is not None:
            return _permit(index, record, on, routed[1], routed[0], route.route, route.route_key, checks, route.via)
    return _deny(record, sender, recipient, on, checks)


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


def _releasable(  # noqa: PLR0913
    index: Tables,
    record: Record,
    sender: str,
    recipient: str,
    on: dt.date,
    world: World,
    checks: list[Check],
) -> list[Portion]:
    """Rule 3 per portion (the originator's releasability marking), on well-formed input.

    The markings are checked from the tables as the portions are read; only malformed
    input goes through ``_validate``, which raises naming the first fault.
    """
    known = index.codes
    levels = index.scheme_levels.get(record.originator)
    if levels is None or sender == recipient or sender not in known or recipient not in known:
        _invalid(record, sender, recipient, on, world)
    out: list[Portion] = []
    for portion in record.portions:
        level = levels.get(portion.level)
        rel_to = portion.rel_to
        if (
            level is None
            or not known.issuperset(rel_to)
            or ((level.valid_from is not None or level.valid_until is not None) and not level.valid_on(on))
        ):
            _invalid(record, sender, recipient, on, world)
        if recipient in rel_to:
            detail = f"portion {portion.id} is REL TO {recipient}"
            checks.append(_new(Check, (_RELEASABLE, True, detail, ORIGINATOR_CHOICE, "")))
            out.append(portion)
        else:
            rel = ", ".join(sorted(rel_to)) or "nobody"
            detail = f"portion {portion.id} is not releasable to {recipient} (REL TO {rel})"
            checks.append(_new(Check, (_RELEASABLE, False, detail, ORIGINATOR_CHOICE, "")))
    return out


def _invalid(record: Record, sender: str, recipient: str, on: dt.date, world: World) -> NoReturn:
    _validate(record, sender, recipient, on, world)
    msg = f"record {record.id} is malformed"  # pragma: no cover - _validate names the fault
    raise ValidationError(msg)  # pragma: no cover


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
        detail = f"topic {outside} is outside {terms.id} (covers {terms.covers_topics} only)"
        return _new(Check, (_SCOPE, False, detail, terms.cite_scope, route_key))
    purposes = terms.purposes
    if purposes is not None and record.purpose not in purposes:
        detail = f"purpose {record.purpose or '(none)'} is outside {terms.id}"
        return _new(Check, (_SCOPE, False, detail, terms.cite_scope, route_key))
    return _new(Check, (_SCOPE, True, terms.in_scope, terms.cite_scope, route_key))


def _leg(  # noqa: PLR0913
    index: Tables,
    pair: Pair,
    levels: _Levels,
    record: Record,
    on: dt.date,
    day: str,
    route_key: str,
    checks: list[Check],
) -> _Hop | None:
    """One hop under the information-security agreement that makes it lawful.

    Returns the hop (for the highest level carried), the levels on arrival and the
    carrier used, or ``None`` after recording why no agreement between the two makes
    it lawful. ``route_key`` names the route the leg is part of.
    """
    legs = pair.legs
    if not legs:
        sender, receiver = pair.route
        detail = f"no information-security agreement binds {sender} and {receiver}"
        checks.append(_new(Check, (_ROUTE, False, detail, FAIL_CLOSED, route_key)))
        return None
    direct = route_key is pair.route_key
    tried: list[Check] = []
    best: tuple[Leg, _Levels, list[Check]] | None = None
    topics, purpose = record.topics, record.purpose
    for leg in legs:
        # Rule 1 (the status on the day and the event behind it), then rule 4.
        carries, before, after = leg.in_force[bisect_right(leg.dates, on)]
        in_force = _new(Check, (_IN_FORCE, carries, f"{before}{day}{after}", leg.cite_in_force, route_key))
        if (leg.topics is None or topics <= leg.topics) and (leg.purposes is None or purpose in leg.purposes):
            scope = (
                leg.in_scope_direct if direct else _new(Check, (_SCOPE, True, leg.in_scope, leg.cite_scope, route_key))
            )
            if not carries:
                tried += (in_force, scope)
                continue
        else:
            tried += (in_force, _scope(leg, record, route_key))
            continue
        local = [in_force, scope]
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
    top = next(iter(out)) if len(out) == 1 else _highest(index.ranks, out, levels)
    target, inferred = out[top]
    sender, receiver = pair.route
    return _new(Hop, (sender, receiver, leg.id, leg.fingerprint, levels[top][0], target, inferred)), out, leg


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
            target, text = found.target, found.text
            if target is None:
                for candidate, level, candidate_text in found.candidates:
                    if level.valid_on(on):
                        target, text = candidate, candidate_text
                        break
            if target is not None:
                checks.append(_new(Check, (_LEVEL, True, f"portion {pid}: {text}", found.source, route_key)))
                out[pid] = (target, inferred or found.inferred)
                continue
        why = "is excluded from" if level_id in leg.agreement.excluded_levels else "has no equivalent under"
        detail = f"portion {pid}: {level_id} {why} {leg.id}"
        checks.append(_new(Check, (_LEVEL, False, detail, leg.cite_level, route_key)))
    return out


def _hub_route(  # noqa: PLR0913
    index: Tables,
    route: HubRoute,
    levels: _Levels,
    record: Record,
    on: dt.date,
    day: str,
    checks: list[Check],
) -> tuple[tuple[Hop, Hop], _Hop] | None:
    """Rule 6: through the arrangement's hub, each leg lawful on its own."""
    route_key = route.route_key
    carries, before, after = route.in_force[bisect_right(route.dates, on)]
    in_force = _new(Check, (_IN_FORCE, carries, f"{before}{day}{after}", route.cite_in_force, route_key))
    if (route.topics is None or record.topics <= route.topics) and (
        route.purposes is None or record.purpose in route.purposes
    ):
        scope = route.in_scope_hub
    else:
        scope = _scope(route, record, route_key)
    # The hub is a conduit named by the arrangement, not an addressee: rule 3 is the
    # final recipient's REL TO, which carries the consent to forward (rule 6).
    local = [in_force, scope, route.named, route.conduit]
    cap, covers, covered = route.cite_level, route.covers, route.covered
    within: _Levels = {}
    for pid, level in levels.items():
        if level[0] in covers:
            within[pid] = level
            local.append(_new(Check, (_LEVEL, True, f"portion {pid}: {level[0]} is within{covered}", cap, route_key)))
        else:
            detail = f"portion {pid}: {level[0]} is above or outside{covered}"
            local.append(_new(Check, (_LEVEL, False, detail, cap, route_key)))
    checks += local
    if not (carries and scope.passed and within):
        return None
    sender, hub, recipient = route.route
    first = _leg(index, index.pairs[sender, hub], within, record, on, day, route_key, checks)
    if first is None:
        return None
    second = _leg(index, index.pairs[hub, recipient], first[1], record, on, day, route_key, checks)
    if second is None:
        return None
    detail = f"{record.originator} marked it REL TO {recipient}: consent for {hub} to forward it"
    checks.append(_new(Check, (_CONSENT, True, detail, route.consent_source, route_key)))
    return (first[0], second[0]), second


def _permit(  # noqa: PLR0913
    index: Tables,
    record: Record,
    on: dt.date,
    last: _Hop,
    hops: tuple[Hop, ...],
    route: tuple[str, ...],
    route_key: str,
    checks: list[Check],
    via: tuple[str, str] | None,
) -> Decision:
    _, arrived, leg = last
    portions = record.portions
    if len(portions) == 1:
        top, origin_level = portions[0].id, portions[0].level
        released: tuple[str, ...] = (top,)
        withheld: tuple[str, ...] = ()
    else:
        released = tuple([p.id for p in portions if p.id in arrived])
        withheld = tuple([p.id for p in portions if p.id not in arrived])
        top = _highest(index.ranks, released, arrived)
        origin_level = next(p.level for p in portions if p.id == top)
    label, detail = index.label(leg, record.originator, origin_level, arrived[top][0])
    checks.append(_new(Check, (_MARKING, True, detail, leg.cite_marking, route_key)))
    decision = (True, record.id, route[0], route[-1], on, route, hops, tuple(checks), label, released, withheld, via)
    return _new(Decision, decision)


def _deny(record: Record, sender: str, recipient: str, on: dt.date, checks: list[Check]) -> Decision:
    if not checks:  # pragma: no cover - every path records at least one check
        checks.append(_new(Check, (_ROUTE, False, "no rule allowed it", FAIL_CLOSED, "")))
    portions = record.portions
    withheld = (portions[0].id,) if len(portions) == 1 else tuple([p.id for p in portions])
    return _new(Decision, (False, record.id, sender, recipient, on, (), (), tuple(checks), None, (), withheld, None))
