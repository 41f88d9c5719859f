"""The hub's relay step: a release addressed onward is checked, re-sealed and queued for the next hop.

A hub (USA under TISA) receives a release envelope whose final recipient is another
party. It opens the sealed release with its own keys and its own fingerprint of the
leg's agreement, checks the hop signature (the sender's pinned keys) and the
originator's signature (the originator's pinned keys), checks every body against its
signed digest, and re-runs the decision with its own world: the route must pass
through this node from the sender, and its next hop must be a pinned peer. It then
seals the *same* signed content (the originator's signature intact) for the next
hop's keys under the onward leg's agreement, adds its own hop signature, and queues a
new release envelope to the next hop. The hub keeps no copy of the content: only the
message id, its receipt and the audit entry. Any failure is a ``RelayError`` whose
reason the caller audits; the first leg is then answered with a refused receipt.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.audit.entry import EntryKind
from accord.crypto import Ed25519Signer, PinnedKeyVerifier, open_release, seal_release
from accord.domain.release import Decision
from accord.domain.world import World
from accord.errors import Error, IntegrityError
from accord.federation.messages import Envelope, MessageType, new_envelope
from accord.federation.trust import PeerDescriptor
from accord.policy.engine import decide
from accord.services import audit
from accord.services._release_message import ReleaseMessage, check_bodies, record_of
from accord.services.node import UnlockedNode
from accord.services.outbox import queue

__all__ = ["RelayError", "relay"]


class RelayError(IntegrityError):
    """The hub cannot relay a release; ``reason`` is for its audit log."""

    def __init__(self, reason: str) -> None:
        """Keep the reason; the message stays opaque."""
        super().__init__("release could not be relayed")
        self.reason = reason


def _keys(peer: PeerDescriptor) -> PinnedKeyVerifier:
    return PinnedKeyVerifier(g.public.signing for g in peer.history)


def _why_not(decision: Decision, *, sender: str, me: str) -> str:
    """Why this node may not relay: the failed checks of the routes from ``sender`` through it.

    A denial lists the failed checks of every candidate route; the direct route's (say
    KOR-JPN GSOMIA not yet in force) are not why a hub refuses, so the audit names the
    failed checks of the routes through the hub, and only without any the denial's
    first reason. A permit by another route names that route.
    """
    if decision:
        return f"route {'>'.join(decision.route)}"
    here = [
        c.detail
        for c in decision.checks
        if not c.passed and any(pair == (sender, me) for pair in itertools.pairwise(c.route.split(">")))
    ]
    return "; ".join(here) or (decision.reasons or ("no lawful route",))[0]


def relay(  # noqa: PLR0913 - the message, the peers, this node and its world
    session: Session,
    envelope: Envelope,
    message: ReleaseMessage,
    *,
    peers: dict[str, PeerDescriptor],
    world: World,
    node: UnlockedNode,
    at: dt.datetime,
) -> Envelope:
    """Re-seal a release for its next hop and queue it; the onward envelope.

    Raises:
        RelayError: the release cannot be opened or verified here, this node's
            agreements do not route it through here, or the next hop is not pinned.
    """
    me = node.identity.party
    originator = peers.get(str(envelope.body.get("originator")))
    if originator is None:
        msg = f"originator {str(envelope.body.get('originator'))[:16]} is not a pinned peer"
        raise RelayError(msg)
    try:
        fingerprint = world.agreement(message.agreement[0]).fingerprint
        signed = open_release(
            message.sealed,
            node.kem_private_keys(),
            agreement_fingerprint=fingerprint,
            peers=_keys(peers[envelope.sender]),
            originator=_keys(originator),
        )
        content: dict[str, Any] = dict(signed.content)
        record = record_of(content)
        _, files = check_bodies(content, signed.bodies)
        decision = decide(record, str(content["recipient"]), on=dt.date.fromisoformat(str(content["on"])), world=world)
    except (Error, KeyError, ValueError) as e:
        msg = f"relay: the release does not open or verify here ({type(e).__name__})"
        raise RelayError(msg) from None
    if files or message.attachments:
        msg = "relay: releases with file portions are not relayed yet"
        raise RelayError(msg)
    if record.originator != originator.party or content["recipient"] != envelope.body.get("recipient"):
        msg = "relay: originator or recipient differ from the signed content"
        raise RelayError(msg)
    route = decision.route
    if not decision or me not in route[1:-1] or route[route.index(me) - 1] != envelope.sender:
        reason = _why_not(decision, sender=envelope.sender, me=me)
        msg = f"relay: not lawful through {me} under this node's agreements: {reason}"
        raise RelayError(msg)
    leg = decision.hops[route.index(me)]
    onward = peers.get(leg.receiver)
    if onward is None:
        msg = f"relay: the next hop {leg.receiver} is not a pinned peer"
        raise RelayError(msg)
    sealed = seal_release(
        signed,
        onward.public,
        agreement_fingerprint=leg.fingerprint,
        decision_id=str(content["decision"]),
        sender=Ed25519Signer(node.keys),
    )
    when = audit.iso(at)
    forwarded = ReleaseMessage(
        message_id=str(uuid.uuid4()),
        release_id=message.release_id,
        sender=me,
        recipient=leg.receiver,
        record_id=message.record_id,
        agreement=(leg.agreement, leg.fingerprint),
        sent_at=when,
        sealed=sealed,
    )
    out = new_envelope(
        MessageType.RELEASE,
        {"message": forwarded.to_dict(), "originator": originator.party, "recipient": content["recipient"]},
        sender=me,
        recipient=leg.receiver,
        at=at,
        keys=node.keys,
        precedence=envelope.precedence,
        agreement=(leg.agreement, leg.fingerprint),
    )
    queue(session, out, at=at)
    audit.append(
        session,
        kind=EntryKind.RELEASE,
        actor=me,
        at=at,
        subjects=(message.record_id, message.release_id),
        meta={
            "action": "release.relay",
            "outcome": "relayed",
            "from": envelope.sender,
            "peer": leg.receiver,
            "route": ">".join(route),
        },
    )
    return out
