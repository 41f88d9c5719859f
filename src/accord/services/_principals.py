"""What the people service hands out and takes back: principals, login policy, token and session values.

A :class:`Principal` is a person as authenticated by one credential (password, API
token or web session), with what that credential allows: the token's scopes, and for
a session whether the request showed its CSRF token. Values that carry a secret
(:class:`NewToken`, :class:`NewSession`) keep it out of their repr. Pure values; the
behaviour is in ``_logins`` and ``people``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Self

from accord.audit.entry import MetaValue
from accord.crypto.passwords import PasswordParams
from accord.domain.person import Person
from accord.errors import PermissionDeniedError, ValidationError
from accord.policy.roles import READ_ACTIONS, Action, permits
from accord.storage.people import ApiToken

__all__ = [
    "CSRF_HEADER",
    "MAX_META",
    "SESSION_COOKIE",
    "Credential",
    "LoginPolicy",
    "NewSession",
    "NewToken",
    "Principal",
    "TokenView",
    "require_csrf",
    "short_text",
    "stamp",
]

SESSION_COOKIE: Final = "__Host-accord-session"
"""The session cookie's name: ``__Host-`` makes browsers require Secure, Path=/ and no Domain."""
CSRF_HEADER: Final = "X-CSRF-Token"
"""Where a browser sends the session's CSRF token with every request that changes something."""

MAX_META: Final = 256
"""The longest text an audit metadata value holds."""


def stamp(at: dt.datetime) -> str:
    """``at`` as the fixed-width UTC stamp the people store keeps (``2026-03-01T09:00:00.000000Z``).

    Raises:
        ValidationError: ``at`` has no UTC offset.
    """
    if at.utcoffset() is None:
        msg = f"times must carry a UTC offset, not {at!r}"
        raise ValidationError(msg)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def short_text(values: Collection[str]) -> str:
    """Sorted values joined by spaces for an audit entry, or their count when that is too long."""
    joined = " ".join(sorted(values))
    return joined if len(joined) <= MAX_META else f"{len(values)} items"


def require_csrf(principal: Principal) -> None:
    """Refuse a change asked for by a session request that did not show its CSRF token."""
    if not principal.csrf_checked:
        msg = "this session request changes something and needs its CSRF token"
        raise PermissionDeniedError(msg, hint=f"send the session's CSRF token in the {CSRF_HEADER} header")


class Credential(StrEnum):
    """How a principal came in."""

    PASSWORD = "password"  # noqa: S105 - a kind of credential, not a secret
    TOKEN = "token"  # noqa: S105
    SESSION = "session"


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """An authenticated person and what their credential allows.

    ``scopes`` restricts a token to some actions (``None``: whatever the roles allow).
    A web session that has not shown its CSRF token (``csrf_checked`` false) may only
    read. Pass ``person`` to ``policy.access.may_open`` for content; pass the principal
    itself to :meth:`Logins.authorize` for actions.
    """

    person: Person
    via: Credential
    credential_id: str | None = None  # the token id, or a short reference to the session
    scopes: frozenset[Action] | None = None
    csrf_checked: bool = True

    def may(self, action: Action) -> bool:
        """Whether the person's roles, the credential's scopes and (for a session) CSRF allow ``action``."""
        if not self.csrf_checked and action not in READ_ACTIONS:
            return False
        return permits(self.person, action, scopes=self.scopes)

    def audit_meta(self) -> dict[str, MetaValue]:
        """How the principal came in, for audit entries (never the secret)."""
        meta: dict[str, MetaValue] = {"via": self.via.value}
        if self.credential_id is not None:
            meta["credential"] = self.credential_id
        return meta


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginPolicy:
    """Lock-out, lifetimes, password rules and the Argon2 cost."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    session_lifetime: dt.timedelta = dt.timedelta(hours=8)
    token_lifetime: dt.timedelta = dt.timedelta(days=90)
    max_token_lifetime: dt.timedelta = dt.timedelta(days=366)
    min_password: int = 12
    passwords: PasswordParams = field(default_factory=PasswordParams)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenView:
    """An API token as its owner or an officer sees it: never its secret or digest."""

    id: str
    person_id: str
    name: str
    scopes: frozenset[str] | None
    created_at: str
    expires_at: str
    revoked_at: str | None

    @classmethod
    def of(cls, token: ApiToken) -> Self:
        """The view of a stored token."""
        return cls(
            id=token.id,
            person_id=token.person_id,
            name=token.name,
            scopes=token.scopes,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
        )

    def status(self, at: dt.datetime) -> str:
        """``revoked``, ``expired`` or ``active`` at ``at``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= stamp(at) else "active"

    def to_dict(self, at: dt.datetime) -> dict[str, object]:
        """JSON form, with the status at ``at``."""
        return {
            "id": self.id,
            "person": self.person_id,
            "name": self.name,
            "scopes": None if self.scopes is None else sorted(self.scopes),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "status": self.status(at),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class NewToken:
    """A token just issued: ``token`` is shown once and never again (it is not kept)."""

    token: str = field(repr=False)
    view: TokenView


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSession:
    """A session just started: the id goes in the :data:`SESSION_COOKIE`, the CSRF token in pages."""

    session_id: str = field(repr=False)
    csrf_token: str = field(repr=False)
    person: Person
    expires_at: str
