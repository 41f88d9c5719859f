"""The federation envelope (``accord.envelope/1``): every message between nodes, signed whole.

An :class:`Envelope` carries one message: its id, type, sender and recipient, when it
was sent, its precedence, the agreement it travels under (id and fingerprint), the id
of the message it answers, and a type-specific ``body``. The sender signs the RFC 8785
canonical JSON of every field but ``signatures`` (purpose ``accord.envelope/1``):
Ed25519 for every type, and ML-DSA-65 beside it for the long-lived ones (audit
checkpoints, key-rotation announcements). Unknown top-level fields are kept and signed,
so a newer sender's message verifies here. Parsing refuses anything malformed with a
:class:`RejectedError`; it never reads the clock, a key store or a database.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from accord.canonical import canonical_bytes
from accord.crypto import CompositeSigner, Ed25519Signer, NodeKeys, Signature
from accord.crypto.signing import signed_bytes
from accord.domain.record import Precedence
from accord.errors import Error, IntegrityError

__all__ = [
    "ENVELOPE_FORMAT",
    "ENVELOPE_PURPOSE",
    "LONG_LIVED",
    "MAX_ENVELOPE_BYTES",
    "Envelope",
    "MessageType",
    "RejectedError",
    "format_time",
    "new_envelope",
    "parse_time",
]

ENVELOPE_FORMAT: Final = "accord.envelope/1"
ENVELOPE_PURPOSE: Final = "accord.envelope/1"
MAX_ENVELOPE_BYTES: Final = 16 * 1024 * 1024
"""The default limit on one envelope's size; nodes may set a lower one."""
_FIELDS: Final = ("format", "id", "type", "sender", "recipient", "sent_at", "precedence", "agreement", "in_reply_to")
_REFUSED: Final = "federation message refused"


class RejectedError(IntegrityError):
    """A message refused by the receiver: the same opaque message for every reason.

    ``reason`` says which check failed; it goes to the receiver's audit log only,
    never back to the sender.
    """

    def __init__(self, reason: str) -> None:
        """Keep ``reason`` for the audit log; the message stays opaque."""
        super().__init__(_REFUSED, hint="the reason is in the receiving node's audit log")
        self.reason = reason


class MessageType(StrEnum):
    """What an envelope's body is. Types are only ever added."""

    RELEASE = "release"  # a sealed release (accord.release-message/1)
    RECEIPT = "receipt"  # the receiver's signed answer to any other message
    CONSENT = "consent"
    RECLASSIFICATION = "reclassification"
    RECALL = "recall"
    RECALL_ACKNOWLEDGEMENT = "recall-acknowledgement"
    COMPROMISE_REPORT = "compromise-report"
    INVESTIGATION_RESULT = "investigation-result"
    CHECKPOINT = "checkpoint"  # a signed audit tree head
    KEY_ROTATION = "key-rotation"  # the sender's new keys, signed with its old ones
    COSIGNATURE = "cosignature"  # a witness's signature over the recipient's audit tree head


LONG_LIVED: Final = frozenset({MessageType.CHECKPOINT, MessageType.KEY_ROTATION})
"""Types signed with ML-DSA-65 as well as Ed25519 (they must stay verifiable for decades)."""


def format_time(at: dt.datetime) -> str:
    """An aware time as envelopes carry it: ISO 8601 in UTC with ``Z``, to the microsecond."""
    if at.utcoffset() is None:
        msg = f"envelope times must carry a UTC offset, not {at!r}"
        raise RejectedError(msg)
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: object, what: str) -> dt.datetime:
    """Read an envelope time; anything but an aware ISO 8601 time is refused."""
    if not isinstance(value, str):
        msg = f"{what} must be an ISO 8601 time"
        raise RejectedError(msg)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        msg = f"{what} {value[:40]!r} is not an ISO 8601 time"
        raise RejectedError(msg) from None
    if parsed.utcoffset() is None:
        msg = f"{what} {value[:40]!r} has no UTC offset"
        raise RejectedError(msg)
    return parsed


