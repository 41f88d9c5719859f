"""Values the people store keeps (accounts, API tokens, web sessions) and the refusals it shares.

An :class:`Account` is a :class:`~accord.domain.person.Person` with what the node keeps
to let them in: the Argon2 hash of their password, the count of consecutive failed
logins, a temporary lock-out and a lock set by a security officer. An
:class:`ApiToken` and a :class:`WebSession` hold only SHA-256 digests of their
secrets. Times are fixed-width UTC stamps (``2026-03-01T09:00:00.000000Z``), so that
the SQL store may compare them as text; the services make them. The functions below
are the checks the memory and SQL stores both make, with the same messages. Nothing
here hashes, reads the clock or decides who may do what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, NoReturn

from accord.domain.person import Person
from accord.errors import ValidationError
from accord.storage._rules import refuse_duplicate

__all__ = [
    "ALL_SCOPES",
    "Account",
    "ApiToken",
    "WebSession",
    "check_account",
    "check_hash",
    "check_not_revoked",
    "check_same_party",
    "check_session",
    "check_stamp",
    "check_token",
    "refuse_first",
    "refuse_session",
]

ALL_SCOPES: Final = "*"
"""How the SQL store writes a token that may do whatever its person may (``scopes=None``)."""

_STAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_SCOPE: Final = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A person and what lets them log in. ``password_hash`` is left out of the repr."""

    person: Person
    created_at: str
    updated_at: str
    password_hash: str | None = field(default=None, repr=False)
    failures: int = 0  # consecutive failed logins since the last success or lock-out
    locked_out_until: str | None = None  # after too many failures; passwords only
    locked: bool = False  # by a security officer, until unlocked; every credential

    @property
    def id(self) -> str:
        """The person's id."""
        return self.person.id


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """An API token as stored: the SHA-256 digest of its secret, never the secret."""

    id: str
    person_id: str
    name: str
    digest: str = field(repr=False)
    scopes: frozenset[str] | None  # action names; None: whatever the person's roles allow
    created_at: str
    expires_at: str
    revoked_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSession:
    """A web session as stored, keyed by the SHA-256 digest of its id."""

    key: str = field(repr=False)
    person_id: str
    created_at: str
    expires_at: str


def check_stamp(value: str, what: str) -> None:
    """Refuse anything but a fixed-width UTC stamp (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)."""
    if not _STAMP.fullmatch(value):
        msg = f"{what} must be a UTC time like 2026-03-01T09:00:00.000000Z, not {value!r}"
        raise ValidationError(msg)


def check_hash(password_hash: str) -> None:
    """Refuse anything but an Argon2 hash in PHC form (never a password)."""
    if not password_hash.startswith("$argon2"):
        msg = "a stored password must be an Argon2 hash"
        raise ValidationError(msg)


def check_account(account: Account) -> None:
    """Refuse an account the store could not read back as it was given."""
    check_stamp(account.created_at, "created_at")
    check_stamp(account.updated_at, "updated_at")
    if account.password_hash is not None:
        check_hash(account.password_hash)
    if account.locked_out_until is not None:
        check_stamp(account.locked_out_until, "locked_out_until")
    if account.failures < 0:
        msg = f"failures cannot be negative, not {account.failures}"
        raise ValidationError(msg)


def check_token(token: ApiToken) -> None:
    """Refuse a token the store could not read back as it was given."""
    if not token.id or not _HEX64.fullmatch(token.digest):
        msg = "a token needs an id and a SHA-256 digest"
        raise ValidationError(msg)
    for name in ("created_at", "expires_at"):
        check_stamp(getattr(token, name), name)
    if token.revoked_at is not None:
        check_stamp(token.revoked_at, "revoked_at")
    if token.scopes is not None and (not token.scopes or not all(_SCOPE.fullmatch(s) for s in token.scopes)):
        msg = "token scopes are one or more action names (None for all)"
        raise ValidationError(msg)


def check_session(session: WebSession) -> None:
    """Refuse a session the store could not read back as it was given."""
    if not _HEX64.fullmatch(session.key):
        msg = "a session is kept by the SHA-256 digest of its id"
        raise ValidationError(msg)
    check_stamp(session.created_at, "created_at")
    check_stamp(session.expires_at, "expires_at")


def check_same_party(account: Account, person: Person) -> None:
    """Refuse moving a person to another party: people belong to the node's party for good."""
    if person.party != account.person.party:
        msg = f"person {person.id} is of {account.person.party}; a person's party cannot change to {person.party}"
        raise ValidationError(msg)


def check_not_revoked(token: ApiToken) -> None:
    """Refuse revoking a token twice."""
    if token.revoked_at is not None:
        msg = f"token {token.id} was already revoked at {token.revoked_at}"
        raise ValidationError(msg)


def refuse_first() -> NoReturn:
    """Refuse a second first person."""
    msg = "this node already has people: the first administrator is made only once"
    raise ValidationError(msg, hint="ask a security officer or administrator to add the person")


def refuse_session() -> NoReturn:
    """Refuse a session key already kept (without showing it)."""
    refuse_duplicate("session", "with this key")
