"""What a node keeps for checkpoint witnessing, and the port its store implements.

As a witness: the last tree head accepted from each peer (size, root, time, the
peer's signature) and the alarms raised when a peer's log was not an extension of
what it showed before (with the two signed heads as evidence), open until an
operator resolves them. As an origin: the cosignatures peers returned over this
node's own heads. Times are fixed-width UTC stamps (``storage.federation.stamp``).
The store checks shapes, never signatures: the services verify before storing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from accord.errors import ValidationError
from accord.federation.witness import AlarmKind
from accord.storage.federation import check_stamp

__all__ = ["Alarm", "KeptCosignature", "WitnessStore", "WitnessedHead"]

_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def _check_head(what: str, size: int, root: str) -> None:
    if size < 0 or not _HEX64.fullmatch(root):
        msg = f"{what}: size {size} must not be negative and root {root[:70]!r} must be 64 hex digits"
        raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessedHead:
    """The last tree head this node accepted (and co-signed) from ``peer``."""

    peer: str
    size: int
    root: str
    checkpoint_at: str  # the head's own time, as the peer signed it
    signature: bytes = field(repr=False)  # the peer's composite signature, canonical JSON
    message_id: str
    received_at: str

    def __post_init__(self) -> None:
        """Check the size, root and stamp."""
        _check_head(f"head of {self.peer}", self.size, self.root)
        check_stamp(self.received_at, "received_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class Alarm:
    """A peer's log found not to extend what it showed before; open until resolved."""

    peer: str
    kind: AlarmKind
    reason: str
    seen_size: int  # the head this node had accepted
    claimed_size: int  # the head the peer then sent
    evidence: bytes = field(repr=False)  # canonical JSON: both signed heads and the message
    message_id: str
    raised_at: str
    resolved_at: str | None = None
    resolution: str | None = None
    id: int | None = None  # given by the store

    def __post_init__(self) -> None:
        """Check the kind, sizes and stamps."""
        object.__setattr__(self, "kind", AlarmKind(self.kind))
        if self.seen_size < 0 or self.claimed_size < 0:
            msg = f"alarm on {self.peer}: sizes must not be negative"
            raise ValidationError(msg)
        check_stamp(self.raised_at, "raised_at")
        check_stamp(self.resolved_at, "resolved_at")

    @property
    def open(self) -> bool:
        """Not resolved yet."""
        return self.resolved_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeptCosignature:
    """A peer's cosignature over one of this node's own tree heads."""

    witness: str
    size: int
    root: str
    checkpoint_at: str
    cosigned_at: str  # the witness's time, as it signed it
    cosignature: bytes = field(repr=False)  # the whole signed cosignature, canonical JSON
    message_id: str
    received_at: str

    def __post_init__(self) -> None:
        """Check the size, root and stamp."""
        _check_head(f"cosignature by {self.witness}", self.size, self.root)
        check_stamp(self.received_at, "received_at")


class WitnessStore(Protocol):
    """Witnessed heads, alarms and cosignatures; never commits (the service does)."""

    def head(self, peer: str) -> WitnessedHead | None:
        """The last head accepted from ``peer``, or ``None``."""
        ...

    def heads(self) -> Sequence[WitnessedHead]:
        """The last head accepted from each peer, by peer."""
        ...

    def set_head(self, head: WitnessedHead) -> None:
        """Store ``head`` as the peer's last accepted head (replacing the one before)."""
        ...

    def add_alarm(self, alarm: Alarm) -> Alarm:
        """Keep an alarm; the stored alarm with its ``id``."""
        ...

    def alarms(self, *, open_only: bool = False, peer: str | None = None) -> Sequence[Alarm]:
        """Alarms, oldest first (only the open ones, only one peer's, if asked)."""
        ...

    def resolve_alarm(self, alarm_id: int, *, at: str, resolution: str) -> Alarm:
        """Close an open alarm; ``UnknownReferenceError`` if there is none, ``ValidationError`` if closed."""
        ...

    def add_cosignature(self, cosignature: KeptCosignature) -> bool:
        """Keep a cosignature; ``False`` (nothing stored) if that witness's one of that size is kept."""
        ...

    def cosignatures(self, *, witness: str | None = None) -> Sequence[KeptCosignature]:
        """Cosignatures kept, by witness then size."""
        ...

    def last_cosignature(self, witness: str) -> KeptCosignature | None:
        """The cosignature of the largest head ``witness`` co-signed, or ``None``."""
        ...
