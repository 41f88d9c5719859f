"""The role table: every action has a role, no role may do everything, and the separations hold."""

from __future__ import annotations

import pytest

from accord.domain.person import Person, Role
from accord.policy.access import may_open
from accord.policy.roles import READ_ACTIONS, ROLE_ACTIONS, Action, actions_of, permits, roles_for
from tests.factories import D, world

CONTENT = {
    Action.RECORD_CREATE,
    Action.RECORD_READ,
    Action.RELEASE_REQUEST,
    Action.RELEASE_APPROVE,
    Action.RELEASE_READ,
    Action.DECISION_CHECK,
    Action.CONSENT_GRANT,
    Action.RECALL_ISSUE,
}


def person(*roles: Role) -> Person:
    return Person(id="p1", party="BBB", clearance="BBB/L2", need_to_know=frozenset({"t1"}), roles=frozenset(roles))


def test_every_action_is_in_the_table_with_at_least_one_role():
    assert set(ROLE_ACTIONS) == set(Action)
    for action in Action:
        assert roles_for(action), f"{action} has no role: nobody could take it"


def test_no_role_may_do_everything():
    for role in Role:
        assert actions_of({role}) != set(Action), f"{role} may do everything"


def test_every_role_may_do_something_and_read_the_world():
    for role in Role:
        assert Action.WORLD_READ in actions_of({role})
        assert len(actions_of({role})) > 1


def test_administrators_manage_accounts_but_touch_no_classified_content():
    admin = actions_of({Role.ADMINISTRATOR})
    assert {Action.PEOPLE_MANAGE, Action.PEOPLE_ADMINISTER, Action.AUDIT_READ, Action.TOKENS_MANAGE} <= admin
    assert not admin & CONTENT
    assert Action.REGISTRY_MANAGE not in admin


def test_separations_of_duty():
    assert roles_for(Action.RELEASE_REQUEST) == {Role.ANALYST}
    assert roles_for(Action.RELEASE_APPROVE) == {Role.DISCLOSURE_OFFICER}
    assert roles_for(Action.PEOPLE_ADMINISTER) == {Role.ADMINISTRATOR}
    assert roles_for(Action.PEOPLE_MANAGE) == {Role.SECURITY_OFFICER, Role.ADMINISTRATOR}
    assert roles_for(Action.REGISTRY_MANAGE) == {Role.SECURITY_OFFICER}
    assert roles_for(Action.LOGISTICS_ORDER) == {Role.LOGISTICS_OFFICER}
    # Nobody requests and approves a release with one role.
    assert not any(
        Action.RELEASE_REQUEST in actions_of({r}) and Action.RELEASE_APPROVE in actions_of({r}) for r in Role
    )


def test_read_actions_change_nothing_by_name():
    assert set(Action) > READ_ACTIONS
    for action in READ_ACTIONS:
        assert action.value.endswith((".read", ".check"))


@pytest.mark.parametrize(
    ("roles", "action", "scopes", "allowed"),
    [
        ((Role.ANALYST,), Action.RELEASE_REQUEST, None, True),
        ((Role.ANALYST,), Action.RELEASE_APPROVE, None, False),
        ((), Action.WORLD_READ, None, False),
        ((Role.ANALYST,), Action.RELEASE_REQUEST, {Action.RECORD_READ}, False),
        ((Role.ANALYST,), Action.RECORD_READ, {Action.RECORD_READ}, True),
        ((Role.ANALYST,), Action.RELEASE_APPROVE, {Action.RELEASE_APPROVE}, False),  # scopes never add
        ((Role.ANALYST, Role.DISCLOSURE_OFFICER), Action.RELEASE_APPROVE, None, True),
    ],
)
def test_permits_needs_the_role_and_the_scope(roles, action, scopes, allowed):
    assert permits(person(*roles), action, scopes=scopes) is allowed


def test_roles_never_open_content():
    everyone = person(*Role)
    refused = may_open(
        Person(id="p1", party="BBB", clearance=None, roles=everyone.roles),
        holder="BBB",
        level="BBB/L1",
        topics=frozenset({"t1"}),
        on=D(2020, 6, 1),
        world=world(),
    )
    assert not refused
