"""Checkpoint witnessing, the pure part: the checkpoint message body, the verdict, cosignatures.

A node sends its peers a ``checkpoint`` message: its signed audit tree head and
consistency proofs from earlier sizes of its log. A witness checks the head's
signature with the sender's pinned keys, then :func:`judge` compares it with the
last head it saw from that sender: a larger log must carry a proof that it extends
the old one, an equal size must have the same root, and a smaller one is never
right. A head that passes is co-signed (:func:`cosign`): a :class:`Cosignature` is
the witness's long-lived signature (Ed25519 and ML-DSA-65) over the head it saw.
Pure: no clock, store or I/O; the services keep the heads, alarms and cosignatures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from accord.audit.checkpoint import Checkpoint
from accord.audit.merkle import verify_consistency
from accord.crypto import CompositeSignature, CompositeSigner, NodeKeys
from accord.crypto.signing import signed_bytes
from accord.errors import Error, IntegrityError
from accord.federation.messages import RejectedError, format_time, parse_time
from accord.federation.trust import PeerDescriptor, verify_signed

__all__ = [
    "COSIGNATURE_FORMAT",
    "COSIGNATURE_PURPOSE",
    "MAX_PROOFS",
    "AlarmKind",
    "CheckpointClaim",
    "Cosignature",
    "Head",
    "Verdict",
    "checkpoint_body",
    "cosign",
    "judge",
    "read_checkpoint_body",
    "verify_checkpoint",
    "verify_cosignature",
]

COSIGNATURE_FORMAT: Final = "accord.cosignature/1"
COSIGNATURE_PURPOSE: Final = "accord.cosignature/1"
MAX_PROOFS: Final = 32
"""At most this many consistency proofs ride in one checkpoint message."""
_MAX_PROOF_HASHES: Final = 128  # 2 log2(size) hashes at most; 2^64 entries is far away
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def _refuse(reason: str) -> RejectedError:
    return RejectedError(reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointClaim:
    """What a ``checkpoint`` message claims: a signed tree head and proofs from earlier sizes."""

    checkpoint: Checkpoint
    signature: CompositeSignature  # the origin's, over ``checkpoint.signed_bytes()``
    proofs: Mapping[int, tuple[bytes, ...]]  # earlier size -> consistency proof to this head


def checkpoint_body(
    checkpoint: Checkpoint, signature: CompositeSignature, proofs: Mapping[int, Sequence[bytes]]
) -> dict[str, Any]:
    """The body of a ``checkpoint`` message (proofs by ascending earlier size)."""
    return {
        "checkpoint": checkpoint.to_dict(),
        "signature": signature.to_dict(),
        "proofs": [
            {"from_size": size, "hashes": [h.hex() for h in proofs[size]]} for size in sorted(proofs)[-MAX_PROOFS:]
        ],
    }


def read_checkpoint_body(body: Mapping[str, Any]) -> CheckpointClaim:
    """Read a ``checkpoint`` message's body (nothing verified yet).

    Raises:
        RejectedError: a field is missing or malformed.
    """
    try:
        checkpoint = Checkpoint.from_dict(body.get("checkpoint"))
        signature = CompositeSignature.from_dict(body.get("signature"))
    except Error as e:
        msg = f"checkpoint body malformed: {e.message}"
        raise _refuse(msg) from None
    proofs = body.get("proofs", [])
    if not isinstance(proofs, list) or len(proofs) > MAX_PROOFS:
        msg = f"checkpoint body: 'proofs' must be a list of at most {MAX_PROOFS}"
        raise _refuse(msg)
    read: dict[int, tuple[bytes, ...]] = {}
    for proof in proofs:
        size = proof.get("from_size") if isinstance(proof, dict) else None
        hashes = proof.get("hashes") if isinstance(proof, dict) else None
        if (
            not isinstance(size, int)
            or isinstance(size, bool)
            or not 0 <= size < checkpoint.size
            or size in read
            or not isinstance(hashes, list)
            or len(hashes) > _MAX_PROOF_HASHES
            or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes)
        ):
            msg = "checkpoint body: a proof must be {from_size < size, hashes: [64 hex digits]} once per size"
            raise _refuse(msg)
        read[size] = tuple(bytes.fromhex(h) for h in hashes)
    return CheckpointClaim(checkpoint=checkpoint, signature=signature, proofs=read)


def verify_checkpoint(claim: CheckpointClaim, peer: PeerDescriptor) -> None:
    """The head is the peer's own and signed by its pinned keys of the head's time (both algorithms).

    Raises:
        RejectedError: another origin, a time without offset, or a bad signature.
    """
    checkpoint = claim.checkpoint
    if checkpoint.origin != peer.party:
        msg = f"checkpoint of {checkpoint.origin}'s log sent by {peer.party}"
        raise _refuse(msg)
    at = parse_time(checkpoint.at, "checkpoint time")
    verify_signed(peer, claim.signature.parts, checkpoint.signed_bytes(), at=at, long_lived=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Head:
    """The last tree head a witness accepted from one peer."""

    size: int
    root: str
    at: str


class AlarmKind(StrEnum):
    """Why a peer's log is not an extension of what it showed before."""

    SHRANK = "shrank"  # a smaller log than one it signed before
    FORKED = "forked"  # two signed heads of one size with different roots
    INCONSISTENT = "inconsistent"  # a larger log whose proof does not show the old one as its prefix
    UNPROVEN = "unproven"  # a larger log sent without a proof from the head seen


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """What a witness does with a verified head: advance, co-sign again, or raise an alarm.

    ``cosign`` is true when the head is consistent with everything seen (a new head,
    or the same one again); ``advance`` when it becomes the stored head; ``alarm``
    names the inconsistency; ``reason`` says why for the audit log.
    """

    cosign: bool
    advance: bool
    alarm: AlarmKind | None
    reason: str


