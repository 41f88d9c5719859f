"""Consents and obligations after release: issue, sign, store and audit; export and import.

:class:`Obligations` issues the signed objects of the GSOMIA: consent to onward release
(Art.5), reclassification notices (Art.6(g)), recalls and their acknowledgements
(Art.6(h), 13), compromise reports and the investigation results closing them (Art.17).
Each method checks the request against the node's identity and world, signs the value's
canonical JSON with the node's Ed25519 and ML-DSA-65 keys, and stores it with its audit
entry in one transaction; a refused request stores only the audit entry of its refusal.

Until federation exists, obligations travel as files (``accord.signed/1``):
:meth:`Obligations.export` writes one; :meth:`Obligations.import_file` verifies it with
the signer's public descriptor (its ``node.json``), checks that it is addressed to this
node and stores it once (the same object again changes nothing). :func:`consents_for`
and :func:`latest_levels` are what the release pipeline reads, inside its own
transaction. Stored signatures are not verified again on reading: they were checked
when the object was signed here or imported.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias, TypeVar

from sqlalchemy.orm import Session

from accord.audit.entry import EntryKind
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSignature, CompositeSigner
from accord.crypto.signing import signed_bytes
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseKind,
    CompromiseReport,
    Disposition,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.domain.record import Record
from accord.domain.world import World
from accord.errors import Error, IntegrityError, UnknownReferenceError, ValidationError
from accord.services import audit
from accord.services._database import NodeService
from accord.services._signed_objects import (
    FILE_FORMAT,
    KINDS,
    PURPOSE,
    Obligation,
    ObligationType,
    SignedObject,
    append_entry,
    check_import,
    choice,
    find,
    held_originator,
    keep,
    read_file,
    recall_status,
    report_status,
)
from accord.services.node import UnlockedNode, read_identity, read_identity_file, utc_now, write_atomically
from accord.storage.ports import ObligationStore
from accord.storage.sql import SqlObligationStore, SqlRecordStore
from accord.storage.values import RecallState, RecallStatus, ReportState, ReportStatus, Signed

__all__ = [
    "FILE_FORMAT",
    "PURPOSE",
    "CompromiseKind",
    "ConsentRequest",
    "Disposition",
    "Imported",
    "Obligation",
    "ObligationType",
    "Obligations",
    "RecallState",
    "ReportRequest",
    "ReportState",
    "SignedObject",
    "consents_for",
    "latest_levels",
    "parse_date",
]

_MAX_REASON: Final = 256  # an audit metadata value is short text
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_O = TypeVar(
    "_O", Consent, ReclassificationNotice, Recall, RecallAcknowledgement, CompromiseReport, InvestigationResult
)
_Source: TypeAlias = Session | ObligationStore
_Keys: TypeAlias = str | UnlockedNode | None  # the passphrase, or the node already unlocked


def parse_date(value: str | dt.date, what: str) -> dt.date:
    """``value`` as a date; text must be YYYY-MM-DD.

    Raises:
        ValidationError: naming ``what``.
    """
    if isinstance(value, dt.date):
        return value
    if _DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    msg = f"{what} must be a date YYYY-MM-DD, not {value!r}"
    raise ValidationError(msg)


# -- values --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Imported:
    """What an import did: the object, and whether it was new (False: it was held already)."""

    type: ObligationType
    value: Obligation
    new: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentRequest:
    """An originator's consent as asked for: exactly one of a record or a topic."""

    holder: str
    third_party: str
    valid_from: str | dt.date
    valid_until: str | dt.date
    record_id: str | None = None
    topic: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRequest:
    """A holder's report of a loss or compromise of a record."""

    record_id: str
    kind: str
    details: str
    detected_on: str | dt.date | None = None  # default: the day of the report
    originator: str | None = None  # needed only if no copy of the record is held here


# -- the service -------------------------------------------------------------------------


