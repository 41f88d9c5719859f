"""People, API tokens and web sessions in SQL: :class:`SqlPeopleStore`.

A person is a ``people`` row with its ``person_roles`` and ``person_topics``; reading
builds the domain :class:`~accord.domain.person.Person` again, so a row changed outside
Accord into something invalid is reported (``StorageError``) rather than trusted.
Failed logins are counted with ``failures = failures + 1 ... RETURNING``, which is
atomic on both databases. The first person is guarded by the one-row ``people_guard``
table (its primary key settles two bootstraps racing), and :meth:`hold` row-locks that
row so that changes which must see each other (the last administrator) queue.

The store never commits, hashes, or reads the clock: services do.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    RowMapping,
    Select,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from accord.domain.person import Person, Role
from accord.errors import Error
from accord.storage import _rules as rules
from accord.storage import people as accounts
from accord.storage.people import ALL_SCOPES, Account, ApiToken, WebSession
from accord.storage.sql import node_tables as nt
from accord.storage.sql._rows import racing, rowcount, unreadable
from accord.storage.values import check_page

__all__ = ["SqlPeopleStore"]

_GUARD_ROW = 1


class SqlPeopleStore:
    """Accounts, tokens and sessions in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    # -- the first person and the people lock -----------------------------------------

    def claim_first(self, person_id: str, *, at: str) -> None:
        """Record the node's first person (inserting the guard row)."""
        accounts.check_stamp(at, "at")

        def check() -> None:
            guarded = self._session.execute(select(func.count()).select_from(nt.people_guard)).scalar_one()
            if guarded or self.count():
                accounts.refuse_first()

        check()
        with racing(self._session, check):
            self._session.execute(
                insert(nt.people_guard).values(id=_GUARD_ROW, first_person=person_id, claimed_at=at, changes=0)
            )

    def hold(self) -> None:
        """Row-lock the guard until the transaction ends (no row before the first person: nothing to hold)."""
        g = nt.people_guard
        self._session.execute(update(g).where(g.c.id == _GUARD_ROW).values(changes=g.c.changes + 1))

    # -- accounts ---------------------------------------------------------------------

    def add(self, account: Account) -> None:
        """Store a new account."""
        accounts.check_account(account)

        def check() -> None:
            if self._exists(account.id):
                rules.refuse_duplicate("person", account.id)

        check()
        person = account.person
        with racing(self._session, check):
            self._session.execute(
                insert(nt.people).values(
                    id=person.id,
                    party=person.party,
                    name=person.name,
                    clearance=person.clearance,
                    password_hash=account.password_hash,
                    failures=account.failures,
                    locked_out_until=account.locked_out_until,
                    locked=account.locked,
                    created_at=account.created_at,
                    updated_at=account.updated_at,
                )
            )
            self._write_sets(person)

    def _write_sets(self, person: Person) -> None:
        if person.roles:
            rows = [{"person_id": person.id, "role": role.value} for role in sorted(person.roles)]
            self._session.execute(insert(nt.person_roles), rows)
        if person.need_to_know:
            rows = [{"person_id": person.id, "topic": topic} for topic in sorted(person.need_to_know)]
            self._session.execute(insert(nt.person_topics), rows)

    def _exists(self, person_id: str) -> bool:
        query = select(nt.people.c.id).where(nt.people.c.id == person_id)
        return self._session.execute(query).first() is not None

    def _known(self, person_id: str) -> None:
        rules.known(person_id if self._exists(person_id) else None, "person", person_id)

    def get(self, person_id: str) -> Account | None:
        """The account with this id, or ``None``."""
        found = self._load([nt.people.c.id == person_id])
        return found[0] if found else None

    def list(self, *, after: str | None = None, limit: int = 100) -> Sequence[Account]:
        """Up to ``limit`` accounts by id, after the id ``after``."""
        check_page(limit)
        where = [] if after is None else [nt.people.c.id > after]
        return self._load(where, limit=limit)

    def count(self) -> int:
        """How many people there are."""
        return int(self._session.execute(select(func.count()).select_from(nt.people)).scalar_one())

    def active_holders(self, role: Role) -> Sequence[str]:
        """The unlocked holders of ``role``, by id."""
        p, r = nt.people, nt.person_roles
        query = (
            select(p.c.id)
            .join(r, r.c.person_id == p.c.id)
            .where(r.c.role == role.value, p.c.locked.is_(False))
            .order_by(p.c.id)
        )
        return list(self._session.execute(query).scalars())

    def update(self, person: Person, *, at: str) -> Account:
        """Replace the person's name, clearance, need-to-know and roles."""
        accounts.check_stamp(at, "at")
        kept = rules.known(self.get(person.id), "person", person.id)
        accounts.check_same_party(kept, person)
        p = nt.people
        self._session.execute(
            update(p).where(p.c.id == person.id).values(name=person.name, clearance=person.clearance, updated_at=at)
        )
        self._session.execute(delete(nt.person_roles).where(nt.person_roles.c.person_id == person.id))
        self._session.execute(delete(nt.person_topics).where(nt.person_topics.c.person_id == person.id))
        self._write_sets(person)
        return rules.known(self.get(person.id), "person", person.id)

    def set_password(self, person_id: str, password_hash: str, *, at: str) -> None:
        """Keep a new password hash."""
        accounts.check_hash(password_hash)
        accounts.check_stamp(at, "at")
        self._change(person_id, password_hash=password_hash, updated_at=at)

    def add_failure(self, person_id: str) -> int:
        """Count one more failed login, atomically; the count after it."""
        p = nt.people
        statement = update(p).where(p.c.id == person_id).values(failures=p.c.failures + 1).returning(p.c.failures)
        value = self._session.execute(statement).scalar_one_or_none()
        return int(rules.known(value, "person", person_id))

    def lock_out(self, person_id: str, *, until: str) -> None:
        """Refuse password logins until ``until``; failures start again from 0."""
        accounts.check_stamp(until, "until")
        self._change(person_id, failures=0, locked_out_until=until)

    def clear_failures(self, person_id: str) -> None:
        """Forget failures and any lock-out."""
        self._change(person_id, failures=0, locked_out_until=None)

    def set_locked(self, person_id: str, *, locked: bool, at: str) -> Account:
        """Lock or unlock; unlocking also clears failures and any lock-out."""
        accounts.check_stamp(at, "at")
        if locked:
            self._change(person_id, locked=True, updated_at=at)
        else:
            self._change(person_id, locked=False, updated_at=at, failures=0, locked_out_until=None)
        return rules.known(self.get(person_id), "person", person_id)

    def _change(self, person_id: str, **values: Any) -> None:  # noqa: ANN401 - column values
        p = nt.people
        if rowcount(self._session, update(p).where(p.c.id == person_id).values(**values)) == 0:
            rules.known(None, "person", person_id)

    def _load(self, where: Sequence[ColumnElement[bool]], *, limit: int | None = None) -> builtins.list[Account]:
        p = nt.people
        query = select(p).where(*where).order_by(p.c.id)
        if limit is not None:
            query = query.limit(limit)
        rows = self._session.execute(query).mappings().all()
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        roles = _grouped(self._session.execute(select(nt.person_roles).where(nt.person_roles.c.person_id.in_(ids))))
        topics = _grouped(self._session.execute(select(nt.person_topics).where(nt.person_topics.c.person_id.in_(ids))))
        return [_account(row, roles.get(row["id"], ()), topics.get(row["id"], ())) for row in rows]

    # -- API tokens -------------------------------------------------------------------

    def add_token(self, token: ApiToken) -> None:
        """Keep a new token (its digest)."""
        accounts.check_token(token)
        self._known(token.person_id)

        def check() -> None:
            if self.token(token.id) is not None:
                rules.refuse_duplicate("token", token.id)

        check()
        scopes = ALL_SCOPES if token.scopes is None else " ".join(sorted(token.scopes))
        with racing(self._session, check):
            self._session.execute(
                insert(nt.api_tokens).values(
                    id=token.id,
                    person_id=token.person_id,
                    name=token.name,
                    digest=token.digest,
                    scopes=scopes,
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                    revoked_at=token.revoked_at,
                )
            )

    def token(self, token_id: str) -> ApiToken | None:
        """The token with this id, or ``None``."""
        found = self._tokens([nt.api_tokens.c.id == token_id])
        return found[0] if found else None

    def token_holder(self, token_id: str) -> tuple[ApiToken, Account] | None:
        """The token with this id and its person's account, or ``None``: what every API request reads.

        Two statements built once (:func:`_holder_statements`): the token joined to its
        person, then the person's roles and need-to-know together (instead of four
        statements built per call: token, person, roles, topics).
        """
        holder, sets = _holder_statements()
        row = self._session.execute(holder, {"token_id": token_id}).mappings().first()
        if row is None:
            return None
        roles: builtins.list[str] = []
        topics: builtins.list[str] = []
        for kind, value in self._session.execute(sets, {"person_id": row["person_id"]}):
            (roles if kind == "role" else topics).append(value)
        person_row = {c.name: row[f"p_{c.name}"] for c in nt.people.c}
        return _token(row), _account(person_row, roles, topics)  # type: ignore[arg-type]

    def tokens(self, *, person_id: str | None = None) -> Sequence[ApiToken]:
        """Tokens (of one person, if given), oldest first."""
        return self._tokens([] if person_id is None else [nt.api_tokens.c.person_id == person_id])

    def revoke_token(self, token_id: str, *, at: str) -> ApiToken:
        """Revoke a token; a conditional update, so two revocations at once cannot both succeed."""
        accounts.check_stamp(at, "at")
        t = nt.api_tokens

        def check() -> ApiToken:
            kept = rules.known(self.token(token_id), "token", token_id)
            accounts.check_not_revoked(kept)
            return kept

        check()
        revoking = update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=at)
        if rowcount(self._session, revoking) == 0:
            check()  # another transaction revoked it first: say so
        return rules.known(self.token(token_id), "token", token_id)

    def _tokens(self, where: Sequence[ColumnElement[bool]]) -> builtins.list[ApiToken]:
        t = nt.api_tokens
        rows = self._session.execute(select(t).where(*where).order_by(t.c.created_at, t.c.id)).mappings()
        return [_token(row) for row in rows]

    # -- web sessions -----------------------------------------------------------------

    def add_session(self, session: WebSession) -> None:
        """Keep a new session."""
        accounts.check_session(session)
        self._known(session.person_id)

        def check() -> None:
            if self.session(session.key) is not None:
                accounts.refuse_session()

        check()
        with racing(self._session, check):
            self._session.execute(
                insert(nt.web_sessions).values(
                    key=session.key,
                    person_id=session.person_id,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )

    def session(self, key: str) -> WebSession | None:
        """The session with this key, or ``None``."""
        s = nt.web_sessions
        row = self._session.execute(select(s).where(s.c.key == key)).mappings().first()
        if row is None:
            return None
        return WebSession(
            key=row["key"], person_id=row["person_id"], created_at=row["created_at"], expires_at=row["expires_at"]
        )

    def end_session(self, key: str) -> bool:
        """Forget a session; whether there was one."""
        return self._delete_sessions(nt.web_sessions.c.key == key) > 0

    def end_sessions(self, person_id: str) -> int:
        """Forget every session of a person."""
        return self._delete_sessions(nt.web_sessions.c.person_id == person_id)

    def remove_expired_sessions(self, *, now: str) -> int:
        """Forget sessions that expired at or before ``now`` (fixed-width stamps compare as text)."""
        accounts.check_stamp(now, "now")
        return self._delete_sessions(nt.web_sessions.c.expires_at <= now)

    def _delete_sessions(self, where: ColumnElement[bool]) -> int:
        result = self._session.execute(delete(nt.web_sessions).where(where))
        return int(getattr(result, "rowcount", 0))


@functools.cache
def _holder_statements() -> tuple[Select[Any], CompoundSelect[Any]]:
    """The token-with-person query and the roles-and-topics query, with bound parameters."""
    t, p, r, n = nt.api_tokens, nt.people, nt.person_roles, nt.person_topics
    person_columns = [c.label(f"p_{c.name}") for c in p.c]
    holder = select(t, *person_columns).join(p, p.c.id == t.c.person_id).where(t.c.id == bindparam("token_id"))
    person_id: BindParameter[str] = bindparam("person_id")
    held_roles = select(literal("role").label("kind"), r.c.role.label("value")).where(r.c.person_id == person_id)
    sets = held_roles.union_all(select(literal("topic"), n.c.topic).where(n.c.person_id == person_id))
    return holder, sets


def _grouped(rows: Iterable[Any]) -> dict[str, builtins.list[str]]:
    out: dict[str, builtins.list[str]] = {}
    for person_id, value in rows:
        out.setdefault(person_id, []).append(value)
    return out


def _account(row: RowMapping, roles: Collection[str], topics: Collection[str]) -> Account:
    try:
        person = Person(
            id=row["id"],
            party=row["party"],
            name=row["name"],
            clearance=row["clearance"],
            roles=frozenset(Role(r) for r in roles),
            need_to_know=frozenset(topics),
        )
        account = Account(
            person=person,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            password_hash=row["password_hash"],
            failures=int(row["failures"]),
            locked_out_until=row["locked_out_until"],
            locked=bool(row["locked"]),
        )
        accounts.check_account(account)
    except (Error, ValueError) as e:
        unreadable("person", row["id"], e)
    return account


def _token(row: RowMapping) -> ApiToken:
    scopes = str(row["scopes"])
    try:
        token = ApiToken(
            id=row["id"],
            person_id=row["person_id"],
            name=row["name"],
            digest=row["digest"],
            scopes=None if scopes == ALL_SCOPES else frozenset(scopes.split()),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )
        accounts.check_token(token)
    except Error as e:
        unreadable("token", row["id"], e)
    return token
