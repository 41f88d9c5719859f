"""Values the storage ports take and return that the domain does not define.

Encrypted bodies (inline ciphertext or a reference to an encrypted file under the node
home), a stored record with the time it was added, a release as the node keeps it, a
signed object, and the state of recalls and compromise reports. Each validates on
construction, so a store never holds a malformed one.

There is no plaintext here: bodies arrive encrypted and stores keep what they are
given. Nothing here encrypts, signs, reads the clock or talks to a database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Final, Generic, TypeAlias, TypeVar

from accord.canonical import canonical_bytes
from accord.domain.consent import Consent
from accord.domain.obligation import CompromiseReport, InvestigationResult, Recall, RecallAcknowledgement
from accord.domain.record import Record
from accord.domain.release import Decision, Hop, Label
from accord.errors import ValidationError

__all__ = [
    "MAX_PAGE",
    "RELEASE_TRANSITIONS",
    "Body",
    "FileBody",
    "InlineBody",
    "RecallState",
    "RecallStatus",
    "Release",
    "ReleaseState",
    "ReportState",
    "ReportStatus",
    "Signed",
    "StoredRecord",
    "canonical_json",
    "check_page",
    "check_time",
    "consent_to_dict",
    "encode_decision",
]

MAX_PAGE: Final = 1000
"""The most items one ``list`` call returns; page on with ``after``."""

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


def check_time(value: str, what: str) -> None:
    """Refuse anything but an ISO 8601 time with a UTC offset (times are passed in, never read)."""
    try:
        aware = dt.datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        aware = False
    if not aware:
        msg = f"{what} must be an ISO 8601 time with a UTC offset, not {value!r}"
        raise ValidationError(msg)


def check_page(limit: int) -> None:
    """Refuse a page size outside 1..MAX_PAGE."""
    if not 1 <= limit <= MAX_PAGE:
        msg = f"a page holds 1 to {MAX_PAGE} items, not {limit}"
        raise ValidationError(msg)


def _need(value: str, what: str) -> None:
    if not value.strip():
        msg = f"{what} must not be empty"
        raise ValidationError(msg)


def _need_bytes(value: bytes, what: str) -> None:
    if not value:
        msg = f"{what} must be non-empty bytes"
        raise ValidationError(msg)


# Bytes already known to be the canonical JSON of an object: a pure fact about the
# bytes, so remembering it is safe. The release pipeline builds a Release per record
# from bytes it has just canonicalised; checking them again cost as much as signing.
_KNOWN_CANONICAL: dict[bytes, None] = {}
_KNOWN_CANONICAL_MAX: Final = 4096


def _remember_canonical(value: bytes) -> None:
    if len(_KNOWN_CANONICAL) >= _KNOWN_CANONICAL_MAX:
        _KNOWN_CANONICAL.clear()
    _KNOWN_CANONICAL[value] = None


def canonical_json(value: Mapping[str, object]) -> bytes:
    """The canonical JSON (RFC 8785) of a JSON object, remembered as such for ``Release``."""
    data = canonical_bytes(value)
    _remember_canonical(data)
    return data


# A decision's canonical JSON by its shape: the decision with its record id left out,
# kept as the bytes before and after the record id. Releasing many records with the same
# markings to the same party on the same day gives one shape, so each further decision
# is encoded by joining three pieces (the output is the same bytes, see the tests).
_SHAPES: dict[Decision, tuple[bytes, bytes]] = {}
_SHAPES_MAX: Final = 256
_RECORD_MARK: Final = "accord:record-id:1f0e"  # stands in for the record id while a shape is encoded


def encode_decision(decision: Decision) -> bytes:
    """``canonical_json(decision.to_dict())``, from the decision's shape when it was seen before."""
    shape = decision._replace(record_id="")
    parts = _SHAPES.get(shape)
    if parts is None:
        whole = canonical_bytes(decision._replace(record_id=_RECORD_MARK).to_dict())
        pieces = whole.split(canonical_bytes(_RECORD_MARK))
        if len(pieces) != 2:  # noqa: PLR2004 - before and after the record id; else no shape
            return canonical_json(decision.to_dict())
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        parts = _SHAPES[shape] = (pieces[0], pieces[1])
    data = parts[0] + canonical_bytes(decision.record_id) + parts[1]
    _remember_canonical(data)
    return data


_LABELS: dict[Label, bytes] = {}


def _label_json(label: Label) -> bytes:
    data = _LABELS.get(label)
    if data is None:
        if len(_LABELS) >= _SHAPES_MAX:
            _LABELS.clear()
        data = _LABELS[label] = canonical_json(label.to_dict())
    _remember_canonical(data)
    return data


