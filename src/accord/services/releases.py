"""Releases: decide, tear, sign, seal, audit and store a release; receive one; open one for a person.

``Releases.release`` is the pipeline of DESIGN.md for a record this node originated:
the engine decides (a denial is a value, audited as a ``decision`` entry); on a permit
the released portions' bodies are decrypted, the content is signed by this node as
originator, sealed (HPKE, hybrid suite) for the first hop's node and stored as a
``sealed`` release with its ``release`` entry in one transaction. The release entry
carries the decision's digest, so one entry accounts for both. ``release_many`` does
the same for a batch in one transaction (the benchmark's and a bulk sender's path).

``Releases.receive`` takes a message addressed to this node: checks the hop signature
against the sender's pinned descriptor, opens the envelope with this node's keys and
its *own* fingerprint of the leg's agreement, checks the originator's signature and
every body against its digest, re-runs the decision with this node's world and stores
the release (idempotent by message id). Every refusal is one opaque
``IntegrityError`` to the caller; the detail goes only to the audit log.
``Releases.open`` lets a person read a received release when ``policy.access`` allows.
Peer descriptors are passed in; pinning them is the federation's job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import canonical_bytes, sha256_hex
from accord.crypto import (
    Ed25519Signer,
    NodePublicKeys,
    PinnedKeyVerifier,
    SignedContent,
    open_release,
    open_sealed,
    seal_release,
    sign_content,
)
from accord.crypto.stream import WrappedKey, decrypt_bytes, unwrap_key
from accord.domain.person import Person
from accord.domain.record import Record
from accord.domain.release import Decision
from accord.domain.world import World
from accord.errors import Error, IntegrityError, UnknownReferenceError, ValidationError
from accord.policy.access import AccessDecision, may_open
from accord.policy.engine import decide
from accord.services import audit
from accord.services._database import NodeService
from accord.services._release_message import (
    MAX_MESSAGE_BYTES,
    ReleaseMessage,
    build_content,
    check_bodies,
    record_of,
)
from accord.services.node import NodeIdentity, UnlockedNode, read_identity, utc_now, write_atomically
from accord.services.obligations import latest_levels
from accord.storage.sql import SqlRecordStore, SqlReleaseStore
from accord.storage.values import Body, InlineBody, Release, ReleaseState

__all__ = [
    "OpenedRelease",
    "Received",
    "ReleaseOutcome",
    "ReleaseRequest",
    "Releases",
    "person_from_options",
    "read_message_file",
    "write_message_file",
]

_MAX_REASON = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRequest:
    """Release this node's record ``record_id`` to ``recipient`` as of ``on``."""

    record_id: str
    recipient: str
    on: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseOutcome:
    """The decision, and on a permit the stored release and the message to send."""

    decision: Decision
    release: Release | None = None
    message: ReleaseMessage | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form: the decision, plus the release id and state when one was sealed."""
        out: dict[str, object] = {"decision": self.decision.to_dict()}
        if self.release is not None:
            out["release"] = {
                "id": self.release.id,
                "message_id": self.release.message_id,
                "state": self.release.state.value,
                "next_hop": self.release.route[1],
            }
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """A release received here: the stored release and whether it was new."""

    release: Release
    new: bool

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "release_id": self.release.id,
            "record_id": self.release.record_id,
            "sender": self.release.sender,
            "new": self.new,
            "label": _label(self.release),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedRelease:
    """A person's attempt to open a received release: the access decision and, if allowed, the text."""

    access: AccessDecision
    release: Release
    content: dict[str, Any] | None = None
    texts: dict[str, str] | None = None
    label: dict[str, object] | None = None  # the marking after a reclassification, if any

    def to_dict(self) -> dict[str, object]:
        """JSON form: the access checks, and the record's content when it was opened."""
        out: dict[str, object] = {
            "allowed": self.access.allowed,
            "person": self.access.person,
            "release_id": self.release.id,
            "reasons": list(self.access.reasons),
        }
        if self.content is not None and self.texts is not None:
            out["label"] = self.label or _label(self.release)
            out["record"] = self.content["record"]
            out["portions"] = [
                {"id": p["id"], "level": p["level"], "text": self.texts[p["id"]]} for p in self.content["portions"]
            ]
        return out

    def banner(self) -> str:
        """The marking line the reader sees first (recipient's level, then the originator's)."""
        return str((self.label or _label(self.release)).get("text", ""))

    def heading(self) -> str:
        """The record's id and title, once opened."""
        record = (self.content or {}).get("record", {})
        return f"{record.get('id', self.release.record_id)}: {record.get('title', '')}"

    def portion_rows(self) -> list[tuple[str, str, str]]:
        """(portion id, originator's level, text) for each portion, once opened."""
        if self.content is None or self.texts is None:
            return []
        return [(str(p["id"]), str(p["level"]), self.texts[str(p["id"])]) for p in self.content["portions"]]


