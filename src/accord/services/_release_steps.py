"""The steps and values of the release pipeline that are not the service itself.

The results a caller gets (:class:`ReleaseOutcome`, :class:`Received`,
:class:`OpenedRelease`), the bodies a release carries (text in the sealed content; a
file's key in the sealed content and its ciphertext beside the message), sealing one
permitted release, the receiver's header checks, re-marking a held copy after a
reclassification, and reading and writing message files. ``services.releases`` runs
them inside its transactions; nothing here opens one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from accord.audit.entry import AuditEntry, EntryKind
from accord.crypto import Ed25519Signer, NodePublicKeys, seal_release, sign_content
from accord.crypto.stream import WrappedKey, decrypt_bytes, unwrap_key
from accord.domain.person import Person
from accord.domain.record import Record
from accord.domain.release import Decision
from accord.domain.world import World
from accord.errors import Error, IntegrityError, ValidationError
from accord.policy.access import AccessDecision
from accord.policy.engine import decide
from accord.services import audit
from accord.services._record_bodies import body_context, file_body_source
from accord.services._release_files import check_attachment, file_body, parts_directory, write_attachments
from accord.services._release_message import MAX_MESSAGE_BYTES, ReleaseMessage, build_content, new_salt, text_body
from accord.services.node import NodeIdentity, UnlockedNode, write_atomically
from accord.storage.values import Body, FileBody, InlineBody, Release, ReleaseState, encode_decision

__all__ = [
    "MAX_REASON",
    "OpenedRelease",
    "Received",
    "RefusedError",
    "ReleaseOutcome",
    "bodies_for",
    "check_header",
    "checked_attachments",
    "denial_entry",
    "label_of",
    "person_from_options",
    "portion_rows",
    "read_message_file",
    "remarked",
    "seal_one",
    "write_message_file",
]

MAX_REASON = 256  # an audit metadata value is short text


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseOutcome:
    """The decision, and on a permit the stored release and the message to send."""

    decision: Decision
    release: Release | None = None
    message: ReleaseMessage | None = None
    attachments: Mapping[str, Path] = field(default_factory=dict)  # portion id -> encrypted file at rest

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
            "label": label_of(self.release),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedRelease:
    """A person's attempt to open a received release: the access decision and, if allowed, the content."""

    access: AccessDecision
    release: Release
    content: dict[str, Any] | None = None
    texts: dict[str, str] | None = None
    files: dict[str, dict[str, object]] | None = None  # portion id -> name, size, sha256, saved_to
    label: dict[str, object] | None = None  # the marking after a reclassification, if any

    def to_dict(self) -> dict[str, object]:
        """JSON form: the access checks, and the record's content when it was opened."""
        out: dict[str, object] = {
            "allowed": self.access.allowed,
            "person": self.access.person,
            "release_id": self.release.id,
            "reasons": list(self.access.reasons),
        }
        if self.content is not None:
            out["label"] = self.label or label_of(self.release)
            out["record"] = self.content["record"]
            out["portions"] = [self._portion(p) for p in self.content["portions"]]
        return out

    def _portion(self, portion: Mapping[str, Any]) -> dict[str, object]:
        pid = str(portion["id"])
        out: dict[str, object] = {"id": pid, "level": portion["level"]}
        if self.texts is not None and pid in self.texts:
            out["text"] = self.texts[pid]
        elif self.files is not None and pid in self.files:
            out["file"] = self.files[pid]
        return out

    def banner(self) -> str:
        """The marking line the reader sees first (recipient's level, then the originator's)."""
        return str((self.label or label_of(self.release)).get("text", ""))

    def heading(self) -> str:
        """The record's id and title, once opened."""
        record = (self.content or {}).get("record", {})
        return f"{record.get('id', self.release.record_id)}: {record.get('title', '')}"

    def portion_rows(self) -> list[tuple[str, str, str]]:
        """(portion id, originator's level, text or the file's name and where it went), once opened."""
        return portion_rows(self._portion(portion) for portion in (self.content or {}).get("portions", []))


