"""Refusals the memory and SQL stores share, so that both refuse the same input alike.

Each function either returns nothing or raises the error a store raises, with the
same message on every backend; none of them reads or writes a store. The stores call
them before writing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn, TypeVar

from accord.audit.entry import AuditEntry
from accord.domain.obligation import InvestigationResult, RecallAcknowledgement
from accord.domain.record import Record
from accord.errors import UnknownReferenceError, ValidationError
from accord.storage.values import (
    RELEASE_TRANSITIONS,
    Body,
    FileBody,
    RecallStatus,
    Release,
    ReleaseState,
    ReportStatus,
)

__all__ = [
    "check_acknowledgement",
    "check_built",
    "check_checkpoint_size",
    "check_new_record",
    "check_outgoing",
    "check_portions",
    "check_range",
    "check_received",
    "check_result",
    "check_transition",
    "known",
    "refuse_duplicate",
    "refuse_path",
]

T = TypeVar("T")

_OUTGOING = frozenset({ReleaseState.SEALED, ReleaseState.QUEUED})
_INCOMING = frozenset({ReleaseState.RECEIVED, ReleaseState.REFUSED})


def refuse_duplicate(what: str, key: object) -> NoReturn:
    """Refuse an id (or other key) that is already stored."""
    msg = f"{what} {key} is already stored"
    raise ValidationError(msg, hint="nothing was written; use another id")


def known(value: T | None, what: str, key: object) -> T:
    """``value``, or an ``UnknownReferenceError`` if nothing was found under ``key``."""
    if value is None:
        msg = f"no {what} {key} is stored"
        raise UnknownReferenceError(msg)
    return value


def refuse_path(path: str) -> NoReturn:
    """Refuse a file body whose file already holds another portion's body."""
    msg = f"the file {path} is already the body of another portion"
    raise ValidationError(msg, hint="give each body its own file; nothing was written")


def check_new_record(record: Record, bodies: Mapping[str, Body]) -> None:
    """No plaintext, bodies only for the record's portions, one file per body."""
    for portion in record.portions:
        if portion.text:
            msg = f"record {record.id}: portion {portion.id} carries plaintext; the store keeps only encrypted bodies"
            raise ValidationError(msg, hint="encrypt the text and pass it as an InlineBody")
    portions = {p.id for p in record.portions}
    for portion_id in bodies:
        if portion_id not in portions:
            msg = f"record {record.id} has no portion {portion_id} for a body to belong to"
            raise ValidationError(msg)
    paths = [b.path for b in bodies.values() if isinstance(b, FileBody)]
    if len(set(paths)) != len(paths):
        msg = f"record {record.id}: two portions name the same body file"
        raise ValidationError(msg)


def check_portions(record: Record, levels: Mapping[str, str]) -> None:
    """Every portion a re-marking names is a portion of the record."""
    portions = {p.id for p in record.portions}
    for portion_id, level in levels.items():
        if portion_id not in portions:
            msg = f"record {record.id} has no portion {portion_id} to re-mark"
            raise UnknownReferenceError(msg)
        if not level:
            msg = f"record {record.id}: portion {portion_id} cannot be re-marked with no level"
            raise ValidationError(msg)


def check_outgoing(release: Release) -> None:
    """An outgoing release starts sealed or queued."""
    if release.state not in _OUTGOING:
        msg = f"release {release.id} is {release.state}: a release being sent starts sealed or queued"
        raise ValidationError(msg)


def check_received(release: Release) -> str:
    """A received release has the message id that makes receipt idempotent; that id."""
    if release.message_id is None:
        msg = f"received release {release.id} has no message id"
        raise ValidationError(msg, hint="receipt is idempotent by message id: pass the federation message's id")
    if release.state not in _INCOMING:
        msg = f"received release {release.id} is {release.state}: a receipt is received or refused"
        raise ValidationError(msg)
    return release.message_id


def check_transition(release: Release, state: ReleaseState) -> None:
    """Only the moves ``RELEASE_TRANSITIONS`` lists."""
    if state not in RELEASE_TRANSITIONS[release.state]:
        allowed = ", ".join(sorted(RELEASE_TRANSITIONS[release.state])) or "nothing: it is final"
        msg = f"release {release.id} is {release.state}; it cannot become {state} (it can become {allowed})"
        raise ValidationError(msg)


def check_built(entry: AuditEntry, seq: int) -> None:
    """The entry built for ``seq`` must carry ``seq``: numbers have no gaps."""
    if entry.seq != seq:
        msg = f"audit entry {entry.seq} was built for sequence number {seq}: numbers come from the store"
        raise ValidationError(msg)


def check_range(start: int, stop: int | None) -> None:
    """A range of sequence numbers: ``0 <= start <= stop``."""
    if start < 0 or (stop is not None and stop < start):
        msg = f"entries {start} to {stop} are not a range: start from 0 and stop at or after the start"
        raise ValidationError(msg)


def check_checkpoint_size(size: int, count: int) -> None:
    """A checkpoint covers entries the log has."""
    if size > count:
        msg = f"a checkpoint of {size} entries cannot be kept for a log of {count}"
        raise ValidationError(msg)


def check_acknowledgement(status: RecallStatus, acknowledgement: RecallAcknowledgement) -> None:
    """It answers the recall, and its holder has not acknowledged it before."""
    recall = status.recall.value
    if not acknowledgement.answers(recall):
        msg = (
            f"{acknowledgement.holder}'s acknowledgement ({acknowledgement.done} on {acknowledgement.on}) does not "
            f"answer recall {recall.id} ({recall.disposition}, issued {recall.issued_on})"
        )
        raise ValidationError(msg)
    if any(a.value.holder == acknowledgement.holder for a in status.acknowledgements):
        msg = f"recall {recall.id} is already acknowledged by {acknowledgement.holder}"
        raise ValidationError(msg, hint="nothing was written")


def check_result(status: ReportStatus, result: InvestigationResult) -> None:
    """The report is open and the result is not dated before it."""
    report = status.report.value
    if status.result is not None:
        msg = f"compromise report {report.id} is already closed (on {status.result.value.closed_on})"
        raise ValidationError(msg, hint="nothing was written")
    if not result.closes(report):
        msg = f"the result closing {report.id} is dated {result.closed_on}, before the report ({report.reported_on})"
        raise ValidationError(msg)