def _body_context(record_id: str, portion_id: str) -> bytes:
    # The same context the records service binds each body's data key to.
    return f"accord.record-body/1:{record_id}:{portion_id}".encode()


class Releases(NodeService):
    """Releases sent from and received at this node."""

    # -- sending ------------------------------------------------------------------------

    def release(  # noqa: PLR0913 - one release: what, to whom, when, and the keys involved
        self,
        record_id: str,
        recipient: str,
        *,
        world: World,
        node: UnlockedNode,
        next_hop: NodeIdentity,
        on: dt.date | None = None,
        at: dt.datetime | None = None,
    ) -> ReleaseOutcome:
        """Decide and, on a permit, seal and store one release with its audit entry.

        ``next_hop`` is the identity (``node.json``) of the node the release goes to
        first: the recipient, or the hub on a hub route.

        Raises:
            UnknownReferenceError: no such record here.
            ValidationError: the keys given are not the next hop's; the refusal is
                audited and nothing else is stored.
        """
        at = at or utc_now()
        request = ReleaseRequest(record_id=record_id, recipient=recipient, on=on or at.date())
        return self.release_many([request], world=world, node=node, next_hops={next_hop.party: next_hop.public}, at=at)[
            0
        ]

    def release_many(
        self,
        requests: Sequence[ReleaseRequest],
        *,
        world: World,
        node: UnlockedNode,
        next_hops: Mapping[str, NodePublicKeys],
        at: dt.datetime | None = None,
    ) -> list[ReleaseOutcome]:
        """:meth:`release` for each request, all in one transaction (all or nothing).

        ``next_hops`` maps a party to the descriptor of its node; every first hop of a
        permitted route must be there. The audit entries are appended last, in the
        order of the requests, in the same transaction.
        """
        at = at or utc_now()
        party = node.identity.party
        signer = Ed25519Signer(node.keys)
        try:
            with self._db.transaction("release the records") as session:
                records = SqlRecordStore(session)
                wanted = [r.record_id for r in requests]
                stored_records = records.get_many(wanted)
                stored_bodies = records.bodies_many(wanted)
                outcomes = []
                sealed = []
                entries = []
                for request in requests:
                    stored = stored_records.get(request.record_id)
                    if stored is None:
                        msg = f"no record {request.record_id!r} on this node"
                        raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
                    decision = decide(stored.record, request.recipient, on=request.on, world=world)
                    if not decision:
                        outcomes.append(ReleaseOutcome(decision=decision))
                        entries.append(_denial_entry(decision, party=party, at=at))
                        continue
                    texts = _texts(stored_bodies.get(stored.record.id, {}), stored.record.id, decision, node)
                    release, message, entry = _seal(
                        stored.record, decision, texts, signer=signer, next_hops=next_hops, party=party, at=at
                    )
                    sealed.append(release)
                    outcomes.append(ReleaseOutcome(decision=decision, release=release, message=message))
                    entries.append(entry)
                SqlReleaseStore(session).add_many(sealed)
                audit.append_many(session, entries)
        except Error as e:
            self._audit_refusal(EntryKind.RELEASE, "release.seal", e, party=party, at=at)
            raise
        return outcomes

    def message(self, release_id: str) -> ReleaseMessage:
        """The message of a release sent from here, to write to a file again.

        Raises:
            UnknownReferenceError: no such release sent from here.
        """
        with self._db.transaction("read the release") as session:
            release = SqlReleaseStore(session).get(release_id)
        if release is None or release.state is ReleaseState.RECEIVED:
            msg = f"no release {release_id!r} sent from this node"
            raise UnknownReferenceError(msg, hint="`accord records releases` lists them")
        return ReleaseMessage.from_bytes(release.envelope)

    def list(self, *, received: bool, after: str | None = None, limit: int = 100) -> Sequence[Release]:
        """Releases received here (the inbox) or sent from here, in the order stored."""
        with self._db.transaction("list the releases") as session:
            store = SqlReleaseStore(session)
            if received:
                return store.list(state=ReleaseState.RECEIVED, after=after, limit=limit)
            party = read_identity(self._home).party
            return store.list(sender=party, after=after, limit=limit)

    # -- receiving ----------------------------------------------------------------------

    def receive(  # noqa: PLR0913 - the message, the two parties' keys, the world and the time
        self,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        sender: NodeIdentity,
        originator: NodeIdentity | None = None,
        at: dt.datetime | None = None,
    ) -> Received:
        """Check and store a release message addressed to this node.

        ``sender`` is the pinned descriptor of the node that sent this leg;
        ``originator`` that of the record's originator (the sender when omitted).

        Raises:
            ValidationError: not a release message at all (nothing stored).
            IntegrityError: refused (forged, modified, replayed under another id, for
                another node, under another agreement version, not lawful here); the
                reason is in the audit log, and nothing else is stored.
        """
        at = at or utc_now()
        party = node.identity.party
        message = ReleaseMessage.from_bytes(data)
        try:
            release, content = self._accept(message, world=world, node=node, sender=sender, originator=originator)
        except _RefusedError as refused:
            self._audit_refusal(EntryKind.RECEIPT, "release.receive", refused, party=party, at=at, subject=message)
            msg = "sealed release failed its integrity check"
            raise IntegrityError(msg, hint="the reason is in this node's audit log (`accord audit verify`)") from None
        release = Release(**{**_fields(release), "created_at": audit.iso(at), "updated_at": audit.iso(at)})
        with self._db.transaction("store the received release") as session:
            store = SqlReleaseStore(session)
            existing = store.by_message(message.message_id)
            if existing is not None:
                return Received(release=existing, new=False)
            if store.get(release.id) is not None:
                replayed = True
            else:
                replayed = False
                store.add_received(release)
                audit.append(
                    session,
                    kind=EntryKind.RECEIPT,
                    actor=party,
                    at=at,
                    subjects=(release.record_id, release.id),
                    digests={
                        "content": sha256_hex(content),
                        "envelope": hashlib.sha256(data).hexdigest(),
                        "decision": hashlib.sha256(release.decision).hexdigest(),
                    },
                    meta={"action": "release.receive", "sender": message.sender, "outcome": "accepted"},
                )
        if replayed:
            error = _RefusedError(f"release {release.id} was already received under another message id (replay)")
            self._audit_refusal(EntryKind.RECEIPT, "release.receive", error, party=party, at=at, subject=message)
            msg = "sealed release failed its integrity check"
            raise IntegrityError(msg, hint="the reason is in this node's audit log (`accord audit verify`)")
        return Received(release=release, new=True)

    @staticmethod
    def _accept(
        message: ReleaseMessage,
        *,
        world: World,
        node: UnlockedNode,
        sender: NodeIdentity,
        originator: NodeIdentity | None,
    ) -> tuple[Release, dict[str, Any]]:
        party = node.identity.party
        fingerprint = _check_header(message, party=party, world=world, sender=sender)
        signer = originator or sender
        try:
            signed = open_release(
                message.sealed,
                node.kem_private_keys(),
                agreement_fingerprint=fingerprint,
                peers=PinnedKeyVerifier([sender.public.signing]),
                originator=PinnedKeyVerifier([signer.public.signing]),
            )
        except IntegrityError:
            msg = "hop signature, envelope or originator signature did not verify"
            raise _RefusedError(msg) from None
        content = dict(signed.content)
        try:
            record = record_of(content)
            check_bodies(content, signed.bodies)
        except IntegrityError:
            msg = "content malformed or a body does not match its signed digest"
            raise _RefusedError(msg) from None
        if record.originator != signer.party:
            msg = f"record originated by {record.originator}, signed by {signer.party}"
            raise _RefusedError(msg)
        if (content.get("release_id"), record.id) != (message.release_id, message.record_id):
            msg = "header does not match the signed content (release or record id)"
            raise _RefusedError(msg)
        if content.get("recipient") != party:
            msg = f"content is for {content.get('recipient')}, not {party}; relaying comes with federation"
            raise _RefusedError(msg)
        try:
            on = dt.date.fromisoformat(str(content["on"]))
            decision = decide(record, party, on=on, world=world)
        except (Error, KeyError, ValueError) as e:
            msg = f"the decision could not be re-run here: {e}"
            raise _RefusedError(msg) from None
        if not decision or decision.withheld_portions or decision.route[-2] != message.sender:
            reason = decision.reasons[0] if decision.reasons and not decision else "route or tear line differs"
            msg = f"not lawful under this node's agreements: {reason}"
            raise _RefusedError(msg)
        release = Release.from_decision(
            decision,
            id=message.release_id,
            envelope=message.to_bytes(),
            state=ReleaseState.RECEIVED,
            at=message.sent_at,
            message_id=message.message_id,
        )
        return release, content

    # -- reading ------------------------------------------------------------------------

    def read(
        self,
        release_id: str,
        *,
        person: Person,
        world: World,
        node: UnlockedNode,
        at: dt.datetime | None = None,
    ) -> OpenedRelease:
        """Let ``person`` read a received release if clearance, need-to-know and nationality allow.

        Allowed or refused, the attempt is audited. A refusal is a value (``allowed``
        false) with the failed checks; the content is then never decrypted.

        Raises:
            UnknownReferenceError: no such received release.
        """
        at = at or utc_now()
        party = node.identity.party
        with self._db.transaction("read the release") as session:
            release = SqlReleaseStore(session).get(release_id)
        if release is None or release.state is not ReleaseState.RECEIVED:
            msg = f"no received release {release_id!r} on this node"
            raise UnknownReferenceError(msg, hint="`accord records inbox` lists them")
        message = ReleaseMessage.from_bytes(release.envelope)
        stored_content = self._content(message, node, world)
        record = record_of(stored_content)
        with self._db.transaction("read the reclassifications") as session:
            changed = latest_levels(session, record.id, originator=record.originator)
        label = _label(release)
        if changed:
            on = dt.date.fromisoformat(str(stored_content["on"]))
            label = _remarked(record, changed, holder=party, on=on, world=world)
        level = str(label["recipient_level"])
        access = may_open(person, holder=party, level=level, topics=record.topics, on=at.date(), world=world)
        with self._db.transaction("audit the access") as session:
            audit.append(
                session,
                kind=EntryKind.ACCESS,
                actor=party,
                at=at,
                subjects=(release.record_id, release.id),
                meta={
                    "action": "release.open",
                    "person": person.id[:_MAX_REASON],
                    "outcome": "allowed" if access else "refused",
                    "reason": (access.reasons[0] if access.reasons else "")[:_MAX_REASON],
                },
            )
        if not access:
            return OpenedRelease(access=access, release=release)
        texts = check_bodies(stored_content, stored_content.pop("_bodies"))
        if changed:
            stored_content["portions"] = [
                p | {"level": changed.get(p["id"], p["level"])} for p in stored_content["portions"]
            ]
        return OpenedRelease(
            access=access, release=release, content=stored_content, texts=texts, label=label if changed else None
        )

    @staticmethod
    def _content(message: ReleaseMessage, node: UnlockedNode, world: World) -> dict[str, Any]:
        # Every signature was checked on receipt, against keys given then; here the seal
        # (AEAD, bound to this node's key and its own agreement fingerprint) guards the
        # stored bytes, and the bodies are checked against the signed digests again.
        fingerprint = world.agreement(message.agreement[0]).fingerprint
        payload = open_sealed(message.sealed.envelope, node.kem_private_keys(), agreement_fingerprint=fingerprint)
        signed = SignedContent.from_bytes(payload)
        content = dict(signed.content)
        content["_bodies"] = signed.bodies
        return content

    # -- refusals -----------------------------------------------------------------------

    def _audit_refusal(  # noqa: PLR0913 - the entry's fields
        self,
        kind: EntryKind,
        action: str,
        error: Error,
        *,
        party: str,
        at: dt.datetime,
        subject: ReleaseMessage | None = None,
    ) -> None:
        subjects = (subject.record_id[:_MAX_REASON], subject.release_id[:_MAX_REASON]) if subject else ()
        meta: dict[str, str | int | bool] = {
            "action": action,
            "outcome": "refused",
            "reason": error.message[:_MAX_REASON],
        }
        if subject is not None:
            meta["message"] = subject.message_id[:_MAX_REASON]
            meta["sender"] = subject.sender[:_MAX_REASON]
        with self._db.transaction("audit the refusal") as session:
            audit.append(session, kind=kind, actor=party, at=at, subjects=subjects, meta=meta)


