"""Which world a command works on, and what it says about parties and agreements.

``open_world`` applies the source rule every reading command shares: an explicit path,
else ``ACCORD_WORLD``, else the node's registry when the node is initialised and holds
a world, else the dataset shipped with Accord. The summaries turn a world into plain
rows for people and for ``--json``: parties, agreements with their status on a date,
and one agreement's events and status timeline. Nothing here prints or parses flags
(that is the CLI), and nothing here writes to the registry (``services.registry``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from accord.domain.world import World
from accord.errors import StorageError, UnknownReferenceError
from accord.serialization.world import default_world_path, load_world

if TYPE_CHECKING:
    from accord.domain.agreement import Agreement, AgreementStatus
    from accord.services.registry import LoadReport

__all__ = [
    "SOURCE_RULE",
    "AgreementDetail",
    "AgreementRow",
    "EquivalenceRow",
    "EventRow",
    "LoadedWorld",
    "PartyRow",
    "StatusChange",
    "World",
    "WorldSource",
    "WorldSummary",
    "describe_agreement",
    "init_node",
    "load_into_registry",
    "open_world",
    "read_world",
    "redact_url",
    "summarise_world",
    "today",
]

SOURCE_RULE = (
    "World source: --world PATH if given, else $ACCORD_WORLD if set, else the node's "
    "registry if the node is initialised and a world is loaded, else the dataset "
    "shipped with Accord."
)


def today() -> dt.date:
    """The local date: the default of every ``--on`` (only services read the clock)."""
    return dt.datetime.now().astimezone().date()


def read_world(path: Path | str | None = None) -> World:
    """Load and validate a world directory (``None``: the shipped dataset).

    Raises:
        WorldFormatError: a file does not load; the message names the file, line and field.
    """
    return load_world(path)


class WorldSource(StrEnum):
    """Where a command's world came from, in the order the source rule tries them."""

    OPTION = "option"
    ENVIRONMENT = "environment"
    REGISTRY = "registry"
    SHIPPED = "shipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedWorld:
    """A world and where it came from (said in every command's output)."""

    world: World
    source: WorldSource
    location: str

    def describe(self) -> str:
        """One phrase, e.g. ``--world /tmp/w`` or ``the shipped dataset``."""
        match self.source:
            case WorldSource.OPTION:
                return f"--world {self.location}"
            case WorldSource.ENVIRONMENT:
                return f"ACCORD_WORLD={self.location}"
            case WorldSource.REGISTRY:
                return f"the node registry ({self.location})"
            case WorldSource.SHIPPED:
                return "the shipped dataset"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "source": str(self.source),
            "location": self.location,
            "fingerprint": self.world.fingerprint,
        }


def open_world(
    *,
    path: Path | str | None = None,
    env_path: Path | str | None = None,
    database_url: str | None = None,
) -> LoadedWorld:
    """Apply the source rule (see ``SOURCE_RULE``) and load the world it picks.

    ``env_path`` is the value of ``ACCORD_WORLD`` and ``database_url`` the node's
    database; the caller reads both from its settings. A node that was never
    initialised is skipped without creating its database file.
    """
    if path is not None:
        return LoadedWorld(world=read_world(path), source=WorldSource.OPTION, location=str(path))
    if env_path is not None:
        return LoadedWorld(world=read_world(env_path), source=WorldSource.ENVIRONMENT, location=str(env_path))
    if database_url is not None:
        world = _registry_world(database_url)
        if world is not None:
            return LoadedWorld(world=world, source=WorldSource.REGISTRY, location=redact_url(database_url))
    return LoadedWorld(world=read_world(None), source=WorldSource.SHIPPED, location=str(default_world_path()))


def _registry_world(database_url: str) -> World | None:
    """The registry's world, or ``None`` if the node is not initialised or holds none."""
    if not _database_may_exist(database_url):
        return None
    from accord.services.registry import Registry  # noqa: PLC0415 - SQLAlchemy only when needed

    registry = Registry(database_url=database_url)
    try:
        return registry.world() if registry.has_world() else None
    finally:
        registry.close()


