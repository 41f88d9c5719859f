"""Pinned peers: the signed peer descriptor, envelope verification and the inbound checks.

A :class:`PeerDescriptor` is what one node exports (``accord node export-descriptor``)
and another pins (``accord peers add``): the party, its URL and its whole key history.
The descriptor file is self-signed with the node's current Ed25519 and ML-DSA-65 keys,
which proves the exporter holds them; whether to trust it is the operator's choice
(they compare its fingerprint out of band). :func:`verify_envelope` checks a message
against the pinned keys of the generation valid when it was sent; :func:`check_inbound`
runs the receiver's checks in their documented order; :func:`rotated` accepts a
key-rotation announcement only as an extension of the pinned history. Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from accord.canonical import canonical_bytes
from accord.crypto import (
    CompositeSignature,
    CompositeSigner,
    CompositeVerifier,
    NodeKeys,
    NodePublicKeys,
    Signature,
)
from accord.crypto.keys import KeyAlgorithm, KeyGeneration, check_key_history, generations_during
from accord.crypto.signing import PinnedKeyVerifier, signed_bytes
from accord.errors import Error, IntegrityError, ValidationError
from accord.federation.messages import LONG_LIVED, Envelope, RejectedError, parse_time

__all__ = [
    "DESCRIPTOR_FORMAT",
    "DESCRIPTOR_PURPOSE",
    "MAX_DESCRIPTOR_BYTES",
    "Freshness",
    "PeerDescriptor",
    "check_inbound",
    "descriptor_file",
    "read_descriptor_file",
    "rotated",
    "verify_envelope",
    "verify_signed",
]

DESCRIPTOR_FORMAT: Final = "accord.peer-descriptor/1"
DESCRIPTOR_PURPOSE: Final = "accord.peer-descriptor/1"
MAX_DESCRIPTOR_BYTES: Final = 1024 * 1024
_SECOND: Final = dt.timedelta(seconds=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerDescriptor:
    """A node as its peers pin it: party, URL (may be empty for air-gapped peers), key history."""

    party: str
    url: str
    created_at: str
    history: tuple[KeyGeneration, ...]

    def __post_init__(self) -> None:
        """The history must be a valid one (contiguous, the last open-ended)."""
        object.__setattr__(self, "history", check_key_history(self.history))

    @property
    def public(self) -> NodePublicKeys:
        """The current public keys."""
        return self.history[-1].public

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the current public keys (what operators compare out of band)."""
        return self.public.fingerprint

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "format": DESCRIPTOR_FORMAT,
            "party": self.party,
            "url": self.url,
            "created_at": self.created_at,
            "fingerprint": self.fingerprint,
            "key_history": [g.to_dict() for g in self.history],
        }

    @classmethod
    def from_dict(cls, data: object) -> PeerDescriptor:
        """Read the JSON form; the stated fingerprint must be that of the current keys.

        Raises:
            ValidationError: not a descriptor, or a field malformed.
        """
        if not isinstance(data, dict) or data.get("format") != DESCRIPTOR_FORMAT:
            msg = f"not an Accord peer descriptor (expected format {DESCRIPTOR_FORMAT!r})"
            raise ValidationError(msg)
        party, url, created = data.get("party"), data.get("url"), data.get("created_at")
        if not all(isinstance(v, str) for v in (party, url, created)) or not party:
            msg = "peer descriptor: 'party', 'url' and 'created_at' must be text"
            raise ValidationError(msg)
        history = data.get("key_history")
        if not isinstance(history, list):
            msg = "peer descriptor: 'key_history' must be a list"
            raise ValidationError(msg)
        descriptor = cls(
            party=str(party),
            url=str(url),
            created_at=str(created),
            history=tuple(KeyGeneration.from_dict(g) for g in history),
        )
        if data.get("fingerprint") != descriptor.fingerprint:
            msg = "peer descriptor: the fingerprint does not match the current keys"
            raise ValidationError(msg)
        return descriptor

    def to_bytes(self) -> bytes:
        """Canonical JSON (what a node stores for a pinned peer)."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> PeerDescriptor:
        """Read the canonical JSON form."""
        try:
            return cls.from_dict(json.loads(data))
        except (ValueError, RecursionError) as e:
            msg = f"peer descriptor is not JSON: {e}"
            raise ValidationError(msg) from None


def descriptor_file(descriptor: PeerDescriptor, keys: NodeKeys) -> bytes:
    """The descriptor file: the descriptor and its composite self-signature."""
    if keys.public != descriptor.public:
        msg = "a descriptor is signed with the node's current keys"
        raise ValidationError(msg)
    body = descriptor.to_dict()
    signature = CompositeSigner(keys).sign(signed_bytes(body, purpose=DESCRIPTOR_PURPOSE))
    return canonical_bytes({"descriptor": body, "signature": signature.to_dict()}) + b"\n"


def read_descriptor_file(data: bytes) -> PeerDescriptor:
    """The descriptor in a descriptor file, once its self-signature verifies.

    Raises:
        ValidationError: oversized, not JSON or not a descriptor file.
        IntegrityError: the self-signature does not verify with the descriptor's keys.
    """
    if len(data) > MAX_DESCRIPTOR_BYTES:
        msg = f"a peer descriptor file is at most {MAX_DESCRIPTOR_BYTES} bytes; this one is {len(data)}"
        raise ValidationError(msg)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        msg = f"not a peer descriptor file: not JSON ({e}); is it truncated?"
        raise ValidationError(msg) from None
    if not isinstance(doc, dict) or set(doc) != {"descriptor", "signature"}:
        msg = "not a peer descriptor file: expected 'descriptor' and 'signature'"
        raise ValidationError(msg, hint="export one with `accord node export-descriptor` on the peer's node")
    descriptor = PeerDescriptor.from_dict(doc["descriptor"])
    public = descriptor.public
    verifier = CompositeVerifier((public.signing, public.pq_signing))
    verifier.verify(
        CompositeSignature.from_dict(doc["signature"]),
        signed_bytes(doc["descriptor"], purpose=DESCRIPTOR_PURPOSE),
    )
    return descriptor


def verify_signed(
    peer: PeerDescriptor,
    signatures: Sequence[Signature],
    data: bytes,
    *,
    at: dt.datetime,
    long_lived: bool = False,
) -> None:
    """Check ``signatures`` over ``data`` against the peer's keys of the time ``at``.

    Every generation valid in the second of ``at`` may have signed (rotation stamps are
    finer than a second). A long-lived statement needs Ed25519 and ML-DSA-65
    signatures by one generation; anything else exactly one Ed25519 signature.

    Raises:
        RejectedError: no pinned key of that time made a valid signature.
    """
    required = (KeyAlgorithm.ED25519, KeyAlgorithm.ML_DSA_65) if long_lived else ()
    single = len(signatures) == 1 and signatures[0].algorithm is KeyAlgorithm.ED25519
    for generation in generations_during(peer.history, at, at + _SECOND):
        keys = (generation.public.signing, generation.public.pq_signing)
        try:
            if required:
                CompositeVerifier(keys, required=required).verify(CompositeSignature(tuple(signatures)), data)
            elif single:
                PinnedKeyVerifier(keys[:1]).verify(signatures[0], data)
            else:
                break
        except IntegrityError:
            continue
        return
    msg = f"signature does not verify with {peer.party}'s pinned keys of {at.isoformat()}"
    raise RejectedError(msg)


def verify_envelope(envelope: Envelope, peer: PeerDescriptor) -> None:
    """Check the envelope's signatures against the peer's keys of when it was sent.

    Raises:
        RejectedError: no pinned key of that time made a valid signature.
    """
    verify_signed(
        peer,
        envelope.signatures,
        envelope.signed_bytes(),
        at=envelope.sent,
        long_lived=envelope.type in LONG_LIVED,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Freshness:
    """How old (``max_age``) or how far ahead of this node's clock (``max_skew``) a message may be."""

    max_age: dt.timedelta = dt.timedelta(days=7)
    max_skew: dt.timedelta = dt.timedelta(minutes=5)

    def __post_init__(self) -> None:
        """Both bounds are positive."""
        if self.max_age <= dt.timedelta(0) or self.max_skew < dt.timedelta(0):
            msg = f"freshness bounds must be positive (max age {self.max_age}, skew {self.max_skew})"
            raise ValidationError(msg)


