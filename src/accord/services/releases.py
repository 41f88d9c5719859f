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
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import sha256_hex
from accord.crypto import Ed25519Signer, NodePublicKeys, PinnedKeyVerifier, SignedContent, open_release, open_sealed
from accord.domain.obligation import RecallAcknowledgement
from accord.domain.person import Person
from accord.domain.record import Precedence
from accord.domain.world import World
from accord.errors import Error, IntegrityError, UnknownReferenceError, ValidationError
from accord.policy.access import may_open
from accord.policy.engine import decide
from accord.services import audit
from accord.services._database import NodeService
from accord.services._flash_watch import signal_flash
from accord.services._record_bodies import remove
from accord.services._release_files import (
    RECEIVED_DIR,
    decrypt_attachment,
    keep_attachments,
    parts_directory,
    received_path,
)
from accord.services._release_message import ReleaseMessage, check_bodies, record_of
from accord.services._release_steps import (
    MAX_REASON,
    OpenedRelease,
    Received,
    RefusedError,
    ReleaseOutcome,
    bodies_for,
    check_header,
    checked_attachments,
    denial_entry,
    label_of,
    person_from_options,
    read_message_file,
    remarked,
    seal_one,
    write_message_file,
)
from accord.services._turns import urgent
from accord.services.node import NodeIdentity, UnlockedNode, read_identity, utc_now
from accord.services.obligations import latest_levels
from accord.storage.sql import SqlObligationStore, SqlRecordStore, SqlReleaseStore
from accord.storage.values import Release, ReleaseState

