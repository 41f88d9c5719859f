"""The decision engine as written before its tables (``accord.policy._index``): the oracle.

This is ``accord/policy/engine.py`` as it stood before it was tuned for
``bench/decide.py``: each rule written out directly against the world, with no tables,
no shared checks and no fast paths. ``test_decide_reference.py`` checks that the tuned
engine gives exactly the same decisions (``to_dict()``, ``reasons``) and raises the same
errors. Change both together when a rule changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence

from accord.domain.agreement import Agreement
from accord.domain.consent import Consent
from accord.domain.record import Portion, Record
from accord.domain.release import Check, Decision, Hop, Label, Rule
from accord.domain.world import World
from accord.errors import ValidationError

__all__ = ["decide"]

FAIL_CLOSED = "Accord rule 1: no agreement in force, no release (fail closed)"
ORIGINATOR_CHOICE = "Accord rule 3: releasability is the originator's choice"
THIRD_PARTY = "Accord rule 5: onward release needs the originator's prior written consent"
DIRECT_FIRST = "Accord rule 6: a lawful direct route is preferred to a hub"
INFERRED_NOTE = " (equivalence inferred: no published table)"

# Enum members are looked up through the class on each use; these are read many
# times per decision.
_ROUTE, _IN_FORCE, _LEVEL, _RELEASABLE = Rule.ROUTE, Rule.IN_FORCE, Rule.LEVEL, Rule.RELEASABLE
_SCOPE, _CONSENT, _HUB, _MARKING = Rule.SCOPE, Rule.CONSENT, Rule.HUB, Rule.MARKING

# Check(...) and Hop(...) run a Python-level __new__; tuple.__new__ builds the same
# NamedTuple directly, and decisions make a dozen of them.
_new = tuple.__new__

# portion id -> (level at this point of the route, whether an inferred row was used)
_Levels = dict[str, tuple[str, bool]]


def decide(
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
    sender = holder or record.originator
    _validate(record, sender, recipient, on, world)
    day = str(on)  # the text f"{on}" gives, made once rather than in every check
    checks: list[Check] = []
    portions = _releasable(record, recipient, checks)
    if not portions or not _check_consent(record, sender, recipient, on, day, world, tuple(consents), checks):
        return _deny(record, sender, recipient, on, checks)

    route_key = f"{sender}>{recipient}"
    start = _held_levels(world, record, sender, portions, on, route_key, checks)
    if not start:
        return _deny(record, sender, recipient, on, checks)
    direct = _leg(world, sender, recipient, start, record, on, day, route_key, checks)
    if direct is not None:
        hop, out = direct
        checks.append(_new(Check, (_HUB, True, "direct route lawful: no hub needed", DIRECT_FIRST, route_key)))
        return _permit(record, sender, recipient, on, world, (hop,), out, checks)

    for arrangement in world.arrangements(sender, recipient):
        routed = _hub_route(world, arrangement, sender, recipient, start, record, on, day, checks)
        if routed is not None:
            hops, out = routed
            return _permit(record, sender, recipient, on, world, hops, out, checks, via=arrangement)
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


def _held_levels(
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


def _check_consent(
    record: Record,
    sender: str,
    recipient: str,
    on: dt.date,
    day: str,
    world: World,
    consents: tuple[Consent, ...],
    checks: list[Check],
) -> bool:
    """Rule 5: the originator's own release, a consent object, or a hub's mandate."""
    originator = record.originator
    if sender == originator:
        detail = f"{sender} is the originator: no consent needed"
        checks.append(_new(Check, (_CONSENT, True, detail, ORIGINATOR_CHOICE, "")))
        return True
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
            and _scope_check(arrangement, record, "").passed
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


def _scope_check(agreement: Agreement, record: Record, route_key: str) -> Check:
    source = agreement.cite("scope")
    topics, purposes = agreement.topics, agreement.purposes
    if topics is not None and not record.topics <= topics:
        outside = ", ".join(sorted(record.topics - topics))
        allowed = ", ".join(sorted(topics))
        detail = f"topic {outside} is outside {agreement.id} (covers {allowed} only)"
        return _new(Check, (_SCOPE, False, detail, source, route_key))
    if purposes is not None and record.purpose not in purposes:
        detail = f"purpose {record.purpose or '(none)'} is outside {agreement.id}"
        return _new(Check, (_SCOPE, False, detail, source, route_key))
    return _new(Check, (_SCOPE, True, f"topics within the scope of {agreement.id}", source, route_key))


def _in_force_check(agreement: Agreement, on: dt.date, day: str, route_key: str) -> Check:
    status, reason = agreement.status_with_reason(on)
    detail = f"{agreement.id} is {status} on {day} ({reason})"
    return _new(Check, (_IN_FORCE, status.carries, detail, agreement.cite("in-force"), route_key))


def _leg(
    world: World,
    sender: str,
    receiver: str,
    levels: _Levels,
    record: Record,
    on: dt.date,
    day: str,
    route_key: str,
    checks: list[Check],
) -> tuple[Hop, _Levels] | None:
    """One hop under the first information-security agreement that makes it lawful.

    Returns the hop (for the highest level carried) and the levels on arrival, or
    ``None`` after recording why no agreement between the two makes it lawful.
    """
    carriers = world.carriers(sender, receiver)
    if not carriers:
        detail = f"no information-security agreement binds {sender} and {receiver}"
        checks.append(_new(Check, (_ROUTE, False, detail, FAIL_CLOSED, route_key)))
        return None
    tried: list[Check] = []
    best: tuple[Agreement, _Levels, list[Check]] | None = None
    for agreement in carriers:
        local = [_in_force_check(agreement, on, day, route_key), _scope_check(agreement, record, route_key)]
        if not (local[0].passed and local[1].passed):
            tried += local
            continue
        out = _translate(world, agreement, receiver, levels, on, route_key, local)
        if out and (best is None or len(out) > len(best[1])):
            # Two agreements in force between the same pair: the one that carries the
            # most portions wins (the first by id on a tie), so that adding a portion to
            # a record never makes a leg pick an agreement that carries less.
            if best is not None:
                tried += best[2]
            best = (agreement, out, local)
            if len(out) == len(levels):
                break
        else:
            tried += local
    if best is None:
        checks += tried
        return None
    agreement, out, local = best
    checks += local
    top = _highest(world, out, levels)
    hop = _new(Hop, (sender, receiver, agreement.id, agreement.fingerprint, levels[top][0], *out[top]))
    return hop, out


def _highest(world: World, portions: Collection[str], levels: _Levels) -> str:
    """The portion of ``portions`` whose level in ``levels`` ranks highest (the first if tied)."""
    if len(portions) == 1:
        return next(iter(portions))
    return max(portions, key=lambda pid: world.level(levels[pid][0]).rank)


def _translate(
    world: World,
    agreement: Agreement,
    receiver: str,
    levels: _Levels,
    on: dt.date,
    route_key: str,
    checks: list[Check],
) -> _Levels:
    """Rule 2 per portion: the level's equivalent for ``receiver`` under ``agreement``."""
    out: _Levels = {}
    for pid, (level_id, inferred) in levels.items():
        row = agreement.equivalence_row(level_id)
        target = None
        if row is not None:
            for candidate in row.for_party(receiver):
                if world.level(candidate).valid_on(on):
                    target = candidate
                    break
        if target is None or row is None:
            why = "is excluded from" if level_id in agreement.excluded_levels else "has no equivalent under"
            detail = f"portion {pid}: {level_id} {why} {agreement.id}"
            checks.append(_new(Check, (_LEVEL, False, detail, agreement.cite("level-covered"), route_key)))
            continue
        note = INFERRED_NOTE if row.inferred else ""
        detail = f"portion {pid}: {level_id} = {target} under {agreement.id}{note}"
        checks.append(_new(Check, (_LEVEL, True, detail, row.source or agreement.cite("level-covered"), route_key)))
        out[pid] = (target, inferred or row.inferred)
    return out


