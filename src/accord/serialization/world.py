"""Read a world directory (parties, schemes, agreements, sources) into a ``World``.

The format is documented in ``docs/world-format.md``. Every value is checked on load and
a failure names the file, the line and the field. Source ids (``W-EN10``) resolve to
their URLs from ``sources.yaml``, so every agreement and event carries its source URL.
This module reads files; it never writes them or touches a database.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from accord.domain.agreement import (
    Agreement,
    AgreementKind,
    Citation,
    Equivalence,
    Event,
    EventKind,
    Term,
)
from accord.domain.classification import Level, LevelId, Scheme
from accord.domain.party import Party, PartyCode, PartyKind
from accord.domain.world import World
from accord.errors import Error, WorldFormatError
from accord.serialization._yaml import Node, load_yaml

__all__ = ["FILES", "FORMAT", "default_world_path", "load_world"]

FORMAT: Final = "accord-world/1"
SOURCE_KINDS: Final = ("P", "N", "W")
FILES: Final = ("sources.yaml", "parties.yaml", "schemes.yaml", "agreements.yaml")

_E = TypeVar("_E")


def default_world_path() -> Path:
    """The world dataset shipped with Accord, built from the domain reference."""
    return Path(str(importlib.resources.files("accord.data") / "world"))


class _Fields:
    """Typed reads from one YAML mapping, with errors that say where."""

    def __init__(self, node: Any, file: Path, where: str, line: int = 0) -> None:  # noqa: ANN401
        if not isinstance(node, Node):
            msg = f"{file}:{line}: {where}: expected a mapping, got {type(node).__name__}"
            raise WorldFormatError(msg)
        self.node, self.file, self.where = node, file, where
        self.used: set[str] = set()

    def fail(self, key: str, problem: str) -> WorldFormatError:
        line = self.node.line_of(key)
        return WorldFormatError(f"{self.file}:{line}: {self.where}.{key}: {problem}")

    def raw(self, key: str, *, required: bool = True) -> Any:  # noqa: ANN401
        self.used.add(key)
        if key not in self.node or self.node[key] is None:
            if required:
                raise self.fail(key, "is required")
            return None
        return self.node[key]

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw(key, required=default is None)
        if value is None:
            return default or ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, not {value!r}")
        return value

    def opt(self, key: str) -> str:
        """An optional string: empty when missing."""
        return self.text(key, "") if self.raw(key, required=False) is not None else ""

    def flag(self, key: str, *, default: bool) -> bool:
        value = self.raw(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def number(self, key: str, *, required: bool = False) -> int | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(key, f"must be a whole number (0 or more), not {value!r}")
        return value

    def date(self, key: str, *, required: bool = True) -> dt.date | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        # The loader keeps dates as text (see _yaml.py), so a date is always parsed here.
        if isinstance(value, str) and len(value) == 10:  # noqa: PLR2004 - YYYY-MM-DD
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"must be a date YYYY-MM-DD, not {value!r}")

    def texts(self, key: str, *, required: bool = False) -> list[str] | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f"must be a list of strings, not {value!r}")
        return list(value)

    def enum(self, key: str, kind: Callable[[str], _E], default: _E | None = None) -> _E:
        value = self.raw(key, required=default is None)
        if value is None and default is not None:
            return default
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(str(k) for k in kind)  # type: ignore[attr-defined]
            raise self.fail(key, f"{value!r} is not one of: {choices}") from None

    def done(self) -> None:
        extra = sorted(set(self.node) - self.used)
        if extra:
            raise self.fail(extra[0], "is not a known field (check the spelling)")


def _items(data: Any, key: str, file: Path) -> list[tuple[Any, int]]:  # noqa: ANN401
    top = _Fields(data, file, file.stem)
    fmt = top.text("format")
    if fmt != FORMAT:
        raise top.fail("format", f"is {fmt!r}; this Accord reads {FORMAT!r}")
    items = top.raw(key)
    top.done()
    if not isinstance(items, list):
        raise top.fail(key, "must be a list")
    base = top.node.line_of(key)
    return [(item, item.line if isinstance(item, Node) else base) for item in items]


def load_world(path: Path | str | None = None) -> World:
    """Load and validate a world directory (default: the shipped dataset)."""
    root = Path(path) if path is not None else default_world_path()
    if not root.is_dir():
        msg = f"{root}: not a directory (a world is a directory holding {', '.join(FILES)})"
        raise WorldFormatError(msg)
    sources = _load_sources(root / "sources.yaml")
    parties = [
        _party(_Fields(n, root / "parties.yaml", f"parties[{i}]", ln))
        for i, (n, ln) in enumerate(_items(load_yaml(root / "parties.yaml"), "parties", root / "parties.yaml"))
    ]
    schemes_file = root / "schemes.yaml"
    schemes = [
        _scheme(_Fields(n, schemes_file, f"schemes[{i}]", ln), sources)
        for i, (n, ln) in enumerate(_items(load_yaml(schemes_file), "schemes", schemes_file))
    ]
    agreements_file = root / "agreements.yaml"
    agreements = []
    for i, (node, line) in enumerate(_items(load_yaml(agreements_file), "agreements", agreements_file)):
        fields = _Fields(node, agreements_file, f"agreements[{i}]", line)
        agreements.append(_agreement(fields, sources))
    try:
        return World(parties=tuple(parties), schemes=tuple(schemes), agreements=tuple(agreements))
    except WorldFormatError:
        raise
    except Error as e:
        msg = f"{root}: the files load but do not fit together: {e.message}"
        raise WorldFormatError(msg) from e


def _load_sources(file: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (node, line) in enumerate(_items(load_yaml(file), "sources", file)):
        f = _Fields(node, file, f"sources[{i}]", line)
        key, url = f.text("id"), f.text("url")
        kind = f.text("kind", "P")
        if kind not in SOURCE_KINDS:
            raise f.fail("kind", f"must be one of {', '.join(SOURCE_KINDS)} (primary, news, weak), not {kind!r}")
        f.opt("title")
        f.done()
        if key in out:
            raise f.fail("id", f"source {key!r} is defined twice")
        out[key] = url
    return out


def _source(f: _Fields, key: str, sources: dict[str, str], *, required: bool = False) -> str:
    ids = f.texts(key, required=required) or []
    urls = []
    for source_id in ids:
        if source_id.startswith(("http://", "https://")):
            urls.append(source_id)
        elif source_id in sources:
            urls.append(sources[source_id])
        else:
            raise f.fail(key, f"unknown source {source_id!r} (define it in sources.yaml)")
    return " ".join(urls)


def _guard(f: _Fields, key: str, build: Callable[[], _E]) -> _E:
    """Turn a domain validation error into one that names the file and line."""
    try:
        return build()
    except WorldFormatError:
        raise
    except Error as e:
        raise f.fail(key, e.message) from e


def _party(f: _Fields) -> Party:
    party = _guard(
        f,
        "code",
        lambda: Party(
            code=PartyCode(f.text("code")),
            name=f.text("name"),
            kind=f.enum("kind", PartyKind, PartyKind.NATION),
            native_name=f.opt("native_name"),
            authority=f.opt("authority"),
            scheme=f.opt("scheme"),
        ),
    )
    f.done()
    return party


def _scheme(f: _Fields, sources: dict[str, str]) -> Scheme:
    party = f.text("party")
    name = f.text("name")
    source = _source(f, "source", sources)
    raw_levels = f.raw("levels")
    if not isinstance(raw_levels, list):
        raise f.fail("levels", "must be a list")
    levels = []
    for j, node in enumerate(raw_levels):
        lf = _Fields(node, f.file, f"{f.where}.levels[{j}]", f.node.line_of("levels"))
        level = _guard(lf, "id", functools.partial(_level, lf))
        _source(lf, "source", sources)
        lf.done()
        levels.append(level)
    f.done()
    return _guard(f, "levels", lambda: Scheme(party=party, name=name, levels=tuple(levels), source=source))


def _level(lf: _Fields) -> Level:
    return Level(
        id=LevelId(lf.text("id")),
        rank=lf.number("rank", required=True) or 0,
        native=lf.text("native"),
        romanised=lf.opt("romanised"),
        english=lf.opt("english"),
        valid_from=lf.date("valid_from", required=False),
        valid_until=lf.date("valid_until", required=False),
        note=lf.opt("note"),
    )


def _agreement(f: _Fields, sources: dict[str, str]) -> Agreement:
    agreement_id = f.text("id")
    events = tuple(
        _event(_Fields(n, f.file, f"{f.where}.events[{j}]", f.node.line_of("events")), sources)
        for j, n in enumerate(_list(f, "events"))
    )
    rows = tuple(
        _equivalence(
            _Fields(n, f.file, f"{f.where}.equivalences[{j}]", f.node.line_of("equivalences")),
            sources,
        )
        for j, n in enumerate(_list(f, "equivalences", required=False))
    )
    clauses = _clauses(f, sources)
    topics = _scope(f, "topics", required=f.node.get("kind") in _CARRYING_KINDS)
    purposes = _scope(f, "purposes")
    term = _term(f)
    excluded = tuple(f.texts("excluded_levels") or ())
    agreement = _guard(
        f,
        "id",
        lambda: Agreement(
            id=agreement_id,
            kind=f.enum("kind", AgreementKind),
            title=f.text("title"),
            parties=tuple(f.texts("parties", required=True) or ()),
            binding=f.flag("binding", default=True),
            hub=f.opt("hub") or None,
            topics=topics,
            purposes=purposes,
            equivalences=rows,
            excluded_levels=excluded,
            term=term,
            relies_on=tuple(f.texts("relies_on") or ()),
            clauses=clauses,
            sources=tuple(_source(f, "sources", sources).split()),
            notes=f.opt("notes"),
            events=events,
        ),
    )
    f.raw("details", required=False)  # kind-specific facts kept for later features
    f.done()
    return agreement


def _list(f: _Fields, key: str, *, required: bool = True) -> list[Any]:
    value = f.raw(key, required=required)
    if value is None:
        return []
    if not isinstance(value, list):
        raise f.fail(key, "must be a list")
    return value


# Agreements that carry records must state their scope, 'any' included: fail closed.
_CARRYING_KINDS: Final = (str(AgreementKind.INFORMATION_SECURITY), str(AgreementKind.HUB_ARRANGEMENT))


def _scope(f: _Fields, key: str, *, required: bool = False) -> frozenset[str] | None:
    value = f.raw(key, required=required)
    if value is None or value == "any":
        return None
    items = f.texts(key)
    if not items:
        raise f.fail(key, "must be 'any' or a non-empty list")
    return frozenset(items)


def _term(f: _Fields) -> Term | None:
    node = f.raw("term", required=False)
    if node is None:
        return None
    tf = _Fields(node, f.file, f"{f.where}.term", f.node.line_of("term"))
    anniversary = None
    text = tf.opt("anniversary")
    if text:
        try:
            month, day = (int(x) for x in text.split("-"))
        except ValueError:
            raise tf.fail("anniversary", f"must be MM-DD, not {text!r}") from None
        anniversary = (month, day)
    term = _guard(
        tf,
        "anniversary",
        lambda: Term(
            initial_years=tf.number("initial_years"),
            renewal_years=tf.number("renewal_years"),
            notice_days=tf.number("notice_days"),
            anniversary=anniversary,
        ),
    )
    tf.done()
    return term


def _clauses(f: _Fields, sources: dict[str, str]) -> tuple[tuple[str, Citation], ...]:
    node = f.raw("clauses", required=False)
    if node is None:
        return ()
    cf = _Fields(node, f.file, f"{f.where}.clauses", f.node.line_of("clauses"))
    out = []
    for rule in list(cf.node):
        item = _Fields(cf.raw(rule), f.file, f"{f.where}.clauses.{rule}", cf.node.line_of(rule))
        out.append((rule, Citation(cite=item.text("cite"), source=_source(item, "source", sources))))
        item.done()
    return tuple(sorted(out))


def _event(f: _Fields, sources: dict[str, str]) -> Event:
    event = _guard(
        f,
        "kind",
        lambda: Event(
            on=f.date("date") or dt.date.min,
            kind=f.enum("kind", EventKind),
            summary=f.opt("summary"),
            party=f.opt("party") or None,
            effective=f.date("effective", required=False),
            source=_source(f, "source", sources, required=True),
            inferred=f.flag("inferred", default=False),
        ),
    )
    f.done()
    return event


def _equivalence(f: _Fields, sources: dict[str, str]) -> Equivalence:
    node = f.raw("levels")
    lf = _Fields(node, f.file, f"{f.where}.levels", f.node.line_of("levels"))
    levels = []
    for party in list(lf.node):
        ids = lf.texts(party, required=True) or []
        levels.append((party, tuple(ids)))
    lf.done()
    row = _guard(
        f,
        "levels",
        lambda: Equivalence(
            levels=tuple(levels),
            english=f.opt("english"),
            inferred=f.flag("inferred", default=False),
            source=_source(f, "source", sources),
        ),
    )
    f.done()
    return row
