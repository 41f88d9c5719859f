"""The release content the originator signs, and the message file a release travels in.

``build_content`` turns a permitted decision and the plaintext of the released portions
into the content the originator signs: the record's markings, one entry per released
portion with its level, REL TO and a salted SHA-256 digest of its body, the recipient,
the date, the decision's digest and the agreements. Bodies travel beside the signed
content (``crypto.release.SignedContent.bodies``); the random salt keeps a withheld or
unseen portion's digest from being guessed. ``check_bodies`` is the recipient's side.

A :class:`ReleaseMessage` is what leaves the node: a header (message id, release id,
sender, the addressee of this leg, the record and the leg's agreement) and the sealed
release. The header is only routing: everything a recipient relies on is inside the
signed, sealed content, and ``services.releases`` checks that the two agree.
Nothing here touches a database, a key or the clock.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from accord.canonical import canonical_bytes, canonical_object, sha256_hex
from accord.crypto.release import SealedRelease
from accord.domain.record import Portion, Precedence, Record
from accord.domain.release import Decision
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "CONTENT_FORMAT",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_FORMAT",
    "ReleaseMessage",
    "build_content",
    "check_bodies",
    "new_salt",
    "record_of",
    "text_body",
]

CONTENT_FORMAT: Final = "accord.release-content/1"
MESSAGE_FORMAT: Final = "accord.release-message/1"
_FORMAT_JSON: Final = canonical_bytes(MESSAGE_FORMAT)
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
"""The largest message file read; text bodies are small, large files travel apart."""
_SALT_BYTES: Final = 16
# "attachments" came after the first version: optional, empty by default.
_HEADER: Final = frozenset(
    {"format", "message_id", "release_id", "sender", "recipient", "record_id", "agreement", "sent_at", "sealed"}
)


def _failed() -> IntegrityError:
    return IntegrityError("sealed release failed its integrity check")


def new_salt() -> str:
    """A random salt for a body's digest, so that a withheld or unseen body cannot be guessed."""
    return base64.b64encode(secrets.token_bytes(_SALT_BYTES)).decode()


def text_body(text: str) -> dict[str, Any]:
    """The body of a text portion in the sealed content."""
    return {"salt": new_salt(), "text": text}


def build_content(  # noqa: PLR0913 - what the content says
    record: Record,
    decision: Decision,
    bodies: Mapping[str, Mapping[str, Any]],
    *,
    release_id: str,
    released_at: str,
    decision_digest: str,
) -> dict[str, Any]:
    """The content to sign for the released portions, each with its body's digest.

    ``bodies`` holds the body of every released portion (:func:`text_body`, or a file
    body from ``_release_files``); ``decision_digest`` is the hex SHA-256 of the
    decision's canonical JSON.
    """
    released = set(decision.released_portions)
    portions = [
        {"id": p.id, "level": p.level, "rel_to": sorted(p.rel_to), "digest": sha256_hex(bodies[p.id])}
        for p in record.portions
        if p.id in released
    ]
    return {
        "format": CONTENT_FORMAT,
        "release_id": release_id,
        "record": {
            "id": record.id,
            "originator": record.originator,
            "title": record.title,
            "topics": sorted(record.topics),
            "purpose": record.purpose,
            "precedence": record.precedence.value,
        },
        "portions": portions,
        "sender": decision.sender,
        "recipient": decision.recipient,
        "on": decision.on.isoformat(),
        "decision": decision_digest,
        "agreements": [{"id": a, "fingerprint": f} for a, f in decision.agreements],
        "released_at": released_at,
    }


