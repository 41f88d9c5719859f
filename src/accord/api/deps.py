"""What every route depends on: the node's services, the principal, and the action it needs.

:class:`Node` holds the services of one server process, the node unlocked once at
start, and the world cache; ``create_app`` builds it and routes get it with
:func:`node`. :func:`allow` is how a route declares the one
:class:`~accord.services.people.Action` it needs: it authenticates the request
(``Authorization: Bearer <token>``, or the web session cookie with its CSRF header) and
authorizes the action, or refuses (401, 403). :func:`route_actions` reads the
declarations back from the app's route table, so the security test walks exactly what
is served. Nothing here is cached per process that another worker could change: every
request reads its credential and the registry's fingerprint from the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from accord.errors import AuthenticationError
from accord.services.audit import AuditLog
from accord.services.decisions import parse_date
from accord.services.disclosures import Disclosures
from accord.services.exchange import Exchange
from accord.services.inbox import Inbox
from accord.services.node import UnlockedNode
from accord.services.obligations import Obligations
from accord.services.people import CSRF_HEADER, SESSION_COOKIE, Action, People, Principal
from accord.services.records import Records
from accord.services.registry import WorldCache
from accord.services.releases import Releases
from accord.services.world import LoadedWorld

__all__ = ["PUBLIC_ROUTES", "Authorizer", "Node", "allow", "day", "node", "route_actions", "when"]

PUBLIC_ROUTES: Final = frozenset(
    {
        ("GET", "/api/v1/health"),
        ("GET", "/openapi.json"),
        # Signature-authenticated: every envelope must verify against a peer's pinned keys
        # (and be fresh, addressed here, not replayed), or it is refused and audited.
        ("POST", "/federation/v1/envelopes"),
    }
)
"""The only routes anyone may call without an API credential."""

_MISSING = "this endpoint needs credentials: send Authorization: Bearer <API token>, or a web session"
_MISSING_HINT = "`accord tokens issue` makes an API token"


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """The services of this server process and the node unlocked once at start."""

    people: People
    records: Records
    releases: Releases
    inbox: Inbox
    disclosures: Disclosures
    obligations: Obligations
    audit: AuditLog
    worlds: WorldCache
    unlocked: UnlockedNode
    exchange: Exchange
    federation_max_body: int = 32 * 1024 * 1024

    def world(self) -> LoadedWorld:
        """The world to answer from (re-read when the registry changed)."""
        return self.worlds.current()

    def close(self) -> None:
        """Close every service's connections."""
        for service in (
            self.people,
            self.records,
            self.releases,
            self.inbox,
            self.disclosures,
            self.obligations,
            self.audit,
            self.exchange,
        ):
            service.close()
        self.worlds.close()


async def node(request: Request) -> Node:
    """The app's :class:`Node` (async: no I/O, so no hop through the thread pool)."""
    held: Node = request.app.state.node
    return held


def when() -> dt.datetime:
    """Now, in UTC: the time a request is answered at (only services read the clock otherwise)."""
    return dt.datetime.now(dt.UTC)


def day(value: dt.date | None, field: str) -> dt.date:
    """``value`` (default: today), refused outside the dates Accord handles.

    Raises:
        ValidationError: naming ``field``.
    """
    return parse_date(value.isoformat() if value is not None else None, field=field)


def _principal(request: Request, held: Node) -> Principal:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(_MISSING, hint=_MISSING_HINT)
        return held.people.authenticate_token(token.strip())
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return held.people.authenticate_session(session, csrf_token=request.headers.get(CSRF_HEADER))
    raise AuthenticationError(_MISSING, hint=_MISSING_HINT)


class Authorizer:
    """The dependency :func:`allow` makes: authenticate, then authorize :attr:`action`."""

    def __init__(self, action: Action) -> None:
        """Require ``action``."""
        self.action = action

    def __call__(self, request: Request, held: Annotated[Node, Depends(node)]) -> Principal:
        """The request's principal, allowed to take the action.

        Raises:
            AuthenticationError: no, malformed or refused credentials.
            PermissionDeniedError: the roles, scopes or CSRF check do not allow it.
        """
        principal = _principal(request, held)
        held.people.authorize(principal, self.action)
        return principal


def allow(action: Action) -> Any:  # noqa: ANN401 - FastAPI's Depends marker is untyped
    """``Depends`` on an :class:`Authorizer` of ``action``: declare it once per route."""
    return Depends(Authorizer(action))


def _authorizers(dependant: Dependant) -> Iterator[Authorizer]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, Authorizer):
            yield sub.call
        yield from _authorizers(sub)


def route_actions(app: FastAPI) -> dict[tuple[str, str], Action | None]:
    """``(method, path)`` -> the action each served route declares (``None``: it declares none).

    Read from the routers ``create_app`` mounted (``app.state.mounted``: prefix and
    router), so it is the table that is served. A route that declares none and is not
    in :data:`PUBLIC_ROUTES` is a bug the route-table test catches.
    """
    out: dict[tuple[str, str], Action | None] = {}
    mounted: tuple[tuple[str, APIRouter], ...] = app.state.mounted
    for prefix, router in mounted:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            found = {a.action for a in _authorizers(route.dependant)}
            declared = found.pop() if len(found) == 1 else None
            for method in sorted(route.methods or ()):
                out[(method, prefix + route.path)] = declared
    return out
