"""The port of the disclosure request store, and the time format it keeps.

A :class:`DisclosureStore` keeps :class:`~accord.domain.disclosure.DisclosureRequest`
values. Its one guarded write is :meth:`DisclosureStore.settle`: a decision is written
only while the request is still pending, and the caller learns whether its write won.
That compare-and-set, inside the transaction that also does what was approved, is what
makes an approval exactly-once across processes. The store never decides who may do
what and never commits (the caller's session does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, Protocol

from accord.domain.disclosure import DisclosureKind, DisclosureRequest, DisclosureState
from accord.errors import ValidationError

__all__ = ["STAMP_FORMAT", "DisclosureStore", "from_stamp", "to_stamp"]

STAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
"""Fixed-width UTC stamps (``2026-03-01T09:00:00.000000Z``): text order is time order."""


def to_stamp(at: dt.datetime) -> str:
    """``at`` (aware) as a fixed-width UTC stamp."""
    if at.utcoffset() is None:
        msg = f"times must carry a UTC offset, not {at!r}"
        raise ValidationError(msg)
    return at.astimezone(dt.UTC).strftime(STAMP_FORMAT)


def from_stamp(text: str) -> dt.datetime:
    """A stamp read back as an aware UTC time.

    Raises:
        ValidationError: not a stamp.
    """
    try:
        return dt.datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        msg = f"{text!r} is not a UTC stamp like 2026-03-01T09:00:00.000000Z"
        raise ValidationError(msg) from None


class DisclosureStore(Protocol):
    """Disclosure requests, listed in the order asked (then by id)."""

    def add(self, request: DisclosureRequest) -> None:
        """Store a new, pending request.

        Raises:
            ValidationError: the id is taken, or the request is not pending.
        """
        ...

    def get(self, request_id: str) -> DisclosureRequest | None:
        """The request, or ``None``."""
        ...

    def list(
        self,
        *,
        state: DisclosureState | None = None,
        kind: DisclosureKind | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[DisclosureRequest]:
        """Up to ``limit`` requests in the order asked, after the request ``after`` (a cursor).

        Raises:
            UnknownReferenceError: ``after`` names no request.
        """
        ...

    def settle(self, decided: DisclosureRequest) -> bool:
        """Write ``decided`` (a decided or withdrawn request) if it is still pending here.

        Returns False, writing nothing, when the stored request is no longer pending
        (another transaction decided it first) or is not stored.
        """
        ...

    def set_outcome(self, request_id: str, outcome: str | None) -> None:
        """Name what an approved request made (a release, consent, recall or report id).

        Raises:
            ValidationError: the request is not stored, or not approved.
        """
        ...