class Obligations(NodeService):
    """The node's consents and obligations, signed with its keys (``home``), in its database.

    Each issuing method takes ``keys``: the passphrase, or the node already unlocked
    (a caller issuing many unlocks once). It raises ``ValidationError`` for a refused
    request (the refusal is audited, nothing else is stored) or no passphrase, and
    ``IntegrityError`` for a wrong one (nothing is stored).
    """

    def grant_consent(
        self, request: ConsentRequest, *, world: World, keys: _Keys, at: dt.datetime | None = None
    ) -> Consent:
        """Consent, as originator, to a holder passing a record or topic to a third party (Art.5).

        Refused: an unknown party, this node as holder or third party, a record this
        node did not originate or did not make releasable to the holder, bad or
        unordered dates, or a window over before today.
        """

        def check(session: Session, party: str, today: dt.date) -> Consent:
            world.check_parties((request.holder, request.third_party))
            if party in {request.holder, request.third_party}:
                msg = f"{party} grants this consent: the holder and the third party are other parties"
                raise ValidationError(msg)
            start = parse_date(request.valid_from, "the start of the window (--from)")
            end = parse_date(request.valid_until, "the end of the window (--until)")
            if start <= end < today:
                msg = f"the window {start} to {end} is over already (today is {today})"
                raise ValidationError(msg)
            if request.record_id is not None:
                record = _own_record(session, request.record_id, party, "consents to its onward release")
                if request.holder not in record.rel_to:
                    msg = f"record {record.id} is not releasable to {request.holder}: it never holds it to pass on"
                    raise ValidationError(msg, hint="consent for a holder in the record's REL TO")
            return Consent(
                id=_new_id(party, "consent"),
                originator=party,
                holder=request.holder,
                third_party=request.third_party,
                valid_from=start,
                valid_until=end,
                record_id=request.record_id,
                topic=request.topic.strip() if request.topic is not None else None,
            )

        return self._issue(EntryKind.CONSENT, "consent.grant", check, keys=keys, at=at, subject=request.record_id)

    def issue_reclassification(  # noqa: PLR0913 - the notice's fields, the world and the keys
        self,
        record_id: str,
        levels: Mapping[str, str],
        *,
        world: World,
        keys: _Keys,
        reason: str = "",
        at: dt.datetime | None = None,
    ) -> ReclassificationNotice:
        """Re-mark portions (id -> level) of a record this node originated and notify holders (Art.6(g)).

        The local copy is re-marked in the transaction that stores the notice. Refused:
        not this node's record, no such portion, a level not of this node's scheme or
        not in use today, or a portion already at that level.
        """

        def check(session: Session, party: str, today: dt.date) -> ReclassificationNotice:
            record = _own_record(session, record_id, party, "reclassifies it")
            current = {p.id: p.level for p in record.portions}
            if not levels:
                msg = "name at least one portion and its new level (--portion ID=LEVEL)"
                raise ValidationError(msg)
            scheme = world.scheme_of(party)
            for pid, level_id in levels.items():
                if pid not in current:
                    msg = f"record {record_id} has no portion {pid!r} (portions: {', '.join(current)})"
                    raise UnknownReferenceError(msg)
                level = world.level(level_id)
                if not scheme.has(level.id) or not level.valid_on(today):
                    msg = f"portion {pid}: {level_id} is not a level of {party}'s scheme in use on {today}"
                    raise ValidationError(msg)
                if current[pid] == level_id:
                    msg = f"portion {pid} of {record_id} is already {level_id}"
                    raise ValidationError(msg)
            return ReclassificationNotice(
                id=_new_id(party, "reclass"),
                originator=party,
                record_id=record_id,
                levels=tuple(levels.items()),
                issued_on=today,
                reason=reason.strip(),
            )

        return self._issue(
            EntryKind.RECLASSIFICATION, "reclassification.issue", check, keys=keys, at=at, subject=record_id
        )

    def issue_recall(
        self, record_id: str, *, disposition: str, keys: _Keys, reason: str = "", at: dt.datetime | None = None
    ) -> Recall:
        """Ask every holder of a record this node originated to return or destroy it (Art.6(h), 13).

        Refused: not this node's record, or a disposition other than return or destroy.
        """

        def check(session: Session, party: str, today: dt.date) -> Recall:
            _own_record(session, record_id, party, "recalls it")
            return Recall(
                id=_new_id(party, "recall"),
                originator=party,
                record_id=record_id,
                disposition=Disposition(choice(Disposition, disposition, "disposition")),
                issued_on=today,
                reason=reason.strip(),
            )

        return self._issue(EntryKind.RECALL, "recall.issue", check, keys=keys, at=at, subject=record_id)

    def acknowledge_recall(
        self,
        recall_id: str,
        *,
        keys: _Keys,
        done: str | None = None,
        note: str = "",
        at: dt.datetime | None = None,
    ) -> RecallAcknowledgement:
        """Say, as a holder, what this node did about a recall imported here (default: what it asks).

        Refused: no such recall here, this node issued it, another disposition than it
        asks, or this node acknowledged it already.
        """

        def check(session: Session, party: str, today: dt.date) -> RecallAcknowledgement:
            status = recall_status(SqlObligationStore(session), recall_id)
            recall = status.recall.value
            if recall.originator == party:
                msg = f"{party} issued recall {recall_id}: its holders acknowledge it"
                raise ValidationError(msg)
            if any(a.value.holder == party for a in status.acknowledgements):
                msg = f"{party} has already acknowledged recall {recall_id}"
                raise ValidationError(msg)
            what = Disposition(choice(Disposition, done, "disposition")) if done else recall.disposition
            if what is not recall.disposition:
                msg = f"recall {recall_id} asks to {recall.disposition} the record, not to {what} it"
                raise ValidationError(msg)
            return RecallAcknowledgement(recall_id=recall_id, holder=party, done=what, on=today, note=note.strip())

        return self._issue(EntryKind.RECALL, "recall.acknowledge", check, keys=keys, at=at, subject=recall_id)

    def report_compromise(
        self, request: ReportRequest, *, world: World, keys: _Keys, at: dt.datetime | None = None
    ) -> CompromiseReport:
        """Report, as a holder, a loss or compromise of a record to its originator (Art.17).

        The originator is that of the copy held here (a received release); a record not
        held here needs ``request.originator``. Refused: this node originated the
        record, no or another originator, an unknown kind, no details, or a detection
        date that is malformed or after today.
        """

        def check(session: Session, party: str, today: dt.date) -> CompromiseReport:
            kind = CompromiseKind(choice(CompromiseKind, request.kind, "kind of compromise"))
            originator = held_originator(session, request.record_id) or request.originator
            if originator is None:
                msg = f"record {request.record_id} is not held here: name its originator (--originator CODE)"
                raise ValidationError(msg)
            if request.originator not in {None, originator}:
                msg = f"record {request.record_id} was originated by {originator}, not {request.originator}"
                raise ValidationError(msg)
            world.party(originator)
            if originator == party:
                msg = f"{party} originated {request.record_id}: a holder reports to the originator (Art.17)"
                raise ValidationError(msg)
            detected = parse_date(request.detected_on or today, "the detection date (--detected)")
            if detected > today:
                msg = f"the detection date {detected} is after today ({today})"
                raise ValidationError(msg)
            return CompromiseReport(
                id=_new_id(party, "report"),
                holder=party,
                originator=originator,
                record_id=request.record_id,
                kind=kind,
                detected_on=detected,
                reported_on=today,
                description=request.details.strip(),
            )

        return self._issue(EntryKind.REPORT, "report.file", check, keys=keys, at=at, subject=request.record_id)

    def close_report(
        self, report_id: str, *, findings: str, measures: str, keys: _Keys, at: dt.datetime | None = None
    ) -> InvestigationResult:
        """Close, as the holder that made it, a compromise report with the investigation's result (Art.17).

        Refused: no such report here, another party's report, closed already, or no
        findings or measures.
        """

        def check(session: Session, party: str, today: dt.date) -> InvestigationResult:
            status = report_status(SqlObligationStore(session), report_id)
            if status.report.value.holder != party:
                msg = f"report {report_id} was made by {status.report.value.holder}: that holder investigates"
                raise ValidationError(msg, hint="the originator imports the result (accord obligations import)")
            if status.result is not None:
                msg = f"report {report_id} was closed on {status.result.value.closed_on}"
                raise ValidationError(msg)
            return InvestigationResult(
                report_id=report_id, closed_on=today, findings=findings.strip(), measures=measures.strip()
            )

        return self._issue(EntryKind.REPORT, "report.close", check, keys=keys, at=at, subject=report_id)

    # -- export and import ----------------------------------------------------------------

    def export(
        self, type_: str, key: str, *, out: Path, record_id: str | None = None, holder: str | None = None
    ) -> SignedObject:
        """Write the stored object of ``type_`` under ``key`` to ``out`` as a signed object file.

        ``key`` is the object's id; for an acknowledgement the recall's id (by
        ``holder``, default this node), for a result the report's id. A reclassification
        notice is found through its ``record_id``.

        Raises:
            ValidationError: an unknown type, nothing stored under ``key``, or ``out``
                cannot be written.
        """
        kind = ObligationType(choice(ObligationType, type_, "object type"))
        party = read_identity(self._home).party
        with self._db.reading("read the signed object") as session:
            value, signature, signer = find(
                SqlObligationStore(session), kind, key, record_id=record_id, holder=holder or party
            )
        signed = SignedObject(
            type=kind, signer=signer, value=value, signature=CompositeSignature.from_dict(json.loads(signature))
        )
        try:
            write_atomically(out, signed.to_bytes())
        except OSError as e:
            msg = f"cannot write {out}: {e.strerror or e}"
            raise ValidationError(msg) from e
        return signed

    def import_file(
        self, path: Path, *, signer: Path, world: World, expect: str | None = None, at: dt.datetime | None = None
    ) -> Imported:
        """Verify a signed object file with the signer's node.json and store it once.

        The same object imported again stores nothing (``new`` is False). With
        ``expect`` (an :class:`ObligationType`), an object of another type is refused.

        Raises:
            ValidationError: refused (audited): unreadable, truncated or changed, not
                addressed to this node, at odds with what is held here, or another
                object under an id already held.
            IntegrityError: refused (audited): the signature does not verify with the
                keys in ``signer``.
        """
        at = at or utc_now()
        party = read_identity(self._home).party
        kind, action = EntryKind.RECEIPT, "obligation.import"
        try:
            signed = SignedObject.from_bytes(read_file(path), signer=read_identity_file(signer))
            kind, action = KINDS[signed.type], f"{signed.type}.import"
            with self._db.transaction("import the signed object") as session:
                new = check_import(session, signed, party=party, world=world, expect=expect)
                if new:
                    keep(session, signed.value, canonical_bytes(signed.signature.to_dict()))
                    append_entry(session, signed.value, action=action, party=party, at=at)
            return Imported(type=signed.type, value=signed.value, new=new)
        except (ValidationError, IntegrityError) as e:
            self._refused(kind, action, e, party=party, at=at, subject=None)
            raise

    # -- queries ----------------------------------------------------------------------------

    def consents(self, *, holder: str | None = None, third_party: str | None = None) -> Sequence[Signed[Consent]]:
        """Consents held here (granted here or imported), in the order kept."""
        with self._db.reading("read the consents") as session:
            return SqlObligationStore(session).consents(holder=holder, third_party=third_party)

    def recalls(self, *, record_id: str | None = None, state: str | None = None) -> Sequence[RecallStatus]:
        """Recalls held here with their acknowledgements, in the order kept."""
        wanted = RecallState(choice(RecallState, state, "recall state")) if state else None
        with self._db.reading("read the recalls") as session:
            return SqlObligationStore(session).recalls(record_id=record_id, state=wanted)

    def reports(self, *, record_id: str | None = None, state: str | None = None) -> Sequence[ReportStatus]:
        """Compromise reports held here with their results, in the order kept."""
        wanted = ReportState(choice(ReportState, state, "report state")) if state else None
        with self._db.reading("read the reports") as session:
            return SqlObligationStore(session).reports(record_id=record_id, state=wanted)

    def reclassifications(self, record_id: str) -> Sequence[Signed[ReclassificationNotice]]:
        """The reclassification notices about one record, in the order kept."""
        with self._db.reading("read the reclassifications") as session:
            return SqlObligationStore(session).reclassifications(record_id)

    def levels(self, record_id: str, *, originator: str | None = None) -> dict[str, str]:
        """:func:`latest_levels` of one record."""
        with self._db.reading("read the reclassifications") as session:
            return latest_levels(session, record_id, originator=originator)

    # -- shared -----------------------------------------------------------------------------

    def _issue(  # noqa: PLR0913 - the steps every issuing method shares
        self,
        kind: EntryKind,
        action: str,
        check: Callable[[Session, str, dt.date], _O],
        *,
        keys: _Keys,
        at: dt.datetime | None,
        subject: str | None,
    ) -> _O:
        """Check (a refusal is audited), sign, then store with the audit entry in one transaction."""
        at = at or utc_now()
        party = read_identity(self._home).party
        with (
            self._refusing(kind, action, party=party, at=at, subject=subject),
            self._db.transaction(f"check the {action}") as session,
        ):
            value = check(session, party, at.date())
        node = keys if isinstance(keys, UnlockedNode) else self._unlock(keys)
        signature = CompositeSigner(node.keys).sign(signed_bytes(value.to_dict(), purpose=PURPOSE))
        with (
            self._refusing(kind, action, party=party, at=at, subject=subject),
            self._db.transaction(f"store the {action}") as session,
        ):
            keep(session, value, canonical_bytes(signature.to_dict()))
            if isinstance(value, ReclassificationNotice):  # re-mark this node's own copy
                SqlRecordStore(session).set_levels(value.record_id, dict(value.levels))
            append_entry(session, value, action=action, party=party, at=at)
        return value

    @contextmanager
    def _refusing(
        self, kind: EntryKind, action: str, *, party: str, at: dt.datetime, subject: str | None
    ) -> Iterator[None]:
        try:
            yield
        except ValidationError as e:
            self._refused(kind, action, e, party=party, at=at, subject=subject)
            raise

    def _refused(  # noqa: PLR0913 - the fields of a refusal's audit entry
        self, kind: EntryKind, action: str, error: Error, *, party: str, at: dt.datetime, subject: str | None
    ) -> None:
        with self._db.transaction("audit the refusal") as session:
            audit.append(
                session,
                kind=kind,
                actor=party,
                at=at,
                subjects=(subject,) if subject and len(subject) <= _MAX_REASON else (),
                meta={"action": action, "outcome": "refused", "reason": error.message[:_MAX_REASON]},
            )


