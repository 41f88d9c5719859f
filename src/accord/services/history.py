"""The 2006 → 2023 history replayed through the engine: what could go from Seoul to Tokyo.

Each milestone is a dated event from the seed articles and the domain reference (the
2007 US-Japan GSOMIA, the 2012 postponement, TISA in 2014, the 2016 ROK-Japan GSOMIA,
the 2019 notice and its suspension, the 2023 withdrawal and Camp David). For each one
:func:`replay` asks the engine about a KOR record at ``KOR/MIL-II`` going to JPN, once
on a topic TISA covers (``dprk-missile``) and once on one it does not, and keeps the
answer as plain data: allowed or not, the route, the agreements, the label and why.
Nothing here prints (``accord demo`` does) or reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from accord.domain.release import Decision, Rule
from accord.services.decisions import ReleaseQuestion, decide_release

if TYPE_CHECKING:
    from accord.domain.world import World

__all__ = [
    "MILESTONES",
    "OTHER_TOPIC",
    "TISA_TOPIC",
    "HistoryStep",
    "Milestone",
    "Outcome",
    "replay",
]

SENDER: Final = "KOR"
RECIPIENT: Final = "JPN"
LEVEL: Final = "KOR/MIL-II"
TISA_TOPIC: Final = "dprk-missile"
# Any military subject outside North Korea's nuclear and missile threats will do:
# the seeds discuss maritime search-and-rescue drills and regional naval activity.
OTHER_TOPIC: Final = "maritime-security"


@dataclass(frozen=True, slots=True, kw_only=True)
class Milestone:
    """A dated event of the history, with where it is reported."""

    on: dt.date
    title: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {"on": self.on.isoformat(), "title": self.title, "source": self.source}


def _m(on: str, title: str, source: str) -> Milestone:
    return Milestone(on=dt.date.fromisoformat(on), title=title, source=source)


# Source ids are those of the domain reference (src/accord/data/world/sources.yaml);
# "seed" names one of the news reports the project started from.
MILESTONES: Final[tuple[Milestone, ...]] = (
    _m(
        "2006-07-03",
        "US Pacific Command floats a three-way US-ROK-Japan alliance; ROK-Japan defence exchanges stalled",
        "seed: Hankyoreh, 2006-07-03",
    ),
    _m(
        "2007-08-10",
        "US-Japan GSOMIA signed and in force at Tokyo (Aso, Schieffer)",
        "MOFAJ07",
    ),
    _m(
        "2011-01-10",
        "Defence ministers Kim Kwan-jin and Kitazawa agree to discuss a GSOMIA and an ACSA",
        "OANA11; seeds: Dong-A Ilbo and Chosun Ilbo, 2011-01",
    ),
    _m(
        "2012-06-29",
        "ROK postpones signing the GSOMIA less than an hour before the Tokyo ceremony",
        "YNA12",
    ),
    _m(
        "2014-10-09",
        "Trilateral information-sharing MOU under working-level discussion",
        "seed: Hankyoreh, 2014-10-09",
    ),
    _m(
        "2014-12-29",
        "TISA takes effect: ROK and Japan share through US DoD as hub, "
        "on North Korean nuclear and missile threats only",
        "CHD14; JOINS14",
    ),
    _m(
        "2015-04-27",
        "US-Japan Defense Guidelines revised; ROK-Japan sharing still only through TISA",
        "GL15",
    ),
    _m(
        "2016-11-23",
        "ROK-Japan GSOMIA signed at Seoul and in force on signature",
        "MOFAJ19",
    ),
    _m(
        "2019-08-23",
        "ROK notifies termination of the GSOMIA, to take effect 2019-11-23",
        "YNA19b",
    ),
    _m(
        "2019-11-22",
        "ROK suspends the effect of its notice, hours before it would have taken effect",
        "KNET19",
    ),
    _m(
        "2023-03-21",
        "ROK withdraws both 2019 notes in writing: the GSOMIA is normalised",
        "KH23",
    ),
    _m(
        "2023-08-18",
        "Camp David: US, Japan and ROK commit to consult on regional threats",
        "CD23; seed: JoongAng Daily, 2023",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What the engine decided for one topic on one date."""

    topic: str
    allowed: bool
    route: tuple[str, ...]
    agreements: tuple[str, ...]
    via: str | None
    label: str
    reason: str
    reasons: tuple[str, ...]

    @property
    def route_text(self) -> str:
        """``KOR → USA → JPN``, or ``—`` when nothing may go."""
        return " → ".join(self.route) if self.route else "—"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "topic": self.topic,
            "allowed": self.allowed,
            "route": list(self.route),
            "agreements": list(self.agreements),
            "via": self.via,
            "recipient_label": self.label,
            "reason": self.reason,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryStep:
    """One milestone and the two answers on that date."""

    milestone: Milestone
    covered: Outcome
    other: Outcome

    @property
    def on(self) -> dt.date:
        """The milestone's date."""
        return self.milestone.on

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            **self.milestone.to_dict(),
            "outcomes": [self.covered.to_dict(), self.other.to_dict()],
        }


def replay(world: World, milestones: tuple[Milestone, ...] = MILESTONES) -> tuple[HistoryStep, ...]:
    """Ask the engine, on each milestone's date, what may go from KOR to JPN and how."""
    return tuple(
        HistoryStep(
            milestone=m,
            covered=_outcome(world, m.on, TISA_TOPIC),
            other=_outcome(world, m.on, OTHER_TOPIC),
        )
        for m in sorted(milestones, key=lambda m: m.on)
    )


def _outcome(world: World, on: dt.date, topic: str) -> Outcome:
    question = ReleaseQuestion(sender=SENDER, recipient=RECIPIENT, level=LEVEL, topics=frozenset({topic}), on=on)
    decision = decide_release(world, question)
    via = decision.via[0] if decision.via else None
    return Outcome(
        topic=topic,
        allowed=decision.allowed,
        route=decision.route,
        agreements=tuple(agreement_id for agreement_id, _ in decision.agreements),
        via=via,
        label=decision.label.text() if decision.label else "",
        reason=_main_reason(decision),
        reasons=decision.reasons,
    )


def _main_reason(decision: Decision) -> str:
    """The one line a person needs: what made the route lawful, or every failed rule."""
    if not decision.allowed:
        return "; ".join(decision.reasons)
    chosen = ">".join(decision.route)
    wanted = Rule.HUB if len(decision.route) > 2 else Rule.IN_FORCE  # noqa: PLR2004
    for check in decision.checks:
        if check.rule is wanted and check.passed and check.route == chosen:
            return check.detail
    return decision.reasons[0] if decision.reasons else ""  # pragma: no cover
