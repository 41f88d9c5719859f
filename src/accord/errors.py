"""Every error Accord raises on purpose derives from :class:`Error`.

Each error carries a message a person can act on; :meth:`Error.diagnostics` gives the
longer form the CLI and API show. The CLI and the API each map these to exit codes or
HTTP statuses in exactly one place.

    Error
    ├── ValidationError            bad input: a value, a file, a date out of range
    │   ├── WorldFormatError       a world directory that does not load (file, line, field)
    │   └── UnknownReferenceError  an unknown party, level or agreement
    ├── AgreementError
    │   └── InvalidTransitionError a lifecycle event that cannot follow the ones before
    ├── IntegrityError             opaque: signatures, seals, audit proofs
    │   └── AuditChainBrokenError  the local audit log does not verify (names the first bad entry)
    ├── StorageError               the database refused or is not set up
    ├── FederationError            talking to a peer node
    │   └── PeerUnreachableError   the peer did not answer (the outbox retries later)
    ├── ConflictError              changed meanwhile: a disclosure request someone already decided
    ├── ServerUnreachableError     the CLI's ``--server`` did not answer (address, TLS trust, not running)
    ├── AuthenticationError        opaque: unknown, wrong, expired, revoked or locked credentials
    └── PermissionDeniedError      the person's roles (or the token's scopes) do not allow the action

A denied release is *not* an error: it is a :class:`accord.domain.release.Decision`
whose ``allowed`` is false.
"""  # noqa: D214, D416 - the tree above is a drawing, not docstring sections

from __future__ import annotations

__all__ = [
    "AgreementError",
    "AuditChainBrokenError",
    "AuthenticationError",
    "ConflictError",
    "Error",
    "FederationError",
    "IntegrityError",
    "InvalidTransitionError",
    "PeerUnreachableError",
    "PermissionDeniedError",
    "ServerUnreachableError",
    "StorageError",
    "UnknownReferenceError",
    "ValidationError",
    "WorldFormatError",
]


class Error(Exception):
    """Base of every error Accord raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        """Keep the one-line message and an optional hint on what to do next."""
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """Return the message followed by the hint, for people."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ValidationError(Error):
    """Input that Accord refuses: nothing was changed."""


class WorldFormatError(ValidationError):
    """A world dataset file that does not load; the message names file, line and field."""


class UnknownReferenceError(ValidationError):
    """A reference to a party, level, agreement or record that does not exist."""


class AgreementError(Error):
    """An agreement whose definition or lifecycle is inconsistent."""


class InvalidTransitionError(AgreementError):
    """A lifecycle event that cannot follow the events before it."""


class IntegrityError(Error):
    """An integrity check failed; deliberately opaque to peers and clients."""


class AuditChainBrokenError(IntegrityError):
    """The local audit log does not verify; ``seq`` is the first entry found bad.

    The message and ``reason`` are for the node's own operator (``accord audit
    verify``). What a peer or client is told stays the opaque ``IntegrityError``.
    """

    def __init__(self, *, seq: int, reason: str) -> None:
        """Name the first bad entry and say what is wrong with it."""
        super().__init__(f"audit log verification failed: first bad entry is {seq}", hint=reason)
        self.seq = seq
        self.reason = reason


class StorageError(Error):
    """The store refused an operation or is not initialised."""


class FederationError(Error):
    """A peer node could not be talked to, or is not set up to be."""


class PeerUnreachableError(FederationError):
    """The peer did not answer; what was to go stays in the outbox for a later attempt."""


class ConflictError(Error):
    """The thing acted on changed meanwhile, e.g. a request another officer already decided; nothing was changed."""


class ServerUnreachableError(Error):
    """A node's HTTP API (the CLI's ``--server``) could not be reached or did not answer as one."""


class AuthenticationError(Error):
    """Credentials that do not let anyone in; deliberately the same for every reason.

    Unknown person, wrong password, unknown, expired or revoked token or session, a
    CSRF token that does not match, or a locked account: the message does not say which,
    so that it tells an attacker nothing. The node's audit log records the reason.
    """


class PermissionDeniedError(Error):
    """An authenticated person asked for an action their roles or their token's scopes do not allow."""
