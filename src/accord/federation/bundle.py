"""The signed bundle file (``accord.bundle/1``): envelopes for one peer, carried by hand.

A bundle names its sender and recipient, when it was made and from when its messages
were taken (``since``), and lists whole envelopes, each still signed by its own
sender. The sender node signs the canonical JSON of the bundle with Ed25519 (purpose
``accord.bundle/1``), so a bundle cannot be cut or added to on the way; every envelope
inside is then checked on its own exactly as if it had come over HTTP. Pure: the
outbox service writes and reads the files.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from accord.canonical import canonical_bytes
from accord.crypto import Ed25519Signer, NodeKeys, Signature
from accord.crypto.signing import signed_bytes
from accord.errors import Error
from accord.federation.messages import RejectedError, format_time, parse_time
from accord.federation.trust import PeerDescriptor, verify_signed

__all__ = ["BUNDLE_FORMAT", "BUNDLE_PURPOSE", "MAX_BUNDLE_BYTES", "Bundle", "make_bundle", "read_bundle"]

BUNDLE_FORMAT: Final = "accord.bundle/1"
BUNDLE_PURPOSE: Final = "accord.bundle/1"
MAX_BUNDLE_BYTES: Final = 256 * 1024 * 1024
"""The default limit on a bundle file's size; nodes may set a lower one."""
_KEYS: Final = frozenset({"format", "id", "sender", "recipient", "created_at", "since", "envelopes", "signature"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    """A bundle as read: its header and the envelopes' bytes (canonical JSON, as signed)."""

    id: str
    sender: str
    recipient: str
    created_at: str
    since: str | None
    envelopes: tuple[bytes, ...]


def _unsigned(bundle: Bundle) -> dict[str, Any]:
    return {
        "format": BUNDLE_FORMAT,
        "id": bundle.id,
        "sender": bundle.sender,
        "recipient": bundle.recipient,
        "created_at": bundle.created_at,
        "since": bundle.since,
        "envelopes": [json.loads(e) for e in bundle.envelopes],
    }


def make_bundle(  # noqa: PLR0913 - the bundle's header and the key that signs it
    envelopes: Sequence[bytes],
    *,
    sender: str,
    recipient: str,
    at: dt.datetime,
    since: dt.datetime | None,
    keys: NodeKeys,
) -> bytes:
    """The signed bundle file of ``envelopes`` (each an envelope's canonical JSON)."""
    bundle = Bundle(
        id=str(uuid.uuid4()),
        sender=sender,
        recipient=recipient,
        created_at=format_time(at),
        since=None if since is None else format_time(since),
        envelopes=tuple(envelopes),
    )
    unsigned = _unsigned(bundle)
    signature = Ed25519Signer(keys).sign(signed_bytes(unsigned, purpose=BUNDLE_PURPOSE))
    return canonical_bytes(unsigned | {"signature": signature.to_dict()}) + b"\n"


def read_bundle(data: bytes, *, me: str, peers: dict[str, PeerDescriptor], max_bytes: int = MAX_BUNDLE_BYTES) -> Bundle:
    """A bundle for this node from a pinned peer, its signature verified (its envelopes not yet).

    Raises:
        RejectedError: oversized, truncated, malformed, for another node, from an
            unpinned sender, or its signature does not verify.
    """
    if len(data) > max_bytes:
        msg = f"bundle of {len(data)} bytes is over the limit of {max_bytes}"
        raise RejectedError(msg)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        msg = "bundle is not JSON (truncated?)"
        raise RejectedError(msg) from None
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT or set(doc) != _KEYS:
        msg = f"not a bundle of format {BUNDLE_FORMAT!r} with exactly the fields {sorted(_KEYS)}"
        raise RejectedError(msg)
    texts = [doc.get(k) for k in ("id", "sender", "recipient", "created_at")]
    if not all(isinstance(t, str) and t for t in texts) or not isinstance(doc["envelopes"], list):
        msg = "bundle header malformed"
        raise RejectedError(msg)
    parse_time(doc["created_at"], "created_at")
    if doc["since"] is not None:
        parse_time(doc["since"], "since")
    if doc["recipient"] != me:
        msg = f"bundle for {doc['recipient']}, not {me}"
        raise RejectedError(msg)
    peer = peers.get(doc["sender"])
    if peer is None:
        msg = f"bundle sender {doc['sender']} is not a pinned peer"
        raise RejectedError(msg)
    try:
        signature = Signature.from_dict(doc["signature"])
    except Error:
        msg = "bundle signature malformed"
        raise RejectedError(msg) from None
    _verify(doc, signature, peer)
    return Bundle(
        id=doc["id"],
        sender=doc["sender"],
        recipient=doc["recipient"],
        created_at=doc["created_at"],
        since=doc["since"],
        envelopes=tuple(canonical_bytes(e) for e in doc["envelopes"]),
    )


def _verify(doc: dict[str, Any], signature: Signature, peer: PeerDescriptor) -> None:
    # Checked like an envelope: by the sender's keys of the second the bundle was made in.
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    data = signed_bytes(unsigned, purpose=BUNDLE_PURPOSE)
    verify_signed(peer, (signature,), data, at=parse_time(doc["created_at"], "created_at"))
