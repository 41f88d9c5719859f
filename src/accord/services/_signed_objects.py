"""Signed consents and obligations as files, and how the obligations service stores and audits them.

:class:`SignedObject` is the ``accord.signed/1`` file an obligation travels in between
nodes until federation exists: read only in its exact canonical form and only with a
signature that verifies with the signer's public descriptor. :func:`check_import`
says whether an object is addressed to this node and consistent with what it holds;
:func:`keep`, :func:`find` and :func:`append_entry` put one in its store, find one to
export and write its audit entry. Nothing here reads the clock or unlocks keys: the
service (``accord.services.obligations``) does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, TypeAlias

from sqlalchemy.orm import Session

from accord.audit.entry import EntryKind, MetaValue
from accord.canonical import canonical_bytes, sha256_hex
from accord.crypto import CompositeSignature, CompositeVerifier
from accord.crypto.signing import signed_bytes
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseReport,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.domain.world import World
from accord.errors import Error, IntegrityError, UnknownReferenceError, ValidationError
from accord.services import audit
from accord.services.node import NodeIdentity
from accord.storage.sql import SqlObligationStore, SqlRecordStore, SqlReleaseStore
from accord.storage.values import MAX_PAGE, RecallStatus, ReleaseState, ReportStatus

__all__ = [
    "FILE_FORMAT",
    "KINDS",
    "PURPOSE",
    "Obligation",
    "ObligationType",
    "SignedObject",
    "append_entry",
    "check_import",
    "choice",
    "find",
    "held_originator",
    "keep",
    "read_file",
    "recall_status",
    "report_status",
]

FILE_FORMAT: Final = "accord.signed/1"
"""The ``format`` of an obligation file."""
PURPOSE: Final = "accord.obligation/1"
"""What an obligation's signature is made for (see ``accord.crypto.signing.signed_bytes``)."""

MAX_FILE: Final = 1 << 20  # an obligation file is a few KiB: refuse far larger ones unread
MAX_ID: Final = 128  # ids read from a file end up in audit entries (at most 256 characters)

Obligation: TypeAlias = (
    Consent | ReclassificationNotice | Recall | RecallAcknowledgement | CompromiseReport | InvestigationResult
)


class ObligationType(StrEnum):
    """The kinds of signed object, named as the ``type`` of their JSON form."""

    CONSENT = "consent"
    RECLASSIFICATION = "reclassification"
    RECALL = "recall"
    ACKNOWLEDGEMENT = "recall-acknowledgement"
    REPORT = "compromise-report"
    RESULT = "investigation-result"


_PARSE: Final[Mapping[ObligationType, Callable[[object], Obligation]]] = {
    ObligationType.CONSENT: Consent.from_dict,
    ObligationType.RECLASSIFICATION: ReclassificationNotice.from_dict,
    ObligationType.RECALL: Recall.from_dict,
    ObligationType.ACKNOWLEDGEMENT: RecallAcknowledgement.from_dict,
    ObligationType.REPORT: CompromiseReport.from_dict,
    ObligationType.RESULT: InvestigationResult.from_dict,
}
KINDS: Final[Mapping[ObligationType, EntryKind]] = {
    ObligationType.CONSENT: EntryKind.CONSENT,
    ObligationType.RECLASSIFICATION: EntryKind.RECLASSIFICATION,
    ObligationType.RECALL: EntryKind.RECALL,
    ObligationType.ACKNOWLEDGEMENT: EntryKind.RECALL,
    ObligationType.REPORT: EntryKind.REPORT,
    ObligationType.RESULT: EntryKind.REPORT,
}
"""The audit entry kind of each type of object."""


