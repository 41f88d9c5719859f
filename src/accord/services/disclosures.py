"""The disclosure workflow: an analyst asks, another officer approves or rejects, then it happens.

:class:`Disclosures` stores requests to release a record, consent to its onward
release, recall it or report its compromise (``domain.disclosure``), each with its
audit entry; shows them with the live decision (a pending release request is decided
again, as of now, every time it is read); and lets an officer who neither asked for it
nor wrote the record approve it (``policy.disclosure``) or reject it with a reason, and
the requester withdraw it. Every method takes the acting :class:`Principal` and checks
its roles (``People.authorize``); every refusal is audited alone and changes nothing.

Approval is exactly-once across processes: one transaction moves the request from
pending to approved with ``UPDATE ... WHERE state = 'pending'`` (the loser of a race
finds no row to change and gets :class:`~accord.errors.ConflictError`), then seals and
stores the release (``Releases._release_in``) or signs and stores the obligation (the
``Obligations`` service run on a :class:`JoinedDatabase`), then appends the audit
entries; any failure rolls all of it back. A release the engine now denies is not
approved: the approval fails with the reasons and the request stays pending.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy.orm import Session

from accord.audit.entry import EntryKind, MetaValue
from accord.crypto import NodePublicKeys
from accord.domain.disclosure import MAX_REASON, DisclosureKind, DisclosureRequest, DisclosureState
from accord.domain.world import World
from accord.errors import ConflictError, Error, UnknownReferenceError, ValidationError
from accord.policy.disclosure import check_decider, check_withdrawer, decide_action, request_action
from accord.policy.engine import decide
from accord.policy.roles import permits
from accord.services import audit
from accord.services._database import NodeService
from accord.services._disclosure_steps import (
    Approval,
    DisclosureDeniedError,
    DisclosurePage,
    DisclosureView,
    Issued,
    JoinedDatabase,
    checked_subject,
)
from accord.services._logins import Logins
from accord.services._principals import MAX_META, Principal, require_csrf
from accord.services.inbox import Inbox
from accord.services.node import UnlockedNode, read_identity, utc_now
from accord.services.obligations import ConsentRequest, Obligations, ReportRequest
from accord.services.records import visible_part
from accord.services.releases import ReleaseOutcome, ReleaseRequest, Releases
from accord.storage.sql import SqlRecordStore, SqlReleaseStore
from accord.storage.sql.disclosure_stores import SqlDisclosureStore
from accord.storage.values import MAX_PAGE, ReleaseState

__all__ = [
    "Approval",
    "DisclosureDeniedError",
    "DisclosureKind",
    "DisclosurePage",
    "DisclosureRequest",
    "DisclosureState",
    "DisclosureView",
    "Disclosures",
]


class Disclosures(NodeService):
    """Disclosure requests at this node, in its database; approvals sign with its keys."""

    # -- asking -----------------------------------------------------------------------

    def request(  # noqa: PLR0913 - the subject's parts, who asks, the world and the time
        self,
        principal: Principal,
        kind: str | DisclosureKind,
        *,
        world: World,
        record_id: str | None = None,
        party: str | None = None,
        on: dt.date | None = None,
        details: Mapping[str, str] | None = None,
        node: UnlockedNode | None = None,
        at: dt.datetime | None = None,
    ) -> DisclosureView:
        """Store a pending request with its audit entry; for a release, with the decision as of now.

        With ``node``, a record the principal may not see (:meth:`visible`) is refused
        exactly as one that does not exist.

        ``party`` is the recipient (release), the third party (consent) or the
        record's originator when it is not held here (compromise report). ``details``
        are the kind's own fields (``domain.disclosure.DETAILS``).

        Raises:
            PermissionDeniedError: the principal may not ask for this kind.
            ValidationError: a malformed or unknown subject (audited; nothing stored).
        """
        at = at or utc_now()
        with self._refusals(principal, "disclosure.request", subject=None, at=at):
            wanted = _kind(kind)
            Logins.authorize(principal, request_action(wanted))
            require_csrf(principal)
            if record_id and self._hidden(principal, {record_id.strip()}, world=world, node=node, at=at):
                msg = f"no record {record_id!r} on this node"
                raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
            own = read_identity(self._home).party
            with self._db.transaction("store the disclosure request") as session:
                cleaned_party, cleaned = checked_subject(
                    session,
                    wanted,
                    record_id=record_id,
                    party=party,
                    details=details or {},
                    world=world,
                    own=own,
                    today=at.date(),
                )
                new = DisclosureRequest(
                    id=f"dr-{uuid.uuid4().hex[:16]}",
                    kind=wanted,
                    requester=principal.person.id,
                    requested_at=at,
                    record_id=record_id.strip() if record_id else None,
                    party=cleaned_party,
                    on=on,
                    details=cleaned,
                )
                SqlDisclosureStore(session).add(new)
                view = self._view(session, new, world=world, at=at)
                meta: dict[str, MetaValue] = {"action": "disclosure.request", "kind": new.kind.value}
                if view.decision is not None:
                    meta["decision"] = "allowed" if view.decision else "denied"
                self._append(session, principal, new, at, meta)
        return view

    # -- reading ----------------------------------------------------------------------

    def get(
        self,
        principal: Principal,
        request_id: str,
        *,
        world: World,
        node: UnlockedNode | None = None,
        at: dt.datetime | None = None,
    ) -> DisclosureView:
        """A request with its live decision, for whoever may see it (:meth:`visible`).

        Raises:
            UnknownReferenceError: no such request, or not one the principal may see
                (the same answer, naming only the id asked for).
        """
        at = at or utc_now()
        with self._db.reading("read the disclosure request") as session:
            found = SqlDisclosureStore(session).get(request_id)
        if found is None or not self.visible(principal, [found], world=world, node=node, at=at):
            msg = f"no disclosure request {request_id!r} that {principal.person.id} may see"
            raise UnknownReferenceError(msg, hint="`accord disclosures list` shows the requests")
        with self._db.transaction("decide the request now") as session:
            return self._view(session, found, world=world, at=at)

    def visible(
        self,
        principal: Principal,
        requests: Sequence[DisclosureRequest],
        *,
        world: World,
        node: UnlockedNode | None = None,
        at: dt.datetime | None = None,
    ) -> list[DisclosureRequest]:
        """Those of ``requests`` the principal may see, in order.

        A request is seen by its requester and whoever may ask for or decide its kind,
        and only when the principal may see its record (``Inbox.hidden``: a record
        held here, own or received, that shows them no portion hides every request
        about it). Without ``node`` a received copy cannot be opened to check, so a
        request about a record received here is hidden (fail closed); one about a
        record not held here at all (another node's, in a consent or report) is not.
        """
        at = at or utc_now()
        ids = {r.record_id for r in requests if r.record_id}
        hidden = self._hidden(principal, ids, world=world, node=node, at=at)
        return [r for r in requests if _may_see(principal, r) and r.record_id not in hidden]

    def _hidden(
        self, principal: Principal, ids: set[str], *, world: World, node: UnlockedNode | None, at: dt.datetime
    ) -> set[str]:
        if node is not None:
            return Inbox(database=self._db, home=self._home).hidden(
                principal.person, ids, world=world, node=node, at=at
            )
        return self._hidden_without_keys(principal, ids, world=world, at=at)

    def _hidden_without_keys(self, principal: Principal, ids: set[str], *, world: World, at: dt.datetime) -> set[str]:
        party = read_identity(self._home).party
        with self._db.reading("read the records") as session:
            own = SqlRecordStore(session).get_many(sorted(ids))
        person, on = principal.person, at.date()
        blind = {i for i, s in own.items() if visible_part(person, s.record, holder=party, world=world, on=on) is None}
        others = ids - own.keys()
        scanned, more = None, bool(others)
        while more:  # a received copy cannot be opened without the keys: hide requests about it
            with self._db.reading("read the inbox") as session:
                batch = SqlReleaseStore(session).list(state=ReleaseState.RECEIVED, after=scanned, limit=MAX_PAGE)
            more = len(batch) == MAX_PAGE
            blind |= {r.record_id for r in batch if r.record_id in others}
            scanned = batch[-1].id if batch else None
        return blind

    def list(  # noqa: PLR0913 - the filters and the page
        self,
        principal: Principal,
        *,
        world: World,
        state: str | None = None,
        kind: str | None = None,
        after: str | None = None,
        limit: int = 50,
        node: UnlockedNode | None = None,
        at: dt.datetime | None = None,
    ) -> DisclosurePage:
        """Up to ``limit`` requests the principal may see (:meth:`visible`), in the order asked, after ``after``.

        A page may hold fewer than ``limit`` when some requests are not for the
        principal's eyes (the filter is here, so every caller gets it); ``next_cursor``
        is ``None`` only on the last page.

        Raises:
            ValidationError: an unknown state or kind.
            UnknownReferenceError: ``after`` names no request.
        """
        at = at or utc_now()
        wanted_state = DisclosureState(_choice(DisclosureState, state, "state")) if state else None
        wanted_kind = _kind(kind) if kind else None
        limit = max(1, min(limit, MAX_PAGE - 1))
        with self._db.reading("list the disclosure requests") as session:
            found = SqlDisclosureStore(session).list(state=wanted_state, kind=wanted_kind, after=after, limit=limit + 1)
        page = found[:limit]
        shown = self.visible(principal, page, world=world, node=node, at=at)
        with self._db.transaction("decide the requests now") as session:
            items = tuple(self._view(session, r, world=world, at=at) for r in shown)
        return DisclosurePage(items=items, next_cursor=page[-1].id if len(found) > limit else None)

    def _view(self, session: Session, request: DisclosureRequest, *, world: World, at: dt.datetime) -> DisclosureView:
        """The request, and for a pending release request the decision as of ``at``."""
        if request.kind is not DisclosureKind.RELEASE or request.state is not DisclosureState.PENDING:
            return DisclosureView(request=request)
        stored = SqlRecordStore(session).get(request.record_id or "")
        if stored is None or request.party is None:
            return DisclosureView(request=request)
        decision = decide(stored.record, request.party, on=request.on or at.date(), world=world)
        return DisclosureView(request=request, decision=decision)

    # -- deciding ---------------------------------------------------------------------

    def approve(  # noqa: PLR0913 - who, what, the node's keys and world, the next hops, when
        self,
        principal: Principal,
        request_id: str,
        *,
        world: World,
        node: UnlockedNode,
        next_hops: Mapping[str, NodePublicKeys] | None = None,
        note: str = "",
        at: dt.datetime | None = None,
    ) -> Approval:
        """Approve a pending request and do what it asks, exactly once, in one transaction.

        A release is decided again as of now (on the request's date, or today) and, on
        a permit, sealed for its first hop (``next_hops`` maps a party to its node's
        descriptor) and stored; a consent, recall or report is signed and stored.

        Raises:
            PermissionDeniedError: the principal may not decide this kind, asked for
                it, or wrote the record.
            ConflictError: the request was already decided or withdrawn (perhaps a
                moment ago, by another officer).
            DisclosureDeniedError: the release decision is now a denial; the request
                stays pending.
            ValidationError, IntegrityError: what releasing or issuing refused.
        """
        at = at or utc_now()
        with self._refusals(principal, "disclosure.approve", subject=request_id, at=at):
            request, author = self._decidable(principal, request_id)
            decided = request.move(DisclosureState.APPROVED, by=principal.person.id, at=at, reason=note)
            check_decider(request, decider=principal.person.id, author=author, to=decided.state)
            with self._db.transaction("approve the disclosure request") as session:
                self._claim(session, decided)
                release, obligation = self._carry_out(session, decided, world=world, node=node, hops=next_hops, at=at)
                made = release.release.id if release and release.release else obligation.id if obligation else None
                final = dataclasses.replace(decided, outcome=made)
                SqlDisclosureStore(session).set_outcome(final.id, made)
                meta: dict[str, MetaValue] = {"action": "disclosure.approve", "kind": final.kind.value}
                if made is not None:
                    meta["made"] = made
                self._append(session, principal, final, at, meta)
        return Approval(request=final, release=release, obligation=obligation)

    def reject(
        self, principal: Principal, request_id: str, reason: str, *, at: dt.datetime | None = None
    ) -> DisclosureRequest:
        """Reject a pending request with a reason (shown to the requester); audited.

        Raises:
            PermissionDeniedError: the principal may not decide this kind, asked for
                it, or wrote the record.
            ValidationError: no reason.
            ConflictError: already decided or withdrawn.
        """
        at = at or utc_now()
        with self._refusals(principal, "disclosure.reject", subject=request_id, at=at):
            request, author = self._decidable(principal, request_id)
            check_decider(
                request, decider=principal.person.id, author=author, to=DisclosureState.REJECTED, reason=reason
            )
            decided = request.move(DisclosureState.REJECTED, by=principal.person.id, at=at, reason=reason)
            with self._db.transaction("reject the disclosure request") as session:
                self._claim(session, decided)
                meta: dict[str, MetaValue] = {"action": "disclosure.reject", "kind": decided.kind.value}
                self._append(session, principal, decided, at, meta | {"reason": decided.reason[:MAX_META]})
        return decided

    def withdraw(
        self, principal: Principal, request_id: str, *, reason: str = "", at: dt.datetime | None = None
    ) -> DisclosureRequest:
        """Withdraw, as its requester, a request still pending; audited.

        Raises:
            PermissionDeniedError: not the requester.
            ConflictError: already decided or withdrawn.
        """
        at = at or utc_now()
        with self._refusals(principal, "disclosure.withdraw", subject=request_id, at=at):
            require_csrf(principal)
            request = self._known(request_id)
            check_withdrawer(request, person=principal.person.id)
            decided = request.move(DisclosureState.WITHDRAWN, by=principal.person.id, at=at, reason=reason)
            with self._db.transaction("withdraw the disclosure request") as session:
                self._claim(session, decided)
                meta: dict[str, MetaValue] = {"action": "disclosure.withdraw", "kind": decided.kind.value}
                self._append(session, principal, decided, at, meta)
        return decided

    # -- steps ------------------------------------------------------------------------

    def _known(self, request_id: str) -> DisclosureRequest:
        with self._db.reading("read the disclosure request") as session:
            found = SqlDisclosureStore(session).get(request_id)
        if found is None:
            msg = f"no disclosure request {request_id!r} at this node"
            raise UnknownReferenceError(msg, hint="`accord disclosures list` shows the requests")
        return found

    def _decidable(self, principal: Principal, request_id: str) -> tuple[DisclosureRequest, str | None]:
        """The request and its record's author, once the principal holds the role to decide it."""
        request = self._known(request_id)
        Logins.authorize(principal, decide_action(request.kind))
        require_csrf(principal)
        author = None
        if request.record_id is not None:
            with self._db.reading("read the record's author") as session:
                stored = SqlRecordStore(session).get(request.record_id)
            author = stored.author if stored is not None else None
        return request, author

    @staticmethod
    def _claim(session: Session, decided: DisclosureRequest) -> None:
        """Move the stored request out of pending, or refuse: another transaction moved it first."""
        store = SqlDisclosureStore(session)
        if store.settle(decided):
            return
        current = store.get(decided.id)
        by = f"{current.state} by {current.decider}" if current is not None else "gone"
        msg = f"request {decided.id} was already decided: {by}"
        raise ConflictError(msg, hint=f"`accord disclosures show {decided.id}` shows the decision")

    def _carry_out(  # noqa: PLR0913 - the request, the node's keys and world, the hops, when
        self,
        session: Session,
        request: DisclosureRequest,
        *,
        world: World,
        node: UnlockedNode,
        hops: Mapping[str, NodePublicKeys] | None,
        at: dt.datetime,
    ) -> tuple[ReleaseOutcome | None, Issued | None]:
        """Do what ``request`` asks, inside ``session``; a denial raises (rolling everything back)."""
        record_id = request.record_id or ""
        if request.kind is DisclosureKind.RELEASE:
            wanted = ReleaseRequest(record_id=record_id, recipient=request.party or "", on=request.on or at.date())
            releases = Releases(database=self._db, home=self._home)
            outcome = releases._release_in(session, [wanted], world=world, node=node, next_hops=hops or {}, at=at)[0]  # noqa: SLF001 - the one-transaction entry point made for this
            if not outcome.decision:
                reasons = "; ".join(outcome.decision.reasons) or "no reason given"
                msg = f"request {request.id} is not approved: the release is denied as of {wanted.on}: {reasons}"
                raise DisclosureDeniedError(
                    msg[:MAX_REASON], decision=outcome.decision, hint="reject it with a reason, or wait for the world"
                )
            return outcome, None
        obligations = Obligations(database=JoinedDatabase(session), home=self._home)
        value: Issued
        if request.kind is DisclosureKind.CONSENT:
            consent = ConsentRequest(
                holder=request.detail("holder") or "",
                third_party=request.party or "",
                valid_from=request.detail("valid_from") or "",
                valid_until=request.detail("valid_until") or "",
                record_id=request.record_id,
                topic=request.detail("topic"),
            )
            value = obligations.grant_consent(consent, world=world, keys=node, at=at)
        elif request.kind is DisclosureKind.RECALL:
            value = obligations.issue_recall(
                record_id,
                disposition=request.detail("disposition") or "",
                keys=node,
                reason=request.detail("reason") or "",
                at=at,
            )
        else:
            report = ReportRequest(
                record_id=record_id,
                kind=request.detail("kind") or "",
                details=request.detail("details") or "",
                detected_on=request.detail("detected_on"),
                originator=request.party,
            )
            value = obligations.report_compromise(report, world=world, keys=node, at=at)
        return None, value

    def _append(
        self,
        session: Session,
        principal: Principal,
        request: DisclosureRequest,
        at: dt.datetime,
        meta: dict[str, MetaValue],
    ) -> None:
        subjects = tuple(s for s in (request.id, request.record_id) if s and len(s) <= MAX_META)
        audit.append(
            session,
            kind=EntryKind.DISCLOSURE,
            actor=principal.person.id,
            at=at,
            subjects=subjects,
            meta=meta | principal.audit_meta(),
        )

    @contextmanager
    def _refusals(self, principal: Principal, action: str, *, subject: str | None, at: dt.datetime) -> Iterator[None]:
        """Audit any refusal of ``action`` in its own transaction, then re-raise it."""
        try:
            yield
        except Error as e:
            meta: dict[str, MetaValue] = {"action": action, "outcome": "refused", "reason": e.message[:MAX_META]}
            with self._db.transaction("audit the refusal") as session:
                audit.append(
                    session,
                    kind=EntryKind.DISCLOSURE,
                    actor=principal.person.id,
                    at=at,
                    subjects=(subject,) if subject and len(subject) <= MAX_META else (),
                    meta=meta | principal.audit_meta(),
                )
            raise


def _choice(kind: type[DisclosureState | DisclosureKind], value: str | None, what: str) -> str:
    if value is None or value not in {k.value for k in kind}:
        msg = f"unknown {what} {value!r} (known: {', '.join(k.value for k in kind)})"
        raise ValidationError(msg)
    return value


def _kind(kind: str | DisclosureKind) -> DisclosureKind:
    return DisclosureKind(_choice(DisclosureKind, str(kind), "kind of request"))


def _may_see(principal: Principal, request: DisclosureRequest) -> bool:
    """The requester, and whoever may ask for or decide requests of its kind."""
    if request.requester == principal.person.id:
        return True
    actions = (request_action(request.kind), decide_action(request.kind))
    return any(permits(principal.person, a, scopes=principal.scopes) for a in actions)
