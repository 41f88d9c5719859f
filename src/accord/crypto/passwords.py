"""Secrets people hold: passwords (Argon2id), API tokens, web session ids and CSRF tokens.

- Passwords are hashed with Argon2id (RFC 9106) through ``argon2-cffi``; the encoded
  hash carries its salt and cost, so :func:`verify_password` needs only it, and
  :func:`needs_rehash` says when a stored hash was made with another cost.
- An API token is ``accord_<id>_<secret>``: a public id (80 random bits) to find it
  by, and a 256-bit secret. Only a SHA-256 digest of both is stored: a token has far
  too much entropy to guess, so a slow hash would buy nothing (unlike a password).
- A web session id is 256 random bits; the store keys sessions by its SHA-256 digest,
  so a stolen database opens no session. The CSRF token is an HMAC of a fixed label
  under the session id: bound to that one session, never stored, and unforgeable
  without the session id itself.
Digests are compared in constant time. Nothing here reads the clock, logs, or keeps a
secret beyond the call; reprs of values holding a secret leave it out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from accord.crypto._encoding import b64encode
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "PASSWORD_FLOOR",
    "TOKEN_PREFIX",
    "UNSAFE_FAST_PASSWORDS",
    "IssuedSession",
    "IssuedToken",
    "PasswordParams",
    "csrf_matches",
    "csrf_token",
    "digests_equal",
    "hash_password",
    "is_token_id",
    "needs_rehash",
    "new_session",
    "new_token",
    "read_token",
    "session_key",
    "verify_password",
    "waste_a_verification",
]

TOKEN_PREFIX: Final = "accord_"  # noqa: S105 - a fixed prefix, which secret scanners can look for
_TOKEN_ID_BYTES: Final = 10  # 16 base32 characters
_SECRET_BYTES: Final = 32
_TOKEN: Final = re.compile(r"accord_(?P<id>[a-z2-7]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
_TOKEN_ID: Final = re.compile(r"[a-z2-7]{16}")
_SESSION: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_TOKEN_LABEL: Final = b"accord.api-token/1\x00"
_SESSION_LABEL: Final = b"accord.session/1\x00"
_CSRF_LABEL: Final = b"accord.csrf/1"
_MAX_PASSWORD: Final = 1024  # characters; Argon2 takes any length, a request body should not


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordParams:
    """Argon2id cost. The default is RFC 9106's second recommendation: t=3, 64 MiB, p=4 (~0.1 s here).

    Whether a cost is strong enough for real use is :attr:`below_floor` (see
    :data:`PASSWORD_FLOOR`); tests use :data:`UNSAFE_FAST_PASSWORDS`.
    """

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    def __post_init__(self) -> None:
        """Keep the cost in a range Argon2 accepts and a server can afford."""
        if (
            not 1 <= self.time_cost <= 16  # noqa: PLR2004 - sane bounds for a login
            or not 1 <= self.parallelism <= 16  # noqa: PLR2004
            or not 8 * self.parallelism <= self.memory_kib <= 1024 * 1024
        ):
            msg = (
                f"Argon2 parameters out of range: t={self.time_cost} m={self.memory_kib} KiB p={self.parallelism} "
                "(t 1..16, p 1..16, m from 8*p KiB to 1 GiB)"
            )
            raise ValidationError(msg)

    @property
    def below_floor(self) -> bool:
        """Whether this cost is weaker than :data:`PASSWORD_FLOOR` (usable only by tests)."""
        return self.memory_kib < PASSWORD_FLOOR.memory_kib or self.time_cost < PASSWORD_FLOOR.time_cost


PASSWORD_FLOOR: Final = PasswordParams(time_cost=2, memory_kib=19 * 1024, parallelism=1)
"""The weakest cost for real use: OWASP's Argon2id minimum (t=2, 19 MiB, p=1)."""

UNSAFE_FAST_PASSWORDS: Final = PasswordParams(time_cost=1, memory_kib=64, parallelism=1)
"""UNSAFE, tests only: a cost of well under a millisecond, far below the floor."""


@lru_cache(maxsize=8)
def _hasher(params: PasswordParams) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        salt_len=16,
        type=argon2.Type.ID,
    )


def _check_length(password: str) -> None:
    if len(password) > _MAX_PASSWORD:
        msg = f"a password has at most {_MAX_PASSWORD} characters"
        raise ValidationError(msg)