def _check_json_object(value: bytes, what: str) -> None:
    """``value`` must be the canonical JSON (RFC 8785) of a JSON object."""
    if value in _KNOWN_CANONICAL:
        return
    try:
        parsed = json.loads(value)
    except (TypeError, UnicodeDecodeError, ValueError) as e:
        msg = f"{what} is not JSON: {e}"
        raise ValidationError(msg) from e
    if not isinstance(parsed, dict) or canonical_bytes(parsed) != value:
        msg = f"{what} must be the canonical JSON (RFC 8785) of an object"
        raise ValidationError(msg)
    _remember_canonical(value)


# -- bodies -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineBody:
    """A text portion's body, encrypted, kept in the database itself."""

    ciphertext: bytes
    key_id: str  # the node key that wrapped the data key
    wrapped_key: bytes  # the body's own data key, wrapped by ``key_id``

    def __post_init__(self) -> None:
        """Ciphertext, key id and wrapped key are all required."""
        _need_bytes(self.ciphertext, "an inline body's ciphertext")
        _need(self.key_id, "an inline body's key id")
        _need_bytes(self.wrapped_key, "an inline body's wrapped key")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileBody:
    """A file portion's body: an encrypted file under the node home, and how to check it.

    ``name`` is the original file's name (no directory), which a reader writes the
    plaintext back under; ``None`` when it is not known.
    """

    path: str  # relative to the node home, with "/" separators
    size: int  # of the plaintext, in bytes
    sha256: str  # of the plaintext, lower-case hex
    key_id: str
    wrapped_key: bytes
    name: str | None = None

    MAX_NAME: ClassVar[int] = 255  # bytes of UTF-8: what common file systems allow

    @classmethod
    def check_name(cls, name: str) -> str:
        """``name`` if it is a plain file name a reader can safely write under a directory.

        Raises:
            ValidationError: empty, ``.`` or ``..``, a separator, an unprintable
                character, not UTF-8, or longer than :attr:`MAX_NAME` bytes.
        """
        # Joined to a directory the reader chose: a separator or ".." would write elsewhere.
        # Shown to people too: a control character could rewrite their terminal, and a
        # format character (a right-to-left override) could disguise "x\u202efdp.exe"
        # as "xexe.pdf"; str.isprintable() refuses both (and spaces other than U+0020).
        try:
            encoded = name.encode("utf-8")
        except UnicodeEncodeError:
            msg = f"the file name {name!r} is not valid UTF-8"
            raise ValidationError(msg, hint="rename the file") from None
        if name in {"", ".", ".."} or "/" in name or "\\" in name or not name.isprintable():
            msg = f"{name!r} is not a plain file name (no separators, '.', '..' or unprintable characters)"
            raise ValidationError(msg, hint="rename the file")
        if len(encoded) > cls.MAX_NAME:
            msg = f"the file name {name[:40]!r}... is longer than {cls.MAX_NAME} bytes"
            raise ValidationError(msg, hint="rename the file")
        return name

    def __post_init__(self) -> None:
        """A relative path that stays under the home, a size, a SHA-256, the key, a plain name."""
        parts = self.path.split("/")
        # The path is joined to the node home when read: an absolute path or ".." would
        # let a stored row point anywhere on the disk.
        if not self.path or "\\" in self.path or any(p in {"", ".", ".."} for p in parts):
            msg = f"a file body's path must be relative to the node home without '.' or '..', not {self.path!r}"
            raise ValidationError(msg)
        if self.size < 0:
            msg = f"file body {self.path}: size must not be negative, not {self.size}"
            raise ValidationError(msg)
        if not _HEX64.fullmatch(self.sha256):
            msg = f"file body {self.path}: sha256 must be 64 lower-case hex digits"
            raise ValidationError(msg)
        _need(self.key_id, f"file body {self.path}'s key id")
        _need_bytes(self.wrapped_key, f"file body {self.path}'s wrapped key")
        if self.name is not None:
            FileBody.check_name(self.name)


Body: TypeAlias = InlineBody | FileBody


# -- records ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRecord:
    """A record as a node holds it: its markings (bodies apart) and when it was added."""

    record: Record
    added_at: str
    author: str | None = None  # the person who wrote it; None before records kept theirs

    def __post_init__(self) -> None:
        """The time is an ISO 8601 time with an offset."""
        check_time(self.added_at, f"record {self.record.id}'s added_at")


# -- releases ---------------------------------------------------------------------------


class ReleaseState(StrEnum):
    """Where a release stands, on the sending or the receiving node."""

    SEALED = "sealed"  # sealed for its recipient, not yet in the outbox
    QUEUED = "queued"  # in the outbox, waiting for delivery
    DELIVERED = "delivered"  # the recipient returned a signed receipt
    RECEIVED = "received"  # arrived here from a peer and was accepted
    REFUSED = "refused"  # refused by the recipient (sent) or by this node (received)


