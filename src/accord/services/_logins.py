"""Logging in: passwords, web sessions with their CSRF tokens, API tokens, and who may do what.

:class:`Logins` is the half of ``People`` that every request goes through: it turns a
credential into a :class:`Principal` (a person, how they came in, what the credential
is scoped to) and answers :meth:`Logins.authorize`. Every refusal is the one opaque
:class:`~accord.errors.AuthenticationError`; the audit log gets the reason. Every
password login, failure and lock-out is audited; a token or session that works is not
(the action it is used for is), one that fails for a known token or session is.
Password hashing (~0.1 s) happens outside any transaction. Secrets are never logged,
audited or stored: tokens and session ids as SHA-256 digests, passwords as Argon2id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from accord.audit.entry import AuditEntry, EntryKind, MetaValue
from accord.crypto import passwords
from accord.domain.person import Person
from accord.errors import AuthenticationError, Error, IntegrityError, PermissionDeniedError, ValidationError
from accord.policy.roles import READ_ACTIONS, Action, actions_of, permits, roles_for
from accord.services import audit
from accord.services._database import Database, NodeService
from accord.services._principals import (
    MAX_META,
    Credential,
    LoginPolicy,
    NewSession,
    NewToken,
    Principal,
    TokenView,
    require_csrf,
    short_text,
    stamp,
)
from accord.services.node import utc_now
from accord.storage.people import Account, ApiToken, WebSession
from accord.storage.sql import SqlPeopleStore

__all__ = ["Logins"]

_DENIED: Final = "authentication failed: unknown person, wrong password or token, or the account is locked"
_DENIED_HINT: Final = (
    "check the id and password or token; after repeated failures password logins wait a few minutes, "
    "and a security officer can unlock an account"
)
_ANONYMOUS: Final = "anonymous"
_ACTIONS: Final = frozenset(a.value for a in Action)


class Logins(NodeService):
    """Authentication and authorization on the node's database; see ``People``."""

    def __init__(
        self, *, database: Database, home: Path, policy: LoginPolicy | None = None, unsafe_fast_kdf: bool = False
    ) -> None:
        """Use ``database`` and the node under ``home``, with ``policy`` (default: :class:`LoginPolicy`)."""
        super().__init__(database=database, home=home, unsafe_fast_kdf=unsafe_fast_kdf)
        self._policy = policy or LoginPolicy()

    # -- authorization ----------------------------------------------------------------

    @staticmethod
    def authorize(principal: Principal, action: Action) -> None:
        """Refuse unless ``principal`` may take ``action`` (roles, token scopes, CSRF for sessions).

        Pure and cheap: the API calls it on every request. It does not audit.

        Raises:
            PermissionDeniedError: naming what is missing.
        """
        if principal.may(action):
            return
        person = principal.person
        if not permits(person, action):
            needed = ", ".join(sorted(r.value for r in roles_for(action))) or "no role (nobody may)"
            msg = f"{person.id} may not {action.value}: it needs one of the roles {needed}"
            raise PermissionDeniedError(msg, hint="ask a security officer for the role")
        if action not in READ_ACTIONS:
            require_csrf(principal)
        msg = f"this token of {person.id} is not scoped for {action.value}"
        raise PermissionDeniedError(msg, hint="issue a token with that scope, or use one without scopes")

    @contextmanager
    def _refusals(
        self, principal: Principal | None, action: str, *, subject: str | None, at: dt.datetime
    ) -> Iterator[None]:
        """Audit a refusal (bad input, not allowed) of ``action`` in its own transaction, then re-raise."""
        try:
            yield
        except (ValidationError, PermissionDeniedError) as e:
            self._audit_refusal(principal, action, e, subject=subject, at=at)
            raise

    def _audit_refusal(
        self, principal: Principal | None, action: str, error: Error, *, subject: str | None, at: dt.datetime
    ) -> None:
        meta: dict[str, MetaValue] = {"action": action, "outcome": "refused", "reason": error.message[:MAX_META]}
        if principal is not None:
            meta |= principal.audit_meta()
        actor = principal.person.id if principal is not None else _ANONYMOUS
        with self._db.transaction("audit the refusal") as session:
            audit.append(
                session,
                kind=EntryKind.PERSON,
                actor=actor,
                at=at,
                subjects=(subject,) if subject else (),
                meta=meta,
            )

    # -- passwords --------------------------------------------------------------------

    def authenticate_password(self, person_id: str, password: str, *, at: dt.datetime | None = None) -> Principal:
        """Check a person's password; audited, counted towards lock-out when wrong.

        After ``max_failures`` consecutive failures password logins are refused for
        ``lockout`` (tokens keep working: guessing a password must not stop someone's
        scripts). A hash made with another cost is replaced by one with the current cost.

        Raises:
            AuthenticationError: unknown person, wrong password, no password, locked or
                locked out (one message for all).
        """
        at = at or utc_now()
        now = stamp(at)
        with self._db.reading("read the account") as session:
            account = SqlPeopleStore(session).get(person_id)
        reason = self._password_refusal(account, password, now)
        if account is None:
            self._audit_login(_ANONYMOUS, at, {"action": "login.password", "outcome": "failed", "reason": reason})
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        if reason:
            self._record_failure(account, at, reason, counted=reason == "wrong password")
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        stored = account.password_hash or ""
        rehashed = (
            passwords.hash_password(password, self._policy.passwords)
            if passwords.needs_rehash(stored, self._policy.passwords)
            else None
        )
        with self._db.transaction("record the login") as session:
            store = SqlPeopleStore(session)
            if account.failures or account.locked_out_until:
                store.clear_failures(account.id)
            if rehashed is not None:
                store.set_password(account.id, rehashed, at=now)
            meta: dict[str, MetaValue] = {"action": "login.password", "outcome": "ok"}
            self._append_login(session, account.id, at, meta | ({"rehashed": True} if rehashed else {}))
        return Principal(person=account.person, via=Credential.PASSWORD)

    def _password_refusal(self, account: Account | None, password: str, now: str) -> str:
        """Why the password does not let the person in ('' if it does); always spends one verification."""
        params = self._policy.passwords
        if account is None or account.password_hash is None:
            passwords.waste_a_verification(password, params)
            return "unknown person" if account is None else "no password set"
        try:
            matches = passwords.verify_password(account.password_hash, password)
        except IntegrityError:
            return "unreadable password hash"
        if account.locked:
            return "locked"
        if account.locked_out_until is not None and now < account.locked_out_until:
            return "locked out"
        return "" if matches else "wrong password"

    def _record_failure(self, account: Account, at: dt.datetime, reason: str, *, counted: bool) -> None:
        entries = []
        with self._db.transaction("record the failed login") as session:
            store = SqlPeopleStore(session)
            meta: dict[str, MetaValue] = {"action": "login.password", "outcome": "failed", "reason": reason}
            if counted:
                failures = store.add_failure(account.id)
                meta["failures"] = failures
                entries.append(self._login_entry(account.id, at, meta))
                if failures >= self._policy.max_failures:
                    until = stamp(at + self._policy.lockout)
                    store.lock_out(account.id, until=until)
                    lockout: dict[str, MetaValue] = {"action": "login.lockout", "failures": failures, "until": until}
                    entries.append(self._login_entry(account.id, at, lockout))
            else:
                entries.append(self._login_entry(account.id, at, meta))
            audit.append_many(session, entries)

    # -- web sessions -----------------------------------------------------------------

    def login(self, person_id: str, password: str, *, at: dt.datetime | None = None) -> NewSession:
        """:meth:`authenticate_password`, then :meth:`start_session`: what the web login form calls."""
        at = at or utc_now()
        return self.start_session(self.authenticate_password(person_id, password, at=at), at=at)

    def start_session(self, principal: Principal, *, at: dt.datetime | None = None) -> NewSession:
        """Start a web session for a person who has just given their password; audited.

        Raises:
            PermissionDeniedError: the principal did not come in by password.
        """
        at = at or utc_now()
        if principal.via is not Credential.PASSWORD:
            msg = "a web session starts only from a password login"
            raise PermissionDeniedError(msg, hint="log in with the password")
        issued = passwords.new_session()
        expires = stamp(at + self._policy.session_lifetime)
        person = principal.person
        with self._db.transaction("start the session") as session:
            store = SqlPeopleStore(session)
            store.remove_expired_sessions(now=stamp(at))
            store.add_session(WebSession(key=issued.key, person_id=person.id, created_at=stamp(at), expires_at=expires))
            meta: dict[str, MetaValue] = {"action": "session.start", "session": issued.key[:16], "expires_at": expires}
            self._append_login(session, person.id, at, meta)
        return NewSession(session_id=issued.session_id, csrf_token=issued.csrf_token, person=person, expires_at=expires)

    def authenticate_session(
        self, session_id: str, *, csrf_token: str | None, at: dt.datetime | None = None
    ) -> Principal:
        """The principal of a web session (from the :data:`SESSION_COOKIE`).

        Give the request's CSRF token (the :data:`CSRF_HEADER`) whenever it has one;
        ``None`` makes a principal that may only read (:data:`~accord.policy.roles.READ_ACTIONS`),
        so a forgotten check fails closed. A wrong CSRF token, or a session of a locked
        person, is refused and audited; an unknown or expired one is refused.

        Raises:
            AuthenticationError: unknown or expired session, CSRF mismatch, locked person.
        """
        at = at or utc_now()
        key = passwords.session_key(session_id)
        if key is None:
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        with self._db.reading("read the session") as session:
            store = SqlPeopleStore(session)
            found = store.session(key)
            account = store.get(found.person_id) if found is not None else None
        if found is None or account is None:
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        reference = key[:16]
        if found.expires_at <= stamp(at):
            with self._db.transaction("end the expired session") as session:
                SqlPeopleStore(session).end_session(key)
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        reason = ""
        if account.locked:
            reason = "locked"
        elif csrf_token is not None and not passwords.csrf_matches(session_id, csrf_token):
            reason = "csrf mismatch"
        if reason:
            meta: dict[str, MetaValue] = {"action": "login.session", "outcome": "refused", "reason": reason}
            self._audit_login(account.id, at, meta | {"session": reference})
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        return Principal(
            person=account.person, via=Credential.SESSION, credential_id=reference, csrf_checked=csrf_token is not None
        )

    def end_session(self, session_id: str, *, at: dt.datetime | None = None) -> bool:
        """Log out: forget the session (audited); whether there was one."""
        at = at or utc_now()
        key = passwords.session_key(session_id)
        if key is None:
            return False
        with self._db.transaction("end the session") as session:
            store = SqlPeopleStore(session)
            found = store.session(key)
            if found is None:
                return False
            store.end_session(key)
            self._append_login(session, found.person_id, at, {"action": "session.end", "session": key[:16]})
        return True

    # -- API tokens -------------------------------------------------------------------

    def issue_token(
        self,
        principal: Principal,
        *,
        name: str,
        scopes: Collection[str] | None = None,
        lifetime: dt.timedelta | None = None,
        at: dt.datetime | None = None,
    ) -> NewToken:
        """Issue an API token for the principal's own person; the token is in the result only.

        ``scopes`` limits it to some actions (each one the person's roles allow);
        ``lifetime`` defaults to ``token_lifetime`` and may not exceed
        ``max_token_lifetime``. A token cannot issue tokens: log in with the password (or
        a CSRF-checked session). Audited.

        Raises:
            PermissionDeniedError: the principal came in by token, or by a session without CSRF.
            ValidationError: an empty name, an unknown or unusable scope, a bad lifetime.
        """
        at = at or utc_now()
        person = principal.person
        with self._refusals(principal, "token.issue", subject=person.id, at=at):
            require_csrf(principal)
            if principal.via is Credential.TOKEN:
                msg = "a token cannot issue tokens"
                raise PermissionDeniedError(msg, hint="log in with the password to issue a token")
            wanted = self._scopes(person, scopes)
            span = lifetime if lifetime is not None else self._policy.token_lifetime
            if not dt.timedelta(0) < span <= self._policy.max_token_lifetime:
                msg = f"a token lives more than 0 and at most {self._policy.max_token_lifetime.days} days"
                raise ValidationError(msg)
            label = name.strip()
            if not label or len(label) > MAX_META:
                msg = f"a token needs a name of 1 to {MAX_META} characters (what it is for)"
                raise ValidationError(msg)
            issued = passwords.new_token()
            token = ApiToken(
                id=issued.token_id,
                person_id=person.id,
                name=label,
                digest=issued.digest,
                scopes=None if wanted is None else frozenset(a.value for a in wanted),
                created_at=stamp(at),
                expires_at=stamp(at + span),
            )
            with self._db.transaction("issue the token") as session:
                SqlPeopleStore(session).add_token(token)
                meta: dict[str, MetaValue] = {
                    "action": "token.issue",
                    "token": token.id,
                    "scopes": "all" if token.scopes is None else short_text(token.scopes),
                    "expires_at": token.expires_at,
                }
                self._append_person(session, principal, person.id, at, meta)
        return NewToken(token=issued.token, view=TokenView.of(token))

    @staticmethod
    def _scopes(person: Person, scopes: Collection[str] | None) -> frozenset[Action] | None:
        if scopes is None:
            return None
        wanted = set()
        for scope in scopes:
            try:
                wanted.add(Action(scope.strip()))
            except ValueError:
                known = ", ".join(a.value for a in Action)
                msg = f"unknown scope {scope!r} (known: {known})"
                raise ValidationError(msg) from None
        if not wanted:
            msg = "give at least one scope, or none at all for a token that may do what its person may"
            raise ValidationError(msg)
        unusable = sorted(a.value for a in wanted - actions_of(person.roles))
        if unusable:
            msg = f"{person.id}'s roles do not allow {', '.join(unusable)}: a token cannot be scoped for them"
            raise ValidationError(msg)
        return frozenset(wanted)

    def authenticate_token(self, token: str, *, at: dt.datetime | None = None) -> Principal:
        """The principal of an API token (from ``Authorization: Bearer``); what the API calls on every request.

        A token that works is not audited (the action it is used for is); a known token
        that is refused (wrong secret, expired, revoked, its person locked) is.

        Raises:
            AuthenticationError: malformed, unknown, wrong, expired or revoked token, or
                a locked person (one message for all).
        """
        at = at or utc_now()
        parsed = passwords.read_token(token)
        if parsed is None:
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        token_id, digest = parsed
        with self._db.reading("read the token") as session:
            held = SqlPeopleStore(session).token_holder(token_id)
        if held is None:
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        found, account = held
        reason = ""
        if not passwords.digests_equal(found.digest, digest):
            reason = "wrong secret"
        elif found.revoked_at is not None:
            reason = "revoked"
        elif found.expires_at <= stamp(at):
            reason = "expired"
        elif account.locked:
            reason = "locked"
        if reason:
            meta: dict[str, MetaValue] = {"action": "login.token", "outcome": "refused", "reason": reason}
            self._audit_login(account.id, at, meta | {"token": token_id})
            raise AuthenticationError(_DENIED, hint=_DENIED_HINT)
        # A scope this code does not know (stored by a newer version) grants nothing.
        scopes = None if found.scopes is None else frozenset(Action(s) for s in found.scopes if s in _ACTIONS)
        return Principal(person=account.person, via=Credential.TOKEN, credential_id=token_id, scopes=scopes)

    def list_tokens(self, principal: Principal, *, person_id: str | None = None) -> list[TokenView]:
        """Tokens of ``person_id`` (default: the principal's own), oldest first; others' need tokens.manage.

        ``person_id='*'`` lists every person's tokens (tokens.manage).

        Raises:
            PermissionDeniedError: another person's tokens without tokens.manage.
        """
        own = principal.person.id
        wanted = own if person_id is None else person_id
        if wanted != own:
            self.authorize(principal, Action.TOKENS_MANAGE)
        with self._db.reading("list the tokens") as session:
            found = SqlPeopleStore(session).tokens(person_id=None if wanted == "*" else wanted)
        return [TokenView.of(t) for t in found]

    def revoke_token(self, principal: Principal, token_id: str, *, at: dt.datetime | None = None) -> TokenView:
        """Revoke a token (one's own, or anyone's with tokens.manage); audited.

        Raises:
            UnknownReferenceError: no such token.
            ValidationError: not a token id (never echoed: it may be a whole token), or already revoked.
            PermissionDeniedError: another person's token without tokens.manage, or a
                session request without its CSRF token.
        """
        at = at or utc_now()
        if not passwords.is_token_id(token_id):
            # Not echoed, nor audited: it may be a whole token pasted in place of its id.
            msg = "that is not a token id: give the 16-character id `accord tokens list` shows, never the token"
            raise ValidationError(msg)
        with self._refusals(principal, "token.revoke", subject=token_id, at=at):
            require_csrf(principal)
            with self._db.transaction("revoke the token") as session:
                store = SqlPeopleStore(session)
                found = store.token(token_id)
                if found is not None and found.person_id != principal.person.id:
                    self.authorize(principal, Action.TOKENS_MANAGE)
                revoked = store.revoke_token(token_id, at=stamp(at))
                meta: dict[str, MetaValue] = {"action": "token.revoke", "token": token_id}
                self._append_person(session, principal, revoked.person_id, at, meta)
        return TokenView.of(revoked)

    # -- audit ------------------------------------------------------------------------

    @staticmethod
    def _login_entry(actor: str, at: dt.datetime, meta: dict[str, MetaValue]) -> Callable[[int], AuditEntry]:
        subjects: Sequence[str] = () if actor == _ANONYMOUS else (actor,)
        return audit.entry(kind=EntryKind.LOGIN, actor=actor, at=at, subjects=subjects, meta=meta)

    def _append_login(self, session: Session, actor: str, at: dt.datetime, meta: dict[str, MetaValue]) -> None:
        audit.append_many(session, [self._login_entry(actor, at, meta)])

    def _audit_login(self, actor: str, at: dt.datetime, meta: dict[str, MetaValue]) -> None:
        with self._db.transaction("audit the login") as session:
            self._append_login(session, actor, at, meta)

    @staticmethod
    def _append_person(
        session: Session, principal: Principal, subject: str, at: dt.datetime, meta: dict[str, MetaValue]
    ) -> None:
        audit.append(
            session,
            kind=EntryKind.PERSON,
            actor=principal.person.id,
            at=at,
            subjects=(subject,),
            meta=meta | principal.audit_meta(),
        )
