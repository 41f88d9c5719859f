"""Who may ask for a disclosure and who may decide it: the four-eyes rule, pure.

Each kind of :class:`~accord.domain.disclosure.DisclosureRequest` has the action that
asking takes and the action that deciding takes (:data:`REQUEST_ACTIONS`,
:data:`DECIDE_ACTIONS`, both actions of ``policy.roles``, so the role table stays the
one place roles get meaning). On top of the role, :func:`check_decider` refuses an
officer who asked for it or who wrote the record (a record with no author, made before
records remembered theirs, may be decided by any officer holding the role), and a
rejection without a reason; :func:`check_withdrawer` lets only the requester withdraw.
Nothing here reads the clock or a store, or checks roles itself: the services do.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from accord.domain.disclosure import DisclosureKind, DisclosureRequest, DisclosureState
from accord.errors import PermissionDeniedError, ValidationError
from accord.policy.roles import Action

__all__ = ["DECIDE_ACTIONS", "REQUEST_ACTIONS", "check_decider", "check_withdrawer", "decide_action", "request_action"]

REQUEST_ACTIONS: Final[Mapping[DisclosureKind, Action]] = MappingProxyType(
    {
        DisclosureKind.RELEASE: Action.RELEASE_REQUEST,
        DisclosureKind.CONSENT: Action.CONSENT_REQUEST,
        # A recall undoes a release: whoever may ask for a release may ask for its recall.
        DisclosureKind.RECALL: Action.RELEASE_REQUEST,
        # Whoever holds classified material reports its loss (analysts, officers).
        DisclosureKind.COMPROMISE_REPORT: Action.REPORT_FILE,
    }
)
"""Kind -> the action asking for it takes."""

DECIDE_ACTIONS: Final[Mapping[DisclosureKind, Action]] = MappingProxyType(
    {
        DisclosureKind.RELEASE: Action.RELEASE_APPROVE,
        DisclosureKind.CONSENT: Action.CONSENT_GRANT,
        DisclosureKind.RECALL: Action.RECALL_ISSUE,
        # The officers who close a report (disclosure and security) also send it.
        DisclosureKind.COMPROMISE_REPORT: Action.REPORT_CLOSE,
    }
)
"""Kind -> the action approving or rejecting it takes."""


def request_action(kind: DisclosureKind) -> Action:
    """The action asking for a ``kind`` request takes."""
    return REQUEST_ACTIONS[kind]


def decide_action(kind: DisclosureKind) -> Action:
    """The action approving or rejecting a ``kind`` request takes."""
    return DECIDE_ACTIONS[kind]


def check_decider(
    request: DisclosureRequest, *, decider: str, author: str | None, to: DisclosureState, reason: str = ""
) -> None:
    """Refuse a decision the four-eyes rule forbids (the role is checked apart).

    ``author`` is the person who wrote the request's record (``None``: no record, or
    one made before records remembered their author).

    Raises:
        PermissionDeniedError: the decider asked for it, or wrote the record.
        ValidationError: ``to`` is not a decision, or a rejection has no reason.
    """
    if to not in {DisclosureState.APPROVED, DisclosureState.REJECTED}:
        msg = f"an officer approves or rejects a request, not {to}"
        raise ValidationError(msg)
    if decider == request.requester:
        msg = f"{decider} asked for request {request.id} and may not decide it"
        raise PermissionDeniedError(msg, hint="another disclosure officer decides it")
    if author is not None and decider == author:
        msg = f"{decider} wrote record {request.record_id} and may not decide request {request.id} about it"
        raise PermissionDeniedError(msg, hint="another disclosure officer decides it")
    if to is DisclosureState.REJECTED and not reason.strip():
        msg = "a rejection needs a reason (--reason TEXT)"
        raise ValidationError(msg, hint="say why, so the requester can act on it")


def check_withdrawer(request: DisclosureRequest, *, person: str) -> None:
    """Refuse a withdrawal by anyone but the requester.

    Raises:
        PermissionDeniedError: ``person`` did not ask for it.
    """
    if person != request.requester:
        msg = f"only {request.requester}, who asked for request {request.id}, may withdraw it"
        raise PermissionDeniedError(msg, hint="an officer rejects it instead, with a reason")