def portion_rows(portions: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(portion id, originator's level, text or the file's name and where it went) per shown portion."""
    rows = []
    for shown in portions:
        if "text" in shown:
            rows.append((str(shown["id"]), str(shown["level"]), str(shown["text"])))
        elif isinstance(file := shown.get("file"), dict):
            where = f" -> {file['saved_to']}" if file.get("saved_to") else " (give --out DIR to save it)"
            rows.append((str(shown["id"]), str(shown["level"]), f"[file {file['name']}, {file['size']} bytes]{where}"))
    return rows


class RefusedError(Error):
    """Why a received release was refused: for the audit log only, never the sender."""


def bodies_for(
    home: Path, stored: Mapping[str, Body], record_id: str, decision: Decision, node: UnlockedNode
) -> tuple[dict[str, dict[str, Any]], dict[str, Path]]:
    """The sealed bodies of the released portions, and the encrypted files to send beside them.

    A text portion's body is its text, decrypted under the node's KEK; a file portion's
    body names the file and carries its data key, and its encrypted file at rest is the
    attachment (portion id -> path).
    """
    bodies: dict[str, dict[str, Any]] = {}
    attachments: dict[str, Path] = {}
    for portion_id in decision.released_portions:
        body = stored.get(portion_id)
        if isinstance(body, InlineBody):
            wrapped = WrappedKey.from_bytes(body.wrapped_key)
            key = unwrap_key(wrapped, node.kek, context=body_context(record_id, portion_id))
            bodies[portion_id] = text_body(decrypt_bytes(body.ciphertext, key).decode("utf-8"))
        elif isinstance(body, FileBody):
            source = file_body_source(home, record_id, portion_id, body, kek=node.kek)
            bodies[portion_id] = file_body(source, new_salt())
            attachments[portion_id] = source.path
        else:
            msg = f"record {record_id}: portion {portion_id} has no stored body"
            raise ValidationError(msg, hint="the records table was changed outside Accord; restore it")
    return bodies, attachments


def denial_entry(decision: Decision, *, party: str, at: dt.datetime) -> Callable[[int], AuditEntry]:
    return audit.entry(
        kind=EntryKind.DECISION,
        actor=party,
        at=at,
        subjects=(decision.record_id,),
        digests={"decision": hashlib.sha256(encode_decision(decision)).hexdigest()},
        meta={
            "action": "release.decide",
            "recipient": decision.recipient,
            "outcome": "denied",
            "reason": (decision.reasons or ("no lawful route",))[0][:MAX_REASON],
        },
    )


def seal_one(  # noqa: PLR0913 - one permitted release: what, how, and by whom
    record: Record,
    decision: Decision,
    bodies: Mapping[str, Mapping[str, Any]],
    *,
    attachments: Sequence[str],
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
    decision_json = encode_decision(decision)
    content = build_content(
        record,
        decision,
        bodies,
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
        attachments=tuple(attachments),
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
            "content": hashlib.sha256(signed.content_bytes).hexdigest(),
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


def check_header(message: ReleaseMessage, *, party: str, world: World, sender: NodeIdentity) -> str:
    """This node's fingerprint of the leg's agreement, once the header is addressed right."""
    if message.recipient != party:
        msg = f"message addressed to {message.recipient}, not {party}"
        raise RefusedError(msg)
    if sender.party != message.sender:
        msg = f"message claims sender {message.sender}; the pinned key given is {sender.party}'s"
        raise RefusedError(msg)
    agreement_id, theirs = message.agreement
    if agreement_id not in {a.id for a in world.agreements}:
        msg = f"agreement {agreement_id} is unknown to this node"
        raise RefusedError(msg)
    ours = world.agreement(agreement_id).fingerprint
    if ours != theirs:
        msg = f"agreement {agreement_id}: sender used version {theirs[:12]}, this node holds {ours[:12]}"
        raise RefusedError(msg)
    return ours


def checked_attachments(
    message: ReleaseMessage, file_bodies: Mapping[str, Mapping[str, Any]], directory: Path | None
) -> dict[str, Path]:
    """The attachment of each file portion in ``directory``, each checked against its signed body.

    Raises:
        RefusedError: the message lists other attachments than the content's file
            portions, or one is missing, changed or not the file its body names.
    """
    if set(message.attachments) != set(file_bodies):
        msg = "the message's attachments are not the file portions of its content"
        raise RefusedError(msg)
    if file_bodies and directory is None:
        msg = "the message has attachments and none were given"
        raise RefusedError(msg)
    files = {}
    for pid, body in file_bodies.items():
        path = (directory or Path()) / f"{pid}.enc"
        try:
            check_attachment(path, body)
        except IntegrityError:
            msg = f"the attachment of portion {pid} is missing or does not match its signed body"
            raise RefusedError(msg) from None
        files[pid] = path
    return files


def remarked(record: Record, levels: Mapping[str, str], *, holder: str, on: dt.date, world: World) -> dict[str, object]:
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


def label_of(release: Release) -> dict[str, object]:
    if release.label is None:
        msg = f"release {release.id} has no label"
        raise IntegrityError(msg)
    value = json.loads(release.label)
    if not isinstance(value, dict):
        msg = "release label is malformed"
        raise IntegrityError(msg)
    return value


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


def write_message_file(path: Path, message: ReleaseMessage, attachments: Mapping[str, Path] | None = None) -> None:
    """Write a release message to ``path`` atomically (it is sealed: no secret in clear).

    File portions' encrypted files go first to ``<path>.parts/<portion id>.enc``, so a
    message file never names attachments that are not there.

    Raises:
        ValidationError: the file or its attachments cannot be written.
    """
    if attachments:
        write_attachments(parts_directory(path), attachments)
    try:
        write_atomically(path, message.to_bytes())
    except OSError as e:
        msg = f"cannot write the release message to {path}: {e.strerror or e}"
        raise ValidationError(msg) from e
