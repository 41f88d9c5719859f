"""The audit package's error: a log whose entries do not verify, naming the first bad one.

``AuditChainBrokenError`` belongs in ``accord.errors`` under ``IntegrityError``, as the
error tree in STYLE.md draws it; it lives here until that module takes it. Proof and
signature failures stay plain ``IntegrityError`` with one opaque message
(``PROOF_FAILED``): a peer learns that a proof fails, not why.
"""

from __future__ import annotations

from typing import Final

from accord.errors import IntegrityError

__all__ = ["PROOF_FAILED", "AuditChainBrokenError"]

PROOF_FAILED: Final = "audit proof does not verify"


class AuditChainBrokenError(IntegrityError):
    """The local log does not verify; ``seq`` is the first entry found bad.

    The message and ``reason`` are for the node's own operator (``accord audit
    verify``). What a peer or client is told stays the opaque ``IntegrityError``.
    """

    def __init__(self, *, seq: int, reason: str) -> None:
        """Name the first bad entry and say what is wrong with it."""
        super().__init__(f"audit log verification failed: first bad entry is {seq}", hint=reason)
        self.seq = seq
        self.reason = reason