def choice(kind: type[StrEnum], value: str, what: str) -> str:
    """``value`` if it is one of ``kind``'s values; else a ValidationError listing them."""
    if value not in {k.value for k in kind}:
        msg = f"unknown {what} {value!r} (known: {', '.join(k.value for k in kind)})"
        raise ValidationError(msg)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedObject:
    """An obligation as it travels between nodes: its type, signer, value and signature.

    The file is exactly the canonical JSON (RFC 8785) of ``to_dict()`` and a newline,
    so any changed byte is noticed: in the value or the signature it breaks the
    signature, anywhere else the canonical form. The signature (Ed25519 and ML-DSA-65,
    each part naming its key id) covers the value for :data:`PURPOSE`.
    """

    type: ObligationType
    signer: str
    value: Obligation
    signature: CompositeSignature

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "format": FILE_FORMAT,
            "type": self.type.value,
            "signer": self.signer,
            "value": self.value.to_dict(),
            "signature": self.signature.to_dict(),
        }

    def to_bytes(self) -> bytes:
        """The file's bytes."""
        return canonical_bytes(self.to_dict()) + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes, *, signer: NodeIdentity) -> SignedObject:
        """Read a file, verifying its signature with the keys of ``signer`` (its node.json).

        Raises:
            ValidationError: not a complete signed object in its canonical form, or
                signed for another party than ``signer``'s.
            IntegrityError: the signature does not verify with ``signer``'s keys.
        """
        if len(data) > MAX_FILE:
            msg = f"the file is larger than {MAX_FILE} bytes: not a signed obligation"
            raise ValidationError(msg)
        try:
            parsed = json.loads(data)
            canonical = canonical_bytes(parsed) + b"\n" == data
        except (ValueError, Error):
            parsed, canonical = None, False
        if not isinstance(parsed, dict) or parsed.get("format") != FILE_FORMAT:
            msg = f"not a complete {FILE_FORMAT} object (truncated, or not an Accord obligation file)"
            raise ValidationError(msg)
        if set(parsed) != {"format", "type", "signer", "value", "signature"} or not canonical:
            msg = "the file is not in the canonical form it was exported in: it was changed"
            raise ValidationError(msg, hint="export it again on the signing node; nothing was stored")
        if parsed["signer"] != signer.party:
            msg = f"the file is signed by {parsed['signer']!r}, but the node file given is {signer.party}'s"
            raise ValidationError(msg, hint="pass the signer's node.json with --from")
        try:
            signature = CompositeSignature.from_dict(parsed["signature"])
            verifier = CompositeVerifier((signer.public.signing, signer.public.pq_signing))
            verifier.verify(signature, signed_bytes(parsed["value"], purpose=PURPOSE))
        except IntegrityError as e:
            msg = f"the signature does not verify with {signer.party}'s keys (fingerprint {signer.public.fingerprint})"
            raise IntegrityError(msg, hint="the file was changed, or another key signed it; nothing was stored") from e
        kind = ObligationType(choice(ObligationType, str(parsed["type"]), "object type"))
        value = _PARSE[kind](parsed["value"])
        return cls(type=kind, signer=signer.party, value=value, signature=signature)


def read_file(path: Path) -> bytes:
    """The bytes of ``path`` (one more than the most a file may hold, at most)."""
    try:
        with path.open("rb") as f:
            return f.read(MAX_FILE + 1)
    except OSError as e:
        msg = f"cannot read {path}: {e.strerror or e}"
        raise ValidationError(msg) from e


def recall_status(store: SqlObligationStore, recall_id: str) -> RecallStatus:
    """The recall ``recall_id`` held here, or an error saying where to get it."""
    status = store.recall(recall_id)
    if status is None:
        msg = f"no recall {recall_id!r} on this node"
        raise UnknownReferenceError(msg, hint="import the originator's recall first (accord obligations import)")
    return status


def report_status(store: SqlObligationStore, report_id: str) -> ReportStatus:
    """The compromise report ``report_id`` held here, or an error."""
    status = store.report(report_id)
    if status is None:
        msg = f"no compromise report {report_id!r} on this node"
        raise UnknownReferenceError(msg, hint="`accord report-compromise list` shows the reports")
    return status


