"""People at the node: accounts, roles, clearance, need-to-know, passwords, locks; and logging in.

:class:`People` is one service for both halves: managing people (this module) and
authenticating them (``_logins``: passwords, web sessions with CSRF, API tokens, and
:meth:`People.authorize`). Everyone belongs to the node's own party; a clearance is a
level of its scheme, checked against the world on the day it is granted. The first
person, an administrator, is made by :meth:`People.bootstrap` while the node has no
people; after that a security officer or an administrator adds people, and only an
administrator makes, unmakes, resets or locks an administrator. Nobody changes their
own roles, clearance or need-to-know, and the last active administrator is never
removed or locked. Each change is written with its audit entry in one transaction
(audit last); refusals are audited on their own. Passwords are hashed outside any
transaction and never leave this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final, Self

from accord.audit.entry import EntryKind, MetaValue
from accord.canonical import sha256_hex
from accord.crypto import passwords
from accord.domain.person import Person, Role, parse_roles
from accord.domain.world import World
from accord.errors import PermissionDeniedError, UnknownReferenceError, ValidationError
from accord.policy.roles import Action
from accord.services import audit
from accord.services._logins import Logins
from accord.services._principals import (  # re-exported: the CLI and API need only this module
    CSRF_HEADER,
    SESSION_COOKIE,
    Credential,
    LoginPolicy,
    NewSession,
    NewToken,
    Principal,
    TokenView,
    require_csrf,
    stamp,
)
from accord.services.node import read_identity, utc_now
from accord.storage.people import Account, refuse_first
from accord.storage.sql import SqlPeopleStore
from accord.storage.values import MAX_PAGE

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Action",
    "Credential",
    "LoginPolicy",
    "NewSession",
    "NewToken",
    "People",
    "Person",
    "PersonDraft",
    "PersonPage",
    "PersonView",
    "Principal",
    "Role",
    "TokenView",
]

_ID: Final = re.compile(r"[a-z][a-z0-9._-]{1,63}")
_MAX_NAME: Final = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonDraft:
    """A person as an officer describes them; the party is the node's own."""

    id: str
    name: str = ""
    clearance: str | None = None
    need_to_know: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonView:
    """A person's account as officers see it: never the password hash."""

    person: Person
    has_password: bool
    locked: bool
    locked_out_until: str | None
    failures: int
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, account: Account) -> Self:
        """The view of a stored account."""
        return cls(
            person=account.person,
            has_password=account.password_hash is not None,
            locked=account.locked,
            locked_out_until=account.locked_out_until,
            failures=account.failures,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        p = self.person
        return {
            "id": p.id,
            "name": p.name,
            "party": p.party,
            "clearance": p.clearance,
            "need_to_know": sorted(p.need_to_know),
            "roles": sorted(r.value for r in p.roles),
            "has_password": self.has_password,
            "locked": self.locked,
            "locked_out_until": self.locked_out_until,
            "failures": self.failures,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonPage:
    """One page of people by id, and the cursor for the next (``None`` on the last page)."""

    items: tuple[PersonView, ...]
    next_cursor: str | None = field(default=None)


class People(Logins):
    """The node's people in its database (see the module docstring), and their logins."""

    # -- adding people ----------------------------------------------------------------

    def bootstrap(self, draft: PersonDraft, *, password: str, world: World, at: dt.datetime | None = None) -> Person:
        """Make the node's first person, an administrator, while it has no people; audited.

        Raises:
            ValidationError: the node already has people, or the draft or password is refused.
        """
        at = at or utc_now()
        with self._refusals(None, "person.bootstrap", subject=_subject(draft.id), at=at):
            roles = frozenset({*parse_roles(draft.roles), Role.ADMINISTRATOR})
            person = self._person(dataclasses.replace(draft, roles=tuple(roles)), world=world, at=at)
            with self._db.transaction("check for people") as session:
                if SqlPeopleStore(session).count():
                    refuse_first()  # before spending a password hash on it
            hashed = self._hash(person.id, password)
            with self._db.transaction("add the first person") as session:
                store = SqlPeopleStore(session)
                store.claim_first(person.id, at=stamp(at))
                store.add(_account(person, hashed, at))
                audit.append(
                    session,
                    kind=EntryKind.PERSON,
                    actor=person.id,
                    at=at,
                    subjects=(person.id,),
                    meta={"action": "person.bootstrap"} | _described(person),
                )
        return person

    def add(
        self,
        principal: Principal,
        draft: PersonDraft,
        *,
        world: World,
        password: str | None = None,
        at: dt.datetime | None = None,
    ) -> Person:
        """Add a person (people.manage; an administrator needs people.administer); audited.

        Without ``password`` the person cannot log in until one is set.

        Raises:
            PermissionDeniedError: the principal may not.
            ValidationError: a taken or malformed id, an unknown role, a clearance that is
                not a level of the node's scheme in use today, a refused password.
        """
        at = at or utc_now()
        subject = _subject(draft.id)
        with self._refusals(principal, "person.add", subject=subject, at=at):
            self.authorize(principal, Action.PEOPLE_MANAGE)
            person = self._person(draft, world=world, at=at)
            if Role.ADMINISTRATOR in person.roles:
                self.authorize(principal, Action.PEOPLE_ADMINISTER)
            hashed = self._hash(person.id, password) if password is not None else None
            with self._db.transaction("add the person") as session:
                SqlPeopleStore(session).add(_account(person, hashed, at))
                meta = {"action": "person.add"} | _described(person)
                self._append_person(session, principal, person.id, at, meta)
        return person

    def _person(self, draft: PersonDraft, *, world: World, at: dt.datetime) -> Person:
        person_id = draft.id.strip()
        if not _ID.fullmatch(person_id):
            # The id typed is not repeated: the refusal is audited, and it may be a password.
            msg = "a person id is 2 to 64 characters: a lower-case letter, then lower-case letters, digits, . _ or -"
            raise ValidationError(msg)
        name = draft.name.strip()
        if len(name) > _MAX_NAME or not name.isprintable():
            msg = f"a name is at most {_MAX_NAME} printable characters"
            raise ValidationError(msg)
        person = Person(
            id=person_id,
            party=read_identity(self._home).party,
            name=name,
            clearance=draft.clearance.strip() if draft.clearance else None,
            need_to_know=frozenset(t.strip() for t in draft.need_to_know if t.strip()),
            roles=parse_roles(draft.roles),
        )
        person.check(world, on=at.date())
        return person

    def _hash(self, person_id: str, password: str) -> str:
        minimum = self._policy.min_password
        if len(password) < minimum:
            msg = f"a password has at least {minimum} characters"
            raise ValidationError(msg, hint="a passphrase of several words is easiest to remember")
        if password.strip().lower() == person_id.lower():
            msg = "a password must not be the person's id"
            raise ValidationError(msg)
        return passwords.hash_password(password, self._policy.passwords)

    # -- reading ----------------------------------------------------------------------

    def get(self, principal: Principal, person_id: str | None = None) -> PersonView:
        """A person (default: the principal's own); another's needs people.read.

        Raises:
            PermissionDeniedError: another person without people.read.
            UnknownReferenceError: no such person.
        """
        wanted = person_id or principal.person.id
        if wanted != principal.person.id:
            self.authorize(principal, Action.PEOPLE_READ)
        with self._db.reading("read the person") as session:
            account = SqlPeopleStore(session).get(wanted)
        if account is None:
            msg = f"no person {wanted!r} at this node"
            raise UnknownReferenceError(msg, hint="`accord people list` shows the people")
        return PersonView.of(account)

    def list(self, principal: Principal, *, after: str | None = None, limit: int = 50) -> PersonPage:
        """Up to ``limit`` people by id, after the id ``after`` (people.read)."""
        self.authorize(principal, Action.PEOPLE_READ)
        limit = max(1, min(limit, MAX_PAGE - 1))
        with self._db.reading("list the people") as session:
            found = SqlPeopleStore(session).list(after=after, limit=limit + 1)
        items = tuple(PersonView.of(a) for a in found[:limit])
        return PersonPage(items=items, next_cursor=items[-1].person.id if len(found) > limit else None)

    # -- changing people --------------------------------------------------------------

    def set_roles(
        self, principal: Principal, person_id: str, roles: Collection[str], *, at: dt.datetime | None = None
    ) -> Person:
        """Replace a person's roles (people.manage; the administrator role needs people.administer); audited.

        Raises:
            PermissionDeniedError: the principal may not, or it is their own roles.
            ValidationError: an unknown role, or it would leave no active administrator.
            UnknownReferenceError: no such person.
        """
        at = at or utc_now()
        with self._refusals(principal, "person.roles", subject=_subject(person_id), at=at):
            self._may_change(principal, person_id)
            wanted = parse_roles(roles)
            with self._db.transaction("set the roles") as session:
                store = SqlPeopleStore(session)
                store.hold()
                kept = _known(store.get(person_id), person_id)
                added, removed = wanted - kept.person.roles, kept.person.roles - wanted
                if Role.ADMINISTRATOR in added | removed:
                    self.authorize(principal, Action.PEOPLE_ADMINISTER)
                if Role.ADMINISTRATOR in removed:
                    _keep_an_administrator(store, kept, "remove the administrator role from")
                updated = store.update(dataclasses.replace(kept.person, roles=wanted), at=stamp(at))
                meta: dict[str, MetaValue] = {
                    "action": "person.roles",
                    "roles": _names(wanted),
                    "added": _names(added),
                    "removed": _names(removed),
                }
                self._append_person(session, principal, person_id, at, meta)
        return updated.person

    def set_clearance(
        self,
        principal: Principal,
        person_id: str,
        clearance: str | None,
        *,
        world: World,
        at: dt.datetime | None = None,
    ) -> Person:
        """Grant a clearance (a level of the node's scheme in use today) or withdraw it (``None``); audited.

        Raises:
            PermissionDeniedError: the principal may not, or it is their own clearance.
            ValidationError: not a level of the node's scheme, or not in use today.
            UnknownReferenceError: no such person.
        """
        at = at or utc_now()
        with self._refusals(principal, "person.clearance", subject=_subject(person_id), at=at):
            self._may_change(principal, person_id)
            with self._db.transaction("set the clearance") as session:
                store = SqlPeopleStore(session)
                kept = _known(store.get(person_id), person_id)
                self._administrator_needs(principal, kept)
                changed = dataclasses.replace(kept.person, clearance=clearance.strip() if clearance else None)
                changed.check(world, on=at.date())
                updated = store.update(changed, at=stamp(at))
                meta: dict[str, MetaValue] = {
                    "action": "person.clearance",
                    "from": kept.person.clearance or "none",
                    "to": changed.clearance or "none",
                }
                self._append_person(session, principal, person_id, at, meta)
        return updated.person

    def set_need_to_know(
        self, principal: Principal, person_id: str, topics: Collection[str], *, at: dt.datetime | None = None
    ) -> Person:
        """Replace a person's need-to-know topics (people.manage); audited by count and digest.

        Raises:
            PermissionDeniedError: the principal may not, or it is their own need-to-know.
            ValidationError: a malformed topic.
            UnknownReferenceError: no such person.
        """
        at = at or utc_now()
        with self._refusals(principal, "person.need-to-know", subject=_subject(person_id), at=at):
            self._may_change(principal, person_id)
            wanted = frozenset(t.strip() for t in topics if t.strip())
            with self._db.transaction("set the need-to-know") as session:
                store = SqlPeopleStore(session)
                kept = _known(store.get(person_id), person_id)
                self._administrator_needs(principal, kept)
                updated = store.update(dataclasses.replace(kept.person, need_to_know=wanted), at=stamp(at))
                meta: dict[str, MetaValue] = {
                    "action": "person.need-to-know",
                    "topics": len(wanted),
                    "added": len(wanted - kept.person.need_to_know),
                    "removed": len(kept.person.need_to_know - wanted),
                }
                audit.append(
                    session,
                    kind=EntryKind.PERSON,
                    actor=principal.person.id,
                    at=at,
                    subjects=(person_id,),
                    digests={"need_to_know": sha256_hex(sorted(wanted))},
                    meta=meta | principal.audit_meta(),
                )
        return updated.person

    def set_password(
        self,
        principal: Principal,
        person_id: str,
        password: str,
        *,
        current_password: str | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """Set a password: one's own with ``current_password``, another's with people.manage
        (an administrator's with people.administer). Ends the person's web sessions; audited.

        A wrong ``current_password`` counts as a failed login.

        Raises:
            AuthenticationError: one's own password without the right current password.
            PermissionDeniedError: another's password without the roles for it.
            ValidationError: the new password is refused.
            UnknownReferenceError: no such person.
        """  # noqa: D205 - the summary needs two lines
        at = at or utc_now()
        own = person_id == principal.person.id
        with self._refusals(principal, "person.password", subject=_subject(person_id), at=at):
            if own:
                require_csrf(principal)
                self.authenticate_password(person_id, current_password or "", at=at)
            else:
                self.authorize(principal, Action.PEOPLE_MANAGE)
            hashed = self._hash(person_id, password)
            with self._db.transaction("set the password") as session:
                store = SqlPeopleStore(session)
                kept = _known(store.get(person_id), person_id)
                if not own:
                    self._administrator_needs(principal, kept)
                store.set_password(person_id, hashed, at=stamp(at))
                ended = store.end_sessions(person_id)
                meta: dict[str, MetaValue] = {"action": "person.password", "own": own, "sessions_ended": ended}
                self._append_person(session, principal, person_id, at, meta)

    def lock(self, principal: Principal, person_id: str, *, at: dt.datetime | None = None) -> PersonView:
        """Lock a person out of every credential until unlocked; ends their sessions; audited.

        Raises:
            PermissionDeniedError: the principal may not, or it is themselves.
            ValidationError: the last active administrator.
            UnknownReferenceError: no such person.
        """
        return self._set_locked(principal, person_id, locked=True, at=at or utc_now())

    def unlock(self, principal: Principal, person_id: str, *, at: dt.datetime | None = None) -> PersonView:
        """Unlock a person, also clearing failed logins and any lock-out; audited.

        Raises:
            PermissionDeniedError: the principal may not.
            UnknownReferenceError: no such person.
        """
        return self._set_locked(principal, person_id, locked=False, at=at or utc_now())

    def _set_locked(self, principal: Principal, person_id: str, *, locked: bool, at: dt.datetime) -> PersonView:
        action = "person.lock" if locked else "person.unlock"
        with self._refusals(principal, action, subject=_subject(person_id), at=at):
            self._may_change(principal, person_id)
            with self._db.transaction("lock the person" if locked else "unlock the person") as session:
                store = SqlPeopleStore(session)
                store.hold()
                kept = _known(store.get(person_id), person_id)
                self._administrator_needs(principal, kept)
                if locked:
                    _keep_an_administrator(store, kept, "lock")
                updated = store.set_locked(person_id, locked=locked, at=stamp(at))
                ended = store.end_sessions(person_id) if locked else 0
                meta: dict[str, MetaValue] = {"action": action} | ({"sessions_ended": ended} if locked else {})
                self._append_person(session, principal, person_id, at, meta)
        return PersonView.of(updated)

    def _may_change(self, principal: Principal, person_id: str) -> None:
        self.authorize(principal, Action.PEOPLE_MANAGE)
        if person_id == principal.person.id:
            msg = f"{person_id} may not change their own roles, clearance, need-to-know or lock"
            raise PermissionDeniedError(msg, hint="ask another security officer or administrator")

    def _administrator_needs(self, principal: Principal, target: Account) -> None:
        """Acting on an administrator takes an administrator."""
        if Role.ADMINISTRATOR in target.person.roles:
            self.authorize(principal, Action.PEOPLE_ADMINISTER)


def _keep_an_administrator(store: SqlPeopleStore, target: Account, doing: str) -> None:
    if Role.ADMINISTRATOR in target.person.roles and store.active_holders(Role.ADMINISTRATOR) == [target.id]:
        msg = f"cannot {doing} {target.id}: they are the last active administrator"
        raise ValidationError(msg, hint="make another person an administrator first")


def _known(account: Account | None, person_id: str) -> Account:
    if account is None:
        msg = f"no person {person_id!r} at this node"
        raise UnknownReferenceError(msg, hint="`accord people list` shows the people")
    return account


def _account(person: Person, password_hash: str | None, at: dt.datetime) -> Account:
    now = stamp(at)
    return Account(person=person, created_at=now, updated_at=now, password_hash=password_hash)


def _subject(person_id: str) -> str | None:
    """An id fit to name in the audit log; a malformed one may be anything typed (a password, even)."""
    cleaned = person_id.strip()
    return cleaned if _ID.fullmatch(cleaned) else None


def _names(roles: Collection[Role]) -> str:
    return " ".join(sorted(r.value for r in roles)) or "none"


def _described(person: Person) -> dict[str, MetaValue]:
    return {"roles": _names(person.roles), "clearance": person.clearance or "none", "topics": len(person.need_to_know)}
