"""What the disclosure service hands out, and the steps it shares: views, drafts, a joined database.

:class:`DisclosureView` is a request with its live decision (for a pending release
request, the engine's answer as of now, with every reason). :class:`Approval` is what
an approval did. :class:`JoinedDatabase` lets another service (``Obligations``) run
inside the approval's own transaction: each of its transactions becomes a savepoint
of that one session, so the decision and what was approved commit together or not at
all. :func:`checked_subject` makes the light checks of a new request's subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from sqlalchemy.orm import Session

from accord.domain.consent import Consent
from accord.domain.disclosure import DisclosureKind, DisclosureRequest
from accord.domain.obligation import CompromiseKind, CompromiseReport, Disposition, Recall
from accord.domain.release import Decision
from accord.domain.world import World
from accord.errors import UnknownReferenceError, ValidationError
from accord.services._database import Database
from accord.services._release_steps import ReleaseOutcome
from accord.services.obligations import parse_date
from accord.storage.sql import SqlRecordStore

__all__ = [
    "Approval",
    "DisclosureDeniedError",
    "DisclosurePage",
    "DisclosureView",
    "Issued",
    "JoinedDatabase",
    "checked_subject",
]

Issued: TypeAlias = Consent | Recall | CompromiseReport
"""What approving a consent, recall or compromise-report request signs and stores."""


class DisclosureDeniedError(ValidationError):
    """An approval refused because the release decision, run again now, is a denial.

    ``decision`` holds every reason; the request stays pending.
    """

    def __init__(self, message: str, *, decision: Decision, hint: str = "") -> None:
        """Keep the denial with the message."""
        super().__init__(message, hint=hint)
        self.decision = decision


@dataclass(frozen=True, slots=True, kw_only=True)
class DisclosureView:
    """A request, and for a pending release request the decision as of now (else ``None``)."""

    request: DisclosureRequest
    decision: Decision | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form: the request, and the live decision when there is one."""
        out = self.request.to_dict()
        out["decision"] = self.decision.to_dict() if self.decision is not None else None
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class DisclosurePage:
    """One page of requests and the cursor for the next (``None`` on the last page)."""

    items: tuple[DisclosureView, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    """An approved request and what it made: the sealed release, or the signed obligation."""

    request: DisclosureRequest
    release: ReleaseOutcome | None = None
    obligation: Issued | None = field(default=None)

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        out: dict[str, object] = {"request": self.request.to_dict()}
        if self.release is not None:
            out["release"] = self.release.to_dict()
        if self.obligation is not None:
            out["obligation"] = self.obligation.to_dict()
        return out


class JoinedDatabase(Database):
    """A database whose every transaction is a savepoint of one session its caller holds.

    Nothing commits here: the caller's transaction does, with everything done through
    this object, or rolls it all back.
    """

    def __init__(self, session: Session) -> None:  # no engine of its own: the session's
        """Run every transaction in ``session``."""
        self._session = session

    @contextmanager
    def transaction(self, action: str) -> Iterator[Session]:  # noqa: ARG002 - the same signature as Database's
        """A savepoint of the caller's session (rolled back alone if the block fails)."""
        with self._session.begin_nested():
            yield self._session

    def close(self) -> None:
        """Nothing to close: the caller owns the session."""


def _choice(kind: type[StrEnum], value: str | None, what: str) -> str:
    if value is None or value not in {k.value for k in kind}:
        msg = f"unknown {what} {value!r} (known: {', '.join(k.value for k in kind)})"
        raise ValidationError(msg)
    return value


def _own_record(session: Session, record_id: str | None, party: str) -> None:
    if record_id is None:
        return
    stored = SqlRecordStore(session).get(record_id)
    if stored is None:
        msg = f"no record {record_id!r} on this node"
        raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
    if stored.record.originator != party:
        msg = f"record {record_id} was originated by {stored.record.originator}: only the originator decides its fate"
        raise ValidationError(msg)


def checked_subject(  # noqa: PLR0913 - the subject's parts, where it is checked, and against what
    session: Session,
    kind: DisclosureKind,
    *,
    record_id: str | None,
    party: str | None,
    details: Mapping[str, str],
    world: World,
    own: str,
    today: dt.date,
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """Check a new request's subject against this node and its world; the party and details cleaned.

    Light checks only (what the requester can fix at once): the full ones run again
    when it is approved, against the world and the store of that moment.

    Raises:
        ValidationError: an unknown party, kind of compromise or disposition, a
            malformed date, or a record not held (or not originated) here.
    """
    cleaned = {k: v.strip() for k, v in details.items() if v.strip()}
    party = party.strip().upper() if party and party.strip() else None
    if party is not None:
        world.check_parties((party,))
        if party == own and kind is not DisclosureKind.COMPROMISE_REPORT:
            msg = f"{own} is this node's own party: name another"
            raise ValidationError(msg)
    if kind in {DisclosureKind.RELEASE, DisclosureKind.RECALL}:
        _own_record(session, record_id, own)
    elif kind is DisclosureKind.CONSENT:
        holder = cleaned.get("holder", "").upper()
        world.check_parties((holder,))
        cleaned["holder"] = holder
        start = parse_date(cleaned.get("valid_from", ""), "the start of the window (--from)")
        end = parse_date(cleaned.get("valid_until", ""), "the end of the window (--until)")
        if end < start or end < today:
            msg = f"the window {start} to {end} is out of order or over already (today is {today})"
            raise ValidationError(msg)
        cleaned["valid_from"], cleaned["valid_until"] = start.isoformat(), end.isoformat()
        _own_record(session, record_id, own)
    elif kind is DisclosureKind.COMPROMISE_REPORT:
        _choice(CompromiseKind, cleaned.get("kind"), "kind of compromise")
        if "detected_on" in cleaned:
            detected = parse_date(cleaned["detected_on"], "the detection date (--detected)")
            if detected > today:
                msg = f"the detection date {detected} is after today ({today})"
                raise ValidationError(msg)
    if kind is DisclosureKind.RECALL:
        _choice(Disposition, cleaned.get("disposition"), "disposition")
    return party, tuple(sorted(cleaned.items()))
