"""Signed, sealed releases: the originator's signature inside, hop signatures outside.

The originator signs the release content (canonical JSON, purpose
``accord.release-content/1``); content and signature together are the sealed
payload, so the signature travels end to end unchanged. Portion bodies may travel
beside the signed content (``bodies``) when the content carries a salted digest of
each: a holder can then pass on fewer portions than it received without breaking the
originator's signature, and the recipient checks every body it gets against its
digest (``services.releases`` does). Outside the envelope, each
node that sends or relays it appends a hop signature (purpose
``accord.release-hop/1``) over the envelope and the hop signatures before its own,
without touching what is inside. A hub that must re-seal for the next leg seals the
very same signed content again and signs the new envelope.

The recipient checks every hop signature against its pinned peers, opens the
envelope, and checks the originator's signature; any failure is the same opaque
:class:`~accord.errors.IntegrityError`. Freshness, replay and the decision itself are
checked by the services and federation layers, not here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from accord.canonical import canonical_bytes, canonical_object
from accord.crypto.keys import KemPrivateKey, NodeKeys, NodePublicKeys, PublicKey
from accord.crypto.sealing import DEFAULT_SUITE, SealedEnvelope, SealSuite, open_sealed, seal
from accord.crypto.signing import Signature, Signer, Verifier, signed_bytes_of
from accord.errors import IntegrityError

__all__ = [
    "CONTENT_PURPOSE",
    "HOP_PURPOSE",
    "SealedRelease",
    "SignedContent",
    "add_hop_signature",
    "open_release",
    "seal_release",
    "sign_content",
    "verify_hops",
]

CONTENT_PURPOSE: Final = "accord.release-content/1"
HOP_PURPOSE: Final = "accord.release-hop/1"


def _failed() -> IntegrityError:
    return IntegrityError("sealed release failed its integrity check")


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedContent:
    """Release content (a JSON object) with the originator's signature over it.

    ``content_bytes`` is the content's canonical JSON, what the signature covers and
    what is sealed; it is computed from ``content`` unless given (``sign_content``
    gives the bytes it has just signed, so the content is encoded once).
    """

    content: Mapping[str, Any]
    signature: Signature
    bodies: Mapping[str, Any] | None = None  # portion id -> body, checked against the content's digests
    content_bytes: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        """Encode the content once, unless its encoding was given."""
        if not self.content_bytes:
            object.__setattr__(self, "content_bytes", canonical_bytes(self.content))

    def verify(self, originator: Verifier) -> None:
        """Raise ``IntegrityError`` unless the originator's pinned key signed the content."""
        originator.verify(self.signature, signed_bytes_of(self.content_bytes, purpose=CONTENT_PURPOSE))

    def to_bytes(self) -> bytes:
        """Canonical JSON: the payload that gets sealed."""
        payload = {"content": self.content_bytes, "originator_signature": canonical_bytes(self.signature.to_dict())}
        if self.bodies is not None:
            payload["bodies"] = canonical_bytes(self.bodies)
        return canonical_object(payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedContent:
        """Read the sealed payload back; malformed is an opaque ``IntegrityError``."""
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise _failed() from e
        if not isinstance(document, dict) or set(document) - {"bodies"} != {"content", "originator_signature"}:
            raise _failed()
        content = document["content"]
        bodies = document.get("bodies")
        if not isinstance(content, dict) or not (bodies is None or isinstance(bodies, dict)):
            raise _failed()
        return cls(content=content, signature=Signature.from_dict(document["originator_signature"]), bodies=bodies)


def sign_content(
    content: Mapping[str, Any], signer: Signer, *, bodies: Mapping[str, Any] | None = None
) -> SignedContent:
    """The originator's signature over ``content`` (a JSON object); ``bodies`` travel beside it."""
    encoded = canonical_bytes(content)
    signature = signer.sign(signed_bytes_of(encoded, purpose=CONTENT_PURPOSE))
    return SignedContent(content=content, signature=signature, bodies=bodies, content_bytes=encoded)


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedRelease:
    """A sealed envelope and the hop signatures of the nodes that sent or relayed it."""

    envelope: SealedEnvelope
    hop_signatures: tuple[Signature, ...] = ()

    def hop_bytes(self, index: int) -> bytes:
        """What hop signature ``index`` covers: the envelope and the hop signatures before it."""
        return self.hop_bytes_with(self.envelope.to_bytes(), index)

    def hop_bytes_with(self, envelope: bytes, index: int) -> bytes:
        """:meth:`hop_bytes` given the envelope's wire form (``envelope.to_bytes()``) already made."""
        previous = canonical_bytes([s.to_dict() for s in self.hop_signatures[:index]])
        return signed_bytes_of(canonical_object({"envelope": envelope, "previous": previous}), purpose=HOP_PURPOSE)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"envelope": self.envelope.to_dict(), "hop_signatures": [s.to_dict() for s in self.hop_signatures]}

    def to_bytes(self, envelope: bytes | None = None) -> bytes:
        """Canonical JSON of :meth:`to_dict`; ``envelope`` is ``envelope.to_bytes()`` when already made."""
        envelope = self.envelope.to_bytes() if envelope is None else envelope
        signatures = canonical_bytes([s.to_dict() for s in self.hop_signatures])
        return canonical_object({"envelope": envelope, "hop_signatures": signatures})

    @classmethod
    def from_dict(cls, data: object) -> SealedRelease:
        """Read the JSON form; malformed is an opaque ``IntegrityError``."""
        if not isinstance(data, Mapping) or set(data) != {"envelope", "hop_signatures"}:
            raise _failed()
        hops = data["hop_signatures"]
        if not isinstance(hops, list):
            raise _failed()
        return cls(
            envelope=SealedEnvelope.from_dict(data["envelope"]),
            hop_signatures=tuple(Signature.from_dict(s) for s in hops),
        )


