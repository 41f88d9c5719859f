import pytest

from accord.domain.obligation import (
    CompromiseKind,
    CompromiseReport,
    Disposition,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.errors import ValidationError
from tests.factories import D


def notice(**kw):
    base = {
        "id": "n1",
        "originator": "AAA",
        "record_id": "r1",
        "levels": (("1", "AAA/L1"),),
        "issued_on": D(2020, 1, 1),
    }
    return ReclassificationNotice(**{**base, **kw})


def test_reclassification_notice_rules():
    assert notice().to_dict()["levels"] == [["1", "AAA/L1"]]
    with pytest.raises(ValidationError, match="names no portion"):
        notice(levels=())
    with pytest.raises(ValidationError, match="names a portion twice"):
        notice(levels=(("1", "AAA/L1"), ("1", "AAA/L2")))
    with pytest.raises(ValidationError, match="is not AAA's"):
        notice(levels=(("1", "BBB/L1"),))


def test_recall_is_answered_by_the_same_disposition_not_before_it():
    recall = Recall(id="c1", originator="AAA", record_id="r1", disposition=Disposition.DESTROY, issued_on=D(2020, 1, 2))
    ack = RecallAcknowledgement(recall_id="c1", holder="BBB", done=Disposition.DESTROY, on=D(2020, 1, 3))
    assert ack.answers(recall)
    assert not RecallAcknowledgement(recall_id="c1", holder="BBB", done=Disposition.RETURN, on=D(2020, 1, 3)).answers(
        recall
    )
    assert not RecallAcknowledgement(recall_id="c1", holder="BBB", done=Disposition.DESTROY, on=D(2020, 1, 1)).answers(
        recall
    )
    assert not RecallAcknowledgement(recall_id="c2", holder="BBB", done=Disposition.DESTROY, on=D(2020, 1, 3)).answers(
        recall
    )
    assert recall.to_dict()["type"] == "recall"


def report(**kw):
    base = {
        "id": "x1",
        "holder": "BBB",
        "originator": "AAA",
        "record_id": "r1",
        "kind": CompromiseKind.POSSIBLE,
        "detected_on": D(2020, 3, 1),
        "reported_on": D(2020, 3, 1),
        "description": "laptop missing",
    }
    return CompromiseReport(**{**base, **kw})


def test_compromise_report_and_its_closure():
    r = report()
    result = InvestigationResult(
        report_id="x1", closed_on=D(2020, 4, 1), findings="found, sealed", measures="retraining"
    )
    assert result.closes(r)
    assert not InvestigationResult(report_id="x1", closed_on=D(2020, 2, 1), findings="f", measures="m").closes(r)
    with pytest.raises(ValidationError, match="before its detection"):
        report(reported_on=D(2020, 2, 1))
    with pytest.raises(ValidationError, match="originator"):
        report(holder="AAA")
    with pytest.raises(ValidationError, match="description"):
        report(description=" ")
    with pytest.raises(ValidationError, match="preventive measures"):
        InvestigationResult(report_id="x1", closed_on=D(2020, 4, 1), findings="f", measures="")
    assert r.to_dict()["kind"] == "possible-loss-or-compromise"
