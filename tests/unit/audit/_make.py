"""Audit entries, logs and a stand-in signature check for the audit tests."""

from __future__ import annotations

import hashlib
import hmac

from accord.audit.chain import AuditChain
from accord.audit.entry import AuditEntry, EntryKind

KINDS = list(EntryKind)
_KEY = b"test key: accord.crypto signs checkpoints for real"


def entry(seq: int, **changes: object) -> AuditEntry:
    fields: dict[str, object] = {
        "seq": seq,
        "kind": KINDS[seq % len(KINDS)],
        "at": f"2026-03-01T09:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
        "actor": f"KOR/analyst-{seq % 7}",
        "subjects": (f"rec-{seq:06d}", f"dec-{seq:06d}"),
        "digests": {"record": hashlib.sha256(b"r%d" % seq).hexdigest()},
        "meta": {"allowed": seq % 3 != 0, "recipient": "JPN", "agreement": "ROK-JPN-GSOMIA"},
    }
    fields.update(changes)
    return AuditEntry(**fields)  # type: ignore[arg-type]


def chain(size: int, origin: str = "node:KOR") -> AuditChain:
    log = AuditChain(origin=origin)
    for seq in range(size):
        log.append(entry(seq))
    return log


def sign(message: bytes) -> bytes:
    return hmac.new(_KEY, message, hashlib.sha256).digest()


def check_signature(message: bytes, signature: bytes) -> bool:
    return hmac.compare_digest(sign(message), signature)
