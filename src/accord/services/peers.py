"""Peers: pin, list, show and unpin peer nodes; export this node's descriptor; announce a rotation.

``accord node export-descriptor`` writes :func:`export_descriptor`'s file: this node's
party, URL and key history, self-signed with its current Ed25519 and ML-DSA-65 keys.
:meth:`Peers.add` pins such a file from another node (after its operator compared the
fingerprint out of band); nothing is accepted from a party that is not pinned, and a
pinned party's keys change only by a key-rotation announcement signed with its old
keys (:meth:`Peers.rotate_and_announce` on the sending side, ``services.inbound`` on
the receiving side). Every change is audited in the same transaction. Delivery state
per peer (``accord peers status``) comes from the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accord.audit.entry import EntryKind
from accord.crypto import NodePublicKeys
from accord.domain.record import Precedence
from accord.errors import Error, IntegrityError, UnknownReferenceError, ValidationError
from accord.federation.messages import MessageType, new_envelope
from accord.federation.trust import PeerDescriptor, descriptor_file, read_descriptor_file
from accord.services import audit
from accord.services._database import NodeService
from accord.services.node import KeyRotation, NodeIdentity, UnlockedNode, read_identity, rotate_keys, utc_now
from accord.services.outbox import pinned_descriptors, queue
from accord.storage.federation import PeerStatus, PinnedPeer, stamp
from accord.storage.sql import SqlFederationStore

__all__ = ["PeerView", "Peers", "descriptor_of", "export_descriptor", "identity_of"]

_MAX_URL = 2048


def descriptor_of(identity: NodeIdentity, *, url: str) -> PeerDescriptor:
    """This node's descriptor: its identity and the URL peers reach it at."""
    return PeerDescriptor(party=identity.party, url=url, created_at=identity.created_at, history=identity.history)


def export_descriptor(node: UnlockedNode, *, url: str = "") -> bytes:
    """The self-signed descriptor file of this node (what its peers pin).

    Raises:
        ValidationError: the URL is not http(s) or too long.
    """
    _check_url(url)
    return descriptor_file(descriptor_of(node.identity, url=url), node.keys)


def identity_of(descriptor: PeerDescriptor) -> NodeIdentity:
    """A pinned descriptor as the node identity the release service checks against."""
    return NodeIdentity(
        party=descriptor.party, created_at=descriptor.created_at, public=descriptor.public, history=descriptor.history
    )


def _check_url(url: str) -> None:
    if url and (not url.startswith(("https://", "http://")) or len(url) > _MAX_URL or any(c.isspace() for c in url)):
        msg = f"peer URL {url[:80]!r} must be an http(s) URL without spaces, at most {_MAX_URL} characters"
        raise ValidationError(msg, hint="leave it out for a peer reached by bundles only")


def _checked(descriptor: PeerDescriptor, *, own: str, expect_fingerprint: str | None) -> PeerDescriptor:
    _check_url(descriptor.url)
    if descriptor.party == own:
        msg = f"the descriptor is this node's own ({own}); pin the other node's"
        raise ValidationError(msg)
    if expect_fingerprint is not None and expect_fingerprint.lower() != descriptor.fingerprint:
        msg = f"the descriptor's fingerprint is {descriptor.fingerprint}, not {expect_fingerprint}"
        raise ValidationError(msg, hint="do not pin it: ask the peer's operator for the right file")
    return descriptor


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerView:
    """A pinned peer, its descriptor and its delivery status."""

    pinned: PinnedPeer
    descriptor: PeerDescriptor
    status: PeerStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        out: dict[str, Any] = {
            "party": self.pinned.party,
            "url": self.pinned.url,
            "fingerprint": self.pinned.fingerprint,
            "pinned_at": self.pinned.pinned_at,
            "updated_at": self.pinned.updated_at,
            "key_generations": [
                {
                    "valid_from": g.valid_from.isoformat(),
                    "valid_until": None if g.valid_until is None else g.valid_until.isoformat(),
                    "fingerprint": g.public.fingerprint,
                }
                for g in self.descriptor.history
            ],
        }
        if self.status is not None:
            out["status"] = status_dict(self.status)
        return out


def status_dict(status: PeerStatus) -> dict[str, Any]:
    """A peer's delivery status as JSON."""
    return {
        "peer": status.peer,
        "pending": status.pending,
        "pending_by_precedence": dict(zip([p.value for p in Precedence], status.pending_by_rank, strict=True)),
        "delivered": status.delivered,
        "refused": status.refused,
        "sent": status.sent,
        "oldest_pending": status.oldest_pending,
        "attempts": status.attempts,
        "next_attempt_at": status.next_attempt_at,
        "last_error": status.last_error,
        "last_receipt_at": status.last_receipt_at,
    }


