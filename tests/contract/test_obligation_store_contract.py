"""The ObligationStore contract, the same for the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import pytest

from accord.canonical import canonical_bytes
from accord.errors import UnknownReferenceError, ValidationError
from accord.storage import RecallState, ReportState, Signed
from accord.storage.values import consent_to_dict
from tests.contract.conftest import Node
from tests.contract.holdings import D, acknowledgement, consent, notice, recall, report, result, signature


def test_consents_read_back_signed_and_filter_by_party(node: Node):
    kept = [
        consent("c2", holder="USA", third_party="JPN"),
        consent("c1", holder="USA", third_party="NATO", topic=True),
        consent("c3", holder="JPN", third_party="USA"),
    ]
    with node.unit() as s:
        for c in kept:
            s.obligations.add_consent(c, signature(c.id))

    with node.unit() as s:
        assert s.obligations.consent("c1") == Signed(value=kept[1], signature=signature("c1"))
        assert s.obligations.consent("c9") is None
        assert [c.value.id for c in s.obligations.consents()] == ["c2", "c1", "c3"]
        assert [c.value.id for c in s.obligations.consents(holder="USA")] == ["c2", "c1"]
        assert [c.value.id for c in s.obligations.consents(holder="USA", third_party="JPN")] == ["c2"]
        assert [c.value.id for c in s.obligations.consents(originator="JPN")] == []
        with pytest.raises(ValidationError, match="consent c2 is already stored"):
            s.obligations.add_consent(consent("c2", holder="JPN", third_party="NATO"), signature("other"))
        assert s.obligations.consent("c2") == Signed(value=kept[0], signature=signature("c2"))


def test_reclassification_notices_are_kept_per_record(node: Node):
    with node.unit() as s:
        s.obligations.add_reclassification(notice("n2"), signature("n2"))
        s.obligations.add_reclassification(notice("n1", record_id="r7"), signature("n1"))
        s.obligations.add_reclassification(notice("n3"), signature("n3"))
        with pytest.raises(ValidationError, match="reclassification notice n2 is already stored"):
            s.obligations.add_reclassification(notice("n2", record_id="r7"), signature("again"))
    with node.unit() as s:
        assert [n.value.id for n in s.obligations.reclassifications("r1")] == ["n2", "n3"]
        assert s.obligations.reclassifications("r7") == [Signed(value=notice("n1", "r7"), signature=signature("n1"))]
        assert s.obligations.reclassifications("r0") == []


def test_a_recall_goes_from_issued_to_acknowledged_once_per_holder(node: Node):
    with node.unit() as s:
        s.obligations.add_recall(recall("k1"), signature("k1"))
        s.obligations.add_recall(recall("k2", record_id="r2"), signature("k2"))
        issued = s.obligations.recall("k1")
        assert (issued.state, issued.acknowledgements) == (RecallState.ISSUED, ())

    with node.unit() as s:
        status = s.obligations.acknowledge(acknowledgement("k1", "JPN"), signature("ack-jpn"))
        assert status.state is RecallState.ACKNOWLEDGED
        status = s.obligations.acknowledge(acknowledgement("k1", "USA"), signature("ack-usa"))
        assert [a.value.holder for a in status.acknowledgements] == ["JPN", "USA"]

    with node.unit() as s:
        assert s.obligations.recall("k1") == status
        assert status.acknowledgements[0] == Signed(value=acknowledgement("k1", "JPN"), signature=signature("ack-jpn"))
        assert [r.recall.value.id for r in s.obligations.recalls()] == ["k1", "k2"]
        assert [r.recall.value.id for r in s.obligations.recalls(state=RecallState.ISSUED)] == ["k2"]
        assert [r.recall.value.id for r in s.obligations.recalls(record_id="r1")] == ["k1"]
        assert s.obligations.recalls(record_id="r1", state=RecallState.ISSUED) == []
        assert s.obligations.recall("k9") is None


def test_acknowledging_wrongly_writes_nothing(node: Node):
    with node.unit() as s:
        s.obligations.add_recall(recall("k1"), signature("k1"))
        s.obligations.acknowledge(acknowledgement("k1", "JPN"), signature("ack"))
    refusals = [
        (acknowledgement("k9", "JPN"), UnknownReferenceError, "no recall k9"),
        (acknowledgement("k1", "JPN"), ValidationError, "already acknowledged by JPN"),
        (acknowledgement("k1", "USA", on=D(2026, 3, 1)), ValidationError, "does not answer recall k1"),
    ]
    with node.unit() as s:
        for ack, error, problem in refusals:
            with pytest.raises(error, match=problem):
                s.obligations.acknowledge(ack, signature("again"))
        with pytest.raises(ValidationError, match="recall k1 is already stored"):
            s.obligations.add_recall(recall("k1", record_id="r2"), signature("dup"))
        with pytest.raises(ValidationError, match="signature must be non-empty"):
            s.obligations.acknowledge(acknowledgement("k1", "USA"), b"")
    with node.unit() as s:
        kept = s.obligations.recall("k1")
        assert [a.value.holder for a in kept.acknowledgements] == ["JPN"]
        assert kept.acknowledgements[0].signature == signature("ack")
        assert kept.recall.value == recall("k1")


def test_a_report_goes_from_open_to_closed_once(node: Node):
    with node.unit() as s:
        s.obligations.add_report(report("p1"), signature("p1"))
        s.obligations.add_report(report("p2", record_id="r2"), signature("p2"))
        assert s.obligations.report("p1").state is ReportState.OPEN

    with node.unit() as s:
        closed = s.obligations.close_report(result("p1"), signature("result"))
        assert closed.state is ReportState.CLOSED
        assert closed.result == Signed(value=result("p1"), signature=signature("result"))

    with node.unit() as s:
        assert s.obligations.report("p1") == closed
        assert [r.report.value.id for r in s.obligations.reports(state=ReportState.OPEN)] == ["p2"]
        assert [r.report.value.id for r in s.obligations.reports(state=ReportState.CLOSED)] == ["p1"]
        assert [r.report.value.id for r in s.obligations.reports(record_id="r2")] == ["p2"]
        assert [r.report.value.id for r in s.obligations.reports()] == ["p1", "p2"]
        assert s.obligations.report("p9") is None


def test_closing_wrongly_writes_nothing(node: Node):
    with node.unit() as s:
        s.obligations.add_report(report("p1"), signature("p1"))
        s.obligations.add_report(report("p2"), signature("p2"))
        s.obligations.close_report(result("p1"), signature("first"))
    refusals = [
        (result("p9"), UnknownReferenceError, "no compromise report p9"),
        (result("p1", closed_on=D(2026, 5, 1)), ValidationError, "p1 is already closed"),
        (result("p2", closed_on=D(2026, 3, 1)), ValidationError, "before the report"),
    ]
    with node.unit() as s:
        for attempt, error, problem in refusals:
            with pytest.raises(error, match=problem):
                s.obligations.close_report(attempt, signature("again"))
        with pytest.raises(ValidationError, match="compromise report p2 is already stored"):
            s.obligations.add_report(report("p2"), signature("dup"))
    with node.unit() as s:
        assert s.obligations.report("p1").result == Signed(value=result("p1"), signature=signature("first"))
        assert s.obligations.report("p2").state is ReportState.OPEN


def test_the_consent_document_is_its_canonical_json():
    document = canonical_bytes(consent_to_dict(consent()))
    assert document.startswith(b'{"holder":"USA","id":"c1","originator":"KOR"')
    assert b'"type":"consent"' in document
