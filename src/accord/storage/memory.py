"""In-memory implementations of the storage ports, for tests and throw-away nodes.

They keep domain values as they are, with the same notion of "changed" as the SQL
stores and the same refusals (``accord.storage._rules``), so the contract suite runs
the same tests against both. They are neither transactional nor thread-safe: a call
either raises before touching anything or changes the state in a few assignments
that cannot fail, which is all a single-threaded caller can observe.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from itertools import islice
from typing import TypeVar

from accord.audit.checkpoint import Checkpoint
from accord.audit.entry import AuditEntry
from accord.audit.merkle import HASH_SIZE, leaf_hash
from accord.domain.classification import Scheme
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseReport,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.domain.party import Party
from accord.domain.person import Person, Role
from accord.domain.record import Record
from accord.domain.world import World
from accord.storage import _rules as rules
from accord.storage import people as accounts
from accord.storage.people import Account, ApiToken, WebSession
from accord.storage.values import (
    Body,
    FileBody,
    RecallState,
    RecallStatus,
    Release,
    ReleaseState,
    ReportState,
    ReportStatus,
    Signed,
    StoredRecord,
    check_page,
)

__all__ = [
    "InMemoryAuditStore",
    "InMemoryObligationStore",
    "InMemoryPeopleStore",
    "InMemoryRecordStore",
    "InMemoryReleaseStore",
    "InMemoryWorldStore",
]

_Signature = tuple[tuple[Party, ...], tuple[Scheme, ...], tuple[tuple[str, str], ...]]


class InMemoryWorldStore:
    """A :class:`~accord.storage.ports.WorldStore` that keeps the world in memory."""

    def __init__(self) -> None:
        """Start empty: no world saved."""
        self._world: World | None = None

    def save(self, world: World) -> bool:
        """Keep ``world``; True if it differs from the one kept (see ``WorldStore``)."""
        if self._world is not None and _signature(self._world) == _signature(world):
            return False
        self._world = world
        return True

    def load(self) -> World | None:
        """The world kept, or ``None``."""
        return self._world

    def fingerprint(self) -> str | None:
        """The fingerprint of the world kept, or ``None``."""
        return self._world.fingerprint if self._world is not None else None


def _signature(world: World) -> _Signature:
    # Agreements compare by id and fingerprint, as in the SQL store: a fingerprint
    # names the version, and an unchanged version stays as first stored.
    return world.parties, world.schemes, tuple((a.id, a.fingerprint) for a in world.agreements)


class InMemoryRecordStore:
    """A :class:`~accord.storage.ports.RecordStore` that keeps records in memory."""

    def __init__(self) -> None:
        """Start empty."""
        self._records: dict[str, StoredRecord] = {}  # in the order added
        self._bodies: dict[str, dict[str, Body]] = {}
        self._paths: set[str] = set()

    def add(
        self, record: Record, *, added_at: str, bodies: Mapping[str, Body] | None = None, author: str | None = None
    ) -> None:
        """Keep ``record`` and its encrypted bodies (see ``RecordStore.add``)."""
        bodies = dict(bodies or {})
        stored = StoredRecord(record=record, added_at=added_at, author=author)
        rules.check_new_record(record, bodies)
        if record.id in self._records:
            rules.refuse_duplicate("record", record.id)
        for body in bodies.values():
            if isinstance(body, FileBody) and body.path in self._paths:
                rules.refuse_path(body.path)
        order = [p.id for p in record.portions]
        self._records[record.id] = stored
        self._bodies[record.id] = {pid: bodies[pid] for pid in order if pid in bodies}
        self._paths.update(b.path for b in bodies.values() if isinstance(b, FileBody))

    def exists(self, record_id: str) -> bool:
        """Whether the record is kept."""
        return record_id in self._records

    def get(self, record_id: str) -> StoredRecord | None:
        """The record kept under this id, or ``None``."""
        return self._records.get(record_id)

    def bodies(self, record_id: str) -> dict[str, Body]:
        """The record's bodies by portion id."""
        return dict(rules.known(self._bodies.get(record_id), "record", record_id))

    def get_many(self, record_ids: Collection[str]) -> dict[str, StoredRecord]:
        """The records kept among ``record_ids``, by id."""
        return {i: self._records[i] for i in set(record_ids) if i in self._records}

    def bodies_many(self, record_ids: Collection[str]) -> dict[str, dict[str, Body]]:
        """The bodies of each of ``record_ids`` that has any."""
        return {i: dict(self._bodies[i]) for i in set(record_ids) if self._bodies.get(i)}

    def list(
        self,
        *,
        originator: str | None = None,
        topic: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[StoredRecord]:
        """Records in the order added (see ``RecordStore.list``)."""
        check_page(limit)
        return _page(
            self._records,
            after,
            limit,
            "record",
            lambda s: (
                (originator is None or s.record.originator == originator)
                and (topic is None or topic in s.record.topics)
            ),
        )

    def set_levels(self, record_id: str, levels: Mapping[str, str]) -> None:
        """Re-mark the named portions."""
        stored = rules.known(self._records.get(record_id), "record", record_id)
        rules.check_portions(stored.record, levels)
        remarked = tuple(replace(p, level=levels[p.id]) if p.id in levels else p for p in stored.record.portions)
        self._records[record_id] = replace(stored, record=replace(stored.record, portions=remarked))


class InMemoryReleaseStore:
    """A :class:`~accord.storage.ports.ReleaseStore` that keeps releases in memory."""

    def __init__(self) -> None:
        """Start empty."""
        self._releases: dict[str, Release] = {}  # in the order added
        self._by_message: dict[str, str] = {}

    def add(self, release: Release) -> None:
        """Keep an outgoing release."""
        rules.check_outgoing(release)
        self._check_free(release)
        self._keep(release)

    def add_many(self, releases: Sequence[Release]) -> None:
        """Keep outgoing releases, all or none."""
        seen: set[str] = set()
        messages: set[str] = set()
        for release in releases:
            rules.check_outgoing(release)
            self._check_free(release)
            if release.id in seen:
                rules.refuse_duplicate("release", release.id)
            if release.message_id is not None and release.message_id in messages:
                rules.refuse_duplicate("message", release.message_id)
            seen.add(release.id)
            if release.message_id is not None:
                messages.add(release.message_id)
        for release in releases:
            self._keep(release)

    def add_received(self, release: Release) -> bool:
        """Keep a received release once per message id."""
        if rules.check_received(release) in self._by_message:
            return False
        self._check_free(release)
        self._keep(release)
        return True

    def _check_free(self, release: Release) -> None:
        if release.id in self._releases:
            rules.refuse_duplicate("release", release.id)
        if release.message_id is not None and release.message_id in self._by_message:
            rules.refuse_duplicate("message", release.message_id)

    def _keep(self, release: Release) -> None:
        self._releases[release.id] = release
        if release.message_id is not None:
            self._by_message[release.message_id] = release.id

    def get(self, release_id: str) -> Release | None:
        """The release kept under this id, or ``None``."""
        return self._releases.get(release_id)

    def by_message(self, message_id: str) -> Release | None:
        """The release a message carried, or ``None``."""
        release_id = self._by_message.get(message_id)
        return self._releases[release_id] if release_id is not None else None

    def list(
        self,
        *,
        state: ReleaseState | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[Release]:
        """Releases in the order added (see ``ReleaseStore.list``)."""
        check_page(limit)
        return _page(
            self._releases,
            after,
            limit,
            "release",
            lambda r: (
                (state is None or r.state is state)
                and (sender is None or r.sender == sender)
                and (recipient is None or r.recipient == recipient)
            ),
        )

    def set_state(self, release_id: str, state: ReleaseState, *, at: str) -> Release:
        """Move a release to ``state``."""
        release = rules.known(self._releases.get(release_id), "release", release_id)
        rules.check_transition(release, state)
        moved = replace(release, state=state, updated_at=at)
        self._releases[release_id] = moved
        return moved


class InMemoryAuditStore:
    """A :class:`~accord.storage.ports.AuditStore` that keeps the log in memory."""

    def __init__(self) -> None:
        """Start with an empty log."""
        self._entries: list[bytes] = []
        self._leaves = bytearray()
        self._checkpoints: dict[int, Signed[Checkpoint]] = {}

    def append(self, entry_for: Callable[[int], AuditEntry]) -> AuditEntry:
        """Append the entry built for the next sequence number."""
        seq = len(self._entries)
        entry = entry_for(seq)
        rules.check_built(entry, seq)
        data = entry.to_bytes()
        self._leaves += leaf_hash(data)
        self._entries.append(data)
        return entry

    def append_many(self, entries_for: Sequence[Callable[[int], AuditEntry]]) -> list[AuditEntry]:
        """Append one entry per builder; none is kept if any builder fails."""
        start = len(self._entries)
        built = []
        for offset, build in enumerate(entries_for):
            entry = build(start + offset)
            rules.check_built(entry, start + offset)
            built.append(entry)
        for entry in built:
            data = entry.to_bytes()
            self._leaves += leaf_hash(data)
            self._entries.append(data)
        return built

    def count(self) -> int:
        """The number of entries."""
        return len(self._entries)

    def entries(self, start: int = 0, stop: int | None = None) -> Sequence[bytes]:
        """Entries ``start`` to ``stop - 1``, as stored."""
        rules.check_range(start, stop)
        return self._entries[start:stop]

    def leaf_hashes_packed(self, start: int = 0) -> bytes:
        """Leaf hashes from ``start`` on, packed."""
        rules.check_range(start, None)
        return bytes(self._leaves[start * HASH_SIZE :])

    def add_checkpoint(self, checkpoint: Checkpoint, signature: bytes) -> None:
        """Keep a signed checkpoint."""
        signed = Signed(value=checkpoint, signature=signature)
        rules.check_checkpoint_size(checkpoint.size, self.count())
        if checkpoint.size in self._checkpoints:
            rules.refuse_duplicate("checkpoint of size", checkpoint.size)
        self._checkpoints[checkpoint.size] = signed

    def latest_checkpoint(self) -> Signed[Checkpoint] | None:
        """The checkpoint of the largest size, or ``None``."""
        return self._checkpoints[max(self._checkpoints)] if self._checkpoints else None

    def checkpoint_at(self, size: int) -> Signed[Checkpoint] | None:
        """The checkpoint of ``size`` entries, or ``None``."""
        return self._checkpoints.get(size)

    def checkpoints(self) -> Sequence[Signed[Checkpoint]]:
        """Every checkpoint, smallest first."""
        return [self._checkpoints[size] for size in sorted(self._checkpoints)]


class InMemoryObligationStore:
    """A :class:`~accord.storage.ports.ObligationStore` that keeps signed values in memory."""

    def __init__(self) -> None:
        """Start empty."""
        self._consents: dict[str, Signed[Consent]] = {}
        self._notices: dict[str, Signed[ReclassificationNotice]] = {}
        self._recalls: dict[str, RecallStatus] = {}
        self._reports: dict[str, ReportStatus] = {}

    def add_consent(self, consent: Consent, signature: bytes) -> None:
        """Keep a signed consent."""
        _add(self._consents, "consent", consent.id, Signed(value=consent, signature=signature))

    def consent(self, consent_id: str) -> Signed[Consent] | None:
        """The consent with this id, or ``None``."""
        return self._consents.get(consent_id)

    def consents(
        self,
        *,
        originator: str | None = None,
        holder: str | None = None,
        third_party: str | None = None,
    ) -> Sequence[Signed[Consent]]:
        """Consents matching every filter given."""
        wanted = {"originator": originator, "holder": holder, "third_party": third_party}
        return [
            s
            for s in self._consents.values()
            if all(value is None or getattr(s.value, name) == value for name, value in wanted.items())
        ]

    def add_reclassification(self, notice: ReclassificationNotice, signature: bytes) -> None:
        """Keep a signed reclassification notice."""
        _add(self._notices, "reclassification notice", notice.id, Signed(value=notice, signature=signature))

    def reclassifications(self, record_id: str) -> Sequence[Signed[ReclassificationNotice]]:
        """The notices about one record."""
        return [s for s in self._notices.values() if s.value.record_id == record_id]

    def add_recall(self, recall: Recall, signature: bytes) -> None:
        """Keep a signed recall, issued."""
        _add(self._recalls, "recall", recall.id, RecallStatus(recall=Signed(value=recall, signature=signature)))

    def acknowledge(self, acknowledgement: RecallAcknowledgement, signature: bytes) -> RecallStatus:
        """File a holder's acknowledgement."""
        signed = Signed(value=acknowledgement, signature=signature)
        status = rules.known(self._recalls.get(acknowledgement.recall_id), "recall", acknowledgement.recall_id)
        rules.check_acknowledgement(status, acknowledgement)
        status = replace(status, acknowledgements=(*status.acknowledgements, signed))
        self._recalls[acknowledgement.recall_id] = status
        return status

    def recall(self, recall_id: str) -> RecallStatus | None:
        """A recall with its acknowledgements, or ``None``."""
        return self._recalls.get(recall_id)

    def recalls(self, *, record_id: str | None = None, state: RecallState | None = None) -> Sequence[RecallStatus]:
        """Recalls matching every filter given."""
        return [
            s
            for s in self._recalls.values()
            if (record_id is None or s.recall.value.record_id == record_id) and (state is None or s.state is state)
        ]

    def add_report(self, report: CompromiseReport, signature: bytes) -> None:
        """Keep a signed compromise report, open."""
        _add(
            self._reports,
            "compromise report",
            report.id,
            ReportStatus(report=Signed(value=report, signature=signature)),
        )

    def close_report(self, result: InvestigationResult, signature: bytes) -> ReportStatus:
        """Close a report with its signed result."""
        signed = Signed(value=result, signature=signature)
        status = rules.known(self._reports.get(result.report_id), "compromise report", result.report_id)
        rules.check_result(status, result)
        status = replace(status, result=signed)
        self._reports[result.report_id] = status
        return status

    def report(self, report_id: str) -> ReportStatus | None:
        """A report with its result, or ``None``."""
        return self._reports.get(report_id)

    def reports(self, *, record_id: str | None = None, state: ReportState | None = None) -> Sequence[ReportStatus]:
        """Reports matching every filter given."""
        return [
            s
            for s in self._reports.values()
            if (record_id is None or s.report.value.record_id == record_id) and (state is None or s.state is state)
        ]


_V = TypeVar("_V")


def _add(kept: dict[str, _V], what: str, key: str, value: _V) -> None:
    if key in kept:
        rules.refuse_duplicate(what, key)
    kept[key] = value


def _page(kept: dict[str, _V], after: str | None, limit: int, what: str, keep: Callable[[_V], bool]) -> list[_V]:
    """Up to ``limit`` values ``keep`` accepts, in the order kept, after the key ``after``."""
    keys = list(kept)
    start = 0
    if after is not None:
        start = keys.index(rules.known(after if after in kept else None, what, after)) + 1
    return list(islice((kept[k] for k in keys[start:] if keep(kept[k])), limit))


class InMemoryPeopleStore:
    """A :class:`~accord.storage.ports.PeopleStore` that keeps accounts, tokens and sessions in memory."""

    def __init__(self) -> None:
        """Start with no people."""
        self._accounts: dict[str, Account] = {}
        self._first: str | None = None
        self._tokens: dict[str, ApiToken] = {}
        self._sessions: dict[str, WebSession] = {}

    def claim_first(self, person_id: str, *, at: str) -> None:
        """Record the node's first person."""
        accounts.check_stamp(at, "at")
        if self._first is not None or self._accounts:
            accounts.refuse_first()
        self._first = person_id

    def hold(self) -> None:
        """Nothing to hold: one caller at a time."""

    def add(self, account: Account) -> None:
        """Store a new account."""
        accounts.check_account(account)
        _add(self._accounts, "person", account.id, account)

    def get(self, person_id: str) -> Account | None:
        """The account, or ``None``."""
        return self._accounts.get(person_id)

    def list(self, *, after: str | None = None, limit: int = 100) -> Sequence[Account]:
        """Accounts by id after ``after``."""
        check_page(limit)
        return list(islice((self._accounts[k] for k in sorted(self._accounts) if after is None or k > after), limit))

    def count(self) -> int:
        """How many people there are."""
        return len(self._accounts)

    def active_holders(self, role: Role) -> Sequence[str]:
        """Unlocked holders of ``role``, by id."""
        return sorted(a.id for a in self._accounts.values() if role in a.person.roles and not a.locked)

    def update(self, person: Person, *, at: str) -> Account:
        """Replace the person's fields."""
        accounts.check_stamp(at, "at")
        kept = self._known(person.id)
        accounts.check_same_party(kept, person)
        self._accounts[person.id] = replace(kept, person=person, updated_at=at)
        return self._accounts[person.id]

    def set_password(self, person_id: str, password_hash: str, *, at: str) -> None:
        """Keep a new password hash."""
        accounts.check_hash(password_hash)
        accounts.check_stamp(at, "at")
        kept = self._known(person_id)
        self._accounts[person_id] = replace(kept, password_hash=password_hash, updated_at=at)

    def add_failure(self, person_id: str) -> int:
        """One more failed login."""
        kept = self._known(person_id)
        self._accounts[person_id] = replace(kept, failures=kept.failures + 1)
        return kept.failures + 1

    def lock_out(self, person_id: str, *, until: str) -> None:
        """Refuse password logins until ``until``."""
        accounts.check_stamp(until, "until")
        self._accounts[person_id] = replace(self._known(person_id), failures=0, locked_out_until=until)

    def clear_failures(self, person_id: str) -> None:
        """Forget failures and lock-out."""
        self._accounts[person_id] = replace(self._known(person_id), failures=0, locked_out_until=None)

    def set_locked(self, person_id: str, *, locked: bool, at: str) -> Account:
        """Lock or unlock."""
        accounts.check_stamp(at, "at")
        kept = self._known(person_id)
        if locked:
            self._accounts[person_id] = replace(kept, locked=True, updated_at=at)
        else:
            self._accounts[person_id] = replace(kept, locked=False, updated_at=at, failures=0, locked_out_until=None)
        return self._accounts[person_id]

    def _known(self, person_id: str) -> Account:
        return rules.known(self._accounts.get(person_id), "person", person_id)

    def add_token(self, token: ApiToken) -> None:
        """Keep a new token."""
        accounts.check_token(token)
        self._known(token.person_id)
        _add(self._tokens, "token", token.id, token)

    def token(self, token_id: str) -> ApiToken | None:
        """The token, or ``None``."""
        return self._tokens.get(token_id)

    def token_holder(self, token_id: str) -> tuple[ApiToken, Account] | None:
        """The token and its person's account, or ``None``."""
        found = self._tokens.get(token_id)
        if found is None or found.person_id not in self._accounts:
            return None
        return found, self._accounts[found.person_id]

    def tokens(self, *, person_id: str | None = None) -> Sequence[ApiToken]:
        """Tokens, oldest first."""
        found = [t for t in self._tokens.values() if person_id is None or t.person_id == person_id]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def revoke_token(self, token_id: str, *, at: str) -> ApiToken:
        """Revoke a token."""
        accounts.check_stamp(at, "at")
        kept = rules.known(self._tokens.get(token_id), "token", token_id)
        accounts.check_not_revoked(kept)
        self._tokens[token_id] = replace(kept, revoked_at=at)
        return self._tokens[token_id]

    def add_session(self, session: WebSession) -> None:
        """Keep a new session."""
        accounts.check_session(session)
        self._known(session.person_id)
        if session.key in self._sessions:
            accounts.refuse_session()
        self._sessions[session.key] = session

    def session(self, key: str) -> WebSession | None:
        """The session, or ``None``."""
        return self._sessions.get(key)

    def end_session(self, key: str) -> bool:
        """Forget a session."""
        return self._sessions.pop(key, None) is not None

    def end_sessions(self, person_id: str) -> int:
        """Forget a person's sessions."""
        keys = [k for k, s in self._sessions.items() if s.person_id == person_id]
        for key in keys:
            del self._sessions[key]
        return len(keys)

    def remove_expired_sessions(self, *, now: str) -> int:
        """Forget expired sessions."""
        accounts.check_stamp(now, "now")
        keys = [k for k, s in self._sessions.items() if s.expires_at <= now]
        for key in keys:
            del self._sessions[key]
        return len(keys)