def hash_password(password: str, params: PasswordParams = PasswordParams()) -> str:
    """The Argon2id hash of ``password`` in PHC form (``$argon2id$v=19$m=...``), with a fresh salt.

    Raises:
        ValidationError: the password is longer than any accepted.
    """
    _check_length(password)
    return _hasher(params).hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash ``encoded``; False for a mismatch.

    Raises:
        IntegrityError: ``encoded`` is not an Argon2 hash (the stored value was changed).
    """
    if len(password) > _MAX_PASSWORD:
        waste_a_verification(password[:_MAX_PASSWORD])
        return False
    try:
        # Any instance verifies any Argon2 hash: the cost and variant come from `encoded`.
        return _hasher(PasswordParams()).verify(encoded, password)
    except InvalidHashError as e:
        msg = "a stored password hash is not an Argon2 hash"
        raise IntegrityError(msg, hint="set the person's password again") from e
    except VerificationError:
        return False


def needs_rehash(encoded: str, params: PasswordParams = PasswordParams()) -> bool:
    """Whether ``encoded`` was made with another cost or variant than ``params`` (rehash it at next login)."""
    try:
        return _hasher(params).check_needs_rehash(encoded)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=8)
def _dummy_hash(params: PasswordParams) -> str:
    return _hasher(params).hash(secrets.token_urlsafe(16))


def waste_a_verification(password: str, params: PasswordParams = PasswordParams()) -> None:
    """Spend the time of one verification and fail: for an unknown person, so that timing
    does not tell which person ids exist.
    """  # noqa: D205 - the summary needs two lines
    try:
        _hasher(params).verify(_dummy_hash(params), password)
    except VerificationError:
        return


def digests_equal(a: str, b: str) -> bool:
    """Compare two hex digests in constant time."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


# -- API tokens -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedToken:
    """A new token: the public id, the token to hand over once, and the digest to store."""

    token_id: str
    token: str = field(repr=False)
    digest: str


def _token_digest(token_id: str, secret: str) -> str:
    return hashlib.sha256(_TOKEN_LABEL + f"{token_id}\x00{secret}".encode("ascii")).hexdigest()


def new_token() -> IssuedToken:
    """A fresh random API token."""
    token_id = base64.b32encode(secrets.token_bytes(_TOKEN_ID_BYTES)).decode("ascii").lower()
    secret = b64encode(secrets.token_bytes(_SECRET_BYTES))
    return IssuedToken(
        token_id=token_id, token=f"{TOKEN_PREFIX}{token_id}_{secret}", digest=_token_digest(token_id, secret)
    )


def is_token_id(text: str) -> bool:
    """Whether ``text`` is shaped like a token's public id (and so cannot be a whole token)."""
    return _TOKEN_ID.fullmatch(text) is not None


def read_token(token: str) -> tuple[str, str] | None:
    """The id and digest of a token as presented, or ``None`` if it is not shaped like one."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        return None
    return match["id"], _token_digest(match["id"], match["secret"])


# -- web sessions and CSRF --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedSession:
    """A new session: the id for the cookie, the key to store, and the CSRF token for pages."""

    session_id: str = field(repr=False)
    key: str
    csrf_token: str = field(repr=False)


def session_key(session_id: str) -> str | None:
    """The stored key (SHA-256 digest) of a session id, or ``None`` if it is not shaped like one."""
    if _SESSION.fullmatch(session_id) is None:
        return None
    return hashlib.sha256(_SESSION_LABEL + session_id.encode("ascii")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token bound to ``session_id``: HMAC-SHA256 of a fixed label under the session id."""
    return b64encode(hmac.digest(session_id.encode("utf-8"), _CSRF_LABEL, "sha256"))


def csrf_matches(session_id: str, presented: str) -> bool:
    """Whether ``presented`` is the CSRF token of ``session_id`` (constant-time)."""
    return hmac.compare_digest(csrf_token(session_id).encode("ascii"), presented.encode("utf-8", "replace"))


def new_session() -> IssuedSession:
    """A fresh random session id with its stored key and CSRF token."""
    session_id = b64encode(secrets.token_bytes(_SECRET_BYTES))
    key = session_key(session_id)
    if key is None:  # pragma: no cover - 32 bytes always encode to 43 characters
        msg = "a new session id is malformed"
        raise IntegrityError(msg)
    return IssuedSession(session_id=session_id, key=key, csrf_token=csrf_token(session_id))