def judge(previous: Head | None, claim: CheckpointClaim) -> Verdict:  # noqa: PLR0911 - one return per verdict
    """Compare a verified head with the last one accepted from the same peer.

    The first head is accepted as it is (there is nothing to compare). A larger log
    needs a proof from the previous size: an honest sender includes one from every
    head it signed since the last one this witness co-signed, so a missing proof is
    an alarm too (the sender cannot show that its log extends what it showed).
    """
    new = claim.checkpoint
    if previous is None:
        return Verdict(cosign=True, advance=True, alarm=None, reason="first checkpoint seen")
    if new.size < previous.size:
        reason = f"log shrank from {previous.size} to {new.size} entries"
        return Verdict(cosign=False, advance=False, alarm=AlarmKind.SHRANK, reason=reason)
    if new.size == previous.size:
        if new.root == previous.root:
            return Verdict(cosign=True, advance=False, alarm=None, reason="the same head again")
        reason = f"two roots for {new.size} entries: {previous.root[:16]} then {new.root[:16]}"
        return Verdict(cosign=False, advance=False, alarm=AlarmKind.FORKED, reason=reason)
    proof = claim.proofs.get(previous.size)
    if proof is None:
        reason = f"{new.size} entries sent without a consistency proof from the {previous.size} seen before"
        return Verdict(cosign=False, advance=False, alarm=AlarmKind.UNPROVEN, reason=reason)
    try:
        verify_consistency(
            first_size=previous.size,
            second_size=new.size,
            first_root=bytes.fromhex(previous.root),
            second_root=new.root_hash,
            proof=proof,
        )
    except IntegrityError:
        reason = f"{new.size} entries do not extend the {previous.size} seen before (proof fails)"
        return Verdict(cosign=False, advance=False, alarm=AlarmKind.INCONSISTENT, reason=reason)
    return Verdict(cosign=True, advance=True, alarm=None, reason=f"extends {previous.size} entries")


@dataclass(frozen=True, slots=True, kw_only=True)
class Cosignature:
    """A witness's signature over a peer's tree head: proof that the witness saw that log."""

    witness: str
    checkpoint: Checkpoint
    cosigned_at: str
    signature: CompositeSignature

    def unsigned_dict(self) -> dict[str, Any]:
        """Every field the signature covers."""
        return {
            "format": COSIGNATURE_FORMAT,
            "witness": self.witness,
            "checkpoint": self.checkpoint.to_dict(),
            "cosigned_at": self.cosigned_at,
        }

    def signed_bytes(self) -> bytes:
        """What the witness signs: the unsigned fields for purpose ``accord.cosignature/1``."""
        return signed_bytes(self.unsigned_dict(), purpose=COSIGNATURE_PURPOSE)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, signature included."""
        return self.unsigned_dict() | {"signature": self.signature.to_dict()}

    @classmethod
    def from_dict(cls, data: object) -> Cosignature:
        """Read the JSON form (the signature is parsed, not checked).

        Raises:
            RejectedError: not a cosignature, or a field malformed.
        """
        fields = {"format", "witness", "checkpoint", "cosigned_at", "signature"}
        if not isinstance(data, dict) or set(data) != fields or data["format"] != COSIGNATURE_FORMAT:
            msg = f"not a cosignature (expected format {COSIGNATURE_FORMAT!r} and fields {sorted(fields)})"
            raise _refuse(msg)
        witness, cosigned_at = data["witness"], data["cosigned_at"]
        if not isinstance(witness, str) or not isinstance(cosigned_at, str):
            msg = "cosignature: 'witness' and 'cosigned_at' must be text"
            raise _refuse(msg)
        parse_time(cosigned_at, "cosigned_at")
        try:
            checkpoint = Checkpoint.from_dict(data["checkpoint"])
            signature = CompositeSignature.from_dict(data["signature"])
        except Error as e:
            msg = f"cosignature malformed: {e.message}"
            raise _refuse(msg) from None
        return cls(witness=witness, checkpoint=checkpoint, cosigned_at=cosigned_at, signature=signature)


def cosign(checkpoint: Checkpoint, *, witness: str, at: dt.datetime, keys: NodeKeys) -> Cosignature:
    """The witness's cosignature of ``checkpoint``, made at ``at`` with its keys (both algorithms)."""
    draft = Cosignature(
        witness=witness, checkpoint=checkpoint, cosigned_at=format_time(at), signature=CompositeSignature(())
    )
    signature = CompositeSigner(keys).sign(draft.signed_bytes())
    return Cosignature(witness=witness, checkpoint=checkpoint, cosigned_at=draft.cosigned_at, signature=signature)


def verify_cosignature(cosignature: Cosignature, witness: PeerDescriptor) -> None:
    """The cosignature is the witness's, by its pinned keys of when it co-signed (both algorithms).

    Raises:
        RejectedError: another witness than the descriptor's, or a bad signature.
    """
    if cosignature.witness != witness.party:
        msg = f"cosignature by {cosignature.witness}, sent by {witness.party}"
        raise _refuse(msg)
    verify_signed(
        witness,
        cosignature.signature.parts,
        cosignature.signed_bytes(),
        at=parse_time(cosignature.cosigned_at, "cosigned_at"),
        long_lived=True,
    )