class _RefusedError(Error):
    """Why a received release was refused: for the audit log only, never the sender."""


def _texts(bodies: Mapping[str, Body], record_id: str, decision: Decision, node: UnlockedNode) -> dict[str, str]:
    """The plaintext of the released portions, decrypted under the node's KEK."""
    texts = {}
    for portion_id in decision.released_portions:
        body = bodies.get(portion_id)
        if not isinstance(body, InlineBody):
            msg = f"record {record_id}: portion {portion_id} is a file; releasing files is not supported yet"
            raise ValidationError(msg)
        key = unwrap_key(
            WrappedKey.from_bytes(body.wrapped_key), node.kek, context=_body_context(record_id, portion_id)
        )
        texts[portion_id] = decrypt_bytes(body.ciphertext, key).decode("utf-8")
    return texts


def _denial_entry(decision: Decision, *, party: str, at: dt.datetime) -> Callable[[int], AuditEntry]:
    return audit.entry(
        kind=EntryKind.DECISION,
        actor=party,
        at=at,
        subjects=(decision.record_id,),
        digests={"decision": sha256_hex(decision.to_dict())},
        meta={
            "action": "release.decide",
            "recipient": decision.recipient,
            "outcome": "denied",
            "reason": (decision.reasons or ("no lawful route",))[0][:_MAX_REASON],
        },
    )