def record_of(content: Mapping[str, Any]) -> Record:
    """The record (markings of the received portions, no text) that ``content`` describes.

    Raises:
        IntegrityError: the content is not of the expected shape (opaque, like every
            failure of a sealed release).
    """
    try:
        if content["format"] != CONTENT_FORMAT:
            raise _failed()
        header = content["record"]
        portions = tuple(
            Portion(id=str(p["id"]), level=str(p["level"]), rel_to=frozenset(map(str, p["rel_to"])))
            for p in content["portions"]
        )
        return Record(
            id=str(header["id"]),
            originator=str(header["originator"]),
            title=str(header["title"]),
            topics=frozenset(map(str, header["topics"])),
            purpose=str(header["purpose"]),
            precedence=Precedence(header["precedence"]),
            portions=portions,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as e:
        raise _failed() from e


def check_bodies(
    content: Mapping[str, Any], bodies: Mapping[str, Any] | None
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Each text portion's text and each file portion's body, checked against the signed digests.

    Raises:
        IntegrityError: a body is missing, extra, malformed, or does not match its digest.
    """
    try:
        digests = {str(p["id"]): p["digest"] for p in content["portions"]}
    except (KeyError, TypeError) as e:
        raise _failed() from e
    if bodies is None or set(bodies) != set(digests):
        raise _failed()
    texts: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    for portion_id, digest in digests.items():
        body = bodies[portion_id]
        if not isinstance(body, dict) or sha256_hex(body) != digest:
            raise _failed()
        if set(body) == {"salt", "text"} and isinstance(body["text"], str):
            texts[portion_id] = body["text"]
        elif set(body) == {"salt", "file"} and isinstance(body["file"], dict):
            files[portion_id] = body
        else:
            raise _failed()
    return texts, files


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseMessage:
    """One leg of a release as it travels: routing header and the sealed release."""

    message_id: str
    release_id: str
    sender: str
    recipient: str  # the addressee of this leg (a hub, or the final recipient)
    record_id: str
    agreement: tuple[str, str]  # (id, fingerprint) of the agreement this leg goes under
    sent_at: str
    sealed: SealedRelease
    attachments: tuple[str, ...] = ()  # portion ids whose encrypted file travels beside the message

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "attachments": list(self.attachments),
            "format": MESSAGE_FORMAT,
            "message_id": self.message_id,
            "release_id": self.release_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "record_id": self.record_id,
            "agreement": {"id": self.agreement[0], "fingerprint": self.agreement[1]},
            "sent_at": self.sent_at,
            "sealed": self.sealed.to_dict(),
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON: the file written and the bytes stored (``to_dict``'s, the sealed part encoded once)."""
        header = {
            "attachments": canonical_bytes(list(self.attachments)),
            "format": _FORMAT_JSON,
            "message_id": canonical_bytes(self.message_id),
            "release_id": canonical_bytes(self.release_id),
            "sender": canonical_bytes(self.sender),
            "recipient": canonical_bytes(self.recipient),
            "record_id": canonical_bytes(self.record_id),
            "agreement": canonical_bytes({"id": self.agreement[0], "fingerprint": self.agreement[1]}),
            "sent_at": canonical_bytes(self.sent_at),
        }
        return canonical_object({**header, "sealed": self.sealed.to_bytes()})

    @classmethod
    def from_bytes(cls, data: bytes) -> ReleaseMessage:
        """Read a message file.

        Raises:
            ValidationError: not a release message (a person can fix that: wrong file,
                truncated copy); its sealed part malformed is an ``IntegrityError``.
        """
        if len(data) > MAX_MESSAGE_BYTES:
            msg = f"a release message is at most {MAX_MESSAGE_BYTES} bytes; this one is {len(data)}"
            raise ValidationError(msg)
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as e:
            msg = f"not a release message: the file is not JSON ({e}); is it truncated?"
            raise ValidationError(msg) from e
        if not isinstance(doc, dict) or doc.get("format") != MESSAGE_FORMAT:
            msg = f"not a release message: format must be {MESSAGE_FORMAT!r}"
            raise ValidationError(msg)
        missing = sorted(_HEADER - set(doc))
        agreement = doc.get("agreement")
        texts = [doc.get(k) for k in ("message_id", "release_id", "sender", "recipient", "record_id", "sent_at")]
        if missing or not all(isinstance(t, str) and t for t in texts) or not isinstance(agreement, dict):
            msg = f"release message: missing or malformed fields {missing or 'in the header'}"
            raise ValidationError(msg)
        if not isinstance(agreement.get("id"), str) or not isinstance(agreement.get("fingerprint"), str):
            msg = "release message: 'agreement' must have an id and a fingerprint"
            raise ValidationError(msg)
        attachments = doc.get("attachments", [])
        if not isinstance(attachments, list) or not all(isinstance(a, str) and a for a in attachments):
            msg = "release message: 'attachments' must be a list of portion ids"
            raise ValidationError(msg)
        return cls(
            message_id=doc["message_id"],
            release_id=doc["release_id"],
            sender=doc["sender"],
            recipient=doc["recipient"],
            record_id=doc["record_id"],
            agreement=(agreement["id"], agreement["fingerprint"]),
            sent_at=doc["sent_at"],
            sealed=SealedRelease.from_dict(doc["sealed"]),
            attachments=tuple(attachments),
        )