RELEASE_TRANSITIONS: Final[Mapping[ReleaseState, frozenset[ReleaseState]]] = {
    ReleaseState.SEALED: frozenset({ReleaseState.QUEUED}),
    ReleaseState.QUEUED: frozenset({ReleaseState.DELIVERED, ReleaseState.REFUSED}),
    ReleaseState.DELIVERED: frozenset(),
    ReleaseState.RECEIVED: frozenset(),
    ReleaseState.REFUSED: frozenset(),
}
"""The states a release may move to from each state; the last three are final."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """A release as a node keeps it: the decision it went under and its sealed envelope.

    ``decision`` and ``label`` are canonical JSON (``Decision.to_dict()`` and
    ``Label.to_dict()``), kept as the exact bytes; ``route``, ``hops`` and
    ``agreements`` repeat what the decision says so that stores can query them.
    ``message_id`` is the federation message that carried it (required on receipt).
    """

    id: str
    record_id: str
    sender: str
    recipient: str
    on: dt.date
    route: tuple[str, ...]
    hops: tuple[Hop, ...]
    agreements: tuple[tuple[str, str], ...]  # (agreement id, fingerprint)
    decision: bytes
    label: bytes | None
    envelope: bytes
    state: ReleaseState
    created_at: str
    updated_at: str
    message_id: str | None = None

    def __post_init__(self) -> None:
        """Check ids, parties, JSON, fingerprints and times."""
        _need(self.id, "a release's id")
        _need(self.record_id, f"release {self.id}'s record id")
        if self.message_id is not None:
            _need(self.message_id, f"release {self.id}'s message id")
        if self.sender == self.recipient:
            msg = f"release {self.id}: sender and recipient are both {self.sender}"
            raise ValidationError(msg)
        object.__setattr__(self, "state", ReleaseState(self.state))
        object.__setattr__(self, "route", tuple(self.route))
        object.__setattr__(self, "hops", tuple(Hop(*h) for h in self.hops))
        object.__setattr__(self, "agreements", tuple((a, f) for a, f in self.agreements))
        _check_json_object(self.decision, f"release {self.id}'s decision")
        if self.label is not None:
            _check_json_object(self.label, f"release {self.id}'s label")
        _need_bytes(self.envelope, f"release {self.id}'s envelope")
        ids = [a for a, _ in self.agreements]
        if len(set(ids)) != len(ids) or not all(_HEX64.fullmatch(f) for _, f in self.agreements):
            msg = f"release {self.id}: agreements must be distinct ids with 64-hex-digit fingerprints"
            raise ValidationError(msg)
        check_time(self.created_at, f"release {self.id}'s created_at")
        check_time(self.updated_at, f"release {self.id}'s updated_at")

    @classmethod
    def from_decision(  # noqa: PLR0913 - a release is its decision plus these
        cls,
        decision: Decision,
        *,
        id: str,  # noqa: A002 - the release's id
        envelope: bytes,
        state: ReleaseState,
        at: str,
        message_id: str | None = None,
        decision_json: bytes | None = None,
    ) -> Release:
        """The release a permit becomes once sealed: route, hops and label from ``decision``.

        ``decision_json`` is the decision's canonical JSON when the caller has it already.
        """
        return cls(
            id=id,
            record_id=decision.record_id,
            sender=decision.sender,
            recipient=decision.recipient,
            on=decision.on,
            route=decision.route,
            hops=decision.hops,
            agreements=decision.agreements,
            decision=decision_json if decision_json is not None else encode_decision(decision),
            label=_label_json(decision.label) if decision.label is not None else None,
            envelope=envelope,
            state=state,
            created_at=at,
            updated_at=at,
            message_id=message_id,
        )


# -- signed objects and obligations -----------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Signed(Generic[T]):
    """A value with the signature over its canonical JSON (opaque bytes to the store)."""

    value: T
    signature: bytes

    def __post_init__(self) -> None:
        """A signed value has a signature."""
        _need_bytes(self.signature, "a signature")


def consent_to_dict(consent: Consent) -> dict[str, object]:
    """The JSON form of a consent: ``Consent.to_dict()``, which new code calls directly.

    Kept only for callers written before the domain value had ``to_dict``.
    """
    return consent.to_dict()


class RecallState(StrEnum):
    """A recall is issued, then acknowledged (by at least one holder)."""

    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"


class ReportState(StrEnum):
    """A compromise report is open until an investigation result closes it."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecallStatus:
    """A signed recall and the signed acknowledgements it has had, first first."""

    recall: Signed[Recall]
    acknowledgements: tuple[Signed[RecallAcknowledgement], ...] = ()

    @property
    def state(self) -> RecallState:
        """Acknowledged once any holder acknowledged it."""
        return RecallState.ACKNOWLEDGED if self.acknowledgements else RecallState.ISSUED


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportStatus:
    """A signed compromise report and the signed result that closed it, if any."""

    report: Signed[CompromiseReport]
    result: Signed[InvestigationResult] | None = None

    @property
    def state(self) -> ReportState:
        """Closed once an investigation result is filed."""
        return ReportState.CLOSED if self.result is not None else ReportState.OPEN
