"""Consent, recall and compromise-report requests: asked by one person, signed on another's approval.

The obligation is signed and stored in the transaction that approves the request: a
refusal by the obligations service leaves the request pending and stores no object.
"""

from __future__ import annotations

import pytest

from accord.domain.person import Person, Role
from accord.errors import ConflictError, PermissionDeniedError, UnknownReferenceError, ValidationError
from accord.services.audit import AuditLog
from accord.services.disclosures import DisclosureState
from accord.services.obligations import Obligations
from accord.services.people import Credential, Principal
from tests.unit.services.disclosures.support import AT, CHOI, HAN, KIM, LEE, PARK, WORLD, principal

WINDOW = {"holder": "JPN", "valid_from": "2026-03-01", "valid_until": "2026-06-30"}


def obligations(kor):
    return Obligations(database=kor.db, home=kor.home)


def approve(kor, request_id, who=KIM):
    return kor.service().approve(who, request_id, world=WORLD, node=kor.keys, at=AT)


def test_a_consent_request_is_granted_on_approval(kor):
    record_id = kor.record("KOR/MIL-II:JPN,USA:launch at 05:10")
    view = kor.service().request(
        LEE, "consent", world=WORLD, record_id=record_id, party="usa", details=WINDOW | {"holder": "jpn"}, at=AT
    )
    asked = view.request
    assert (asked.party, asked.detail("holder")) == ("USA", "JPN")
    assert view.decision is None  # only a release has a live decision
    assert obligations(kor).consents() == []
    approval = approve(kor, asked.id)
    consent = approval.obligation
    assert consent is not None
    assert approval.request.outcome == consent.id
    held = [s.value for s in obligations(kor).consents()]
    assert held == [consent]
    assert (consent.holder, consent.third_party, consent.record_id) == ("JPN", "USA", record_id)
    assert kor.actions()[-1] == ("disclosure.approve", "done", "kim")
    AuditLog(database=kor.db, home=kor.home).verify()


def test_a_consent_by_topic(kor):
    asked = (
        kor.service()
        .request(LEE, "consent", world=WORLD, party="USA", details=WINDOW | {"topic": "dprk-missile"}, at=AT)
        .request
    )
    consent = approve(kor, asked.id).obligation
    assert consent is not None
    assert consent.topic == "dprk-missile"


def test_a_refusal_by_the_obligations_service_rolls_the_approval_back(kor):
    # Not releasable to the holder: the consent service refuses at approval time.
    record_id = kor.record("KOR/MIL-II:USA:launch at 05:10")
    asked = kor.service().request(LEE, "consent", world=WORLD, record_id=record_id, party="USA", details=WINDOW, at=AT)
    with pytest.raises(ValidationError, match="not releasable to JPN"):
        approve(kor, asked.request.id)
    assert obligations(kor).consents() == []
    assert kor.service().get(KIM, asked.request.id, world=WORLD).request.state is DisclosureState.PENDING
    # Its refusal is audited once, by the disclosure service (the inner one rolled back).
    assert [e.meta.get("action") for e in kor.entries()[-1:]] == ["disclosure.approve"]
    AuditLog(database=kor.db, home=kor.home).verify()


@pytest.mark.parametrize(
    ("details", "message"),
    [
        (WINDOW | {"valid_until": "2026-02-01"}, "out of order or over already"),
        (WINDOW | {"valid_from": "March"}, "must be a date"),
        (WINDOW | {"holder": "XYZ"}, "XYZ"),
    ],
    ids=["window-over", "bad-date", "unknown-holder"],
)
def test_a_bad_consent_request_is_refused_when_asked(kor, details, message):
    record_id = kor.record()
    with pytest.raises(ValidationError, match=message):
        kor.service().request(LEE, "consent", world=WORLD, record_id=record_id, party="USA", details=details, at=AT)
    assert kor.service().list(KIM, world=WORLD).items == ()