def _hub_route(
    world: World,
    arrangement: Agreement,
    sender: str,
    recipient: str,
    levels: _Levels,
    record: Record,
    on: dt.date,
    day: str,
    checks: list[Check],
) -> tuple[tuple[Hop, ...], _Levels] | None:
    """Rule 6: through the arrangement's hub, each leg lawful on its own."""
    hub = arrangement.hub
    assert hub is not None
    route_key = f"{sender}>{hub}>{recipient}"
    named = f"{arrangement.id} names {hub} as hub and covers {sender} and {recipient}"
    local = [
        _in_force_check(arrangement, on, day, route_key),
        _scope_check(arrangement, record, route_key),
        _new(Check, (_HUB, True, named, arrangement.cite("hub"), route_key)),
        # The hub is a conduit named by the arrangement, not an addressee: rule 3 is the
        # final recipient's REL TO, which carries the consent to forward (rule 6).
        _new(
            Check,
            (
                _RELEASABLE,
                True,
                f"{hub} receives it as the hub of {arrangement.id}, to forward it to {recipient}",
                arrangement.cite("hub"),
                route_key,
            ),
        ),
    ]
    cap = arrangement.cite("level-covered")
    within = {pid: lv for pid, lv in levels.items() if arrangement.covers_level(lv[0])}
    for pid, (level_id, _) in levels.items():
        inside = pid in within
        where = "is within" if inside else "is above or outside"
        detail = f"portion {pid}: {level_id} {where} the levels {arrangement.id} covers"
        local.append(_new(Check, (_LEVEL, inside, detail, cap, route_key)))
    checks += local
    if not (local[0].passed and local[1].passed and within):
        return None
    first = _leg(world, sender, hub, within, record, on, day, route_key, checks)
    if first is None:
        return None
    second = _leg(world, hub, recipient, first[1], record, on, day, route_key, checks)
    if second is None:
        return None
    consent = arrangement.clause("consent") or arrangement.clause("hub")
    detail = f"{record.originator} marked it REL TO {recipient}: consent for {hub} to forward it"
    checks.append(_new(Check, (_CONSENT, True, detail, str(consent or arrangement.id), route_key)))
    return (first[0], second[0]), second[1]


