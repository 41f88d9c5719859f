"""Ports of the storage layer: what services need from a store, as Protocols.

Services depend on these, not on SQLAlchemy; ``memory.py`` and ``sql/`` implement
them. A store never begins, commits or rolls back: the service that calls it owns
the transaction. A call that refuses (bad input, a duplicate, a wrong state) raises
before anything is written, or writes only inside a savepoint it rolls back, so the
caller's transaction stays usable and unchanged.

Errors: malformed input, duplicates and wrong states raise ``ValidationError``; a
reference to something not stored raises ``UnknownReferenceError``; rows that no
longer read back (changed outside Accord) raise ``StorageError``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from accord.audit.checkpoint import Checkpoint
from accord.audit.entry import AuditEntry
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseReport,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.domain.person import Person, Role
from accord.domain.record import Record
from accord.domain.world import World
from accord.storage.people import Account, ApiToken, WebSession
from accord.storage.values import (
    Body,
    RecallState,
    RecallStatus,
    Release,
    ReleaseState,
    ReportState,
    ReportStatus,
    Signed,
    StoredRecord,
)

__all__ = ["AuditStore", "ObligationStore", "PeopleStore", "RecordStore", "ReleaseStore", "WorldStore"]


class WorldStore(Protocol):
    """The one world (parties, schemes, agreements) a node holds.

    A save makes the stored world equal to the given one. It counts as a change when
    a party, scheme or level differs, an agreement is added or removed, an agreement's
    fingerprint differs (it is then replaced whole), or the order of any of these
    differs. An agreement with an unchanged fingerprint is kept as stored.
    """

    def save(self, world: World) -> bool:
        """Store ``world`` in place of the current one; True if anything changed."""
        ...

    def load(self) -> World | None:
        """The stored world, equal to the one saved, or ``None`` if none was saved."""
        ...

    def fingerprint(self) -> str | None:
        """``World.fingerprint`` of the stored world, without loading it; ``None`` if none."""
        ...


class RecordStore(Protocol):
    """Records a node holds: markings, portions, and each portion's encrypted body.

    The store never sees plaintext: portions come without text and bodies come
    encrypted (:class:`~accord.storage.values.InlineBody` in the database, or a
    :class:`~accord.storage.values.FileBody` naming an encrypted file). Records are
    listed in the order they were added, which is also the order their transactions
    committed in, so a cursor never skips a record committed after it was passed.
    """

    def add(
        self, record: Record, *, added_at: str, bodies: Mapping[str, Body] | None = None, author: str | None = None
    ) -> None:
        """Store ``record`` and the bodies of its portions (by portion id), and who wrote it.

        Raises:
            ValidationError: the id is taken, a portion carries plaintext, a body names
                no portion of the record, or a file path is already used.
        """
        ...

    def exists(self, record_id: str) -> bool:
        """Whether a record with this id is stored."""
        ...

    def get(self, record_id: str) -> StoredRecord | None:
        """The stored record (portions without text), or ``None``."""
        ...

    def get_many(self, record_ids: Collection[str]) -> dict[str, StoredRecord]:
        """The stored records among ``record_ids``, by id; ids not stored are absent."""
        ...

    def bodies_many(self, record_ids: Collection[str]) -> dict[str, dict[str, Body]]:
        """The encrypted bodies of each of ``record_ids`` that has any, as :meth:`bodies` gives them."""
        ...

    def bodies(self, record_id: str) -> dict[str, Body]:
        """The encrypted bodies of a record's portions, by portion id, in portion order.

        Raises:
            UnknownReferenceError: no such record.
        """
        ...

    def list(
        self,
        *,
        originator: str | None = None,
        topic: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[StoredRecord]:
        """Up to ``limit`` records in the order added, after the record ``after``.

        Raises:
            UnknownReferenceError: ``after`` names no stored record.
            ValidationError: ``limit`` is not 1..MAX_PAGE.
        """
        ...

    def set_levels(self, record_id: str, levels: Mapping[str, str]) -> None:
        """Re-mark portions (portion id -> new level), e.g. after a reclassification.

        Raises:
            UnknownReferenceError: no such record, or no such portion in it.
        """
        ...


class ReleaseStore(Protocol):
    """Releases sent from and received at a node, with their sealed envelopes.

    States move only as ``RELEASE_TRANSITIONS`` allows. Receipt is idempotent by
    message id: the same message received twice (even by two workers at once) is
    stored once.
    """

    def add(self, release: Release) -> None:
        """Store an outgoing release (state sealed or queued).

        Raises:
            ValidationError: another state, or its id or message id is taken.
        """
        ...

    def add_many(self, releases: Sequence[Release]) -> None:
        """Store outgoing releases, all or none, numbered in the order given.

        Raises:
            ValidationError: as :meth:`add` for any of them, or an id or message id
                given twice; nothing is stored.
        """
        ...

    def add_received(self, release: Release) -> bool:
        """Store a release received from a peer; True if new, False if seen before.

        A message id stored before writes nothing and returns False.

        Raises:
            ValidationError: no message id, a state other than received or refused,
                or its release id is taken by another message.
        """
        ...

    def get(self, release_id: str) -> Release | None:
        """The release with this id, or ``None``."""
        ...

    def by_message(self, message_id: str) -> Release | None:
        """The release a federation message carried, or ``None``."""
        ...

    def list(
        self,
        *,
        state: ReleaseState | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[Release]:
        """Up to ``limit`` releases matching every filter given, in the order added.

        Raises:
            UnknownReferenceError: ``after`` names no stored release.
            ValidationError: ``limit`` is not 1..MAX_PAGE.
        """
        ...

    def set_state(self, release_id: str, state: ReleaseState, *, at: str) -> Release:
        """Move a release to ``state`` at time ``at``; the release as now stored.

        Raises:
            UnknownReferenceError: no such release.
            ValidationError: the move is not allowed from its current state.
        """
        ...


class AuditStore(Protocol):
    """The node's audit log: entries numbered 0, 1, 2, ... without gaps, and checkpoints.

    The store assigns each entry its sequence number; with several writers (API
    workers on one PostgreSQL database) numbers are still consecutive and unique,
    and an entry's number is also the order the transactions committed in. A writer
    holds the log's head from its append to its commit: append last, commit soon.
    """

    def append(self, entry_for: Callable[[int], AuditEntry]) -> AuditEntry:
        """Append the entry ``entry_for(seq)`` builds for the next sequence number.

        The entry's canonical bytes and their leaf hash (RFC 9162) are stored.

        Raises:
            ValidationError: the entry built has another sequence number; nothing is
                appended and the number stays free (as when ``entry_for`` raises).
        """
        ...

    def append_many(self, entries_for: Sequence[Callable[[int], AuditEntry]]) -> list[AuditEntry]:
        """Append ``entries_for[i](seq + i)`` for consecutive numbers from the next one.

        All or nothing: if any builder raises or builds a wrong number, nothing is
        appended and the numbers stay free. For a batch of changes in one transaction.
        """
        ...

    def count(self) -> int:
        """The number of entries, which is also the next sequence number."""
        ...

    def entries(self, start: int = 0, stop: int | None = None) -> Sequence[bytes]:
        """The stored bytes of entries ``start`` to ``stop - 1`` (to the end if None), as stored."""
        ...

    def leaf_hashes_packed(self, start: int = 0) -> bytes:
        """Stored leaf hashes from ``start`` on, 32 bytes each, for ``MerkleTree.extend_packed``."""
        ...

    def add_checkpoint(self, checkpoint: Checkpoint, signature: bytes) -> None:
        """Keep a signed checkpoint of this log.

        Raises:
            ValidationError: one of that size is already kept, or it covers entries
                the log does not have.
        """
        ...

    def latest_checkpoint(self) -> Signed[Checkpoint] | None:
        """The checkpoint of the largest size, or ``None``."""
        ...

    def checkpoint_at(self, size: int) -> Signed[Checkpoint] | None:
        """The checkpoint of exactly ``size`` entries, or ``None``."""
        ...

    def checkpoints(self) -> Sequence[Signed[Checkpoint]]:
        """Every checkpoint kept, smallest size first."""
        ...


class ObligationStore(Protocol):
    """Signed consents and the obligations after receipt, each with its signature.

    What is kept of each is its canonical JSON (what was signed) and the signature;
    ids are unique per kind. Recalls go from issued to acknowledged (one
    acknowledgement per holder); compromise reports from open to closed (one result).
    Listings come in the order things were added.
    """

    def add_consent(self, consent: Consent, signature: bytes) -> None:
        """Keep a signed consent.

        Raises:
            ValidationError: its id is taken.
        """
        ...

    def consent(self, consent_id: str) -> Signed[Consent] | None:
        """The consent with this id, or ``None``."""
        ...

    def consents(
        self,
        *,
        originator: str | None = None,
        holder: str | None = None,
        third_party: str | None = None,
    ) -> Sequence[Signed[Consent]]:
        """Consents matching every filter given."""
        ...

    def add_reclassification(self, notice: ReclassificationNotice, signature: bytes) -> None:
        """Keep a signed reclassification notice.

        Raises:
            ValidationError: its id is taken.
        """
        ...

    def reclassifications(self, record_id: str) -> Sequence[Signed[ReclassificationNotice]]:
        """The notices about one record."""
        ...

    def add_recall(self, recall: Recall, signature: bytes) -> None:
        """Keep a signed recall, issued.

        Raises:
            ValidationError: its id is taken.
        """
        ...

    def acknowledge(self, acknowledgement: RecallAcknowledgement, signature: bytes) -> RecallStatus:
        """File a holder's acknowledgement; the recall is then acknowledged.

        Raises:
            UnknownReferenceError: no such recall.
            ValidationError: it does not answer the recall (another disposition, or
                dated before it), or that holder has already acknowledged it.
        """
        ...

    def recall(self, recall_id: str) -> RecallStatus | None:
        """A recall with its acknowledgements, or ``None``."""
        ...

    def recalls(self, *, record_id: str | None = None, state: RecallState | None = None) -> Sequence[RecallStatus]:
        """Recalls matching every filter given."""
        ...

    def add_report(self, report: CompromiseReport, signature: bytes) -> None:
        """Keep a signed compromise report, open.

        Raises:
            ValidationError: its id is taken.
        """
        ...

    def close_report(self, result: InvestigationResult, signature: bytes) -> ReportStatus:
        """Close a report with the investigation's signed result.

        Raises:
            UnknownReferenceError: no such report.
            ValidationError: it is already closed, or the result is dated before it.
        """
        ...

    def report(self, report_id: str) -> ReportStatus | None:
        """A compromise report with its result, or ``None``."""
        ...

    def reports(self, *, record_id: str | None = None, state: ReportState | None = None) -> Sequence[ReportStatus]:
        """Compromise reports matching every filter given."""
        ...


class PeopleStore(Protocol):
    """The node's people (accounts with roles, clearance and need-to-know), API tokens and web sessions.

    People are listed by id. The first person is claimed once (:meth:`claim_first`),
    and :meth:`hold` serialises changes that must see every other one (the last
    administrator is never removed or locked). Failed logins are counted with an
    atomic increment, so that concurrent failures on several workers all count.
    Secrets never reach the store: it keeps Argon2 hashes and SHA-256 digests.
    """

    def claim_first(self, person_id: str, *, at: str) -> None:
        """Record that ``person_id`` is the node's first person (its bootstrap administrator).

        Raises:
            ValidationError: the node already has people, or a first one was claimed.
        """
        ...

    def hold(self) -> None:
        """Hold the people lock until the caller's transaction ends (a no-op in memory)."""
        ...

    def add(self, account: Account) -> None:
        """Store a new account.

        Raises:
            ValidationError: its id is taken, or a time or hash is malformed.
        """
        ...

    def get(self, person_id: str) -> Account | None:
        """The account with this id, or ``None``."""
        ...

    def list(self, *, after: str | None = None, limit: int = 100) -> Sequence[Account]:
        """Up to ``limit`` accounts by id, after the id ``after``.

        Raises:
            ValidationError: ``limit`` is not 1..MAX_PAGE.
        """
        ...

    def count(self) -> int:
        """How many people there are."""
        ...

    def active_holders(self, role: Role) -> Sequence[str]:
        """The ids of the people holding ``role`` who are not locked, by id."""
        ...

    def update(self, person: Person, *, at: str) -> Account:
        """Replace the person's name, clearance, need-to-know and roles (their party stays).

        Raises:
            UnknownReferenceError: no such person.
            ValidationError: another party than the one stored.
        """
        ...

    def set_password(self, person_id: str, password_hash: str, *, at: str) -> None:
        """Keep a new password hash for the person.

        Raises:
            UnknownReferenceError: no such person.
            ValidationError: not an Argon2 hash.
        """
        ...

    def add_failure(self, person_id: str) -> int:
        """Count one more failed login; the count after it.

        Raises:
            UnknownReferenceError: no such person.
        """
        ...

    def lock_out(self, person_id: str, *, until: str) -> None:
        """Refuse password logins until ``until``; the failure count starts again from 0.

        Raises:
            UnknownReferenceError: no such person.
        """
        ...

    def clear_failures(self, person_id: str) -> None:
        """Forget failed logins and any lock-out (after a successful login).

        Raises:
            UnknownReferenceError: no such person.
        """
        ...

    def set_locked(self, person_id: str, *, locked: bool, at: str) -> Account:
        """Lock or unlock the person; unlocking also clears failures and any lock-out.

        Raises:
            UnknownReferenceError: no such person.
        """
        ...

    def add_token(self, token: ApiToken) -> None:
        """Keep a new API token (its digest).

        Raises:
            UnknownReferenceError: no such person.
            ValidationError: its id is taken, or a field is malformed.
        """
        ...

    def token(self, token_id: str) -> ApiToken | None:
        """The token with this id, or ``None``."""
        ...

    def token_holder(self, token_id: str) -> tuple[ApiToken, Account] | None:
        """The token with this id and its person's account in one read, or ``None``."""
        ...

    def tokens(self, *, person_id: str | None = None) -> Sequence[ApiToken]:
        """Tokens (of one person, if given), oldest first."""
        ...

    def revoke_token(self, token_id: str, *, at: str) -> ApiToken:
        """Revoke a token at ``at``; the token as now stored.

        Raises:
            UnknownReferenceError: no such token.
            ValidationError: it was already revoked.
        """
        ...

    def add_session(self, session: WebSession) -> None:
        """Keep a new web session.

        Raises:
            UnknownReferenceError: no such person.
            ValidationError: its key is taken, or a field is malformed.
        """
        ...

    def session(self, key: str) -> WebSession | None:
        """The session with this key, or ``None``."""
        ...

    def end_session(self, key: str) -> bool:
        """Forget a session; whether there was one."""
        ...

    def end_sessions(self, person_id: str) -> int:
        """Forget every session of a person; how many there were."""
        ...

    def remove_expired_sessions(self, *, now: str) -> int:
        """Forget sessions that expired at or before ``now``; how many there were."""
        ...
