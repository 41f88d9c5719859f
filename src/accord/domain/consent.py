"""Consents: an originator's prior written approval of onward release.

Under GSOMIA Art.5 a receiving party releases nothing to a third party without the
originating party's prior written approval. A consent names who may pass what (a record
or a topic) to whom, within a validity window. Signing and verifying the consent object
belong to ``crypto`` and ``services``; here it is only the value the engine checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
        if (self.record_id is None) == (self.topic is None):
            msg = f"consent {self.id} must name exactly one of a record or a topic"
            raise ValidationError(msg)
        if self.valid_from > self.valid_until:
            msg = f"consent {self.id}: valid_from {self.valid_from} is after {self.valid_until}"
            raise ValidationError(msg)
        if len({self.originator, self.holder, self.third_party}) != 3:  # noqa: PLR2004
            msg = f"consent {self.id}: originator, holder and third party must differ"
            raise ValidationError(msg)

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