def _database_may_exist(database_url: str) -> bool:
    """False for a SQLite file that is not there: asking would create it."""
    match = re.match(r"^sqlite(?:\+\w+)?:///(.*)$", database_url)
    if match is None:
        return True  # a server database: only the registry can tell
    target = match.group(1).partition("?")[0]
    if target in {"", ":memory:"}:
        return False
    return Path(target).is_file()


def init_node(*, home: Path, database_url: str) -> None:
    """Create the node's home (owner-only) and bring its database to the latest schema.

    Idempotent: running it on an initialised node changes nothing.

    Raises:
        StorageError: the home cannot be created or the database refused.
    """
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        msg = f"cannot create the node's home {home}: {e.strerror or e}"
        raise StorageError(msg, hint="set ACCORD_HOME to a directory you can write") from e
    from accord.services.registry import Registry  # noqa: PLC0415 - see _registry_world

    registry = Registry(database_url=database_url)
    try:
        registry.init()
    finally:
        registry.close()


def load_into_registry(path: Path | str | None, *, database_url: str) -> LoadReport:
    """Validate a world directory (``None``: the shipped dataset) and store it.

    The world is read and checked in full before the registry is touched, so a bad
    directory changes nothing.

    Raises:
        WorldFormatError: the directory does not load (file, line and field named).
        StorageError: the node is not initialised or the database refused.
    """
    world = read_world(path)
    from accord.services.registry import Registry  # noqa: PLC0415 - see _registry_world

    registry = Registry(database_url=database_url)
    try:
        return registry.load_world(world)
    finally:
        registry.close()


def redact_url(url: str) -> str:
    """A database URL with its password masked (safe to print)."""
    from accord.storage.sql import redact  # noqa: PLC0415 - see _registry_world

    return redact(url)


# -- world summary ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyRow:
    """A party as ``world show`` lists it, with its levels valid on the date."""

    code: str
    name: str
    native_name: str
    kind: str
    scheme: str
    levels: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "code": self.code,
            "name": self.name,
            "native_name": self.native_name,
            "kind": self.kind,
            "scheme": self.scheme,
            "levels": list(self.levels),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementRow:
    """An agreement with its status on the date and the event that gave it."""

    id: str
    kind: str
    title: str
    parties: tuple[str, ...]
    hub: str | None
    binding: bool
    topics: tuple[str, ...] | None
    status: AgreementStatus
    since: dt.date | None
    reason: str
    fingerprint: str

    @property
    def carries(self) -> bool:
        """Whether new information may go under it on the date."""
        return self.status.carries

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "parties": list(self.parties),
            "hub": self.hub,
            "binding": self.binding,
            "topics": list(self.topics) if self.topics is not None else None,
            "status": str(self.status),
            "since": self.since.isoformat() if self.since else None,
            "in_force": self.carries,
            "reason": self.reason,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WorldSummary:
    """Parties and agreements as of one date (``world show``)."""

    on: dt.date
    loaded: LoadedWorld
    parties: tuple[PartyRow, ...]
    agreements: tuple[AgreementRow, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "on": self.on.isoformat(),
            "world": self.loaded.to_dict(),
            "parties": [p.to_dict() for p in self.parties],
            "agreements": [a.to_dict() for a in self.agreements],
        }


def summarise_world(loaded: LoadedWorld, on: dt.date, *, everything: bool = False) -> WorldSummary:
    """The parties and the agreements in force on ``on`` (all of them if ``everything``)."""
    world = loaded.world
    parties = tuple(
        PartyRow(
            code=p.code,
            name=p.name,
            native_name=p.native_name,
            kind=str(p.kind),
            scheme=p.scheme,
            levels=tuple(lv.id for lv in world.scheme_of(p.code).levels if lv.valid_on(on)),
        )
        for p in sorted(world.parties, key=lambda p: p.code)
    )
    rows = (_agreement_row(a, on) for a in sorted(world.agreements, key=lambda a: a.id))
    agreements = tuple(r for r in rows if everything or r.carries)
    return WorldSummary(on=on, loaded=loaded, parties=parties, agreements=agreements)


