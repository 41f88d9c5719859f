"""Consents and obligations in SQL: :class:`SqlObligationStore`.

Each signed value is kept as its canonical JSON (``to_dict()``, exactly what was
signed) with its signature, plus the columns it is looked up by. Reading parses the
JSON back with the value's own ``from_dict()`` and checks that it re-encodes to the
very same bytes, so a row changed outside Accord is reported rather than trusted. State moves
(a recall acknowledged, a report closed) are conditional updates in a savepoint:
two workers racing to close one report cannot both succeed.

The store never commits, signs or verifies signatures: services do.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, RowMapping, Table, exists, insert, select, update
from sqlalchemy.orm import Session

from accord.canonical import canonical_bytes
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseReport,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.errors import Error
from accord.storage import _rules as rules
from accord.storage.sql import node_tables as nt
from accord.storage.sql._rows import racing, rowcount, take_number, unreadable
from accord.storage.values import (
    RecallState,
    RecallStatus,
    ReportState,
    ReportStatus,
    Signed,
)

__all__ = ["SqlObligationStore"]

T = TypeVar("T")


class SqlObligationStore:
    """Signed consents and obligations in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    # -- consents and reclassification notices ----------------------------------------

    def add_consent(self, consent: Consent, signature: bytes) -> None:
        """Keep a signed consent."""
        columns = {"originator": consent.originator, "holder": consent.holder, "third_party": consent.third_party}
        self._add(nt.consents, "consent", consent.id, consent.to_dict(), signature, columns)

    def consent(self, consent_id: str) -> Signed[Consent] | None:
        """The consent with this id, or ``None``."""
        found = self._signed(nt.consents, [nt.consents.c.id == consent_id], Consent.from_dict, Consent.to_dict)
        return found[0] if found else None

    def consents(
        self,
        *,
        originator: str | None = None,
        holder: str | None = None,
        third_party: str | None = None,
    ) -> Sequence[Signed[Consent]]:
        """Consents matching every filter given, in the order kept."""
        c = nt.consents
        wanted = ((c.c.originator, originator), (c.c.holder, holder), (c.c.third_party, third_party))
        where = [column == value for column, value in wanted if value is not None]
        return self._signed(c, where, Consent.from_dict, Consent.to_dict)

    def add_reclassification(self, notice: ReclassificationNotice, signature: bytes) -> None:
        """Keep a signed reclassification notice."""
        columns = {"originator": notice.originator, "record_id": notice.record_id}
        self._add(nt.reclassifications, "reclassification notice", notice.id, notice.to_dict(), signature, columns)

    def reclassifications(self, record_id: str) -> Sequence[Signed[ReclassificationNotice]]:
        """The notices about one record, in the order kept."""
        r, notice = nt.reclassifications, ReclassificationNotice
        return self._signed(r, [r.c.record_id == record_id], notice.from_dict, notice.to_dict)

    # -- recalls ----------------------------------------------------------------------

    def add_recall(self, recall: Recall, signature: bytes) -> None:
        """Keep a signed recall, issued."""
        columns = {"originator": recall.originator, "record_id": recall.record_id, "state": RecallState.ISSUED.value}
        self._add(nt.recalls, "recall", recall.id, recall.to_dict(), signature, columns)

    def acknowledge(self, acknowledgement: RecallAcknowledgement, signature: bytes) -> RecallStatus:
        """File a holder's acknowledgement; the recall is then acknowledged."""
        signed = Signed(value=acknowledgement, signature=signature)
        recall_id = acknowledgement.recall_id

        def check() -> None:
            status = rules.known(self.recall(recall_id), "recall", recall_id)
            rules.check_acknowledgement(status, acknowledgement)

        check()
        with racing(self._session, check):  # the same holder acknowledging twice at once
            self._session.execute(
                insert(nt.recall_acknowledgements).values(
                    recall_id=recall_id,
                    holder=acknowledgement.holder,
                    seq=take_number(self._session, nt.OBLIGATIONS),
                    document=canonical_bytes(acknowledgement.to_dict()),
                    signature=signed.signature,
                )
            )
            r = nt.recalls
            self._session.execute(update(r).where(r.c.id == recall_id).values(state=RecallState.ACKNOWLEDGED.value))
        return rules.known(self.recall(recall_id), "recall", recall_id)

    def recall(self, recall_id: str) -> RecallStatus | None:
        """A recall with its acknowledgements, or ``None``."""
        found = self._recalls([nt.recalls.c.id == recall_id])
        return found[0] if found else None

    def recalls(self, *, record_id: str | None = None, state: RecallState | None = None) -> Sequence[RecallStatus]:
        """Recalls matching every filter given, in the order kept."""
        return self._recalls(_where(nt.recalls, record_id, state))

    def _recalls(self, where: Sequence[ColumnElement[bool]]) -> Sequence[RecallStatus]:
        recalls = self._signed(nt.recalls, where, Recall.from_dict, Recall.to_dict)
        if not recalls:
            return []
        a = nt.recall_acknowledgements
        acks = self._signed(
            a,
            [a.c.recall_id.in_([s.value.id for s in recalls])],
            RecallAcknowledgement.from_dict,
            RecallAcknowledgement.to_dict,
            key="recall_id",
        )
        return [
            RecallStatus(recall=s, acknowledgements=tuple(k for k in acks if k.value.recall_id == s.value.id))
            for s in recalls
        ]

    # -- compromise reports -----------------------------------------------------------

    def add_report(self, report: CompromiseReport, signature: bytes) -> None:
        """Keep a signed compromise report, open."""
        columns = {
            "holder": report.holder,
            "originator": report.originator,
            "record_id": report.record_id,
            "state": ReportState.OPEN.value,
        }
        self._add(nt.compromise_reports, "compromise report", report.id, report.to_dict(), signature, columns)

    def close_report(self, result: InvestigationResult, signature: bytes) -> ReportStatus:
        """Close a report with the investigation's signed result."""
        signed = Signed(value=result, signature=signature)
        report_id = result.report_id

        def check() -> None:
            status = rules.known(self.report(report_id), "compromise report", report_id)
            rules.check_result(status, result)

        check()
        with racing(self._session, check):
            r = nt.compromise_reports
            closing = (
                update(r)
                .where(r.c.id == report_id, r.c.state == ReportState.OPEN.value)
                .values(state=ReportState.CLOSED.value)
            )
            if rowcount(self._session, closing) == 0:
                check()  # another transaction closed it first: say so
            self._session.execute(
                insert(nt.investigation_results).values(
                    report_id=report_id, document=canonical_bytes(result.to_dict()), signature=signed.signature
                )
            )
        return rules.known(self.report(report_id), "compromise report", report_id)

    def report(self, report_id: str) -> ReportStatus | None:
        """A compromise report with its result, or ``None``."""
        found = self._reports([nt.compromise_reports.c.id == report_id])
        return found[0] if found else None

    def reports(self, *, record_id: str | None = None, state: ReportState | None = None) -> Sequence[ReportStatus]:
        """Compromise reports matching every filter given, in the order kept."""
        return self._reports(_where(nt.compromise_reports, record_id, state))

    def _reports(self, where: Sequence[ColumnElement[bool]]) -> Sequence[ReportStatus]:
        reports = self._signed(nt.compromise_reports, where, CompromiseReport.from_dict, CompromiseReport.to_dict)
        if not reports:
            return []
        i = nt.investigation_results
        results = self._signed(
            i,
            [i.c.report_id.in_([s.value.id for s in reports])],
            InvestigationResult.from_dict,
            InvestigationResult.to_dict,
            key="report_id",
        )
        closed = {s.value.report_id: s for s in results}
        return [ReportStatus(report=s, result=closed.get(s.value.id)) for s in reports]

    # -- shared -----------------------------------------------------------------------

    def _add(  # noqa: PLR0913 - a kept value is all of these
        self,
        table: Table,
        what: str,
        key: str,
        document: dict[str, object],
        signature: bytes,
        columns: Mapping[str, str],
    ) -> None:
        """Insert a signed value under a fresh number, refusing a taken id."""
        Signed(value=document, signature=signature)  # the same checks as every signed value

        def check() -> None:
            if self._session.execute(select(exists().where(table.c.id == key))).scalar():
                rules.refuse_duplicate(what, key)

        check()
        with racing(self._session, check):
            self._session.execute(
                insert(table).values(
                    id=key,
                    seq=take_number(self._session, nt.OBLIGATIONS),
                    document=canonical_bytes(document),
                    signature=signature,
                    **columns,
                )
            )

    def _signed(
        self,
        table: Table,
        where: Sequence[ColumnElement[bool]],
        parse: Callable[[object], T],
        to_dict: Callable[[T], dict[str, object]],
        *,
        key: str = "id",
    ) -> builtins.list[Signed[T]]:
        """The signed values of the rows ``where`` selects, in the order kept."""
        query = select(table.c[key], table.c.document, table.c.signature).where(*where)
        if "seq" in table.c:
            query = query.order_by(table.c.seq)
        return [_read(row, parse, to_dict, table.name) for row in self._session.execute(query).mappings()]


def _where(table: Table, record_id: str | None, state: StrEnum | None) -> builtins.list[ColumnElement[bool]]:
    where = []
    if record_id is not None:
        where.append(table.c.record_id == record_id)
    if state is not None:
        where.append(table.c.state == state.value)
    return where


def _read(
    row: RowMapping, parse: Callable[[object], T], to_dict: Callable[[T], dict[str, object]], what: str
) -> Signed[T]:
    document = bytes(row["document"])
    key = str(next(iter(row.values())))
    try:
        value = parse(json.loads(document))
        if canonical_bytes(to_dict(value)) != document:
            msg = "its JSON is not what the value it holds encodes to"
            raise ValueError(msg)  # noqa: TRY301 - reported with the parse errors below
        return Signed(value=value, signature=bytes(row["signature"]))
    except (Error, ValueError) as e:  # from_dict's ValidationError, json's ValueError
        unreadable(f"row of {what}", key, e)