def check_inbound(  # noqa: PLR0913 - the receiver's view: itself, its peers, its clock, its agreements
    envelope: Envelope,
    *,
    me: str,
    peers: Mapping[str, PeerDescriptor],
    now: dt.datetime,
    freshness: Freshness,
    fingerprint: Callable[[str], str | None],
) -> PeerDescriptor:
    """The pinned sender of an envelope that passes the receiver's checks, in order.

    Addressee, pinned sender, signature, freshness, agreement fingerprint
    (``fingerprint`` gives this node's fingerprint of an agreement id, ``None`` when
    it holds no such agreement). Replay is the caller's check (it needs the store).

    Raises:
        RejectedError: the first check that fails, with its reason.
    """
    if envelope.recipient != me:
        msg = f"addressed to {envelope.recipient}, not {me}"
        raise RejectedError(msg)
    peer = peers.get(envelope.sender)
    if peer is None:
        msg = f"sender {envelope.sender} is not a pinned peer"
        raise RejectedError(msg)
    verify_envelope(envelope, peer)
    sent = parse_time(envelope.sent_at, "sent_at")
    if sent < now - freshness.max_age:
        msg = f"stale: sent {envelope.sent_at}, older than {freshness.max_age}"
        raise RejectedError(msg)
    if sent > now + freshness.max_skew:
        msg = f"sent {envelope.sent_at}, ahead of this node's clock by more than {freshness.max_skew}"
        raise RejectedError(msg)
    if envelope.agreement is not None:
        agreement_id, theirs = envelope.agreement
        ours = fingerprint(agreement_id)
        if ours is None:
            msg = f"agreement {agreement_id} is unknown to this node"
            raise RejectedError(msg)
        if ours != theirs:
            msg = f"agreement {agreement_id}: sender holds version {theirs[:12]}, this node {ours[:12]}"
            raise RejectedError(msg)
    return peer


def rotated(pinned: PeerDescriptor, announced: object) -> PeerDescriptor:
    """The peer after a key-rotation announcement, checked to extend what is pinned.

    The announcement (verified by the caller against the pinned keys) must be the same
    party with the pinned history, its current generation now closed, and newer
    generations after it.

    Raises:
        RejectedError: not a descriptor, another party, or not an extension.
    """
    try:
        new = PeerDescriptor.from_dict(announced)
    except Error as e:
        msg = f"key rotation: not a descriptor ({e.message})"
        raise RejectedError(msg) from None
    old = pinned.history
    same_past = new.history[: len(old) - 1] == old[:-1]
    closed = len(new.history) > len(old) and new.history[len(old) - 1].public == old[-1].public
    if new.party != pinned.party or not same_past or not closed:
        msg = f"key rotation for {new.party} does not extend the pinned key history of {pinned.party}"
        raise RejectedError(msg)
    return new
