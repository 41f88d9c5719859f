"""Who may ask for and decide each kind of disclosure request: roles, and the four-eyes rule."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.domain.disclosure import DisclosureKind, DisclosureRequest, DisclosureState
from accord.domain.person import Person, Role
from accord.errors import PermissionDeniedError, ValidationError
from accord.policy.disclosure import check_decider, check_withdrawer, decide_action, request_action
from accord.policy.roles import permits

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
K, S, R = DisclosureKind, DisclosureState, Role

# kind -> (roles that may ask, roles that may decide)
WHO = {
    K.RELEASE: ({R.ANALYST}, {R.DISCLOSURE_OFFICER}),
    K.CONSENT: ({R.ANALYST}, {R.DISCLOSURE_OFFICER}),
    K.RECALL: ({R.ANALYST}, {R.DISCLOSURE_OFFICER}),
    K.COMPROMISE_REPORT: (
        {R.ANALYST, R.DISCLOSURE_OFFICER, R.LOGISTICS_OFFICER, R.SECURITY_OFFICER},
        {R.DISCLOSURE_OFFICER, R.SECURITY_OFFICER},
    ),
}


def person(role: Role) -> Person:
    return Person(id="p", party="KOR", clearance=None, roles=frozenset({role}))


@pytest.mark.parametrize(("kind", "role"), [(k, r) for k in K for r in R], ids=[f"{k}-{r}" for k in K for r in R])
def test_who_may_ask_and_who_may_decide(kind, role):
    may_ask, may_decide = WHO[kind]
    assert permits(person(role), request_action(kind)) == (role in may_ask)
    assert permits(person(role), decide_action(kind)) == (role in may_decide)


def test_no_role_both_asks_for_and_decides_a_release():
    # Four eyes by role already: only holding two roles lets one person do both, and
    # then check_decider stops them deciding their own request.
    asks = {r for r in R if permits(person(r), request_action(K.RELEASE))}
    decides = {r for r in R if permits(person(r), decide_action(K.RELEASE))}
    assert not asks & decides


def request(record_id: str | None = "KOR-1") -> DisclosureRequest:
    return DisclosureRequest(
        id="dr-1", kind=K.RELEASE, requester="lee", requested_at=AT, record_id=record_id, party="JPN"
    )


CASES = {
    "another-officer-approves": ("kim", "lee", S.APPROVED, "", None),
    "another-officer-rejects-with-reason": ("kim", "lee", S.REJECTED, "out of scope", None),
    "no-author-recorded": ("kim", None, S.APPROVED, "", None),
    "requester-approves": ("lee", None, S.APPROVED, "", (PermissionDeniedError, "asked for request")),
    "requester-rejects": ("lee", None, S.REJECTED, "no", (PermissionDeniedError, "asked for request")),
    "author-approves": ("kim", "kim", S.APPROVED, "", (PermissionDeniedError, "wrote record KOR-1")),
    "reject-without-reason": ("kim", "lee", S.REJECTED, "  ", (ValidationError, "needs a reason")),
    "withdraw-is-no-decision": ("kim", None, S.WITHDRAWN, "", (ValidationError, "approves or rejects")),
}


@pytest.mark.parametrize(("decider", "author", "to", "reason", "refusal"), CASES.values(), ids=CASES.keys())
def test_the_four_eyes_rule(decider, author, to, reason, refusal):
    if refusal is None:
        check_decider(request(), decider=decider, author=author, to=to, reason=reason)
        return
    error, message = refusal
    with pytest.raises(error, match=message):
        check_decider(request(), decider=decider, author=author, to=to, reason=reason)


@pytest.mark.parametrize(("who", "allowed"), [("lee", True), ("kim", False)], ids=["requester", "anyone-else"])
def test_only_the_requester_withdraws(who, allowed):
    if allowed:
        check_withdrawer(request(), person=who)
    else:
        with pytest.raises(PermissionDeniedError, match="only lee"):
            check_withdrawer(request(), person=who)