def _permit(
    record: Record,
    sender: str,
    recipient: str,
    on: dt.date,
    world: World,
    hops: tuple[Hop, ...],
    arrived: _Levels,
    checks: list[Check],
    via: Agreement | None = None,
) -> Decision:
    originator = world.party(record.originator)
    released: list[str] = []
    withheld: list[str] = []
    for portion in record.portions:
        (released if portion.id in arrived else withheld).append(portion.id)
    top = _highest(world, released, arrived)
    origin_level = world.level(next(p.level for p in record.portions if p.id == top))
    target = world.level(arrived[top][0])
    last = world.agreement(hops[-1].agreement)
    row = last.equivalence_row(target.id)
    label = Label(
        originator=originator.code,
        originator_name=originator.name,
        originator_level=origin_level.id,
        originator_level_name=origin_level.label(),
        recipient=recipient,
        recipient_level=target.id,
        recipient_level_name=target.label(),
        english=row.english if row is not None else "",
    )
    route = (sender, *[h.receiver for h in hops])
    detail = f"marked for {recipient}: {label.text()}"
    checks.append(_new(Check, (_MARKING, True, detail, last.cite("marking"), ">".join(route))))
    return Decision(
        allowed=True,
        record_id=record.id,
        sender=sender,
        recipient=recipient,
        on=on,
        route=route,
        hops=hops,
        via=(via.id, via.fingerprint) if via is not None else None,
        checks=tuple(checks),
        label=label,
        released_portions=tuple(released),
        withheld_portions=tuple(withheld),
    )


def _deny(record: Record, sender: str, recipient: str, on: dt.date, checks: list[Check]) -> Decision:
    if not checks:  # pragma: no cover - every path records at least one check
        checks.append(_new(Check, (_ROUTE, False, "no rule allowed it", FAIL_CLOSED, "")))
    return Decision(
        allowed=False,
        record_id=record.id,
        sender=sender,
        recipient=recipient,
        on=on,
        route=(),
        hops=(),
        checks=tuple(checks),
        label=None,
        released_portions=(),
        withheld_portions=tuple([p.id for p in record.portions]),
    )