def _seal(  # noqa: PLR0913 - one permitted release: what, how, and by whom
    record: Record,
    decision: Decision,
    texts: Mapping[str, str],
    *,
    signer: Ed25519Signer,
    next_hops: Mapping[str, NodePublicKeys],
    party: str,
    at: dt.datetime,
) -> tuple[Release, ReleaseMessage, Callable[[int], AuditEntry]]:
    """Sign and seal a permitted release for the first hop; the release and its audit entry."""
    hop = decision.route[1]
    keys = next_hops.get(hop)
    if keys is None:
        msg = f"no public keys given for {hop}, the first hop of the route {'>'.join(decision.route)}"
        raise ValidationError(msg, hint=f"give {hop}'s node descriptor (its node.json)")
    when = audit.iso(at)
    release_id = str(uuid.uuid4())
    decision_json = canonical_bytes(decision.to_dict())
    content, bodies = build_content(
        record,
        decision,
        texts,
        release_id=release_id,
        released_at=when,
        decision_digest=hashlib.sha256(decision_json).hexdigest(),
    )
    signed = sign_content(content, signer, bodies=bodies)
    first = decision.hops[0]
    sealed = seal_release(
        signed, keys, agreement_fingerprint=first.fingerprint, decision_id=content["decision"], sender=signer
    )
    message = ReleaseMessage(
        message_id=str(uuid.uuid4()),
        release_id=release_id,
        sender=party,
        recipient=hop,
        record_id=record.id,
        agreement=(first.agreement, first.fingerprint),
        sent_at=when,
        sealed=sealed,
    )
    envelope = message.to_bytes()
    release = Release.from_decision(
        decision,
        id=release_id,
        envelope=envelope,
        state=ReleaseState.SEALED,
        at=when,
        message_id=message.message_id,
        decision_json=decision_json,
    )
    entry = audit.entry(
        kind=EntryKind.RELEASE,
        actor=party,
        at=at,
        subjects=(record.id, release_id),
        digests={
            "decision": content["decision"],
            "content": sha256_hex(content),
            "envelope": hashlib.sha256(envelope).hexdigest(),
        },
        meta={
            "action": "release.seal",
            "recipient": decision.recipient,
            "route": ">".join(decision.route),
            "released": len(decision.released_portions),
            "withheld": len(decision.withheld_portions),
            "outcome": "allowed",
        },
    )
    return release, message, entry


