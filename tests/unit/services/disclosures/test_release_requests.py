"""Release requests through the service: ask, see the live decision, approve once, reject, withdraw.

Real node homes, keys and databases (SQLite and PostgreSQL); refusals store nothing but
their audit entry, and the audit log verifies at the end of each story.
"""

from __future__ import annotations

import pytest

from accord.audit.entry import EntryKind
from accord.errors import ConflictError, PermissionDeniedError, UnknownReferenceError, ValidationError
from accord.services.audit import AuditLog
from accord.services.disclosures import DisclosureDeniedError, DisclosureState
from tests.unit.services.disclosures.support import AT, CHOI, DIRECT, HAN, KIM, LEE, NONE, PARK, WORLD, principal


def ask(kor, record_id, *, on=DIRECT, who=LEE, party="JPN"):
    return kor.service().request(who, "release", world=WORLD, record_id=record_id, party=party, on=on, at=AT)


def pending(kor):
    return [v.request.id for v in kor.service().list(KIM, world=WORLD, state="pending", at=AT).items]


def test_an_analyst_asks_and_sees_the_live_decision_with_its_reasons(kor):
    record_id = kor.record()
    view = ask(kor, record_id)
    assert view.request.state is DisclosureState.PENDING
    assert view.request.requester == "lee"
    assert view.decision is not None
    assert view.decision.allowed
    assert view.decision.route == ("KOR", "JPN")
    denied = ask(kor, record_id, on=NONE)
    assert denied.decision is not None
    assert not denied.decision.allowed
    assert denied.decision.reasons  # every failed rule, with its source
    # Reading it again decides again, as of the request's date.
    shown = kor.service().get(KIM, denied.request.id, world=WORLD, at=AT)
    assert shown.decision == denied.decision
    assert shown.to_dict()["decision"]["allowed"] is False
    assert kor.actions() == [("disclosure.request", "done", "lee"), ("disclosure.request", "done", "lee")]
    assert kor.entries()[-1].meta["decision"] == "denied"


@pytest.mark.parametrize(
    ("who", "message"),
    [
        (KIM, r"kim may not release\.request"),
        (HAN, r"han may not release\.request"),
        (principal("lee", csrf=False), r"lee may not release\.request"),
    ],
    ids=["disclosure-officer", "logistics-officer", "no-role"],
)
def test_the_wrong_role_is_refused_and_nothing_is_stored(kor, who, message):
    record_id = kor.record()
    with pytest.raises(PermissionDeniedError, match=message):
        ask(kor, record_id, who=who)
    assert pending(kor) == []
    assert kor.actions() == [("disclosure.request", "refused", who.person.id)]


def test_a_session_without_its_csrf_token_may_not_ask(kor):
    record_id = kor.record()
    with pytest.raises(PermissionDeniedError, match="CSRF"):
        ask(kor, record_id, who=principal("lee", *LEE.person.roles, csrf=False))
    assert pending(kor) == []


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"record_id": "KOR-nothing"}, UnknownReferenceError, "no record 'KOR-nothing'"),
        ({"party": "XYZ"}, UnknownReferenceError, "XYZ"),
        ({"party": "KOR"}, ValidationError, "own party"),
    ],
    ids=["unknown-record", "unknown-party", "own-party"],
)
def test_a_bad_subject_is_refused_and_audited(kor, fields, error, message):
    record_id = kor.record()
    with pytest.raises(error, match=message):
        kor.service().request(LEE, "release", world=WORLD, **({"record_id": record_id, "party": "JPN"} | fields))
    assert pending(kor) == []
    assert kor.actions()[-1][:2] == ("disclosure.request", "refused")


