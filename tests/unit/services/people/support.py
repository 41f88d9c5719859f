"""Helpers of the people service tests: values, adding people, reading the audit log."""

from __future__ import annotations

import datetime as dt

from accord.audit.entry import AuditEntry, EntryKind
from accord.crypto.passwords import UNSAFE_FAST_PASSWORDS
from accord.services.people import LoginPolicy, PersonDraft
from accord.services.world import read_world
from accord.storage.sql import SqlAuditStore

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
ADMIN_PASSWORD = "admin passphrase one"  # noqa: S105 - test passwords
PASSWORD = "analyst passphrase two"  # noqa: S105
FAST_POLICY = LoginPolicy(passwords=UNSAFE_FAST_PASSWORDS)
WORLD = read_world()


def add(people, admin, person_id, *roles, clearance="KOR/MIL-II", topics=("dprk-missile",), password=PASSWORD):
    draft = PersonDraft(id=person_id, clearance=clearance, need_to_know=tuple(topics), roles=tuple(roles))
    return people.add(admin, draft, world=WORLD, password=password, at=AT)


def entries(db) -> list[AuditEntry]:
    with db.transaction("read") as session:
        return [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]


def last(db, kind: EntryKind | None = None) -> AuditEntry:
    return [e for e in entries(db) if kind is None or e.kind is kind][-1]


def raw_log(db) -> bytes:
    with db.transaction("read") as session:
        return b"\n".join(SqlAuditStore(session).entries())