def add_hop_signature(release: SealedRelease, signer: Signer) -> SealedRelease:
    """Append ``signer``'s hop signature; the envelope and earlier signatures stay valid."""
    signature = signer.sign(release.hop_bytes(len(release.hop_signatures)))
    return SealedRelease(envelope=release.envelope, hop_signatures=(*release.hop_signatures, signature))


def seal_release(  # noqa: PLR0913 - the envelope header is keyword-only
    signed: SignedContent,
    recipient: NodePublicKeys | PublicKey,
    *,
    agreement_fingerprint: str,
    decision_id: str,
    sender: Signer,
    suite: SealSuite = DEFAULT_SUITE,
) -> SealedRelease:
    """Seal the signed content for ``recipient`` and sign the envelope as its sender."""
    envelope = seal(
        signed.to_bytes(), recipient, agreement_fingerprint=agreement_fingerprint, decision_id=decision_id, suite=suite
    )
    return add_hop_signature(SealedRelease(envelope=envelope), sender)


def verify_hops(release: SealedRelease, peers: Verifier) -> None:
    """Check every hop signature against pinned peer keys; none at all fails closed."""
    if not release.hop_signatures:
        raise _failed()
    envelope = release.envelope.to_bytes()
    for index, signature in enumerate(release.hop_signatures):
        peers.verify(signature, release.hop_bytes_with(envelope, index))


def open_release(
    release: SealedRelease,
    keys: NodeKeys | Iterable[KemPrivateKey],
    *,
    agreement_fingerprint: str,
    peers: Verifier,
    originator: Verifier,
) -> SignedContent:
    """Verify the hops, open the envelope, verify the originator; return the signed content."""
    verify_hops(release, peers)
    signed = SignedContent.from_bytes(open_sealed(release.envelope, keys, agreement_fingerprint=agreement_fingerprint))
    signed.verify(originator)
    return signed