def _check_header(message: ReleaseMessage, *, party: str, world: World, sender: NodeIdentity) -> str:
    """This node's fingerprint of the leg's agreement, once the header is addressed right."""
    if message.recipient != party:
        msg = f"message addressed to {message.recipient}, not {party}"
        raise _RefusedError(msg)
    if sender.party != message.sender:
        msg = f"message claims sender {message.sender}; the pinned key given is {sender.party}'s"
        raise _RefusedError(msg)
    agreement_id, theirs = message.agreement
    if agreement_id not in {a.id for a in world.agreements}:
        msg = f"agreement {agreement_id} is unknown to this node"
        raise _RefusedError(msg)
    ours = world.agreement(agreement_id).fingerprint
    if ours != theirs:
        msg = f"agreement {agreement_id}: sender used version {theirs[:12]}, this node holds {ours[:12]}"
        raise _RefusedError(msg)
    return ours


def _remarked(
    record: Record, levels: Mapping[str, str], *, holder: str, on: dt.date, world: World
) -> dict[str, object]:
    """The label of a held copy once the originator's reclassification notices apply.

    The new levels go through the same agreements as on receipt (the engine, as of the
    release date). A copy the agreements would no longer carry at its new level is
    marked at the holder's highest level: it stays protected (GSOMIA Art.21(4)) and
    only the most cleared may read it.
    """
    portions = tuple(replace(p, level=levels.get(p.id, p.level)) for p in record.portions)
    decision = decide(replace(record, portions=portions), holder, on=on, world=world)
    if decision.label is not None and not decision.withheld_portions:
        return dict(decision.label.to_dict())
    top = world.scheme_of(holder).levels[0]
    return {
        "recipient": holder,
        "recipient_level": top.id,
        "text": f"{holder} {top.id} (re-marked: reclassified by the originator beyond what the agreement carries)",
    }