def held_originator(session: Session, record_id: str) -> str | None:
    """The originator of the copy of ``record_id`` held here (made here, or received), if any."""
    stored = SqlRecordStore(session).get(record_id)
    if stored is not None:
        return stored.record.originator
    releases, after = SqlReleaseStore(session), None
    while page := releases.list(state=ReleaseState.RECEIVED, after=after, limit=MAX_PAGE):
        for release in page:
            if release.record_id == record_id and release.label is not None:
                return str(json.loads(release.label)["originator"])
        after = page[-1].id
    return None


def find(  # noqa: C901 - one branch per type of object
    store: SqlObligationStore, kind: ObligationType, key: str, *, record_id: str | None, holder: str
) -> tuple[Obligation, bytes, str]:
    """The stored object of ``kind`` under ``key``: its value, signature and signer.

    ``key`` is the object's id; for an acknowledgement the recall's id (by
    ``holder``), for a result the report's id. A reclassification notice is found
    through its ``record_id``.
    """
    found: tuple[Obligation, bytes] | None = None
    if kind is ObligationType.CONSENT:
        if consent := store.consent(key):
            found, signer = (consent.value, consent.signature), consent.value.originator
    elif kind is ObligationType.RECLASSIFICATION:
        if record_id is None:
            msg = "a reclassification notice is found through its record: give the record id (--record ID)"
            raise ValidationError(msg)
        if notice := next((n for n in store.reclassifications(record_id) if n.value.id == key), None):
            found, signer = (notice.value, notice.signature), notice.value.originator
    elif kind is ObligationType.RECALL:
        recall = recall_status(store, key).recall
        found, signer = (recall.value, recall.signature), recall.value.originator
    elif kind is ObligationType.ACKNOWLEDGEMENT:
        if ack := next((a for a in recall_status(store, key).acknowledgements if a.value.holder == holder), None):
            found, signer = (ack.value, ack.signature), holder
    else:
        status = report_status(store, key)
        signer = status.report.value.holder
        if kind is ObligationType.REPORT:
            found = (status.report.value, status.report.signature)
        elif status.result is not None:
            found = (status.result.value, status.result.signature)
    if found is None:
        by = f" by {holder}" if kind is ObligationType.ACKNOWLEDGEMENT else ""
        msg = f"no {kind} {key!r}{by} on this node"
        raise UnknownReferenceError(msg)
    return found[0], found[1], signer


def _route(store: SqlObligationStore, value: Obligation, party: str) -> tuple[str, str | None, Obligation | None]:
    """Who issued ``value``, the party it is for (None: every holder) and what is held under its id."""
    match value:
        case Consent():
            held = store.consent(value.id)
            return value.originator, value.holder, held.value if held else None
        case ReclassificationNotice():
            notice = next((n for n in store.reclassifications(value.record_id) if n.value.id == value.id), None)
            return value.originator, None, notice.value if notice else None
        case Recall():
            recall = store.recall(value.id)
            return value.originator, None, recall.recall.value if recall else None
        case RecallAcknowledgement():
            status = store.recall(value.recall_id)
            if status is None:
                msg = f"this acknowledgement answers recall {value.recall_id}, which {party} did not issue"
                raise ValidationError(msg, hint="import it on the node that issued the recall; nothing was stored")
            ack = next((a.value for a in status.acknowledgements if a.value.holder == value.holder), None)
            return value.holder, status.recall.value.originator, ack
        case CompromiseReport():
            report = store.report(value.id)
            return value.holder, value.originator, report.report.value if report else None
        case InvestigationResult():
            closed = store.report(value.report_id)
            if closed is None:
                msg = f"this result closes report {value.report_id}, which was not made to {party}"
                raise ValidationError(msg, hint="import it on the node the report was made to; nothing was stored")
            result = closed.result.value if closed.result else None
            return closed.report.value.holder, closed.report.value.originator, result