class Peers(NodeService):
    """The peers pinned at this node."""

    def add(self, data: bytes, *, expect_fingerprint: str | None = None, at: dt.datetime | None = None) -> PeerView:
        """Pin the peer a descriptor file describes.

        With ``expect_fingerprint`` the file's current keys must have that fingerprint
        (what its operator read out). Audited; a refusal too.

        Raises:
            ValidationError: not a descriptor file, this node's own party, already
                pinned (unpin it first), or another fingerprint than expected.
            IntegrityError: the file's self-signature does not verify.
        """
        at = at or utc_now()
        party = read_identity(self._home).party
        try:
            descriptor = _checked(read_descriptor_file(data), own=party, expect_fingerprint=expect_fingerprint)
            when = stamp(at)
            pinned = PinnedPeer(
                party=descriptor.party,
                url=descriptor.url,
                descriptor=descriptor.to_bytes(),
                fingerprint=descriptor.fingerprint,
                pinned_at=when,
                updated_at=when,
            )
            with self._db.transaction("pin the peer") as session:
                SqlFederationStore(session).add_peer(pinned)
                self._audit(session, "peer.add", descriptor.party, at=at, fingerprint=descriptor.fingerprint)
        except (ValidationError, IntegrityError) as e:
            self._refused("peer.add", e, at=at)
            raise
        return PeerView(pinned=pinned, descriptor=descriptor)

    def list(self) -> Sequence[PeerView]:
        """Every pinned peer with its delivery status."""
        with self._db.reading("list the peers") as session:
            store = SqlFederationStore(session)
            statuses = {s.peer: s for s in store.statuses()}
            return [
                PeerView(pinned=p, descriptor=PeerDescriptor.from_bytes(p.descriptor), status=statuses.get(p.party))
                for p in store.peers()
            ]

    def show(self, party: str) -> PeerView:
        """One pinned peer with its key history and delivery status.

        Raises:
            UnknownReferenceError: ``party`` is not pinned.
        """
        for view in self.list():
            if view.pinned.party == party.upper():
                return view
        msg = f"{party} is not a pinned peer"
        raise UnknownReferenceError(msg, hint="`accord peers list` shows the pinned peers")

    def remove(self, party: str, *, at: dt.datetime | None = None) -> None:
        """Unpin ``party``: nothing more is accepted from it. Its outbox and receipts stay.

        Raises:
            UnknownReferenceError: ``party`` is not pinned.
        """
        at = at or utc_now()
        party = party.upper()
        with self._db.transaction("unpin the peer") as session:
            if not SqlFederationStore(session).remove_peer(party):
                msg = f"{party} is not a pinned peer"
                raise UnknownReferenceError(msg, hint="`accord peers list` shows the pinned peers")
            self._audit(session, "peer.remove", party, at=at)

    def next_hops(self) -> dict[str, NodePublicKeys]:
        """The current public keys of every pinned peer, by party (what a release seals for)."""
        with self._db.reading("read the pinned peers") as session:
            return {p: d.public for p, d in pinned_descriptors(session).items()}

    def status(self) -> Sequence[PeerStatus]:
        """Delivery state per peer: pending by precedence, delivered, refused, next attempt, last error."""
        with self._db.reading("read the delivery status") as session:
            return SqlFederationStore(session).statuses()

    def rotate_and_announce(
        self, passphrase: str | None, *, at: dt.datetime | None = None, unsafe_fast_kdf: bool = False
    ) -> tuple[KeyRotation, int]:
        """Rotate this node's keys and queue the announcement, signed with the old keys, to every peer.

        The old private keys are unlocked first and sign the announcement (Ed25519 and
        ML-DSA-65) once the new keys are in place; the announcements go IMMEDIATE.
        Returns the rotation and how many peers it was queued for.
        """
        from accord.services.node import unlock  # noqa: PLC0415 - the one place a rotation unlocks

        at = at or dt.datetime.now(dt.UTC)
        old = unlock(self._home, passphrase, unsafe_fast_kdf=unsafe_fast_kdf)
        rotation = rotate_keys(self._home, passphrase, at=at, unsafe_fast_kdf=unsafe_fast_kdf)
        body = {"descriptor": descriptor_of(rotation.identity, url="").to_dict()}
        with self._db.transaction("queue the key rotation") as session:
            store = SqlFederationStore(session)
            parties = [p.party for p in store.peers()]
            for party in parties:
                envelope = new_envelope(
                    MessageType.KEY_ROTATION,
                    body,
                    sender=old.identity.party,
                    recipient=party,
                    at=at,
                    keys=old.keys,
                    precedence=Precedence.IMMEDIATE,
                )
                queue(session, envelope, at=at)
            self._audit(
                session, "peer.rotate", old.identity.party, at=at, fingerprint=rotation.identity.public.fingerprint
            )
        return rotation, len(parties)

    # -- audit ------------------------------------------------------------------------

    def _audit(self, session: Session, action: str, party: str, *, at: dt.datetime, fingerprint: str = "") -> None:
        meta: dict[str, str | int | bool] = {"action": action, "outcome": "done", "peer": party}
        if fingerprint:
            meta["fingerprint"] = fingerprint
        audit.append(session, kind=EntryKind.PEER, actor=read_identity(self._home).party, at=at, meta=meta)

    def _refused(self, action: str, error: Error, *, at: dt.datetime) -> None:
        meta: dict[str, str | int | bool] = {"action": action, "outcome": "refused", "reason": error.message[:200]}
        with self._db.transaction("audit the refusal") as session:
            audit.append(session, kind=EntryKind.PEER, actor=read_identity(self._home).party, at=at, meta=meta)


def read_descriptor_path(path: Path) -> bytes:
    """The bytes of a descriptor file, with a clear error when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as e:
        msg = f"cannot read the peer descriptor {path}: {e.strerror or e}"
        raise ValidationError(msg) from e