def _agreement_row(agreement: Agreement, on: dt.date) -> AgreementRow:
    return AgreementRow(
        id=agreement.id,
        kind=str(agreement.kind),
        title=agreement.title,
        parties=agreement.parties,
        hub=agreement.hub,
        binding=agreement.binding,
        topics=tuple(sorted(agreement.topics)) if agreement.topics is not None else None,
        status=agreement.status_on(on),
        since=max((day for day, _, _ in agreement.timeline() if day <= on), default=None),
        reason=agreement.status_reason(on),
        fingerprint=agreement.fingerprint,
    )


# -- one agreement ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRow:
    """One dated lifecycle event as ``agreements show`` lists it."""

    on: dt.date
    kind: str
    party: str | None
    summary: str
    effective: dt.date | None
    source: str
    inferred: bool

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "on": self.on.isoformat(),
            "kind": self.kind,
            "party": self.party,
            "summary": self.summary,
            "effective": self.effective.isoformat() if self.effective else None,
            "source": self.source,
            "inferred": self.inferred,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    """A change of status and what caused it."""

    on: dt.date
    status: AgreementStatus
    cause: str

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {"on": self.on.isoformat(), "status": str(self.status), "cause": self.cause}


@dataclass(frozen=True, slots=True, kw_only=True)
class EquivalenceRow:
    """One row of the agreement's equivalence table."""

    levels: tuple[tuple[str, tuple[str, ...]], ...]
    english: str
    inferred: bool

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "levels": {party: list(ids) for party, ids in self.levels},
            "english": self.english,
            "inferred": self.inferred,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementDetail:
    """Everything ``agreements show`` prints about one agreement."""

    row: AgreementRow
    on: dt.date
    purposes: tuple[str, ...] | None
    notes: str
    sources: tuple[str, ...]
    events: tuple[EventRow, ...]
    timeline: tuple[StatusChange, ...]
    equivalences: tuple[EquivalenceRow, ...]
    excluded_levels: tuple[str, ...]
    clauses: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            **self.row.to_dict(),
            "on": self.on.isoformat(),
            "purposes": list(self.purposes) if self.purposes is not None else None,
            "notes": self.notes,
            "sources": list(self.sources),
            "events": [e.to_dict() for e in self.events],
            "timeline": [t.to_dict() for t in self.timeline],
            "equivalences": [r.to_dict() for r in self.equivalences],
            "excluded_levels": list(self.excluded_levels),
            "clauses": dict(self.clauses),
        }


def describe_agreement(world: World, agreement_id: str, on: dt.date) -> AgreementDetail:
    """One agreement: its events, its status timeline and its status on ``on``.

    The id is matched exactly, then without regard to case.

    Raises:
        UnknownReferenceError: no agreement has that id; the message lists the known ones.
    """
    agreement = _find_agreement(world, agreement_id.strip())
    events = tuple(
        EventRow(
            on=e.on,
            kind=str(e.kind),
            party=e.party,
            summary=e.summary,
            effective=e.effective,
            source=e.source,
            inferred=e.inferred,
        )
        for e in agreement.events
    )
    timeline = tuple(
        StatusChange(
            on=day,
            status=status,
            cause=f"{event.kind}: {event.summary}".rstrip(": ")
            if event is not None
            else "the termination notice took effect",
        )
        for day, status, event in agreement.timeline()
    )
    rows = tuple(
        EquivalenceRow(levels=r.levels, english=r.english, inferred=r.inferred) for r in agreement.equivalences
    )
    return AgreementDetail(
        row=_agreement_row(agreement, on),
        on=on,
        purposes=tuple(sorted(agreement.purposes)) if agreement.purposes is not None else None,
        notes=agreement.notes,
        sources=agreement.sources,
        events=events,
        timeline=timeline,
        equivalences=rows,
        excluded_levels=agreement.excluded_levels,
        clauses=tuple((rule, str(cite)) for rule, cite in agreement.clauses),
    )


def _find_agreement(world: World, agreement_id: str) -> Agreement:
    try:
        return world.agreement(agreement_id)
    except UnknownReferenceError:
        folded = [a for a in world.agreements if a.id.casefold() == agreement_id.casefold()]
        if len(folded) == 1:
            return folded[0]
        raise