def check_import(
    session: Session, signed: SignedObject, *, party: str, world: World, expect: str | None = None
) -> bool:
    """Refuse an object not addressed to ``party`` or at odds with what is held; False if held already.

    Consents go to their holder, acknowledgements and reports to the originator,
    results to the originator the report was made to; reclassifications and recalls
    to every holder of the record (any party but its originator). With ``expect``,
    an object of another type is refused.
    """
    value, data = signed.value, signed.value.to_dict()
    if expect is not None and signed.type != expect:
        msg = f"the file holds a {signed.type}, not a {expect}"
        raise ValidationError(msg, hint="import it with `accord obligations import`; nothing was stored")
    if signed.signer == party:
        msg = f"this {signed.type} was signed by this node ({party}) itself: there is nothing to import"
        raise ValidationError(msg, hint="import objects signed by other nodes; nothing was stored")
    _check_sizes(signed.type, data)
    world.check_parties([str(data[n]) for n in ("originator", "holder", "third_party") if n in data])
    if isinstance(value, ReclassificationNotice):
        for _, level in value.levels:
            world.level(level)
    issuer, to, held = _route(SqlObligationStore(session), value, party)
    if issuer != signed.signer:
        msg = f"this {signed.type} is issued by {issuer} but signed by {signed.signer}: only its issuer signs it"
        raise ValidationError(msg)
    if (to is None and issuer == party) or (to is not None and to != party):
        msg = f"this {signed.type} from {signed.signer} is for {to or 'the holders'}, not for this node ({party})"
        raise ValidationError(msg, hint="import it on the node it is addressed to; nothing was stored")
    _check_copy(session, data)
    if held is None:
        return True
    if held != value:
        msg = f"another {signed.type} is held already under the same id: refusing to replace it (a replay?)"
        raise ValidationError(msg, hint="nothing was stored")
    return False


def _check_sizes(kind: ObligationType, data: Mapping[str, object]) -> None:
    for name in ("id", "record_id", "recall_id", "report_id"):
        if len(str(data.get(name, ""))) > MAX_ID:
            msg = f"the {name} of this {kind} is longer than {MAX_ID} characters"
            raise ValidationError(msg)


def _check_copy(session: Session, data: Mapping[str, object]) -> None:
    """A copy of the record held here, if any, has the originator the object names."""
    record_id, originator = data.get("record_id"), data.get("originator")
    if isinstance(record_id, str) and isinstance(originator, str):
        found = held_originator(session, record_id)
        if found not in {None, originator}:
            msg = f"record {record_id} held here was originated by {found}, not {originator}"
            raise ValidationError(msg)


def keep(session: Session, value: Obligation, signature: bytes) -> None:
    """Store ``value`` with its signature (the stores refuse duplicates and wrong states)."""
    store = SqlObligationStore(session)
    match value:
        case Consent():
            store.add_consent(value, signature)
        case ReclassificationNotice():
            store.add_reclassification(value, signature)
        case Recall():
            store.add_recall(value, signature)
        case RecallAcknowledgement():
            store.acknowledge(value, signature)
        case CompromiseReport():
            store.add_report(value, signature)
        case InvestigationResult():
            store.close_report(value, signature)


def append_entry(session: Session, value: Obligation, *, action: str, party: str, at: dt.datetime) -> None:
    """The audit entry of ``value`` issued or imported here: call it last in the transaction."""
    data = value.to_dict()
    ids = ("id", "recall_id", "report_id", "record_id")
    names = ("originator", "holder", "third_party", "valid_from", "valid_until", "topic", "disposition", "done", "kind")
    meta: dict[str, MetaValue] = {"action": action}
    meta.update({n: v for n in names if isinstance(v := data.get(n), str)})
    audit.append(
        session,
        kind=KINDS[ObligationType(str(data["type"]))],
        actor=party,
        at=at,
        subjects=tuple(str(data[k]) for k in ids if isinstance(data.get(k), str)),
        digests={"document": sha256_hex(data)},
        meta=meta,
    )