def _label(release: Release) -> dict[str, object]:
    if release.label is None:
        msg = f"release {release.id} has no label"
        raise IntegrityError(msg)
    value = json.loads(release.label)
    if not isinstance(value, dict):
        msg = "release label is malformed"
        raise IntegrityError(msg)
    return value


def _fields(release: Release) -> dict[str, Any]:
    return {name: getattr(release, name) for name in Release.__dataclass_fields__}


def person_from_options(
    *, person_id: str, nationality: str, clearance: str | None, need_to_know: Sequence[str]
) -> Person:
    """The person an operator describes on the command line (until accounts exist).

    Raises:
        ValidationError: no id, or a clearance outside the person's own scheme.
    """
    party = nationality.strip().upper()
    return Person(
        id=person_id.strip(),
        party=party,
        clearance=clearance.strip() if clearance else None,
        need_to_know=frozenset(t.strip() for t in need_to_know if t.strip()),
    )


def read_message_file(path: Path) -> bytes:
    """The bytes of a release message file, refusing one larger than any message can be.

    Raises:
        ValidationError: unreadable, or too large.
    """
    try:
        size = path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            msg = f"{path} is {size} bytes; a release message is at most {MAX_MESSAGE_BYTES}"
            raise ValidationError(msg)
        return path.read_bytes()
    except OSError as e:
        msg = f"cannot read the release message {path}: {e.strerror or e}"
        raise ValidationError(msg) from e


def write_message_file(path: Path, message: ReleaseMessage) -> None:
    """Write a release message to ``path`` atomically (it is sealed: no secret in clear).

    Raises:
        ValidationError: the file cannot be written.
    """
    try:
        write_atomically(path, message.to_bytes())
    except OSError as e:
        msg = f"cannot write the release message to {path}: {e.strerror or e}"
        raise ValidationError(msg) from e
