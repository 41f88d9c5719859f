"""Disclosure requests in SQL: :class:`SqlDisclosureStore`.

A request is one ``disclosure_requests`` row. :meth:`SqlDisclosureStore.settle` is
``UPDATE ... WHERE id = :id AND state = 'pending'`` and reports whether it changed the
row: on PostgreSQL the update row-locks the request, a second updater waits for the
first transaction and then re-checks the state (finding it decided, it changes
nothing); SQLite lets one writer in at a time. The store never begins, commits or
rolls back, and never decides who may decide.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, exists, insert, select, tuple_, update
from sqlalchemy.orm import Session

from accord.canonical import canonical_bytes
from accord.domain.disclosure import DisclosureKind, DisclosureRequest, DisclosureState
from accord.errors import Error, ValidationError
from accord.storage import _rules as rules
from accord.storage.disclosures import from_stamp, to_stamp
from accord.storage.sql._rows import racing, rowcount, unreadable
from accord.storage.sql.disclosure_tables import disclosure_requests as dr
from accord.storage.values import check_page

__all__ = ["SqlDisclosureStore"]


class SqlDisclosureStore:
    """Disclosure requests in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    def add(self, request: DisclosureRequest) -> None:
        """Store a new, pending request (see ``DisclosureStore.add``)."""
        if request.state is not DisclosureState.PENDING:
            msg = f"request {request.id} is {request.state}: only a pending request is added"
            raise ValidationError(msg)
        self._check_free(request.id)
        with racing(self._session, lambda: self._check_free(request.id)):
            self._session.execute(insert(dr).values(**_row(request)))

    def _check_free(self, request_id: str) -> None:
        if self._session.execute(select(exists().where(dr.c.id == request_id))).scalar():
            rules.refuse_duplicate("disclosure request", request_id)

    def get(self, request_id: str) -> DisclosureRequest | None:
        """The request, or ``None``."""
        row = self._session.execute(select(dr).where(dr.c.id == request_id)).mappings().one_or_none()
        return None if row is None else _request(row)

    def list(
        self,
        *,
        state: DisclosureState | None = None,
        kind: DisclosureKind | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[DisclosureRequest]:
        """Up to ``limit`` requests in the order asked, after ``after`` (see ``DisclosureStore.list``)."""
        check_page(limit)
        query = select(dr)
        if after is not None:
            cursor = self._session.execute(select(dr.c.requested_at, dr.c.id).where(dr.c.id == after)).one_or_none()
            found = rules.known(cursor, "disclosure request", after)
            query = query.where(tuple_(dr.c.requested_at, dr.c.id) > tuple_(found[0], found[1]))
        if state is not None:
            query = query.where(dr.c.state == state.value)
        if kind is not None:
            query = query.where(dr.c.kind == kind.value)
        rows = self._session.execute(query.order_by(dr.c.requested_at, dr.c.id).limit(limit)).mappings()
        return [_request(row) for row in rows]

    def settle(self, decided: DisclosureRequest) -> bool:
        """Write the decision if the request is still pending (see ``DisclosureStore.settle``)."""
        if decided.state is DisclosureState.PENDING or decided.decided_at is None:
            msg = f"request {decided.id} is still pending: nothing to settle"
            raise ValidationError(msg)
        statement = (
            update(dr)
            .where(dr.c.id == decided.id, dr.c.state == DisclosureState.PENDING.value)
            .values(
                state=decided.state.value,
                decider=decided.decider,
                decided_at=to_stamp(decided.decided_at),
                reason=decided.reason,
                outcome=decided.outcome,
            )
        )
        return rowcount(self._session, statement) == 1

    def set_outcome(self, request_id: str, outcome: str | None) -> None:
        """Name what an approved request made (see ``DisclosureStore.set_outcome``)."""
        statement = (
            update(dr)
            .where(dr.c.id == request_id, dr.c.state == DisclosureState.APPROVED.value)
            .values(outcome=outcome)
        )
        if rowcount(self._session, statement) != 1:
            msg = f"request {request_id} is not an approved request: it has no outcome"
            raise ValidationError(msg)


def _row(request: DisclosureRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "kind": request.kind.value,
        "record_id": request.record_id,
        "party": request.party,
        "on_date": request.on,
        "details": canonical_bytes(dict(request.details)).decode("utf-8"),
        "requester": request.requester,
        "requested_at": to_stamp(request.requested_at),
        "state": request.state.value,
        "decider": request.decider,
        "decided_at": to_stamp(request.decided_at) if request.decided_at else None,
        "reason": request.reason,
        "outcome": request.outcome,
    }


def _request(row: RowMapping) -> DisclosureRequest:
    try:
        details = json.loads(row["details"])
        if not isinstance(details, dict) or not all(isinstance(v, str) for v in details.values()):
            msg = "details are not an object of text fields"
            raise ValidationError(msg)
        return DisclosureRequest(
            id=row["id"],
            kind=DisclosureKind(row["kind"]),
            record_id=row["record_id"],
            party=row["party"],
            on=row["on_date"],
            details=tuple(sorted(details.items())),
            requester=row["requester"],
            requested_at=from_stamp(row["requested_at"]),
            state=DisclosureState(row["state"]),
            decider=row["decider"],
            decided_at=from_stamp(row["decided_at"]) if row["decided_at"] is not None else None,
            reason=row["reason"],
            outcome=row["outcome"],
        )
    except (Error, ValueError, TypeError) as e:
        unreadable("disclosure request", str(row["id"]), e)