def _text(doc: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > 256:  # noqa: PLR2004 - ids, codes and times are short
        msg = f"field {key!r} must be non-empty text of at most 256 characters"
        raise RejectedError(msg)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """One signed federation message; ``signed_bytes`` is exactly what the signatures cover."""

    id: str
    type: MessageType
    sender: str
    recipient: str
    sent_at: str  # ISO 8601, UTC (see format_time)
    precedence: Precedence
    agreement: tuple[str, str] | None  # (agreement id, fingerprint) the message travels under
    in_reply_to: str | None
    body: Mapping[str, Any]
    signatures: tuple[Signature, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)  # unknown fields, kept and signed

    @property
    def sent(self) -> dt.datetime:
        """``sent_at`` as a time."""
        return parse_time(self.sent_at, "sent_at")

    def unsigned_dict(self) -> dict[str, Any]:
        """Every field the signatures cover."""
        agreement = None if self.agreement is None else {"id": self.agreement[0], "fingerprint": self.agreement[1]}
        return {
            **self.extensions,
            "format": ENVELOPE_FORMAT,
            "id": self.id,
            "type": self.type.value,
            "sender": self.sender,
            "recipient": self.recipient,
            "sent_at": self.sent_at,
            "precedence": self.precedence.value,
            "agreement": agreement,
            "in_reply_to": self.in_reply_to,
            "body": dict(self.body),
        }

    def signed_bytes(self) -> bytes:
        """The bytes the signatures cover: canonical JSON of the unsigned fields, with the purpose."""
        return signed_bytes(self.unsigned_dict(), purpose=ENVELOPE_PURPOSE)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, signatures included."""
        return self.unsigned_dict() | {"signatures": [s.to_dict() for s in self.signatures]}

    def to_bytes(self) -> bytes:
        """Canonical JSON: what travels and what the receiver hashes."""
        return canonical_bytes(self.to_dict())

    def signed_by(self, keys: NodeKeys) -> Envelope:
        """This envelope signed with ``keys`` (and ML-DSA-65 too for a long-lived type)."""
        data = self.signed_bytes()
        if self.type in LONG_LIVED:
            signatures = CompositeSigner(keys).sign(data).parts
        else:
            signatures = (Ed25519Signer(keys).sign(data),)
        return replace(self, signatures=signatures)

    @classmethod
    def from_dict(cls, doc: object) -> Envelope:
        """Read the JSON form (signatures are parsed, not checked).

        Raises:
            RejectedError: not an envelope of this version, or a field malformed.
        """
        if not isinstance(doc, dict):
            msg = "an envelope must be a JSON object"
            raise RejectedError(msg)
        if doc.get("format") != ENVELOPE_FORMAT:
            msg = f"format {str(doc.get('format'))[:40]!r} is not {ENVELOPE_FORMAT!r}"
            raise RejectedError(msg)
        try:
            kind = MessageType(str(doc.get("type")))
            precedence = Precedence(str(doc.get("precedence")))
        except ValueError:
            msg = "unknown message type or precedence"
            raise RejectedError(msg) from None
        parse_time(doc.get("sent_at"), "sent_at")
        given, agreement = doc.get("agreement"), None
        if given is not None:
            if not isinstance(given, dict) or set(given) != {"id", "fingerprint"}:
                msg = "'agreement' must be null or an object with an id and a fingerprint"
                raise RejectedError(msg)
            agreement = (str(_text(given, "id")), str(_text(given, "fingerprint")))
        body, signatures = doc.get("body"), doc.get("signatures")
        if not isinstance(body, dict):
            msg = "'body' must be a JSON object"
            raise RejectedError(msg)
        if not isinstance(signatures, list) or not signatures:
            msg = "'signatures' must be a non-empty list"
            raise RejectedError(msg)
        try:
            parsed = tuple(Signature.from_dict(s) for s in signatures)
        except Error:
            msg = "a signature is malformed"
            raise RejectedError(msg) from None
        known = {*_FIELDS, "body", "signatures"}
        return cls(
            id=str(_text(doc, "id")),
            type=kind,
            sender=str(_text(doc, "sender")),
            recipient=str(_text(doc, "recipient")),
            sent_at=str(_text(doc, "sent_at")),
            precedence=precedence,
            agreement=agreement,
            in_reply_to=_text(doc, "in_reply_to", optional=True),
            body=body,
            signatures=parsed,
            extensions={k: v for k, v in doc.items() if k not in known},
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> Envelope:
        """Read an envelope from the wire, refusing one over ``max_bytes`` before parsing it.

        Raises:
            RejectedError: oversized, not JSON (a truncated body), or malformed.
        """
        if len(data) > max_bytes:
            msg = f"envelope of {len(data)} bytes is over the limit of {max_bytes}"
            raise RejectedError(msg)
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            msg = "envelope is not JSON (truncated?)"
            raise RejectedError(msg) from None
        return cls.from_dict(doc)


def new_envelope(  # noqa: PLR0913 - the header of a message
    kind: MessageType,
    body: Mapping[str, Any],
    *,
    sender: str,
    recipient: str,
    at: dt.datetime,
    keys: NodeKeys,
    precedence: Precedence = Precedence.ROUTINE,
    agreement: tuple[str, str] | None = None,
    in_reply_to: str | None = None,
) -> Envelope:
    """A new message with a fresh id, signed by ``keys``."""
    draft = Envelope(
        id=str(uuid.uuid4()),
        type=kind,
        sender=sender,
        recipient=recipient,
        sent_at=format_time(at),
        precedence=precedence,
        agreement=agreement,
        in_reply_to=in_reply_to,
        body=dict(body),
    )
    return draft.signed_by(keys)
