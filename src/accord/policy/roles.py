"""Which roles may take which actions: the one table, pure.

Every action a person can ask a node to take has a name (:class:`Action`) and the set
of roles allowed to take it (:data:`ROLE_ACTIONS`). An action no role lists is refused
to everyone (fail closed). Holding the role is necessary, never sufficient: opening
classified content also needs clearance and need-to-know (``policy.access``), and the
services add their own conditions (a disclosure officer never approves their own
record; nobody changes their own roles or clearance).

Actions that only read are listed in :data:`READ_ACTIONS`; every other action changes
something, so a web session must have passed its CSRF check to take it. Nothing here
reads the clock, the request or a database; the services ask and act.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from accord.domain.person import Person, Role

__all__ = ["READ_ACTIONS", "ROLE_ACTIONS", "Action", "actions_of", "permits", "roles_for"]


class Action(StrEnum):
    """Something a person may ask the node to do. Names are only ever added (tokens store them)."""

    WORLD_READ = "world.read"  # the public facts: parties, schemes, agreements as of a date
    DECISION_CHECK = "decision.check"  # "may this go to JPN, and how?"
    RECORD_CREATE = "record.create"
    RECORD_READ = "record.read"  # markings; content still needs policy.access
    RELEASE_REQUEST = "release.request"
    RELEASE_APPROVE = "release.approve"  # approve or reject a request, with a reason
    RELEASE_READ = "release.read"  # inbox and sent releases
    CONSENT_REQUEST = "consent.request"
    CONSENT_GRANT = "consent.grant"
    RECALL_ISSUE = "recall.issue"
    RECALL_ANSWER = "recall.answer"  # acknowledge return or destruction
    REPORT_FILE = "report.file"  # loss or compromise, reported at once by whoever finds it
    REPORT_CLOSE = "report.close"  # the investigation's result
    LOGISTICS_ORDER = "logistics.order"  # raise and settle mutual-support orders
    LOGISTICS_READ = "logistics.read"
    REGISTRY_MANAGE = "registry.manage"  # load the world, keep the agreement registry
    PEERS_MANAGE = "peers.manage"
    KEYS_MANAGE = "keys.manage"
    AUDIT_READ = "audit.read"  # entries, verification, proofs
    AUDIT_CHECKPOINT = "audit.checkpoint"
    PEOPLE_READ = "people.read"
    PEOPLE_MANAGE = "people.manage"  # add people, set roles, clearance, need-to-know, passwords, locks
    PEOPLE_ADMINISTER = "people.administer"  # grant, remove or act on the administrator role
    TOKENS_MANAGE = "tokens.manage"  # see and revoke other people's tokens


_ANALYST, _DISCLOSURE, _LOGISTICS = Role.ANALYST, Role.DISCLOSURE_OFFICER, Role.LOGISTICS_OFFICER
_SECURITY, _ADMIN = Role.SECURITY_OFFICER, Role.ADMINISTRATOR

ROLE_ACTIONS: Final[Mapping[Action, frozenset[Role]]] = MappingProxyType(
    {
        Action.WORLD_READ: frozenset(Role),
        Action.DECISION_CHECK: frozenset({_ANALYST, _DISCLOSURE}),
        Action.RECORD_CREATE: frozenset({_ANALYST}),
        Action.RECORD_READ: frozenset({_ANALYST, _DISCLOSURE}),
        Action.RELEASE_REQUEST: frozenset({_ANALYST}),
        Action.RELEASE_APPROVE: frozenset({_DISCLOSURE}),
        Action.RELEASE_READ: frozenset({_ANALYST, _DISCLOSURE}),
        Action.CONSENT_REQUEST: frozenset({_ANALYST}),
        Action.CONSENT_GRANT: frozenset({_DISCLOSURE}),
        Action.RECALL_ISSUE: frozenset({_DISCLOSURE}),
        Action.RECALL_ANSWER: frozenset({_DISCLOSURE}),
        # Whoever holds classified material reports its loss; administrators hold none.
        Action.REPORT_FILE: frozenset({_ANALYST, _DISCLOSURE, _LOGISTICS, _SECURITY}),
        Action.REPORT_CLOSE: frozenset({_DISCLOSURE, _SECURITY}),
        Action.LOGISTICS_ORDER: frozenset({_LOGISTICS}),
        Action.LOGISTICS_READ: frozenset({_LOGISTICS}),
        Action.REGISTRY_MANAGE: frozenset({_SECURITY}),
        Action.PEERS_MANAGE: frozenset({_SECURITY}),
        Action.KEYS_MANAGE: frozenset({_SECURITY}),
        Action.AUDIT_READ: frozenset({_SECURITY, _ADMIN}),
        Action.AUDIT_CHECKPOINT: frozenset({_SECURITY}),
        Action.PEOPLE_READ: frozenset({_SECURITY, _ADMIN}),
        Action.PEOPLE_MANAGE: frozenset({_SECURITY, _ADMIN}),
        # A security officer manages people but cannot make (or unmake) an administrator.
        Action.PEOPLE_ADMINISTER: frozenset({_ADMIN}),
        Action.TOKENS_MANAGE: frozenset({_SECURITY, _ADMIN}),
    }
)
"""Action -> the roles allowed to take it. The single place roles are given meaning."""

READ_ACTIONS: Final[frozenset[Action]] = frozenset(
    {
        Action.WORLD_READ,
        Action.DECISION_CHECK,
        Action.RECORD_READ,
        Action.RELEASE_READ,
        Action.LOGISTICS_READ,
        Action.AUDIT_READ,
        Action.PEOPLE_READ,
    }
)
"""Actions that change nothing; all others need a CSRF-checked session on the web."""


def roles_for(action: Action) -> frozenset[Role]:
    """The roles allowed to take ``action``; none for an action the table does not list."""
    return ROLE_ACTIONS.get(action, frozenset())


def actions_of(roles: Collection[Role]) -> frozenset[Action]:
    """Every action at least one of ``roles`` allows."""
    held = frozenset(roles)
    return frozenset(action for action, allowed in ROLE_ACTIONS.items() if allowed & held)


def permits(person: Person, action: Action, *, scopes: Collection[Action] | None = None) -> bool:
    """Whether ``person``'s roles allow ``action`` and, for a scoped credential, its ``scopes`` do too.

    ``scopes`` is ``None`` for a credential that may do whatever the person may.
    """
    if scopes is not None and action not in scopes:
        return False
    return bool(roles_for(action) & person.roles)