def test_approval_seals_exactly_one_release_with_its_audit_entries(kor):
    record_id = kor.record()
    asked = ask(kor, record_id).request
    approval = kor.service().approve(KIM, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert approval.release is not None
    sealed = approval.release.release
    assert sealed is not None
    assert approval.request.state is DisclosureState.APPROVED
    assert approval.request.decider == "kim"
    assert approval.request.outcome == sealed.id
    assert [r.id for r in kor.releases()] == [sealed.id]
    shown = kor.service().get(LEE, asked.id, world=WORLD, at=AT)
    assert shown.request == approval.request
    assert shown.decision is None  # decided: no live decision any more
    kinds = [(e.kind, e.meta.get("action")) for e in kor.entries()[-2:]]
    assert kinds == [(EntryKind.RELEASE, "release.seal"), (EntryKind.DISCLOSURE, "disclosure.approve")]
    assert kor.entries()[-1].meta["made"] == sealed.id
    # A second approval, and a rejection after it, find it decided.
    with pytest.raises(ConflictError, match="already decided: approved by kim"):
        kor.service().approve(PARK, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    with pytest.raises(ConflictError, match="already decided"):
        kor.service().reject(PARK, asked.id, "too late", at=AT)
    assert len(kor.releases()) == 1
    assert kor.actions()[-2:] == [("disclosure.approve", "refused", "park"), ("disclosure.reject", "refused", "park")]
    assert AuditLog(database=kor.db, home=kor.home).verify().entries == len(kor.entries())


def test_the_requester_may_not_approve_their_own_request(kor):
    record_id = kor.record(author=None)
    asked = ask(kor, record_id, who=CHOI).request  # choi is analyst and disclosure officer
    with pytest.raises(PermissionDeniedError, match="choi asked for request"):
        kor.service().approve(CHOI, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert kor.releases() == []
    assert pending(kor) == [asked.id]
    assert kor.actions()[-1] == ("disclosure.approve", "refused", "choi")


def test_the_author_may_not_approve_a_request_about_their_record(kor):
    record_id = kor.record(author="choi")
    asked = ask(kor, record_id).request
    with pytest.raises(PermissionDeniedError, match="choi wrote record"):
        kor.service().approve(CHOI, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    with pytest.raises(PermissionDeniedError, match="choi wrote record"):
        kor.service().reject(CHOI, asked.id, "not mine to judge", at=AT)
    assert kor.releases() == []
    # Another officer may.
    kor.service().approve(PARK, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert len(kor.releases()) == 1


def test_a_record_without_an_author_may_be_approved_by_any_officer(kor):
    record_id = kor.record(author=None)
    asked = ask(kor, record_id).request
    approval = kor.service().approve(CHOI, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert approval.request.state is DisclosureState.APPROVED


def test_an_analyst_may_not_approve(kor):
    record_id = kor.record()
    asked = ask(kor, record_id).request
    with pytest.raises(PermissionDeniedError, match=r"lee may not release\.approve"):
        kor.service().approve(LEE, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert pending(kor) == [asked.id]


def test_a_denial_at_approval_time_leaves_the_request_pending(kor):
    record_id = kor.record()
    asked = ask(kor, record_id, on=NONE).request
    before = len(kor.entries())
    with pytest.raises(DisclosureDeniedError, match="the release is denied as of 2013-01-01") as caught:
        kor.service().approve(KIM, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert not caught.value.decision.allowed
    assert kor.releases() == []
    assert pending(kor) == [asked.id]
    after = kor.entries()[before:]  # only the refusal: the rolled-back denial entry is gone
    assert [(e.kind, e.meta["action"], e.meta["outcome"]) for e in after] == [
        (EntryKind.DISCLOSURE, "disclosure.approve", "refused")
    ]
    # The officer then rejects it, with a reason the requester sees.
    kor.service().reject(KIM, asked.id, "no agreement in force on that date", at=AT)
    assert kor.service().get(LEE, asked.id, world=WORLD, at=AT).request.reason == "no agreement in force on that date"


def test_missing_keys_for_the_next_hop_roll_the_approval_back(kor):
    record_id = kor.record()
    asked = ask(kor, record_id).request
    with pytest.raises(ValidationError):
        kor.service().approve(KIM, asked.id, world=WORLD, node=kor.keys, next_hops={}, at=AT)
    assert kor.releases() == []
    assert pending(kor) == [asked.id]


def test_a_rejection_needs_a_reason(kor):
    record_id = kor.record()
    asked = ask(kor, record_id).request
    with pytest.raises(ValidationError, match="a rejection needs a reason"):
        kor.service().reject(KIM, asked.id, "   ", at=AT)
    assert pending(kor) == [asked.id]
    rejected = kor.service().reject(KIM, asked.id, "outside the agreement's scope", at=AT)
    assert (rejected.state, rejected.decider, rejected.reason) == ("rejected", "kim", "outside the agreement's scope")
    with pytest.raises(ConflictError, match="already decided: rejected by kim"):
        kor.service().approve(PARK, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert kor.releases() == []
    assert kor.actions()[-3:] == [
        ("disclosure.reject", "refused", "kim"),
        ("disclosure.reject", "done", "kim"),
        ("disclosure.approve", "refused", "park"),
    ]


def test_only_the_requester_withdraws_and_only_while_pending(kor):
    record_id = kor.record()
    asked = ask(kor, record_id).request
    with pytest.raises(PermissionDeniedError, match="only lee"):
        kor.service().withdraw(KIM, asked.id, at=AT)
    withdrawn = kor.service().withdraw(LEE, asked.id, reason="sent by other means", at=AT)
    assert withdrawn.state is DisclosureState.WITHDRAWN
    with pytest.raises(ConflictError, match="already decided: withdrawn by lee"):
        kor.service().withdraw(LEE, asked.id, at=AT)
    with pytest.raises(ConflictError):
        kor.service().approve(KIM, asked.id, world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    assert kor.releases() == []


def test_an_unknown_request_is_refused_and_audited(kor):
    with pytest.raises(UnknownReferenceError, match="no disclosure request 'dr-none'"):
        kor.service().approve(KIM, "dr-none", world=WORLD, node=kor.keys, next_hops=kor.hops(), at=AT)
    with pytest.raises(UnknownReferenceError):
        kor.service().get(KIM, "dr-none", world=WORLD)
    assert kor.actions() == [("disclosure.approve", "refused", "kim")]


def test_list_pages_and_filters(kor):
    record_id = kor.record()
    ids = [ask(kor, record_id).request.id for _ in range(5)]
    kor.service().reject(KIM, ids[1], "duplicate", at=AT)
    service = kor.service()
    first = service.list(KIM, world=WORLD, limit=2, at=AT)
    second = service.list(KIM, world=WORLD, after=first.next_cursor, limit=2, at=AT)
    third = service.list(KIM, world=WORLD, after=second.next_cursor, limit=2, at=AT)
    # All asked at the same time: in the order of their ids, each once.
    assert [v.request.id for v in (*first.items, *second.items, *third.items)] == sorted(ids)
    assert third.next_cursor is None
    assert [v.request.id for v in service.list(KIM, world=WORLD, state="rejected").items] == [ids[1]]
    assert all(v.decision is not None for v in service.list(KIM, world=WORLD, state="pending", at=AT).items)
    with pytest.raises(ValidationError, match="unknown state 'sent'"):
        service.list(KIM, world=WORLD, state="sent")
    # A logistics officer sees no release requests.
    assert service.list(HAN, world=WORLD).items == ()
