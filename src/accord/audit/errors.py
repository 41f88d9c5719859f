"""The audit package's opaque proof-failure message.

``AuditChainBrokenError`` (the local log does not verify, naming the first bad entry)
lives in ``accord.errors`` under ``IntegrityError`` and is re-exported here. Proof and
signature failures stay plain ``IntegrityError`` with one opaque message
(``PROOF_FAILED``): a peer learns that a proof fails, not why.
"""

from __future__ import annotations

from typing import Final

from accord.errors import AuditChainBrokenError

__all__ = ["PROOF_FAILED", "AuditChainBrokenError"]

PROOF_FAILED: Final = "audit proof does not verify"