__all__ = [
    "OpenedRelease",
    "Received",
    "ReleaseOutcome",
    "ReleaseRequest",
    "Releases",
    "parts_directory",
    "person_from_options",
    "read_message_file",
    "received_entry",
    "refusal_entry",
    "write_message_file",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRequest:
    """Release this node's record ``record_id`` to ``recipient`` as of ``on``."""

    record_id: str
    recipient: str
    on: dt.date


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
        flash = self._all_flash(requests)
        try:
            with urgent() if flash else nullcontext(), self._db.transaction("release the records") as session:
                outcomes = self._release_in(session, requests, world=world, node=node, next_hops=next_hops, at=at)
        except Error as e:
            self._audit_refusal(EntryKind.RELEASE, "release.seal", e, party=party, at=at)
            raise
        if flash:
            signal_flash(self._home)  # committed: the delivery's FLASH lane sends them now
        return outcomes

    def _all_flash(self, requests: Sequence[ReleaseRequest]) -> bool:
        """Whether every record released is FLASH: urgent work (``_turns.urgent``), whose writes go first."""
        if not requests:
            return False
        with self._db.reading("read the precedences") as session:
            found = SqlRecordStore(session).precedences([r.record_id for r in requests])
        return len(found) == len({r.record_id for r in requests}) and set(found.values()) == {Precedence.FLASH}

    def _release_in(  # noqa: PLR0913 - release_many's arguments, and the session it runs in
        self,
        session: Session,
        requests: Sequence[ReleaseRequest],
        *,
        world: World,
        node: UnlockedNode,
        next_hops: Mapping[str, NodePublicKeys],
        at: dt.datetime,
    ) -> list[ReleaseOutcome]:
        """The work of :meth:`release_many` inside the caller's transaction (which commits it).

        For a caller that must release in the same transaction as its own change (an
        approved disclosure request); it audits no refusal of its own: the caller does.
        """
        party = node.identity.party
        signer = Ed25519Signer(node.keys)
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
                entries.append(denial_entry(decision, party=party, at=at))
                continue
            record_id = stored.record.id
            bodies, files = bodies_for(self._home, stored_bodies.get(record_id, {}), record_id, decision, node)
            release, message, entry = seal_one(
                stored.record,
                decision,
                bodies,
                attachments=tuple(files),
                signer=signer,
                next_hops=next_hops,
                party=party,
                at=at,
            )
            sealed.append(release)
            outcomes.append(ReleaseOutcome(decision=decision, release=release, message=message, attachments=files))
            entries.append(entry)
        SqlReleaseStore(session).add_many(sealed)
        audit.append_many(session, entries)
        return outcomes

    def list(self, *, received: bool, after: str | None = None, limit: int = 100) -> Sequence[Release]:
        """Releases received here (the inbox) or sent from here, in the order stored."""
        with self._db.reading("list the releases") as session:
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
        attachments: Path | None = None,
        at: dt.datetime | None = None,
    ) -> Received:
        """Check and store a release message addressed to this node.

        ``sender`` is the pinned descriptor of the node that sent this leg;
        ``originator`` that of the record's originator (the sender when omitted);
        ``attachments`` the directory holding the encrypted files of its file portions.

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
            release, content, files = self._accept(
                message,
                world=world,
                node=node,
                sender=sender,
                originator=originator,
                attachments=attachments,
                received_at=audit.iso(at),
            )
        except RefusedError as refused:
            self._audit_refusal(EntryKind.RECEIPT, "release.receive", refused, party=party, at=at, subject=message)
            msg = "sealed release failed its integrity check"
            raise IntegrityError(msg, hint="the reason is in this node's audit log (`accord audit verify`)") from None
        written: list[Path] = []
        try:
            with self._db.transaction("store the received release") as session:
                store = SqlReleaseStore(session)
                existing = store.by_message(message.message_id)
                if existing is not None:
                    return Received(release=existing, new=False)
                replayed = store.get(release.id) is not None
                if not replayed:
                    # Kept before the commit, removed if it fails: never a release
                    # without its files (a crash in between leaves only unreferenced files).
                    written = keep_attachments(self._home, release.id, files)
                    store.add_received(release)
                    audit.append_many(
                        session, [received_entry(data, release, content, sender=message.sender, party=party, at=at)]
                    )
        except BaseException:
            remove(written, up_to=self._home)
            raise
        if replayed:
            error = RefusedError(f"release {release.id} was already received under another message id (replay)")
            self._audit_refusal(EntryKind.RECEIPT, "release.receive", error, party=party, at=at, subject=message)
            msg = "sealed release failed its integrity check"
            raise IntegrityError(msg, hint="the reason is in this node's audit log (`accord audit verify`)")
        return Received(release=release, new=True)

    @staticmethod
    def check_received(  # noqa: PLR0913 - the message, the keys of both ends, the world and the time
        message: ReleaseMessage,
        *,
        world: World,
        node: UnlockedNode,
        sender: NodeIdentity,
        originator: NodeIdentity | None = None,
        at: dt.datetime,
    ) -> tuple[Release, dict[str, Any]]:
        """Every check :meth:`receive` runs, without the database: the release and its content.

        For batch receiving (``Inbound.accept_many``), which stores the checked releases
        of many messages in one transaction with :func:`received_entry` for each.

        Raises:
            RefusedError: refused, with the reason for the audit log (see :func:`refusal_entry`).
        """
        release, content, _ = Releases._accept(
            message,
            world=world,
            node=node,
            sender=sender,
            originator=originator,
            attachments=None,
            received_at=audit.iso(at),
        )
        return release, content

    @staticmethod
    def _accept(  # noqa: PLR0913 - the message, the keys of both ends, the world, the files
        message: ReleaseMessage,
        *,
        world: World,
        node: UnlockedNode,
        sender: NodeIdentity,
        originator: NodeIdentity | None,
        attachments: Path | None,
        received_at: str,
    ) -> tuple[Release, dict[str, Any], dict[str, Path]]:
        party = node.identity.party
        fingerprint = check_header(message, party=party, world=world, sender=sender)
        signer = originator or sender
        try:
            signed = open_release(
                message.sealed,
                node.kem_private_keys(),
                agreement_fingerprint=fingerprint,
                peers=_signing_keys(sender),
                originator=_signing_keys(signer),
            )
        except IntegrityError:
            msg = "hop signature, envelope or originator signature did not verify"
            raise RefusedError(msg) from None
        content = dict(signed.content)
        try:
            record = record_of(content)
            _, file_bodies = check_bodies(content, signed.bodies)
        except IntegrityError:
            msg = "content malformed or a body does not match its signed digest"
            raise RefusedError(msg) from None
        files = checked_attachments(message, file_bodies, attachments)
        if record.originator != signer.party:
            msg = f"record originated by {record.originator}, signed by {signer.party}"
            raise RefusedError(msg)
        if (content.get("release_id"), record.id) != (message.release_id, message.record_id):
            msg = "header does not match the signed content (release or record id)"
            raise RefusedError(msg)
        if content.get("recipient") != party:
            msg = f"content is for {content.get('recipient')}, not {party}; relaying comes with federation"
            raise RefusedError(msg)
        try:
            on = dt.date.fromisoformat(str(content["on"]))
            decision = decide(record, party, on=on, world=world)
        except (Error, KeyError, ValueError) as e:
            msg = f"the decision could not be re-run here: {e}"
            raise RefusedError(msg) from None
        if not decision or decision.withheld_portions or decision.route[-2] != message.sender:
            reason = decision.reasons[0] if decision.reasons and not decision else "route or tear line differs"
            msg = f"not lawful under this node's agreements: {reason}"
            raise RefusedError(msg)
        release = Release.from_decision(
            decision,
            id=message.release_id,
            envelope=message.to_bytes(),
            state=ReleaseState.RECEIVED,
            at=received_at,
            message_id=message.message_id,
        )
        return release, content, files

    # -- reading ------------------------------------------------------------------------

    def read(  # noqa: PLR0913 - who, what, the keys and world, where files go
        self,
        release_id: str,
        *,
        person: Person,
        world: World,
        node: UnlockedNode,
        out: Path | None = None,
        force: bool = False,
        at: dt.datetime | None = None,
    ) -> OpenedRelease:
        """Let ``person`` read a received release if clearance, need-to-know and nationality allow.

        Allowed or refused, the attempt is audited. A refusal is a value (``allowed``
        false) with the failed checks; the content is then never decrypted. File
        portions are decrypted into the directory ``out`` when it is given (never over
        an existing file unless ``force``).

        Raises:
            UnknownReferenceError: no such received release.
            ValidationError: the originator recalled the record and this node has
                acknowledged the recall (returned or destroyed): its files are
                removed and it is never opened again (audited).
        """
        at = at or utc_now()
        party = node.identity.party
        with self._db.reading("read the release") as session:
            release = SqlReleaseStore(session).get(release_id)
            recalled = _recalled(session, release.record_id, party) if release is not None else None
        if release is None or release.state is not ReleaseState.RECEIVED:
            msg = f"no received release {release_id!r} on this node"
            raise UnknownReferenceError(msg, hint="`accord records inbox` lists them")
        if recalled is not None:
            self._refuse_recalled(release, recalled, person=person, party=party, at=at)
        message = ReleaseMessage.from_bytes(release.envelope)
        stored_content = self._content(message, node, world)
        record = record_of(stored_content)
        with self._db.reading("read the reclassifications") as session:
            changed = latest_levels(session, record.id, originator=record.originator)
        label = label_of(release)
        if changed:
            on = dt.date.fromisoformat(str(stored_content["on"]))
            label = remarked(record, changed, holder=party, on=on, world=world)
        level = str(label["recipient_level"])
        access = may_open(person, holder=party, level=level, topics=record.topics, on=at.date(), world=world)
        reason = access.reasons[0] if access.reasons else ""
        self._audit_access(release, person=person, party=party, at=at, allowed=access.allowed, reason=reason)
        if not access:
            return OpenedRelease(access=access, release=release)
        texts, file_bodies = check_bodies(stored_content, stored_content.pop("_bodies"))
        files: dict[str, dict[str, object]] = {}
        for pid, body in file_bodies.items():
            shown = {k: body["file"][k] for k in ("name", "size", "sha256")}
            if out is not None:
                kept = received_path(self._home, release.id, pid)
                shown["saved_to"] = str(decrypt_attachment(kept, body, out, force=force))
            files[pid] = shown
        if changed:
            stored_content["portions"] = [
                p | {"level": changed.get(p["id"], p["level"])} for p in stored_content["portions"]
            ]
        return OpenedRelease(
            access=access,
            release=release,
            content=stored_content,
            texts=texts,
            files=files,
            label=label if changed else None,
        )

    def _audit_access(  # noqa: PLR0913 - the fields of an access entry
        self, release: Release, *, person: Person, party: str, at: dt.datetime, allowed: bool, reason: str
    ) -> None:
        with self._db.transaction("audit the access") as session:
            audit.append(
                session,
                kind=EntryKind.ACCESS,
                actor=party,
                at=at,
                subjects=(release.record_id, release.id),
                meta={
                    "action": "release.open",
                    "person": person.id[:MAX_REASON],
                    "outcome": "allowed" if allowed else "refused",
                    "reason": reason[:MAX_REASON],
                },
            )

    def _refuse_recalled(
        self, release: Release, acknowledgement: RecallAcknowledgement, *, person: Person, party: str, at: dt.datetime
    ) -> None:
        # Destroyed or returned: whatever files were kept go now, and the copy is closed
        # to everyone, whatever their clearance.
        kept = self._home / RECEIVED_DIR / release.id
        if kept.is_dir():
            remove(sorted(kept.iterdir()), up_to=self._home)
        reason = f"recalled by the originator; {acknowledgement.done} acknowledged on {acknowledgement.on.isoformat()}"
        self._audit_access(release, person=person, party=party, at=at, allowed=False, reason=reason)
        msg = f"release {release.id} was {reason}: it may no longer be opened"
        raise ValidationError(msg, hint="the originator can release the record again if it should be read")

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
        with self._db.transaction("audit the refusal") as session:
            audit.append_many(session, [refusal_entry(kind, action, error, party=party, at=at, subject=subject)])


def received_entry(  # noqa: PLR0913 - the message, what it carried, who sent it, here and now
    data: bytes, release: Release, content: Mapping[str, Any], *, sender: str, party: str, at: dt.datetime
) -> Callable[[int], AuditEntry]:
    """The audit entry of a release received from ``sender`` in the message ``data`` (for ``audit.append_many``)."""
    return audit.entry(
        kind=EntryKind.RECEIPT,
        actor=party,
        at=at,
        subjects=(release.record_id, release.id),
        digests={
            "content": sha256_hex(dict(content)),
            "envelope": hashlib.sha256(data).hexdigest(),
            "decision": hashlib.sha256(release.decision).hexdigest(),
        },
        meta={"action": "release.receive", "sender": sender, "outcome": "accepted"},
    )


def refusal_entry(  # noqa: PLR0913 - the entry's fields
    kind: EntryKind,
    action: str,
    error: Error,
    *,
    party: str,
    at: dt.datetime,
    subject: ReleaseMessage | None = None,
) -> Callable[[int], AuditEntry]:
    """The audit entry of a refusal (for ``audit.append_many``); the reason never goes to the sender."""
    subjects = (subject.record_id[:MAX_REASON], subject.release_id[:MAX_REASON]) if subject else ()
    meta: dict[str, str | int | bool] = {
        "action": action,
        "outcome": "refused",
        "reason": error.message[:MAX_REASON],
    }
    if subject is not None:
        meta["message"] = subject.message_id[:MAX_REASON]
        meta["sender"] = subject.sender[:MAX_REASON]
    return audit.entry(kind=kind, actor=party, at=at, subjects=subjects, meta=meta)


def _signing_keys(identity: NodeIdentity) -> PinnedKeyVerifier:
    """Every Ed25519 key the node has signed with, current and retired.

    A release signed before its sender rotated its keys may arrive after: a retired
    key still verifies what it signed while it was current. (Which keys a peer may be
    trusted with, and when a compromised one stops counting, is the peer pinning's job.)
    """
    return PinnedKeyVerifier(g.public.signing for g in identity.history)


def _recalled(session: Session, record_id: str, party: str) -> RecallAcknowledgement | None:
    """This node's acknowledgement of a recall of the record, if it gave one."""
    for status in SqlObligationStore(session).recalls(record_id=record_id):
        for acknowledgement in status.acknowledgements:
            if acknowledgement.value.holder == party:
                return acknowledgement.value
    return None