def test_a_recall_request_is_issued_on_approval(kor):
    record_id = kor.record()
    asked = (
        kor.service()
        .request(
            LEE,
            "recall",
            world=WORLD,
            record_id=record_id,
            details={"disposition": "destroy", "reason": "superseded"},
            at=AT,
        )
        .request
    )
    with pytest.raises(PermissionDeniedError, match="choi wrote record"):
        approve(kor, asked.id, who=CHOI)
    recall = approve(kor, asked.id, who=PARK).obligation
    assert recall is not None
    assert [s.recall.value for s in obligations(kor).recalls()] == [recall]
    assert (recall.record_id, recall.disposition, recall.reason) == (record_id, "destroy", "superseded")


def test_a_recall_request_needs_a_known_disposition(kor):
    record_id = kor.record()
    with pytest.raises(ValidationError, match="unknown disposition 'burn'"):
        kor.service().request(LEE, "recall", world=WORLD, record_id=record_id, details={"disposition": "burn"}, at=AT)


def test_a_compromise_report_asked_by_a_holder_is_filed_on_approval(kor):
    # A JPN record not held here: the report names its originator.
    fields = {"kind": "loss", "details": "a copy left on a train", "detected_on": "2026-03-01"}
    asked = (
        kor.service()
        .request(HAN, "compromise-report", world=WORLD, record_id="JPN-77", party="JPN", details=fields, at=AT)
        .request
    )
    # The logistics officer may ask, and see their own request, but not decide it.
    assert kor.service().get(HAN, asked.id, world=WORLD).request == asked
    with pytest.raises(PermissionDeniedError, match=r"han may not report\.close"):
        approve(kor, asked.id, who=HAN)
    security = principal("seo", Role.SECURITY_OFFICER)
    report = approve(kor, asked.id, who=security).obligation
    assert report is not None
    assert [s.report.value for s in obligations(kor).reports()] == [report]
    assert (report.originator, report.kind, report.record_id) == ("JPN", "loss", "JPN-77")
    with pytest.raises(ConflictError):
        approve(kor, asked.id, who=KIM)
    assert len(obligations(kor).reports()) == 1


def test_an_analyst_may_not_ask_for_a_report_of_a_detection_in_the_future(kor):
    fields = {"kind": "loss", "details": "x", "detected_on": "2027-01-01"}
    with pytest.raises(ValidationError, match="after today"):
        kor.service().request(
            LEE, "compromise-report", world=WORLD, record_id="JPN-1", party="JPN", details=fields, at=AT
        )


def test_an_unknown_kind_is_refused(kor):
    with pytest.raises(ValidationError, match="unknown kind of request 'leak'"):
        kor.service().request(LEE, "leak", world=WORLD, record_id="x", at=AT)
    assert kor.actions() == [("disclosure.request", "refused", "lee")]


def test_a_request_about_a_record_the_person_may_not_see_is_hidden_from_them(kor):
    record_id = kor.record("KOR/MIL-II:JPN:launch at 05:10")
    asked = kor.service().request(LEE, "release", world=WORLD, record_id=record_id, party="JPN", at=AT).request
    person = Person(id="yoon", party="KOR", clearance="KOR/MIL-III", roles=frozenset({Role.DISCLOSURE_OFFICER}))
    blind = Principal(person=person, via=Credential.TOKEN, csrf_checked=True)  # cleared below the record
    for keys in (None, kor.keys):
        assert [v.request.id for v in kor.service().list(KIM, world=WORLD, node=keys, at=AT).items] == [asked.id]
        assert kor.service().list(blind, world=WORLD, node=keys, at=AT).items == ()
        with pytest.raises(UnknownReferenceError, match="that yoon may see"):
            kor.service().get(blind, asked.id, world=WORLD, node=keys, at=AT)
    report = {"kind": "loss", "details": "gone"}
    with pytest.raises(UnknownReferenceError, match="no record"):
        kor.service().request(
            blind, "compromise-report", world=WORLD, record_id=record_id, node=kor.keys, details=report
        )
