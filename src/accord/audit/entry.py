"""The audit entry: one event of the log, as a value and as the exact bytes that are hashed.

An entry records *that* something happened: its sequence number (its leaf index in
the Merkle tree), kind, time, actor, the ids of what it concerns, SHA-256 digests of
the objects involved and short metadata. It never holds classified content: there is
no body field, metadata values are short scalars, and digests stand in for records,
decisions and envelopes. The time is an ISO 8601 string the caller passes in; nothing
here reads the clock. The leaf bytes are the entry's RFC 8785 canonical JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeAlias

from accord.audit._json import exact_fields, json_int, json_str
from accord.canonical import canonical_bytes
from accord.errors import ValidationError

__all__ = ["ENTRY_VERSION", "AuditEntry", "EntryKind", "MetaValue"]

ENTRY_VERSION: Final = 1
MAX_META_KEYS: Final = 32
MAX_TEXT: Final = 256  # metadata is a label or an id, never a body
_JSON_SAFE_INT: Final = 2**53 - 1  # RFC 8785 numbers are IEEE doubles
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_NAME: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_FIELDS: Final = frozenset({"v", "seq", "kind", "at", "actor", "subjects", "digests", "meta"})

MetaValue: TypeAlias = str | int | bool


class EntryKind(StrEnum):
    """What an entry records. Kinds are only ever added, never renamed."""

    DECISION = "decision"  # a release decision, allowed or denied
    RELEASE = "release"
    RECEIPT = "receipt"
    CONSENT = "consent"
    RECALL = "recall"
    REPORT = "report"  # loss or compromise reported to the originator
    RECLASSIFICATION = "reclassification"
    ACCESS = "access"  # a person opening (or refused) a held record's content
    RECORD = "record"  # a record created at this node, or its creation refused
    PERSON = "person"  # a person added or changed (roles, clearance, need-to-know, password, lock, tokens)
    LOGIN = "login"  # a login or session, succeeded, failed or refused, and lock-outs
    PEER = "peer"  # a peer pinned, re-keyed (rotation announced) or unpinned
    MESSAGE = "message"  # a federation message or bundle refused, or one that changes no record
    DISCLOSURE = "disclosure"  # a disclosure request asked, approved, rejected, withdrawn or refused
    WITNESS = "witness"  # a checkpoint sent, witnessed, co-signed or refused, an alarm raised or resolved


_KINDS: Final = frozenset(EntryKind)


def _invalid(seq: object, problem: str) -> ValidationError:
    return ValidationError(f"audit entry {seq}: {problem}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One audit log entry; ``seq`` is its leaf index, counted from 0."""

    seq: int
    kind: EntryKind
    at: str  # ISO 8601 with a UTC offset, e.g. 2026-03-01T09:15:00Z
    actor: str  # who acted: a person or a node id
    subjects: tuple[str, ...] = ()  # ids of records, decisions, agreements, consents...
    digests: Mapping[str, str] = field(default_factory=dict, hash=False)  # name -> SHA-256 hex
    meta: Mapping[str, MetaValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        """Validate every field and freeze the mappings."""
        self._check_scalars()
        object.__setattr__(self, "kind", EntryKind(self.kind))
        object.__setattr__(self, "subjects", tuple(self.subjects))
        for name, digest in self.digests.items():
            if not _NAME.fullmatch(name) or not _HEX64.fullmatch(digest):
                msg = f"digest {name!r} must be a short lower-case name with 64 hex digits (SHA-256)"
                raise _invalid(self.seq, msg)
        if len(self.meta) > MAX_META_KEYS:
            raise _invalid(self.seq, f"at most {MAX_META_KEYS} metadata keys, not {len(self.meta)}")
        for name, value in self.meta.items():
            too_big = len(value) > MAX_TEXT if isinstance(value, str) else abs(value) > _JSON_SAFE_INT
            if too_big or not _NAME.fullmatch(name):
                msg = f"metadata {name!r} must have a short lower-case name and be short text or a safe integer"
                raise _invalid(self.seq, msg)
        object.__setattr__(self, "digests", MappingProxyType(dict(sorted(self.digests.items()))))
        object.__setattr__(self, "meta", MappingProxyType(dict(sorted(self.meta.items()))))

    def _check_scalars(self) -> None:
        seq = self.seq
        if not 0 <= seq <= _JSON_SAFE_INT:
            raise _invalid(seq, f"sequence number must be from 0 to 2**53 - 1, not {seq}")
        if self.kind not in _KINDS:
            raise _invalid(seq, f"unknown kind {self.kind!r}")
        try:
            aware = dt.datetime.fromisoformat(self.at).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            raise _invalid(seq, f"time must be ISO 8601 with a UTC offset, not {self.at!r}")
        if not 0 < len(self.actor) <= MAX_TEXT or not all(0 < len(s) <= MAX_TEXT for s in self.subjects):
            raise _invalid(seq, f"actor and subjects must be non-empty ids of at most {MAX_TEXT} characters")

    # -- serialisation ----------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (the one that is canonicalised and hashed)."""
        return {
            "v": ENTRY_VERSION,
            "seq": self.seq,
            "kind": self.kind.value,
            "at": self.at,
            "actor": self.actor,
            "subjects": list(self.subjects),
            "digests": dict(self.digests),
            "meta": dict(self.meta),
        }

    def to_bytes(self) -> bytes:
        """Return the canonical JSON bytes: the leaf data of this entry."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_dict(cls, data: object) -> AuditEntry:
        """Read the JSON form, refusing unknown fields, other versions and other types."""
        fields = exact_fields(data, _FIELDS, "an audit entry", version=ENTRY_VERSION)
        seq = json_int(fields["seq"], "audit entry sequence number")
        subjects, digests, meta = fields["subjects"], fields["digests"], fields["meta"]
        if not isinstance(subjects, list) or not isinstance(digests, dict) or not isinstance(meta, dict):
            raise _invalid(seq, "subjects must be a list, digests and meta objects")
        if not all(isinstance(v, str) for v in [*subjects, *digests, *digests.values(), *meta]):
            raise _invalid(seq, "subjects, digests and metadata keys must be text")
        if not all(isinstance(v, str | int) for v in meta.values()):  # bool is an int; floats are refused
            raise _invalid(seq, "metadata values must be text, integers or booleans")
        kind = json_str(fields["kind"], "audit entry kind")
        if kind not in _KINDS:
            raise _invalid(seq, f"unknown kind {kind!r}")
        return cls(
            seq=seq,
            kind=EntryKind(kind),
            at=json_str(fields["at"], "audit entry time"),
            actor=json_str(fields["actor"], "audit entry actor"),
            subjects=tuple(subjects),
            digests=digests,
            meta=meta,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditEntry:
        """Decode leaf bytes, which must be exactly the entry's canonical JSON."""
        try:
            parsed = json.loads(data)
        except (UnicodeDecodeError, ValueError) as e:
            msg = f"audit entry is not JSON: {e}"
            raise ValidationError(msg) from e
        entry = cls.from_dict(parsed)
        if entry.to_bytes() != data:
            raise _invalid(entry.seq, "bytes are not the entry's canonical JSON (RFC 8785)")
        return entry
