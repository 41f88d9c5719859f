"""Helpers of the disclosure service tests: people as principals, a KOR node, its records, its log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from accord.audit.entry import AuditEntry
from accord.domain.person import Person, Role
from accord.services import node, records
from accord.services._database import Database
from accord.services.disclosures import Disclosures
from accord.services.node import UnlockedNode
from accord.services.people import Credential, Principal
from accord.services.world import read_world
from accord.storage.sql import SqlAuditStore, SqlReleaseStore

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DIRECT = dt.date(2017, 1, 1)  # the KOR-JPN GSOMIA is in force
NONE = dt.date(2013, 1, 1)  # no agreement covers KOR-JPN yet
PASSPHRASE = "correct horse"  # noqa: S105 - a test passphrase
WORLD = read_world()


def principal(person_id: str, *roles: Role, csrf: bool = True) -> Principal:
    person = Person(
        id=person_id,
        party="KOR",
        clearance="KOR/MIL-II",
        need_to_know=frozenset({"dprk-missile"}),
        roles=frozenset(roles),
    )
    return Principal(person=person, via=Credential.TOKEN, csrf_checked=csrf)


LEE = principal("lee", Role.ANALYST)  # asks
KIM = principal("kim", Role.DISCLOSURE_OFFICER)  # decides
PARK = principal("park", Role.DISCLOSURE_OFFICER)  # decides too
CHOI = principal("choi", Role.ANALYST, Role.DISCLOSURE_OFFICER)  # writes records and decides
HAN = principal("han", Role.LOGISTICS_OFFICER)  # reports losses, nothing else here


@dataclass
class Node:
    home: Path
    db: Database
    keys: UnlockedNode
    jpn: UnlockedNode  # the recipient's node, for its public keys

    def service(self) -> Disclosures:
        return Disclosures(database=self.db, home=self.home)

    def hops(self):
        return {"JPN": self.jpn.identity.public}

    def record(self, *portions: str, author: str | None = "choi") -> str:
        draft = records.RecordDraft(
            title="DPRK launch",
            topics=("dprk-missile",),
            portions=tuple(records.parse_portion(p) for p in portions or ("KOR/MIL-II:JPN:launch at 05:10",)),
            purpose="warning",
        )
        made = records.Records(database=self.db, home=self.home).create(
            draft, world=WORLD, passphrase=None, node=self.keys, at=AT, author=author
        )
        return made.id

    def entries(self) -> list[AuditEntry]:
        with self.db.transaction("read") as session:
            return [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]

    def actions(self) -> list[tuple[str, str, str]]:
        """(action, outcome, actor) of each disclosure entry, in order."""
        return [
            (str(e.meta["action"]), str(e.meta.get("outcome", "done")), e.actor)
            for e in self.entries()
            if e.kind == "disclosure"
        ]

    def releases(self):
        with self.db.transaction("read") as session:
            return list(SqlReleaseStore(session).list())


def make_node(tmp_path: Path, database_url: str) -> Node:
    home = tmp_path / "home"  # the database_url fixture migrated this home's database
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    jpn_home = tmp_path / "jpn"
    node.create_identity(home=jpn_home, party="JPN", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    return Node(
        home=home,
        db=Database(database_url=database_url),
        keys=node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True),
        jpn=node.unlock(jpn_home, PASSPHRASE, unsafe_fast_kdf=True),
    )