# -- helpers -------------------------------------------------------------------------------


def _new_id(party: str, what: str) -> str:
    return f"{party}-{what}-{uuid.uuid4()}"


def _own_record(session: Session, record_id: str, party: str, does: str) -> Record:
    stored = SqlRecordStore(session).get(record_id)
    if stored is None:
        msg = f"no record {record_id!r} originated on this node"
        raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
    if stored.record.originator != party:
        msg = f"record {record_id} was originated by {stored.record.originator}: only the originator {does}"
        raise ValidationError(msg)
    return stored.record


# -- what the release pipeline reads -------------------------------------------------------


def _store(source: _Source) -> ObligationStore:
    return SqlObligationStore(source) if isinstance(source, Session) else source


def consents_for(  # noqa: PLR0913 - each is one condition of a consent
    source: _Source,
    *,
    originator: str,
    holder: str,
    third_party: str,
    record_id: str,
    topics: Collection[str],
    on: dt.date,
) -> tuple[Consent, ...]:
    """The consents held here letting ``holder`` pass ``originator``'s record to ``third_party`` on ``on``.

    ``source`` is the caller's session (read inside its transaction) or any
    ``ObligationStore``. Each consent returned ``permits`` exactly that release: pass
    them to ``accord.policy.decide(..., consents=...)``.
    """
    wanted = frozenset(topics)
    return tuple(
        s.value
        for s in _store(source).consents(originator=originator, holder=holder, third_party=third_party)
        if s.value.permits(
            originator=originator, holder=holder, third_party=third_party, record_id=record_id, topics=wanted, on=on
        )
    )


def latest_levels(source: _Source, record_id: str, *, originator: str | None = None) -> dict[str, str]:
    """Each reclassified portion of a record (id -> level in the originator's scheme), as of the latest notice.

    Notices apply in the order they were issued (on the same day, the order they were
    kept), a later one overriding an earlier one portion by portion; portions never
    reclassified are absent. With ``originator`` (pass the record's), only that
    party's notices count.
    """
    notices = [
        s.value
        for s in _store(source).reclassifications(record_id)
        if originator is None or s.value.originator == originator
    ]
    levels: dict[str, str] = {}
    for notice in sorted(notices, key=lambda n: n.issued_on):
        levels.update(notice.levels)
    return levels
