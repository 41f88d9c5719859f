"""Consents: an originator's prior written approval of onward release.

Under GSOMIA Art.5 a receiving party releases nothing to a third party without the
originating party's prior written approval. A consent names who may pass what (a record
or a topic) to whom, within a validity window. Signing and verifying the consent object
belong to ``crypto`` and ``services``; here it is the value the engine checks and its
JSON form (``to_dict()``, what is signed; ``from_dict()`` reads it back, each error
naming the field).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accord.domain.obligation import Document
from accord.errors import ValidationError

__all__ = ["Consent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Consent:
    """Originator's consent for ``holder`` to release to ``third_party``."""

    id: str
    originator: str
    holder: str
    third_party: str
    valid_from: dt.date
    valid_until: dt.date
    record_id: str | None = None
    topic: str | None = None

    def __post_init__(self) -> None:
        """Name a record or a topic, and an ordered validity window."""
        if not self.id.strip():
            msg = "a consent's id must not be empty"
            raise ValidationError(msg)
        if (self.record_id is None) == (self.topic is None):
            msg = f"consent {self.id} must name exactly one of a record or a topic"
            raise ValidationError(msg)
        if not (self.record_id or self.topic or "").strip():
            msg = f"consent {self.id}: its record id or topic must not be empty"
            raise ValidationError(msg)
        if not all(p.strip() for p in (self.originator, self.holder, self.third_party)):
            msg = f"consent {self.id}: originator, holder and third party must each be named"
            raise ValidationError(msg)
        if self.valid_from > self.valid_until:
            msg = f"consent {self.id}: valid_from {self.valid_from} is after {self.valid_until}"
            raise ValidationError(msg)
        if len({self.originator, self.holder, self.third_party}) != 3:  # noqa: PLR2004
            msg = f"consent {self.id}: originator, holder and third party must differ"
            raise ValidationError(msg)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what is signed): a ``type``, then every field."""
        return {
            "type": "consent",
            "id": self.id,
            "originator": self.originator,
            "holder": self.holder,
            "third_party": self.third_party,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "record_id": self.record_id,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, data: object) -> Consent:
        """Read ``to_dict()``'s form back.

        Raises:
            ValidationError: naming the field that is missing, extra or malformed.
        """
        fields = ("id", "originator", "holder", "third_party", "valid_from", "valid_until", "record_id", "topic")
        d = Document(data, type_="consent", fields=fields)
        return cls(
            id=d.text("id"),
            originator=d.text("originator"),
            holder=d.text("holder"),
            third_party=d.text("third_party"),
            valid_from=d.date("valid_from"),
            valid_until=d.date("valid_until"),
            record_id=d.optional_text("record_id"),
            topic=d.optional_text("topic"),
        )

    def permits(  # noqa: PLR0913 - each argument is one condition of the consent
        self,
        *,
        originator: str,
        holder: str,
        third_party: str,
        record_id: str,
        topics: frozenset[str],
        on: dt.date,
    ) -> bool:
        """Whether this consent covers releasing that record from holder to third party."""
        if (self.originator, self.holder, self.third_party) != (originator, holder, third_party):
            return False
        if not self.valid_from <= on <= self.valid_until:
            return False
        if self.record_id is not None:
            return self.record_id == record_id
        # Fail closed: a topic consent covers a record only if every topic of the
        # record is that topic; a record that also touches another subject needs its own.
        return self.topic is not None and topics <= {self.topic}
